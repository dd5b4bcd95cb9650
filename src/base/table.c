/* table.c - aligned, framed text tables (see table.h). */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scalpels/table.h"
#include "scalpels/util.h"

struct table {
    size_t ncols;
    char **headers;
    enum table_align *align;
    size_t *max_width;
    enum table_charset charset;
    char ***rows;
    size_t nrows;
};

table *table_new(size_t ncols, const char *const *headers)
{
    table *t = sca_calloc(1, sizeof(*t));
    t->ncols = ncols;
    t->headers = sca_calloc(ncols, sizeof(char *));
    t->align = sca_calloc(ncols, sizeof(*t->align));
    t->max_width = sca_calloc(ncols, sizeof(size_t));
    for (size_t i = 0; i < ncols; i++)
        t->headers[i] = sca_strdup(headers[i] ? headers[i] : "");
    return t;
}

void table_free(table *t)
{
    if (t == NULL)
        return;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (size_t c = 0; c < t->ncols; c++)
        free(t->headers[c]);
    free(t->rows);
    free(t->headers);
    free(t->align);
    free(t->max_width);
    free(t);
}

void table_set_align(table *t, size_t col, enum table_align align)
{
    if (col < t->ncols)
        t->align[col] = align;
}

void table_set_max_width(table *t, size_t col, size_t width)
{
    if (col < t->ncols)
        t->max_width[col] = width;
}

void table_set_charset(table *t, enum table_charset cs)
{
    t->charset = cs;
}

enum table_charset table_charset_of_locale(void)
{
    /* A locale object of its own: the process locale stays "C", so that
     * number formatting and character classes never depend on the user's. */
    locale_t loc = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
    if (loc == (locale_t)0)
        return TABLE_ASCII;
    const char *codeset = nl_langinfo_l(CODESET, loc);
    bool utf8 = strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "UTF8") == 0;
    freelocale(loc);
    return utf8 ? TABLE_UTF8 : TABLE_ASCII;
}

const char *table_ellipsis(enum table_charset cs)
{
    return cs == TABLE_ASCII ? "..." : "…";
}

/* Control characters would break the frame (and could drive the terminal):
 * they are shown as spaces. */
static char *cell_clean(const char *s)
{
    char *copy = sca_strdup(s ? s : "");
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
    return copy;
}

void table_add_row(table *t, const char *const *cells)
{
    t->rows = sca_realloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
    char **row = sca_calloc(t->ncols, sizeof(char *));
    for (size_t c = 0; c < t->ncols; c++)
        row[c] = cell_clean(cells[c]);
    t->rows[t->nrows++] = row;
}

size_t table_rows(const table *t)
{
    return t->nrows;
}

size_t table_text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    }
    return n;
}

/* Byte length of the first `width` code points of s. */
static size_t prefix_bytes(const char *s, size_t width)
{
    size_t n = 0, bytes = 0;
    for (; s[bytes]; bytes++) {
        if (((unsigned char)s[bytes] & 0xC0) != 0x80) {
            if (n == width)
                break;
            n++;
        }
    }
    return bytes;
}

static size_t column_width(const table *t, size_t c)
{
    size_t w = table_text_width(t->headers[c]);
    for (size_t r = 0; r < t->nrows; r++) {
        size_t cw = table_text_width(t->rows[r][c]);
        if (cw > w)
            w = cw;
    }
    if (t->max_width[c] > 0 && w > t->max_width[c])
        w = t->max_width[c];
    return w < 1 ? 1 : w;
}

static void print_rule(const size_t *widths, size_t ncols, FILE *out)
{
    for (size_t c = 0; c < ncols; c++) {
        fputc('+', out);
        for (size_t i = 0; i < widths[c] + 2; i++)
            fputc('-', out);
    }
    fputs("+\n", out);
}

static void print_cell(const char *s, size_t width, enum table_align align, enum table_charset cs,
                       FILE *out)
{
    size_t w = table_text_width(s);
    size_t bytes = strlen(s);
    /* A cut cell keeps what fits beside the ellipsis, and as much of the
     * ellipsis as fits in a column narrower than it. */
    const char *ellipsis = table_ellipsis(cs);
    size_t ellipsis_bytes = 0;
    if (w > width) {
        size_t e = table_text_width(ellipsis);
        size_t keep = width > e ? width - e : 0;
        bytes = prefix_bytes(s, keep);
        ellipsis_bytes = prefix_bytes(ellipsis, width - keep);
        w = width;
    }
    size_t pad = width - w;
    fputc(' ', out);
    if (align == TABLE_RIGHT)
        for (size_t i = 0; i < pad; i++)
            fputc(' ', out);
    fwrite(s, 1, bytes, out);
    fwrite(ellipsis, 1, ellipsis_bytes, out);
    if (align == TABLE_LEFT)
        for (size_t i = 0; i < pad; i++)
            fputc(' ', out);
    fputs(" |", out);
}

static void print_row(const table *t, char *const *cells, const size_t *widths, FILE *out)
{
    fputc('|', out);
    for (size_t c = 0; c < t->ncols; c++)
        print_cell(cells[c], widths[c], t->align[c], t->charset, out);
    fputc('\n', out);
}

void table_print(const table *t, FILE *out)
{
    size_t *widths = sca_calloc(t->ncols, sizeof(size_t));
    for (size_t c = 0; c < t->ncols; c++)
        widths[c] = column_width(t, c);
    print_rule(widths, t->ncols, out);
    print_row(t, t->headers, widths, out);
    print_rule(widths, t->ncols, out);
    for (size_t r = 0; r < t->nrows; r++)
        print_row(t, t->rows[r], widths, out);
    if (t->nrows > 0)
        print_rule(widths, t->ncols, out);
    free(widths);
}
