/*
 * glob.h - the commands' name for the reader's shell patterns on variable names
 * (nameglob.h, where the rules are).
 */
#ifndef CKPTFS_CLI_GLOB_H
#define CKPTFS_CLI_GLOB_H

#include "nameglob.h"

#include <stddef.h>

/* ckpt_glob_match. */
static inline int cli_glob_match(const char *pat, const char *name, size_t len)
{
    return ckpt_glob_match(pat, name, len);
}

#endif
