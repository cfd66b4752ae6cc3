/* cmd_export.c - `ckptfs export` (see cli.h; the file layouts are in docs/format.md). */
#include "cli.h"

#include "exitcodes.h"
#include "nameglob.h"
#include "progress.h"
#include "safetensors.h"
#include "bundlewriter.h"
#include "dtype.h"
#include "objgraph_prune.h"
#include "crc32c.h"
#include "kcopy.h"
#include "pipewrite.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `ckptfs export [--include G] [--exclude G] [--force] SOURCE DST`: the tensors as one
 * safetensors file (DST.safetensors, safetensors.h) or a V2 bundle (bundlewriter.h), written
 * under temporary names and renamed. */
static int cli_export(int argc, char **argv);

const cli_command cli_export_command = {
    "export",
    cli_export,
    "write a checkpoint's tensors as safetensors or as a V2 checkpoint",
    "usage: ckptfs export [--include GLOB] [--exclude GLOB] [--force] [--sync] SOURCE DST\n"
    "Write SOURCE's tensors (any source: prefix, V1, partitioned, SavedModel, URL) to DST:\n"
    "  DST.safetensors  one safetensors file, byte for byte what a mount's model.safetensors\n"
    "                   holds; tensors whose dtype safetensors lacks (strings, variants, ...)\n"
    "                   are left out and named in its __metadata__\n"
    "  DST (a prefix)   a V2 checkpoint TensorFlow restores: DST.index and\n"
    "                   DST.data-00000-of-00001, partitioned variables whole; the object\n"
    "                   graph of a TF 2 checkpoint is rewritten without excluded variables\n"
    "Each tensor is checked against its stored CRC-32C as it is copied (docs/format.md).\n"
    "  --include GLOB  keep only variables whose name matches (repeatable, or ':'-separated)\n"
    "  --exclude GLOB  leave out variables whose name matches, e.g. '*/Adam*' or\n"
    "                  'optimizer/*' to strip an optimizer's slots (repeatable, ':'-separated)\n"
    "  --force         replace DST if it exists\n"
    "  --sync          flush the files to disk (fsync) before renaming them; like cp,\n"
    "                  the export leaves that to the kernel otherwise\n"
    "Globs are those of `ckptfs ls PATTERN`. Files are written under temporary names in DST's\n"
    "directory and renamed when complete; a failure leaves nothing behind, nor does a signal\n"
    "(Ctrl-C: exit 128 + its number, within a second even while a server is silent). A DST\n"
    "that is a device or a pipe (/dev/stdout) gets the safetensors bytes directly. On a\n"
    "terminal a progress bar is drawn on stderr.\n"
    "Exit status: 0 written; 1 usage; 2 source not found; 3 a tensor is damaged or the header\n"
    "would pass the format's limit; 4 a data shard is missing; 7 a read failed; 8 DST could not\n"
    "be written (exists, full, read-only).\n",
};

#define EXPORT_CHUNK (4u << 20)
/* Tensors of at least this size are copied by the kernel where it can (kcopy.h); below it the
 * system calls per tensor would cost more than the copy they save. */
#define KCOPY_MIN (1u << 20)
/* ... in pieces of this size, between which progress is drawn and signals looked at. */
#define KCOPY_PIECE (64u << 20)
static volatile sig_atomic_t interrupted;
/* Set with interrupted: a remote source's requests give up within a second (net.h), so a
 * stalled server does not hold the export's exit for its whole timeout. Lock-free, so the
 * handler may set it. */
static _Atomic int cancel_requests;

static void on_signal(int sig)
{
    interrupted = sig;
    atomic_store(&cancel_requests, 1);
}

/* Write n bytes at p to fd; 0, or -1 with errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR && !interrupted)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* A signal came (SIGINT, SIGTERM, SIGHUP): its exit status after saying so; else 0. */
static int stopped(cli_progress *pg, const char *path)
{
    if (!interrupted)
        return 0;
    if (pg)
        cli_progress_clear(pg);
    fprintf(stderr, "ckptfs: %s: interrupted\n", path);
    return 128 + interrupted;
}

/*
 * A read failed (rc a negative CKPT_E_*, err its message): say so, or that the export was
 * interrupted when a signal is what cancelled the read (cancel_requests). The exit status.
 */
