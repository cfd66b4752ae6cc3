/*
 * procstart.c - the start of both executables (procstart.h).
 */
#include "procstart.h"

#include "net.h"
#include "scheme.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Blocks at least this big are mmap'd on their own (see ckpt_process_start). */
#define CKPT_MMAP_THRESHOLD (4u << 20)

/*
 * URL passwords out of sight: /proc/PID/cmdline shows the argument memory to every user (and a
 * mount's daemon keeps it for its life), so each password there is starred out in place and
 * argv[i] points to a private copy that still has it. Everything shown later is redacted
 * (ckpt_url_redact).
 */
static void hide_passwords(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (ckpt_name_is_local(argv[i]))
            continue;
        char *copy = strdup(argv[i]);
        if (copy && ckpt_url_hide_password(argv[i]))
            argv[i] = copy;
        else
            free(copy);
    }
}

void ckpt_process_start(int argc, char **argv)
{
    /* Before any thread exists (libcurl's global setup is not thread-safe), and only when a
     * URL is named: the setup loads TLS configuration, a cost local sources need not pay. */
    for (int i = 1; i < argc; i++)
        if (!ckpt_name_is_local(argv[i])) {
            ckpt_net_global_init();
            break;
        }
    /*
     * The records, names and tree of a large index grow by doubling. By default glibc raises
     * its mmap threshold to the largest block freed (the .index buffer, tens of MB), and the
     * arrays then grow inside the heap, where every outgrown copy stays resident for the
     * daemon's life: a mount of 1M variables held 144 MiB instead of 118. A fixed threshold
     * keeps large blocks mapped on their own: realloc moves their pages, free returns them.
     * It sits above a read's buffer (max_read, 1 MiB): those come and go with every read and
     * must be reused from the heap, not mapped and unmapped each time. For the same reason
     * the heaps keep up to that much free at their top: glibc's default trim threshold (128 KiB)
     * gave back pages with madvise after most reads, each time an inter-processor interrupt
     * on every core (6% of the daemon's profile during a first read).
     */
    mallopt(M_MMAP_THRESHOLD, CKPT_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, CKPT_MMAP_THRESHOLD);
    hide_passwords(argc, argv);
}
