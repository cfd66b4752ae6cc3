/*
 * kcopy.h - appending a run of one file to another inside the kernel, checked as written.
 *
 * `cp` copies with copy_file_range(2): the bytes go from page cache to page cache without
 * passing through the process. An export that reads each piece into its own memory and writes
 * it back pays two copies more, and on this project's test machines those copies cost five
 * times the kernel's own (docs/PERFORMANCE.md, export). A tensor stored as itself in a local
 * shard can be copied the kernel's way; its checksum is then computed on the bytes as they now
 * stand in the output, through a read-only mapping, so what is verified is what was written.
 *
 * The checksum of a piece costs about a third of its copy. The checker computes it on a
 * second thread while the caller copies the next piece, so the two overlap on a machine with
 * two processors; where no thread can be started it computes in the caller, as before.
 */
#ifndef CKPTFS_KCOPY_H
#define CKPTFS_KCOPY_H

#include <stdint.h>

/* What cli_kcopy found, besides 0 (copied). */
enum {
    CLI_KCOPY_UNSUPPORTED = 1, /* the kernel will not copy between these two; nothing written */
    CLI_KCOPY_SHORT = 2,       /* in_fd ended before n bytes: *done bytes were copied */
};

/*
 * Append n bytes of in_fd, from in_off, to out_fd at its file position (which moves past
 * them). *at is where they start in out_fd, *done counts the bytes appended. 0, CLI_KCOPY_*,
 * or -1 with errno when the copy failed.
 */
int cli_kcopy(int in_fd, uint64_t in_off, int out_fd, uint64_t n, uint64_t *at, uint64_t *done);

/* Checksums runs of one file (open for reading) as they stand in it, one run at a time. */
typedef struct cli_kcheck cli_kcheck;

/* Start a checker of fd; NULL when out of memory (errno set). */
cli_kcheck *cli_kcheck_start(int fd);

/* Hand over the n bytes at off; the previous run's result must have been taken. */
void cli_kcheck_put(cli_kcheck *k, uint64_t off, uint64_t n);

/* Wait for the CRC-32C of the run last put (only after a put, once): 0, or -1 with errno when
 * it could not be read. */
int cli_kcheck_take(cli_kcheck *k, uint32_t *crc);

/* Wait for the run in hand, if any, and free k (NULL is fine). */
void cli_kcheck_stop(cli_kcheck *k);

#endif
