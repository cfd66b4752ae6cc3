/*
 * mount.c - the mount command: check everything, mount, then serve (see mount.h).
 *
 * Order matters: the checkpoint is opened, the mountpoint checked and the kernel mount made
 * while the command still has its terminal, so every failure is reported with its own exit
 * code. Only then does the process fork; the parent waits on a pipe until the daemon has
 * answered the kernel's INIT (the mount serves requests) and exits 0.
 */
#include "mount.h"
#include "util.h"

#include "archive.h"
#include "bytesrc_local.h"
#include "resolve.h"

#include "escape.h"
#include "exitcodes.h"
#include "folder.h"
#include "file.h"
#include "hangup.h"
#include "ll.h"
#include "mntopts.h"
#include "render.h"
#include "tree.h"
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Name for messages: how the user invoked us. */
static const char *prog = "mount.ckptfs";

static void usage(FILE *f)
{
    fprintf(f, "usage: mount.ckptfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
               "       ckptfs mount SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
               "SOURCE is a checkpoint prefix (model.ckpt) or any of its files, a SavedModel\n"
               "directory, or a training folder (one subdirectory per checkpoint; its state\n"
               "file DIR/checkpoint means the folder; an empty directory mounts empty and\n"
               "fills in as a run saves); or any of those as an http://, https://, s3:// or\n"
               "gs:// URL, or inside a .zip, .tar or .tar.gz as ARCHIVE//PATH (the archive\n"
               "alone: what it holds, one subdirectory each when it holds several).\n"
               "A TF 2 checkpoint shows each value at its object path (no\n"
               "/.ATTRIBUTES/VARIABLE_VALUE) and by_name/FULL_NAME links.\n"
               "  -f   stay in the foreground     -d  debug output (implies -f)\n"
               "  -s   single-threaded\n"
               "options (-o): uid=N gid=N umask=OOO allow_other allow_root npy stats\n"
               "              timeout=SECONDS\n"
               "              max_threads=N read=buf|splice verify=sequential|open|off\n"
               "              nosuid nodev noexec noatime shard_cache=auto|on|off\n"
               "              cache_size=64M (URL sources, cached shards)\n"
               "              cache_dir=DIR net_timeout=30 (URL sources)\n"
               "              poll=1 idle=30 noinotify (training folders)\n"
               "              force (accepted, does nothing: missing shards never refuse a mount)\n"
               "The mount is always read-only. A daemon (no -f) logs to syslog. See\n"
               "mount.ckptfs(8).\n");
}

static void warn_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s: warning: %s\n", prog, msg);
}

/* Absolute form of the source for /proc/mounts (a prefix need not exist as a file). */
static char *absolute_source(const char *src)
{
    if (!ckpt_name_is_local(src))
        return strdup(src);
    char *archive, *inner;
    if (ckpt_archive_split(src, &archive, &inner) == 1) {
        /* The archive's own path made absolute; the "//" and the path inside stay as they
         * are, or the source would name something else (docs/archives.md). */
        char *abs = realpath(archive, NULL), *out = NULL;
        size_t n = (abs ? strlen(abs) : 0) + strlen(inner) + 3;
        if (abs && (out = malloc(n)))
            snprintf(out, n, "%s%s%s", abs, *inner ? "//" : "", inner);
        free(abs);
        free(archive);
        free(inner);
        return out ? out : strdup(src);
    }
    char *r = realpath(src, NULL);
    if (r)
        return r;
    char *d1 = strdup(src), *d2 = strdup(src);
    char *out = NULL;
    if (d1 && d2) {
        char *dir = realpath(dirname(d1), NULL);
        const char *base = basename(d2);
        if (dir) {
            size_t n = strlen(dir) + strlen(base) + 2;
            out = malloc(n);
            if (out)
                snprintf(out, n, "%s/%s", strcmp(dir, "/") ? dir : "", base);
            free(dir);
        }
    }
    free(d1);
    free(d2);
    return out ? out : strdup(src);
}

