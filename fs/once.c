/*
 * once.c - see once.h.
 */
#include "once.h"

#include <stdlib.h>
#include <unistd.h>

void ckfs_once_lock_init(ckfs_once_lock *L)
{
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
}

void ckfs_once_lock_destroy(ckfs_once_lock *L)
{
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
}

/* Whether a failure with code rc says something about the input (kept) rather than about the
 * moment (descriptors, memory, an interrupted call: worth retrying). */
static int ckfs_failure_is_permanent(int rc)
{
    return rc != CKPT_E_IO && rc != CKPT_E_NOMEM;
}

int ckfs_once_run(ckfs_once *o, ckfs_once_lock *L, ckfs_once_fn fn, void *arg, ckpt_err *err)
{
    if (ckfs_once_done(o))
        return 0;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        int s = atomic_load_explicit(&o->state, memory_order_acquire);
        if (s == CKFS_ONCE_NONE)
            break;
        if (s != CKFS_ONCE_BUSY) {
            pthread_mutex_unlock(&L->mu);
            return s == CKFS_ONCE_DONE
                       ? 0
                       : ckpt_err_set(err, CKPT_E_IO, "failed before (see the earlier message)");
        }
        pthread_cond_wait(&L->cv, &L->mu);
    }
    atomic_store_explicit(&o->state, CKFS_ONCE_BUSY, memory_order_relaxed);
    pthread_mutex_unlock(&L->mu);

    int rc = fn(arg, err);

    pthread_mutex_lock(&L->mu);
    int s = rc == 0                         ? CKFS_ONCE_DONE
            : ckfs_failure_is_permanent(rc) ? CKFS_ONCE_FAILED
                                            : CKFS_ONCE_NONE;
    atomic_store_explicit(&o->state, s, memory_order_release);
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    return rc;
}

void ckfs_once_reset(ckfs_once *o)
{
    atomic_store_explicit(&o->state, CKFS_ONCE_NONE, memory_order_release);
}

static void content_free(ckfs_content *c)
{
    free(c->data);
    if (c->fd >= 0)
        close(c->fd);
    c->data = NULL;
    c->fd = -1;
}

int ckfs_lazy_size_known(const ckfs_lazy *z, uint64_t *size)
{
    if (!ckfs_once_done(&z->sized))
        return 0;
    *size = z->size;
    return 1;
}

struct sizing {
    ckfs_lazy *z;
    ckfs_once_lock *L;
    const ckfs_lazy_ops *ops;
    void *arg;
};

/* The once-work of sizing: the size op, or a build whose content is kept or freed. */
static int size_once(void *p, ckpt_err *err)
{
    struct sizing *s = p;
    if (s->ops->size)
        return s->ops->size(s->arg, &s->z->size, err);
    ckfs_content c = {NULL, -1};
    int rc = s->ops->build(s->arg, &c, &s->z->size, err);
    if (rc)
        return rc;
    if (!s->ops->keep) {
        content_free(&c);
        return 0;
    }
    pthread_mutex_lock(&s->L->mu);
    s->z->content = c;
    s->z->held = 1;
    pthread_mutex_unlock(&s->L->mu);
    return 0;
}

int ckfs_lazy_size(ckfs_lazy *z, ckfs_once_lock *L, const ckfs_lazy_ops *ops, void *arg,
                   uint64_t *size, ckpt_err *err)
{
    struct sizing s = {z, L, ops, arg};
    int rc = ckfs_once_run(&z->sized, L, size_once, &s, err);
    if (rc == 0)
        *size = z->size;
    return rc;
}

/* Build z's content (L->mu held on entry and exit, released while building). */
static int build_locked(ckfs_lazy *z, ckfs_once_lock *L, const ckfs_lazy_ops *ops, void *arg,
                        ckpt_err *err)
{
    z->building = 1;
    pthread_mutex_unlock(&L->mu);
    ckfs_content c = {NULL, -1};
    uint64_t size = 0;
    int rc = ops->build(arg, &c, &size, err);
    if (rc == 0 && size != z->size)
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "content changed under the mount: %llu bytes, %llu announced",
                          (unsigned long long)size, (unsigned long long)z->size);
    /* An empty text still needs something to hold. */
    if (rc == 0 && !c.data && c.fd < 0 && !(c.data = calloc(1, 1)))
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (rc)
        content_free(&c);
    pthread_mutex_lock(&L->mu);
    if (rc == 0) {
        z->content = c;
        z->held = 1;
    }
    z->building = 0;
    pthread_cond_broadcast(&L->cv);
    return rc;
}

int ckfs_lazy_get(ckfs_lazy *z, ckfs_once_lock *L, const ckfs_lazy_ops *ops, void *arg,
                  ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    uint64_t sz;
    int rc = ckfs_lazy_size(z, L, ops, arg, &sz, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&L->mu);
    while (z->building)
        pthread_cond_wait(&L->cv, &L->mu);
    if (!z->held)
        rc = build_locked(z, L, ops, arg, err);
    if (rc == 0) {
        z->refs++;
        *out = z->content;
        *size = z->size;
    }
    pthread_mutex_unlock(&L->mu);
    return rc;
}

int ckfs_lazy_put(ckfs_lazy *z, ckfs_once_lock *L)
{
    pthread_mutex_lock(&L->mu);
    int unused = z->refs > 0 && --z->refs == 0;
    pthread_mutex_unlock(&L->mu);
    return unused;
}

void ckfs_lazy_drop(ckfs_lazy *z, ckfs_once_lock *L)
{
    pthread_mutex_lock(&L->mu);
    if (z->held && z->refs == 0 && !z->building) {
        content_free(&z->content);
        z->held = 0;
    }
    pthread_mutex_unlock(&L->mu);
}

void ckfs_lazy_free(ckfs_lazy *z)
{
    if (z->held)
        content_free(&z->content);
    *z = (ckfs_lazy){0};
}