static int read_failed(cli_progress *pg, const char *source, const char *path, int rc,
                       const ckpt_err *err)
{
    int status = stopped(pg, path);
    if (status)
        return status;
    if (pg)
        cli_progress_clear(pg);
    cli_error(source, err->msg);
    return ckptfs_exit_for(rc);
}

/* Say that path could not be written (errno e); the exit status for it. */
static int cannot_write(cli_progress *pg, const char *path, int e)
{
    if (pg)
        cli_progress_clear(pg);
    fprintf(stderr, "ckptfs: %s: cannot write: %s\n", path, strerror(e));
    return CKPTFS_EXIT_WRITE;
}

/* Where the bytes go: DST itself (a device or pipe) or a temporary file renamed to it. */
typedef struct dest {
    const char *path;
    char *tmp; /* the temporary name, or NULL when writing path directly */
    int fd;
    int force;       /* the rename may replace an existing path */
    int sync;        /* fsync before the rename (--sync) */
    int kcopy;       /* the kernel may copy into it: -1 not tried yet, 0 refused, 1 does */
    cli_kcheck *chk; /* checksums what the kernel copied into it, once it has */
    struct {
        int busy;         /* a piece is with chk */
        size_t var;       /* whose */
        uint64_t off, n;  /* where in the variable */
        ckpt_crc_track t; /* the variable's checksum so far */
    } pend;
} dest;

/* Open the destination; 0, or an exit status after a message. */
static int dest_open(dest *d, const char *path, int force, int sync)
{
    *d = (dest){.path = path, .fd = -1, .force = force, .sync = sync};
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        d->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (d->fd < 0)
            goto fail;
        return 0;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (!force && access(path, F_OK) == 0) {
        fprintf(stderr, "ckptfs: %s: exists; --force replaces it\n", path);
        return CKPTFS_EXIT_WRITE;
    }
    /* In DST's directory, so the rename is atomic; hidden, so a listing shows no half file. */
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    size_t need = strlen(path) + 32;
    d->tmp = malloc(need);
    if (!d->tmp) {
        errno = ENOMEM;
        goto fail;
    }
    snprintf(d->tmp, need, "%.*s.%s.ckptfs-XXXXXX", (int)dir, path, path + dir);
    d->fd = mkostemp(d->tmp, O_CLOEXEC);
    if (d->fd < 0) {
        free(d->tmp);
        d->tmp = NULL;
        goto fail;
    }
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(d->fd, 0666 & ~um);
    d->kcopy = -1; /* a regular file open for reading too: cli_kcopy can check what it wrote */
    return 0;
fail:
    return cannot_write(NULL, path, errno);
}

/* Give up: remove the temporary file. */
static void dest_abort(dest *d)
{
    cli_kcheck_stop(d->chk);
    d->chk = NULL;
    if (d->fd >= 0)
        close(d->fd);
    if (d->tmp)
        unlink(d->tmp);
    free(d->tmp);
    d->fd = -1;
    d->tmp = NULL;
}

/* Finish: flush to disk and give the file its name; 0, or an exit status after a message. */
static int dest_commit(dest *d)
{
    int rc = 0;
    /* The rename alone keeps a half-written file from ever bearing DST's name; durability
     * across a crash is what --sync adds, at the cost of waiting for the disk (cp does not). */
    cli_kcheck_stop(d->chk);
    d->chk = NULL;
    if (d->tmp && d->sync && fsync(d->fd) != 0)
        rc = -1;
    if (close(d->fd) != 0)
        rc = -1;
    d->fd = -1;
    /* Not replacing what appeared at DST while we wrote, unless told to; where the file
     * system has no RENAME_NOREPLACE (EINVAL: some network and FUSE ones), link() is the same
     * promise. */
    if (rc == 0 && d->tmp &&
        renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->path, d->force ? 0 : RENAME_NOREPLACE) != 0) {
        if (errno == EINVAL && !d->force && link(d->tmp, d->path) == 0)
            unlink(d->tmp);
        else
            rc = -1;
    }
    if (rc) {
        rc = cannot_write(NULL, d->path, errno);
        dest_abort(d);
        return rc;
    }
    free(d->tmp);
    d->tmp = NULL;
    return 0;
}

/* Whether variable i is one the kernel can copy into d: stored as itself in a local shard,
 * with a checksum to check the copy against, large enough to be worth it. */
