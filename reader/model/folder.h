/*
 * folder.h - a training folder: the checkpoints a directory holds.
 *
 * Training jobs leave a directory with a `checkpoint` state file (text CheckpointState) and
 * several prefixes (model.ckpt-1000.index, ...), or just the prefixes. Listing one reads the
 * state file and the directory, never an index: each checkpoint is opened only when used.
 * The folder may be anywhere a byte source reaches: a local directory, a bucket's folder
 * (listed), or a web server's folder (not listable: the state file's names are probed).
 */
#ifndef CKPT_FOLDER_H
#define CKPT_FOLDER_H

#include "bytesrc.h"
#include "err.h"

#include <stddef.h>

typedef struct ckpt_folder_item {
    char *name;        /* the prefix's base name, e.g. "model.ckpt-1000" (a sharded V1 save: the
                          name before "-?????-of-NNNNN") */
    char *prefix;      /* what to give to ckpt_open: DIR/name, or DIR/pattern for sharded V1 */
    int known;         /* id below is known: a sharded V1 pattern names no one file */
    ckpt_file_id id;   /* its .index (a V1 save: its file) as listed */
    uint64_t bytes;    /* .index (or V1 file) and the data shards listed for it */
    int complete;      /* its data shards are all there (a source that cannot list: assumed) */
    int v1;            /* a V1 save (no .index: id is its file's) */
    char *saved_model; /* a SavedModel's saved_model.pb (an archive's place), else NULL */
    char *folder;      /* an archive's place that is a training folder: its name, which
                          ckpt_folder_scan_src lists (prefix is its latest), else NULL */
} ckpt_folder_item;

typedef struct ckpt_folder {
    ckpt_folder_item *items; /* sorted by name, bytewise */
    size_t n;
    long latest; /* index of the checkpoint the state file names, or -1 */
    int places;  /* the places of an archive (below), not a training run's saves */
} ckpt_folder;

/*
 * List the checkpoints of dir through src: every PREFIX with a PREFIX.index there, plus V1
 * files the state file names; where src cannot list (HTTP), the checkpoints the state file
 * names whose files are there. A state-file path written on another machine (absolute,
 * missing here) falls back to the file of the same base name in dir. A checkpoint is complete
 * when every data shard of the first shard count seen is listed (TF writes shards before it
 * renames the .index in). CKPT_E_NOTFOUND if dir holds no checkpoint.
 *
 * An archive alone (archive.h: dir is its name, no path inside) that holds several
 * checkpoints, training folders and SavedModels (ckpt_archive_places) is their folder: one
 * item per place, named by its path inside the archive (docs/archives.md, "Several
 * checkpoints": the leading folder they all share left out, then '%' as %25, '/' as %2F,
 * the root as "."), whose prefix is what that path resolves to (a training folder: its
 * latest; a SavedModel: its variables, saved_model set); places set, latest -1.
 */
int ckpt_folder_scan_src(const ckpt_bytesrc *src, const char *dir, ckpt_folder *out, ckpt_err *err);

/* ckpt_folder_scan_src of a local directory. */
int ckpt_folder_scan(const char *dir, ckpt_folder *out, ckpt_err *err);

/* Release what ckpt_folder_scan filled in. */
void ckpt_folder_free(ckpt_folder *f);

/* Non-zero if the index file index_path, read through src, has been written to its end (it
 * ends with the table footer); a running job's index is incomplete until then, and 0 also
 * when it cannot be opened. */
int ckpt_folder_index_complete(const ckpt_bytesrc *src, const char *index_path);

/* Non-zero if dir is a training folder: a state file, or more than one *.index. */
int ckpt_is_training_folder(const char *dir);

#endif
