/*
 * view.c - one checkpoint of a mount (see view.h).
 */
#include "view.h"

#include "gen.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dup_or_null(const char *s, int *bad)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *bad = 1;
    return d;
}

int ckfs_failure_is_permanent(int rc)
{
    return rc != CKPT_E_IO && rc != CKPT_E_NOMEM;
}

int ckfs_view_init(ckfs_view *v, const char *name, const char *display, const char *prefix,
                   const char *sm_path, uint64_t base)
{
    memset(v, 0, sizeof(*v));
    pthread_mutex_init(&v->open_mu, NULL);
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->strs_cv, NULL);
    pthread_mutex_init(&v->doc_mu, NULL);
    for (int g = 0; g < CKFS_GEN_MAX; g++) {
        pthread_mutex_init(&v->gens[g].mu, NULL);
        v->gens[g].fd = -1;
    }
    int bad = 0;
    v->name = dup_or_null(name, &bad);
    v->display = dup_or_null(display ? display : name, &bad);
    v->prefix = dup_or_null(prefix, &bad);
    v->sm_path = dup_or_null(sm_path, &bad);
    v->base = base;
    return bad ? -1 : 0;
}

int ckfs_view_attach(ckfs_view *v, ckpt_checkpoint *c, const ckfs_opts *o,
                     ckfs_view_warn_fn warn, void *warn_ctx)
{
    v->c = c;
    const struct stat *ist = ckpt_index_stat(c);
    v->uid = o->have_uid ? o->uid : ist->st_uid;
    v->gid = o->have_gid ? o->gid : ist->st_gid;
    /* Files are readable where the index is; directories also searchable there. */
    mode_t r = o->have_umask ? (0444 & ~o->umask) : (ist->st_mode & 0444);
    v->fmode = r;
    v->dmode = (r | (r >> 2)) & (o->have_umask ? ~o->umask : 0777);
    v->mtime = ist->st_mtim;
    size_t n = ckpt_count(c);
    /* calloc'd pages stay untouched (and unallocated) until a string variable is opened. */
    v->strs = calloc(n ? n : 1, sizeof(*v->strs));
    v->corrupt = calloc(n ? n : 1, 1);
    const char *names[CKFS_GEN_MAX] = {0};
    ckfs_gen_slots(c, v->sm_path, names);
    if (!v->strs || !v->corrupt ||
        ckfs_tree_build(c, names, CKFS_NGEN, o->npy, warn, warn_ctx, &v->tree))
        return -1;
    return 0;
}

/* Drop what attach built (the view returns to "not opened"). */
static void detach(ckfs_view *v)
{
    if (v->strs) {
        for (size_t i = 0; i < ckpt_count(v->c); i++)
            free(v->strs[i].data);
        free(v->strs);
        v->strs = NULL;
    }
    for (int g = 0; g < CKFS_GEN_MAX; g++)
        ckfs_gen_free(&v->gens[g]);
    ckpt_graph_close(v->doc);
    v->doc = NULL;
    free(v->corrupt);
    v->corrupt = NULL;
    ckfs_tree_free(v->tree);
    v->tree = NULL;
    ckpt_close(v->c);
    v->c = NULL;
}

/*
 * PREFIX.index when that file exists (malloc'd), else NULL: opening by it makes a checkpoint
 * whose prefix is also a directory's path (one named "." or "..") open as itself, not as the
 * folder that path names. Without one (a V1 file, a sharded V1 pattern) the prefix is used.
 */
static char *index_path(const ckfs_view *v)
{
    size_t n = strlen(v->prefix);
    char *p = malloc(n + sizeof ".index");
    if (!p)
        return NULL;
    memcpy(p, v->prefix, n);
    memcpy(p + n, ".index", sizeof ".index");
    struct stat st;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
        return p;
    free(p);
    return NULL;
}

int ckfs_view_ensure(ckfs_view *v, const ckfs_opts *o, ckfs_view_warn_fn warn, void *warn_ctx,
                     ckpt_err *err)
{
    if (__atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == 1)
        return 0;
    pthread_mutex_lock(&v->open_mu);
    int rc = 0;
    if (v->state == 0) {
        ckpt_checkpoint *c;
        /* Nobody can be told about a missing shard when a folder's checkpoint opens on first
         * use: list its variables and let reads of the missing shard fail (as -o force). */
        char *ip = index_path(v);
        rc = ckpt_open(ip ? ip : v->prefix, CKPT_OPEN_MISSING_SHARDS_OK, &c, err);
        free(ip);
        if (rc == 0) {
            if (ckfs_view_attach(v, c, o, warn, warn_ctx)) {
                detach(v);
                rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory building its tree",
                                  v->prefix);
            }
        }
        /* Running out of descriptors or memory says nothing about the checkpoint: stay
         * unopened so that the next use tries again. */
        __atomic_store_n(&v->state, rc == 0 ? 1 : ckfs_failure_is_permanent(rc) ? -1 : 0,
                         __ATOMIC_RELEASE);
    } else if (v->state < 0) {
        rc = ckpt_err_set(err, CKPT_E_IO, "%s could not be opened (see the earlier message)",
                          v->prefix);
    }
    pthread_mutex_unlock(&v->open_mu);
    return rc;
}

void ckfs_view_free(ckfs_view *v)
{
    detach(v);
    for (int g = 0; g < CKFS_GEN_MAX; g++)
        pthread_mutex_destroy(&v->gens[g].mu);
    pthread_mutex_destroy(&v->open_mu);
    pthread_mutex_destroy(&v->mu);
    pthread_cond_destroy(&v->strs_cv);
    pthread_mutex_destroy(&v->doc_mu);
    free(v->name);
    free(v->display);
    free(v->prefix);
    free(v->sm_path);
}
