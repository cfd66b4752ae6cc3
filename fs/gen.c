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

/*
 * The document slot g renders (caller holds gen->mu): object_graph.pbtxt has its own; the
 * other graph slots share the view's one mapping of the .meta / saved_model.pb (documents are
 * safe to render from several threads).
 */
static int open_doc(ckfs_view *v, int g, const ckpt_graph_doc **out, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    int rc = 0;
    if (g == CKFS_GEN_OBJECTS) {
        if (!gen->doc)
            rc = ckpt_graph_open_objects(v->c, &gen->doc, err);
        *out = gen->doc;
        return rc;
    }
    pthread_mutex_lock(&v->doc_mu);
    if (!v->doc) {
        const char *meta = ckpt_meta_path(v->c);
        if (v->sm_path)
            rc = ckpt_graph_open_file(v->sm_path, CKPT_GRAPH_KIND_SAVEDMODEL, &v->doc, err);
        else if (!meta)
            rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s has no .meta", ckpt_prefix(v->c));
        else
            rc = ckpt_graph_open_file(meta, CKPT_GRAPH_KIND_META, &v->doc, err);
    }
    *out = v->doc;
    pthread_mutex_unlock(&v->doc_mu);
    return rc;
}

/* Publish a known size: readers that take no lock see size before state. */
static void set_sized(ckfs_gen *gen, uint64_t size)
{
    __atomic_store_n(&gen->size, size, __ATOMIC_RELAXED);
    __atomic_store_n(&gen->state, 1, __ATOMIC_RELEASE);
}

/* Render an in-memory slot into gen->data (caller holds gen->mu). */
static int render_memory(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    ckpt_strbuf b = {0};
    int rc;
    if (g == CKFS_GEN_TSV)
        rc = ckpt_render_tsv(v->c, &b) ? ckpt_err_set(err, CKPT_E_NOMEM, "out of memory") : 0;
    else
        rc = ckpt_render_signatures(v->sm_path, &b, err);
    if (rc == 0 && b.failed)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory rendering %s", ckfs_gen_names[g]);
    if (rc) {
        ckpt_strbuf_free(&b);
        return rc;
    }
    /* An empty text still needs a non-NULL pointer to count as rendered. */
    gen->data = b.data ? b.data : calloc(1, 1);
    if (!gen->data)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    set_sized(gen, b.len);
    return 0;
}

/* Size a graph slot without keeping its text (caller holds gen->mu). */
static int size_graph(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    const ckpt_graph_doc *doc;
    uint64_t size = 0;
    int rc = open_doc(v, g, &doc, err);
    if (rc == 0)
        rc = ckpt_graph_size(doc, (ckpt_graph_format)slot_format(g), &size, err);
    if (rc == 0)
        set_sized(gen, size);
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
        /* Only a bad source is final; a full disk or a lack of descriptors may pass. */
        if (ckfs_failure_is_permanent(rc))
            __atomic_store_n(&gen->state, -1, __ATOMIC_RELEASE);
        ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[g], v->prefix);
    }
    return rc;
}

int ckfs_gen_size_known(ckfs_view *v, int g, uint64_t *size)
{
    /* No lock: listing the root must not wait for a graph being sized or rendered. */
    ckfs_gen *gen = &v->gens[g];
    if (__atomic_load_n(&gen->state, __ATOMIC_ACQUIRE) != 1)
        return 0;
    *size = __atomic_load_n(&gen->size, __ATOMIC_RELAXED);
    return 1;
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
static int render_graph(ckfs_view *v, int g, ckpt_err *err)
{
    ckfs_gen *gen = &v->gens[g];
    const ckpt_graph_doc *doc;
    int rc = open_doc(v, g, &doc, err);
    if (rc)
        return rc;
    rc = ckpt_err_set(err, CKPT_E_IO, "no place for a temporary file");
    for (int k = 0; k < TEMP_PLACES; k++) {
        const char *dir = temp_place(k);
        if (k < TEMP_PLACES - 1 && !dir)
            continue;
        int fd = temp_fd(dir);
        if (fd < 0) {
            rc = ckpt_err_set(err, CKPT_E_IO, "no temporary file in %s: %s",
                              dir ? dir : "memory", strerror(errno));
            continue;
        }
        uint64_t written = 0;
        rc = ckpt_graph_render_fd(doc, (ckpt_graph_format)slot_format(g), fd, &written, err);
        if (rc == 0 && written != gen->size)
            rc = ckpt_err_set(err, CKPT_E_IO, "%s rendered %llu bytes, %llu announced",
                              ckfs_gen_names[g], (unsigned long long)written,
                              (unsigned long long)gen->size);
        if (rc == 0) {
            /* The text is read back through the kernel; nothing of it need stay here. */
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            gen->fd = fd;
            return 0;
        }
        close(fd);
        if (rc != CKPT_E_IO)
            return rc; /* the document itself failed: another place will not help */
        ckpt_err_prefix(err, "writing %s to %s", ckfs_gen_names[g], dir ? dir : "memory");
    }
    return rc;
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
            if (ckfs_failure_is_permanent(rc))
                __atomic_store_n(&gen->state, -1, __ATOMIC_RELEASE);
            ckpt_err_prefix(err, "%s of %s", ckfs_gen_names[g], v->prefix);
        }
    }
    if (rc == 0) {
        *data = gen->data;
        *fd = gen->fd;
        *size = gen->size;
        if (gen->fd >= 0)
            gen->opens++;
    }
    pthread_mutex_unlock(&gen->mu);
    return rc;
}

int ckfs_gen_put(ckfs_view *v, int g)
{
    ckfs_gen *gen = &v->gens[g];
    pthread_mutex_lock(&gen->mu);
    int idle = gen->opens > 0 && --gen->opens == 0;
    pthread_mutex_unlock(&gen->mu);
    return idle;
}

void ckfs_gen_drop(ckfs_view *v, int g)
{
    ckfs_gen *gen = &v->gens[g];
    pthread_mutex_lock(&gen->mu);
    if (gen->opens == 0 && gen->fd >= 0) {
        close(gen->fd);
        gen->fd = -1;
    }
    pthread_mutex_unlock(&gen->mu);
}

void ckfs_gen_free(ckfs_gen *gen)
{
    free(gen->data);
    gen->data = NULL;
    if (gen->fd >= 0)
        close(gen->fd);
    gen->fd = -1;
    gen->opens = 0;
    ckpt_graph_close(gen->doc);
    gen->doc = NULL;
    __atomic_store_n(&gen->state, 0, __ATOMIC_RELEASE);
    gen->size = 0;
}
