/* cmd_ls.c - `ckptfs ls` (see cli.h). */
#include "cli.h"

#include "exitcodes.h"
#include "render.h"

#include <string.h>

int cli_ls(int argc, char **argv)
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
        cli_usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    ckpt_checkpoint *c;
    int rc = cli_open_source(source, flags, &c);
    if (rc)
        return rc;
    /* The same text as a mount's variables.tsv, from the same code. */
    ckpt_strbuf tsv = {0};
    ckpt_render_tsv(c, &tsv);
    int bad = tsv.failed || cli_write_all(tsv.data, tsv.len);
    ckpt_strbuf_free(&tsv);
    ckpt_close(c);
    if (bad) {
        fprintf(stderr, "ckptfs: out of memory or write error listing %s\n", source);
        return CKPTFS_EXIT_READ;
    }
    return fflush(stdout) == 0 ? 0 : CKPTFS_EXIT_READ;
}
