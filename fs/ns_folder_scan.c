/*
 * ns_folder_scan.c - reading a training folder and making the set of checkpoints follow it
 * (see ns_folder.h).
 *
 * A checkpoint is listed once its .index exists and its data shards are all there (TF renames
 * the .index in last), and leaves when its .index goes. The set is rescanned when inotify
 * reports a change (the watcher), and where inotify says nothing (NFS) when a request on the
 * root finds the directory's or the state file's stamp changed, at most every -o poll seconds;
 * the kernel keeps the root's names and attributes only that long.
 *
 * A checkpoint replaced under the same name (its .index now another file: device, inode, size
 * or mtime differ) is a new checkpoint with a new range, not the old range with a new
 * generation: the kernel marks an inode whose generation changed bad, so a file still open on
 * the old checkpoint would fail with EIO instead of reading the bytes it started with. Ranges
 * are never reused during a mount.
 */
#include "ns_folder.h"

#include "clock.h"
#include "escape.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A directory stamp this close to when it was seen may hide a second change in the same
 * timestamp tick (NFS: often whole seconds): revalidate again rather than trust it. */
#define STAMP_SLACK_NS 2000000000LL

/* An .index younger than this may still be being written in place: check its footer. */
#define YOUNG_NS 60000000000LL

/* --- scanning -------------------------------------------------------------------------------- */

/* One checkpoint the directory holds now. */
typedef struct cand {
    const ckpt_folder_item *item;
    ident id;
    uint64_t bytes;
    int complete;
    int young; /* a V2 .index written under YOUNG_NS ago */
} cand;

/* The step of a checkpoint named like TF's: the number after its last '-', or -1. */
static long step_of(const char *name)
{
    const char *d = strrchr(name, '-');
    if (!d || !d[1])
        return -1;
    char *end;
    long s = strtol(d + 1, &end, 10);
    return *end || s < 0 ? -1 : s;
}

/* Range for a new checkpoint named name: its hash's, the next free on a collision (mu not
 * needed: only the scanner changes ranges, and it holds scan_mu). */
static uint64_t pick_range(const folder *f, const char *name)
{
    uint64_t rg = 1 + ckpt_hash64(name, strlen(name)) % NRANGES;
    while (ckfs_folder_view_of_range((folder *)f, rg))
        rg = rg % NRANGES + 1;
    return rg;
}

static fview *new_view(folder *f, const cand *c)
{
    fview *fv = calloc(1, sizeof *fv);
    if (!fv)
        return NULL;
    const char *name = c->item->name;
    /* Checkpoint names are file-name components like a variable's: ".", "..", or a name too
     * long for a suffix-free entry get the same escape (escape.h). */
    char disp[CKFS_DISPLAY_MAX + 1];
    size_t dl = ckfs_escape_component(name, strlen(name), disp);
    fv->range = pick_range(f, name);
    if (ckfs_view_init(&fv->v, name, dl ? disp : NULL, c->item->prefix, c->item->saved_model,
                       fv->range << VIEW_SHIFT)) {
        ckfs_view_free(&fv->v);
        free(fv);
        return NULL;
    }
    /* Objects do not change under a remote mount's feet (their ETags are checked at open). */
    fv->v.verify = f->remote ? NULL : ckfs_folder_verify_open;
    fv->v.src = f->remote;
    fv->f = f;
    fv->id = c->id;
    fv->bytes = c->bytes;
    fv->step = step_of(name);
    atomic_store(&fv->last_use, ckfs_now_ms());
    return fv;
}

/* Add fv to every view and the ranges (mu held for writing). -1 when out of memory. */
static int add_view(folder *f, fview *fv)
{
    if (ckpt_grow((void **)&f->views, &f->capviews, f->nviews + 1, sizeof *f->views))
        return -1;
    range *rs = realloc(f->ranges, (f->nviews + 1) * sizeof *rs);
    if (!rs)
        return -1;
    f->ranges = rs;
    size_t at = 0;
    while (at < f->nviews && rs[at].r < fv->range)
        at++;
    memmove(&rs[at + 1], &rs[at], (f->nviews - at) * sizeof *rs);
    rs[at] = (range){fv->range, fv};
    f->views[f->nviews++] = fv;
    return 0;
}

