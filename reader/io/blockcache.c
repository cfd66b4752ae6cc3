/*
 * blockcache.c - see blockcache.h.
 *
 * One mutex guards the whole cache (the table, the LRU list, the free slots, every file's
 * read-ahead state); fetches and disk copies run outside it. Each block's bytes live in a slot
 * of the block size, mapped once and reused: a fetch writes straight into the slots of its
 * blocks, and a block dropped gives its slot to the next fetch, already faulted in (a fresh
 * mapping per request cost a page fault and a cleared page per 4 KiB, 15% of the daemon's
 * time), while the slots mapped never exceed what the bound holds plus what is in flight.
 * A block is LOADING from the moment one thread decides to fetch it until its bytes are in,
 * so concurrent readers of the same range wait instead of asking the server again. Readers
 * copy out of a block while holding the mutex, which is what keeps a block from being evicted
 * under them; a block lent out (ckpt_bcfile_borrow) is pinned instead: off the LRU list, which
 * is all eviction looks at, until its last borrower gives it back.
 */
#include "blockcache.h"

#include "bytesrc_local.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NBUCKETS 4096
/* At most this many blocks in one request. A reader waits for a whole run before it can use
 * its first block, so short runs keep several in flight and the stream fed (8 halved the speed
 * of a sequential read over loopback). */
#define RUN_MAX 4
/* Runs a streaming reader keeps in flight, each on a read-ahead thread of its own: parallel
 * ranges beat one stream even over loopback, so never fewer than DEPTH_MIN; more, up to
 * NWORKERS, while the requests' measured wait for a first byte says one connection idles
 * (ckpt_bcfile_note_timing, depth). */
#define DEPTH_MIN 4
#define NWORKERS 8
/* The read-ahead window (in blocks) never exceeds this, nor a quarter of the cache. */
#define WINDOW_MAX 64

enum { LOADING, READY };

typedef struct block {
    struct block *hnext;
    struct block *prev, *next; /* LRU list; READY blocks only */
    ckpt_bcfile *f;
    uint64_t no;
    int state;
    size_t len;
    uint8_t *data; /* its slot (READY blocks only) */
    unsigned pins; /* lent out (ckpt_bcfile_borrow): off the LRU list, never evicted */
} block;

typedef struct job {
    struct job *next;
    ckpt_bcfile *f;
    uint64_t first;
    unsigned count;
} job;

struct ckpt_blockcache {
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* a block left LOADING, or a job finished */
    pthread_cond_t jobcv; /* a job was queued, or the workers must stop */
    uint64_t cap, used;
    size_t bs;
    size_t slot_bytes; /* bs rounded up to pages: what a slot maps */
    void *free_slots;  /* unused slots, each holding the next one's address first */
    char *disk_dir;
    block *tab[NBUCKETS];
    block lru; /* sentinel: lru.next is the most recently used */
    int refs;
    uint64_t next_id;
    job *queue, **queue_tail;
    pthread_t th[NWORKERS];
    int nworkers, stop;
    pid_t pid; /* the process the workers belong to */
    /* Moving averages of the fetches' timing (ckpt_bcfile_note_timing), 0 before the first:
     * seconds to the first byte, and seconds to transfer a run of RUN_MAX blocks after it. */
    double wait_s, xfer_s;
};

struct ckpt_bcfile {
    ckpt_blockcache *bc;
    uint64_t id;
    char *name;
    char *ident; /* disk-cache name of the content, or NULL */
    _Atomic uint64_t size;
    ckpt_fetch_fn fetch;
    void *ctx;
    void (*done)(void *ctx);
    int jobs; /* queued or running read-ahead jobs (under bc->mu) */
    uint64_t next_seq;
    unsigned window;
};

static size_t bucket(const ckpt_bcfile *f, uint64_t no)
{
    return (size_t)(((f->id * 0x9E3779B97F4A7C15ull) ^ (no * 0xC2B2AE3D27D4EB4Full)) % NBUCKETS);
}