/* Escape ',' and '\' for a libfuse -o value. */
static char *opt_escape(const char *s)
{
    char *out = malloc(2 * strlen(s) + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == ',' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p = '\0';
    return out;
}

static void ckfs_destroy(ckfs *fs)
{
    if (!fs)
        return;
    ckfs_files_close_all(fs);
    if (fs->ns)
        fs->ns->ops->destroy(fs->ns);
    pthread_mutex_destroy(&fs->files_mu);
    ckfs_textlru_destroy(&fs->texts);
    free(fs);
}

/* What the -o options ask of remote sources. */
static void net_opts(const ckfs_opts *o, _Atomic int *cancel, ckpt_net_opts *n)
{
    ckpt_net_opts_init(n);
    n->cancel = cancel;
    if (o->cache_size)
        n->cache_size = o->cache_size;
    if (o->cache_dir[0])
        n->cache_dir = o->cache_dir;
    if (o->net_timeout)
        n->timeout_sec = o->net_timeout;
}

/*
 * The name space of a resolved source s: a training folder's, or one checkpoint's. Missing
 * data shards do not refuse the mount (as TensorFlow lists such a checkpoint): everything is
 * listed, reading a variable of a missing shard fails with EIO and a log line. A remote
 * folder's source goes to the name space; a remote SavedModel's saved_model.pb goes to *sm
 * when it is still NULL.
 */
static int open_ns(ckpt_source *s, const ckfs_opts *o, char **sm, ckfs_ns **ns, ckpt_err *err)
{
    if (s->folder) {
        ckpt_bytesrc *remote = s->remote ? (ckpt_bytesrc *)s->src : NULL;
        s->remote = 0; /* taken over by the name space */
        return ckfs_ns_folder(s->prefix, remote, o, warn_stderr, NULL, ns, err);
    }
    ckpt_checkpoint *c;
    int rc = ckpt_open_src(s->src, s->prefix, CKPT_OPEN_MISSING_SHARDS_OK, &c, err);
    if (rc)
        return rc;
    if (!*sm && s->remote && s->saved_model)
        *sm = strdup(s->saved_model);
    ckpt_warn_missing_shards(c, warn_stderr, NULL);
    if (ckfs_ns_single(c, *sm, o, warn_stderr, NULL, ns))
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory building the tree of %s", s->prefix);
    return 0;
}

/* Say why mountpoint mnt cannot be used (errno e of a call on it); the exit code. */
static int mountpoint_error(const char *mnt, int e)
{
    /* A FUSE daemon killed without unmounting leaves its mount answering ENOTCONN; the
     * kernel's wording alone does not say what to do about it. */
    if (e == ENOTCONN || e == ECONNABORTED)
        fprintf(stderr,
                "%s: mountpoint %s: transport endpoint is not connected (a FUSE "
                "mount whose daemon is gone): unmount it with fusermount3 -u %s, "
                "then mount again\n",
                prog, mnt, mnt);
    else
        fprintf(stderr, "%s: mountpoint %s: %s\n", prog, mnt, strerror(e));
    return CKPTFS_EXIT_MOUNTPOINT;
}

/* mountinfo's escape of a path (space, tab, newline and backslash as \ooo) into out. */
static void mountinfo_escape(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s && o + 5 < size; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
            o += (size_t)snprintf(out + o, size - o, "\\%03o", (unsigned char)*s);
        else
            out[o++] = *s;
    }
    out[o] = '\0';
}

/*
 * A ckptfs mount already on mnt: stacking a second one would hide the first with no word (a
 * reader of the path then sees the new checkpoint). Its source in *what (mountinfo's form).
 */
static int ckptfs_mounted_on(const char *mnt, char *what, size_t size)
{
    char *real = realpath(mnt, NULL);
    FILE *f = real ? fopen("/proc/self/mountinfo", "r") : NULL;
    char want[3 * PATH_MAX], line[4 * PATH_MAX];
    int found = 0;
    if (f) {
        mountinfo_escape(real, want, sizeof want);
        while (!found && fgets(line, sizeof line, f)) {
            /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTS */
            char *save = NULL, *tok = strtok_r(line, " ", &save);
            for (int k = 0; tok && k < 4; k++)
                tok = strtok_r(NULL, " ", &save);
            if (!tok || strcmp(tok, want) != 0)
                continue;
            while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0)
                ;
            char *type = tok ? strtok_r(NULL, " ", &save) : NULL;
            char *src = type ? strtok_r(NULL, " ", &save) : NULL;
            if (type && (!strcmp(type, "fuse.ckptfs") || !strcmp(type, "fuse.mount.ckptfs"))) {
                snprintf(what, size, "%s", src ? src : "?");
                found = 1;
            }
        }
        fclose(f);
    }
    free(real);
    return found;
}

