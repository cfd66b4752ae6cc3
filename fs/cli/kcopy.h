/*
 * kcopy.h - appending a run of one file to another inside the kernel, checked as written.
 *
 * `cp` copies with copy_file_range(2): the bytes go from page cache to page cache without
 * passing through the process. An export that reads each piece into its own memory and writes
 * it back pays two copies more, and on this project's test machines those copies cost five
 * times the kernel's own (docs/PERFORMANCE.md, export). A tensor stored as itself in a local
 * shard can be copied the kernel's way; its checksum is then computed on the bytes as they now
 * stand in the output, through a read-only mapping, so what is verified is what was written.
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
 * them; out_fd must be open for reading too), and set *crc to the CRC-32C of the n bytes read
 * back from out_fd. *done counts the bytes appended. 0, CLI_KCOPY_*, or -1 with errno when
 * the copy or the read-back failed.
 */
int cli_kcopy(int in_fd, uint64_t in_off, int out_fd, uint64_t n, uint32_t *crc, uint64_t *done);

#endif