static void note(folder *f, const char *name)
{
    pthread_mutex_lock(&f->note_mu);
    char *s = strdup(name);
    char **n = s ? realloc(f->notes, (f->nnotes + 1) * sizeof *n) : NULL;
    if (n) {
        f->notes = n;
        f->notes[f->nnotes++] = s;
    } else {
        free(s);
    }
    f->note_root = 1;
    pthread_mutex_unlock(&f->note_mu);
}

static int cmp_fent(const void *a, const void *b)
{
    return strcmp(((const fent *)a)->name, ((const fent *)b)->name);
}

/* The live view named name (mu held), or NULL. */
static fview *live_named(folder *f, const char *name)
{
    for (size_t k = 0; k < f->nfents; k++)
        if (f->fents[k].kind == CKFS_K_DIR && !strcmp(f->fents[k].fv->v.name, name))
            return f->fents[k].fv;
    return NULL;
}

/*
 * What the scan found of item: its identity, bytes, whether it is complete and young. A shard
 * missing from an .index TF finished (not young, footer there) is a partial copy, not a save
 * in progress: shown, its missing shard handled as in any mount (docs/mount.md, "Watching a
 * run").
 */
static void examine(const folder *f, const ckpt_folder_item *item, long long now_ns, cand *c)
{
    c->item = item;
    c->id = (ident){0};
    if (item->known)
        c->id = (ident){1,
                        (dev_t)item->id.dev,
                        (ino_t)item->id.ino,
                        (off_t)item->id.size,
                        {(time_t)item->id.mtime_sec, item->id.mtime_nsec}};
    c->bytes = item->bytes;
    c->complete = item->complete;
    long long age = now_ns - ((long long)c->id.mtime.tv_sec * 1000000000LL + c->id.mtime.tv_nsec);
    c->young = !item->v1 && age < YOUNG_NS;
    if (!c->complete && !item->v1 && item->known && !c->young) {
        char ip[PATH_MAX];
        snprintf(ip, sizeof ip, "%s.index", item->prefix);
        c->complete = ckpt_folder_index_complete(f->src, ip);
    }
}

/*
 * fe[] for the complete candidates: the live view each keeps (same name, same identity), or
 * NULL for one to make. A young index that appeared during the mount and lacks its footer is
 * not complete yet (its candidate is marked so, and make_views then skips it).
 */
static void keep_or_make(folder *f, cand *cs, size_t n, fent *fe, int initial)
{
    size_t nfe = 0;
    /* Which views stay, which are new: decided under scan_mu only (nobody else writes). */
    pthread_rwlock_rdlock(&f->mu);
    for (size_t k = 0; k < n; k++) {
        if (!cs[k].complete)
            continue;
        fview *old = live_named(f, cs[k].item->name);
        fview *fv = old && !atomic_load(&old->gone) && ckfs_folder_ident_eq(&old->id, &cs[k].id)
                        ? old
                        : NULL;
        fe[nfe++] = (fent){NULL, CKFS_K_DIR, fv};
    }
    pthread_rwlock_unlock(&f->mu);
    /* TF writes a sharded save's merged .index in place: one that appears during the mount
     * and is young may be unfinished until its footer is there. (What the mount found is
     * shown as found: mounting opens no index.) */
    nfe = 0;
    for (size_t k = 0; k < n && !initial; k++) {
        if (!cs[k].complete)
            continue;
        if (!fe[nfe].fv && cs[k].young) {
            char ip[PATH_MAX];
            snprintf(ip, sizeof ip, "%s.index", cs[k].item->prefix);
            if (!ckpt_folder_index_complete(f->src, ip)) {
                cs[k].complete = 0;
                memmove(&fe[nfe], &fe[nfe + 1], (n - nfe - 1) * sizeof *fe);
                continue;
            }
        }
        nfe++;
    }
}

/* Make the views fe[] still lacks; every entry gets its name. The count, or -1 (err set)
 * when out of memory. */