static int kcopy_fits(const dest *d, const ckpt_checkpoint *c, size_t i)
{
    ckpt_var v;
    ckpt_crc_track t;
    ckpt_get(c, i, &v);
    return d->kcopy != 0 && v.nbytes >= KCOPY_MIN &&
           !(v.flags & (CKPT_VAR_SHARD_MISSING | CKPT_VAR_PARTITIONED)) &&
           ckpt_shard_fd(c, v.shard) >= 0 && ckpt_track_init(c, i, &t) == 0;
}

/*
 * Take the checksum of the piece d's checker holds, if any, and add it to its variable's: 0,
 * or a negative CKPT_E_* with err set when the variable's bytes as written differ from its
 * stored checksum or could not be read back.
 */
static int kcheck_settle(dest *d, const ckpt_checkpoint *c, ckpt_err *err)
{
    if (!d->pend.busy)
        return 0;
    d->pend.busy = 0;
    uint32_t crc;
    if (cli_kcheck_take(d->chk, &crc) != 0)
        return ckpt_err_set(err, CKPT_E_IO, "%s: reading back %s failed: %s",
                            ckpt_var_path(c, d->pend.var), d->path, strerror(errno));
    enum ckpt_crc_track_result r = ckpt_crc_track_add(&d->pend.t, d->pend.off, d->pend.n, crc);
    if (r == CKPT_TRACK_MISMATCH)
        return ckpt_track_mismatch(c, d->pend.var, &d->pend.t, err);
    if (r != CKPT_TRACK_MATCH && d->pend.off + d->pend.n == d->pend.t.total)
        return ckpt_err_set(err, CKPT_E_IO, "%s: its checksum was not followed to its end",
                            ckpt_var_path(c, d->pend.var)); /* never: the pieces come in order */
    return 0;
}

/* kcheck_settle once d's last piece is written: 0, or an exit status after a message. */
static int kcheck_finish(dest *d, const ckpt_checkpoint *c, const char *source)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = kcheck_settle(d, c, &err);
    if (rc == 0)
        return 0;
    cli_error(source, err.msg);
    return ckptfs_exit_for(rc);
}

/*
 * Append variable i (kcopy_fits) to d in the kernel, once pw has written what it holds. Each
 * piece is checksummed as it stands in d by d's checker while the next one copies
 * (kcheck_settle takes the last one); the whole is compared with the stored CRC-32C. 0 (*crc
 * the stored checksum), 1 when the kernel refused before writing anything (copy it the other
 * way), an exit status after a message, or a negative CKPT_E_* with err set.
 */
static int kcopy_var(dest *d, cli_pw *pw, cli_progress *pg, ckpt_checkpoint *c, size_t i,
                     uint32_t *crc, ckpt_err *err)
{
    ckpt_var v;
    ckpt_crc_track t;
    ckpt_get(c, i, &v);
    if (ckpt_track_init(c, i, &t) != 0)
        return 1;
    if (!d->chk && !(d->chk = cli_kcheck_start(d->fd)))
        return 1; /* out of memory: the other way needs none */
    if (cli_pw_flush(pw) != 0)
        return cannot_write(pg, d->path, errno);
    int in = ckpt_shard_fd(c, v.shard);
    for (uint64_t off = 0; off < v.nbytes;) {
        int status = stopped(pg, d->path);
        if (status)
            return status;
        uint64_t n = v.nbytes - off < KCOPY_PIECE ? v.nbytes - off : KCOPY_PIECE, at, done;
        int rc = cli_kcopy(in, v.offset + off, d->fd, n, &at, &done);
        if (rc == CLI_KCOPY_UNSUPPORTED && off == 0) {
            d->kcopy = 0;
            return 1;
        }
        if (rc == CLI_KCOPY_SHORT)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: variable \"%s\" ends short of its size at byte %" PRIu64,
                                ckpt_var_path(c, i), v.name, off + done);
        if (rc) {
            /* failed, or refused by the kernel after it copied the first pieces */
            int e = errno;
            if (e == ENOSPC || e == EDQUOT || e == EFBIG || e == EROFS)
                return cannot_write(pg, d->path, e);
            return ckpt_err_set(err, CKPT_E_IO, "%s: variable \"%s\": copy to %s failed: %s",
                                ckpt_var_path(c, i), v.name, d->path, strerror(e));
        }
        d->kcopy = 1;
        if ((rc = kcheck_settle(d, c, err)) != 0)
            return rc;
        if (off == 0)
            d->pend.t = t;
        d->pend.busy = 1;
        d->pend.var = i;
        d->pend.off = off;
        d->pend.n = n;
        cli_kcheck_put(d->chk, at, n);
        off += n;
        cli_progress_add(pg, n);
    }
    *crc = v.crc32c;
    return 0;
}