static block *find(ckpt_blockcache *bc, const ckpt_bcfile *f, uint64_t no)
{
    for (block *b = bc->tab[bucket(f, no)]; b; b = b->hnext)
        if (b->f == f && b->no == no)
            return b;
    return NULL;
}

static void lru_unlink(block *b)
{
    if (b->prev) {
        b->prev->next = b->next;
        b->next->prev = b->prev;
        b->prev = b->next = NULL;
    }
}

static void lru_push(ckpt_blockcache *bc, block *b)
{
    b->next = bc->lru.next;
    b->prev = &bc->lru;
    bc->lru.next->prev = b;
    bc->lru.next = b;
}

/* Put slot p on the free list. Called with the mutex held. */
static void slot_give(ckpt_blockcache *bc, uint8_t *p)
{
    memcpy(p, &bc->free_slots, sizeof bc->free_slots);
    bc->free_slots = p;
}

/* Fill slots[0..count) from the free list, mapping more when it runs out (the mapping outside
 * the mutex, which the caller holds on entry and on return). 0, or -1 when out of memory
 * (the slots taken are given back). */
static int slots_take(ckpt_blockcache *bc, uint8_t **slots, unsigned count)
{
    unsigned i = 0;
    for (; i < count && bc->free_slots; i++) {
        slots[i] = bc->free_slots;
        memcpy(&bc->free_slots, slots[i], sizeof bc->free_slots);
    }
    if (i == count)
        return 0;
    pthread_mutex_unlock(&bc->mu);
    unsigned k = i;
    for (; k < count; k++) {
        void *m =
            mmap(NULL, bc->slot_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            break;
        slots[k] = m;
    }
    pthread_mutex_lock(&bc->mu);
    if (k == count)
        return 0;
    while (k-- > 0)
        slot_give(bc, slots[k]);
    return -1;
}

/* Take b out of the table and free it; its bytes leave the bound, its slot is kept. */
static void drop(ckpt_blockcache *bc, block *b)
{
    block **pp = &bc->tab[bucket(b->f, b->no)];
    while (*pp != b)
        pp = &(*pp)->hnext;
    *pp = b->hnext;
    lru_unlink(b);
    bc->used -= b->state == LOADING ? bc->bs : b->len;
    if (b->data)
        slot_give(bc, b->data);
    free(b);
}

/* Evict least recently used blocks until need more bytes fit (or nothing is left to evict). */
static void make_room(ckpt_blockcache *bc, uint64_t need)
{
    while (bc->used + need > bc->cap && bc->lru.prev != &bc->lru)
        drop(bc, bc->lru.prev);
}

/* A LOADING placeholder for block no of f; NULL when out of memory. */
static block *insert_loading(ckpt_blockcache *bc, ckpt_bcfile *f, uint64_t no)
{
    block *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->f = f;
    b->no = no;
    b->state = LOADING;
    size_t h = bucket(f, no);
    b->hnext = bc->tab[h];
    bc->tab[h] = b;
    bc->used += bc->bs;
    return b;
}

int ckpt_blockcache_new(uint64_t capacity, size_t block_size, const char *disk_dir,
                        ckpt_blockcache **out, ckpt_err *err)
{
    *out = NULL;
    ckpt_blockcache *bc = calloc(1, sizeof *bc);
    if (!bc || (disk_dir && !(bc->disk_dir = strdup(disk_dir)))) {
        free(bc);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&bc->mu, NULL);
    pthread_cond_init(&bc->cv, NULL);
    pthread_cond_init(&bc->jobcv, NULL);
    /* Below a few runs the cache would evict what it just fetched for the reader. */
    uint64_t floor = 4ull * RUN_MAX * block_size;
    bc->cap = capacity < floor ? floor : capacity;
    bc->bs = block_size;
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    bc->slot_bytes = (block_size + pg - 1) / pg * pg;
    bc->lru.next = bc->lru.prev = &bc->lru;
    bc->refs = 1;
    bc->queue_tail = &bc->queue;
    *out = bc;
    return 0;
}

static void destroy(ckpt_blockcache *bc)
{
    pthread_mutex_lock(&bc->mu);
    bc->stop = 1;
    pthread_cond_broadcast(&bc->jobcv);
    int own = bc->pid == getpid();
    pthread_mutex_unlock(&bc->mu);
    for (int i = 0; own && i < bc->nworkers; i++)
        pthread_join(bc->th[i], NULL);
    for (size_t h = 0; h < NBUCKETS; h++)
        while (bc->tab[h])
            drop(bc, bc->tab[h]);
    while (bc->free_slots) {
        void *p = bc->free_slots;
        memcpy(&bc->free_slots, p, sizeof bc->free_slots);
        munmap(p, bc->slot_bytes);
    }
    pthread_mutex_destroy(&bc->mu);
    pthread_cond_destroy(&bc->cv);
    pthread_cond_destroy(&bc->jobcv);
    free(bc->disk_dir);
    free(bc);
}

void ckpt_blockcache_unref(ckpt_blockcache *bc)
{
    if (!bc)
        return;
    pthread_mutex_lock(&bc->mu);
    int last = --bc->refs == 0;
    pthread_mutex_unlock(&bc->mu);
    if (last)
        destroy(bc);
}

int ckpt_bcfile_new(ckpt_blockcache *bc, const char *name, uint64_t size, ckpt_fetch_fn fetch,
                    void *ctx, void (*done)(void *ctx), ckpt_bcfile **out, ckpt_err *err)
{
    *out = NULL;
    ckpt_bcfile *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
    }
    f->bc = bc;
    atomic_init(&f->size, size);
    f->fetch = fetch;
    f->ctx = ctx;
    f->done = done;
    pthread_mutex_lock(&bc->mu);
    f->id = ++bc->next_id;
    bc->refs++;
    pthread_mutex_unlock(&bc->mu);
    *out = f;
    return 0;
}

