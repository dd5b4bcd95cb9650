/*
 * template.c - split a command template into words, then substitute %(key)s
 * inside each word (see template.h).
 *
 * Splitting and substitution are separate passes on purpose: quoting is
 * resolved before any value is looked at, so a value can never open a quote,
 * end a word or start a new one, whatever bytes it holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scalpels/template.h"
#include "scalpels/util.h"

/* Longest piece of a word quoted back in an error message. */
#define TEMPLATE_QUOTE_MAX 80

/* A growing NULL-terminated array of strings. */
typedef struct strv {
    char **v;
    size_t n;
    size_t cap;
} strv;

static void strv_init(strv *sv)
{
    sv->cap = 8;
    sv->n = 0;
    sv->v = sca_malloc(sv->cap * sizeof(*sv->v));
    sv->v[0] = NULL;
}

static void strv_push(strv *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        sv->cap *= 2;
        sv->v = sca_realloc(sv->v, sv->cap * sizeof(*sv->v));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void template_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (char **p = argv; *p != NULL; p++)
        free(*p);
    free(argv);
}

/* ---- splitting ---------------------------------------------------------- */

typedef struct splitter {
    const char *tpl;
    size_t pos;
    sca_buf word;
    int in_word; /* a word has started, even an empty one such as '' */
    strv words;
} splitter;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void split_end_word(splitter *s)
{
    if (!s->in_word)
        return;
    strv_push(&s->words, sca_strndup(s->word.len ? s->word.data : "", s->word.len));
    sca_buf_reset(&s->word);
    s->in_word = 0;
}

/* '...': everything up to the next quote, literally. */
static int split_single(splitter *s, sca_error *err)
{
    size_t open = s->pos++;
    const char *end = strchr(s->tpl + s->pos, '\'');
    if (end == NULL)
        return sca_error_set(
            err, -EINVAL, "template: unterminated single quote (opened at column %zu)", open + 1);
    sca_buf_append(&s->word, s->tpl + s->pos, (size_t)(end - (s->tpl + s->pos)));
    s->pos = (size_t)(end - s->tpl) + 1;
    return 0;
}

/* "...": literal except \" and \\, which stand for " and \. */
static int split_double(splitter *s, sca_error *err)
{
    size_t open = s->pos++;
    for (;;) {
        char c = s->tpl[s->pos];
        if (c == '\0')
            return sca_error_set(err, -EINVAL,
                                 "template: unterminated double quote (opened at column %zu)",
                                 open + 1);
        if (c == '"') {
            s->pos++;
            return 0;
        }
        if (c == '\\' && (s->tpl[s->pos + 1] == '"' || s->tpl[s->pos + 1] == '\\'))
            s->pos++;
        sca_buf_append(&s->word, s->tpl + s->pos, 1);
        s->pos++;
    }
}

/* \c outside quotes: c, literally. */
static int split_escape(splitter *s, sca_error *err)
{
    if (s->tpl[s->pos + 1] == '\0')
        return sca_error_set(
            err, -EINVAL, "template: trailing backslash at column %zu escapes nothing", s->pos + 1);
    sca_buf_append(&s->word, s->tpl + s->pos + 1, 1);
    s->pos += 2;
    return 0;
}

static int split_step(splitter *s, sca_error *err)
{
    char c = s->tpl[s->pos];
    if (is_blank(c)) {
        split_end_word(s);
        s->pos++;
        return 0;
    }
    s->in_word = 1;
    if (c == '\'')
        return split_single(s, err);
    if (c == '"')
        return split_double(s, err);
    if (c == '\\')
        return split_escape(s, err);
    sca_buf_append(&s->word, &c, 1);
    s->pos++;
    return 0;
}

int template_split(const char *tpl, char ***words_out, sca_error *err)
{
    *words_out = NULL;
    if (tpl == NULL)
        return sca_error_set(err, -EINVAL, "template: no template given");
    splitter s = {.tpl = tpl};
    strv_init(&s.words);
    int rc = 0;
    while (rc == 0 && tpl[s.pos] != '\0')
        rc = split_step(&s, err);
    if (rc == 0)
        split_end_word(&s);
    sca_buf_free(&s.word);
    if (rc == 0 && s.words.n == 0)
        rc = sca_error_set(err, -EINVAL, "template: empty (it has no command word)");
    if (rc != 0) {
        template_argv_free(s.words.v);
        return rc;
    }
    *words_out = s.words.v;
    return 0;
}

/* ---- placeholders ------------------------------------------------------- */

/* A run of literal text, or a key name, inside a word. */
typedef struct piece {
    const char *p;
    size_t len;
    int is_key;
} piece;

