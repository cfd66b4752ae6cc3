/*
 * once.h - work done once, on first demand, and content held while someone uses it.
 *
 * The daemon defers everything it can to first use: a folder's checkpoint is opened, a graph
 * text sized, a string tensor rendered only when somebody looks. Two threads may look at the
 * same moment; exactly one does the work while the other waits for its result, and nobody
 * holds a lock while the work runs (a rendering can read a whole tensor).
 *
 * ckfs_once  a result computed once: NONE -> BUSY -> DONE, or FAILED when the input is bad
 *            (remembered), or back to NONE when the failure may pass (memory, descriptors).
 * ckfs_lazy  a file's content: its size computed once (the size is then fixed for the life of
 *            the mount, so stat and read never disagree), and the content itself built on
 *            open, reference-counted, and dropped when the last user lets go if the owner says
 *            so. Building the content must give exactly the size first computed.
 *
 * Many cells share one ckfs_once_lock (a view has one): a cell itself costs a few words, so a
 * million variables can each have one. The lock guards every cell's refs and content; state is
 * atomic so a DONE check takes no lock.
 */
#ifndef CKPTFS_ONCE_H
#define CKPTFS_ONCE_H

#include "err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

enum ckfs_once_state { CKFS_ONCE_NONE = 0, CKFS_ONCE_BUSY, CKFS_ONCE_DONE, CKFS_ONCE_FAILED };

typedef struct ckfs_once_lock {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast whenever a cell leaves BUSY or a content build ends */
} ckfs_once_lock;

typedef struct ckfs_once {
    _Atomic int state; /* enum ckfs_once_state */
} ckfs_once;

/* The work: 0, or a CKPT_E_* code with the reason in err. */
typedef int (*ckfs_once_fn)(void *arg, ckpt_err *err);

void ckfs_once_lock_init(ckfs_once_lock *L);
void ckfs_once_lock_destroy(ckfs_once_lock *L);

/* Whether o's work is done (no lock taken). */
static inline int ckfs_once_done(const ckfs_once *o)
{
    return atomic_load_explicit(&o->state, memory_order_acquire) == CKFS_ONCE_DONE;
}

/*
 * Do fn(arg) unless done: the first caller runs it (without L held), concurrent callers wait
 * for that run's outcome. A failure about the input (any code but CKPT_E_IO and CKPT_E_NOMEM)
 * is kept: later calls fail at once with CKPT_E_IO. Others leave o undone, to be tried again.
 */
int ckfs_once_run(ckfs_once *o, ckfs_once_lock *L, ckfs_once_fn fn, void *arg, ckpt_err *err);

/* Forget a result (the owner is being reset); no call may be running on o. */
void ckfs_once_reset(ckfs_once *o);

/* Built content: bytes in memory, or a descriptor to pread (data NULL), or neither (empty). */
typedef struct ckfs_content {
    char *data;
    int fd;
} ckfs_content;

/*
 * How a lazy file is made. size may be NULL: the size is then that of a first build, whose
 * content is kept when keep is set (small texts worth holding for the mount's life) and freed
 * otherwise. build must produce exactly the size first computed.
 */
typedef struct ckfs_lazy_ops {
    int (*size)(void *arg, uint64_t *size, ckpt_err *err);
    int (*build)(void *arg, ckfs_content *out, uint64_t *size, ckpt_err *err);
    int keep;
} ckfs_lazy_ops;

/* A zeroed cell is an unsized one with nothing held. */
typedef struct ckfs_lazy {
    ckfs_once sized;
    int building;         /* a build runs (outside the lock); protected by the lock */
    int held;             /* content is built; protected by the lock */
    unsigned refs;        /* users of content; protected by the lock */
    uint64_t size;        /* written before sized turns DONE, never after */
    ckfs_content content; /* protected by the lock */
} ckfs_lazy;

/* The size if already known: 1 and *size, else 0. No lock, never computes. */
int ckfs_lazy_size_known(const ckfs_lazy *z, uint64_t *size);

/* The size, computing it on first use. */
int ckfs_lazy_size(ckfs_lazy *z, ckfs_once_lock *L, const ckfs_lazy_ops *ops, void *arg,
                   uint64_t *size, ckpt_err *err);

/*
 * Take a reference to the content, building it if not held: *out and *size stay valid until
 * the matching ckfs_lazy_put. A build whose size differs from the one already given out is
 * CKPT_E_CORRUPT (the source changed under the mount): stat and read must never disagree.
 */
int ckfs_lazy_get(ckfs_lazy *z, ckfs_once_lock *L, const ckfs_lazy_ops *ops, void *arg,
                  ckfs_content *out, uint64_t *size, ckpt_err *err);

/* Drop a reference. Returns 1 when nobody holds the content any more, else 0. */
int ckfs_lazy_put(ckfs_lazy *z, ckfs_once_lock *L);

/* Free the content if nobody holds it (the size stays known). */
void ckfs_lazy_drop(ckfs_lazy *z, ckfs_once_lock *L);

/* Free everything of a cell and make it unsized; no user may remain. */
void ckfs_lazy_free(ckfs_lazy *z);

#endif
