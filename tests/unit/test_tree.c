/*
 * test_tree.c - the directory tree of tree.h, built from checkpoint fixtures (CKPT_FIXTURES).
 *
 * Expectations are worked out by hand from the fixtures' manifests (TensorFlow's own listing,
 * names in bytewise order) and the rules of tree.h and docs/mount.md.
 * sample/model.ckpt holds, in index order:
 *   0 beta1_power  1 beta2_power  2 dense/bias  3 dense/bias/Adam  4 dense/bias/Adam_1
 *   5 dense/kernel  6 dense/kernel/Adam  7 dense/kernel/Adam_1  8 global_step
 * so the directories are 1 dense, 2 dense/bias, 3 dense/kernel (numbered in name order).
 */
#include "fixture.h"
#include "tablebuilder.h"
#include "tree.h"

#include "check_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Warnings a build gave, one per line. */
static char g_warnings[8192];

static void collect(void *ctx, const char *msg)
{
    (void)ctx;
    size_t n = strlen(g_warnings);
    snprintf(g_warnings + n, sizeof g_warnings - n, "%s\n", msg);
}

/* Generated slots: 0 and 2 exist, 1 is absent (its inode, 3, stays unused). */
static const char *const gen[] = {"variables.tsv", NULL, "model.meta"};

static ckfs_tree *build(ckpt_checkpoint *c, int npy)
{
    ckfs_tree *t = NULL;
    g_warnings[0] = '\0';
    ck_assert_int_eq(ckfs_tree_build(c, 0, gen, 3, npy, collect, NULL, &t), 0);
    ck_assert_ptr_nonnull(t);
    return t;
}

static ckfs_node look(const ckfs_tree *t, uint32_t dir, const char *name)
{
    ckfs_node n;
    ck_assert_msg(ckfs_tree_lookup(t, dir, name, &n) == 0, "no '%s' in dir %u", name, dir);
    return n;
}

static void expect(const ckfs_tree *t, uint32_t dir, const char *name, int kind, uint32_t idx)
{
    ckfs_node n = look(t, dir, name);
    ck_assert_msg(n.kind == kind && n.idx == idx, "'%s' in dir %u: (%d, %u), want (%d, %u)", name,
                  dir, n.kind, n.idx, kind, idx);
}

static void absent(const ckfs_tree *t, uint32_t dir, const char *name)
{
    ckfs_node n;
    ck_assert_msg(ckfs_tree_lookup(t, dir, name, &n) == -1, "'%s' in dir %u exists", name, dir);
}

/*
 * A V2 checkpoint of float32 scalars named names[0..n) (bytewise sorted), written by hand from
 * docs/format.md into a new temporary directory: the header {num_shards 1}, then per name
 * {dtype 1, shape {}, offset 4i, size 4} and a data shard of 4n bytes. Opened; *dir is the
 * directory to remove.
 */
