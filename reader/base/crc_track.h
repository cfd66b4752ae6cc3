/*
 * crc_track.h - the checksum of a file read in pieces that arrive in any order.
 *
 * The kernel reads a file ahead of its reader in several requests at once, which the daemon's
 * threads finish in any order. Each piece's CRC is computed on its own (outside any lock) and
 * handed here; the pieces that continue the covered prefix [0, pos) are joined into its CRC
 * (ckpt_crc32c_combine), the others wait in a short sorted list until the gap before them
 * fills. When the prefix reaches the whole length, the CRC is compared with the stored one.
 * A piece that overlaps what is known, or one more than the list holds, ends the tracking:
 * the file is then read unverified, as a reader that skips around always is.
 */
#ifndef CKPT_CRC_TRACK_H
#define CKPT_CRC_TRACK_H

#include <stdint.h>

/* Pieces waiting for the gap before them: more than the kernel keeps in flight per file. */
#define CKPT_CRC_TRACK_PIECES 32

typedef struct ckpt_crc_track {
    uint64_t total; /* the file's length */
    uint64_t pos;   /* [0, pos) is covered; UINT64_MAX once tracking ended */
    uint32_t crc;   /* CRC-32C of [0, pos) */
    uint32_t want;  /* the CRC the whole must have */
    unsigned n;     /* waiting pieces, by offset, all past pos */
    struct {
        uint64_t off, len;
        uint32_t crc;
    } piece[CKPT_CRC_TRACK_PIECES];
} ckpt_crc_track;

/* What adding a piece found. */
enum ckpt_crc_track_result {
    CKPT_TRACK_PENDING,  /* not all of the file is covered yet (or tracking ended) */
    CKPT_TRACK_MATCH,    /* this piece completed the file and the CRCs match */
    CKPT_TRACK_MISMATCH, /* this piece completed the file and the CRCs differ */
};

/* Start tracking a file of total bytes whose whole CRC-32C must be want. */
void ckpt_crc_track_init(ckpt_crc_track *t, uint64_t total, uint32_t want);

/* Stop tracking: later pieces are ignored. */
void ckpt_crc_track_stop(ckpt_crc_track *t);

/* Whether tracking ended (stopped, completed, or given up on an overlap). */
int ckpt_crc_track_ended(const ckpt_crc_track *t);

/* Add the piece [off, off + len) whose own CRC-32C is crc. A piece wholly inside the covered
 * prefix (a re-read) changes nothing. */
enum ckpt_crc_track_result ckpt_crc_track_add(ckpt_crc_track *t, uint64_t off, uint64_t len,
                                              uint32_t crc);

#endif
