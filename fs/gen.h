/*
 * gen.h - the generated files at the root of a checkpoint's view.
 *
 * Each has a fixed slot, so its inode number (2 + slot, tree.h) is the same on every mount:
 *   variables.tsv       always (index data only)
 *   graph.pbtxt         the GraphDef of PREFIX.meta (or of a SavedModel's first MetaGraphDef)
 *   meta_graph.pbtxt    the whole MetaGraphDef
 *   graph.dot           the GraphDef as Graphviz DOT
 *   object_graph.pbtxt  the `_CHECKPOINTABLE_OBJECT_GRAPH` tensor as a TrackableObjectGraph
 *   saved_model.pbtxt   a SavedModel's saved_model.pb as text
 *   signatures.txt      its signatures as `saved_model_cli show --all` prints them
 * A slot is present only when its source exists (decided from the index and file names, no
 * data read). Nothing is rendered at mount: a file's size is computed at its first lookup or
 * stat (a full rendering pass that keeps no text), its text at its first open. Graph texts go
 * to an unlinked temporary file (page cache, not daemon memory), the others stay in memory.
 */
#ifndef CKPTFS_GEN_H
#define CKPTFS_GEN_H

#include "checkpoint.h"
#include "view.h"

#include <stdint.h>

enum ckfs_gen_slot {
    CKFS_GEN_TSV,
    CKFS_GEN_GRAPH,
    CKFS_GEN_META,
    CKFS_GEN_DOT,
    CKFS_GEN_OBJECTS,
    CKFS_GEN_SAVEDMODEL,
    CKFS_GEN_SIGNATURES,
    CKFS_NGEN
};

/* Names of the slots, in slot order. */
extern const char *const ckfs_gen_names[CKFS_NGEN];

/* names[g] = the name of each slot checkpoint c has (sm_path: its saved_model.pb, or NULL),
 * NULL for the others. Reads no data. */
void ckfs_gen_slots(const ckpt_checkpoint *c, const char *sm_path,
                    const char *names[CKFS_NGEN]);

/* The size of slot g's text if already known (1 and *size), else 0; never renders. */
int ckfs_gen_size_known(ckfs_view *v, int g, uint64_t *size);

/* The size of slot g's text, computing it on first use. 0, or a CKPT_E_* code (err). */
int ckfs_gen_size(ckfs_view *v, int g, uint64_t *size, ckpt_err *err);

/*
 * The text of slot g, rendering it on first use: *data (kept in memory) or *fd (a read-only
 * descriptor to pread from; data NULL), and its size. *data stays valid until the view is
 * freed; *fd until the matching ckfs_gen_put (each successful call with *fd >= 0 needs one).
 */
int ckfs_gen_content(ckfs_view *v, int g, const char **data, int *fd, uint64_t *size,
                     ckpt_err *err);

/* An open file of slot g no longer reads its descriptor. Returns 1 when none does now (the
 * caller may then pass the slot to ckfs_gen_drop later), else 0. */
int ckfs_gen_put(ckfs_view *v, int g);

/* Close slot g's rendered-text descriptor if no open file reads it (the size stays known;
 * the next open renders the text again). Keeps a mount's descriptors bounded. */
void ckfs_gen_drop(ckfs_view *v, int g);

/* Release a slot's text, descriptor and document. */
void ckfs_gen_free(ckfs_gen *gen);

#endif