static int check_mountpoint(const char *mnt)
{
    struct stat st;
    struct statvfs sv;
    /* stat alone passes on a dead FUSE mount that was in use (the kernel answers from its
     * attribute cache, a day long for ours); statfs is never cached: it reaches the daemon,
     * or fails with ENOTCONN when there is none. */
    if (stat(mnt, &st) != 0 || statvfs(mnt, &sv) != 0)
        return mountpoint_error(mnt, errno);
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: mountpoint %s: not a directory\n", prog, mnt);
        return CKPTFS_EXIT_MOUNTPOINT;
    }
    if (access(mnt, R_OK | X_OK) != 0)
        return mountpoint_error(mnt, errno);
    char what[PATH_MAX];
    if (ckptfs_mounted_on(mnt, what, sizeof what)) {
        fprintf(stderr,
                "%s: mountpoint %s already has a ckptfs mount of %s; unmount it first "
                "(fusermount3 -u %s): a second mount would hide it\n",
                prog, mnt, what, mnt);
        return CKPTFS_EXIT_MOUNTPOINT;
    }
    return 0;
}

/* The daemon's context for name space ns (taken over). NULL when out of memory. */
static ckfs *make_context(ckfs_ns *ns, const ckfs_opts *o)
{
    ckfs *fs = calloc(1, sizeof(*fs));
    if (!fs) {
        ns->ops->destroy(ns);
        return NULL;
    }
    fs->opts = *o;
    fs->ready_fd = -1;
    fs->foreground = 1;
    ckfs_textlru_init(&fs->texts);
    pthread_mutex_init(&fs->files_mu, NULL);
    fs->ns = ns;
    /* From here on the name space's lines go where the daemon's go. */
    ns->opts = &fs->opts;
    ns->log = ckfs_log_line;
    ns->log_ctx = fs;
    return fs;
}

/* DIR/saved_model.pb when source is a SavedModel directory or that file (malloc'd), else
 * NULL. */
static char *saved_model_pb(const char *source)
{
    size_t sl = strlen(source);
    if (sl >= 14 && !strcmp(source + sl - 14, "saved_model.pb") &&
        (sl == 14 || source[sl - 15] == '/') && ckpt_is_regular_file(source))
        return realpath(source, NULL);
    if (!ckpt_is_directory(source))
        return NULL;
    size_t n = strlen(source) + sizeof "/saved_model.pb";
    char *p = malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, "%s/saved_model.pb", source);
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(p);
        return NULL;
    }
    char *abs = realpath(p, NULL);
    free(p);
    return abs;
}

static int serve(ckfs *fs, int single, unsigned max_threads)
{
    struct fuse_session *se = fs->se;
    if (fuse_set_signal_handlers(se) != 0)
        return -1;
    ckfs_watchdog watchdog;
    if (ckfs_watchdog_start(&watchdog, fs, pthread_self()) != 0)
        ckfs_log(fs, "cannot start the -o timeout watchdog: it is not in effect");
    ckfs_hangup_watch hangup;
    if (ckfs_hangup_start(&hangup, se, fs->net_cancel) != 0)
        ckfs_log(fs, "cannot start the hangup watcher: an unmount waits for slow requests");
    int rc;
    if (single) {
        rc = fuse_session_loop(se);
    } else {
        struct fuse_loop_config *cfg = fuse_loop_cfg_create();
        if (!cfg) {
            ckfs_hangup_stop(&hangup);
            ckfs_watchdog_stop(&watchdog);
            fuse_remove_signal_handlers(se);
            return -1;
        }
        fuse_loop_cfg_set_clone_fd(cfg, 0);
        if (max_threads)
            fuse_loop_cfg_set_max_threads(cfg, max_threads);
        rc = fuse_session_loop_mt(se, cfg);
        fuse_loop_cfg_destroy(cfg);
    }
    ckfs_hangup_stop(&hangup);
    ckfs_watchdog_stop(&watchdog);
    fuse_remove_signal_handlers(se);
    /* libfuse returns the number of the signal that ended the loop: SIGTERM from -o timeout's
     * watchdog, or SIGINT/SIGHUP/SIGTERM from a user, are a clean end, not a FUSE failure. */
    if (rc == SIGTERM || rc == SIGINT || rc == SIGHUP)
        rc = 0;
    return rc;
}