static long make_views(folder *f, cand *cs, size_t n, fent *fe, fview **made, size_t *nmade,
                       ckpt_err *err)
{
    size_t nfe = 0;
    for (size_t k = 0; k < n; k++) {
        if (!cs[k].complete)
            continue;
        if (!fe[nfe].fv) {
            /* Picking ranges needs the ones made in this scan too: add each as it is made. */
            fview *fv = new_view(f, &cs[k]);
            pthread_rwlock_wrlock(&f->mu);
            int bad = !fv || add_view(f, fv);
            pthread_rwlock_unlock(&f->mu);
            if (bad) {
                if (fv)
                    ckfs_view_free(&fv->v);
                free(fv);
                ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", f->path);
                return -1;
            }
            made[(*nmade)++] = fv;
            fe[nfe].fv = fv;
        }
        fe[nfe].name = fe[nfe].fv->v.display;
        nfe++;
    }
    return (long)nfe;
}

/*
 * Make fe[0..nfe) (plus `latest` -> target and the tsv) the root's entries, marking views not
 * kept as gone and noting every change for the kernel. On success fe is swapped with the old
 * entries (*fe_io then holds those, for the caller to free). 0 or CKPT_E_NOMEM.
 */
static int publish(folder *f, fent **fe_io, size_t nfe, fview **made, size_t nmade,
                   const char *latest, ckpt_err *err)
{
    fent *fe = *fe_io;
    int rc = 0;
    pthread_rwlock_wrlock(&f->mu);
    /* Leaving: every live view not kept. */
    int changed = nmade > 0;
    for (size_t k = 0; k < f->nfents; k++) {
        fview *fv = f->fents[k].fv;
        if (f->fents[k].kind != CKFS_K_DIR)
            continue;
        int kept = 0;
        for (size_t j = 0; j < nfe && !kept; j++)
            kept = fe[j].fv == fv;
        if (!kept) {
            atomic_store(&fv->gone, 1);
            note(f, fv->v.display);
            changed = 1;
        }
    }
    for (size_t j = 0; j < nmade; j++)
        note(f, made[j]->v.display);
    size_t nlive = nfe;
    int tsv_hidden = 0, latest_hidden = 0;
    for (size_t j = 0; j < nfe; j++) {
        tsv_hidden |= !strcmp(fe[j].name, TSV_NAME);
        latest_hidden |= !strcmp(fe[j].name, LATEST_NAME);
    }
    const char *target = NULL;
    for (size_t j = 0; latest && j < nfe; j++)
        if (!strcmp(fe[j].fv->v.name, latest))
            target = fe[j].fv->v.display;
    if (target && !latest_hidden)
        fe[nfe++] = (fent){LATEST_NAME, CKFS_K_LINK, NULL};
    if (!tsv_hidden)
        fe[nfe++] = (fent){TSV_NAME, CKFS_K_GEN, NULL};
    qsort(fe, nfe, sizeof *fe, cmp_fent);
    if (latest_hidden && !f->latest_hidden && target)
        f->ns.log(f->ns.log_ctx,
                  "hiding the symlink '" LATEST_NAME "': a checkpoint has that name");
    if ((target == NULL) != (f->latest == NULL) || (target && strcmp(target, f->latest)) ||
        latest_hidden != f->latest_hidden) {
        char *t = target ? strdup(target) : NULL;
        char **o = realloc(f->olds, (f->nolds + 1) * sizeof *o);
        if (o)
            f->olds = o;
        if ((target && !t) || !o) {
            free(t);
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", f->path);
        } else {
            if (f->latest)
                f->olds[f->nolds++] = f->latest;
            f->latest = t;
            note(f, LATEST_NAME);
            changed = 1;
        }
    }
    if (rc == 0) {
        fent *old = f->fents;
        f->fents = fe;
        f->nfents = nfe;
        f->nlive = nlive;
        f->latest_hidden = latest_hidden;
        f->tsv_hidden = tsv_hidden;
        *fe_io = old;
        if (changed)
            clock_gettime(CLOCK_REALTIME, &f->mtime);
    }
    pthread_rwlock_unlock(&f->mu);
    return rc;
}

