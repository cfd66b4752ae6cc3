/* metagraph.c - see metagraph.h. */
#include "metagraph.h"

#include "archive.h"
#include "bytesrc_local.h"
#include "mapfile.h"

#include "graphdot.h"
#include "resolve.h"
#include "shape.h"
#include "resolve_local.h"
#include "tstring.h"

#include "meta_graph.pb-c.h"
#include "saved_model.pb-c.h"
#include "trackable_object_graph.pb-c.h"
#include "variable.pb-c.h"
#include "wkt_wrappers.pb-c.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

/* Field numbers: SavedModel.meta_graphs = 2, MetaGraphDef.graph_def = 2. */
enum { SAVED_MODEL_META_GRAPHS = 2, META_GRAPH_GRAPH_DEF = 2 };

struct ckpt_graph_doc {
    ckpt_graph_kind kind;
    const uint8_t *p;
    size_t n;
    void *map; /* mmap'd file, or NULL */
    size_t map_len;
    uint8_t *owned; /* malloc'd bytes p points into, or NULL */
};

/* Types a google.protobuf.Any inside these documents can be expanded to. */
static const ProtobufCMessageDescriptor *const any_roots[] = {
    &tensorflow__saved_model__descriptor,
    &tensorflow__trackable_object_graph__descriptor,
    &tensorflow__variable_def__descriptor,
    &google__protobuf__bool_value__descriptor,
};
static const ckpt_pbtext_opts print_opts = {any_roots, sizeof any_roots / sizeof any_roots[0]};

int ckpt_graph_format_parse(const char *s)
{
    static const char *const names[] = {
        [CKPT_GRAPH_PBTXT] = "pbtxt",
        [CKPT_GRAPH_META] = "meta",
        [CKPT_GRAPH_DOT] = "dot",
        [CKPT_GRAPH_OBJECTS] = "objects",
        [CKPT_GRAPH_SAVEDMODEL] = "savedmodel",
    };
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int new_doc(ckpt_graph_kind kind, ckpt_graph_doc **out, ckpt_err *err)
{
    ckpt_graph_doc *d = calloc(1, sizeof *d);
    if (!d)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    d->kind = kind;
    *out = d;
    return 0;
}

int ckpt_graph_open_file(const ckpt_bytesrc *src, const char *path, ckpt_graph_kind kind,
                         ckpt_graph_doc **out, ckpt_err *err)
{
    void *map;
    size_t len;
    int r0 = ckpt_map_file_src(src, path, &map, &len, err);
    if (r0)
        return r0;
    int r = new_doc(kind, out, err);
    if (r) {
        if (map)
            munmap(map, len);
        return r;
    }
    (*out)->map = map;
    (*out)->map_len = len;
    (*out)->p = map;
    (*out)->n = len;
    return 0;
}

int ckpt_graph_open_objects(ckpt_checkpoint *c, ckpt_graph_doc **out, ckpt_err *err)
{
    size_t idx;
    if (ckpt_find(c, OBJECT_GRAPH_KEY, strlen(OBJECT_GRAPH_KEY), &idx))
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: no %s (not a TF2 object-based checkpoint)",
                            ckpt_prefix(c), OBJECT_GRAPH_KEY);
    ckpt_var v;
    ckpt_get(c, idx, &v);
    uint64_t count = 0;
    if (v.dtype != 7 /* DT_STRING */ || ckpt_shape_numel(v.rank, v.dims, &count) || count != 1)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%s\" is not a single string (TF writes a scalar)",
                            ckpt_prefix(c), OBJECT_GRAPH_KEY);
    uint8_t *buf;
    ckpt_str *elems = NULL;
    uint64_t n_el;
    /* Both string checksums are verified on the way. */
    int r = ckpt_read_strings(c, idx, &buf, &elems, &n_el, err);
    if (r)
        return r;
    const uint8_t *p = elems[0].ptr;
    size_t n = (size_t)elems[0].len;
    free(elems);
    if ((r = new_doc(CKPT_GRAPH_KIND_OBJECTS, out, err))) {
        free(buf);
        return r;
    }
    (*out)->owned = buf;
    (*out)->p = p;
    (*out)->n = n;
    return 0;
}

