/*
 * netstore.c - see netstore.h. Everything here is read once per source, from the environment
 * and the AWS files, or computed once per object (its request URL): nothing on the path of a
 * range request but the signature curl computes from what is set here.
 */
#include "netstore.h"

#include "net.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Credentials files are small; bound what we read of them. */
#define INI_MAX (1u << 20)

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

char *ckpt__ini_get(const char *path, const char *section, const char *key)
{
    FILE *fp = path ? fopen(path, "re") : NULL;
    if (!fp)
        return NULL;
    char line[4096], *found = NULL;
    int in = 0;
    size_t total = 0;
    while (!found && total < INI_MAX && fgets(line, sizeof line, fp)) {
        total += strlen(line);
        line[strcspn(line, "\n")] = '\0';
        char *l = ckpt_trim(line);
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e)
                *e = '\0';
            in = !strcmp(ckpt_trim(l + 1), section);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in || !eq)
            continue;
        *eq = '\0';
        if (!strcmp(ckpt_trim(l), key))
            found = strdup(ckpt_trim(eq + 1));
    }
    fclose(fp);
    return found;
}

/* ~/.aws/NAME, or the file the override variable names (malloc'd). */
static char *aws_file(const char *override, const char *name)
{
    char *p = env_dup(override);
    if (p)
        return p;
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    size_t n = strlen(home) + strlen(name) + 8;
    p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.aws/%s", home, name);
    return p;
}