/*
 * Read the folder now and make the set follow it (scan_mu held): new checkpoints get views,
 * gone or replaced ones leave (their views stay for whoever holds them), `latest` moves.
 * 0, or a CKPT_E_* code when the folder cannot be read (the set is left as it was).
 */
int ckfs_folder_rescan(folder *f, int initial, ckpt_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    ckpt_folder l;
    int rc = ckpt_folder_scan_src(f->src, f->path, &l, err);
    if (rc == CKPT_E_NOTFOUND) /* emptied, or the folder itself gone: show nothing */
        memset(&l, 0, sizeof l), l.latest = -1, rc = 0;
    if (rc)
        return rc;
    cand *cs = calloc(l.n ? l.n : 1, sizeof *cs);
    fent *fe = calloc(l.n + 2, sizeof *fe);
    fview **made = calloc(l.n ? l.n : 1, sizeof *made);
    size_t nmade = 0, nfe = 0;
    if (!cs || !fe || !made) {
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", f->path);
        goto out;
    }
    for (size_t k = 0; k < l.n; k++)
        examine(f, &l.items[k], now_ns, &cs[k]);

    keep_or_make(f, cs, l.n, fe, initial);
    long made_n = make_views(f, cs, l.n, fe, made, &nmade, err);
    if (made_n < 0) {
        rc = CKPT_E_NOMEM;
        goto out;
    }
    nfe = (size_t)made_n;
    const char *latest = l.latest >= 0 && cs[l.latest].complete ? l.items[l.latest].name : NULL;

    rc = publish(f, &fe, nfe, made, nmade, latest, err);
out:
    free(fe);
    free(made);
    free(cs);
    ckpt_folder_free(&l);
    return rc;
}

void ckfs_folder_take_stamp(folder *f, stamp *s)
{
    char p[PATH_MAX];
    ckfs_folder_ident_path(f->path, &s->dir);
    snprintf(p, sizeof p, "%s/checkpoint", f->path);
    ckfs_folder_ident_path(p, &s->state);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->seen_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether a stamp is too young to vouch that nothing changed within its timestamp tick. */
static int stamp_fresh(const stamp *s)
{
    long long d = (long long)s->dir.mtime.tv_sec * 1000000000LL + s->dir.mtime.tv_nsec;
    long long t = (long long)s->state.mtime.tv_sec * 1000000000LL + s->state.mtime.tv_nsec;
    return s->seen_ns - d < STAMP_SLACK_NS || s->seen_ns - t < STAMP_SLACK_NS;
}

/* Rescan now, logging a failure. */
void ckfs_folder_rescan_logged(folder *f)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    ckfs_folder_take_stamp(f, &f->seen);
    atomic_store(&f->checked_ms, ckfs_now_ms());
    if (ckfs_folder_rescan(f, 0, &err))
        f->ns.log(f->ns.log_ctx, err.msg);
    ckfs_folder_wake(f); /* the watcher tells the kernel what changed */
}

/* Where inotify may not fire: rescan when the directory's or the state file's stamp moved. */
void ckfs_folder_revalidate(folder *f)
{
    if (f->remote) /* a remote folder is the listing the mount took */
        return;
    pthread_mutex_lock(&f->scan_mu);
    if (ckfs_now_ms() - atomic_load(&f->checked_ms) >= (long long)(f->ns.opts->poll * 1000)) {
        stamp now;
        ckfs_folder_take_stamp(f, &now);
        atomic_store(&f->checked_ms, ckfs_now_ms());
        if (!ckfs_folder_ident_eq(&now.dir, &f->seen.dir) ||
            !ckfs_folder_ident_eq(&now.state, &f->seen.state) || stamp_fresh(&f->seen))
            ckfs_folder_rescan_logged(f);
    }
    pthread_mutex_unlock(&f->scan_mu);
}

void ckfs_folder_drop_notes(folder *f)
{
    pthread_mutex_lock(&f->note_mu);
    for (size_t k = 0; k < f->nnotes; k++)
        free(f->notes[k]);
    free(f->notes);
    f->notes = NULL;
    f->nnotes = 0;
    f->note_root = 0;
    pthread_mutex_unlock(&f->note_mu);
}