/* ckpt_graph_open_source for a URL: the remote resolver says where the graph is. */
static int open_remote(const char *source, ckpt_graph_format fmt, ckpt_graph_doc **out,
                       ckpt_err *err)
{
    ckpt_source s;
    int r = ckpt_source_resolve(source, NULL, 0, &s, err);
    if (r)
        return r;
    if (fmt == CKPT_GRAPH_OBJECTS) {
        ckpt_checkpoint *c;
        r = ckpt_open_src(s.src, s.prefix, CKPT_OPEN_MISSING_SHARDS_OK, &c, err);
        if (!r)
            r = ckpt_graph_open_objects(c, out, err);
        ckpt_close(c);
    } else if (s.saved_model) {
        r = ckpt_graph_open_file(s.src, s.saved_model, CKPT_GRAPH_KIND_SAVEDMODEL, out, err);
    } else if (fmt == CKPT_GRAPH_SAVEDMODEL) {
        r = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: not a SavedModel (no saved_model.pb)", source);
    } else {
        char *meta = malloc(strlen(s.prefix) + sizeof ".meta");
        if (meta)
            sprintf(meta, "%s.meta", s.prefix);
        r = !meta ? ckpt_err_set(err, CKPT_E_NOMEM, "out of memory")
            : ckpt_bytesrc_stat(s.src, meta, NULL)
                ? ckpt_err_set(err, CKPT_E_NOTFOUND,
                               "%s: the checkpoint has no graph (%s is absent)", source, meta)
                : ckpt_graph_open_file(s.src, meta, CKPT_GRAPH_KIND_META, out, err);
        free(meta);
    }
    ckpt_source_free(&s);
    return r;
}

int ckpt_graph_open_source(const char *source, ckpt_graph_format fmt, ckpt_graph_doc **out,
                           ckpt_err *err)
{
    if (!ckpt_name_is_local(source) || ckpt_archive_split(source, NULL, NULL))
        return open_remote(source, fmt, out, err);
    int r;
    char *sm = NULL;
    /* SavedModel: the file itself, or a directory holding saved_model.pb. */
    if (ckpt_ends_with(source, "saved_model.pb") && ckpt_is_regular_file(source)) {
        sm = strdup(source);
    } else if (ckpt_is_directory(source)) {
        size_t n = strlen(source) + sizeof "/saved_model.pb";
        sm = malloc(n);
        if (sm) {
            snprintf(sm, n, "%s/saved_model.pb", source);
            if (!ckpt_is_regular_file(sm)) {
                free(sm);
                sm = NULL;
            }
        }
    }
    if (fmt == CKPT_GRAPH_OBJECTS) {
        char *ck = NULL;
        if (sm) {
            /* The SavedModel's variables live in DIR/variables/variables. */
            char *slash = strrchr(sm, '/');
            size_t dl = slash ? (size_t)(slash - sm) : 0;
            size_t n = dl + sizeof "./variables/variables";
            ck = malloc(n);
            if (ck)
                snprintf(ck, n, "%.*s%svariables/variables", (int)dl, slash ? sm : "",
                         slash ? "/" : "");
            free(sm);
            if (!ck)
                return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        }
        ckpt_checkpoint *c;
        r = ckpt_open(ck ? ck : source, CKPT_OPEN_MISSING_SHARDS_OK, &c, err);
        free(ck);
        if (r)
            return r;
        r = ckpt_graph_open_objects(c, out, err);
        ckpt_close(c);
        return r;
    }
    if (sm) {
        r = ckpt_graph_open_file(NULL, sm, CKPT_GRAPH_KIND_SAVEDMODEL, out, err);
        free(sm);
        return r;
    }
    if (fmt == CKPT_GRAPH_SAVEDMODEL)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: not a SavedModel (no saved_model.pb)",
                            source);
    if (ckpt_ends_with(source, ".meta") && ckpt_is_regular_file(source))
        return ckpt_graph_open_file(NULL, source, CKPT_GRAPH_KIND_META, out, err);
    char *meta;
    if ((r = ckpt_resolve_meta(source, &meta, err)))
        return r;
    r = ckpt_graph_open_file(NULL, meta, CKPT_GRAPH_KIND_META, out, err);
    free(meta);
    return r;
}

int ckpt_graph_has(const ckpt_graph_doc *d, ckpt_graph_format fmt)
{
    switch (fmt) {
    case CKPT_GRAPH_PBTXT:
    case CKPT_GRAPH_META:
    case CKPT_GRAPH_DOT:
        return d->kind == CKPT_GRAPH_KIND_META || d->kind == CKPT_GRAPH_KIND_SAVEDMODEL;
    case CKPT_GRAPH_OBJECTS: return d->kind == CKPT_GRAPH_KIND_OBJECTS;
    case CKPT_GRAPH_SAVEDMODEL: return d->kind == CKPT_GRAPH_KIND_SAVEDMODEL;
    }
    return 0;
}

