/*
 * test_archive.c - seek points at work (docs/archives.md): after a forward read of a deflated
 * zip member, a read near its end decodes at most one span, not the member again; a .tar.gz
 * indexed once with cache_dir= opens the next time without decoding anything, and a late
 * read then decodes at most one span. The archives are written here, by zlib's own deflate
 * and gzip writers and the zip and ustar layouts written out by hand from their
 * specifications; the truth is the bytes this test generated and the number of bytes each
 * read must decode. A folder inside a tar lists its own files only, and a tar of several
 * checkpoints is the folder of its places with the names, prefixes and SavedModel files
 * docs/archives.md states, worked out here by hand.
 */
#include "archive.h"
#include "folder.h"
#include "resolve.h"
#include "zseek.h"

#include "check_run.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BIG (12u << 20)
#define SMALL 1000u

static char g_dir[256];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/ckpt-archive-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void remove_dir(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(g_dir);
}

/* Data deflate shrinks but cannot skip: eight letters in a pseudo-random order. */
static uint8_t *gen(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t) "abcdefgh"[(seed >> 16) & 7];
    }
    return b;
}

static void put16(FILE *f, unsigned v)
{
    fputc((int)(v & 0xff), f);
    fputc((int)(v >> 8 & 0xff), f);
}

static void put32(FILE *f, uint32_t v)
{
    put16(f, v & 0xffff);
    put16(f, v >> 16);
}

/* Raw deflate of d (n bytes) into a new buffer; *cn its length. */
static uint8_t *deflate_raw(const uint8_t *d, size_t n, size_t *cn)
{
    z_stream s = {0};
    ck_assert_int_eq(deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&s, n);
    uint8_t *out = malloc(cap);
    s.next_in = (Bytef *)d;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&s, Z_FINISH), Z_STREAM_END);
    *cn = cap - s.avail_out;
    deflateEnd(&s);
    return out;
}

/* A zip of "big.bin" (deflated) and "small.bin" (stored), by APPNOTE's layout. */
static void write_zip(const char *path, const uint8_t *big, const uint8_t *small)
{
    size_t cn;
    uint8_t *c = deflate_raw(big, BIG, &cn);
    struct {
        const char *name;
        unsigned method;
        const uint8_t *data;
        size_t csize, usize;
        uint32_t crc, off;
    } m[2] = {{"big.bin", 8, c, cn, BIG, 0, 0}, {"small.bin", 0, small, SMALL, SMALL, 0, 0}};
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 2; i++) {
        m[i].crc = (uint32_t)crc32(0, m[i].method ? big : small, (uInt)m[i].usize);
        m[i].off = (uint32_t)ftell(f);
        put32(f, 0x04034b50);
        put16(f, 20), put16(f, 0), put16(f, m[i].method), put16(f, 0), put16(f, 0);
        put32(f, m[i].crc), put32(f, (uint32_t)m[i].csize), put32(f, (uint32_t)m[i].usize);
        put16(f, (unsigned)strlen(m[i].name)), put16(f, 0);
        fwrite(m[i].name, 1, strlen(m[i].name), f);
        fwrite(m[i].data, 1, m[i].csize, f);
    }
    uint32_t cd = (uint32_t)ftell(f);
    for (int i = 0; i < 2; i++) {
        put32(f, 0x02014b50);
        put16(f, 20), put16(f, 20), put16(f, 0), put16(f, m[i].method), put16(f, 0), put16(f, 0);
        put32(f, m[i].crc), put32(f, (uint32_t)m[i].csize), put32(f, (uint32_t)m[i].usize);
        put16(f, (unsigned)strlen(m[i].name)), put16(f, 0), put16(f, 0), put16(f, 0), put16(f, 0);
        put32(f, 0), put32(f, m[i].off);
        fwrite(m[i].name, 1, strlen(m[i].name), f);
    }
    uint32_t cd_end = (uint32_t)ftell(f);
    put32(f, 0x06054b50);
    put16(f, 0), put16(f, 0), put16(f, 2), put16(f, 2);
    put32(f, cd_end - cd), put32(f, cd), put16(f, 0);
    ck_assert_int_eq(fclose(f), 0);
    free(c);
}

