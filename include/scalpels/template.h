/*
 * template.h - turn a tracer's command template into an argv, never a shell
 * command line.
 *
 * The template is first split into words with shell-like quoting and nothing
 * else: whitespace separates words; '...' keeps everything literally;
 * "..." keeps everything literally except \" and \\; a backslash outside
 * quotes makes the next character literal.  No $variable, $(command),
 * `backtick`, glob, ~ or redirection means anything: they are plain text.
 * Then, inside each word, every %(key)s is replaced by the key's value and
 * %% by %.  A value always stays inside its word, so it can never add an
 * argument, and nothing ever reaches a shell.
 */
#ifndef SCALPELS_TEMPLATE_H
#define SCALPELS_TEMPLATE_H

#include "scalpels/error.h"

/* Returns the value of key, or NULL when the key is unknown. */
typedef const char *(*template_lookup_fn)(void *ctx, const char *key);

/* Splits tpl into words (no substitution).  *words_out is a NULL-terminated
 * array the caller frees with template_argv_free.  Errors: -EINVAL for an
 * unterminated quote, a trailing backslash or a template with no word. */
int template_split(const char *tpl, char ***words_out, sca_error *err);

/* Splits and substitutes.  A missing key is -ENOENT with the key named in
 * err; a malformed placeholder ("%(key" or "%(key)d") is -EINVAL. */
int template_expand(const char *tpl, template_lookup_fn lookup, void *ctx, char ***argv_out,
                    sca_error *err);

/* Every key the template refers to, in order of first use (NULL-terminated,
 * free with template_argv_free). */
int template_keys(const char *tpl, char ***keys_out, sca_error *err);

void template_argv_free(char **argv);

#endif
