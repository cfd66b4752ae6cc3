/* progress.c - see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "12.3 MiB" */
static void human(char *buf, size_t size, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4)
        bytes /= 1024, u++;
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void cli_progress_start(cli_progress *p, uint64_t total)
{
    p->on = isatty(STDERR_FILENO);
    p->total = total;
    p->done = 0;
    p->start = p->last = now();
}

static void draw(cli_progress *p, double t)
{
    double frac = p->total ? (double)p->done / (double)p->total : 1;
    if (frac > 1)
        frac = 1;
    char bar[BAR_WIDTH + 1];
    int fill = (int)(frac * BAR_WIDTH);
    for (int k = 0; k < BAR_WIDTH; k++)
        bar[k] = k < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    double el = t - p->start, rate = el > 0 ? (double)p->done / el : 0;
    char d[32], tot[32], r[32], eta[32];
    human(d, sizeof d, (double)p->done);
    human(tot, sizeof tot, (double)p->total);
    human(r, sizeof r, rate);
    if (rate > 0 && p->total >= p->done) {
        long s = (long)((double)(p->total - p->done) / rate + 0.5);
        snprintf(eta, sizeof eta, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    } else {
        snprintf(eta, sizeof eta, "--:--:--");
    }
    fprintf(stderr, "\r[%s] %3d%% %s / %s  %s/s  ETA %s\033[K", bar, (int)(frac * 100), d, tot, r,
            eta);
    fflush(stderr);
}

void cli_progress_add(cli_progress *p, uint64_t n)
{
    p->done += n;
    if (!p->on)
        return;
    double t = now();
    if (t - p->last >= 0.1 || p->done >= p->total) {
        p->last = t;
        draw(p, t);
    }
}

void cli_progress_clear(cli_progress *p)
{
    if (p->on) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
