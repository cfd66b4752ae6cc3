/*
 * gen.c - generated root files (see gen.h).
 */
#include "gen.h"

#include "render.h"
#include "signatures.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

const char *const ckfs_gen_names[CKFS_NGEN] = {
    "variables.tsv",      "graph.pbtxt",       "meta_graph.pbtxt", "graph.dot",
    "object_graph.pbtxt", "saved_model.pbtxt", "signatures.txt",
};

/* The graph format a slot renders, or -1 for the in-memory ones. */
static int slot_format(int g)
{
    switch (g) {
    case CKFS_GEN_GRAPH: return CKPT_GRAPH_PBTXT;
    case CKFS_GEN_META: return CKPT_GRAPH_META;
    case CKFS_GEN_DOT: return CKPT_GRAPH_DOT;
    case CKFS_GEN_OBJECTS: return CKPT_GRAPH_OBJECTS;
    case CKFS_GEN_SAVEDMODEL: return CKPT_GRAPH_SAVEDMODEL;
    default: return -1;
    }
}

void ckfs_gen_slots(const ckpt_checkpoint *c, const char *sm_path,
                    const char *names[CKFS_NGEN])
{
    for (int g = 0; g < CKFS_NGEN; g++)
        names[g] = NULL;
    names[CKFS_GEN_TSV] = ckfs_gen_names[CKFS_GEN_TSV];
    if (sm_path || ckpt_meta_path(c)) {
        names[CKFS_GEN_GRAPH] = ckfs_gen_names[CKFS_GEN_GRAPH];
        names[CKFS_GEN_META] = ckfs_gen_names[CKFS_GEN_META];
        names[CKFS_GEN_DOT] = ckfs_gen_names[CKFS_GEN_DOT];
    }
    size_t idx;
    if (ckpt_find(c, OBJECT_GRAPH_KEY, strlen(OBJECT_GRAPH_KEY), &idx) == 0)
        names[CKFS_GEN_OBJECTS] = ckfs_gen_names[CKFS_GEN_OBJECTS];
    if (sm_path) {
        names[CKFS_GEN_SAVEDMODEL] = ckfs_gen_names[CKFS_GEN_SAVEDMODEL];
        names[CKFS_GEN_SIGNATURES] = ckfs_gen_names[CKFS_GEN_SIGNATURES];
    }
}

/* Open the document slot g renders (caller holds gen->mu). */
static int open_doc(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    if (gen->doc)
        return 0;
    if (g == CKFS_GEN_OBJECTS)
        return ckpt_graph_open_objects(v->c, &gen->doc, err);
    if (v->sm_path)
        return ckpt_graph_open_file(v->sm_path, CKPT_GRAPH_KIND_SAVEDMODEL, &gen->doc, err);
    const char *meta = ckpt_meta_path(v->c);
    if (!meta)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s has no .meta", ckpt_prefix(v->c));
    return ckpt_graph_open_file(meta, CKPT_GRAPH_KIND_META, &gen->doc, err);
}

/* Render an in-memory slot into gen->data (caller holds gen->mu). */
static int render_memory(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    ckfs_buf b = {0};
    int rc;
    if (g == CKFS_GEN_TSV)
        rc = ckfs_render_tsv(v->c, &b) ? ckpt_err_set(err, CKPT_E_NOMEM, "out of memory") : 0;
    else
        rc = ckfs_render_signatures(v->sm_path, &b, err);
    if (rc == 0 && b.failed)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory rendering %s", ckfs_gen_names[g]);
    if (rc) {
        ckfs_buf_free(&b);
        return rc;
    }
    /* An empty text still needs a non-NULL pointer to count as rendered. */
    gen->data = b.data ? b.data : calloc(1, 1);
    if (!gen->data)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    gen->size = b.len;
    gen->state = 1;
    return 0;
}

/* Size a graph slot without keeping its text (caller holds gen->mu). */
static int size_graph(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    int rc = open_doc(v, g, err);
    if (rc == 0)
        rc = ckpt_graph_size(gen->doc, (ckpt_graph_format)slot_format(g), &gen->size, err);
    if (rc == 0)
        gen->state = 1;
    return rc;
}