static int bad_placeholder(const char *word, size_t wordno, const char *why, sca_error *err)
{
    return sca_error_set(err, -EINVAL,
                         "template: malformed placeholder in word %zu \"%.*s\": %s "
                         "(write %%(key)s, or %%%% for a literal %%)",
                         wordno, TEMPLATE_QUOTE_MAX, word, why);
}

/* word + *pos is "%(": reads "%(key)s" as a key piece. */
static int read_placeholder(const char *word, size_t *pos, size_t wordno, piece *pc, sca_error *err)
{
    const char *key = word + *pos + 2;
    const char *close = strchr(key, ')');
    if (close == NULL)
        return bad_placeholder(word, wordno, "'%(' without a closing ')'", err);
    if (close == key)
        return bad_placeholder(word, wordno, "empty key name", err);
    if (close[1] != 's')
        return bad_placeholder(word, wordno, "')' must be followed by 's'", err);
    *pc = (piece){key, (size_t)(close - key), 1};
    *pos = (size_t)(close - word) + 2;
    return 1;
}

/* The piece at word + *pos: 1 and the piece, 0 at the end of the word, or
 * -EINVAL for a malformed placeholder. */
static int next_piece(const char *word, size_t *pos, size_t wordno, piece *pc, sca_error *err)
{
    const char *p = word + *pos;
    if (p[0] == '\0')
        return 0;
    if (p[0] == '%' && p[1] == '(')
        return read_placeholder(word, pos, wordno, pc, err);
    if (p[0] == '%') {
        /* "%%" is one '%'; any other '%' is itself. */
        *pc = (piece){p, 1, 0};
        *pos += p[1] == '%' ? 2 : 1;
        return 1;
    }
    size_t n = strcspn(p, "%");
    *pc = (piece){p, n, 0};
    *pos += n;
    return 1;
}

static int expand_key(const piece *pc, const char *word, size_t wordno, template_lookup_fn lookup,
                      void *ctx, sca_buf *out, sca_error *err)
{
    char *key = sca_strndup(pc->p, pc->len);
    const char *value = lookup(ctx, key);
    int rc = 0;
    if (value == NULL)
        rc = sca_error_set(err, -ENOENT, "template: no value for key '%s' (word %zu \"%.*s\")", key,
                           wordno, TEMPLATE_QUOTE_MAX, word);
    else
        sca_buf_append(out, value, strlen(value));
    free(key);
    return rc;
}

static int expand_word(const char *word, size_t wordno, template_lookup_fn lookup, void *ctx,
                       sca_buf *out, sca_error *err)
{
    size_t pos = 0;
    piece pc;
    int rc;
    sca_buf_reset(out);
    sca_buf_append(out, "", 0); /* an empty word stays an empty argument */
    while ((rc = next_piece(word, &pos, wordno, &pc, err)) > 0) {
        if (!pc.is_key)
            sca_buf_append(out, pc.p, pc.len);
        else if ((rc = expand_key(&pc, word, wordno, lookup, ctx, out, err)) != 0)
            return rc;
    }
    return rc;
}

int template_expand(const char *tpl, template_lookup_fn lookup, void *ctx, char ***argv_out,
                    sca_error *err)
{
    char **words;
    *argv_out = NULL;
    int rc = template_split(tpl, &words, err);
    if (rc != 0)
        return rc;
    strv argv;
    strv_init(&argv);
    sca_buf buf = {0};
    for (size_t i = 0; rc == 0 && words[i] != NULL; i++) {
        rc = expand_word(words[i], i + 1, lookup, ctx, &buf, err);
        if (rc == 0)
            strv_push(&argv, sca_strndup(buf.data, buf.len));
    }
    sca_buf_free(&buf);
    template_argv_free(words);
    if (rc != 0) {
        template_argv_free(argv.v);
        return rc;
    }
    *argv_out = argv.v;
    return 0;
}

static void keys_add(strv *keys, const piece *pc)
{
    for (size_t i = 0; i < keys->n; i++)
        if (strlen(keys->v[i]) == pc->len && memcmp(keys->v[i], pc->p, pc->len) == 0)
            return;
    strv_push(keys, sca_strndup(pc->p, pc->len));
}

int template_keys(const char *tpl, char ***keys_out, sca_error *err)
{
    char **words;
    *keys_out = NULL;
    int rc = template_split(tpl, &words, err);
    if (rc != 0)
        return rc;
    strv keys;
    strv_init(&keys);
    for (size_t i = 0; rc >= 0 && words[i] != NULL; i++) {
        size_t pos = 0;
        piece pc;
        while ((rc = next_piece(words[i], &pos, i + 1, &pc, err)) > 0)
            if (pc.is_key)
                keys_add(&keys, &pc);
    }
    template_argv_free(words);
    if (rc < 0) {
        template_argv_free(keys.v);
        return rc;
    }
    *keys_out = keys.v;
    return 0;
}
