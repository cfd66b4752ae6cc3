/* cmd_ls.c - `ckptfs ls` (see cli.h). */
#include "cli.h"
#include "glob.h"
#include "varname.h"

#include "archive.h"
#include "dtype.h"
#include "exitcodes.h"
#include "folder.h"
#include "resolve.h"
#include "render.h"
#include "shape.h"
#include "strtext.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* `ckptfs ls [-l] [--json] SOURCE [PATTERN]`: the checkpoint's variables. */
static int cli_ls(int argc, char **argv);

const cli_command cli_ls_command = {
    "ls",
    cli_ls,
    "list a checkpoint's variables",
    "usage: ckptfs ls [-l [-h]] [--json] [--sort=size|name] SOURCE [PATTERN]\n"
    "List the variables of SOURCE in index (bytewise name) order, one per line.\n"
    "  -l        the long form: a header, then name, dtype, shape, bytes, shard, offset and\n"
    "            crc32c, tab-separated (what a mount's variables.tsv holds)\n"
    "  --json    one JSON object per line and variable: name, dtype, shape, bytes, shard,\n"
    "            offset, crc32c (8 hex digits), partitioned, shard_missing; for a TF 2\n"
    "            checkpoint also full_name, and slot_of and slot for an optimizer's slots\n"
    "  -h        with -l: bytes as 1.5K, 20M, 3.1G (powers of 1024, rounded up, as du -h);\n"
    "            without -l, -h is --help\n"
    "  --sort=size  largest first (ties in index order); --sort=name (default) index order\n"
    "  PATTERN   a shell glob on the whole name ('*' also matches '/'), e.g. 'dense*/kernel';\n"
    "            in a TF 2 checkpoint it also matches the path without\n"
    "            /.ATTRIBUTES/VARIABLE_VALUE and the full_name ('*encoder*')\n"
    "Names are escaped as in the mount (\\\\, \\n, \\t, \\xHH) so each is one line; in JSON they\n"
    "are JSON strings, bytes that are not UTF-8 as \\udcHH (Python: surrogateescape).\n"
    "An archive holding several checkpoints lists each after a line \"PREFIX:\" (JSON: a\n"
    "\"checkpoint\" key); a training folder lists its latest checkpoint.\n"
    "Only the index is read. Missing data shards are a warning, not an error, as in\n"
    "TensorFlow's tf.train.list_variables. --index-only is accepted and ignored.\n",
};

static void put_json(ckpt_strbuf *b, const ckpt_checkpoint *c, const ckpt_names *names, size_t i,
                     const ckpt_var *v, const char *label)
{
    char line[512], dt[32];
    ckpt_strbuf_put(b, "{\"name\": ", 9);
    ckpt_json_put_string(b, (const uint8_t *)v->name, v->name_len);
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
        n = snprintf(line, sizeof line, ", \"shard\": %" PRId32 ", \"offset\": %" PRIu64, v->shard,
                     v->offset);
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
            ckpt_json_put_string(b, (const uint8_t *)f, fl);
        else
            ckpt_strbuf_puts(b, "null");
        if (ckpt_names_slot(names, i, &orig, &slot)) {
            size_t kl;
            const char *k = ckpt_name(c, orig, &kl);
            ckpt_strbuf_puts(b, ", \"slot_of\": ");
            ckpt_json_put_string(b, (const uint8_t *)k, kl);
            ckpt_strbuf_puts(b, ", \"slot\": ");
            ckpt_json_put_string(b, (const uint8_t *)slot, strlen(slot));
        }
    }
    n = snprintf(line, sizeof line, ", \"partitioned\": %s, \"shard_missing\": %s",
                 part ? "true" : "false", (v->flags & CKPT_VAR_SHARD_MISSING) ? "true" : "false");
    ckpt_strbuf_put(b, line, (size_t)n);
    if (label) { /* one of several checkpoints: which */
        ckpt_strbuf_puts(b, ", \"checkpoint\": ");
        ckpt_json_put_string(b, (const uint8_t *)label, strlen(label));
    }
    ckpt_strbuf_puts(b, "}\n");
}

