/*
 * pipewrite.c - see pipewrite.h.
 *
 * Why a thread: an export reads a piece (a copy out of the page cache and a CRC-32C pass) and
 * writes it (a copy into the page cache, pages allocated); done one after the other on one
 * core, each waits for the other. With the write on a second thread the two overlap, which is
 * what brings the export near `cp`, which copies in the kernel.
 */
#include "pipewrite.h"
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cli_pw {
    int fd;
    size_t size;
    uint8_t *buf[2];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t len[2]; /* bytes handed over in each buffer (protected by mu) */
    int full[2];   /* the buffer waits for, or is in, the writer (protected by mu) */
    int err;       /* errno of the first failed write, or 0 (protected by mu) */
    int stop;      /* nothing more will be handed over (protected by mu) */
    int fill;      /* the buffer the caller fills (caller only) */
    size_t used;   /* bytes put in it so far (caller only) */
};

/* Write n bytes at p to fd; 0, or the errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return ENOSPC;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *writer(void *arg)
{
    cli_pw *w = arg;
    int next = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->full[next] && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->full[next])
            break;
        int failed = w->err;
        pthread_mutex_unlock(&w->mu);
        /* After a failure the rest is dropped, but buffers still come back, so that the
         * caller never waits for one and learns of the failure at its next call. */
        int e = failed ? 0 : write_all(w->fd, w->buf[next], w->len[next]);
        pthread_mutex_lock(&w->mu);
        if (e && !w->err)
            w->err = e;
        w->full[next] = 0;
        pthread_cond_broadcast(&w->cv);
        next ^= 1;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int cli_pw_start(int fd, size_t bufsize, cli_pw **out)
{
    *out = NULL;
    int e = ENOMEM;
    cli_pw *w = calloc(1, sizeof *w);
    if (!w) {
        errno = e;
        return -1;
    }
    w->fd = fd;
    w->size = bufsize;
    /* Page-aligned: a read from the page cache into a buffer off by a few bytes runs at about
     * half the speed of an aligned one here (the kernel's copy prefers aligned stores). */
    size_t page = 4096, alloc = (bufsize + page - 1) / page * page;
    w->buf[0] = aligned_alloc(page, alloc);
    w->buf[1] = aligned_alloc(page, alloc);
    if (!w->buf[0] || !w->buf[1])
        goto fail_mem;
    if (pthread_mutex_init(&w->mu, NULL))
        goto fail_mem;
    if (pthread_cond_init(&w->cv, NULL))
        goto fail_mutex;
    int rc = cli_worker_start(&w->th, writer, w); /* signals stay the caller's */
    if (rc) {
        e = rc;
        goto fail_cond;
    }
    *out = w;
    return 0;
fail_cond:
    pthread_cond_destroy(&w->cv);
fail_mutex:
    pthread_mutex_destroy(&w->mu);
fail_mem:
    free(w->buf[0]);
    free(w->buf[1]);
    free(w);
    errno = e;
    return -1;
}

/* Hand the buffer being filled to the writer and go on with the other. */
static void hand_over(cli_pw *w)
{
    pthread_mutex_lock(&w->mu);
    w->len[w->fill] = w->used;
    w->full[w->fill] = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->fill ^= 1;
    w->used = 0;
}

uint8_t *cli_pw_space(cli_pw *w, size_t *room)
{
    pthread_mutex_lock(&w->mu);
    while (w->full[w->fill] && !w->err)
        pthread_cond_wait(&w->cv, &w->mu);
    int e = w->err;
    pthread_mutex_unlock(&w->mu);
    if (e) {
        errno = e;
        return NULL;
    }
    *room = w->size - w->used;
    return w->buf[w->fill] + w->used;
}

/* 0 for a 0 errno e, else -1 with errno e. */
static int result(int e)
{
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int cli_pw_commit(cli_pw *w, size_t n)
{
    w->used += n;
    if (w->used == w->size)
        hand_over(w);
    pthread_mutex_lock(&w->mu);
    int e = w->err;
    pthread_mutex_unlock(&w->mu);
    return result(e);
}

int cli_pw_write(cli_pw *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n) {
        size_t room;
        uint8_t *d = cli_pw_space(w, &room);
        if (!d)
            return -1;
        size_t k = n < room ? n : room;
        memcpy(d, s, k);
        if (cli_pw_commit(w, k))
            return -1;
        s += k;
        n -= k;
    }
    return 0;
}

int cli_pw_flush(cli_pw *w)
{
    if (w->used)
        hand_over(w);
    pthread_mutex_lock(&w->mu);
    while ((w->full[0] || w->full[1]) && !w->err)
        pthread_cond_wait(&w->cv, &w->mu);
    int e = w->err;
    pthread_mutex_unlock(&w->mu);
    return result(e);
}

int cli_pw_finish(cli_pw *w)
{
    if (w->used)
        hand_over(w); /* the last, partial buffer (cli_pw_space found it free) */
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    int e = w->err;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->buf[0]);
    free(w->buf[1]);
    free(w);
    return result(e);
}
