/*
 * pipewrite.h - writing a stream through a thread of its own, so that reading the next piece
 * (from the page cache or the network, checksummed) overlaps writing the last one. Two
 * buffers: the caller fills one while the writer thread empties the other. `ckptfs export`'s
 * output; the bytes written are exactly those handed over, in order.
 */
#ifndef CKPTFS_PIPEWRITE_H
#define CKPTFS_PIPEWRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_pw cli_pw;

/* Start a writer of fd with two buffers of bufsize bytes; 0, or -1 with errno. */
int cli_pw_start(int fd, size_t bufsize, cli_pw **out);

/* Where the next bytes go: a pointer into the buffer being filled and, in *room, how many
 * bytes fit there (waits for a free buffer). NULL, with errno, once a write has failed. */
uint8_t *cli_pw_space(cli_pw *w, size_t *room);

/* n bytes (at most *room) were put at the last cli_pw_space; a full buffer goes to the
 * writer. 0, or -1 with errno once a write has failed. */
int cli_pw_commit(cli_pw *w, size_t n);

/* Copy n bytes at p into the stream; 0, or -1 with errno. */
int cli_pw_write(cli_pw *w, const void *p, size_t n);

/* Wait until every byte handed over so far is written (the partial buffer too), so that the
 * caller may write to fd itself at its file position; 0, or -1 with the errno of the first
 * failed write. */
int cli_pw_flush(cli_pw *w);

/* Write what is left, stop the thread and free w; 0 when every byte was written, else -1 with
 * the errno of the first failed write. */
int cli_pw_finish(cli_pw *w);

#endif
