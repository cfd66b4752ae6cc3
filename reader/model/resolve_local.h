/*
 * resolve_local.h - resolving what the user named to a checkpoint prefix.
 *
 * TensorFlow names a checkpoint by a prefix that is no file. Users paste whatever they see in
 * `ls`: the prefix, PREFIX.index, PREFIX.meta, PREFIX.data-00000-of-00002, or the directory that
 * holds the checkpoints. All of them resolve here, the way tf.train.load_checkpoint would.
 */
#ifndef CKPT_RESOLVE_LOCAL_H
#define CKPT_RESOLVE_LOCAL_H

#include "err.h"

#include <stddef.h>

struct ckpt_bytesrc;

/* How a sharded V1 save names its files in the state file: BASE-?????-of-NNNNN. */
#define CKPT_V1_SHARD_PATTERN "-\?\?\?\?\?-of-"
/* The length of "-SSSSS-of-NNNNN", the suffix of one file of a sharded V1 save. */
#define CKPT_V1_SUFFIX_LEN 15

/* The state file a training folder keeps: DIR/checkpoint. */
#define CKPT_STATE_FILE "checkpoint"

/* name with a sharded V1 pattern's "?????" replaced by shard 0's number: the file to look at
 * first (malloc'd copy; NULL when out of memory). Names without the pattern are copied. */
char *ckpt_v1_first_file(const char *name);

/*
 * Number of files of the V1 set path belongs to ("BASE-00000-of-00003" gives 3, *base_len the
 * length of BASE); 1 and the whole length when path has no such suffix.
 */
int ckpt_v1_file_count(const char *path, size_t *base_len);

/* Length of PREFIX when name is "PREFIX.index" with a non-empty PREFIX, else 0. */
size_t ckpt_index_prefix_len(const char *name);

/* "PREFIX.index", the file that makes PREFIX a V2 checkpoint (malloc'd; NULL when out of
 * memory). Everyone who looks for a checkpoint's index builds its name with this. */
char *ckpt_index_path(const char *prefix);

/* "DIR/NAME" (malloc'd; NULL when out of memory). */
char *ckpt_path_join(const char *dir, const char *name);

/*
 * Resolve source to a V2 prefix (PREFIX.index exists) or, failing that, to the path of a V1
 * checkpoint candidate (a file, or a "-?????-of-NNNNN" pattern whose shard 0 is a file; the
 * caller checks its contents), in a new malloc'd string.
 * - "P", "P.index", "P.meta", "P.data-NNNNN-of-MMMMM" give "P" when P.index exists;
 * - "P" or "P.meta" give "P" when P is a (V1) file;
 * - a directory with a `checkpoint` state file gives its model_checkpoint_path (relative paths
 *   joined to the directory; an absolute path written on another machine falls back to the
 *   file of the same name in the directory);
 * - a SavedModel directory gives DIR/variables/variables, also when that checkpoint does not
 *   exist (a model of constants only: see ckpt_savedmodel_without_variables).
 * Errors name the source and say what was looked for.
 */
int ckpt_resolve_prefix(const char *source, char **prefix, ckpt_err *err);

/*
 * The MetaGraphDef file of the checkpoint source names, as the mount finds it: PREFIX.meta, or
 * for a sharded V1 save (BASE-00000-of-00002, BASE-?????-of-00002) BASE.meta. *meta is
 * malloc'd; CKPT_E_NOTFOUND, naming the file looked for, when the checkpoint has none.
 */
int ckpt_resolve_meta(const char *source, char **meta, ckpt_err *err);

/*
 * Whether prefix is DIR/variables/variables of a SavedModel DIR (DIR/saved_model.pb a file)
 * that has no such checkpoint: tf.saved_model.save of a model without variables writes none,
 * and TensorFlow loads it with nothing to restore. Such a prefix opens as no variables.
 */
int ckpt_savedmodel_without_variables(const char *prefix);

/* ckpt_savedmodel_without_variables with the files asked of byte source src. */
int ckpt_savedmodel_without_variables_src(const struct ckpt_bytesrc *src, const char *prefix);

/*
 * Parse the text of a `checkpoint` state file (a text-format CheckpointState): the value of
 * model_checkpoint_path into *latest (malloc'd, NULL if absent) and, when all is non-NULL, the
 * all_model_checkpoint_paths values into *all (malloc'd array of *nall malloc'd strings).
 */
int ckpt_parse_state_file(const char *text, size_t len, char **latest, char ***all, size_t *nall,
                          ckpt_err *err);

/* Read DIR/checkpoint and parse it as above; CKPT_E_NOTFOUND when there is no state file. */
int ckpt_read_state_file(const char *dir, char **latest, char ***all, size_t *nall, ckpt_err *err);

/* ckpt_read_state_file through byte source src (a remote folder's state file). */
int ckpt_read_state_src(const struct ckpt_bytesrc *src, const char *dir, char **latest, char ***all,
                        size_t *nall, ckpt_err *err);

/* Free what ckpt_parse_state_file returned in *all. */
void ckpt_free_paths(char **all, size_t nall);

#endif
