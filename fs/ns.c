/*
 * ns.c - what every name space shares (see ns.h): opening views on first use, and the
 * entries and extended attributes of an open view's nodes.
 */
#include "ns.h"

#include "dtype.h"
#include "shape.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void log_line(ckfs_ns *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_line(ckfs_ns *ns, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ns->log(ns->log_ctx, line);
}

int ckfs_ns_open_view(ckfs_ns *ns, ckfs_view *v)
{
    if (ckfs_view_is_open(v))
        return 0;
    ckpt_err err;
    ckpt_err_clear(&err);
    int was_failed =
        atomic_load_explicit(&v->opened.state, memory_order_acquire) == CKFS_ONCE_FAILED;
    int rc = ckfs_view_ensure(v, ns->opts, ns->log, ns->log_ctx, &err);
    if (rc == 0)
        return 0;
    if (!was_failed) /* said once; later uses just fail */
        log_line(ns, "cannot open checkpoint %s: %s", v->name ? v->name : v->prefix, err.msg);
    return rc == CKPT_E_NOMEM ? -ENOMEM : -EIO;
}

int ckfs_ns_view_stat(ckfs_ns *ns, const ckfs_target *t, struct stat *st, int lazy_ok)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = ckfs_view_stat(t->v, t->n, st, lazy_ok, &err);
    if (rc && rc != -EAGAIN && rc != -ENOENT && err.msg[0])
        ns->log(ns->log_ctx, err.msg);
    return rc;
}

int ckfs_ns_view_entry(const ckfs_target *d, uint64_t pos, const ckfs_target *parent,
                       ckfs_target *t, char *name)
{
    if (pos == 0) {
        *t = *d;
        strcpy(name, ".");
        return 0;
    }
    if (pos == 1) {
        if (parent)
            *t = *parent;
        else
            *t = (ckfs_target){d->v, ckfs_view_parent(d->v, d->n)};
        strcpy(name, "..");
        return 0;
    }
    t->v = d->v;
    return ckfs_view_dir_entry(d->v, d->n, pos - 2, &t->n, name);
}

static const char *const var_xattrs[] = {
    "user.ckpt.name",  "user.ckpt.dtype",  "user.ckpt.shape",  "user.ckpt.nbytes",
    "user.ckpt.shard", "user.ckpt.offset", "user.ckpt.crc32c", NULL,
};
/* A TF 2 checkpoint's variables also have what its object graph says of them (read at the
 * first get of one, as by_name/ reads it). */
static const char *const var_xattrs_tf2[] = {
    "user.ckpt.name",
    "user.ckpt.dtype",
    "user.ckpt.shape",
    "user.ckpt.nbytes",
    "user.ckpt.shard",
    "user.ckpt.offset",
    "user.ckpt.crc32c",
    "user.ckpt.full_name",
    "user.ckpt.slot_of",
    "user.ckpt.slot",
    NULL,
};
static const char *const root_xattrs[] = {
    "user.ckpt.prefix", "user.ckpt.data_reads", "user.ckpt.data_bytes", "user.ckpt.shards", NULL,
};

static int is_var_file(ckfs_node n)
{
    return n.kind >= CKFS_K_DATA && n.kind <= CKFS_K_NPY;
}

const char *const *ckfs_ns_view_xattr_names(const ckfs_target *t)
{
    if (t->n.kind == CKFS_K_DIR && t->n.idx == 0)
        return root_xattrs;
    if (!is_var_file(t->n))
        return NULL;
    return ckpt_has_object_graph(t->v->c) ? var_xattrs_tf2 : var_xattrs;
}

/* A checkpoint root's attributes. */
static int root_xattr(ckpt_checkpoint *c, const char *key, char *buf, size_t bufsize,
                      const char **val, size_t *len)
{
    int w = -1;
    if (!strcmp(key, "prefix")) {
        *val = ckpt_prefix(c);
        *len = strlen(*val);
        return 0;
    }
    if (!strcmp(key, "data_reads"))
        w = snprintf(buf, bufsize, "%" PRIu64, ckpt_data_reads(c));
    else if (!strcmp(key, "data_bytes"))
        w = snprintf(buf, bufsize, "%" PRIu64, ckpt_data_bytes(c));
    else if (!strcmp(key, "shards"))
        w = snprintf(buf, bufsize, "%d", ckpt_num_shards(c));
    if (w < 0 || (size_t)w >= bufsize)
        return -ENODATA;
    *val = buf;
    *len = (size_t)w;
    return 0;
}

/* A variable's attributes (on each of its files). */
static int var_xattr(const ckpt_var *var, const char *key, char *buf, size_t bufsize,
                     const char **val, size_t *len)
{
    int w = -1;
    char dt[32];
    if (!strcmp(key, "name")) {
        *val = var->name;
        *len = var->name_len;
        return 0;
    }
    int whole = !(var->flags & CKPT_VAR_PARTITIONED); /* one shard, one offset */
    if (!strcmp(key, "dtype")) {
        w = snprintf(buf, bufsize, "%s", ckpt_dtype_name(var->dtype, dt, sizeof dt));
    } else if (!strcmp(key, "shape")) {
        size_t need = ckpt_shape_format(var->rank, var->dims, buf, bufsize);
        w = need < bufsize ? (int)need : -1;
    } else if (!strcmp(key, "nbytes")) {
        w = snprintf(buf, bufsize, "%" PRIu64, var->nbytes);
    } else if (!strcmp(key, "shard") && whole) {
        w = snprintf(buf, bufsize, "%" PRId32, var->shard);
    } else if (!strcmp(key, "offset") && whole) {
        w = snprintf(buf, bufsize, "%" PRIu64, var->offset);
    } else if (!strcmp(key, "crc32c") && (var->flags & CKPT_VAR_HAS_CRC)) {
        w = snprintf(buf, bufsize, "%08x", var->crc32c);
    }
    if (w < 0 || (size_t)w >= bufsize)
        return -ENODATA;
    *val = buf;
    *len = (size_t)w;
    return 0;
}

int ckfs_ns_view_xattr(const ckfs_target *t, const char *key, char *buf, size_t bufsize,
                       const char **val, size_t *len)
{
    if (t->n.kind == CKFS_K_DIR && t->n.idx == 0)
        return root_xattr(t->v->c, key, buf, bufsize, val, len);
    if (!is_var_file(t->n) || t->n.idx >= ckpt_count(t->v->c))
        return -ENODATA;
    if (!strcmp(key, "full_name") || !strcmp(key, "slot_of") || !strcmp(key, "slot")) {
        const ckpt_names *names = ckfs_view_names(t->v);
        size_t orig;
        const char *slot;
        if (key[0] == 'f') {
            *val = ckpt_names_full(names, t->n.idx, len);
            return *val ? 0 : -ENODATA;
        }
        if (!ckpt_names_slot(names, t->n.idx, &orig, &slot))
            return -ENODATA;
        *val = key[4] == '_' ? ckpt_name(t->v->c, orig, len) : slot;
        if (key[4] != '_')
            *len = strlen(slot);
        return 0;
    }
    ckpt_var var;
    ckpt_get(t->v->c, t->n.idx, &var);
    return var_xattr(&var, key, buf, bufsize, val, len);
}

const char *ckfs_ns_view_readlink(const ckfs_target *t, char *buf, size_t size)
{
    if (!t->v || t->n.kind != CKFS_K_LINK)
        return NULL;
    ckpt_err err;
    return ckfs_view_readlink(t->v, t->n, buf, size, &err) < 0 ? NULL : buf;
}
