/* err.c - see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ckpt_err_set(ckpt_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int ckpt_err_prefix(ckpt_err *err, const char *fmt, ...)
{
    if (!err)
        return CKPT_E_INVALID;
    char head[CKPT_ERR_MSG_MAX], old[CKPT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.500s: %.500s", head, old);
    return err->code;
}

const char *ckpt_err_detail(const ckpt_err *err, const char *path)
{
    size_t n = strlen(path);
    if (!strncmp(err->msg, path, n) && !strncmp(err->msg + n, ": ", 2))
        return err->msg + n + 2;
    return err->msg;
}

void ckpt_err_clear(ckpt_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *ckpt_strerror(int code)
{
    switch (code) {
    case CKPT_OK: return "ok";
    case CKPT_E_NOTFOUND: return "not found";
    case CKPT_E_IO: return "I/O error";
    case CKPT_E_CORRUPT: return "corrupt input";
    case CKPT_E_NOMEM: return "out of memory";
    case CKPT_E_UNSUPPORTED: return "unsupported";
    case CKPT_E_INVALID: return "invalid request";
    case CKPT_E_MISSING: return "data shard missing";
    default: return "unknown error";
    }
}