void ckpt_bcfile_set_identity(ckpt_bcfile *f, const char *identity)
{
    if (!f->bc->disk_dir || !identity)
        return;
    char *id = malloc(40);
    if (!id)
        return;
    snprintf(id, 40, "%016" PRIx64, ckpt_hash64(identity, strlen(identity)));
    pthread_mutex_lock(&f->bc->mu);
    if (!f->ident)
        f->ident = id, id = NULL;
    pthread_mutex_unlock(&f->bc->mu);
    free(id);
}

uint64_t ckpt_bcfile_size(const ckpt_bcfile *f)
{
    return atomic_load(&f->size);
}

/* --- disk copies -------------------------------------------------------------------------- */

static char *disk_path(const ckpt_blockcache *bc, const char *ident, uint64_t no)
{
    size_t n = strlen(bc->disk_dir) + strlen(ident) + 40;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s-%" PRIu64 ".blk", bc->disk_dir, ident, no);
    return p;
}

/* Block no from disk into buf (want bytes exactly); 0 when found whole. */
static int disk_get(const ckpt_blockcache *bc, const char *ident, uint64_t no, uint8_t *buf,
                    size_t want)
{
    char *p = disk_path(bc, ident, no);
    int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
    free(p);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == want &&
                     ckpt_pread_full(fd, buf, want, 0) == 0
                 ? 0
                 : -1;
    close(fd);
    return rc;
}

/* Keep a copy of a block; a failure only means the next process fetches it again. */
static void disk_put(const ckpt_blockcache *bc, const char *ident, uint64_t no, const uint8_t *data,
                     size_t len)
{
    char *p = disk_path(bc, ident, no);
    if (!p)
        return;
    size_t n = strlen(p) + 32;
    char *tmp = malloc(n);
    if (tmp) {
        /* Written aside and renamed: a reader never sees half a block. */
        snprintf(tmp, n, "%s.%ld.tmp", p, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            int ok = write(fd, data, len) == (ssize_t)len;
            close(fd);
            if (!ok || rename(tmp, p) != 0)
                unlink(tmp);
        }
        free(tmp);
    }
    free(p);
}

/* --- fetching ----------------------------------------------------------------------------- */

