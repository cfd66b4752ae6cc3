/* prefix.c - see prefix.h. */
#include "prefix.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

size_t cli_prefix_len(const char *name, size_t len, int depth)
{
    if (depth <= 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (name[i] == '/' && --depth == 0)
            return i;
    return len;
}

static int rehash(cli_prefixes *t, size_t nslots)
{
    size_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)ckpt_hash64(t->items[i].name, t->items[i].len) & (nslots - 1);
        while (s[h])
            h = (h + 1) & (nslots - 1);
        s[h] = i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->nslots = nslots;
    return 0;
}

cli_prefix *cli_prefixes_get(cli_prefixes *t, const char *p, size_t len)
{
    if ((t->n + 1) * 2 > t->nslots && rehash(t, t->nslots ? t->nslots * 2 : 64))
        return NULL;
    size_t h = (size_t)ckpt_hash64(p, len) & (t->nslots - 1);
    for (; t->slots[h]; h = (h + 1) & (t->nslots - 1)) {
        cli_prefix *g = &t->items[t->slots[h] - 1];
        if (g->len == len && !memcmp(g->name, p, len))
            return g;
    }
    if (ckpt_grow((void **)&t->items, &t->cap, t->n + 1, sizeof *t->items))
        return NULL;
    cli_prefix *g = &t->items[t->n];
    memset(g, 0, sizeof *g);
    g->name = p;
    g->len = len;
    t->slots[h] = ++t->n;
    return g;
}

static int by_name(const void *a, const void *b)
{
    const cli_prefix *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

void cli_prefixes_sort_by_name(cli_prefixes *t)
{
    if (t->n > 1)
        qsort(t->items, t->n, sizeof *t->items, by_name);
    free(t->slots);
    t->slots = NULL;
    t->nslots = 0;
}

void cli_prefixes_free(cli_prefixes *t)
{
    free(t->items);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
