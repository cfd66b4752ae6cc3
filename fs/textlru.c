/* textlru.c - see textlru.h. */
#include "textlru.h"

#include "gen.h"

#include <string.h>

void ckfs_textlru_init(ckfs_textlru *l)
{
    pthread_mutex_init(&l->mu, NULL);
    l->n = 0;
}

void ckfs_textlru_destroy(ckfs_textlru *l)
{
    pthread_mutex_destroy(&l->mu);
}

void ckfs_textlru_park(ckfs_textlru *l, ckfs_view *v, int g)
{
    struct ckfs_textlru_ent drop = {NULL, 0};
    pthread_mutex_lock(&l->mu);
    size_t k = 0;
    while (k < l->n && !(l->ents[k].v == v && l->ents[k].g == g))
        k++;
    if (k < l->n) { /* already listed: move it to the young end */
        memmove(&l->ents[k], &l->ents[k + 1], (l->n - k - 1) * sizeof l->ents[0]);
        l->n--;
    }
    if (l->n == CKFS_TEXTLRU_MAX) {
        drop = l->ents[0];
        memmove(&l->ents[0], &l->ents[1], (l->n - 1) * sizeof l->ents[0]);
        l->n--;
    }
    l->ents[l->n++] = (struct ckfs_textlru_ent){v, g};
    pthread_mutex_unlock(&l->mu);
    if (drop.v) /* it may be open again by now: drop checks */
        ckfs_gen_drop(&drop.v->gens, drop.g);
}
