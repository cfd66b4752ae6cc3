/*
 * ns_single.c - the name space of a mount of one checkpoint (or SavedModel): its view's tree,
 * the view's root the mount's root, inode numbers those of the tree (tree.h).
 */
#include "ns.h"

#include <errno.h>
#include <stdlib.h>

typedef struct single {
    ckfs_ns ns; /* first: a ckfs_ns * is a single * */
    ckfs_view view;
} single;

static ckfs_view *view_of(ckfs_ns *ns)
{
    return &((single *)ns)->view;
}

static int s_resolve(ckfs_ns *ns, uint64_t ino, int open, ckfs_target *t)
{
    (void)open; /* always open */
    t->v = view_of(ns);
    return ckfs_view_node(t->v, ino, &t->n);
}

static uint64_t s_ino(const ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns;
    return ckfs_view_ino(t->v, t->n);
}

static int s_lookup(ckfs_ns *ns, const ckfs_target *d, const char *name, ckfs_target *t)
{
    (void)ns;
    t->v = d->v;
    return ckfs_view_lookup(d->v, d->n, name, &t->n);
}

static int s_entry(ckfs_ns *ns, const ckfs_target *d, uint64_t pos, ckfs_target *t, char *name)
{
    (void)ns;
    return ckfs_ns_view_entry(d, pos, NULL, t, name);
}

static int s_stat(ckfs_ns *ns, const ckfs_target *t, struct stat *st, double *timeout, int lazy_ok)
{
    *timeout = CKFS_ATTR_TIMEOUT;
    return ckfs_ns_view_stat(ns, t, st, lazy_ok);
}

static const char *s_readlink(ckfs_ns *ns, const ckfs_target *t, char *buf, size_t size)
{
    (void)ns;
    return ckfs_ns_view_readlink(t, buf, size);
}

static const char *const *s_xattr_names(ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns;
    return ckfs_ns_view_xattr_names(t);
}

static int s_xattr(ckfs_ns *ns, const ckfs_target *t, const char *key, char *buf, size_t bufsize,
                   const char **val, size_t *len)
{
    (void)ns;
    return ckfs_ns_view_xattr(t, key, buf, bufsize, val, len);
}

static void s_totals(ckfs_ns *ns, uint64_t *bytes, uint64_t *names)
{
    ckfs_view *v = view_of(ns);
    *bytes = ckfs_tree_total_bytes(v->tree);
    *names = 1 + ckfs_view_nnames(v);
}

static void s_destroy(ckfs_ns *ns)
{
    if (!ns)
        return;
    ckfs_view_free(view_of(ns));
    free(ns);
}

static void s_put(ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns, (void)t; /* the one view is open for the mount's life */
}

static double s_entry_timeout(ckfs_ns *ns, const ckfs_target *d)
{
    (void)ns, (void)d;
    return CKFS_ATTR_TIMEOUT;
}

static int s_text(ckfs_ns *ns, const ckfs_target *t, char **data, size_t *len)
{
    (void)ns, (void)t, (void)data, (void)len;
    return -ENOENT;
}

/* In ns.h's order; nothing to start or stop. */
static const ckfs_ns_ops single_ops = {.resolve = s_resolve,
                                       .put = s_put,
                                       .entry_timeout = s_entry_timeout,
                                       .text = s_text,
                                       .ino = s_ino,
                                       .lookup = s_lookup,
                                       .entry = s_entry,
                                       .stat = s_stat,
                                       .readlink = s_readlink,
                                       .xattr_names = s_xattr_names,
                                       .xattr = s_xattr,
                                       .totals = s_totals,
                                       .destroy = s_destroy};

int ckfs_ns_single(ckpt_checkpoint *c, const char *sm_path, const ckfs_opts *o, ckfs_log_fn log,
                   void *log_ctx, ckfs_ns **out)
{
    single *s = calloc(1, sizeof(*s));
    if (!s || ckfs_view_init(&s->view, NULL, NULL, ckpt_prefix(c), sm_path, 0)) {
        if (s)
            ckfs_view_free(&s->view);
        free(s);
        ckpt_close(c);
        return -1;
    }
    s->ns = (ckfs_ns){&single_ops, o, log, log_ctx};
    /* attach owns c from here on, even when it fails */
    if (ckfs_view_attach(&s->view, c, o, log, log_ctx)) {
        s_destroy(&s->ns);
        return -1;
    }
    atomic_store_explicit(&s->view.opened.state, CKFS_ONCE_DONE, memory_order_release);
    *out = &s->ns;
    return 0;
}
