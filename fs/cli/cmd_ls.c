/* cmd_ls.c - `ckptfs ls` (see cli.h). */
#include "cli.h"
#include "glob.h"
#include "varname.h"

#include "dtype.h"
#include "exitcodes.h"
#include "render.h"
#include "shape.h"
#include "strtext.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const cli_command cli_ls_command = {
    "ls", cli_ls, "list a checkpoint's variables",
    "usage: ckptfs ls [-l] [--json] SOURCE [PATTERN]\n"
    "List the variables of SOURCE in index (bytewise name) order, one per line.\n"
    "  -l        the long form: a header, then name, dtype, shape, bytes, shard, offset and\n"
    "            crc32c, tab-separated (what a mount's variables.tsv holds)\n"
    "  --json    one JSON object per line and variable: name, dtype, shape, bytes, shard,\n"
    "            offset, crc32c (8 hex digits), partitioned, shard_missing; for a TF 2\n"
    "            checkpoint also full_name, and slot_of and slot for an optimizer's slots\n"
    "  PATTERN   a shell glob on the whole name ('*' also matches '/'), e.g. 'dense*/kernel';\n"
    "            in a TF 2 checkpoint it also matches the path without\n"
    "            /.ATTRIBUTES/VARIABLE_VALUE and the full_name ('*encoder*')\n"
    "Names are escaped as in the mount (\\\\, \\n, \\t, \\xHH) so each is one line; in JSON they\n"
    "are JSON strings, bytes that are not UTF-8 as \\udcHH (Python: surrogateescape).\n"
    "Only the index is read. Missing data shards are a warning, not an error, as in\n"
    "TensorFlow's tf.train.list_variables. --index-only is accepted and ignored.\n",
};

/* A JSON string of raw bytes; invalid UTF-8 bytes as lone surrogates U+DC80..U+DCFF. */
static void put_json_string(ckpt_strbuf *b, const uint8_t *s, size_t len)
{
    ckpt_strbuf_put(b, "\"", 1);
    for (size_t i = 0; i < len;) {
        char esc[8];
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            ckpt_strbuf_put(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            ckpt_strbuf_put(b, esc, 6);
            i++;
        } else if (c < 0x80) {
            ckpt_strbuf_put(b, &s[i], 1);
            i++;
        } else {
            size_t u = ckpt_utf8_seq(s + i, len - i);
            if (u) {
                ckpt_strbuf_put(b, &s[i], u);
                i += u;
            } else {
                snprintf(esc, sizeof esc, "\\udc%02x", c);
                ckpt_strbuf_put(b, esc, 6);
                i++;
            }
        }
    }
    ckpt_strbuf_put(b, "\"", 1);
}

static void put_json(ckpt_strbuf *b, const ckpt_checkpoint *c, const ckpt_names *names,
                     size_t i, const ckpt_var *v)
{
    char line[512], dt[32];
    ckpt_strbuf_put(b, "{\"name\": ", 9);
    put_json_string(b, (const uint8_t *)v->name, v->name_len);
    int n = snprintf(line, sizeof line, ", \"dtype\": \"%s\", \"shape\": [",
                     ckpt_dtype_name(v->dtype, dt, sizeof dt));
    ckpt_strbuf_put(b, line, (size_t)n);
    for (int d = 0; d < v->rank; d++) {
        n = snprintf(line, sizeof line, "%s%" PRId64, d ? ", " : "", v->dims[d]);
        ckpt_strbuf_put(b, line, (size_t)n);
    }
    int part = (v->flags & CKPT_VAR_PARTITIONED) != 0;
    n = snprintf(line, sizeof line, "], \"bytes\": %" PRIu64, v->nbytes);
    ckpt_strbuf_put(b, line, (size_t)n);
    if (part)
        n = snprintf(line, sizeof line, ", \"shard\": null, \"offset\": null");
    else
        n = snprintf(line, sizeof line, ", \"shard\": %" PRId32 ", \"offset\": %" PRIu64,
                     v->shard, v->offset);
    ckpt_strbuf_put(b, line, (size_t)n);
    if (v->flags & CKPT_VAR_HAS_CRC)
        n = snprintf(line, sizeof line, ", \"crc32c\": \"%08x\"", v->crc32c);
    else
        n = snprintf(line, sizeof line, ", \"crc32c\": null");
    ckpt_strbuf_put(b, line, (size_t)n);
    if (names) {
        size_t fl, orig;
        const char *f = ckpt_names_full(names, i, &fl), *slot;
        ckpt_strbuf_puts(b, ", \"full_name\": ");
        if (f)
            put_json_string(b, (const uint8_t *)f, fl);
        else
            ckpt_strbuf_puts(b, "null");
        if (ckpt_names_slot(names, i, &orig, &slot)) {
            size_t kl;
            const char *k = ckpt_name(c, orig, &kl);
            ckpt_strbuf_puts(b, ", \"slot_of\": ");
            put_json_string(b, (const uint8_t *)k, kl);
            ckpt_strbuf_puts(b, ", \"slot\": ");
            put_json_string(b, (const uint8_t *)slot, strlen(slot));
        }
    }
    n = snprintf(line, sizeof line, ", \"partitioned\": %s, \"shard_missing\": %s}\n",
                 part ? "true" : "false",
                 (v->flags & CKPT_VAR_SHARD_MISSING) ? "true" : "false");
    ckpt_strbuf_put(b, line, (size_t)n);
}