/* The first tensor of l from t on that the kernel may copy into d (kcopy_fits), or l->n. */
static size_t next_kcopy(const ckpt_st_layout *l, const ckpt_checkpoint *c, const dest *d, size_t t)
{
    while (t < l->n && !(l->start[t + 1] - l->start[t] >= KCOPY_MIN && kcopy_fits(d, c, l->var[t])))
        t++;
    return t;
}

/* Stream the layout's bytes into d: large tensors copied by the kernel (kcopy_var), the rest
 * read straight into the writer thread's buffers; 0, or an exit status after a message. */
static int copy_out(const char *source, ckpt_checkpoint *c, const ckpt_st_layout *l, dest *d)
{
    cli_pw *pw;
    if (cli_pw_start(d->fd, EXPORT_CHUNK, &pw))
        return cannot_write(NULL, d->path, errno);
    cli_progress pg;
    cli_progress_start(&pg, l->total);
    ckpt_st_cursor cur = {0, {0, 0}};
    size_t next = next_kcopy(l, c, d, 0);
    int status = 0;
    for (uint64_t off = 0; off < l->total && !status;) {
        if ((status = stopped(&pg, d->path)) != 0)
            break;
        ckpt_err err;
        ckpt_err_clear(&err);
        if (next < l->n && off == l->start[next]) {
            uint32_t crc;
            int rc = kcopy_var(d, pw, &pg, c, l->var[next], &crc, &err);
            if (rc == 0) {
                off = l->start[next + 1];
                next = next_kcopy(l, c, d, next + 1);
                continue;
            }
            if (rc != 1) {
                status = rc < 0 ? read_failed(&pg, source, d->path, rc, &err) : rc;
                break;
            }
            next = l->n; /* refused: the kernel copies nothing into d */
        }
        uint64_t end = next < l->n ? l->start[next] : l->total;
        size_t got = 0, room;
        uint8_t *buf = cli_pw_space(pw, &room);
        if (buf && room > end - off)
            room = (size_t)(end - off);
        int rc = buf ? ckpt_st_read(c, l, &cur, buf, room, off, &got, &err) : 0;
        if (rc) {
            status = read_failed(&pg, source, d->path, rc, &err);
        } else if (!buf || cli_pw_commit(pw, got) != 0) {
            status = cannot_write(&pg, d->path, errno);
        }
        off += got;
        cli_progress_add(&pg, got);
    }
    if (cli_pw_finish(pw) != 0 && status == 0)
        status = cannot_write(&pg, d->path, errno);
    cli_progress_clear(&pg);
    if (status == 0)
        status = kcheck_finish(d, c, source);
    return status;
}

/* What the options ask of the files written. */
typedef struct export_opts {
    int force; /* --force */
    int sync;  /* --sync */
} export_opts;

static int export_to(ckpt_namefilter *f, int npos, const char **pos, const export_opts *eo);

static int cli_export(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_export_command);
    ckpt_namefilter f = {NULL, NULL, NULL};
    export_opts eo = {0, 0};
    int npos = 0, done = 0;
    const char *pos[2];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int inc = !done && !strcmp(a, "--include"), exc = !done && !strcmp(a, "--exclude");
        if (inc || exc) {
            if (i + 1 >= argc) {
                ckpt_namefilter_free(&f);
                return cli_usage_error(&cli_export_command, "option %s needs a value", a);
            }
            if (ckpt_namefilter_add(&f, inc, argv[++i])) {
                ckpt_namefilter_free(&f);
                cli_error(a, "out of memory");
                return CKPTFS_EXIT_READ;
            }
        } else if (!done && !strcmp(a, "--force")) {
            eo.force = 1;
        } else if (!done && !strcmp(a, "--sync")) {
            eo.sync = 1;
        } else if (!done && !strcmp(a, "--")) {
            done = 1;
        } else if (!done && a[0] == '-' && a[1]) {
            ckpt_namefilter_free(&f);
            return cli_usage_error(&cli_export_command, "unknown option %s", a);
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            ckpt_namefilter_free(&f);
            return cli_usage_error(&cli_export_command, "too many arguments");
        }
    }
    int status = export_to(&f, npos, pos, &eo);
    ckpt_namefilter_free(&f);
    return status;
}

