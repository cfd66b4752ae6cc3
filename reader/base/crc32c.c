/*
 * crc32c.c - see crc32c.h.
 *
 * The portable path is the classic slicing-by-8 over tables built at first use. Tables are
 * computed, not stored: they are a pure function of the polynomial, so building them lazily is
 * not hidden state in any sense that matters (threads racing to build write identical values;
 * a pthread_once makes that explicit).
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

/*
 * Joining CRCs is arithmetic on polynomials over GF(2) modulo the CRC's polynomial, in the
 * reflected bit order the CRC uses (bit 31 is x^0). CRC(A||B) = CRC(A) * x^(8 len(B)) + CRC(B),
 * the pre- and post-inversion cancelling out; x^(8n) is a product of the powers x^(2^k) for
 * the bits of 8n, kept in pow2 (pow2[k] = x^(2^k)).
 */
static uint32_t pow2[67];
static pthread_once_t pow2_once = PTHREAD_ONCE_INIT;

static uint32_t mul_mod(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (uint32_t m = 1u << 31; m; m >>= 1) {
        if (a & m)
            p ^= b;
        b = (b >> 1) ^ (POLY & (0u - (b & 1))); /* b *= x */
    }
    return p;
}

static void build_pow2(void)
{
    pow2[0] = 1u << 30; /* x^1 */
    for (int k = 1; k < 67; k++)
        pow2[k] = mul_mod(pow2[k - 1], pow2[k - 1]);
}

uint32_t ckpt_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    pthread_once(&pow2_once, build_pow2);
    uint32_t x = 1u << 31;                   /* x^0 */
    for (int k = 3; len_b; len_b >>= 1, k++) /* bit j of len_b is x^(2^(j+3)) */
        if (len_b & 1)
            x = mul_mod(x, pow2[k]);
    return mul_mod(x, crc_a) ^ crc_b;
}

uint32_t ckpt_crc32c_extend_portable(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&table_once, build_tables);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
            table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
            table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

/*
 * The crc32 instruction takes 3 cycles but a new one can start every cycle, so one dependent
 * chain runs at a third of what the unit can do. Long inputs are therefore cut into blocks of
 * three lanes of LANE bytes, each lane's CRC computed as its own chain in one loop, and the
 * three joined: the register after lanes A then B is shift(crc after A) ^ crc of B from 0,
 * where shift is "feed LANE zero bytes", a linear map on the 32-bit register, kept here as
 * four 256-entry tables (one per byte of the register).
 */
#define LANE 4096

static uint32_t shift_tab[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint32_t zeros_sse42(uint32_t c, size_t n)
{
    uint64_t r = c;
    for (size_t i = 0; i < n; i += 8)
        r = __builtin_ia32_crc32di(r, 0);
    return (uint32_t)r;
}

static void build_shift(void)
{
    uint32_t col[32]; /* the map applied to each bit of the register */
    for (int i = 0; i < 32; i++)
        col[i] = zeros_sse42(1u << i, LANE);
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int i = 0; i < 8; i++)
                if (b & (1u << i))
                    v ^= col[8 * k + i];
            shift_tab[k][b] = v;
        }
}

static uint32_t shift_lane(uint32_t c)
{
    return shift_tab[0][c & 0xff] ^ shift_tab[1][(c >> 8) & 0xff] ^ shift_tab[2][(c >> 16) & 0xff] ^
           shift_tab[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t extend_sse42(uint32_t crc, const void *data,
                                                               size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    if (n >= 3 * LANE)
        pthread_once(&shift_once, build_shift);
    while (n >= 3 * LANE) {
        uint64_t b = 0, d = 0;
        for (size_t i = 0; i < LANE; i += 8) {
            uint64_t x, y, z;
            memcpy(&x, p + i, 8);
            memcpy(&y, p + LANE + i, 8);
            memcpy(&z, p + 2 * LANE + i, 8);
            c = __builtin_ia32_crc32di(c, x);
            b = __builtin_ia32_crc32di(b, y);
            d = __builtin_ia32_crc32di(d, z);
        }
        c = shift_lane(shift_lane((uint32_t)c) ^ (uint32_t)b) ^ (uint32_t)d;
        p += 3 * LANE;
        n -= 3 * LANE;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

static int have_sse42(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & bit_SSE4_2) != 0;
}

uint32_t ckpt_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    /* __get_cpuid is cheap, but caching the answer in a local static is safe: it never changes. */
    static int hw = -1;
    int h = __atomic_load_n(&hw, __ATOMIC_RELAXED);
    if (h < 0) {
        h = have_sse42();
        __atomic_store_n(&hw, h, __ATOMIC_RELAXED);
    }
    return h ? extend_sse42(crc, data, n) : ckpt_crc32c_extend_portable(crc, data, n);
}
#else
uint32_t ckpt_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    return ckpt_crc32c_extend_portable(crc, data, n);
}
#endif