/* Expected length of block no when the size is known, else the block size. */
static size_t block_len(const ckpt_bcfile *f, uint64_t no)
{
    uint64_t size = atomic_load(&f->size), bs = f->bc->bs;
    if (size == CKPT_SIZE_UNKNOWN)
        return (size_t)bs;
    uint64_t start = no * bs;
    return start >= size ? 0 : (size_t)(size - start < bs ? size - start : bs);
}

/* Give blocks first.. of f (LOADING placeholders) their bytes: got bytes in slots[i], one
 * per block, which they take over. Blocks the file does not reach are dropped; slots no
 * block took go back to the free list. Called with the mutex held. */
static void fill(ckpt_bcfile *f, uint64_t first, unsigned count, uint8_t **slots, size_t got)
{
    ckpt_blockcache *bc = f->bc;
    for (unsigned i = 0; i < count; i++) {
        block *b = find(bc, f, first + i);
        size_t at = (size_t)i * bc->bs;
        size_t len = got > at ? (got - at < bc->bs ? got - at : bc->bs) : 0;
        if (!b || b->state != LOADING || !len) {
            if (b && b->state == LOADING)
                drop(bc, b);
            slot_give(bc, slots[i]);
            continue;
        }
        b->data = slots[i];
        b->len = len;
        b->state = READY;
        bc->used -= bc->bs - len;
        lru_push(bc, b);
    }
}

/* Fetch blocks first..first+count-1 of f (all LOADING, placed by the caller): from disk when
 * every one is there, else in one request, straight into the blocks' slots. */
static int load_run(ckpt_bcfile *f, uint64_t first, unsigned count, ckpt_err *err)
{
    ckpt_blockcache *bc = f->bc;
    uint8_t *slots[RUN_MAX];
    int rc = 0;
    size_t got = 0;
    pthread_mutex_lock(&bc->mu);
    char *ident = f->ident ? strdup(f->ident) : NULL;
    int have = slots_take(bc, slots, count) == 0;
    pthread_mutex_unlock(&bc->mu);
    if (!have) {
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", f->name);
    } else {
        int on_disk = ident != NULL && atomic_load(&f->size) != CKPT_SIZE_UNKNOWN;
        for (unsigned i = 0; on_disk && i < count; i++) {
            size_t want = block_len(f, first + i);
            on_disk = want > 0 && disk_get(bc, ident, first + i, slots[i], want) == 0;
            got += want;
        }
        if (!on_disk) {
            uint64_t total = CKPT_SIZE_UNKNOWN;
            got = 0;
            rc = f->fetch(f->ctx, first * bc->bs, slots, bc->bs, (size_t)count * bc->bs, &got,
                          &total, err);
            if (rc == 0 && total != CKPT_SIZE_UNKNOWN)
                atomic_store(&f->size, total);
            if (rc == 0 && ident)
                for (unsigned i = 0; i < count && (size_t)i * bc->bs < got; i++) {
                    size_t at = (size_t)i * bc->bs;
                    disk_put(bc, ident, first + i, slots[i], got - at < bc->bs ? got - at : bc->bs);
                }
        }
    }
    pthread_mutex_lock(&bc->mu);
    if (rc == 0) {
        fill(f, first, count, slots, got);
    } else {
        for (unsigned i = 0; i < count; i++) {
            block *b = find(bc, f, first + i);
            if (b && b->state == LOADING)
                drop(bc, b);
            if (have)
                slot_give(bc, slots[i]);
        }
    }
    pthread_cond_broadcast(&bc->cv);
    pthread_mutex_unlock(&bc->mu);
    free(ident);
    return rc;
}

/* --- read-ahead --------------------------------------------------------------------------- */

