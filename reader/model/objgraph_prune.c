/*
 * objgraph_prune.c - see objgraph_prune.h.
 */
#include "objgraph_prune.h"

#include "trackable_object_graph.pb-c.h"

#include <stdlib.h>
#include <string.h>

typedef Tensorflow__TrackableObjectGraph Graph;
typedef Tensorflow__TrackableObjectGraph__TrackableObject Node;

/* Whether c shows the variable named by an attribute's checkpoint_key. */
static int key_kept(const ckpt_checkpoint *c, const char *key)
{
    size_t idx;
    return key && ckpt_find(c, key, strlen(key), &idx) == 0;
}

int ckpt_objgraph_prune(const ckpt_checkpoint *c, const uint8_t *pb, size_t len, uint8_t **out,
                        size_t *out_len, size_t *dropped, ckpt_err *err)
{
    *out = NULL;
    *out_len = 0;
    *dropped = 0;
    Graph *g = tensorflow__trackable_object_graph__unpack(NULL, len, pb);
    if (!g)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: %s is not a TrackableObjectGraph",
                            ckpt_prefix(c), CKPT_OBJECT_GRAPH_KEY);
    /*
     * Removed entries are moved past the arrays' new ends instead of freed, so that
     * free_unpacked, which walks n_* entries, would miss them: keep the old counts and
     * restore them before freeing.
     */
    size_t *old_attrs = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *old_attrs);
    size_t *old_slots = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *old_slots);
    if (!old_attrs || !old_slots) {
        free(old_attrs);
        free(old_slots);
        tensorflow__trackable_object_graph__free_unpacked(g, NULL);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory pruning the object graph");
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        Node *n = g->nodes[i];
        old_attrs[i] = n->n_attributes;
        size_t k = 0;
        for (size_t a = 0; a < n->n_attributes; a++) {
            if (key_kept(c, n->attributes[a]->checkpoint_key)) {
                void *t = n->attributes[k];
                n->attributes[k++] = n->attributes[a];
                n->attributes[a] = t;
            } else {
                (*dropped)++;
            }
        }
        n->n_attributes = k;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        Node *n = g->nodes[i];
        old_slots[i] = n->n_slot_variables;
        size_t k = 0;
        for (size_t s = 0; s < n->n_slot_variables; s++) {
            int32_t id = n->slot_variables[s]->slot_variable_node_id;
            int keep = id >= 0 && (size_t)id < g->n_nodes && g->nodes[id]->n_attributes > 0;
            if (keep) {
                void *t = n->slot_variables[k];
                n->slot_variables[k++] = n->slot_variables[s];
                n->slot_variables[s] = t;
            }
        }
        n->n_slot_variables = k;
    }
    size_t size = tensorflow__trackable_object_graph__get_packed_size(g);
    uint8_t *buf = malloc(size ? size : 1);
    if (buf)
        *out_len = tensorflow__trackable_object_graph__pack(g, buf);
    for (size_t i = 0; i < g->n_nodes; i++) {
        g->nodes[i]->n_attributes = old_attrs[i];
        g->nodes[i]->n_slot_variables = old_slots[i];
    }
    free(old_attrs);
    free(old_slots);
    tensorflow__trackable_object_graph__free_unpacked(g, NULL);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory pruning the object graph");
    *out = buf;
    return 0;
}
