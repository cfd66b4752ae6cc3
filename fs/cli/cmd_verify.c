/* cmd_verify.c - `ckptfs verify` (see cli.h). */
#include "cli.h"

#include "archive.h"
#include "dtype.h"
#include "exitcodes.h"
#include "bytesrc_local.h"
#include "folder.h"
#include "resolve.h"
#include "resolve_local.h"
#include "progress.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* `ckptfs verify SOURCE`: every tensor read and checked against its stored checksum. */
static int cli_verify(int argc, char **argv);

const cli_command cli_verify_command = {
    "verify",
    cli_verify,
    "read every tensor and check it against its stored checksum",
    "usage: ckptfs verify SOURCE\n"
    "Read every tensor of SOURCE and check it against the CRC-32C TensorFlow stored for it\n"
    "(partitioned variables: every slice; string tensors: the lengths' checksum too). Opening\n"
    "a checkpoint checks every block of its index (or of its V1 files) against the block's\n"
    "CRC-32C. A training folder is every checkpoint in it; a SavedModel its variables.\n"
    "On a terminal a progress bar (bytes, rate, time left) is drawn on stderr. Each damaged\n"
    "tensor is named on stderr; a summary per checkpoint goes to stdout.\n"
    "Exit status: 0 all checked and intact; 3 a tensor or an index is damaged; 7 a read\n"
    "failed; 4 data shards are missing (their tensors could not be checked).\n",
};

#define VERIFY_CHUNK (4u << 20)

typedef struct tally {
    uint64_t tensors, bytes, damaged, missing, failed, unchecked;
} tally;

/* Read variable i whole, in pieces, letting the reader verify its checksum at the end. */
static int check_var(ckpt_checkpoint *c, size_t i, const ckpt_var *v, uint8_t *buf,
                     cli_progress *pg, ckpt_err *err)
{
    if (v->dtype == CKPT_DT_STRING || v->dtype == CKPT_DT_VARIANT || v->dtype == CKPT_DT_RESOURCE) {
        /* string, variant, resource: their checksums cover an encoding read whole */
        uint8_t *all;
        size_t len;
        int rc = ckpt_read_all(c, i, &all, &len, err);
        if (!rc)
            free(all);
        cli_progress_add(pg, v->nbytes);
        return rc;
    }
    ckpt_crc_state st = {0, 0};
    for (uint64_t off = 0; off < v->nbytes;) {
        size_t got;
        int rc = ckpt_read(c, i, buf, VERIFY_CHUNK, off, &got, &st, err);
        if (rc)
            return rc;
        if (got == 0)
            return ckpt_err_set(err, CKPT_E_IO, "variable \"%s\": short read at %" PRIu64, v->name,
                                off);
        off += got;
        cli_progress_add(pg, got);
    }
    return 0;
}

static void verify_one(const char *label, ckpt_checkpoint *c, uint8_t *buf, cli_progress *pg,
                       tally *all)
{
    tally t = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        t.tensors++;
        if (v.flags & CKPT_VAR_SHARD_MISSING) {
            t.missing++;
            cli_progress_add(pg, v.nbytes);
            continue;
        }
        ckpt_err err;
        ckpt_err_clear(&err);
        int rc = check_var(c, i, &v, buf, pg, &err);
        if (rc) {
            cli_progress_clear(pg);
            cli_error(label, err.msg);
            if (rc == CKPT_E_CORRUPT)
                t.damaged++;
            else if (rc == CKPT_E_MISSING)
                t.missing++;
            else
                t.failed++;
            continue;
        }
        t.bytes += v.nbytes;
        /* V1 tensors have no checksum of their own; their table blocks were checked */
        if (!(v.flags & (CKPT_VAR_HAS_CRC | CKPT_VAR_PARTITIONED)))
            t.unchecked++;
    }
    cli_progress_clear(pg);
    printf("%s: %" PRIu64 " tensors, %" PRIu64 " bytes read: %s", ckpt_prefix(c), t.tensors,
           t.bytes, t.damaged || t.failed || t.missing ? "" : "all intact");
    const char *sep = "";
    if (t.damaged)
        printf("%s%" PRIu64 " damaged", sep, t.damaged), sep = ", ";
    if (t.failed)
        printf("%s%" PRIu64 " unreadable", sep, t.failed), sep = ", ";
    if (t.missing)
        printf("%s%" PRIu64 " on missing data shards", sep, t.missing), sep = ", ";
    if (t.unchecked)
        printf(" (%" PRIu64 " without a stored tensor checksum: V1, blocks checked)", t.unchecked);
    putchar('\n');
    all->tensors += t.tensors, all->bytes += t.bytes, all->damaged += t.damaged;
    all->missing += t.missing, all->failed += t.failed;
}

/* The checkpoints SOURCE names: every one of a training folder, else the one it resolves to. */
static int list_sources(const char *source, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ckpt_folder f = {0};
    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_source s;
    /* A folder URL is listed once here; each checkpoint then opens by its own URL. */
    int rc = ckpt_source_resolve(source, NULL, CKPT_RESOLVE_FOLDER, &s, &err);
    if (rc == 0 && s.folder)
        rc = ckpt_folder_scan_src(s.src, s.prefix, &f, &err);
    if (rc) {
        cli_error(source, err.msg);
        return ckptfs_exit_for(rc);
    }
    int folder = s.folder;
    ckpt_source_free(&s);
    if (folder) {
        *out = calloc(f.n ? f.n : 1, sizeof **out);
        for (size_t i = 0; *out && i < f.n; i++)
            (*out)[(*n)++] = strdup(f.items[i].prefix);
        ckpt_folder_free(&f);
    } else {
        *out = calloc(1, sizeof **out);
        if (*out)
            (*out)[(*n)++] = strdup(source);
    }
    for (size_t i = 0; *out && i < *n; i++)
        if (!(*out)[i])
            goto nomem;
    if (*out)
        return 0;
nomem:
    cli_error(source, "out of memory");
    return CKPTFS_EXIT_READ;
}

