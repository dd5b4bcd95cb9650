/*
 * table.h - aligned text tables for terminals, framed like the original
 * prototype's (PrettyTable) output:
 *
 *   +--------+-------+
 *   | key    | value |
 *   +--------+-------+
 *   | dev    | eth0  |
 *   +--------+-------+
 *
 * Widths count UTF-8 code points, so sparklines align.  A column may have a
 * maximum width; longer cells are cut and end in an ellipsis, "…", or "..."
 * for a terminal that shows ASCII alone (table_charset).
 */
#ifndef SCALPELS_TABLE_H
#define SCALPELS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct table table;

/* What the reader's terminal shows: UTF-8, or ASCII alone.  Cell text is
 * printed as it is either way (the data is UTF-8); the charset chooses the
 * glyphs the program adds, such as the ellipsis of a cut cell. */
enum table_charset { TABLE_UTF8, TABLE_ASCII };

/* TABLE_UTF8 when the codeset of the locale the environment names
 * (LC_ALL, LC_CTYPE, LANG) is UTF-8, else TABLE_ASCII (the C locale, a
 * fresh machine without LANG, an unknown locale).  The program's own locale
 * is left as it is. */
enum table_charset table_charset_of_locale(void);

/* "…" (one column), or "..." (three) in ASCII. */
const char *table_ellipsis(enum table_charset cs);

enum table_align { TABLE_LEFT, TABLE_RIGHT };

table *table_new(size_t ncols, const char *const *headers);
void table_free(table *t);

void table_set_align(table *t, size_t col, enum table_align align);
/* 0 = unlimited. */
void table_set_max_width(table *t, size_t col, size_t width);
/* The ellipsis that ends cut cells; TABLE_UTF8 unless set. */
void table_set_charset(table *t, enum table_charset cs);

/* Adds a row of ncols cells (copied; NULL prints as empty). */
void table_add_row(table *t, const char *const *cells);

size_t table_rows(const table *t);

void table_print(const table *t, FILE *out);

/* Display width of a UTF-8 string in code points. */
size_t table_text_width(const char *s);

#endif
