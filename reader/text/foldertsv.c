/* foldertsv.c - checkpoints.tsv (see foldertsv.h). */
#include "foldertsv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_step(const void *a, const void *b)
{
    const ckpt_folder_row *x = a, *y = b;
    if (x->step != y->step) /* no step (-1) last */
        return x->step < 0 ? 1 : y->step < 0 ? -1 : x->step < y->step ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* One line: name, step, time, bytes. */
static void put_row(const ckpt_folder_row *r, ckpt_strbuf *out)
{
    char when[64] = "-", step[24] = "-";
    struct tm tm;
    time_t sec = (time_t)r->mtime_sec;
    if (r->has_time && gmtime_r(&sec, &tm))
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (r->step >= 0)
        snprintf(step, sizeof step, "%ld", r->step);
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, r->bytes);
    ckpt_strbuf_puts(out, r->name);
    ckpt_strbuf_put(out, "\t", 1);
    ckpt_strbuf_puts(out, step);
    ckpt_strbuf_put(out, "\t", 1);
    ckpt_strbuf_puts(out, when);
    ckpt_strbuf_put(out, "\t", 1);
    ckpt_strbuf_puts(out, num);
    ckpt_strbuf_put(out, "\n", 1);
}

int ckpt_render_folder_tsv(ckpt_folder_row *rows, size_t n, ckpt_strbuf *out)
{
    if (n)
        qsort(rows, n, sizeof *rows, cmp_step);
    static const char head[] = "checkpoint\tstep\ttime\tbytes\n";
    ckpt_strbuf_put(out, head, sizeof head - 1);
    for (size_t k = 0; k < n; k++)
        put_row(&rows[k], out);
    return out->failed ? -1 : 0;
}