/* Line i+1 of the table (line 0 is its header): [*start, *end) including the newline. */
static void tsv_line(const ckpt_strbuf *t, size_t *pos, size_t *start, size_t *end)
{
    const char *nl = memchr(t->data + *pos, '\n', t->len - *pos);
    *start = *pos;
    *end = nl ? (size_t)(nl - t->data) + 1 : t->len;
    *pos = *end;
}

/* A line of the table with its bytes column (the fourth) as cli_human_size writes it. */
static void put_human_line(ckpt_strbuf *out, const char *l, size_t len, uint64_t bytes)
{
    size_t f = 0, tabs = 0;
    while (f < len && tabs < 3)
        tabs += l[f++] == '\t';
    const char *rest = memchr(l + f, '\t', len - f);
    if (tabs < 3 || !rest) { /* not the table's shape: as it is */
        ckpt_strbuf_put(out, l, len);
        return;
    }
    char h[CLI_HUMAN_MAX];
    ckpt_strbuf_put(out, l, f);
    ckpt_strbuf_puts(out, cli_human_size(bytes, h));
    ckpt_strbuf_put(out, rest, (size_t)(l + len - rest));
}

/* A variable to print and where its table line is. */
typedef struct ls_item {
    uint64_t bytes;
    size_t i, start, end;
} ls_item;

/* --sort=size: largest first, then index order (qsort is not stable: the index decides). */
static int by_size(const void *a, const void *b)
{
    const ls_item *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

/* What ls shows, from its options. */
typedef struct ls_opts {
    int longform, json, human, sort_size;
    const char *pattern; /* NULL: every variable */
} ls_opts;

/*
 * List checkpoint c (closed here) of source; label: which of several it is, for the
 * "checkpoint" key of every JSON object (NULL: the only one, no key).
 */
static int ls_one(const ls_opts *o, const char *source, const char *label, ckpt_checkpoint *c)
{
    ckpt_names *names = o->longform || o->json || o->pattern ? cli_load_names(source, c) : NULL;
    /* -l is the mount's variables.tsv, from the same code, filtered line by line. */
    ckpt_strbuf tsv = {0}, out = {0};
    size_t tpos = 0, s = 0, e = 0;
    if (o->longform) {
        ckpt_render_tsv(c, names, &tsv);
        if (!tsv.failed) {
            tsv_line(&tsv, &tpos, &s, &e);
            ckpt_strbuf_put(&out, tsv.data + s, e - s);
        }
    }
    /* the selection first, so that it can be put in another order */
    size_t n = ckpt_count(c), nsel = 0, cap = 0;
    ls_item *sel = NULL;
    for (size_t i = 0; i < n && !tsv.failed; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        if (o->longform)
            tsv_line(&tsv, &tpos, &s, &e);
        if (o->pattern && !cli_var_matches(o->pattern, c, names, i))
            continue;
        if (ckpt_grow((void **)&sel, &cap, nsel + 1, sizeof *sel)) {
            out.failed = 1;
            break;
        }
        sel[nsel++] = (ls_item){v.nbytes, i, s, e};
    }
    if (o->sort_size && nsel > 1)
        qsort(sel, nsel, sizeof *sel, by_size);
    for (size_t k = 0; k < nsel && !out.failed && !tsv.failed; k++) {
        ckpt_var v;
        ckpt_get(c, sel[k].i, &v);
        if (o->longform && o->human) {
            put_human_line(&out, tsv.data + sel[k].start, sel[k].end - sel[k].start, v.nbytes);
        } else if (o->longform) {
            ckpt_strbuf_put(&out, tsv.data + sel[k].start, sel[k].end - sel[k].start);
        } else if (o->json) {
            put_json(&out, c, names, sel[k].i, &v, label);
        } else {
            size_t len = ckpt_tstring_escape((const uint8_t *)v.name, v.name_len, NULL);
            char *esc = malloc(len + 1);
            if (!esc) {
                out.failed = 1;
                break;
            }
            ckpt_tstring_escape((const uint8_t *)v.name, v.name_len, esc);
            esc[len] = '\n';
            ckpt_strbuf_put(&out, esc, len + 1);
            free(esc);
        }
    }
    free(sel);
    int bad = tsv.failed || out.failed || cli_write_all(out.data, out.len);
    ckpt_strbuf_free(&tsv);
    ckpt_strbuf_free(&out);
    ckpt_names_free(names);
    ckpt_close(c);
    if (bad || fflush(stdout) != 0) {
        cli_error(source, "out of memory or write error");
        return CKPTFS_EXIT_READ;
    }
    return CKPTFS_EXIT_OK;
}

/*
 * ls of an archive alone, resolved once (a remote archive's directory is read once): the
 * checkpoint it stands for, or when it holds several (docs/archives.md) each in the order of
 * the folder's names, as `ls DIR...` lists directories: "PREFIX:" on a line before each, an
 * empty line between them (JSON: each object names its checkpoint instead). A checkpoint that
 * fails to open is said and the others listed; the exit status is the first failure's.
 */
static int ls_archive(const ls_opts *o, const char *source)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_source s;
    ckpt_folder f = {0};
    int rc = ckpt_source_resolve(source, NULL, CKPT_RESOLVE_FOLDER, &s, &err);
    if (rc == 0 && s.folder && (rc = ckpt_folder_scan_src(s.src, s.prefix, &f, &err)) != 0)
        ckpt_source_free(&s);
    if (rc) {
        cli_error(source, err.msg);
        return ckptfs_exit_for(rc);
    }
    ckpt_checkpoint *c;
    if (!f.places) { /* one checkpoint, or a training folder at the root: its latest */
        rc = cli_open_src(source, s.src, s.prefix, &c);
        ckpt_folder_free(&f);
        ckpt_source_free(&s);
        return rc ? rc : ls_one(o, source, NULL, c);
    }
    int worst = 0;
    for (size_t i = 0; i < f.n; i++) {
        const char *label = f.items[i].prefix;
        int r = cli_open_src(label, s.src, label, &c);
        if (r == 0) {
            if (!o->json)
                printf("%s%s:\n", i ? "\n" : "", label);
            r = ls_one(o, label, o->json ? label : NULL, c);
        }
        if (r && !worst)
            worst = r;
    }
    ckpt_folder_free(&f);
    ckpt_source_free(&s);
    return worst;
}

