/*
 * vocab.h - the words the clients, the agent and the store share: what a
 * tracer name and a data option name may be, how short a uuid prefix may
 * be, what a full uuid looks like, and how many slices a sparkline has.  Each is defined here once,
 * and the messages that state a rule are built from the same definition.
 */
#ifndef SCALPELS_VOCAB_H
#define SCALPELS_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

#define SCA_VOCAB_STR_(x) #x
#define SCA_VOCAB_STR(x) SCA_VOCAB_STR_(x)

/* Tracer names: 1 to SCA_TRACER_NAME_MAX of A-Z a-z 0-9 _ . - */
#define SCA_TRACER_NAME_MAX 64
#define SCA_NAME_CHARS_TEXT "A-Z a-z 0-9 _ . -"
/* The rule as messages and help texts word it: "1 to 64 of A-Z a-z 0-9 _ . -". */
#define SCA_TRACER_NAME_RULE "1 to " SCA_VOCAB_STR(SCA_TRACER_NAME_MAX) " of " SCA_NAME_CHARS_TEXT

/* Data option names: 1 to SCA_OPTION_NAME_MAX bytes (the clients also
 * hold them to the tracer name characters). */
#define SCA_OPTION_NAME_MAX 128
#define SCA_OPTION_NAME_RULE "1 to " SCA_VOCAB_STR(SCA_OPTION_NAME_MAX) " of " SCA_NAME_CHARS_TEXT

/* A task or result may be named by a unique prefix of its uuid at least
 * this long. */
#define SCA_UUID_PREFIX_MIN 8

/* The text form of a uuid the agents take from a client (start_tracers'
 * uuid): 8-4-4-4-12 lowercase hex digits, as sca_uuid_new writes one. */
#define SCA_UUID_CANONICAL_RULE "8-4-4-4-12 lowercase hex digits"

/* A sparkline averages at most this many equal time slices of a series. */
#define SCA_SPARK_SLICES 40

/* True when the len bytes at name are a tracer name (SCA_TRACER_NAME_RULE). */
bool sca_tracer_name_valid(const char *name, size_t len);
/* True when the len bytes at name are 1 to SCA_OPTION_NAME_MAX of the
 * tracer name characters (SCA_OPTION_NAME_RULE). */
bool sca_option_name_valid(const char *name, size_t len);
/* True when s is a uuid in canonical text form (SCA_UUID_CANONICAL_RULE). */
bool sca_uuid_canonical(const char *s);

#endif
