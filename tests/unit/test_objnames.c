/* Unit tests for reader/model/objnames.c's object graph reader: TrackableObjectGraph messages
 * encoded here by hand from the protobuf wire format (field numbers of
 * core/protobuf/trackable_object_graph.proto), with the expected names worked out from the
 * rules of docs/format.md ("by_name/"). */
#include "objnames.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A growing message buffer. */
typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf;

static void put_varint(buf *m, uint64_t v)
{
    while (v >= 0x80) {
        m->b[m->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    m->b[m->n++] = (uint8_t)v;
}

static void put_bytes(buf *m, unsigned field, const void *p, size_t len)
{
    put_varint(m, (uint64_t)field << 3 | 2);
    put_varint(m, len);
    memcpy(m->b + m->n, p, len);
    m->n += len;
}

static void put_str(buf *m, unsigned field, const char *s)
{
    put_bytes(m, field, s, strlen(s));
}

/* SerializedTensor {name 1, full_name 2, checkpoint_key 3} as an attribute (field 2). */
static void attribute(buf *node, const char *name, const char *full, const char *key)
{
    buf a = {.n = 0};
    put_str(&a, 1, name);
    if (full)
        put_str(&a, 2, full);
    put_str(&a, 3, key);
    put_bytes(node, 2, a.b, a.n);
}

/* The test checkpoint's keys: variable i is keys[i]. */
static const char *const keys[] = {"a/w/.ATTRIBUTES/VARIABLE_VALUE",
                                   "b/w/.ATTRIBUTES/VARIABLE_VALUE", "v/.ATTRIBUTES/VARIABLE_VALUE",
                                   "v/.OPTIMIZER_SLOT/opt/m/.ATTRIBUTES/VARIABLE_VALUE",
                                   "x/.ATTRIBUTES/OBJECT_CONFIG_JSON"};
enum { NKEYS = 5 };

static int find(void *ctx, const char *key, size_t len, size_t *idx)
{
    (void)ctx;
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(keys[i]) == len && !memcmp(keys[i], key, len)) {
            *idx = i;
            return 0;
        }
    return -1;
}

/* Nodes: 0 root; 1 "w" of a; 2 "w" of b; 3 v (with a slot reference to node 4 named "m");
 * 4 the slot; 5 an object config without full_name; 6 an attribute whose key is no
 * variable. */
static void graph(buf *g, int slot_first)
{
    buf n[7];
    memset(n, 0, sizeof n);
    attribute(&n[1], "VARIABLE_VALUE", "w", keys[0]);
    attribute(&n[2], "VARIABLE_VALUE", "w", keys[1]);
    attribute(&n[3], "VARIABLE_VALUE", "v", keys[2]);
    buf s = {.n = 0};
    put_varint(&s, 1 << 3 | 0);
    put_varint(&s, 3);
    put_str(&s, 2, "m");
    put_varint(&s, 3 << 3 | 0);
    put_varint(&s, 4);
    put_bytes(slot_first ? &n[0] : &n[6], 3, s.b, s.n);
    attribute(&n[4], "VARIABLE_VALUE", "v/Adam", keys[3]);
    attribute(&n[5], "OBJECT_CONFIG_JSON", NULL, keys[4]);
    attribute(&n[6], "VARIABLE_VALUE", "ghost", "no/such/key");
    g->n = 0;
    for (int k = 0; k < 7; k++)
        put_bytes(g, 1, n[k].b, n[k].n);
}

START_TEST(full_names_slots_and_shared_names)
{
    buf g;
    graph(&g, 1);
    ckpt_names *n;
    ckpt_err err;
    ck_assert_int_eq(ckpt_names_parse(g.b, g.n, NKEYS, find, NULL, "t", &n, &err), 0);
    size_t len, idx, count, var, orig;
    const char *slot;
    ck_assert_str_eq(ckpt_names_full(n, 0, &len), "w");
    ck_assert_str_eq(ckpt_names_full(n, 3, &len), "v/Adam");
    ck_assert_ptr_null(ckpt_names_full(n, 4, &len)); /* no full_name given */
    ck_assert_int_eq(ckpt_names_slot(n, 3, &orig, &slot), 1);
    ck_assert_uint_eq(orig, 2);
    ck_assert_str_eq(slot, "m");
    ck_assert_int_eq(ckpt_names_slot(n, 2, &orig, &slot), 0);
    /* Links in bytewise order; the shared "w" numbered in key order (a/ before b/). */
    static const char *const want[] = {"v", "v/Adam", "w~1", "w~2"};
    static const size_t want_var[] = {2, 3, 0, 1};
    ck_assert_uint_eq(ckpt_names_links(n), 4);
    for (size_t j = 0; j < 4; j++) {
        const char *l = ckpt_names_link(n, j, &len, &var);
        ck_assert_str_eq(l, want[j]);
        ck_assert_uint_eq(var, want_var[j]);
    }
    ck_assert_int_eq(ckpt_names_find(n, "w", 1, &idx, &count), CKPT_E_INVALID);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(ckpt_names_find(n, "w~2", 3, &idx, &count), 0);
    ck_assert_uint_eq(idx, 1);
    ck_assert_int_eq(ckpt_names_find(n, "v/Adam", 6, &idx, &count), 0);
    ck_assert_uint_eq(idx, 3);
    ck_assert_int_eq(ckpt_names_find(n, "ghost", 5, &idx, &count), CKPT_E_NOTFOUND);
    ckpt_names_free(n);
}
END_TEST

START_TEST(slot_reference_on_a_later_node)
{
    /* The reference sits on a node after both it names (the first test: on the root, before
     * them); either way nodes are resolved after the walk. */
    buf g;
    graph(&g, 0);
    ckpt_names *n;
    ckpt_err err;
    ck_assert_int_eq(ckpt_names_parse(g.b, g.n, NKEYS, find, NULL, "t", &n, &err), 0);
    size_t orig;
    const char *slot;
    ck_assert_int_eq(ckpt_names_slot(n, 3, &orig, &slot), 1);
    ck_assert_uint_eq(orig, 2);
    ckpt_names_free(n);
}
END_TEST

START_TEST(damage_is_reported)
{
    buf g;
    graph(&g, 1);
    ckpt_names *n = (ckpt_names *)1;
    ckpt_err err;
    /* Cut inside a node: the length says more than there is. */
    ck_assert_int_eq(ckpt_names_parse(g.b, g.n - 3, NKEYS, find, NULL, "t", &n, &err),
                     CKPT_E_CORRUPT);
    ck_assert_ptr_null(n);
    ck_assert_ptr_nonnull(strstr(err.msg, "t: object graph"));
    /* An empty graph is valid: no names. */
    ck_assert_int_eq(ckpt_names_parse(g.b, 0, NKEYS, find, NULL, "t", &n, &err), 0);
    ck_assert_uint_eq(ckpt_names_links(n), 0);
    ckpt_names_free(n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objnames");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, full_names_slots_and_shared_names);
    tcase_add_test(tc, slot_reference_on_a_later_node);
    tcase_add_test(tc, damage_is_reported);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