/* A ustar header for a regular file name of size bytes (checksum by the ustar rule). */
static void tar_header(uint8_t h[512], const char *name, size_t size)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011o", (unsigned)size); /* sizes here are below 4 GiB */
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

/* A .tar.gz of "big.bin" then "small.bin", through zlib's gzip writer. */
static void write_tgz(const char *path, const uint8_t *big, const uint8_t *small)
{
    gzFile g = gzopen(path, "wb6");
    ck_assert_ptr_nonnull(g);
    uint8_t h[512], zero[1024] = {0};
    tar_header(h, "big.bin", BIG);
    gzwrite(g, h, 512);
    gzwrite(g, big, BIG); /* a multiple of 512: no padding */
    tar_header(h, "dir/small.bin", SMALL);
    gzwrite(g, h, 512);
    gzwrite(g, small, SMALL);
    gzwrite(g, zero, 512 - SMALL % 512);
    gzwrite(g, zero, sizeof zero);
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static ckpt_file *open_member(const ckpt_bytesrc *src, const char *path, const char *inner)
{
    char name[700];
    snprintf(name, sizeof name, "%s//%s", path, inner);
    ckpt_file *f;
    ckpt_err err;
    int rc = ckpt_file_open(src, name, &f, &err);
    ck_assert_msg(rc == 0, "open %s: %s", name, err.msg);
    return f;
}

static void read_ok(ckpt_file *f, void *buf, size_t n, uint64_t off)
{
    ckpt_err err;
    int rc = ckpt_file_pread(f, buf, n, off, &err);
    ck_assert_msg(rc == 0, "read %zu at %llu: %s", n, (unsigned long long)off, err.msg);
}

START_TEST(zip_late_read_after_forward_read_uses_a_seek_point)
{
    uint8_t *big = gen(BIG, 1), *small = gen(SMALL, 2);
    char path[300];
    snprintf(path, sizeof path, "%s/t.zip", g_dir);
    write_zip(path, big, small);
    ckpt_bytesrc *src;
    ckpt_err err;
    ck_assert_msg(ckpt_archive_open(path, NULL, &src, &err) == 0, "%s", err.msg);
    ckpt_file *f = open_member(src, path, "big.bin");
    ck_assert_uint_eq(f->size, BIG);
    uint8_t *buf = malloc(1u << 20);
    /* Forward, a MiB at a time: every byte decoded once. */
    for (uint64_t off = 0; off < BIG; off += 1u << 20) {
        read_ok(f, buf, 1u << 20, off);
        ck_assert(memcmp(buf, big + off, 1u << 20) == 0);
    }
    ck_assert_uint_eq(ckpt_archive_inflated(src), BIG);
    /* Near the end: from the last seek point before it, at most a span and a window. */
    uint64_t before = ckpt_archive_inflated(src), at = BIG - 5000;
    read_ok(f, buf, 4096, at);
    ck_assert(memcmp(buf, big + at, 4096) == 0);
    uint64_t cost = ckpt_archive_inflated(src) - before;
    ck_assert_msg(cost <= CKPT_ZSEEK_SPAN + CKPT_ZSEEK_WINDOW + 4096,
                  "a late read decoded %llu bytes", (unsigned long long)cost);
    /* Back to the middle: again at most a span. */
    before = ckpt_archive_inflated(src);
    at = BIG / 2 + 12345;
    read_ok(f, buf, 1000, at);
    ck_assert(memcmp(buf, big + at, 1000) == 0);
    ck_assert_uint_le(ckpt_archive_inflated(src) - before,
                      CKPT_ZSEEK_SPAN + CKPT_ZSEEK_WINDOW + 1000);
    /* A stored member is a plain range: nothing decoded. */
    ckpt_file *s = open_member(src, path, "small.bin");
    before = ckpt_archive_inflated(src);
    read_ok(s, buf, SMALL, 0);
    ck_assert(memcmp(buf, small, SMALL) == 0);
    ck_assert_uint_eq(ckpt_archive_inflated(src), before);
    ckpt_file_close(s);
    ckpt_file_close(f);
    ckpt_archive_release(src);

    /* Without a forward read first, the same late read decodes everything before it: the
     * points above came from the forward read. */
    ck_assert(ckpt_archive_open(path, NULL, &src, &err) == 0);
    f = open_member(src, path, "big.bin");
    read_ok(f, buf, 4096, BIG - 5000);
    ck_assert_uint_ge(ckpt_archive_inflated(src), BIG - 5000);
    ckpt_file_close(f);
    ckpt_archive_release(src);
    free(buf);
    free(big);
    free(small);
}
END_TEST

START_TEST(tgz_index_is_kept_and_used)
{
    uint8_t *big = gen(BIG, 3), *small = gen(SMALL, 4);
    char path[300];
    snprintf(path, sizeof path, "%s/t.tar.gz", g_dir);
    write_tgz(path, big, small);
    ckpt_net_opts o;
    ckpt_net_opts_init(&o);
    o.cache_dir = g_dir;
    ckpt_bytesrc *src;
    ckpt_err err;
    /* First open: one pass over the stream to index it. */
    ck_assert_msg(ckpt_archive_open(path, &o, &src, &err) == 0, "%s", err.msg);
    ck_assert_uint_ge(ckpt_archive_inflated(src), BIG + 512);
    ckpt_file *f = open_member(src, path, "dir/small.bin");
    uint8_t buf[SMALL];
    read_ok(f, buf, SMALL, 0);
    ck_assert(memcmp(buf, small, SMALL) == 0);
    ckpt_file_close(f);
    ckpt_archive_release(src);

    /* Next open: the kept index, nothing decoded; a late read costs at most a span. */
    ck_assert_msg(ckpt_archive_open(path, &o, &src, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(ckpt_archive_inflated(src), 0);
    f = open_member(src, path, "big.bin");
    ck_assert_uint_eq(f->size, BIG);
    read_ok(f, buf, SMALL, BIG - 3000);
    ck_assert(memcmp(buf, big + BIG - 3000, SMALL) == 0);
    ck_assert_uint_le(ckpt_archive_inflated(src), CKPT_ZSEEK_SPAN_GZ + CKPT_ZSEEK_WINDOW + SMALL);
    ckpt_file_close(f);
    f = open_member(src, path, "dir/small.bin");
    read_ok(f, buf, SMALL, 0);
    ck_assert(memcmp(buf, small, SMALL) == 0);
    ckpt_file_close(f);
    ckpt_archive_release(src);
    free(big);
    free(small);
}
END_TEST

/* A plain tar of n members name[i] holding text[i], written out by the ustar layout. */
static void write_tar(const char *path, const char *const *name, const char *const *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    uint8_t h[512], zero[1024] = {0};
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(text[i]);
        tar_header(h, name[i], len);
        fwrite(h, 1, 512, f);
        fwrite(text[i], 1, len, f);
        fwrite(zero, 1, (512 - len % 512) % 512, f);
    }
    fwrite(zero, 1, sizeof zero, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(a_folder_lists_its_own_files)
{
    /* Sorted, "run/a-b/x" and "run/a.index" come before "run/a/y.index", and "run/a0" and
     * "run0/z" after it: subfolders are skipped whole, neighbours by name are not. */
    static const char *const names[] = {
        "run/checkpoint", "run/a.index", "run/a-b/x", "run/a.data-00000-of-00001",
        "run/a/y.index",  "run/a0",      "run0/z"};
    static const char *const texts[] = {"", "", "", "", "", "", ""};
    char path[300], dir[400];
    snprintf(path, sizeof path, "%s/l.tar", g_dir);
    write_tar(path, names, texts, 7);
    ckpt_bytesrc *src;
    ckpt_err err;
    ck_assert_msg(ckpt_archive_open(path, NULL, &src, &err) == 0, "%s", err.msg);
    ckpt_listing l;
    snprintf(dir, sizeof dir, "%s//run", path);
    ck_assert_msg(ckpt_bytesrc_list(src, dir, &l, &err) == 0, "%s", err.msg);
    static const char *const want[] = {"a.data-00000-of-00001", "a.index", "a0", "checkpoint"};
    ck_assert_uint_eq(l.n, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(l.e[i].name, want[i]);
    ckpt_listing_free(&l);
    snprintf(dir, sizeof dir, "%s//run/a", path);
    ck_assert_msg(ckpt_bytesrc_list(src, dir, &l, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.e[0].name, "y.index");
    ckpt_listing_free(&l);
    ck_assert_msg(ckpt_bytesrc_list(src, path, &l, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(l.n, 0); /* the root holds folders only */
    ckpt_listing_free(&l);
    snprintf(dir, sizeof dir, "%s//ru", path);
    ck_assert_int_eq(ckpt_bytesrc_list(src, dir, &l, &err), CKPT_E_NOTFOUND);
    ckpt_archive_release(src);
}
END_TEST

START_TEST(several_places_are_a_folder)
{
    static const char *const names[] = {"z/ck/checkpoint",     "z/ck/m-1.index",
                                        "z/sm/saved_model.pb", "z/sm/variables/variables.index",
                                        "z/x 50%/p.index",     "z/notes.txt"};
    static const char *const texts[] = {"model_checkpoint_path: \"m-1\"\n", "", "", "", "", "x"};
    char path[300], want[400];
    snprintf(path, sizeof path, "%s/p.tar", g_dir);
    write_tar(path, names, texts, 6);
    ckpt_bytesrc *src;
    ckpt_err err;
    ck_assert_msg(ckpt_archive_open(path, NULL, &src, &err) == 0, "%s", err.msg);
    ckpt_folder f;
    ck_assert_msg(ckpt_folder_scan_src(src, path, &f, &err) == 0, "%s", err.msg);
    ck_assert(f.places);
    ck_assert_int_eq(f.latest, -1);
    ck_assert_uint_eq(f.n, 3);
    /* "z/" is shared and left out; '%' is %25 and '/' %2F. */
    ck_assert_str_eq(f.items[0].name, "ck");
    ck_assert_str_eq(f.items[1].name, "sm");
    ck_assert_str_eq(f.items[2].name, "x 50%25%2Fp");
    snprintf(want, sizeof want, "%s//z/ck/m-1", path); /* the state file's latest */
    ck_assert_str_eq(f.items[0].prefix, want);
    snprintf(want, sizeof want, "%s//z/ck", path);
    ck_assert_str_eq(f.items[0].folder, want);
    ck_assert_ptr_null(f.items[0].saved_model);
    snprintf(want, sizeof want, "%s//z/sm/variables/variables", path);
    ck_assert_str_eq(f.items[1].prefix, want);
    snprintf(want, sizeof want, "%s//z/sm/saved_model.pb", path);
    ck_assert_str_eq(f.items[1].saved_model, want);
    ck_assert_ptr_null(f.items[1].folder);
    snprintf(want, sizeof want, "%s//z/x 50%%/p", path);
    ck_assert_str_eq(f.items[2].prefix, want);
    ck_assert_ptr_null(f.items[2].folder);
    for (size_t i = 0; i < 3; i++)
        ck_assert(f.items[i].known && f.items[i].complete && !f.items[i].v1);
    ckpt_folder_free(&f);
    /* A place inside is a folder like any other, and ARCHIVE//. the root itself. */
    snprintf(want, sizeof want, "%s//z/ck", path);
    ck_assert_msg(ckpt_folder_scan_src(src, want, &f, &err) == 0, "%s", err.msg);
    ck_assert(!f.places);
    ck_assert_uint_eq(f.n, 1);
    ck_assert_str_eq(f.items[0].name, "m-1");
    ckpt_folder_free(&f);
    snprintf(want, sizeof want, "%s//.", path);
    ck_assert_int_eq(ckpt_folder_scan_src(src, want, &f, &err), CKPT_E_NOTFOUND);
    ckpt_archive_release(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("archive");
    TCase *tc = tcase_create("archive");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_add_test(tc, zip_late_read_after_forward_read_uses_a_seek_point);
    tcase_add_test(tc, tgz_index_is_kept_and_used);
    tcase_add_test(tc, a_folder_lists_its_own_files);
    tcase_add_test(tc, several_places_are_a_folder);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