/* Line i+1 of the table (line 0 is its header): [*start, *end) including the newline. */
static void tsv_line(const ckpt_strbuf *t, size_t *pos, size_t *start, size_t *end)
{
    const char *nl = memchr(t->data + *pos, '\n', t->len - *pos);
    *start = *pos;
    *end = nl ? (size_t)(nl - t->data) + 1 : t->len;
    *pos = *end;
}

int cli_ls(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_ls_command);
    int longform = 0, json = 0, npos = 0;
    const char *pos[2] = {NULL, NULL};
    const cli_opt opts[] = {
        {"-l", &longform, NULL}, {"--json", &json, NULL}, {"--index-only", NULL, NULL},
        {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_ls_command, argc, argv, opts, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos < 1)
        return cli_usage_error(&cli_ls_command, "expected SOURCE");
    if (longform && json)
        return cli_usage_error(&cli_ls_command, "-l and --json exclude each other");
    ckpt_checkpoint *c;
    rc = cli_open_source(pos[0], &c);
    if (rc)
        return rc;
    ckpt_names *names = longform || json || pos[1] ? cli_load_names(pos[0], c) : NULL;
    /* -l is the mount's variables.tsv, from the same code, filtered line by line. */
    ckpt_strbuf tsv = {0}, out = {0};
    size_t tpos = 0, s = 0, e = 0;
    if (longform) {
        ckpt_render_tsv(c, names, &tsv);
        if (!tsv.failed) {
            tsv_line(&tsv, &tpos, &s, &e);
            ckpt_strbuf_put(&out, tsv.data + s, e - s);
        }
    }
    for (size_t i = 0; i < ckpt_count(c) && !out.failed && !tsv.failed; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        if (longform)
            tsv_line(&tsv, &tpos, &s, &e);
        if (pos[1] && !cli_var_matches(pos[1], c, names, i))
            continue;
        if (longform) {
            ckpt_strbuf_put(&out, tsv.data + s, e - s);
        } else if (json) {
            put_json(&out, c, names, i, &v);
        } else {
            size_t n = ckpt_tstring_escape((const uint8_t *)v.name, v.name_len, NULL);
            char *esc = malloc(n + 1);
            if (!esc) {
                out.failed = 1;
                break;
            }
            ckpt_tstring_escape((const uint8_t *)v.name, v.name_len, esc);
            esc[n] = '\n';
            ckpt_strbuf_put(&out, esc, n + 1);
            free(esc);
        }
    }
    int bad = tsv.failed || out.failed || cli_write_all(out.data, out.len);
    ckpt_strbuf_free(&tsv);
    ckpt_strbuf_free(&out);
    ckpt_names_free(names);
    ckpt_close(c);
    if (bad || fflush(stdout) != 0) {
        cli_error(pos[0], "out of memory or write error");
        return CKPTFS_EXIT_READ;
    }
    return CKPTFS_EXIT_OK;
}
