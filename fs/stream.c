/*
 * stream.c - see stream.h.
 *
 * Locking: mu guards front and every field of both buffers except a buffer's bytes, which the
 * one thread that set it LOADING writes outside the lock; readers copy out of a buffer only
 * while they hold a use of it (users), and a buffer is reloaded only when it has none.
 */
#include "stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

typedef struct buffer {
    uint8_t *mem; /* CKFS_STREAM_CHUNK bytes once first loaded */
    uint64_t off; /* the variable's bytes [off, off + len) */
    size_t len;
    int valid;      /* off and len describe what mem holds (or will, while loading) */
    int loading;    /* one thread is reading it; others wait on cv */
    unsigned users; /* readers copying out of it */
    size_t served;  /* bytes answered from it since it was loaded */
} buffer;

struct ckfs_stream {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a buffer finished loading or lost its last user */
    ckpt_checkpoint *c;
    size_t idx;
    uint64_t nbytes;
    uint64_t front;   /* where the next buffer starts: the end of the last one read */
    int ahead_wanted; /* a read used the buffer at the front: read the next one ahead */
    buffer b[2];
};

ckfs_stream *ckfs_stream_new(ckpt_checkpoint *c, size_t idx, uint64_t nbytes)
{
    ckfs_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->c = c;
    s->idx = idx;
    s->nbytes = nbytes;
    return s;
}

void ckfs_stream_free(ckfs_stream *s)
{
    if (!s)
        return;
    for (int k = 0; k < 2; k++)
        if (s->b[k].mem)
            munmap(s->b[k].mem, CKFS_STREAM_CHUNK);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* The buffer holding [off, off + size) ready, or -1. */
static int holding(const ckfs_stream *s, uint64_t off, size_t size)
{
    for (int k = 0; k < 2; k++) {
        const buffer *b = &s->b[k];
        if (b->valid && !b->loading && off >= b->off && off + size <= b->off + b->len)
            return k;
    }
    return -1;
}

/* Whether a buffer being loaded will hold off. */
static int coming(const ckfs_stream *s, uint64_t off)
{
    for (int k = 0; k < 2; k++) {
        const buffer *b = &s->b[k];
        if (b->loading && off >= b->off && off < b->off + b->len)
            return 1;
    }
    return 0;
}

/* A buffer nobody uses, the one holding the earlier bytes first; -1 when both are busy. */
static int free_buffer(const ckfs_stream *s)
{
    int pick = -1;
    for (int k = 0; k < 2; k++) {
        const buffer *b = &s->b[k];
        if (b->loading || b->users)
            continue;
        if (pick < 0 || !b->valid || (s->b[pick].valid && b->off < s->b[pick].off))
            pick = k;
    }
    return pick;
}

/*
 * Make buffer k hold the variable's bytes from start (up to CKFS_STREAM_CHUNK of them) and move
 * the front past them: called and returning with s->mu held, which it drops while reading.
 * Waiters are woken either way. 0, or -1 with err (the buffer is then empty again and the
 * front back at start, so a later read tries again).
 */
static int fill(ckfs_stream *s, int k, uint64_t start, ckpt_err *err)
{
    buffer *b = &s->b[k];
    uint64_t left = s->nbytes - start;
    b->off = start;
    b->len = left < CKFS_STREAM_CHUNK ? (size_t)left : CKFS_STREAM_CHUNK;
    b->valid = b->loading = 1;
    b->served = 0;
    s->front = start + b->len;
    pthread_mutex_unlock(&s->mu);
    int rc = 0;
    /* Mapped on their own, not from malloc: a file's buffers then leave with it, where the
     * heap of whichever worker thread allocated them would keep them (a 4 GiB stream through
     * four files grew the daemon by 8.6 MiB that way). */
    if (!b->mem) {
        void *m = mmap(NULL, CKFS_STREAM_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED)
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory for a read buffer");
        else
            b->mem = m;
    }
    size_t got = 0;
    if (rc == 0 && (rc = ckpt_read(s->c, s->idx, b->mem, b->len, start, &got, NULL, err)) == 0 &&
        got != b->len)
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "variable ends early");
    pthread_mutex_lock(&s->mu);
    b->loading = 0;
    if (rc) {
        b->valid = 0;
        s->front = start;
    }
    pthread_cond_broadcast(&s->cv);
    return rc ? -1 : 0;
}

int ckfs_stream_get(ckfs_stream *s, uint64_t off, size_t size, const uint8_t **data, int *slot,
                    ckpt_err *err)
{
    if (size == 0 || size > CKFS_STREAM_CHUNK || off > s->nbytes || size > s->nbytes - off)
        return 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int k = holding(s, off, size);
        if (k >= 0) {
            if (s->b[k].off + s->b[k].len == s->front)
                s->ahead_wanted = 1;
            s->b[k].users++;
            s->b[k].served += size;
            *data = s->b[k].mem + (off - s->b[k].off);
            *slot = k;
            pthread_mutex_unlock(&s->mu);
            return 1;
        }
        if (coming(s, off)) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        /* The next piece when the read reaches past the front without starting beyond the
         * piece that begins there (one that overtook the read at the front still belongs);
         * a read that straddles the front starts the piece itself. */
        uint64_t start = off <= s->front ? off : s->front;
        if (off + size <= s->front || off >= s->front + CKFS_STREAM_CHUNK ||
            off + size > start + CKFS_STREAM_CHUNK) {
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        k = free_buffer(s);
        if (k < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        if (fill(s, k, start, err)) {
            /* Waiters try again (and fail the same way, each with its own message). */
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
    }
}

void ckfs_stream_release(ckfs_stream *s, int slot)
{
    pthread_mutex_lock(&s->mu);
    if (--s->b[slot].users == 0)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void ckfs_stream_ahead(ckfs_stream *s)
{
    pthread_mutex_lock(&s->mu);
    int k = s->ahead_wanted && s->front < s->nbytes ? free_buffer(s) : -1;
    /* Never the buffer at the front, which the reader is still going through, nor one whose
     * bytes have not all been asked for yet: the kernel's requests finish out of order, and a
     * late one would find its bytes gone and read them alone. */
    if (k >= 0 && s->b[k].valid &&
        (s->b[k].off + s->b[k].len == s->front || s->b[k].served < s->b[k].len))
        k = -1;
    if (k < 0) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->ahead_wanted = 0;
    ckpt_err err; /* a reader of these bytes will read them itself and report the error */
    (void)fill(s, k, s->front, &err);
    pthread_mutex_unlock(&s->mu);
}