/* The export once the command line is parsed. */
/* The safetensors export: its layout, then its bytes into d. */
static int export_safetensors(const char *source, ckpt_checkpoint *c, const char *dst,
                              const export_opts *eo)
{
    ckpt_st_layout l;
    ckpt_err err;
    ckpt_err_clear(&err);
    /* full names for __metadata__, read now that the filters have hidden what they hide */
    ckpt_names *names = NULL;
    if (ckpt_names_load(c, &names, &err)) {
        cli_error(source, err.msg);
        names = NULL;
    }
    ckpt_err_clear(&err);
    int rc = ckpt_st_build(c, names, &l, &err);
    ckpt_names_free(names);
    if (rc) {
        cli_error(source, err.msg);
        return ckptfs_exit_for(rc);
    }
    dest d;
    int status = dest_open(&d, dst, eo->force, eo->sync);
    if (status == 0) {
        status = copy_out(source, c, &l, &d);
        if (status)
            dest_abort(&d);
        else
            status = dest_commit(&d);
    }
    ckpt_st_free(&l);
    return status;
}

/* What the V2 export is writing: the data file, the entries of the index so far. */
typedef struct v2_out {
    const char *source;
    ckpt_checkpoint *c;
    dest data;
    ckpt_wentry *e;
    size_t n;
    uint64_t at; /* bytes of the data file so far */
    cli_pw *pw;  /* the data file's writer */
    cli_progress pg;
    int pruned; /* the object graph was rewritten */
} v2_out;

/* Append p[0..n) to the data file; 0, or an exit status after a message. */
static int v2_write(v2_out *o, const void *p, size_t n)
{
    int status = stopped(&o->pg, o->data.path);
    if (status)
        return status;
    if (cli_pw_write(o->pw, p, n) != 0)
        return cannot_write(&o->pg, o->data.path, errno);
    o->at += n;
    return 0;
}

/* A fixed-size tensor: streamed in pieces, read straight into the writer's buffers and checked
 * against its stored CRC as it goes; its CRC for the new entry is that running CRC (the same
 * bytes), computed here only for what ckpt_read does not checksum (partitioned variables). */
static int v2_numeric(v2_out *o, size_t i, const ckpt_var *v, uint32_t *crc, ckpt_err *err)
{
    ckpt_crc_state st = {0, 0};
    uint32_t own = 0;
    int tracked = 1; /* st.crc covers every byte so far */
    uint64_t off = 0;
    int werr = 0;
    while (off < v->nbytes) {
        int status = stopped(&o->pg, o->data.path);
        if (status)
            return status;
        size_t got, room;
        uint8_t *buf = cli_pw_space(o->pw, &room);
        if (!buf) {
            werr = errno;
            break;
        }
        int rc = ckpt_read(o->c, i, buf, room, off, &got, &st, err);
        if (rc)
            return rc;
        if (got == 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "variable \"%s\": short read at %" PRIu64,
                                v->name, off);
        tracked = tracked && st.pos == off + got;
        if (!tracked)
            own = ckpt_crc32c_extend(own, buf, got);
        if (cli_pw_commit(o->pw, got) != 0) {
            werr = errno;
            break;
        }
        off += got;
        o->at += got;
        cli_progress_add(&o->pg, got);
    }
    if (werr)
        return cannot_write(&o->pg, o->data.path, werr);
    *crc = tracked ? st.crc : own;
    return 0;
}

/* A string tensor: decoded (checksums checked), the object graph pruned when variables were
 * hidden, encoded again as TF stores strings. */
