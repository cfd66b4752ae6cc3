/*
 * objnames.h - the names a TF 2 checkpoint gives its variables besides their keys.
 *
 * A checkpoint written through the object graph (tf.train.Checkpoint, Keras, tf.Module)
 * stores every value under an object path plus an attribute ("model/layer-0/kernel" +
 * "/.ATTRIBUTES/VARIABLE_VALUE") and keeps, in its _CHECKPOINTABLE_OBJECT_GRAPH tensor, each
 * value's `full_name` (the name the model gave the variable: "regressor/encoder/kernel") and
 * which variables are an optimizer's slots of which (`slot_variables`). This module is the one
 * place that knows both:
 *   - the visible path of a key (ckpt_path): the key without that ending, the rule of
 *     docs/format.md "Names in a mount" (where the rest of the rule, the escapes, lives);
 *   - the full names, slot links and the by-name index (ckpt_names_*), read from the object
 *     graph on demand: nothing here runs at open but one flag per variable.
 */
#ifndef CKPT_OBJNAMES_H
#define CKPT_OBJNAMES_H

#include "checkpoint.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* The key of a TF 2 checkpoint's object graph, and the ending its variables' values carry. */
#define CKPT_OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"
#define CKPT_VALUE_SUFFIX "/.ATTRIBUTES/VARIABLE_VALUE"
#define CKPT_VALUE_SUFFIX_LEN (sizeof(CKPT_VALUE_SUFFIX) - 1)

/* Whether c holds an object graph (a TF 2 object-based checkpoint). */
int ckpt_has_object_graph(const ckpt_checkpoint *c);

/*
 * Variable i's visible path: its key, without the CKPT_VALUE_SUFFIX ending when c has an
 * object graph and no other key already is that shorter path. Returns the key's bytes (not
 * NUL-terminated at *len when shortened) and the path's length.
 */
const char *ckpt_path(const ckpt_checkpoint *c, size_t i, size_t *len);

/* The variable whose visible path is path[0..len): 0 and *idx, or CKPT_E_NOTFOUND. */
int ckpt_find_path(const ckpt_checkpoint *c, const char *path, size_t len, size_t *idx);

/* Mark, once after loading, which variables' paths drop the ending (checkpoint.c calls it). */
void ckpt__mark_paths(ckpt_checkpoint *c);

typedef struct ckpt_names ckpt_names;

/*
 * Read c's object graph and index what it says of each variable. *out is NULL (and 0
 * returned) when c has none; a damaged graph is CKPT_E_CORRUPT naming the checkpoint.
 * Memory: 8 bytes per variable plus the full names and the by-name index.
 */
int ckpt_names_load(ckpt_checkpoint *c, ckpt_names **out, ckpt_err *err);

/* Finds a key among nvars variables: 0 and *idx (< nvars), or non-zero. */
typedef int (*ckpt_key_find_fn)(void *ctx, const char *key, size_t len, size_t *idx);

/* ckpt_names_load's parser on its own: the serialized TrackableObjectGraph graph[0..len) of a
 * checkpoint of nvars variables whose keys find resolves; what names it in messages. For
 * tests and the fuzz target. */
int ckpt_names_parse(const uint8_t *graph, size_t len, size_t nvars, ckpt_key_find_fn find,
                     void *find_ctx, const char *what, ckpt_names **out, ckpt_err *err);

/* Free what ckpt_names_load made; NULL is fine. */
void ckpt_names_free(ckpt_names *n);

/* Variable i's full_name (NUL-terminated) and its length, or NULL when the graph gives none.
 * n may be NULL (then always NULL). */
const char *ckpt_names_full(const ckpt_names *n, size_t i, size_t *len);

/* Whether variable i is a slot variable: 1 with the variable it belongs to and the slot's
 * name ("m", "momentum"...), else 0. n may be NULL. */
int ckpt_names_slot(const ckpt_names *n, size_t i, size_t *orig, const char **slot_name);

/*
 * The by-name index: every variable that has a full_name, under a unique link name in
 * bytewise order. A full_name that k > 1 variables share is not used bare: they are
 * F~1 .. F~k, numbered in their keys' bytewise order (docs/format.md). Count, and entry j's
 * link name (NUL-terminated, with its length) and variable.
 */
size_t ckpt_names_links(const ckpt_names *n);
const char *ckpt_names_link(const ckpt_names *n, size_t j, size_t *len, size_t *var);

/* The variable whose full_name or by-name link name is s[0..len): 0 and *idx; CKPT_E_NOTFOUND;
 * or CKPT_E_INVALID when the full_name is shared (*count says by how many). */
int ckpt_names_find(const ckpt_names *n, const char *s, size_t len, size_t *idx, size_t *count);

#endif
