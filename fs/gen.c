/*
 * gen.c - generated root files (see gen.h).
 */
#include "gen.h"

#include "render.h"
#include "signatures.h"
#include "statstext.h"

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
    "variables.tsv",  "graph.pbtxt",        "meta_graph.pbtxt",
    "graph.dot",      "object_graph.pbtxt", "saved_model.pbtxt",
    "signatures.txt", "stats.tsv",          "model.safetensors",
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

void ckfs_gen_slots(const ckpt_checkpoint *c, const char *sm_path, const char *names[CKFS_NGEN])
{
    for (int g = 0; g < CKFS_NGEN; g++)
        names[g] = NULL;
    names[CKFS_GEN_TSV] = ckfs_gen_names[CKFS_GEN_TSV];
    names[CKFS_GEN_SAFETENSORS] = ckfs_gen_names[CKFS_GEN_SAFETENSORS];
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
    names[CKFS_GEN_STATS] = ckfs_gen_names[CKFS_GEN_STATS];
}

void ckfs_gens_init(ckfs_gens *G, ckpt_checkpoint *c, const char *sm_path, ckfs_once_lock *lock)
{
    *G = (ckfs_gens){.c = c, .sm_path = sm_path, .lock = lock};
}

/* A slot's work: which slot of which checkpoint. */
struct slot_arg {
    ckfs_gens *G;
    int g;
};

static int open_doc_once(void *p, ckpt_err *err)
{
    ckfs_gens *G = p;
    const char *meta = ckpt_meta_path(G->c);
    if (G->sm_path)
        return ckpt_graph_open_file(ckpt_bytesrc_of(G->c), G->sm_path, CKPT_GRAPH_KIND_SAVEDMODEL,
                                    &G->doc, err);
    if (!meta)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s has no .meta", ckpt_prefix(G->c));
    return ckpt_graph_open_file(ckpt_bytesrc_of(G->c), meta, CKPT_GRAPH_KIND_META, &G->doc, err);
}

/*
 * The document slot g renders: object_graph.pbtxt has its own (opened by its slot's sizing,
 * which runs before any build of it); the other graph slots share one mapping of the .meta /
 * saved_model.pb (documents are safe to render from several threads).
 */
static int open_doc(ckfs_gens *G, int g, const ckpt_graph_doc **out, ckpt_err *err)
{
    int rc = 0;
    if (g == CKFS_GEN_OBJECTS) {
        if (!G->objects)
            rc = ckpt_graph_open_objects(G->c, &G->objects, err);
        *out = G->objects;
        return rc;
    }
    rc = ckfs_once_run(&G->doc_opened, G->lock, open_doc_once, G, err);
    *out = G->doc;
    return rc;
}

/* Render an in-memory slot (the variables table, the signatures, the statistics). */
static int render_memory(ckfs_gens *G, int g, ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    ckpt_strbuf b = {0};
    int rc;
    if (g == CKFS_GEN_TSV) {
        /* A TF 2 checkpoint's table has full names: its object graph is read for them. A
         * graph that cannot be read (damaged, on a missing shard) costs the column, not the
         * table. */
        ckpt_names *names = NULL;
        rc = ckpt_names_load(G->c, &names, err);
        if (rc && rc != CKPT_E_NOMEM)
            rc = 0, names = NULL;
        if (rc == 0 && ckpt_render_tsv(G->c, names, &b))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        ckpt_names_free(names);
    } else if (g == CKFS_GEN_STATS) {
        rc = ckpt_render_stats_tsv(G->c, &b, err);
    } else {
        rc = ckpt_render_signatures(ckpt_bytesrc_of(G->c), G->sm_path, &b, err);
    }
    if (rc == 0 && b.failed)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory rendering %s", ckfs_gen_names[g]);
    if (rc) {
        ckpt_strbuf_free(&b);
        return rc;
    }
    out->data = b.data;
    *size = b.len;
    return 0;
}

/* Size a graph slot without keeping its text. */
static int size_graph(void *p, uint64_t *size, ckpt_err *err)
{
    struct slot_arg *a = p;
    const ckpt_graph_doc *doc;
    int rc = open_doc(a->G, a->g, &doc, err);
    if (rc == 0)
        rc = ckpt_graph_size(doc, (ckpt_graph_format)slot_format(a->g), size, err);
    if (rc)
        ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[a->g], ckpt_prefix(a->G->c));
    return rc;
}

/* Where rendered texts may go, in order: $TMPDIR first, as users expect; NULL = memory. */
#define TEMP_PLACES 4
static const char *temp_place(int k)
{
    switch (k) {
    case 0: return getenv("TMPDIR");
    case 1: return "/var/tmp";
    case 2: return "/tmp";
    default: return NULL;
    }
}

/*
 * A descriptor for a rendered text nobody else sees, in place k: an unlinked file in a
 * directory (its pages are reclaimable page cache), or (dir NULL) anonymous memory. -1 with
 * errno when that place cannot have one.
 */
