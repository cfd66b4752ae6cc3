/* cmd_cat.c - `ckptfs cat` (see cli.h). */
#include "cli.h"

#include "exitcodes.h"
#include "render.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Tensors up to this size are verified before any byte reaches stdout. */
#define CAT_VERIFY_FIRST_MAX (256u << 20)
/* Larger ones are streamed in pieces of this size. */
#define CAT_STREAM_CHUNK (4u << 20)

/* String and variant tensors: their text form, the same bytes a mount serves. */
static int cat_text(ckpt_checkpoint *c, size_t idx, ckpt_err *err)
{
    ckpt_strbuf text = {0};
    int rc = ckpt_render_text(c, idx, &text, err);
    if (rc == 0 && (text.failed || cli_write_all(text.data, text.len)))
        rc = ckpt_err_set(err, CKPT_E_IO, "out of memory or write error");
    ckpt_strbuf_free(&text);
    return rc;
}

static int cat_bytes(ckpt_checkpoint *c, size_t idx, const ckpt_var *v, ckpt_err *err)
{
    if (v->nbytes <= CAT_VERIFY_FIRST_MAX) {
        uint8_t *buf;
        size_t len;
        int rc = ckpt_read_all(c, idx, &buf, &len, err);
        if (rc == 0 && cli_write_all(buf, len))
            rc = ckpt_err_set(err, CKPT_E_IO, "writing to stdout failed");
        free(buf);
        return rc;
    }
    /* Too large to hold: stream, and let the exit status say if the checksum failed. */
    size_t chunk = CAT_STREAM_CHUNK;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_crc_state st = {0, 0};
    uint64_t off = 0;
    int rc = 0;
    while (off < v->nbytes) {
        size_t got;
        rc = ckpt_read(c, idx, buf, chunk, off, &got, &st, err);
        if (rc || got == 0)
            break;
        if (cli_write_all(buf, got)) {
            rc = ckpt_err_set(err, CKPT_E_IO, "writing to stdout failed");
            break;
        }
        off += got;
    }
    free(buf);
    return rc;
}

int cli_cat(int argc, char **argv)
{
    unsigned flags = 0;
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--index-only"))
            flags |= CKPT_OPEN_MISSING_SHARDS_OK;
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            npos = 3;
    }
    if (npos != 2) {
        cli_usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    ckpt_checkpoint *c;
    int rc = cli_open_source(pos[0], flags, &c);
    if (rc)
        return rc;
    size_t idx;
    const char *name = pos[1];
    size_t nlen = strlen(name);
    /* tf.train.load_variable accepts "name:0"; so do we. */
    if (ckpt_find(c, name, nlen, &idx) != 0 &&
        !(nlen > 2 && !strcmp(name + nlen - 2, ":0") && ckpt_find(c, name, nlen - 2, &idx) == 0)) {
        fprintf(stderr, "ckptfs: %s: no variable named \"%s\"\n", ckpt_prefix(c), name);
        ckpt_close(c);
        return CKPTFS_EXIT_SOURCE;
    }
    ckpt_var v;
    ckpt_get(c, idx, &v);
    ckpt_err err;
    ckpt_err_clear(&err);
    rc = ckpt_is_text_var(&v) ? cat_text(c, idx, &err) : cat_bytes(c, idx, &v, &err);
    ckpt_close(c);
    if (fflush(stdout) != 0 && !rc)
        rc = ckpt_err_set(&err, CKPT_E_IO, "writing to stdout failed");
    if (rc) {
        fprintf(stderr, "ckptfs: %s\n", err.msg);
        return rc == CKPT_E_MISSING ? CKPTFS_EXIT_SHARD : CKPTFS_EXIT_READ;
    }
    return 0;
}
