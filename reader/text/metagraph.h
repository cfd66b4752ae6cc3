/*
 * metagraph.h - the graph documents of a checkpoint or SavedModel, rendered as text on demand.
 *
 * A ckpt_graph_doc is one serialized root message kept as bytes, never unpacked: a PREFIX.meta
 * (MetaGraphDef) or saved_model.pb (SavedModel) mmap'd read-only, or the TrackableObjectGraph
 * held in a checkpoint's `_CHECKPOINTABLE_OBJECT_GRAPH` string tensor (read into memory; it is
 * small). Rendering walks those bytes (pbtext.h, graphdot.h) and streams the text to a sink,
 * so a 1 GB graph needs the mapping (file-backed, reclaimable) plus O(nesting) memory.
 *
 * Formats (the text of each is exactly what TF gives, see pbtext.h):
 *   CKPT_GRAPH_PBTXT      text_format.MessageToString(meta_graph_def.graph_def)
 *   CKPT_GRAPH_META       MessageToString(meta_graph_def)
 *   CKPT_GRAPH_DOT        the GraphDef as Graphviz DOT (graphdot.h)
 *   CKPT_GRAPH_OBJECTS    MessageToString(TrackableObjectGraph)
 *   CKPT_GRAPH_SAVEDMODEL MessageToString(saved_model)
 * For a SavedModel, PBTXT / META / DOT use meta_graphs[0] (as `saved_model_cli` shows the first
 * tag set). A doc serves only the formats of its kind (ckpt_graph_has).
 *
 * How the FUSE daemon uses it (all calls thread-safe on a shared doc, nothing done at mount):
 *   at first lookup/getattr of graph.pbtxt:
 *       ckpt_graph_open_file(ckpt_bytesrc_of(c), ckpt_meta_path(c), CKPT_GRAPH_KIND_META,
 *                            &doc, &err);
 *                                                   // mmap, no parsing (a SavedModel mount:
 *                                                   // saved_model.pb, CKPT_GRAPH_KIND_SAVEDMODEL)
 *       ckpt_graph_size(doc, CKPT_GRAPH_PBTXT, &size, &err);  // full pass, validates,
 *                                                             // keeps no text
 *   at open:
 *       ckpt_graph_render_fd(doc, CKPT_GRAPH_PBTXT, fd, &n, &err);  // once, then pread(fd)
 *   object_graph.pbtxt likewise from ckpt_graph_open_objects(c, &doc, &err), which returns
 *   CKPT_E_NOTFOUND when the checkpoint has no object graph (a TF1 checkpoint: no file).
 * Rendering is deterministic, so size and later renders always agree.
 */
#ifndef CKPT_METAGRAPH_H
#define CKPT_METAGRAPH_H

#include "checkpoint.h"
#include "err.h"
#include "pbtext.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ckpt_graph_format {
    CKPT_GRAPH_PBTXT,
    CKPT_GRAPH_META,
    CKPT_GRAPH_DOT,
    CKPT_GRAPH_OBJECTS,
    CKPT_GRAPH_SAVEDMODEL,
} ckpt_graph_format;

/* What a document holds. */
typedef enum ckpt_graph_kind {
    CKPT_GRAPH_KIND_META,       /* a MetaGraphDef (PREFIX.meta) */
    CKPT_GRAPH_KIND_SAVEDMODEL, /* a SavedModel (saved_model.pb) */
    CKPT_GRAPH_KIND_OBJECTS,    /* a TrackableObjectGraph */
} ckpt_graph_kind;

typedef struct ckpt_graph_doc ckpt_graph_doc;

/* Parse a --format / file-name word ("pbtxt", "meta", "dot", "objects", "savedmodel");
 * -1 if unknown. */
int ckpt_graph_format_parse(const char *s);

/* Map the file at path (kind META or SAVEDMODEL) without parsing it, read through src (the
 * checkpoint's byte source, so a remote one's options and cache apply; NULL: by the path). */
int ckpt_graph_open_file(const ckpt_bytesrc *src, const char *path, ckpt_graph_kind kind,
                         ckpt_graph_doc **out, ckpt_err *err);

/* The TrackableObjectGraph of checkpoint c (reads the _CHECKPOINTABLE_OBJECT_GRAPH tensor,
 * checksum verified). CKPT_E_NOTFOUND if the checkpoint has none. */
int ckpt_graph_open_objects(ckpt_checkpoint *c, ckpt_graph_doc **out, ckpt_err *err);

/*
 * The document a user's SOURCE names for fmt, the way `ckptfs graph` resolves it:
 * a saved_model.pb file, or a directory holding one, is a SavedModel (OBJECTS then reads
 * DIR/variables/variables); a .meta file is a MetaGraphDef; anything else is resolved as a
 * checkpoint (resolve_local.h) and gives PREFIX.meta (OBJECTS: the checkpoint's object graph).
 */
int ckpt_graph_open_source(const char *source, ckpt_graph_format fmt, ckpt_graph_doc **out,
                           ckpt_err *err);

/* Whether the document can be rendered in fmt. */
int ckpt_graph_has(const ckpt_graph_doc *d, ckpt_graph_format fmt);

/* Stream the text through write(ctx, ...) (sink contract of textbuf.h). Returns 0, a negative
 * CKPT_E_* (CKPT_E_INVALID for a format the doc lacks), or a sink's positive stop value. */
int ckpt_graph_render(const ckpt_graph_doc *d, ckpt_graph_format fmt, ckpt_write_fn write,
                      void *ctx, ckpt_err *err);

/* Byte size of the text, computed without keeping it. Fails on malformed input, so a size
 * that was given means the text renders completely. */
int ckpt_graph_size(const ckpt_graph_doc *d, ckpt_graph_format fmt, uint64_t *size, ckpt_err *err);

/* Write the whole text to fd (a memfd or temp file) at its current position; *written gets
 * the byte count (may be NULL). */
int ckpt_graph_render_fd(const ckpt_graph_doc *d, ckpt_graph_format fmt, int fd, uint64_t *written,
                         ckpt_err *err);

/* Unmap / free. NULL is fine. */
void ckpt_graph_close(ckpt_graph_doc *d);

#endif
