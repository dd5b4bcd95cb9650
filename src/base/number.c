/* number.c - numbers as the shortest decimal that reads back exactly (see
 * util.h).  Reports print millions of timestamps: printf and strtod cost a
 * microsecond a number, so the common cases take an exact path of their
 * own, and printf is left the rest. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/util.h"

/* Exact in a double (powers of ten are up to 1e22). */
static const double powers_of_ten[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                       1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* The spacing of doubles at v (normal, positive): 2^(exponent - 52). */
static double ulp_of(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    bits &= 0x7FF0000000000000ULL;
    double power;
    memcpy(&power, &bits, sizeof(power));
    return power * 0x1p-52;
}

/* The first of %.15g, %.16g and %.17g that reads back as x. */
static size_t format_printf(double x, char out[SCA_NUMBER_MAX])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, SCA_NUMBER_MAX, "%.*g", prec, x);
        if (prec == 17 || strtod(out, NULL) == x)
            break;
    }
    return strlen(out);
}

/* m / 10^k in fixed notation, with sign; m has no trailing zero when k > 0. */
static size_t format_fixed(bool negative, uint64_t m, int k, char *out)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m > 0);
    size_t o = 0;
    if (negative)
        out[o++] = '-';
    if (n <= k) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = n; i < k; i++)
            out[o++] = '0';
    }
    for (int i = n - 1; i >= 0; i--) {
        out[o++] = digits[i];
        if (i == k && k > 0 && n > k)
            out[o++] = '.';
    }
    out[o] = '\0';
    return o;
}

/*
 * The exact path.  For k = 0, 1, ... decimals, m = round(|x| * 10^k) is the
 * only k-decimal number that can read back as |x| while 10^-k is coarser
 * than the spacing of doubles near x: a k-decimal number n that reads back
 * is within ulp(x) * 10^k / 2 of the exact product P, and the computed
 * product p within ulp(p) / 2 of P, so that when ulp(x) * 10^k + ulp(p) < 1,
 * n is both round(p) and round(P).  Below 2^53, m is an exact integer.
 * m / 10^k reads back as x exactly when the division of the two exact
 * doubles gives x, since strtod and the division both round the same
 * real number to nearest.  The first k that reads back is the shortest
 * form, and printf's %.Pg for the first P from 15 that reads back prints
 * the same digits: every shorter candidate was refused, and m is the
 * correctly rounded one.  |x| in [1e-4, 1e15) keeps %g in fixed notation.
 */
size_t sca_format_number(double x, char out[SCA_NUMBER_MAX])
{
    double a = fabs(x);
    if (x == 0) {
        strcpy(out, signbit(x) ? "-0" : "0");
        return strlen(out);
    }
    if (!(a >= 1e-4 && a < 1e15))
        return format_printf(x, out);
    double ulp = ulp_of(a);
    for (int k = 0; k < (int)(sizeof(powers_of_ten) / sizeof(powers_of_ten[0])); k++) {
        double scaled = a * powers_of_ten[k];
        if (scaled >= 0x1p53 || ulp * powers_of_ten[k] + ulp_of(scaled) >= 1)
            break;
        double m = (double)llrint(scaled);
        if (m / powers_of_ten[k] == a)
            return format_fixed(x < 0, (uint64_t)m, k, out);
    }
    return format_printf(x, out);
}

size_t sca_format_json_number(double x, char out[SCA_NUMBER_MAX])
{
    if (!isfinite(x)) {
        strcpy(out, "null");
        return 4;
    }
    size_t n = sca_format_number(x, out);
    if (strpbrk(out, ".e") == NULL) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    return n;
}