static ckpt_checkpoint *scalars(const char *const *names, size_t n, char *dir)
{
    strcpy(dir, "/tmp/ckptfs-tree.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    tb_table t;
    tb_table_init(&t, 4096, 16, 0);
    static const uint8_t header[] = {0x08, 0x01};
    tb_table_add(&t, "", 0, header, sizeof header);
    for (size_t i = 0; i < n; i++) {
        uint8_t e[] = {0x08, 0x01, 0x12, 0x00, 0x20, (uint8_t)(4 * i), 0x28, 0x04};
        ck_assert_uint_lt(4 * i, 128); /* one-byte offsets */
        tb_table_add(&t, names[i], strlen(names[i]), e, sizeof e);
    }
    tb_table_finish(&t);
    char path[256];
    snprintf(path, sizeof path, "%s/m.index", dir);
    ck_assert_int_eq(tb_write_file(path, t.out.p, t.out.n), 0);
    tb_table_free(&t);
    uint8_t zeros[128] = {0};
    snprintf(path, sizeof path, "%s/m.data-00000-of-00001", dir);
    ck_assert_int_eq(tb_write_file(path, zeros, 4 * n), 0);
    snprintf(path, sizeof path, "%s/m", dir);
    ckpt_checkpoint *c = NULL;
    ckpt_err err;
    ck_assert_msg(ckpt_open(path, 0, &c, &err) == 0, "%s", err.msg);
    return c;
}

static void remove_scalars(ckpt_checkpoint *c, const char *dir)
{
    char path[256];
    ckpt_close(c);
    snprintf(path, sizeof path, "%s/m.index", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/m.data-00000-of-00001", dir);
    unlink(path);
    rmdir(dir);
}

/* dir's names, in order, match want[0..n). */
static void listing(const ckfs_tree *t, uint32_t dir, const char *const *want, uint32_t n)
{
    ck_assert_uint_eq(ckfs_tree_dir_size(t, dir), n);
    char name[CKFS_ENTRY_NAME_MAX + 1];
    uint32_t got = 0;
    int r;
    for (uint64_t k = 0; (r = ckfs_tree_dir_entry(t, dir, k, &(ckfs_node){0}, name)) != 1; k++) {
        if (r == 2)
            continue;
        ck_assert_uint_lt(got, n);
        ck_assert_str_eq(name, want[got]);
        got++;
    }
    ck_assert_uint_eq(got, n);
}

START_TEST(inode_numbers_follow_the_formula)
{
    ckpt_checkpoint *c = open_fixture("sample/model.ckpt");
    ckfs_tree *t = build(c, 1);
    /* 9 variables: variable i, slot k at 16 + 4i + k; directories from 16 + 4*9 = 52. */
    static const struct {
        ckfs_node n;
        uint64_t ino;
    } map[] = {
        {{CKFS_K_DIR, 0}, 1},   {{CKFS_K_GEN, 0}, 2},    {{CKFS_K_GEN, 2}, 4},
        {{CKFS_K_DATA, 0}, 16}, {{CKFS_K_SHAPE, 0}, 17}, {{CKFS_K_DTYPE, 0}, 18},
        {{CKFS_K_NPY, 0}, 19},  {{CKFS_K_DATA, 2}, 24},  {{CKFS_K_NPY, 8}, 51},
        {{CKFS_K_DIR, 1}, 52},  {{CKFS_K_DIR, 2}, 53},   {{CKFS_K_DIR, 3}, 54},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        ck_assert_uint_eq(ckfs_tree_ino(t, map[i].n), map[i].ino);
        ckfs_node back;
        ck_assert_int_eq(ckfs_tree_node(t, map[i].ino, &back), 0);
        ck_assert_int_eq(back.kind, map[i].n.kind);
        ck_assert_uint_eq(back.idx, map[i].n.idx);
    }
    ckfs_node none;
    ck_assert_int_eq(ckfs_tree_node(t, 0, &none), -1);
    ck_assert_int_eq(ckfs_tree_node(t, 3, &none), -1); /* generated slot 1 is absent */
    ck_assert_int_eq(ckfs_tree_node(t, 5, &none), -1); /* only 3 slots were given */
    ck_assert_int_eq(ckfs_tree_node(t, 15, &none), -1);
    ck_assert_int_eq(ckfs_tree_node(t, 55, &none), -1); /* no fourth directory */
    ckfs_tree_free(t);
    ckpt_close(c);
}
END_TEST

START_TEST(nested_lookup_and_dot_entries)
{
    ckpt_checkpoint *c = open_fixture("sample/model.ckpt");
    ckfs_tree *t = build(c, 0);
    static const struct {
        uint32_t dir;
        const char *name;
        int kind;
        uint32_t idx;
    } want[] = {
        {0, "dense", CKFS_K_DIR, 1},
        {1, "bias", CKFS_K_DIR, 2},
        {1, "kernel", CKFS_K_DIR, 3},
        {2, "Adam", CKFS_K_DATA, 3},
        {2, "Adam_1.shape", CKFS_K_SHAPE, 4},
        {3, "Adam_1.dtype", CKFS_K_DTYPE, 7},
        {0, "global_step", CKFS_K_DATA, 8},
        {0, "variables.tsv", CKFS_K_GEN, 0},
        {0, "model.meta", CKFS_K_GEN, 2},
        {2, ".", CKFS_K_DIR, 2},
        {2, "..", CKFS_K_DIR, 1},
        {1, "..", CKFS_K_DIR, 0},
        {0, "..", CKFS_K_DIR, 0}, /* the root is its own parent */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        expect(t, want[i].dir, want[i].name, want[i].kind, want[i].idx);
    ck_assert_uint_eq(ckfs_tree_parent(t, 3), 1);
    ck_assert_uint_eq(ckfs_tree_parent(t, 0), 0);
    absent(t, 0, "nope");
    absent(t, 0, "bias");            /* only in dense/ */
    absent(t, 0, "global_step.npy"); /* npy off */
    absent(t, 1, "");
    ck_assert_str_eq(g_warnings, "");
    ckfs_tree_free(t);
    ckpt_close(c);
}
END_TEST

/* dense/bias is a variable and a directory: the directory keeps the name, the bytes move to
 * bias.raw and the sidecars keep their names. */
START_TEST(a_variable_that_is_a_directory_moves_to_raw)
{
    ckpt_checkpoint *c = open_fixture("sample/model.ckpt");
    ckfs_tree *t = build(c, 1);
    expect(t, 1, "bias.raw", CKFS_K_DATA, 2);
    expect(t, 1, "bias.shape", CKFS_K_SHAPE, 2);
    expect(t, 1, "bias.dtype", CKFS_K_DTYPE, 2);
    expect(t, 1, "bias.npy", CKFS_K_NPY, 2);
    expect(t, 1, "kernel.raw", CKFS_K_DATA, 5);
    absent(t, 2, "Adam.raw"); /* Adam is no directory */
    static const char *const dense[] = {
        "bias",   "bias.dtype",   "bias.npy",   "bias.raw",   "bias.shape",
        "kernel", "kernel.dtype", "kernel.npy", "kernel.raw", "kernel.shape",
    };
    listing(t, 1, dense, 10);
    ckfs_tree_free(t);
    ckpt_close(c);
}
END_TEST

START_TEST(directory_sizes_and_counts)
{
    ckpt_checkpoint *c = open_fixture("sample/model.ckpt");
    ckfs_tree *t = build(c, 1);
    /* Bytewise order: '.' (0x2e) sorts before '_' (0x5f) and digits before letters. */
    static const char *const root[] = {
        "beta1_power",       "beta1_power.dtype", "beta1_power.npy",
        "beta1_power.shape", "beta2_power",       "beta2_power.dtype",
        "beta2_power.npy",   "beta2_power.shape", "dense",
        "global_step",       "global_step.dtype", "global_step.npy",
        "global_step.shape", "model.meta",        "variables.tsv",
    };
    listing(t, 0, root, 15);
    static const char *const bias[] = {
        "Adam",   "Adam.dtype",   "Adam.npy",   "Adam.shape",
        "Adam_1", "Adam_1.dtype", "Adam_1.npy", "Adam_1.shape",
    };
    listing(t, 2, bias, 8);
    ck_assert_uint_eq(ckfs_tree_dir_size(t, 3), 8);
    ck_assert_uint_eq(ckfs_tree_subdirs(t, 0), 1);
    ck_assert_uint_eq(ckfs_tree_subdirs(t, 1), 2);
    ck_assert_uint_eq(ckfs_tree_subdirs(t, 2), 0);
    ck_assert_uint_eq(ckfs_tree_nnames(t), 15 + 10 + 8 + 8);
    /* float32 [] x2, [10] x3, [784, 10] x3, int64 []: 8 + 120 + 94080 + 8. */
    ck_assert_uint_eq(ckfs_tree_total_bytes(t), 94216);
    ckfs_tree_free(t);

    /* Without npy every variable has 3 names: the root loses its 3 .npy files. */
    t = build(c, 0);
    ck_assert_uint_eq(ckfs_tree_dir_size(t, 0), 12);
    ck_assert_uint_eq(ckfs_tree_nnames(t), 12 + 8 + 6 + 6);
    ckfs_tree_free(t);
    ckpt_close(c);
}
END_TEST

/* names/ holds the awkward cases of docs/format.md: escaped components, a variable named like
 * another's sidecar, a variable named like a generated file. Every one keeps a name. */
START_TEST(escapes_and_hidden_names)
{
    ckpt_checkpoint *c = open_fixture("names/names");
    ckfs_tree *t = build(c, 0);
    /* ".." is a variable and, through "../up", a directory shown as "%..". */
    ckfs_node up = look(t, 0, "%..");
    ck_assert_int_eq(up.kind, CKFS_K_DIR);
    ck_assert_int_eq(look(t, up.idx, "up").kind, CKFS_K_DATA);
    ck_assert_int_eq(look(t, 0, "%...raw").kind, CKFS_K_DATA);
    ck_assert_int_eq(look(t, 0, "%..shape").kind, CKFS_K_SHAPE); /* sidecar of "." */
    absent(t, 0, "..raw");
    /* "//double_leading" and "/leading" share the empty first component "%". */
    ckfs_node empty = look(t, 0, "%");
    ck_assert_int_eq(empty.kind, CKFS_K_DIR);
    ck_assert_int_eq(look(t, empty.idx, "%").kind, CKFS_K_DIR);
    ck_assert_int_eq(look(t, empty.idx, "leading").kind, CKFS_K_DATA);
    /* "trailing/" is a variable with an empty last component. */
    ckfs_node tr = look(t, 0, "trailing");
    ck_assert_int_eq(look(t, tr.idx, "%").kind, CKFS_K_DATA);
    /* The variable "kernel.shape" is "kernel.shape%", beside kernel's own sidecar. */
    ck_assert_int_eq(look(t, 0, "kernel.shape%").kind, CKFS_K_DATA);
    ck_assert_int_eq(look(t, 0, "kernel.shape").kind, CKFS_K_SHAPE);
    ck_assert_int_eq(look(t, 0, "kernel.dtype%").kind, CKFS_K_DATA);
    ck_assert_int_eq(look(t, 0, "kernel").kind, CKFS_K_DIR);
    ck_assert_int_eq(look(t, 0, "kernel.raw").kind, CKFS_K_DATA);
    ck_assert_int_eq(look(t, 0, "variables.tsv%").kind, CKFS_K_DATA);
    ck_assert_int_eq(look(t, 0, "variables.tsv").kind, CKFS_K_GEN);
    /* A 300-byte component is hashed, so no entry name is longer than NAME_MAX. */
    char name[CKFS_ENTRY_NAME_MAX + 1];
    ckfs_node n;
    int r;
    for (uint64_t k = 0; (r = ckfs_tree_dir_entry(t, 0, k, &n, name)) != 1; k++)
        ck_assert(r == 2 || strlen(name) <= 255);
    /* Nothing is hidden, so nothing is reported. */
    ck_assert_str_eq(g_warnings, "");
    ckfs_tree_free(t);
    ckpt_close(c);
}
END_TEST

/* Names that fall between a variable and its sidecars ("x-1", "x.a" between "x" and
 * "x.dtype") still list in bytewise order: that directory's listing is written out. */
START_TEST(names_between_a_variable_and_its_sidecars_list_in_order)
{
    static const char *const names[] = {"w", "x", "x-1", "x.a", "y", "y/b"};
    char dir[64];
    ckpt_checkpoint *c = scalars(names, 6, dir);
    ckfs_tree *t = build(c, 1);
    static const char *const root[] = {
        "model.meta", "variables.tsv", "w",         "w.dtype", "w.npy",     "w.shape",
        "x",          "x-1",           "x-1.dtype", "x-1.npy", "x-1.shape", "x.a",
        "x.a.dtype",  "x.a.npy",       "x.a.shape", "x.dtype", "x.npy",     "x.shape",
        "y",          "y.dtype",       "y.npy",     "y.raw",   "y.shape",
    };
    listing(t, 0, root, 23);
    static const char *const y[] = {"b", "b.dtype", "b.npy", "b.shape"};
    listing(t, 1, y, 4);
    expect(t, 0, "x", CKFS_K_DATA, 1);
    expect(t, 0, "x.shape", CKFS_K_SHAPE, 1);
    expect(t, 0, "x-1.npy", CKFS_K_NPY, 2);
    expect(t, 0, "x.a.dtype", CKFS_K_DTYPE, 3);
    expect(t, 0, "y", CKFS_K_DIR, 1);
    expect(t, 0, "y.raw", CKFS_K_DATA, 4);
    expect(t, 0, "y.shape", CKFS_K_SHAPE, 4);
    expect(t, 1, "b.shape", CKFS_K_SHAPE, 5);
    absent(t, 0, "w.raw");
    absent(t, 0, "x.raw");
    absent(t, 0, ".shape");
    ck_assert_uint_eq(ckfs_tree_nnames(t), 23 + 4);
    ck_assert_uint_eq(ckfs_tree_subdirs(t, 0), 1);
    ck_assert_str_eq(g_warnings, "");
    ckfs_tree_free(t);
    remove_scalars(c, dir);
}
END_TEST

/* Generated files yield: to a variable of their name, and to a variable's sidecar. */
START_TEST(generated_files_yield_to_variables_and_sidecars)
{
    static const char *const names[] = {"g", "h"};
    char dir[64];
    ckpt_checkpoint *c = scalars(names, 2, dir);
    static const char *const mine[] = {"g", "h.shape", "z"};
    ckfs_tree *t = NULL;
    g_warnings[0] = '\0';
    ck_assert_int_eq(ckfs_tree_build(c, 0, mine, 3, 0, collect, NULL, &t), 0);
    static const char *const root[] = {
        "g", "g.dtype", "g.shape", "h", "h.dtype", "h.shape", "z",
    };
    listing(t, 0, root, 7);
    expect(t, 0, "g", CKFS_K_DATA, 0);
    expect(t, 0, "h.shape", CKFS_K_SHAPE, 1);
    expect(t, 0, "z", CKFS_K_GEN, 2);
    ck_assert_str_eq(g_warnings,
                     "hiding the generated file 'g' in '/': a variable has that name\n"
                     "hiding the generated file 'h.shape' in '/': a .shape file has that name\n");
    ckfs_tree_free(t);
    remove_scalars(c, dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("tree");
    tcase_add_test(tc, inode_numbers_follow_the_formula);
    tcase_add_test(tc, nested_lookup_and_dot_entries);
    tcase_add_test(tc, a_variable_that_is_a_directory_moves_to_raw);
    tcase_add_test(tc, directory_sizes_and_counts);
    tcase_add_test(tc, escapes_and_hidden_names);
    tcase_add_test(tc, names_between_a_variable_and_its_sidecars_list_in_order);
    tcase_add_test(tc, generated_files_yield_to_variables_and_sidecars);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
