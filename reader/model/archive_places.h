/*
 * archive_places.h - what an archive (io/archive.h) holds in checkpoint terms: the paths
 * inside it of its checkpoints, training folders and SavedModels, and what the archive alone
 * stands for. The archive source knows members; this knows which of them make a checkpoint.
 */
#ifndef CKPT_ARCHIVE_PLACES_H
#define CKPT_ARCHIVE_PLACES_H

#include "archive.h"

#include <stddef.h>

/*
 * What the archive alone stands for: the path inside it ("" for its root) of the one
 * checkpoint, training folder or SavedModel it holds (*inner, malloc'd). When it holds
 * several, CKPT_E_INVALID with every one named as ARCHIVE//PATH; none, CKPT_E_NOTFOUND.
 */
int ckpt_archive_find(const ckpt_bytesrc *src, char **inner, ckpt_err *err);

/*
 * Every checkpoint, training folder and SavedModel the archive holds, as paths inside it
 * (*places, sorted, each malloc'd; "" for its root), by the rules of ckpt_archive_find.
 * Free with ckpt_free_paths (resolve_local.h).
 */
int ckpt_archive_places(const ckpt_bytesrc *src, char ***places, size_t *n, ckpt_err *err);

#endif
