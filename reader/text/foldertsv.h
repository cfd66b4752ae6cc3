/*
 * foldertsv.h - checkpoints.tsv, the table of a training-folder mount's root: one line per
 * checkpoint in step order (docs/mount.md, "Training folders").
 *
 * The caller lists the checkpoints (the daemon, from its set); this renders the text.
 */
#ifndef CKPT_FOLDERTSV_H
#define CKPT_FOLDERTSV_H

#include "textbuf.h"

#include <stddef.h>
#include <stdint.h>

/* One checkpoint of the folder. */
typedef struct ckpt_folder_row {
    const char *name;  /* its directory's name in the mount */
    long step;         /* the number after the name's last '-', or -1 */
    int has_time;      /* mtime_sec is known */
    int64_t mtime_sec; /* its .index's modification time, seconds since the epoch */
    uint64_t bytes;    /* .index and data shards on disk */
} ckpt_folder_row;

/*
 * Sort rows (in place) in step order, those without a step last, equal steps by name; then
 * append the header "checkpoint\tstep\ttime\tbytes" and one line per row: its name, step ("-"
 * for none), time as UTC "YYYY-MM-DDTHH:MM:SSZ" ("-" for none) and bytes. 0, or -1 when out
 * of memory (out->failed).
 */
int ckpt_render_folder_tsv(ckpt_folder_row *rows, size_t n, ckpt_strbuf *out);

#endif