/* Child side of the fork: detach, serve until unmounted, clean up. */
static void run_daemon(ckfs *fs, int ready_fd, int single)
{
    fs->ready_fd = ready_fd;
    fs->foreground = 0;
    ckfs_syslog_init(&fs->syslog);
    if (setsid() < 0) {
        /* Already a session leader: fine. */
    }
    if (chdir("/") != 0) {
        /* Cannot fail for "/"; nothing depends on the directory anyway. */
    }
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        if (nul > 2)
            close(nul);
    }
    int rc = serve(fs, single, fs->opts.max_threads);
    if (fs->ready_fd >= 0) /* never got INIT: the parent reads EOF and reports it */
        close(fs->ready_fd);
    fuse_session_unmount(fs->se);
    fuse_session_destroy(fs->se);
    ckfs_destroy(fs);
    ckfs_syslog_close(&fs->syslog);
    exit(rc == 0 ? 0 : CKPTFS_EXIT_FUSE);
}

/*
 * The name space the source shows (a training folder, or one checkpoint or SavedModel), with
 * the mountpoint checked: what can fail at mount time fails here, with its exit code.
 */
static int make_ns(const char *source, const char *mnt, const ckfs_opts *o, _Atomic int *cancel,
                   ckfs_ns **ns)
{
    char *sm = saved_model_pb(source);
    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_net_opts net;
    net_opts(o, cancel, &net);
    ckpt_source s;
    int rc = ckpt_source_resolve(
        source, &net, sm ? 0 : CKPT_RESOLVE_FOLDER | CKPT_RESOLVE_EMPTY_FOLDER, &s, &err);
    int waiting = rc == 0 && s.waiting;
    if (rc == 0) {
        rc = open_ns(&s, o, &sm, ns, &err);
        ckpt_source_free(&s);
    }
    if (rc) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        rc = rc == CKPT_E_NOMEM ? CKPTFS_EXIT_READ : ckptfs_exit_for(rc);
        goto out;
    }
    rc = check_mountpoint(mnt);
    if (rc) {
        (*ns)->ops->destroy(*ns);
        *ns = NULL;
    } else if (waiting) {
        fprintf(stderr,
                "%s: %s holds no checkpoint yet: mounted as an empty training folder, "
                "waiting for the first save\n",
                prog, source);
    }
out:
    free(sm);
    return rc;
}

/* The kernel mount options for source: read-only, named after it in /proc/mounts. */
static char *kernel_options(const char *source, const ckfs_opts *o)
{
    /* /proc/mounts is world-readable: never a URL's password there */
    char *shown = ckpt_url_redact(source);
    char *esc = shown ? opt_escape(shown) : NULL;
    free(shown);
    if (!esc)
        return NULL;
    size_t olen = strlen(esc) + sizeof(o->kernel) + 128;
    char *optstr = malloc(olen);
    if (optstr)
        snprintf(optstr, olen, "ro,default_permissions,fsname=%s,subtype=ckptfs%s%s%s%s", esc,
                 o->allow_other ? ",allow_other" : "", o->allow_root ? ",allow_root" : "",
                 o->kernel[0] ? "," : "", o->kernel);
    free(esc);
    return optstr;
}

/* A FUSE session for fs with the kernel options; 0, or -1 with the reason printed. */
static int new_session(ckfs *fs, const char *source, int debug)
{
    char *optstr = kernel_options(source, &fs->opts);
    if (!optstr) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
    }
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    int bad = fuse_opt_add_arg(&args, prog) || fuse_opt_add_arg(&args, "-o") ||
              fuse_opt_add_arg(&args, optstr) || (debug && fuse_opt_add_arg(&args, "-d"));
    free(optstr);
    if (!bad)
        fs->se = fuse_session_new(&args, &ckfs_ll_ops, sizeof(ckfs_ll_ops), fs);
    fuse_opt_free_args(&args);
    if (!fs->se) {
        fprintf(stderr, "%s: cannot set up the FUSE session\n", prog);
        return -1;
    }
    return 0;
}

/* Fork the daemon and wait until it serves the mount (its INIT answered); the exit code. */
static int daemonize(ckfs *fs, const char *mnt, int single)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        run_daemon(fs, pfd[1], single); /* does not return */
    }
    /* Parent: the mount belongs to the child now; do not unmount or destroy it here. */
    close(pfd[1]);
    char status = 1;
    ssize_t got;
    do
        got = read(pfd[0], &status, 1);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    if (got != 1 || status != 0) {
        fprintf(stderr, "%s: the daemon exited before serving %s\n", prog, mnt);
        return CKPTFS_EXIT_FUSE;
    }
    return CKPTFS_EXIT_OK;
}

