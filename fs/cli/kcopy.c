/*
 * kcopy.c - see kcopy.h.
 */
#include "kcopy.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32c.h"
#include "worker.h"

/* The pipe the kernel copies through holds 16 pages. */
#define KCOPY_ALIGN (64u << 10)

/* The CRC-32C of fd's n bytes at off, read through a mapping (the pages are in the page
 * cache, just written: no copy), or with pread where the file cannot be mapped. 0, or -1 with
 * errno. */
static int crc_back(int fd, uint64_t off, uint64_t n, uint32_t *crc)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t lead = off % (uint64_t)page;
    void *m = mmap(NULL, (size_t)(n + lead), PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
                   (off_t)(off - lead));
    if (m != MAP_FAILED) {
        *crc = ckpt_crc32c_extend(0, (const uint8_t *)m + lead, (size_t)n);
        munmap(m, (size_t)(n + lead));
        return 0;
    }
    size_t bufsize = 1u << 20;
    uint8_t *buf = malloc(bufsize);
    if (!buf)
        return -1;
    uint32_t c = 0;
    for (uint64_t at = 0; at < n;) {
        size_t want = n - at < bufsize ? (size_t)(n - at) : bufsize;
        ssize_t r = pread(fd, buf, want, (off_t)(off + at));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* what was just written is not there */
            free(buf);
            return -1;
        }
        c = ckpt_crc32c_extend(c, buf, (size_t)r);
        at += (uint64_t)r;
    }
    free(buf);
    *crc = c;
    return 0;
}

int cli_kcopy(int in_fd, uint64_t in_off, int out_fd, uint64_t n, uint64_t *at, uint64_t *done)
{
    *done = 0;
    off_t start = lseek(out_fd, 0, SEEK_CUR);
    if (start < 0)
        return errno == ESPIPE ? CLI_KCOPY_UNSUPPORTED : -1;
    *at = (uint64_t)start;
    loff_t from = (loff_t)in_off;
    while (*done < n) {
        uint64_t want = n - *done;
        if (want > (1u << 30))
            want = 1u << 30;
        /* The kernel copies through a pipe KCOPY_ALIGN bytes at a time and gives a run
         * written at an aligned place one folio; a run across two takes sixteen pages, each
         * allocated on its own, and the copy costs half as much again. So a first run that
         * ends on the boundary: where in_fd is in step with out_fd modulo KCOPY_ALIGN (the
         * safetensors layout sees to it), every run after it is aligned on both sides. */
        uint64_t lead = (*at + *done) % KCOPY_ALIGN;
        if (lead && want > KCOPY_ALIGN - lead)
            want = KCOPY_ALIGN - lead;
        ssize_t r = copy_file_range(in_fd, &from, out_fd, NULL, (size_t)want, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            /* Refused before any byte moved (another file system, a special file, an old
             * kernel): the caller copies another way. */
            if (*done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                               errno == EOPNOTSUPP || errno == EBADF))
                return CLI_KCOPY_UNSUPPORTED;
            return -1;
        }
        if (r == 0)
            return CLI_KCOPY_SHORT;
        *done += (uint64_t)r;
    }
    return 0;
}

/*
 * The run moves from the caller to the thread and its result back under mu: `state` says
 * whose turn it is. The file descriptor is the caller's and outlives the checker.
 */
struct cli_kcheck {
    int fd;
    int threaded; /* 0: no thread could be started; put computes at once */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum { KC_IDLE, KC_RUN, KC_DONE, KC_QUIT } state; /* protected by mu */
    uint64_t off, n;                                  /* the run; protected by mu */
    uint32_t crc;                                     /* its result; protected by mu */
    int rc, err;                                      /* protected by mu */
};

static void *checker(void *arg)
{
    cli_kcheck *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (k->state != KC_RUN && k->state != KC_QUIT)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->state == KC_QUIT)
            break;
        uint64_t off = k->off, n = k->n;
        pthread_mutex_unlock(&k->mu);
        uint32_t crc = 0;
        int rc = crc_back(k->fd, off, n, &crc), err = errno;
        pthread_mutex_lock(&k->mu);
        k->crc = crc;
        k->rc = rc;
        k->err = err;
        k->state = KC_DONE;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

cli_kcheck *cli_kcheck_start(int fd)
{
    cli_kcheck *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->fd = fd;
    k->state = KC_IDLE;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    k->threaded = cli_worker_start(&k->thread, checker, k) == 0; /* signals stay the caller's */
    return k;
}

void cli_kcheck_put(cli_kcheck *k, uint64_t off, uint64_t n)
{
    if (!k->threaded) {
        k->rc = crc_back(k->fd, off, n, &k->crc);
        k->err = errno;
        k->state = KC_DONE;
        return;
    }
    pthread_mutex_lock(&k->mu);
    k->off = off;
    k->n = n;
    k->state = KC_RUN;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

int cli_kcheck_take(cli_kcheck *k, uint32_t *crc)
{
    pthread_mutex_lock(&k->mu);
    while (k->state == KC_RUN)
        pthread_cond_wait(&k->cv, &k->mu);
    int rc = k->state == KC_DONE ? k->rc : 0;
    *crc = k->crc;
    errno = k->err;
    k->state = KC_IDLE;
    pthread_mutex_unlock(&k->mu);
    return rc;
}

void cli_kcheck_stop(cli_kcheck *k)
{
    if (!k)
        return;
    if (k->threaded) {
        pthread_mutex_lock(&k->mu);
        while (k->state == KC_RUN)
            pthread_cond_wait(&k->cv, &k->mu);
        k->state = KC_QUIT;
        pthread_cond_broadcast(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->thread, NULL);
    }
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
}
