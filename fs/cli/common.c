/* common.c - what `ckptfs ls` and `ckptfs cat` share (see cli.h). */
#include "cli.h"

#include "exitcodes.h"

void cli_usage(FILE *f)
{
    fprintf(f, "usage: ckptfs ls [--index-only] SOURCE\n"
               "       ckptfs cat [--index-only] SOURCE NAME\n"
               "       ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]\n"
               "       ckptfs mount SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
               "       mount.ckptfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
               "SOURCE is a checkpoint prefix (model.ckpt), any of its files, or a folder\n"
               "holding a `checkpoint` state file or a SavedModel.\n");
}

int cli_write_all(const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

int cli_open_source(const char *source, unsigned flags, ckpt_checkpoint **c)
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
