/*
 * pbmsg.h - walking the fields of one message held in one buffer, the common case of the
 * wire walkers in this library (signatures.c, pbtext.c): a ckpt_pb_iter needs its segment to
 * outlive it, so the pair travels together here.
 */
#ifndef CKPT_PBMSG_H
#define CKPT_PBMSG_H

#include "pbwire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_pb_msg {
    ckpt_pb_seg seg;
    ckpt_pb_iter it;
} ckpt_pb_msg;

/* Start at the first field of the message (p, n). m must stay where it is while in use. */
static inline void ckpt_pb_msg_init(ckpt_pb_msg *m, const uint8_t *p, size_t n, ckpt_err *err)
{
    m->seg = (ckpt_pb_seg){p, n};
    ckpt_pb_iter_init(&m->it, &m->seg, 1, err);
}

/* The next field, as ckpt_pb_iter_next: 1, 0 at the end, or CKPT_E_CORRUPT. */
static inline int ckpt_pb_msg_next(ckpt_pb_msg *m, ckpt_pb_field *f)
{
    return ckpt_pb_iter_next(&m->it, f);
}

/* The next length-delimited occurrence of field number `field`, skipping all others. */
static inline int ckpt_pb_msg_next_len(ckpt_pb_msg *m, uint32_t field, ckpt_pb_field *f)
{
    int r;
    while ((r = ckpt_pb_iter_next(&m->it, f)) > 0)
        if (f->field == field && f->wt == 2)
            return 1;
    return r;
}

#endif
