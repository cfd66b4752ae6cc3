/*
 * crc_track.c - see crc_track.h.
 */
#include "crc_track.h"

#include "crc32c.h"

#include <string.h>

void ckpt_crc_track_init(ckpt_crc_track *t, uint64_t total, uint32_t want)
{
    t->total = total;
    t->pos = 0;
    t->crc = 0;
    t->want = want;
    t->n = 0;
}

void ckpt_crc_track_stop(ckpt_crc_track *t)
{
    t->pos = UINT64_MAX;
    t->n = 0;
}

int ckpt_crc_track_ended(const ckpt_crc_track *t)
{
    return t->pos == UINT64_MAX;
}

/* Join the waiting pieces that now continue the prefix; an overlap ends the tracking. */
static void absorb(ckpt_crc_track *t)
{
    unsigned k = 0;
    while (k < t->n && t->piece[k].off == t->pos) {
        t->crc = ckpt_crc32c_combine(t->crc, t->piece[k].crc, t->piece[k].len);
        t->pos += t->piece[k].len;
        k++;
    }
    if (k < t->n && t->piece[k].off < t->pos) {
        ckpt_crc_track_stop(t);
        return;
    }
    memmove(t->piece, t->piece + k, (t->n - k) * sizeof t->piece[0]);
    t->n -= k;
}

/* Put [off, off + len) among the waiting pieces, in order; 0, or -1 when it overlaps one or
 * there is no room. */
static int insert(ckpt_crc_track *t, uint64_t off, uint64_t len, uint32_t crc)
{
    unsigned k = 0;
    while (k < t->n && t->piece[k].off < off)
        k++;
    if (k < t->n && t->piece[k].off == off && t->piece[k].len == len && t->piece[k].crc == crc)
        return 0; /* the same piece again */
    int overlaps = (k > 0 && t->piece[k - 1].off + t->piece[k - 1].len > off) ||
                   (k < t->n && off + len > t->piece[k].off);
    if (overlaps || t->n == CKPT_CRC_TRACK_PIECES)
        return -1;
    memmove(t->piece + k + 1, t->piece + k, (t->n - k) * sizeof t->piece[0]);
    t->piece[k].off = off;
    t->piece[k].len = len;
    t->piece[k].crc = crc;
    t->n++;
    return 0;
}

enum ckpt_crc_track_result ckpt_crc_track_add(ckpt_crc_track *t, uint64_t off, uint64_t len,
                                              uint32_t crc)
{
    if (ckpt_crc_track_ended(t) || len == 0 || off + len <= t->pos)
        return CKPT_TRACK_PENDING;
    if (off < t->pos || off + len > t->total || off + len < off) {
        ckpt_crc_track_stop(t);
        return CKPT_TRACK_PENDING;
    }
    if (off > t->pos) {
        if (insert(t, off, len, crc))
            ckpt_crc_track_stop(t);
        return CKPT_TRACK_PENDING;
    }
    t->crc = ckpt_crc32c_combine(t->crc, crc, len);
    t->pos += len;
    absorb(t);
    if (t->pos != t->total)
        return CKPT_TRACK_PENDING;
    int ok = t->crc == t->want;
    ckpt_crc_track_stop(t);
    return ok ? CKPT_TRACK_MATCH : CKPT_TRACK_MISMATCH;
}