static void *worker(void *arg)
{
    ckpt_blockcache *bc = arg;
    pthread_mutex_lock(&bc->mu);
    for (;;) {
        while (!bc->queue && !bc->stop)
            pthread_cond_wait(&bc->jobcv, &bc->mu);
        if (bc->stop)
            break;
        job *j = bc->queue;
        bc->queue = j->next;
        if (!bc->queue)
            bc->queue_tail = &bc->queue;
        pthread_mutex_unlock(&bc->mu);
        ckpt_err e; /* a failed read-ahead is redone, and reported, by the reader who needs it */
        load_run(j->f, j->first, j->count, &e);
        pthread_mutex_lock(&bc->mu);
        j->f->jobs--;
        pthread_cond_broadcast(&bc->cv);
        free(j);
    }
    pthread_mutex_unlock(&bc->mu);
    return NULL;
}

/*
 * How many runs to keep in flight: with a wait of W before each answer and X to transfer a
 * run, one connection moves a run per W + X, so 1 + W / X of them keep the transfers back to
 * back. Called with the mutex held.
 */
static unsigned depth(const ckpt_blockcache *bc)
{
    if (bc->xfer_s <= 0)
        return DEPTH_MIN;
    double d = 1 + bc->wait_s / bc->xfer_s + 0.999;
    return d < DEPTH_MIN ? DEPTH_MIN : d > NWORKERS ? NWORKERS : (unsigned)d;
}

void ckpt_bcfile_note_timing(ckpt_bcfile *f, double wait_s, double total_s, size_t bytes)
{
    ckpt_blockcache *bc = f->bc;
    if (bytes < bc->bs || total_s < wait_s || wait_s < 0)
        return; /* a short answer says little about the transfer rate */
    double xfer = (total_s - wait_s) * (double)(RUN_MAX * bc->bs) / (double)bytes;
    pthread_mutex_lock(&bc->mu);
    int first = bc->xfer_s <= 0;
    bc->wait_s = first ? wait_s : 0.8 * bc->wait_s + 0.2 * wait_s;
    bc->xfer_s = first ? xfer : 0.8 * bc->xfer_s + 0.2 * xfer;
    pthread_mutex_unlock(&bc->mu);
}

/* Start workers of this process up to depth(bc). Called with the mutex held. */
static int start_workers(ckpt_blockcache *bc)
{
    if (bc->pid != getpid()) {
        /* After fork() the parent's threads are gone: start our own. */
        bc->pid = getpid();
        bc->nworkers = 0;
    }
    unsigned want = depth(bc);
    while ((unsigned)bc->nworkers < want &&
           pthread_create(&bc->th[bc->nworkers], NULL, worker, bc) == 0)
        bc->nworkers++;
    return bc->nworkers > 0 ? 0 : -1;
}

/* Queue blocks from..to-1 of f that are not cached, in runs. Runs never cross a multiple of
 * RUN_MAX blocks and `to` is rounded down to one: a window that slides a block per read would
 * otherwise add one block at a time, a request per block. Called with the mutex held. */
static void read_ahead(ckpt_bcfile *f, uint64_t from, uint64_t to)
{
    ckpt_blockcache *bc = f->bc;
    to -= to % RUN_MAX;
    if (to <= from || start_workers(bc))
        return;
    uint64_t no = from;
    while (no < to && block_len(f, no) > 0) {
        if (find(bc, f, no)) {
            no++;
            continue;
        }
        unsigned count = 0;
        while (no + count < to && (count == 0 || (no + count) % RUN_MAX) &&
               block_len(f, no + count) > 0 && !find(bc, f, no + count))
            count++;
        make_room(bc, (uint64_t)count * bc->bs);
        if (bc->used + (uint64_t)count * bc->bs > bc->cap)
            return;
        job *j = malloc(sizeof *j);
        if (!j)
            return;
        for (unsigned i = 0; i < count; i++)
            if (!insert_loading(bc, f, no + i)) {
                count = i;
                break;
            }
        if (!count) {
            free(j);
            return;
        }
        *j = (job){NULL, f, no, count};
        *bc->queue_tail = j;
        bc->queue_tail = &j->next;
        f->jobs++;
        pthread_cond_signal(&bc->jobcv);
        no += count;
    }
}

/* --- reading ------------------------------------------------------------------------------ */

