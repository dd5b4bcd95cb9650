/*
 * ingest.h - sca-tracer's data path: lines in, batches of samples out to
 * the store.
 *
 * Each line is parsed with the tracer's parser; every series the parser
 * reports becomes a result of the task (created on first sight), and lines
 * the parser cannot read go, counted, to the tracer's log series.  Samples
 * wait in a batch until ingest_flush writes them in one transaction; a
 * failed flush keeps them for the next attempt.
 */
#ifndef SCALPELS_TRACER_INGEST_H
#define SCALPELS_TRACER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "scalpels/parse.h"
#include "scalpels/store.h"

typedef struct ingest ingest;

enum ingest_source { INGEST_STDOUT, INGEST_STDERR };

/* Borrows s and p; copies the names. */
ingest *ingest_new(store *s, int64_t task_id, const char *tracer, const char *title,
                   const parser *p);
void ingest_free(ingest *g);

/* Takes one line (without its newline) that arrived at ts. */
void ingest_line(ingest *g, enum ingest_source src, const char *line, size_t len, double ts);

/* Lines taken since the last successful flush, and the memory they hold. */
size_t ingest_pending_lines(const ingest *g);
size_t ingest_pending_bytes(const ingest *g);

/* Writes the batch (and any results it needs) in one transaction. */
int ingest_flush(ingest *g, sca_error *err);

int64_t ingest_lines(const ingest *g);
int64_t ingest_unparsed(const ingest *g);

#endif
