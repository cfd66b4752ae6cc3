/* strtext.c - see strtext.h. */
#include "strtext.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ckpt_tstring_escape(const uint8_t *s, size_t len, char *dst)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        const char *esc = NULL;
        switch (c) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            if (dst)
                dst[o] = esc[0], dst[o + 1] = esc[1];
            o += 2;
            i++;
            continue;
        }
        if (c >= 0x20 && c < 0x7f) {
            if (dst)
                dst[o] = (char)c;
            o++;
            i++;
            continue;
        }
        size_t u = c >= 0x80 ? ckpt_utf8_seq(s + i, len - i) : 0;
        if (u) {
            if (dst)
                memcpy(dst + o, s + i, u);
            o += u;
            i += u;
            continue;
        }
        if (dst) {
            dst[o] = '\\', dst[o + 1] = 'x', dst[o + 2] = hex[c >> 4], dst[o + 3] = hex[c & 15];
        }
        o += 4;
        i++;
    }
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ckpt_tstring_put_escaped(ckpt_strbuf *b, const uint8_t *s, size_t len)
{
    size_t n = ckpt_tstring_escape(s, len, NULL);
    char *dst = ckpt_strbuf_extend(b, n);
    if (dst)
        ckpt_tstring_escape(s, len, dst);
}

long ckpt_tstring_unescape(char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            s[o++] = s[i];
            continue;
        }
        if (++i >= len)
            return -1;
        switch (s[i]) {
        case '\\': s[o++] = '\\'; break;
        case 'n': s[o++] = '\n'; break;
        case 'r': s[o++] = '\r'; break;
        case 't': s[o++] = '\t'; break;
        case 'x': {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            s[o++] = (char)(hi << 4 | lo);
            i += 2;
            break;
        }
        default: return -1;
        }
    }
    return (long)o;
}

/* A JSON string of raw bytes; invalid UTF-8 bytes as lone surrogates U+DC80..U+DCFF. */
void ckpt_json_put_string(ckpt_strbuf *b, const uint8_t *s, size_t len)
{
    ckpt_strbuf_put(b, "\"", 1);
    for (size_t i = 0; i < len;) {
        char esc[8];
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            ckpt_strbuf_put(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            ckpt_strbuf_put(b, esc, 6);
            i++;
        } else if (c < 0x80) {
            ckpt_strbuf_put(b, &s[i], 1);
            i++;
        } else {
            size_t u = ckpt_utf8_seq(s + i, len - i);
            if (u) {
                ckpt_strbuf_put(b, &s[i], u);
                i += u;
            } else {
                snprintf(esc, sizeof esc, "\\udc%02x", c);
                ckpt_strbuf_put(b, esc, 6);
                i++;
            }
        }
    }
    ckpt_strbuf_put(b, "\"", 1);
}
