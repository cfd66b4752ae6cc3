/*
 * err.h - error codes and the message a caller can print.
 *
 * Every libckpt function that can fail returns 0 or a negative CKPT_E* code and, when given a
 * non-NULL ckpt_err, leaves a one-line message in it that names the file and the problem. The
 * message is for humans; the code is for programs (the daemon maps it to an errno).
 */
#ifndef CKPT_ERR_H
#define CKPT_ERR_H

#include <stddef.h>

enum {
    CKPT_OK = 0,
    CKPT_E_NOTFOUND = -1,    /* a file or a variable does not exist */
    CKPT_E_IO = -2,          /* the operating system failed a read/open/stat */
    CKPT_E_CORRUPT = -3,     /* the bytes on disk break the format or a checksum */
    CKPT_E_NOMEM = -4,       /* an allocation failed */
    CKPT_E_UNSUPPORTED = -5, /* valid input that this version cannot serve */
    CKPT_E_INVALID = -6,     /* the caller asked for something meaningless */
    CKPT_E_MISSING = -7,     /* a data shard is absent (opened with CKPT_OPEN_MISSING_SHARDS_OK) */
};

#define CKPT_ERR_MSG_MAX 1024

typedef struct ckpt_err {
    int code;
    char msg[CKPT_ERR_MSG_MAX];
} ckpt_err;

/* Set code and a printf-style message on err (which may be NULL); returns code. */
int ckpt_err_set(ckpt_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "context: " to the message already in err, keeping its code; returns the code. */
int ckpt_err_prefix(ckpt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message in err without a leading "path: ", for a caller that names path itself. */
const char *ckpt_err_detail(const ckpt_err *err, const char *path);

/* Reset err to "no error". */
void ckpt_err_clear(ckpt_err *err);

/* A short name for a code ("corrupt input", ...), for logs. */
const char *ckpt_strerror(int code);

#endif
