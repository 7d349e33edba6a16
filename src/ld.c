/* Long double helpers for INCRBYFLOAT and HINCRBYFLOAT.
 *
 * Redis does these in C `long double` (80-bit on x86-64) and prints the
 * result with "%.17Lf" minus trailing zeros. Rust has no long double, and
 * doing the sum in f64 prints differently (0.1+0.2), so this tiny C file
 * does the arithmetic and the formatting. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OX_MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Parses like Redis's string2ld. Returns 1 on success. */
static int ox_string2ld(const char *s, size_t slen, long double *dp) {
    char buf[OX_MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;

    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' || (size_t)(eptr - buf) != slen ||
        (errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    *dp = value;
    return 1;
}

/* Formats like Redis's ld2string in human mode. Returns the length, or 0
 * if it does not fit. */
static size_t ox_ld2string(char *buf, size_t len, long double value) {
    int l;
    if (isinf(value)) {
        if (len < 5) return 0;
        if (value > 0) { memcpy(buf, "inf", 3); return 3; }
        memcpy(buf, "-inf", 4);
        return 4;
    }
    l = snprintf(buf, len, "%.17Lf", value);
    if (l < 0 || (size_t)l + 1 > len) return 0;
    if (strchr(buf, '.') != NULL) {
        char *p = buf + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    return (size_t)l;
}

/* Returns 1 if `s` parses as a long double. */
int ox_ld_valid(const char *s, size_t slen) {
    long double v;
    return ox_string2ld(s, slen, &v);
}

/* out = format(a + b). Returns the length written, 0 if a is not a
 * number, -1 if b is not a number, -2 if the sum is NaN or infinite,
 * -3 if the output buffer is too small. */
long ox_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t outcap) {
    long double x, y, r;
    size_t n;
    if (!ox_string2ld(a, alen, &x)) return 0;
    if (!ox_string2ld(b, blen, &y)) return -1;
    r = x + y;
    if (isnan(r) || isinf(r)) return -2;
    n = ox_ld2string(out, outcap, r);
    if (n == 0) return -3;
    return (long)n;
}
