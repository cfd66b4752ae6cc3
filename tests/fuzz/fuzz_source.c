/*
 * fuzz_source.c - source resolution and training-folder listing. The input is lines: the
 * first names what the user typed, the others files to create in a fresh folder first (a
 * line "checkpoint ..." becomes a state file with the rest as its text). Names are confined to
 * the folder: '/' and NUL end a name.
 */
#include "folder.h"
#include "fuzz.h"
#include "resolve_local.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILES 16

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

/* The next line of [*p, end) as a file name (at most 100 bytes, no '/'), in buf. */
static int next_name(const uint8_t **p, const uint8_t *end, char *buf)
{
    size_t n = 0;
    while (*p < end && **p != '\n') {
        uint8_t c = *(*p)++;
        if (c && c != '/' && n < 100)
            buf[n++] = (char)c;
    }
    if (*p < end)
        (*p)++;
    buf[n] = 0;
    return n > 0 && strcmp(buf, ".") && strcmp(buf, "..");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();
    clear_dir(dir);
    const uint8_t *p = data, *end = data + size;
    char typed[128], name[128];
    if (!next_name(&p, end, typed))
        strcpy(typed, "x");
    for (int k = 0; k < MAX_FILES && p < end; k++) {
        if (!next_name(&p, end, name))
            continue;
        const uint8_t *body = p;
        if (strncmp(name, "checkpoint", 10) == 0) /* the rest of the input is its text */
            p = end;
        fuzz_write(strncmp(name, "checkpoint", 10) ? name : "checkpoint", body, (size_t)(p - body));
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, typed);
    ckpt_err err;
    ckpt_err_clear(&err);
    char *prefix = NULL;
    if (ckpt_resolve_prefix(path, &prefix, &err) == 0)
        free(prefix);
    ckpt_resolve_prefix(dir, &prefix, &err) == 0 ? free(prefix) : (void)0;
    ckpt_folder f;
    if (ckpt_folder_scan(dir, &f, &err) == 0)
        ckpt_folder_free(&f);
    ckpt_is_training_folder(dir);
    return 0;
}
