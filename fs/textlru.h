/*
 * textlru.h - the rendered graph texts no open file reads, least recently released first.
 *
 * A rendered text (gen.h: graph.pbtxt and friends) lives in a file descriptor while anyone
 * holds it; when the last holder lets go it stays open here, so the next open is free. Past
 * CKFS_TEXTLRU_MAX texts the oldest one's descriptor is closed: a folder would otherwise keep
 * one per graph file ever read and run out of descriptors.
 */
#ifndef CKPTFS_TEXTLRU_H
#define CKPTFS_TEXTLRU_H

#include "view.h"

#include <pthread.h>
#include <stddef.h>

/* Texts kept open while unused, at most (each holds a descriptor). */
#define CKFS_TEXTLRU_MAX 32

typedef struct ckfs_textlru {
    pthread_mutex_t mu; /* protects ents and n; a leaf: nothing is taken while it is held */
    struct ckfs_textlru_ent {
        ckfs_view *v;
        int g; /* the generated-file slot (gen.h) */
    } ents[CKFS_TEXTLRU_MAX];
    size_t n;
} ckfs_textlru;

/* Start an empty list. */
void ckfs_textlru_init(ckfs_textlru *l);

/* Release the list's lock (the texts themselves belong to their views). */
void ckfs_textlru_destroy(ckfs_textlru *l);

/* Slot g of v is no longer read by any open file: list it as the youngest, closing the oldest
 * unused text beyond CKFS_TEXTLRU_MAX (unless it was opened again meanwhile). */
void ckfs_textlru_park(ckfs_textlru *l, ckfs_view *v, int g);

#endif
