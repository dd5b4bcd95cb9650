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
 * maximum width; longer cells are cut and end in "…".
 */
#ifndef SCALPELS_TABLE_H
#define SCALPELS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct table table;

enum table_align { TABLE_LEFT, TABLE_RIGHT };

table *table_new(size_t ncols, const char *const *headers);
void table_free(table *t);

void table_set_align(table *t, size_t col, enum table_align align);
/* 0 = unlimited. */
void table_set_max_width(table *t, size_t col, size_t width);

/* Adds a row of ncols cells (copied; NULL prints as empty). */
void table_add_row(table *t, const char *const *cells);

size_t table_rows(const table *t);

void table_print(const table *t, FILE *out);

/* Display width of a UTF-8 string in code points. */
size_t table_text_width(const char *s);

#endif