static int temp_fd(const char *dir)
{
    if (!dir)
        return memfd_create("ckptfs-graph", MFD_CLOEXEC);
    if (!*dir) {
        errno = ENOENT;
        return -1;
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/ckptfs-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/*
 * Render slot g into the first place that takes the whole text: a full or read-only $TMPDIR
 * moves on to the next directory, then to memory, instead of failing the file.
 */
static int render_graph(ckfs_gens *G, int g, int *out, uint64_t *written, ckpt_err *err)
{
    const ckpt_graph_doc *doc;
    int rc = open_doc(G, g, &doc, err);
    if (rc)
        return rc;
    rc = ckpt_err_set(err, CKPT_E_IO, "no place for a temporary file");
    for (int k = 0; k < TEMP_PLACES; k++) {
        const char *dir = temp_place(k);
        if (k < TEMP_PLACES - 1 && !dir)
            continue;
        int fd = temp_fd(dir);
        if (fd < 0) {
            rc = ckpt_err_set(err, CKPT_E_IO, "no temporary file in %s: %s", dir ? dir : "memory",
                              strerror(errno));
            continue;
        }
        *written = 0;
        rc = ckpt_graph_render_fd(doc, (ckpt_graph_format)slot_format(g), fd, written, err);
        if (rc == 0) {
            /* The text is read back through the kernel; nothing of it need stay here. */
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            *out = fd;
            return 0;
        }
        close(fd);
        if (rc != CKPT_E_IO)
            return rc; /* the document itself failed: another place will not help */
        ckpt_err_prefix(err, "writing %s to %s", ckfs_gen_names[g], dir ? dir : "memory");
    }
    return rc;
}

/* Build a slot's text: in memory or in a temporary file. */
static int build_slot(void *p, ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    struct slot_arg *a = p;
    int rc = slot_format(a->g) < 0 ? render_memory(a->G, a->g, out, size, err)
                                   : render_graph(a->G, a->g, &out->fd, size, err);
    if (rc)
        ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[a->g], ckpt_prefix(a->G->c));
    return rc;
}

static int build_st_once(void *p, ckpt_err *err)
{
    ckfs_gens *G = p;
    /* Full names for __metadata__ from the owner's copy, which by_name/ uses too: the object
     * graph is read once per mount whichever asks first. A graph that cannot be read costs
     * those entries (NULL), not the file. */
    const ckpt_names *names = G->names ? G->names(G->names_ctx) : NULL;
    int rc = ckpt_st_build(G->c, names, &G->st, err);
    if (rc)
        ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[CKFS_GEN_SAFETENSORS], ckpt_prefix(G->c));
    return rc;
}

int ckfs_gen_safetensors(ckfs_gens *G, const ckpt_st_layout **out, ckpt_err *err)
{
    int rc = ckfs_once_run(&G->st_built, G->lock, build_st_once, G, err);
    *out = rc ? NULL : &G->st;
    return rc;
}

static int size_st(void *p, uint64_t *size, ckpt_err *err)
{
    struct slot_arg *a = p;
    const ckpt_st_layout *l;
    int rc = ckfs_gen_safetensors(a->G, &l, err);
    if (rc == 0)
        *size = l->total;
    return rc;
}

/* model.safetensors is read through its layout (read.c), never built as a whole. */
static int build_st(void *p, ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    (void)p, (void)out, (void)size;
    return ckpt_err_set(err, CKPT_E_INVALID, "model.safetensors is read through its layout");
}

/* In-memory texts are sized by rendering them and kept; graph texts are counted first (a
 * pass that keeps nothing) and rendered to a file on open. */
static const ckfs_lazy_ops memory_ops = {NULL, build_slot, 1};
static const ckfs_lazy_ops graph_ops = {size_graph, build_slot, 0};
static const ckfs_lazy_ops st_ops = {size_st, build_st, 0};

static const ckfs_lazy_ops *slot_ops(int g)
{
    if (g == CKFS_GEN_SAFETENSORS)
        return &st_ops;
    return slot_format(g) < 0 ? &memory_ops : &graph_ops;
}

int ckfs_gen_size_known(const ckfs_gens *G, int g, uint64_t *size)
{
    return g >= 0 && g < CKFS_NGEN && ckfs_lazy_size_known(&G->slot[g], size);
}

int ckfs_gen_size(ckfs_gens *G, int g, uint64_t *size, ckpt_err *err)
{
    if (g < 0 || g >= CKFS_NGEN)
        return ckpt_err_set(err, CKPT_E_INVALID, "no generated file %d", g);
    struct slot_arg a = {G, g};
    return ckfs_lazy_size(&G->slot[g], G->lock, slot_ops(g), &a, size, err);
}

int ckfs_gen_acquire(ckfs_gens *G, int g, ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    if (g < 0 || g >= CKFS_NGEN)
        return ckpt_err_set(err, CKPT_E_INVALID, "no generated file %d", g);
    struct slot_arg a = {G, g};
    return ckfs_lazy_get(&G->slot[g], G->lock, slot_ops(g), &a, out, size, err);
}

int ckfs_gen_release(ckfs_gens *G, int g)
{
    return ckfs_lazy_put(&G->slot[g], G->lock) && slot_format(g) >= 0;
}

void ckfs_gen_drop(ckfs_gens *G, int g)
{
    ckfs_lazy_drop(&G->slot[g], G->lock);
}

void ckfs_gens_free(ckfs_gens *G)
{
    for (int g = 0; g < CKFS_NGEN; g++)
        ckfs_lazy_free(&G->slot[g]);
    ckpt_graph_close(G->doc);
    ckpt_graph_close(G->objects);
    G->doc = G->objects = NULL;
    ckfs_once_reset(&G->doc_opened);
    ckpt_st_free(&G->st);
    ckfs_once_reset(&G->st_built);
}
