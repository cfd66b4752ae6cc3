/* cmd_cat.c - `ckptfs cat` (see cli.h). */
#include "cli.h"
#include "varname.h"

#include "exitcodes.h"
#include "arraytext.h"
#include "dtype.h"
#include "render.h"
#include "strtext.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `ckptfs cat [--text] SOURCE NAME`: one variable as a mount serves it, or its values. */
static int cli_cat(int argc, char **argv);

const cli_command cli_cat_command = {
    "cat",
    cli_cat,
    "print a variable's bytes, or its values as text",
    "usage: ckptfs cat [--text] [--] SOURCE NAME\n"
    "       ckptfs cat [--text] --name-file FILE SOURCE\n"
    "Write variable NAME of SOURCE to stdout as a mount serves it: numeric tensors as their\n"
    "stored bytes (little-endian, C order), string tensors one escaped element per line,\n"
    "variant tensors as text. NAME is the TF key (it may end in \":0\"), or in a TF 2\n"
    "checkpoint the key without /.ATTRIBUTES/VARIABLE_VALUE, or the variable's full_name (a\n"
    "key wins over a full_name; a full_name several variables share is refused, naming them\n"
    "as by_name/ does: NAME~1, NAME~2). Only NAME's own data shard is read, so\n"
    "it works when other shards are missing. The stored checksum is verified: a mismatch\n"
    "exits 7 (tensors over 256 MiB are streamed, so the bytes are out when it is found).\n"
    "  --text    every value as numpy prints it, never an ellipsis:\n"
    "            numpy.array2string(x, threshold=sys.maxsize, floatmode='unique'), i.e. aligned\n"
    "            columns, 75 characters a line, each float the shortest decimal that reads back\n"
    "            to the same value; bfloat16/float8/float4 print as their float32 values,\n"
    "            int4/uint4/int2/uint2 as integers, strings quoted with the mount's escapes\n"
    "            (and \\\" for a quote).\n"
    "  --        what follows is SOURCE and NAME, even when it starts with '-'\n"
    "  --name-file FILE  NAME is the whole content of FILE, byte for byte (nothing stripped;\n"
    "            '-' reads standard input): for names no shell can pass (NUL, newline)\n",
};

/* Longest name --name-file accepts (TF's own keys are far shorter). */
#define CAT_NAME_FILE_MAX (1u << 20)

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

/* --text: the values numpy-style (arraytext.h); variant tensors have only their text form. */
static int cat_values(ckpt_checkpoint *c, size_t idx, const ckpt_var *v, ckpt_err *err)
{
    if (v->dtype == CKPT_DT_VARIANT)
        return cat_text(c, idx, err);
    int rc;
    if (v->dtype == CKPT_DT_STRING) {
        uint8_t *buf;
        ckpt_str *el;
        uint64_t n;
        rc = ckpt_read_strings(c, idx, &buf, &el, &n, err);
        if (rc == 0) {
            rc = ckpt_array_text_strings(v->rank, v->dims, el, n, cli_stdout_sink, NULL, err);
            free(buf);
            free(el);
        }
        return rc;
    }
    if (!ckpt_array_text_supported(v->dtype)) {
        char b[32];
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s tensors have no text form",
                            ckpt_dtype_name(v->dtype, b, sizeof b));
    }
    uint8_t *buf;
    size_t len;
    rc = ckpt_read_all(c, idx, &buf, &len, err);
    if (rc == 0) {
        rc = ckpt_array_text(v->dtype, v->rank, v->dims, buf, len, cli_stdout_sink, NULL, err);
        free(buf);
    }
    return rc;
}

/* The whole of path ("-": stdin) as a name: 0 and *name (malloc'd), *len; else an exit code. */
static int read_name_file(const char *path, char **name, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        cli_error(path, strerror(errno));
        return CKPTFS_EXIT_USAGE;
    }
    char *buf = malloc(CAT_NAME_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, CAT_NAME_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf || bad || n > CAT_NAME_FILE_MAX) {
        cli_error(path, !buf ? "out of memory" : bad ? "read error" : "longer than any name");
        free(buf);
        return !buf || bad ? CKPTFS_EXIT_READ : CKPTFS_EXIT_USAGE;
    }
    *name = buf;
    *len = n;
    return 0;
}

static int cli_cat(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_cat_command);
    int text = 0, npos = 0;
    const char *pos[2] = {NULL, NULL}, *name_file = NULL;
    const cli_opt opts[] = {{"--text", &text, NULL},
                            {"--index-only", NULL, NULL},
                            {"--name-file", NULL, &name_file},
                            {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_cat_command, argc, argv, opts, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos != (name_file ? 1 : 2))
        return cli_usage_error(&cli_cat_command, name_file ? "expected SOURCE (NAME is in the "
                                                             "--name-file)"
                                                           : "expected SOURCE and NAME");
    char *owned = NULL;
    const char *name = pos[1];
    size_t nlen = name ? strlen(name) : 0;
    rc = name_file ? read_name_file(name_file, &owned, &nlen) : 0;
    if (rc)
        return rc;
    if (owned)
        name = owned;
    ckpt_checkpoint *c;
    rc = cli_open_source(pos[0], &c);
    size_t idx;
    /* Keys and visible paths need only the index; the object graph is read for full names. */
    if (rc == 0 && cli_find_var(c, NULL, name, nlen, name_file != NULL, &idx)) {
        ckpt_names *names = cli_load_names(pos[0], c);
        if (cli_find_var(c, names, name, nlen, name_file != NULL, &idx)) {
            cli_no_such_var(pos[0], c, names, name, nlen);
            ckpt_close(c);
            rc = CKPTFS_EXIT_SOURCE;
        }
        ckpt_names_free(names);
    }
    free(owned);
    if (rc)
        return rc;
    ckpt_var v;
    ckpt_get(c, idx, &v);
    ckpt_err err;
    ckpt_err_clear(&err);
    if (text)
        rc = cat_values(c, idx, &v, &err);
    else
        rc = ckpt_is_text_var(&v) ? cat_text(c, idx, &err) : cat_bytes(c, idx, &v, &err);
    ckpt_close(c);
    if (fflush(stdout) != 0 && !rc)
        rc = ckpt_err_set(&err, CKPT_E_IO, "writing to stdout failed");
    if (rc) {
        cli_error(pos[0], err.msg);
        return rc == CKPT_E_MISSING                               ? CKPTFS_EXIT_SHARD
               : rc == CKPT_E_CORRUPT || rc == CKPT_E_UNSUPPORTED ? CKPTFS_EXIT_CORRUPT
                                                                  : CKPTFS_EXIT_READ;
    }
    return 0;
}
