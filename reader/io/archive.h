/*
 * archive.h - checkpoints inside .zip, .tar and .tar.gz archives, local or at a URL, read in
 * place: an archive is one more byte source (bytesrc.h), layered over the local or remote
 * source that reads the archive file itself. docs/archives.md has the rules and the costs.
 *
 * A SOURCE names an archive by its file name's ending (.zip, .tar, .tar.gz, .tgz; any case),
 * and a path inside it after a double slash: "bert.zip//uncased/bert_model.ckpt". Which kind
 * it is comes from its bytes (a zip's end-of-directory record, gzip's magic, a tar header's
 * checksum), not from the name. Files of the archive source are named the same way, so every
 * name it hands out is itself a SOURCE any command takes.
 */
#ifndef CKPT_ARCHIVE_H
#define CKPT_ARCHIVE_H

#include "bytesrc.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct ckpt_net_opts;

/* The separator between an archive and a path inside it. */
#define CKPT_ARCHIVE_SEP "//"

/*
 * Whether source names an archive or something inside one. When it does and outer/inner
 * are not NULL, *outer is the archive's own name and *inner the path inside ("" for the
 * archive alone), both malloc'd. 1 or 0; -1 when out of memory.
 */
int ckpt_archive_split(const char *source, char **outer, char **inner);

/*
 * Open the archive named archive (a path or URL; opts: remote behaviour, and cache_dir= keeps
 * a .tar.gz's index) as a byte source. Reference-counted like the remote source: each file it
 * opens holds it; drop the creator's reference with ckpt_archive_release. Errors name the
 * archive and what is wrong with it.
 */
int ckpt_archive_open(const char *archive, const struct ckpt_net_opts *opts, ckpt_bytesrc **out,
                      ckpt_err *err);

/* Drop the creator's reference. NULL is fine. */
void ckpt_archive_release(ckpt_bytesrc *src);

/* Non-zero if src is an archive source. */
int ckpt_archive_is(const ckpt_bytesrc *src);

/* The number of members of archive source src (files and folders). */
size_t ckpt_archive_count(const ckpt_bytesrc *src);

/* Member i of src (0 <= i < ckpt_archive_count; sorted by name): its path inside the archive,
 * normalised (no leading "/" or "./", no trailing "/"), and in *is_dir whether it is a
 * folder. */
const char *ckpt_archive_member(const ckpt_bytesrc *src, size_t i, int *is_dir);

/* Non-zero if inner is the path of a member of src. */
int ckpt_archive_has(const ckpt_bytesrc *src, const char *inner);

/* The archive's own name, as opened (every name of src starts with it). */
const char *ckpt_archive_name(const ckpt_bytesrc *src);

/* Bytes decompressed so far by src's deflated members and .gz stream (a test's window on
 * the seek points at work). */
uint64_t ckpt_archive_inflated(const ckpt_bytesrc *src);

/* Bytes of the archive file read so far through src (local or remote). */
uint64_t ckpt_archive_bytes_read(const ckpt_bytesrc *src);

#endif
