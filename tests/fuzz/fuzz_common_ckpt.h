/*
 * fuzz_common_ckpt.h - exercise an opened checkpoint the way the mount and `ckptfs cat` do:
 * list it, render the variables table, and read (or render as text) every variable small
 * enough. Shared by the V2 and V1 targets.
 */
#ifndef CKPT_FUZZ_COMMON_CKPT_H
#define CKPT_FUZZ_COMMON_CKPT_H

#include "checkpoint.h"
#include "fuzz.h"
#include "render.h"

#include <stdlib.h>

static inline void fuzz_exercise(const char *source)
{
    ckpt_checkpoint *c;
    ckpt_err err;
    ckpt_err_clear(&err);
    if (ckpt_open(source, CKPT_OPEN_MISSING_SHARDS_OK, &c, &err))
        return;
    ckpt_strbuf tsv = {0};
    ckpt_render_tsv(c, NULL, &tsv);
    ckpt_strbuf_free(&tsv);
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        if (v.nbytes > FUZZ_READ_MAX)
            continue;
        if (ckpt_is_text_var(&v)) {
            ckpt_strbuf b = {0};
            ckpt_render_text(c, i, &b, &err);
            ckpt_strbuf_free(&b);
        } else {
            uint8_t *buf;
            size_t len;
            if (ckpt_read_all(c, i, &buf, &len, &err) == 0)
                free(buf);
        }
    }
    ckpt_close(c);
}

#endif
