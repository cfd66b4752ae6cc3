/*
 * pbnum.c - floating-point numbers as TensorFlow's text_format prints them (see pbtext.h,
 * "number formatting"; docs/graph.md).
 */
#include "pbtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ckpt_pbtext_format_double(double d, char *buf)
{
    if (isnan(d))
        return (size_t)sprintf(buf, "nan");
    if (isinf(d))
        return (size_t)sprintf(buf, d < 0 ? "-inf" : "inf");
    char *o = buf;
    if (signbit(d)) {
        *o++ = '-';
        d = -d;
    }
    if (d == 0) {
        strcpy(o, "0.0");
        return (size_t)(o - buf) + 3;
    }
    /* Shortest digit string that reads back as d; the correctly rounded one at the shortest
     * length is the one Python's repr picks. */
    char tmp[40];
    for (int p = 0; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    char digits[24];
    size_t nd = 0;
    const char *s = tmp;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && nd < sizeof digits - 1)
            digits[nd++] = *s;
    int exp = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    /* Python switches to exponent form below 1e-4 and from 1e16 on. */
    if (exp < -4 || exp >= 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        }
        o += sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp >= 0) {
        size_t intlen = (size_t)exp + 1;
        for (size_t i = 0; i < intlen; i++)
            *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > intlen) {
            memcpy(o, digits + intlen, nd - intlen);
            o += nd - intlen;
        } else {
            *o++ = '0';
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp - 1; i++)
            *o++ = '0';
        memcpy(o, digits, nd);
        o += nd;
    }
    *o = '\0';
    return (size_t)(o - buf);
}

size_t ckpt_pbtext_format_float(float f, char *buf)
{
    if (isnan(f))
        return (size_t)sprintf(buf, "nan");
    /* text_format's ToShortestFloat: the fewest %g digits (from 6 up) that round back to the
     * same float, then printed as the double those digits denote. */
    char tmp[48];
    double r = f;
    for (int p = 6; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, (double)f);
        r = strtod(tmp, NULL);
        if ((double)(float)r == (double)f)
            break;
    }
    return ckpt_pbtext_format_double(r, buf);
}