/* Add a copy of prefix to out (n of them); -1 when out of memory. */
static int add_source(char ***out, size_t *n, const char *prefix)
{
    char *p = strdup(prefix);
    char **grown = p ? realloc(*out, (*n + 1) * sizeof **out) : NULL;
    if (!grown) {
        free(p);
        return -1;
    }
    *out = grown;
    (*out)[(*n)++] = p;
    return 0;
}

/*
 * An archive alone that holds several checkpoints, training folders or SavedModels: every
 * checkpoint of each (docs/archives.md), from the folder of its places and every checkpoint of
 * those that are training folders, all through the archive source *s resolved once (kept for
 * opening them: the caller frees it). 0 with *n == 0 when source is not such an archive.
 */
static int list_archive_places(const char *source, ckpt_source *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    memset(s, 0, sizeof *s);
    char *archive = NULL, *inner = NULL;
    int ar = ckpt_archive_split(source, &archive, &inner);
    int alone = ar == 1 && !*inner;
    free(archive);
    free(inner);
    if (ar < 0) {
        cli_error(source, "out of memory");
        return CKPTFS_EXIT_READ;
    }
    if (!alone)
        return 0;
    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_folder f = {0};
    int rc = ckpt_source_resolve(source, NULL, CKPT_RESOLVE_FOLDER, s, &err);
    if (rc == 0 && s->folder)
        rc = ckpt_folder_scan_src(s->src, s->prefix, &f, &err);
    int oom = 0;
    for (size_t i = 0; rc == 0 && f.places && i < f.n && !oom; i++) {
        ckpt_folder sub;
        if (!f.items[i].folder) {
            oom = add_source(out, n, f.items[i].prefix);
        } else if ((rc = ckpt_folder_scan_src(s->src, f.items[i].folder, &sub, &err)) == 0) {
            for (size_t k = 0; k < sub.n && !oom; k++)
                oom = add_source(out, n, sub.items[k].prefix);
            ckpt_folder_free(&sub);
        }
    }
    int places = f.places;
    ckpt_folder_free(&f);
    if (oom)
        rc = ckpt_err_set(&err, CKPT_E_NOMEM, "out of memory");
    if (rc || !places) { /* an error, or one place: as any other source */
        ckpt_free_paths(*out, *n);
        *out = NULL;
        *n = 0;
        if (s->src)
            ckpt_source_free(s);
        memset(s, 0, sizeof *s);
    }
    if (rc) {
        cli_error(source, err.msg);
        return rc == CKPT_E_NOMEM ? CKPTFS_EXIT_READ : ckptfs_exit_for(rc);
    }
    return 0;
}

static int cli_verify(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_verify_command);
    const char *source = NULL;
    int npos = 0;
    int rc = cli_parse_args(&cli_verify_command, argc, argv, NULL, &source, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1)
        return cli_usage_error(&cli_verify_command, "expected one SOURCE");
    char **srcs;
    size_t n;
    ckpt_source arch; /* an archive of several: opened once, each checkpoint read through it */
    rc = list_archive_places(source, &arch, &srcs, &n);
    int via = rc == 0 && n > 0;
    if (!rc && !n)
        rc = list_sources(source, &srcs, &n);
    if (rc)
        return rc;
    /* Open them all first, so the bar knows the total. */
    ckpt_checkpoint **cs = calloc(n ? n : 1, sizeof *cs);
    uint8_t *buf = malloc(VERIFY_CHUNK);
    int worst = 0;
    uint64_t total = 0;
    for (size_t i = 0; cs && buf && i < n; i++) {
        int r = via ? cli_open_src(srcs[i], arch.src, srcs[i], &cs[i])
                    : cli_open_source(srcs[i], &cs[i]);
        if (r) {
            worst = worst ? worst : r;
            continue;
        }
        for (size_t k = 0; k < ckpt_count(cs[i]); k++) {
            ckpt_var v;
            ckpt_get(cs[i], k, &v);
            total += v.nbytes;
        }
    }
    if (!cs || !buf) {
        cli_error(source, "out of memory");
        worst = CKPTFS_EXIT_READ;
    }
    cli_progress pg;
    cli_progress_start(&pg, total);
    tally all = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; cs && buf && i < n; i++) {
        if (!cs[i])
            continue;
        verify_one(srcs[i], cs[i], buf, &pg, &all);
        ckpt_close(cs[i]);
    }
    if (n > 1)
        printf("total: %zu checkpoints, %" PRIu64 " tensors, %" PRIu64 " bytes read, %" PRIu64
               " damaged, %" PRIu64 " unreadable, %" PRIu64 " on missing data shards\n",
               n, all.tensors, all.bytes, all.damaged, all.failed, all.missing);
    for (size_t i = 0; i < n; i++)
        free(srcs[i]);
    free(srcs);
    if (via)
        ckpt_source_free(&arch);
    free(cs);
    free(buf);
    fflush(stdout);
    if (all.damaged)
        return CKPTFS_EXIT_CORRUPT;
    if (worst)
        return worst;
    if (all.failed)
        return CKPTFS_EXIT_READ;
    if (all.missing)
        return CKPTFS_EXIT_SHARD;
    return CKPTFS_EXIT_OK;
}