static int ends_early(const ckpt_bcfile *f, uint64_t off, size_t n, ckpt_err *err)
{
    return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: file ends before offset %llu (it has %llu bytes)",
                        f->name, (unsigned long long)(off + n),
                        (unsigned long long)atomic_load(&f->size));
}

/* Make block no of f cached (fetching a run of up to `upto` blocks), then copy its part of
 * [off, off+n) to buf, or, with iov, pin the block and point *iov at that part. Called with
 * the mutex held; returns with it held. */
static int read_block(ckpt_bcfile *f, uint64_t no, uint64_t upto, uint8_t *buf, struct iovec *iov,
                      size_t n, uint64_t off, ckpt_err *err)
{
    ckpt_blockcache *bc = f->bc;
    for (int loads = 0;;) {
        /* A block we fetched can be gone again when others' fetches evicted it, or when the
         * server's answer was shorter than the file it claims: bound the retries. */
        if (loads > 8)
            return ckpt_err_set(err, CKPT_E_IO, "%s: the server's answers end before offset %llu",
                                f->name, (unsigned long long)(no * bc->bs));
        if (block_len(f, no) == 0)
            return ends_early(f, off, n, err);
        block *b = find(bc, f, no);
        if (b && b->state == READY) {
            uint64_t bstart = no * bc->bs;
            uint64_t from = off > bstart ? off : bstart;
            uint64_t to = off + n < bstart + bc->bs ? off + n : bstart + bc->bs;
            if (to - bstart > b->len)
                return ends_early(f, off, n, err);
            lru_unlink(b);
            if (iov) {
                b->pins++;
                iov->iov_base = b->data + (from - bstart);
                iov->iov_len = (size_t)(to - from);
            } else {
                memcpy(buf + (from - off), b->data + (from - bstart), (size_t)(to - from));
                if (!b->pins) /* a lent block stays off the list until given back */
                    lru_push(bc, b);
            }
            return 0;
        }
        if (b) {
            pthread_cond_wait(&bc->cv, &bc->mu);
            continue;
        }
        /* The read's own blocks in one request; beyond them, up to where read-ahead's aligned
         * runs start. */
        uint64_t own = (off + n - 1) / bc->bs;
        unsigned count = 1;
        while (no + count <= upto && count < RUN_MAX &&
               (no + count <= own || (no + count) % RUN_MAX) && block_len(f, no + count) > 0 &&
               !find(bc, f, no + count))
            count++;
        make_room(bc, (uint64_t)count * bc->bs);
        for (unsigned i = 0; i < count; i++)
            if (!insert_loading(bc, f, no + i)) {
                if (i == 0)
                    return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", f->name);
                count = i;
                break;
            }
        pthread_mutex_unlock(&bc->mu);
        int rc = load_run(f, no, count, err);
        pthread_mutex_lock(&bc->mu);
        if (rc)
            return rc;
        loads++;
    }
}

/* Unpin the blocks of [off, off + n) of f. Called with the mutex held. */
static void unpin(ckpt_bcfile *f, uint64_t off, size_t n)
{
    ckpt_blockcache *bc = f->bc;
    for (uint64_t no = off / bc->bs; n && no <= (off + n - 1) / bc->bs; no++) {
        block *b = find(bc, f, no);
        if (b && b->pins && --b->pins == 0)
            lru_push(bc, b);
    }
}