static int sized(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    if (gen->state == 1)
        return 0;
    if (gen->state < 0)
        return ckpt_err_set(err, CKPT_E_IO, "%s failed to render before", ckfs_gen_names[g]);
    int rc = slot_format(g) < 0 ? render_memory(v, g, err) : size_graph(v, g, err);
    if (rc) {
        gen->state = -1;
        ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[g], v->prefix);
    }
    return rc;
}

int ckfs_gen_size_known(ckfs_view *v, int g, uint64_t *size)
{
    ckfs_gen *gen = &v->gens[g];
    pthread_mutex_lock(&gen->mu);
    int known = gen->state == 1;
    *size = gen->size;
    pthread_mutex_unlock(&gen->mu);
    return known;
}

int ckfs_gen_size(ckfs_view *v, int g, uint64_t *size, ckpt_err *err)
{
    if (g < 0 || g >= CKFS_NGEN)
        return ckpt_err_set(err, CKPT_E_INVALID, "no generated file %d", g);
    ckfs_gen *gen = &v->gens[g];
    pthread_mutex_lock(&gen->mu);
    int rc = sized(v, g, err);
    *size = gen->size;
    pthread_mutex_unlock(&gen->mu);
    return rc;
}

/*
 * A descriptor for a rendered text nobody else sees: an unlinked file on disk (its pages are
 * reclaimable page cache), else anonymous memory. $TMPDIR first, as users expect.
 */
static int temp_fd(void)
{
    const char *dirs[] = {getenv("TMPDIR"), "/var/tmp", "/tmp"};
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        if (!dirs[k] || !*dirs[k])
            continue;
        int fd = open(dirs[k], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        char path[4096];
        snprintf(path, sizeof path, "%s/ckptfs-XXXXXX", dirs[k]);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0) {
            unlink(path);
            return fd;
        }
    }
    return memfd_create("ckptfs-graph", MFD_CLOEXEC);
}

static int render_graph(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    int fd = temp_fd();
    if (fd < 0)
        return ckpt_err_set(err, CKPT_E_IO, "no temporary file for %s: %s", ckfs_gen_names[g],
                            strerror(errno));
    uint64_t written = 0;
    int rc = ckpt_graph_render_fd(gen->doc, (ckpt_graph_format)slot_format(g), fd, &written, err);
    if (rc == 0 && written != gen->size)
        rc = ckpt_err_set(err, CKPT_E_IO, "%s rendered %llu bytes, %llu announced",
                          ckfs_gen_names[g], (unsigned long long)written,
                          (unsigned long long)gen->size);
    if (rc) {
        close(fd);
        return rc;
    }
    /* The text is read back through the kernel; nothing of it need stay in this process. */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    gen->fd = fd;
    return 0;
}

int ckfs_gen_content(ckfs_view *v, int g, const char **data, int *fd, uint64_t *size,
                     ckpt_err *err)
{
    if (g < 0 || g >= CKFS_NGEN)
        return ckpt_err_set(err, CKPT_E_INVALID, "no generated file %d", g);
    ckfs_gen *gen = &v->gens[g];
    pthread_mutex_lock(&gen->mu);
    int rc = sized(v, g, err);
    if (rc == 0 && slot_format(g) >= 0 && gen->fd < 0) {
        rc = render_graph(v, g, err);
        if (rc) {
            gen->state = -1;
            ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[g], v->prefix);
        }
    }
    if (rc == 0) {
        *data = gen->data;
        *fd = gen->fd;
        *size = gen->size;
    }
    pthread_mutex_unlock(&gen->mu);
    return rc;
}

void ckfs_gen_free(ckfs_gen *gen)
{
    free(gen->data);
    gen->data = NULL;
    if (gen->fd >= 0)
        close(gen->fd);
    gen->fd = -1;
    ckpt_graph_close(gen->doc);
    gen->doc = NULL;
    gen->state = 0;
    gen->size = 0;
}
