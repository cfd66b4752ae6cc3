/*
 * main.c - the `ckptfs` command: `ls`, `cat`, `graph`, `mount`; invoked as `mount.ckptfs` (or
 * by mount(8) as the fuse.ckptfs helper) it mounts.
 */
#include "checkpoint.h"
#include "cmd_graph.h"
#include "dtype.h"
#include "exitcodes.h"
#include "mount.h"
#include "render.h"
#include "shape.h"
#include "tstring.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tensors up to this size are verified before any byte reaches stdout. */
#define CAT_VERIFY_FIRST_MAX (256u << 20)

static void usage(FILE *f)
{
    fprintf(f, "usage: ckptfs ls [--index-only] SOURCE\n"
               "       ckptfs cat [--index-only] SOURCE NAME\n"
               "       ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]\n"
               "       ckptfs mount SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
               "       mount.ckptfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
               "SOURCE is a checkpoint prefix (model.ckpt), any of its files, or a folder\n"
               "holding a `checkpoint` state file or a SavedModel.\n");
}

static int write_all(const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int open_source(const char *source, unsigned flags, ckpt_checkpoint **c)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = ckpt_open(source, flags, c, &err);
    if (rc) {
        fprintf(stderr, "ckptfs: %s\n", err.msg);
        if (rc == CKPT_E_MISSING)
            fprintf(stderr, "ckptfs: use --index-only to list it anyway\n");
        return ckptfs_exit_for(rc);
    }
    return 0;
}

static int cmd_ls(int argc, char **argv)
{
    unsigned flags = 0;
    const char *source = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--index-only"))
            flags |= CKPT_OPEN_MISSING_SHARDS_OK;
        else if (!source)
            source = argv[i];
        else
            source = NULL, i = argc;
    }
    if (!source || argc > 3) {
        usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    ckpt_checkpoint *c;
    int rc = open_source(source, flags, &c);
    if (rc)
        return rc;
    /* The same text as a mount's variables.tsv, from the same code. */
    ckpt_strbuf tsv = {0};
    ckpt_render_tsv(c, &tsv);
    int bad = tsv.failed || write_all(tsv.data, tsv.len);
    ckpt_strbuf_free(&tsv);
    if (bad) {
        ckpt_close(c);
        fprintf(stderr, "ckptfs: out of memory or write error listing %s\n", source);
        return CKPTFS_EXIT_READ;
    }
    ckpt_close(c);
    return fflush(stdout) == 0 ? 0 : CKPTFS_EXIT_READ;
}

/* String and variant tensors: their text form, the same bytes a mount serves. */
static int cat_text(ckpt_checkpoint *c, size_t idx, ckpt_err *err)
{
    ckpt_strbuf text = {0};
    int rc = ckpt_render_text(c, idx, &text, err);
    if (rc == 0 && (text.failed || write_all(text.data, text.len)))
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
        if (rc == 0 && write_all(buf, len))
            rc = ckpt_err_set(err, CKPT_E_IO, "writing to stdout failed");
        free(buf);
        return rc;
    }
    /* Too large to hold: stream, and let the exit status say if the checksum failed. */
    size_t chunk = 4u << 20;
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
        if (write_all(buf, got)) {
            rc = ckpt_err_set(err, CKPT_E_IO, "writing to stdout failed");
            break;
        }
        off += got;
    }
    free(buf);
    return rc;
}

static int cmd_cat(int argc, char **argv)
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
        usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    ckpt_checkpoint *c;
    int rc = open_source(pos[0], flags, &c);
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

int main(int argc, char **argv)
{
    const char *self = strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    /* mount(8) runs helpers named mount.<type>; fuse types arrive as mount.fuse.ckptfs. */
    if (!strncmp(self, "mount.", 6))
        return ckpt_cmd_mount(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "ls"))
        return cmd_ls(argc - 1, argv + 1);
    if (!strcmp(cmd, "cat"))
        return cmd_cat(argc - 1, argv + 1);
    if (!strcmp(cmd, "graph"))
        return ckpt_cmd_graph(argc - 1, argv + 1);
    if (!strcmp(cmd, "mount"))
        return ckpt_cmd_mount(argc - 1, argv + 1);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    /* fuse3's mount.fuse3 runs "ckptfs SOURCE MOUNTPOINT -o ..." for type fuse.ckptfs. */
    if (argc >= 3)
        return ckpt_cmd_mount(argc, argv);
    fprintf(stderr, "ckptfs: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return CKPTFS_EXIT_USAGE;
}