/* Mount the (absolute) source on mnt; returns the exit code. */
static int do_mount(const char *source, const char *mnt, const ckfs_opts *o, int foreground,
                    int debug, int single)
{
    ckfs_ns *ns = NULL;
    /* Lives as long as the mount: the daemon serves from within this call (daemonize). */
    _Atomic int net_cancel = 0;
    int rc = make_ns(source, mnt, o, &net_cancel, &ns);
    if (rc)
        return rc;
    ckfs *fs = make_context(ns, o);
    if (!fs) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return CKPTFS_EXIT_READ;
    }
    fs->net_cancel = &net_cancel;
    rc = CKPTFS_EXIT_FUSE;
    if (new_session(fs, source, debug))
        goto out_fs;
    if (fuse_session_mount(fs->se, mnt) != 0) {
        fprintf(stderr,
                "%s: mounting %s on %s failed (is /dev/fuse usable? "
                "allow_other needs user_allow_other in /etc/fuse.conf)\n",
                prog, source, mnt);
        goto out_session;
    }
    if (!foreground) {
        rc = daemonize(fs, mnt, single);
        if (rc >= 0) {
            /* The daemon owns the mount now: drop this process's copies of the session and
             * the context (closing descriptors the child holds its own of), never unmount. */
            goto out_session;
        }
        rc = CKPTFS_EXIT_FUSE;
    } else {
        rc = serve(fs, single, fs->opts.max_threads) == 0 ? CKPTFS_EXIT_OK : CKPTFS_EXIT_FUSE;
    }
    fuse_session_unmount(fs->se);
out_session:
    fuse_session_destroy(fs->se);
out_fs:
    ckfs_destroy(fs);
    return rc;
}

/*
 * Let the daemon use every descriptor it may: a training folder keeps each checkpoint it
 * opened (its shards, rendered graph texts) for the mount's life, and the common soft limit
 * of 1024 is far below the usual hard limit.
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            /* Keep the soft limit: failures then show up as retryable EIO. */
        }
    }
}

int ckfs_cmd_mount(int argc, char **argv)
{
    int foreground = 0, debug = 0, single = 0;
    ckfs_opts o;
    ckfs_opts_init(&o);
    if (argc > 0 && argv[0]) {
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        prog = strncmp(base, "mount.", 6) == 0 ? base : "ckptfs mount";
    }
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char msg[512];
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:fdshnvt:N:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            if (ckfs_opts_parse(&o, optarg, msg, sizeof msg)) {
                fprintf(stderr, "%s: %s\n", prog, msg);
                return CKPTFS_EXIT_USAGE;
            }
            break;
        case 'f': foreground = 1; break;
        case 'd': debug = foreground = 1; break;
        case 's': single = 1; break;
        case 'h': usage(stdout); return CKPTFS_EXIT_OK;
        case 'n': /* mount(8): "do not write /etc/mtab" - there is none to write */
        case 'v': break;
        case 't': /* mount(8) passes the type it was asked for */
            if (strcmp(optarg, "fuse.ckptfs") && strcmp(optarg, "ckptfs") &&
                strcmp(optarg, "fuse")) {
                fprintf(stderr, "%s: cannot mount type %s\n", prog, optarg);
                return CKPTFS_EXIT_USAGE;
            }
            break;
        case 'N':
            fprintf(stderr, "%s: -N (mount namespaces) is not supported\n", prog);
            return CKPTFS_EXIT_USAGE;
        default:
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog, argv[optind - 1]);
            usage(stderr);
            return CKPTFS_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "%s: expected SOURCE and MOUNTPOINT\n", prog);
        usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    /* The daemon runs in "/" and unmounts by this path when it stops on its own (a signal, a
     * failure): a relative one would name the wrong place then and leave a dead mount. */
    char *abs_mnt = realpath(argv[optind + 1], NULL);
    const char *mnt = abs_mnt ? abs_mnt : argv[optind + 1];
    raise_fd_limit();
    /* The daemon runs in "/": every path it may open later (a folder's checkpoints, .meta
     * files) must be absolute, so resolve the source once, here. */
    char *abs_source = absolute_source(argv[optind]);
    if (!abs_source) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(abs_mnt);
        return CKPTFS_EXIT_READ;
    }
    int rc = do_mount(abs_source, mnt, &o, foreground, debug, single);
    free(abs_source);
    free(abs_mnt);
    return rc;
}