static char *strip_slash(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static void s3_config(ckpt_store_cfg *c)
{
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    char *creds = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *conf = aws_file("AWS_CONFIG_FILE", "config");
    char conf_section[300];
    snprintf(conf_section, sizeof conf_section, strcmp(profile, "default") ? "profile %s" : "%s",
             profile);
    c->id = env_dup("AWS_ACCESS_KEY_ID");
    if (c->id) {
        c->secret = env_dup("AWS_SECRET_ACCESS_KEY");
        c->token = env_dup("AWS_SESSION_TOKEN");
    } else if ((c->id = ckpt__ini_get(creds, profile, "aws_access_key_id"))) {
        c->secret = ckpt__ini_get(creds, profile, "aws_secret_access_key");
        c->token = ckpt__ini_get(creds, profile, "aws_session_token");
    }
    if (c->id && !c->secret) {
        free(c->id);
        c->id = NULL;
    }
    if (!(c->region = env_dup("AWS_REGION")) && !(c->region = env_dup("AWS_DEFAULT_REGION")) &&
        !(c->region = ckpt__ini_get(conf, conf_section, "region")))
        c->region = strdup("us-east-1");
    if (!(c->endpoint = env_dup("AWS_ENDPOINT_URL_S3")))
        c->endpoint = env_dup("AWS_ENDPOINT_URL");
    c->path_style = c->endpoint != NULL;
    if (!c->endpoint && c->region) {
        size_t n = strlen(c->region) + 40;
        if ((c->endpoint = malloc(n)))
            snprintf(c->endpoint, n, "https://s3.%s.amazonaws.com", c->region);
    }
    strip_slash(c->endpoint);
    free(creds);
    free(conf);
}

static void gs_config(ckpt_store_cfg *c)
{
    if (!(c->endpoint = env_dup("CKPTFS_GCS_ENDPOINT")))
        c->endpoint = strdup("https://storage.googleapis.com");
    strip_slash(c->endpoint);
    c->path_style = 1;
    c->region = strdup("auto");
    c->id = env_dup("GS_ACCESS_KEY_ID");
    c->secret = env_dup("GS_SECRET_ACCESS_KEY");
    if (!c->id || !c->secret) {
        free(c->id);
        free(c->secret);
        c->id = c->secret = NULL;
    }
}

static void store_free(ckpt_store_cfg *c)
{
    free(c->endpoint);
    free(c->region);
    free(c->id);
    free(c->secret);
    free(c->token);
}

void ckpt_netstore_init(ckpt_netstore *st)
{
    memset(st, 0, sizeof *st);
    s3_config(&st->s3);
    gs_config(&st->gs);
}

void ckpt_netstore_free(ckpt_netstore *st)
{
    store_free(&st->s3);
    store_free(&st->gs);
    free(st->auth_site);
    free(st->auth_user);
    if (st->auth_pass)
        memset(st->auth_pass, 0, strlen(st->auth_pass));
    free(st->auth_pass);
}

char *ckpt__url_encode(const char *k, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(k) + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *ckpt_netstore_url(const ckpt_netstore *st, const char *name, const char *query, int *sign)
{
    *sign = CKPT_SIGN_NONE;
    int s3 = !strncmp(name, "s3://", 5), gs = !strncmp(name, "gs://", 5);
    if (!s3 && !gs) {
        size_t sl = st->auth_site ? strlen(st->auth_site) : 0;
        if (sl && !strncmp(name, st->auth_site, sl) && (!name[sl] || name[sl] == '/'))
            *sign = CKPT_SIGN_BASIC;
        /* The user name shown in names is not part of the request: curl would send it with
         * an empty password. */
        const char *scheme_end = strstr(name, "://"), *host = scheme_end ? scheme_end + 3 : name;
        const char *at = strchr(host, '@'), *path = strchr(host, '/');
        size_t cut = at && (!path || at < path) ? (size_t)(at + 1 - host) : 0;
        size_t hl = (size_t)(host - name);
        size_t n = strlen(name) + (query ? strlen(query) + 2 : 1);
        char *u = malloc(n);
        if (u)
            snprintf(u, n, "%.*s%s%s%s", (int)hl, name, host + cut, query ? "?" : "",
                     query ? query : "");
        return u;
    }
    const ckpt_store_cfg *c = s3 ? &st->s3 : &st->gs;
    if (!c->endpoint)
        return NULL;
    const char *bucket = name + 5, *slash = strchr(bucket, '/');
    size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
    char *key = ckpt__url_encode(slash ? slash + 1 : "", 1);
    if (!key)
        return NULL;
    /* Dotted bucket names do not match AWS's wildcard certificate: address them by path. */
    int by_path = c->path_style || memchr(bucket, '.', blen) != NULL;
    const char *scheme_end = strstr(c->endpoint, "://");
    size_t n = strlen(c->endpoint) + blen + strlen(key) + (query ? strlen(query) : 0) + 8;
    char *u = malloc(n);
    if (u && by_path)
        snprintf(u, n, "%s/%.*s/%s%s%s", c->endpoint, (int)blen, bucket, key, query ? "?" : "",
                 query ? query : "");
    else if (u)
        snprintf(u, n, "%.*s%.*s.%s/%s%s%s", (int)(scheme_end + 3 - c->endpoint), c->endpoint,
                 (int)blen, bucket, scheme_end + 3, key, query ? "?" : "", query ? query : "");
    free(key);
    *sign = c->id ? (s3 ? CKPT_SIGN_S3 : CKPT_SIGN_GS) : CKPT_SIGN_NONE;
    return u;
}

/* %XX escapes of a URL's user or password decoded (curl decodes them in a URL too). */
static char *pct_decode(const char *a, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (a[i] == '%' && i + 2 < n && isxdigit((unsigned char)a[i + 1]) &&
            isxdigit((unsigned char)a[i + 2]) && sscanf(a + i + 1, "%2x", &v) == 1) {
            *o++ = (char)v;
            i += 2;
        } else {
            *o++ = a[i];
        }
    }
    *o = '\0';
    return out;
}

int ckpt_netstore_take_auth(ckpt_netstore *st, const char *url, char **shown, ckpt_err *err)
{
    ckpt_url_parts u;
    *shown = ckpt_url_redact(url);
    if (!*shown)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (strncmp(url, "http", 4) || !ckpt_url_split(url, &u) || !u.pass)
        return 0;
    size_t site_len = (size_t)(u.pass - 1 - url);
    char *site = malloc(site_len + (size_t)(u.host_end - u.at) + 1);
    char *user = pct_decode(u.user, (size_t)(u.pass - 1 - u.user));
    char *pass = pct_decode(u.pass, (size_t)(u.at - u.pass));
    if (!site || !user || !pass) {
        free(site);
        free(user);
        free(pass);
        free(*shown);
        *shown = NULL;
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    /* The site as names show it: scheme://user@host[:port] */
    snprintf(site, site_len + (size_t)(u.host_end - u.at) + 1, "%.*s%.*s", (int)site_len, url,
             (int)(u.host_end - u.at), u.at);
    free(st->auth_site);
    free(st->auth_user);
    free(st->auth_pass);
    st->auth_site = site;
    st->auth_user = user;
    st->auth_pass = pass;
    return 0;
}