static int v2_strings(v2_out *o, size_t i, const ckpt_var *v, int filtered, uint64_t *size,
                      uint32_t *crc, ckpt_err *err)
{
    uint8_t *raw = NULL, *enc = NULL, *pruned = NULL;
    ckpt_str *el = NULL, *check = NULL;
    uint64_t n;
    size_t len = 0;
    int rc = ckpt_read_strings(o->c, i, &raw, &el, &n, err);
    if (rc)
        return rc;
    if (filtered && n == 1 && v->name_len == strlen(CKPT_OBJECT_GRAPH_KEY) &&
        !memcmp(v->name, CKPT_OBJECT_GRAPH_KEY, v->name_len)) {
        size_t plen, dropped;
        rc = ckpt_objgraph_prune(o->c, el[0].ptr, (size_t)el[0].len, &pruned, &plen, &dropped, err);
        if (rc == 0 && dropped) {
            el[0].ptr = pruned;
            el[0].len = plen;
            o->pruned = 1;
        }
    }
    if (rc == 0)
        rc = ckpt_tstring_encode(el, n, &enc, &len, err);
    if (rc == 0)
        rc = ckpt_tstring_decode(enc, len, n, &check, crc, err);
    int status = rc ? rc : v2_write(o, enc, len);
    *size = len;
    cli_progress_add(&o->pg, v->nbytes);
    free(raw);
    free(el);
    free(check);
    free(enc);
    free(pruned);
    return status;
}

/*
 * Variable i into the data file and its entry; 0, 1 when it cannot go into a bundle here (a
 * warning names it), or an exit status (negative CKPT_E_* codes are read failures, in err).
 */
static int v2_var(v2_out *o, size_t i, int filtered, ckpt_err *err)
{
    ckpt_var v;
    ckpt_get(o->c, i, &v);
    ckpt_wentry *e = &o->e[o->n];
    *e = (ckpt_wentry){v.name, v.name_len, v.dtype, v.rank, v.dims, o->at, v.nbytes, 0};
    int rc = 1;
    if (ckpt_dtype_size(v.dtype) && kcopy_fits(&o->data, o->c, i)) {
        rc = kcopy_var(&o->data, o->pw, &o->pg, o->c, i, &e->crc, err);
        if (rc == 0)
            o->at += v.nbytes;
    }
    if (rc != 1) {
        /* copied by the kernel, or failed */
    } else if (ckpt_dtype_size(v.dtype)) {
        rc = v2_numeric(o, i, &v, &e->crc, err);
    } else if (v.dtype == CKPT_DT_STRING) {
        rc = v2_strings(o, i, &v, filtered, &e->size, &e->crc, err);
    } else if (v.dtype == CKPT_DT_VARIANT && (v.flags & CKPT_VAR_HAS_CRC) &&
               !(v.flags & CKPT_VAR_PARTITIONED)) {
        /* stored whole: its bytes and checksum as TF wrote them (ckpt_read_all checks it) */
        uint8_t *all;
        size_t len;
        rc = ckpt_read_all(o->c, i, &all, &len, err);
        if (rc == 0) {
            rc = v2_write(o, all, len);
            free(all);
        }
        e->crc = v.crc32c;
        cli_progress_add(&o->pg, v.nbytes);
    } else {
        char dn[32];
        cli_progress_clear(&o->pg);
        fprintf(stderr, "ckptfs: %s: warning: \"%.*s\" (%s%s) left out of the bundle\n", o->source,
                (int)v.name_len, v.name, ckpt_dtype_name(v.dtype, dn, sizeof dn),
                (v.flags & CKPT_VAR_PARTITIONED) ? ", partitioned" : "");
        cli_progress_add(&o->pg, v.nbytes);
        return 1;
    }
    if (rc == 0)
        o->n++;
    return rc;
}

/*
 * The V2 export: PREFIX.data-00000-of-00001 streamed (tensors back to back, in index order),
 * then PREFIX.index built from the entries; each under a temporary name, the data file renamed
 * first so that the index never names bytes that are not there.
 */
