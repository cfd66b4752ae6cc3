/*
 * url.c - passwords in URLs (see net.h): where a URL's user information lies, and the URL as
 * everything shows it, without the password.
 */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ckpt_url_split(const char *url, ckpt_url_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return 0;
    const char *a = p + 3;
    u->host_end = a + strcspn(a, "/?#");
    /* The last '@' of the authority: a password may hold an unescaped '@' */
    for (const char *q = a; q < u->host_end; q++)
        if (*q == '@')
            u->at = q;
    if (!u->at)
        return 0;
    u->user = a;
    const char *colon = memchr(a, ':', (size_t)(u->at - a));
    u->pass = colon ? colon + 1 : NULL;
    return 1;
}

char *ckpt_url_redact(const char *url)
{
    ckpt_url_parts u;
    if (!ckpt_url_split(url, &u) || !u.pass)
        return strdup(url);
    size_t head = (size_t)(u.pass - 1 - url), n = head + strlen(u.at) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%.*s%s", (int)head, url, u.at);
    return out;
}

int ckpt_url_hide_password(char *url)
{
    ckpt_url_parts u;
    if (!ckpt_url_split(url, &u) || !u.pass || u.pass == u.at)
        return 0;
    memset((char *)u.pass, '*', (size_t)(u.at - u.pass));
    return 1;
}