int ckpt_graph_render(const ckpt_graph_doc *d, ckpt_graph_format fmt, ckpt_write_fn write,
                      void *ctx, ckpt_err *err)
{
    if (!ckpt_graph_has(d, fmt))
        return ckpt_err_set(err, CKPT_E_INVALID, "this document has no such rendering");
    ckpt_pb_seg root = {d->p, d->n};
    const ProtobufCMessageDescriptor *desc;
    if (fmt == CKPT_GRAPH_OBJECTS)
        desc = &tensorflow__trackable_object_graph__descriptor;
    else if (fmt == CKPT_GRAPH_SAVEDMODEL)
        desc = &tensorflow__saved_model__descriptor;
    else
        desc = NULL;
    if (desc)
        return ckpt_pbtext_print(desc, &root, d->n ? 1 : 0, &print_opts, write, ctx, err);

    /* The MetaGraphDef: the file itself, or the SavedModel's first one. */
    ckpt_pb_seg *meta = NULL, *graph = NULL;
    size_t nmeta = 0, ngraph = 0;
    int r;
    if (d->kind == CKPT_GRAPH_KIND_SAVEDMODEL) {
        if ((r = ckpt_pb_field_segs(&root, d->n ? 1 : 0, SAVED_MODEL_META_GRAPHS, 0, &meta, &nmeta,
                                    err)))
            return r;
    } else {
        meta = malloc(sizeof *meta);
        if (!meta)
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        meta[0] = root;
        nmeta = d->n ? 1 : 0;
    }
    if (fmt == CKPT_GRAPH_META) {
        r = ckpt_pbtext_print(&tensorflow__meta_graph_def__descriptor, meta, nmeta, &print_opts,
                              write, ctx, err);
    } else if (!(r = ckpt_pb_field_segs(meta, nmeta, META_GRAPH_GRAPH_DEF, -1, &graph, &ngraph,
                                        err))) {
        if (fmt == CKPT_GRAPH_DOT)
            r = ckpt_graphdot_render(graph, ngraph, write, ctx, err);
        else
            r = ckpt_pbtext_print(&tensorflow__graph_def__descriptor, graph, ngraph, &print_opts,
                                  write, ctx, err);
    }
    free(graph);
    free(meta);
    return r;
}

/* Let the kernel take back the file pages a render touched: between renders a mapped 1 GB
 * .meta should not count against the daemon (other renders simply fault them in again). */
static void drop_pages(const ckpt_graph_doc *d)
{
    if (d->map)
        madvise(d->map, d->map_len, MADV_DONTNEED);
}

int ckpt_graph_size(const ckpt_graph_doc *d, ckpt_graph_format fmt, uint64_t *size, ckpt_err *err)
{
    uint64_t n = 0;
    int r = ckpt_graph_render(d, fmt, ckpt_pbtext_count_sink, &n, err);
    drop_pages(d);
    if (r)
        return r < 0 ? r : ckpt_err_set(err, CKPT_E_IO, "counting sink stopped");
    *size = n;
    return 0;
}

typedef struct fd_count {
    int fd;
    uint64_t n;
} fd_count;

static int fd_count_sink(void *ctx, const char *p, size_t n)
{
    fd_count *fc = ctx;
    int r = ckpt_pbtext_fd_sink(&fc->fd, p, n);
    if (!r)
        fc->n += n;
    return r;
}

int ckpt_graph_render_fd(const ckpt_graph_doc *d, ckpt_graph_format fmt, int fd, uint64_t *written,
                         ckpt_err *err)
{
    fd_count fc = {fd, 0};
    int r = ckpt_graph_render(d, fmt, fd_count_sink, &fc, err);
    drop_pages(d);
    if (written)
        *written = fc.n;
    if (r > 0)
        r = ckpt_err_set(err, CKPT_E_IO, "output stopped");
    return r;
}

void ckpt_graph_close(ckpt_graph_doc *d)
{
    if (!d)
        return;
    if (d->map)
        munmap(d->map, d->map_len);
    free(d->owned);
    free(d);
}