/* [off, off + n) of f copied to buf, or lent as one iov per block (iov non-NULL). */
static int walk(ckpt_bcfile *f, uint8_t *buf, struct iovec *iov, size_t n, uint64_t off,
                ckpt_err *err)
{
    uint64_t size = atomic_load(&f->size);
    if (size != CKPT_SIZE_UNKNOWN && (off > size || n > size - off))
        return ends_early(f, off, n, err);
    ckpt_blockcache *bc = f->bc;
    uint64_t first = off / bc->bs, last = (off + n - 1) / bc->bs;
    pthread_mutex_lock(&bc->mu);
    /* A reader that continues where it stopped is streaming: fetch further ahead each time.
     * Once it streams, a read near the front keeps the window: the kernel's read-ahead sends
     * several reads at once, which the daemon's threads may bring here out of order. */
    unsigned d = depth(bc);
    unsigned wmax = (unsigned)(bc->cap / bc->bs / 4) * d / DEPTH_MIN; /* a quarter, at most half */
    if (wmax > d * RUN_MAX)
        wmax = d * RUN_MAX;
    if (wmax > WINDOW_MAX)
        wmax = WINDOW_MAX;
    uint64_t slack = (uint64_t)RUN_MAX * bc->bs;
    int near = f->window && off <= f->next_seq + slack && off + n + slack >= f->next_seq;
    if (off == f->next_seq && off > 0)
        f->window = f->window ? (f->window * 2 < wmax ? f->window * 2 : wmax) : RUN_MAX;
    else if (!near)
        f->window = 0;
    if (!near || off + n > f->next_seq)
        f->next_seq = off + n;
    uint64_t upto = last + (f->window ? RUN_MAX : 0);
    int rc = 0;
    for (uint64_t no = first; no <= last && rc == 0; no++) {
        /* A read of many blocks: the workers fetch the runs ahead of this thread, a window at
         * a time (all at once would evict them before they are copied), in parallel ranges. */
        if (last - first >= RUN_MAX && (no - first) % RUN_MAX == 0) {
            uint64_t to = no + RUN_MAX + wmax;
            read_ahead(f, no + RUN_MAX, to < last + 1 ? to : last + 1);
        }
        rc = read_block(f, no, upto, buf, iov ? &iov[no - first] : NULL, n, off, err);
        if (rc && iov && no > first)
            unpin(f, off, (size_t)(no * bc->bs - off));
    }
    if (rc == 0 && f->window)
        read_ahead(f, last + 1, last + 1 + f->window);
    pthread_mutex_unlock(&bc->mu);
    return rc;
}

int ckpt_bcfile_read(ckpt_bcfile *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    return n ? walk(f, buf, NULL, n, off, err) : 0;
}

int ckpt_bcfile_borrow(ckpt_bcfile *f, uint64_t off, size_t n, struct iovec *iov, int maxiov,
                       int *niov, ckpt_err *err)
{
    *niov = 0;
    if (n == 0)
        return 0;
    uint64_t blocks = (off + n - 1) / f->bc->bs - off / f->bc->bs + 1;
    if (maxiov <= 0 || blocks > (uint64_t)maxiov)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                            "%s: a read of %zu bytes spans too many blocks", f->name, n);
    int rc = walk(f, NULL, iov, n, off, err);
    if (rc == 0)
        *niov = (int)blocks;
    return rc;
}

void ckpt_bcfile_release(ckpt_bcfile *f, uint64_t off, size_t n)
{
    pthread_mutex_lock(&f->bc->mu);
    unpin(f, off, n);
    pthread_mutex_unlock(&f->bc->mu);
}

int ckpt_bcfile_load_head(ckpt_bcfile *f, size_t n, ckpt_err *err)
{
    ckpt_blockcache *bc = f->bc;
    uint64_t upto = n ? (n - 1) / bc->bs : 0;
    pthread_mutex_lock(&bc->mu);
    uint8_t one;
    int rc = read_block(f, 0, upto, &one, NULL, 1, 0, err);
    pthread_mutex_unlock(&bc->mu);
    if (rc == CKPT_E_CORRUPT && atomic_load(&f->size) == 0)
        rc = 0; /* an empty file: its head is nothing */
    return rc;
}

