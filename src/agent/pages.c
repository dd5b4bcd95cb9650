/*
 * pages.c - get_result's pages as JSON text.  A page of a long series is
 * written as it is read, a sample at a time, numbers in their shortest
 * exact form: building it from jansson values and dumping them cost more
 * than reading the rows.  The byte budget counts the page as it will
 * travel, escaped once more inside the envelope's message string.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

/* Bytes '"' and '\' add to text once escaped inside the envelope. */
static size_t escapes(const char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '"' || text[i] == '\\';
    return n;
}

static void append_number(sca_buf *b, double x)
{
    char num[SCA_NUMBER_MAX];
    size_t n = sca_format_json_number(x, num);
    sca_buf_append(b, num, n);
}

/* Appends obj's members, without its braces, to b. */
static void append_members(sca_buf *b, const json_t *obj)
{
    char *members = json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
    size_t n = members != NULL ? strlen(members) : 0;
    if (n < 2) {
        /* jansson fails only on allocation. */
        fputs("sca-agent: cannot encode JSON\n", stderr);
        abort();
    }
    sca_buf_append(b, members + 1, n - 2);
    free(members);
}

void text_page_begin(text_page *p, const json_t *head, size_t budget)
{
    memset(p, 0, sizeof(*p));
    p->budget = budget;
    /* The page is written in place: one buffer, no copy as it grows. */
    sca_buf_reserve(&p->text, budget + budget / 8 + 4096);
    sca_buf_append(&p->text, "{", 1);
    append_members(&p->text, head);
    sca_buf_append(&p->text, json_object_size(head) > 0 ? ",\"data\":[" : "\"data\":[",
                   json_object_size(head) > 0 ? 9 : 8);
}

int text_page_add(void *ctx, double ts, bool is_text, double value, const char *text, size_t len)
{
    text_page *p = ctx;
    sca_buf *b = &p->text;
    size_t mark = b->len;
    sca_buf_append(b, p->count > 0 ? ",[" : "[", p->count > 0 ? 2 : 1);
    append_number(b, ts);
    sca_buf_append(b, ",", 1);
    size_t cost;
    if (is_text) {
        size_t at = b->len;
        sca_json_append_string(b, text, len);
        cost = escapes(b->data + at, b->len - at);
    } else {
        append_number(b, value);
        cost = 0;
    }
    sca_buf_append(b, "]", 1);
    cost += b->len - mark;
    if (p->count > 0 && p->bytes + cost > p->budget) {
        b->len = mark;
        p->full = true;
        return 1;
    }
    p->bytes += cost;
    p->count++;
    return 0;
}

char *text_page_end(text_page *p, const json_t *tail, size_t *len)
{
    sca_buf_append(&p->text, "]", 1);
    if (json_object_size(tail) > 0) {
        sca_buf_append(&p->text, ",", 1);
        append_members(&p->text, tail);
    }
    sca_buf_append(&p->text, "}", 1);
    *len = p->text.len;
    char *text = p->text.data;
    memset(p, 0, sizeof(*p));
    return text;
}

json_t *text_value(const char *text, size_t len)
{
    json_t *v = json_stringn(text, len);
    if (v != NULL)
        return v;
    sca_buf fixed = {0};
    sca_utf8_repair(text, len, &fixed);
    v = json_stringn(fixed.data, fixed.len);
    sca_buf_free(&fixed);
    return v;
}