static int export_v2(const char *source, ckpt_checkpoint *c, const char *prefix,
                     const export_opts *eo, int filtered)
{
    size_t plen = strlen(prefix);
    char *data_path = malloc(plen + 32), *index_path = malloc(plen + 8);
    v2_out o = {.source = source, .c = c, .data = {.fd = -1}};
    size_t count = ckpt_count(c);
    o.e = malloc((count ? count : 1) * sizeof *o.e);
    int status = 0;
    if (!data_path || !index_path || !o.e) {
        cli_error(source, "out of memory");
        status = CKPTFS_EXIT_READ;
        goto out;
    }
    sprintf(data_path, "%s.data-00000-of-00001", prefix);
    sprintf(index_path, "%s.index", prefix);
    if (!eo->force && (access(data_path, F_OK) == 0 || access(index_path, F_OK) == 0)) {
        fprintf(stderr, "ckptfs: %s: exists; --force replaces it\n",
                access(index_path, F_OK) == 0 ? index_path : data_path);
        status = CKPTFS_EXIT_WRITE;
        goto out;
    }
    status = dest_open(&o.data, data_path, eo->force, eo->sync);
    if (status)
        goto out;
    if (cli_pw_start(o.data.fd, EXPORT_CHUNK, &o.pw)) {
        status = cannot_write(NULL, data_path, errno);
        dest_abort(&o.data);
        goto out;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        total += v.nbytes;
    }
    cli_progress_start(&o.pg, total);
    size_t left_out = 0;
    for (size_t i = 0; i < count && !status; i++) {
        ckpt_err err;
        ckpt_err_clear(&err);
        int rc = v2_var(&o, i, filtered, &err);
        if (rc == 1) {
            left_out++;
        } else if (rc < 0) {
            status = read_failed(&o.pg, source, data_path, rc, &err);
        } else {
            status = rc;
        }
    }
    if (cli_pw_finish(o.pw) != 0 && status == 0)
        status = cannot_write(NULL, data_path, errno);
    cli_progress_clear(&o.pg);
    if (status == 0)
        status = kcheck_finish(&o.data, c, source);
    uint8_t *index = NULL;
    size_t ilen = 0;
    if (status == 0) {
        ckpt_err err;
        ckpt_err_clear(&err);
        int rc = ckpt_bundle_index(o.e, o.n, &index, &ilen, &err);
        if (rc) {
            cli_error(source, err.msg);
            status = ckptfs_exit_for(rc);
        }
    }
    dest di = {.fd = -1};
    if (status == 0)
        status = dest_open(&di, index_path, eo->force, eo->sync);
    if (status == 0 && write_all(di.fd, index, ilen) != 0)
        status = cannot_write(NULL, index_path, errno);
    free(index);
    if (status == 0)
        status = dest_commit(&o.data);
    if (status == 0) {
        status = dest_commit(&di);
        if (status)
            unlink(data_path); /* no data file without its index */
    }
    if (status) {
        dest_abort(&o.data);
        dest_abort(&di);
    } else if (left_out) {
        fprintf(stderr, "ckptfs: %s: %zu variable(s) left out (named above)\n", prefix, left_out);
    }
    if (status == 0 && o.pruned)
        fprintf(stderr, "ckptfs: %s: object graph rewritten without the excluded variables\n",
                prefix);
out:
    free(data_path);
    free(index_path);
    free(o.e);
    return status;
}

static int export_to(ckpt_namefilter *f, int npos, const char **pos, const export_opts *eo)
{
    if (npos < 2)
        return cli_usage_error(&cli_export_command, "needs SOURCE and DST");
    const char *source = pos[0], *dst = pos[1];
    struct stat st;
    int special = stat(dst, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
    int safetensors = special || ckpt_ends_with(dst, ".safetensors");
    if (!safetensors && (dst[0] == 0 || dst[strlen(dst) - 1] == '/' ||
                         (stat(dst, &st) == 0 && S_ISDIR(st.st_mode))))
        return cli_usage_error(&cli_export_command,
                               "DST must be NAME.safetensors or a checkpoint prefix, not a "
                               "directory: %s",
                               dst);
    ckpt_checkpoint *c;
    ckpt_net_opts net;
    ckpt_net_opts_init(&net);
    net.cancel = &cancel_requests;
    int rc = cli_open_source_net(source, &net, &c);
    if (rc)
        return rc;
    int filtered = ckpt_namefilter_active(f);
    ckpt_err err;
    if (filtered && ckpt_namefilter_apply(f, c, &err)) {
        cli_error(source, err.msg);
        ckpt_close(c);
        return CKPTFS_EXIT_READ;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    int status = safetensors ? export_safetensors(source, c, dst, eo)
                             : export_v2(source, c, dst, eo, filtered);
    ckpt_close(c);
    return status;
}