void ckpt_bcfile_close(ckpt_bcfile *f)
{
    if (!f)
        return;
    ckpt_blockcache *bc = f->bc;
    pthread_mutex_lock(&bc->mu);
    /* Jobs not yet started are cancelled; running ones are waited for (they use f->ctx). */
    for (job **pp = &bc->queue; *pp;) {
        job *j = *pp;
        if (j->f != f) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        for (unsigned i = 0; i < j->count; i++) {
            block *b = find(bc, f, j->first + i);
            if (b && b->state == LOADING)
                drop(bc, b);
        }
        f->jobs--;
        free(j);
    }
    bc->queue_tail = &bc->queue;
    while (*bc->queue_tail)
        bc->queue_tail = &(*bc->queue_tail)->next;
    while (f->jobs > 0)
        pthread_cond_wait(&bc->cv, &bc->mu);
    for (size_t h = 0; h < NBUCKETS; h++)
        for (block **pp = &bc->tab[h]; *pp;) {
            if ((*pp)->f == f)
                drop(bc, *pp);
            else
                pp = &(*pp)->hnext;
        }
    pthread_cond_broadcast(&bc->cv);
    pthread_mutex_unlock(&bc->mu);
    if (f->done)
        f->done(f->ctx);
    free(f->ident);
    free(f->name);
    free(f);
    ckpt_blockcache_unref(bc);
}

/* --- over any ckpt_file ------------------------------------------------------------------- */

typedef struct wrapped {
    ckpt_file f;
    ckpt_file *inner;
    ckpt_bcfile *bf;
} wrapped;

/* One pread per block: a share (NFS, FUSE) sees requests of the block size. */
static int inner_fetch(void *ctx, uint64_t off, uint8_t *const *bufs, size_t bs, size_t n,
                       size_t *got, uint64_t *total, ckpt_err *err)
{
    ckpt_file *in = ctx;
    *total = in->size;
    size_t m = off >= in->size ? 0 : (in->size - off < n ? (size_t)(in->size - off) : n);
    *got = m;
    int rc = 0;
    for (size_t at = 0; at < m && rc == 0; at += bs)
        rc = ckpt_file_pread(in, bufs[at / bs], m - at < bs ? m - at : bs, off + at, err);
    return rc;
}

static void inner_done(void *ctx)
{
    ckpt_file_close(ctx);
}

static int wrapped_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    return ckpt_bcfile_read(((wrapped *)f)->bf, buf, n, off, err);
}

static void free_release(ckpt_bytes *b)
{
    free(b->priv);
}

static int wrapped_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err)
{
    if (f->size == 0)
        return 0;
    if (f->size > SIZE_MAX)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: too large to hold", f->name);
    uint8_t *m = malloc((size_t)f->size);
    if (!m)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", f->name);
    int rc = wrapped_pread(f, m, (size_t)f->size, 0, err);
    if (rc) {
        free(m);
        return rc;
    }
    out->data = m;
    out->len = (size_t)f->size;
    out->release = free_release;
    out->priv = m;
    return 0;
}

static void wrapped_close(ckpt_file *f)
{
    wrapped *w = (wrapped *)f;
    ckpt_bcfile_close(w->bf); /* closes inner */
    free(w);
}

static int wrapped_borrow(ckpt_file *f, uint64_t off, size_t n, struct iovec *iov, int maxiov,
                          int *niov, ckpt_err *err)
{
    return ckpt_bcfile_borrow(((wrapped *)f)->bf, off, n, iov, maxiov, niov, err);
}

static void wrapped_release(ckpt_file *f, uint64_t off, size_t n)
{
    ckpt_bcfile_release(((wrapped *)f)->bf, off, n);
}

static const ckpt_file_ops wrapped_ops = {wrapped_pread, wrapped_read_all, wrapped_close,
                                          NULL,          wrapped_borrow,   wrapped_release};

int ckpt_blockcache_wrap(ckpt_blockcache *bc, ckpt_file *inner, ckpt_file **out, ckpt_err *err)
{
    *out = NULL;
    wrapped *w = calloc(1, sizeof *w);
    if (!w) {
        ckpt_file_close(inner);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", inner->name);
    }
    int rc =
        ckpt_bcfile_new(bc, inner->name, inner->size, inner_fetch, inner, inner_done, &w->bf, err);
    if (rc) {
        ckpt_file_close(inner);
        free(w);
        return rc;
    }
    w->inner = inner;
    w->f = *inner;
    w->f.ops = &wrapped_ops;
    w->f.state = w;
    w->f.fd = -1; /* bytes come from the cache, not a descriptor */
    *out = &w->f;
    return 0;
}