static int cli_ls(int argc, char **argv)
{
    /* -h is help, except beside -l where it is ls -lh's human sizes */
    int has_l = 0;
    for (int k = 1; k < argc && strcmp(argv[k], "--"); k++)
        has_l |= !strcmp(argv[k], "-l");
    if (cli_wants_long_help(argc, argv) || (!has_l && cli_wants_help(argc, argv)))
        return cli_help(&cli_ls_command);
    int longform = 0, json = 0, human = 0, sort_size = 0, sort_name = 0, npos = 0;
    const char *pos[2] = {NULL, NULL}, *sort_s = NULL;
    const cli_opt opts[] = {{"-l", &longform, NULL},           {"--json", &json, NULL},
                            {"--index-only", NULL, NULL},      {"-h", &human, NULL},
                            {"--sort=size", &sort_size, NULL}, {"--sort=name", &sort_name, NULL},
                            {"--sort", NULL, &sort_s},         {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_ls_command, argc, argv, opts, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos < 1)
        return cli_usage_error(&cli_ls_command, "expected SOURCE");
    if (longform && json)
        return cli_usage_error(&cli_ls_command, "-l and --json exclude each other");
    if (sort_s && strcmp(sort_s, "size") && strcmp(sort_s, "name"))
        return cli_usage_error(&cli_ls_command, "--sort takes size or name, not '%s'", sort_s);
    sort_size = sort_s ? !strcmp(sort_s, "size") : sort_size && !sort_name;
    ls_opts o = {longform, json, human, sort_size, pos[1]};
    char *archive = NULL, *inner = NULL;
    int ar = ckpt_archive_split(pos[0], &archive, &inner);
    int alone = ar == 1 && !*inner;
    free(archive);
    free(inner);
    if (ar < 0) {
        cli_error(pos[0], "out of memory");
        return CKPTFS_EXIT_READ;
    }
    if (alone)
        return ls_archive(&o, pos[0]);
    ckpt_checkpoint *c;
    rc = cli_open_source(pos[0], &c);
    if (rc)
        return rc;
    return ls_one(&o, pos[0], NULL, c);
}
