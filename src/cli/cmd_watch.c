/* cmd_watch.c - sca watch: a running task's series, live.  Every interval
 * one get_task_series call (summaries, sparklines, the last log line)
 * refreshes a full-screen view on a terminal, or prints a line per series
 * that changed when stdout is not one (docs/cli.md).
 *
 * The terminal is put in the alternate screen with the cursor hidden and
 * the keyboard in non-canonical mode, so that 'q' quits without Enter;
 * every way out gives it back: q, the task's end, an error, SIGINT,
 * SIGTERM, SIGHUP, and a suspension (SIGTSTP, until SIGCONT). */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sca.h"
#include "scalpels/table.h"

#define WATCH_INTERVAL 1.0 /* seconds between refreshes, by default */
#define WATCH_MIN_INTERVAL 0.1
/* What one refresh asks for: the summaries hold the last value, so a
 * stream needs no points (2 is the fewest get_task_series takes); a log's
 * last line is the last of its 2 rows. */
#define WATCH_POINTS 2
#define WATCH_LOG_ROWS 2
/* Widths of the view's columns, at most. */
#define LABEL_MAX 36
#define FIGURE_MAX 14

/* --- The terminal ------------------------------------------------------------ */

/* What the signal handlers need to give the terminal back: written only
 * while the signals that read them are blocked, or before they are set. */
static struct termios saved_termios;
static volatile sig_atomic_t raw_on;    /* stdin is in non-canonical mode */
static volatile sig_atomic_t screen_on; /* the alternate screen is shown */
static volatile sig_atomic_t resized;   /* SIGWINCH: redraw */
static volatile sig_atomic_t continued; /* back from a suspension: enter again */

static const char screen_enter_seq[] = "\033[?1049h\033[?25l\033[H\033[2J";
static const char screen_leave_seq[] = "\033[?25h\033[?1049l";

/* write(2) until all of it is out; async-signal-safe. */
static int write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Gives the terminal back; async-signal-safe, and harmless twice. */
static void terminal_restore(void)
{
    int saved_errno = errno;
    if (raw_on) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        raw_on = 0;
    }
    if (screen_on) {
        write_all(STDOUT_FILENO, screen_leave_seq, sizeof(screen_leave_seq) - 1);
        screen_on = 0;
    }
    errno = saved_errno;
}

/* The alternate screen, the cursor hidden, and keys one at a time without
 * echo (ISIG stays: Ctrl-C is SIGINT).  keys: stdin is a terminal. */
static void terminal_take(bool keys)
{
    if (keys && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        struct termios raw = saved_termios;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            raw_on = 1;
    }
    write_all(STDOUT_FILENO, screen_enter_seq, sizeof(screen_enter_seq) - 1);
    screen_on = 1;
}

/* SIGINT, SIGTERM, SIGHUP: the terminal back, then the signal's own end. */
static void on_fatal_signal(int sig)
{
    terminal_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* SIGTSTP (Ctrl-Z): the terminal back while stopped.  SA_NODEFER lets the
 * raised signal stop the process here; SIGCONT resumes it after raise. */
static void on_suspend(int sig)
{
    bool taken = screen_on;
    terminal_restore();
    signal(sig, SIG_DFL);
    raise(sig);
    struct sigaction sa = {.sa_handler = on_suspend, .sa_flags = SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTSTP, &sa, NULL);
    if (taken)
        continued = 1;
}

static void on_resize(int sig)
{
    (void)sig;
    resized = 1;
}

/* No SA_RESTART: a signal ends the wait between refreshes at once. */
static void set_handler(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa = {.sa_handler = fn, .sa_flags = flags};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void install_handlers(void)
{
    set_handler(SIGINT, on_fatal_signal, 0);
    set_handler(SIGTERM, on_fatal_signal, 0);
    set_handler(SIGHUP, on_fatal_signal, 0);
    set_handler(SIGTSTP, on_suspend, SA_NODEFER);
    set_handler(SIGWINCH, on_resize, 0);
}

static void terminal_size(size_t *cols, size_t *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

/* --- What is watched ------------------------------------------------------------ */

/* A series as the last refreshes saw it. */
struct seen {
    char *uuid;
    json_int_t count;
    double last_ts;    /* its last sample's time; NAN before one */
    double last_value; /* streams: that sample's value */
    double rate;       /* per second; NAN until known */
    char *last_line;   /* logs: the last line seen */
    bool fresh;        /* its count changed at this refresh (or it is new) */
};

struct watch {
    const cli_global_opts *g;
    cli_rpc *c;
    char *uuid; /* the task, as asked, then as the agent names it */
    double interval;
    bool tty;      /* the full-screen view, not lines */
    bool keys;     /* stdin is a terminal: 'q' quits */
    json_t *reply; /* the latest get_task_series reply */
    struct seen *seen;
    size_t nseen;
    double refreshed;  /* monotonic time of the latest refresh; 0 before */
    double wall;       /* wall-clock time of it */
    bool said_heading; /* lines mode: the first line is out */
};

static struct seen *seen_find(const struct watch *w, const char *uuid)
{
    for (size_t i = 0; i < w->nseen && uuid != NULL; i++) {
        if (strcmp(w->seen[i].uuid, uuid) == 0)
            return &w->seen[i];
    }
    return NULL;
}

/* The series' entry, new when it was not seen before. */
static struct seen *seen_of(struct watch *w, const char *uuid)
{
    struct seen *s = seen_find(w, uuid);
    if (s != NULL)
        return s;
    w->seen = sca_realloc(w->seen, (w->nseen + 1) * sizeof(*w->seen));
    w->seen[w->nseen] = (struct seen){
        .uuid = sca_strdup(uuid), .count = -1, .last_ts = NAN, .last_value = NAN, .rate = NAN};
    return &w->seen[w->nseen++];
}

static bool is_log(const json_t *series)
{
    const char *rtype = cli_json_str(series, "rtype");
    return rtype != NULL && strcmp(rtype, "log") == 0;
}

/* A stream's rate is its value's change per second of sample time between
 * the last samples of the two latest refreshes that brought one; a log's
 * is the lines that came per second since the previous refresh. */
static void update_seen(struct watch *w, const json_t *series, double now)
{
    struct seen *s = seen_of(w, cli_json_str(series, "uuid"));
    const json_t *summary = json_object_get(series, "summary");
    json_int_t count = json_integer_value(json_object_get(series, "count"));
    json_t *last = json_object_get(summary, "last");
    s->fresh = count != s->count;
    if (is_log(series)) {
        if (s->count >= 0 && w->refreshed > 0 && now > w->refreshed)
            s->rate = (double)(count - s->count) / (now - w->refreshed);
        json_t *points = json_object_get(series, "points");
        const char *line = json_string_value(
            json_array_get(json_array_get(points, json_array_size(points) - 1), 1));
        if (line != NULL && s->fresh) {
            free(s->last_line);
            s->last_line = sca_strdup(line);
        }
    } else if (json_is_number(last) && json_is_number(json_object_get(summary, "last_value"))) {
        double ts = json_number_value(last);
        double v = json_number_value(json_object_get(summary, "last_value"));
        if (!isnan(s->last_value) && ts > s->last_ts)
            s->rate = (v - s->last_value) / (ts - s->last_ts);
        if (isnan(s->last_ts) || ts > s->last_ts)
            s->last_value = v;
    }
    if (json_is_number(last))
        s->last_ts = json_number_value(last);
    s->count = count;
}

/* Only what is newer than the oldest last sample seen; just below it, so
 * that lines stamped with that same time still come. */
static void add_since(const struct watch *w, json_t *args)
{
    double since = INFINITY;
    for (size_t i = 0; i < w->nseen; i++) {
        if (w->seen[i].count > 0 && w->seen[i].last_ts < since)
            since = w->seen[i].last_ts;
    }
    if (isfinite(since))
        json_object_set_new(args, "since", json_real(nextafter(since, -INFINITY)));
}

/* One get_task_series call; the view's figures updated.  A failure is
 * returned with rc and err for the caller to print once the terminal is
 * back. */
static int refresh(struct watch *w, int *rc, sca_error *err)
{
    json_t *args = json_pack("{s:s,s:i,s:i}", "uuid", w->uuid, "points", WATCH_POINTS, "log_rows",
                             WATCH_LOG_ROWS);
    add_since(w, args);
    json_t *reply = NULL;
    *rc = cli_rpc_call(w->c, "get_task_series", args, 0, &reply, err);
    if (*rc != 0)
        return CLI_FAILED;
    const json_t *task = json_object_get(reply, "task");
    const json_t *series = json_object_get(reply, "series");
    if (cli_json_str(task, "uuid") == NULL || !json_is_array(series)) {
        json_decref(reply);
        *rc = sca_error_set(err, -EPROTO,
                            "the agent's get_task_series reply has no task or "
                            "series");
        return CLI_FAILED;
    }
    free(w->uuid);
    w->uuid = sca_strdup(cli_json_str(task, "uuid"));
    double now = sca_monotonic();
    size_t i;
    json_t *s;
    json_array_foreach(series, i, s)
    {
        if (cli_json_str(s, "uuid") != NULL)
            update_seen(w, s, now);
    }
    w->refreshed = now;
    w->wall = sca_now();
    json_decref(w->reply);
    w->reply = reply;
    return CLI_OK;
}

static bool task_stopped(const struct watch *w)
{
    const char *status = cli_json_str(json_object_get(w->reply, "task"), "status");
    return status != NULL && strcmp(status, "running") != 0;
}

/* --- Drawing ------------------------------------------------------------------------- */

/* s with control characters as spaces (a log line may hold escape
 * sequences, which must not reach the terminal), cut to at most width
 * columns (code points; ending in the ellipsis when cut). */
static void append_cut(sca_buf *out, const char *s, size_t width, enum table_charset cs)
{
    const char *ellipsis = table_ellipsis(cs);
    size_t ew = table_text_width(ellipsis);
    bool cut = table_text_width(s) > width;
    size_t room = cut ? (width > ew ? width - ew : 0) : width;
    size_t cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && cols < room;) {
        size_t len = 1;
        if (*p >= 0xc0)
            while ((p[len] & 0xc0) == 0x80)
                len++;
        /* C0, DEL, and C1 (U+0080..U+009F, encoded C2 80..C2 9F). */
        bool control = *p < 0x20 || *p == 0x7f || (*p == 0xc2 && len == 2 && p[1] < 0xa0);
        if (control)
            sca_buf_append(out, " ", 1);
        else
            sca_buf_append(out, p, len);
        p += len;
        cols++;
    }
    if (cut && width >= ew)
        sca_buf_appendf(out, "%s", ellipsis);
    sca_buf_append(out, "", 0);
}

/* s cut to width and padded with spaces to it (left-aligned), or padded
 * on the left (right-aligned). */
static void append_cell(sca_buf *out, const char *s, size_t width, bool right,
                        enum table_charset cs)
{
    size_t w = table_text_width(s);
    if (w > width)
        w = width;
    if (right)
        sca_buf_appendf(out, "%*s", (int)(width - w), "");
    append_cut(out, s, width, cs);
    if (!right)
        sca_buf_appendf(out, "%*s", (int)(width - w), "");
}

/* The cells of one series' row: label, last, rate, count, and the
 * sparkline (streams) or last line (logs). */
struct row {
    sca_buf cell[5];
};

static void format_rate(double rate, bool log, char out[48])
{
    char num[32];
    if (isnan(rate)) {
        snprintf(out, 48, "-");
        return;
    }
    report_format_stat(fabs(rate), num);
    if (log)
        snprintf(out, 48, "%s lines/s", num);
    else
        snprintf(out, 48, "%s%s/s", rate > 0 ? "+" : rate < 0 ? "-" : "", num);
}

static void row_of(const struct watch *w, const json_t *series, struct row *r)
{
    static const struct seen unseen = {.last_ts = NAN, .last_value = NAN, .rate = NAN};
    const struct seen *s = seen_find(w, cli_json_str(series, "uuid"));
    if (s == NULL)
        s = &unseen;
    char num[48];
    memset(r, 0, sizeof(*r));
    report_series_label(series, &r->cell[0]);
    if (is_log(series) || isnan(s->last_value)) {
        sca_buf_appendf(&r->cell[1], "-");
    } else {
        report_format_stat(s->last_value, num);
        sca_buf_appendf(&r->cell[1], "%s", num);
    }
    format_rate(s->rate, is_log(series), num);
    sca_buf_appendf(&r->cell[2], "%s", num);
    sca_buf_appendf(&r->cell[3], "%" JSON_INTEGER_FORMAT, s->count);
    if (is_log(series))
        sca_buf_appendf(&r->cell[4], "%s", s->last_line != NULL ? s->last_line : "");
    else
        report_sparkline(json_object_get(series, "spark"), w->g->charset, &r->cell[4]);
    for (size_t c = 0; c < 5; c++)
        sca_buf_append(&r->cell[c], "", 0);
}

static void row_free(struct row *r)
{
    for (size_t c = 0; c < 5; c++)
        sca_buf_free(&r->cell[c]);
}

/* "task UUID on HOST: running for 83s, 3 series, 11:18:09". */
static void heading(const struct watch *w, sca_buf *out)
{
    const json_t *task = json_object_get(w->reply, "task");
    const char *host = cli_json_str(w->reply, "host");
    const char *status = cli_json_str(task, "status");
    json_t *created = json_object_get(task, "created");
    sca_buf_appendf(out, "task %s", w->uuid);
    if (host != NULL)
        sca_buf_appendf(out, " on %s", host);
    sca_buf_appendf(out, ": %s", status != NULL ? status : "?");
    if (json_is_number(created) && status != NULL && strcmp(status, "running") == 0) {
        long secs = lround(fmax(0, w->wall - json_number_value(created)));
        if (secs < 60)
            sca_buf_appendf(out, " for %lds", secs);
        else if (secs < 3600)
            sca_buf_appendf(out, " for %ldm %02lds", secs / 60, secs % 60);
        else
            sca_buf_appendf(out, " for %ldh %02ldm", secs / 3600, secs % 3600 / 60);
    }
    size_t n = json_array_size(json_object_get(w->reply, "series"));
    char clock[16] = "";
    time_t t = (time_t)w->wall;
    struct tm tm;
    if (localtime_r(&t, &tm) != NULL)
        strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    sca_buf_appendf(out, ", %zu series, %s", n, clock);
}

/* The view as lines of fewer than cols columns (a full last column would
 * leave the cursor where "\033[K" erases it) and, when rows is not 0,
 * fewer than rows lines (a newline on the last line would scroll), each
 * ending in "\033[K\n" (clearing the rest of the line) when clear is set,
 * else in "\n". */
static void draw(const struct watch *w, size_t cols, size_t rows, bool clear, sca_buf *out)
{
    static const char *const headers[] = {"series", "last", "rate", "count", ""};
    enum table_charset cs = w->g->charset;
    const char *eol = clear ? "\033[K\n" : "\n";
    const json_t *series = json_object_get(w->reply, "series");
    size_t n = json_array_size(series), width[5] = {0}, room = cols > 1 ? cols - 1 : 1;
    struct row *r = sca_calloc(n + 1, sizeof(*r));
    for (size_t c = 0; c < 4; c++)
        width[c] = table_text_width(headers[c]);
    for (size_t i = 0; i < n; i++) {
        row_of(w, json_array_get(series, i), &r[i]);
        for (size_t c = 0; c < 4; c++) {
            size_t cw = table_text_width(r[i].cell[c].data);
            size_t max = c == 0 ? LABEL_MAX : FIGURE_MAX;
            if (cw > width[c])
                width[c] = cw < max ? cw : max;
        }
    }
    /* The heading, an empty line and the column names take three lines;
     * when not every series fits, the last line says how many are left. */
    size_t shown = n;
    if (rows > 0 && n > 0 && 3 + n > rows - 1)
        shown = rows - 1 > 4 ? rows - 1 - 4 : 0;
    sca_buf line = {0};
    heading(w, &line);
    if (w->tty)
        sca_buf_appendf(&line, w->keys ? " (q quits)" : " (Ctrl-C quits)");
    append_cut(out, line.data, room, cs);
    sca_buf_appendf(out, "%s%s", eol, eol);
    size_t fixed = width[0] + width[1] + width[2] + width[3] + 4 * 2;
    for (size_t i = 0; i <= shown; i++) {
        sca_buf_reset(&line);
        for (size_t c = 0; c < 4; c++) {
            append_cell(&line, i == 0 ? headers[c] : r[i - 1].cell[c].data, width[c], c > 0, cs);
            sca_buf_append(&line, "  ", 2);
        }
        if (i > 0 && room > fixed)
            append_cut(&line, r[i - 1].cell[4].data, room - fixed, cs);
        /* Trailing blanks would only move the cursor. */
        while (line.len > 0 && line.data[line.len - 1] == ' ')
            line.data[--line.len] = '\0';
        append_cut(out, line.data, room, cs);
        sca_buf_appendf(out, "%s", eol);
    }
    if (shown < n) {
        sca_buf_reset(&line);
        sca_buf_appendf(&line, "%s %zu more series (a taller window shows them)",
                        table_ellipsis(cs), n - shown);
        append_cut(out, line.data, room, cs);
        sca_buf_appendf(out, "%s", eol);
    }
    if (n == 0)
        sca_buf_appendf(out, "(no series yet)%s", eol);
    for (size_t i = 0; i < n; i++)
        row_free(&r[i]);
    free(r);
    sca_buf_free(&line);
}

/* The full-screen view, from the top left, the rest of the screen cleared;
 * one write, so that a signal finds no half-written escape sequence. */
static int draw_screen(struct watch *w)
{
    if (continued) {
        continued = 0;
        terminal_take(w->keys);
    }
    size_t cols, rows;
    terminal_size(&cols, &rows);
    sca_buf frame = {0};
    sca_buf_appendf(&frame, "\033[H");
    draw(w, cols, rows, true, &frame);
    sca_buf_appendf(&frame, "\033[J");
    int rc = write_all(STDOUT_FILENO, frame.data, frame.len);
    sca_buf_free(&frame);
    return rc;
}

/* Lines mode: a line per series whose count changed since the previous
 * refresh (each at the first), led by the local time. */
static int print_lines(struct watch *w)
{
    if (!w->said_heading) {
        sca_buf head = {0};
        heading(w, &head);
        printf("watching %s, every %gs\n", head.data, w->interval);
        sca_buf_free(&head);
        w->said_heading = true;
    }
    char stamp[32] = "";
    time_t t = (time_t)w->wall;
    struct tm tm;
    if (localtime_r(&t, &tm) != NULL)
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    size_t i;
    json_t *series;
    sca_buf line = {0};
    json_array_foreach(json_object_get(w->reply, "series"), i, series)
    {
        const struct seen *s = seen_find(w, cli_json_str(series, "uuid"));
        if (s == NULL || !s->fresh)
            continue;
        struct row r;
        row_of(w, series, &r);
        sca_buf_reset(&line);
        sca_buf_appendf(&line, "%s %s: count %s", stamp, r.cell[0].data, r.cell[3].data);
        if (is_log(series)) {
            sca_buf_appendf(&line, ", rate %s, last: ", r.cell[2].data);
            append_cut(&line, r.cell[4].data, SIZE_MAX, w->g->charset);
        } else {
            sca_buf_appendf(&line, ", last %s, rate %s", r.cell[1].data, r.cell[2].data);
        }
        row_free(&r);
        printf("%s\n", line.data);
    }
    sca_buf_free(&line);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
}

/* --- The loop -------------------------------------------------------------------------- */

enum wait_end { WAIT_REFRESH, WAIT_QUIT };

/* Until the next refresh is due, or 'q': redraws on a resize and takes
 * the terminal again after a suspension. */
static enum wait_end wait_next(struct watch *w)
{
    double due = w->refreshed + w->interval;
    for (;;) {
        if (resized || continued) {
            resized = 0;
            draw_screen(w);
        }
        double left = due - sca_monotonic();
        if (left <= 0)
            return WAIT_REFRESH;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, w->keys ? 1 : 0, (int)ceil(left * 1000));
        if (n <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue; /* the time is up, or a signal came */
        char keys[64];
        ssize_t got = read(STDIN_FILENO, keys, sizeof(keys));
        if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
            w->keys = false; /* the terminal is gone: SIGHUP follows */
        for (ssize_t k = 0; k < got; k++) {
            if (keys[k] == 'q' || keys[k] == 'Q')
                return WAIT_QUIT;
        }
    }
}

/* The watch until the task stops, q, or a failure (rc and err set). */
static int watch_loop(struct watch *w, int *rc, sca_error *err)
{
    for (;;) {
        int code = refresh(w, rc, err);
        if (code != CLI_OK)
            return code;
        if (!w->tty && print_lines(w) != CLI_OK)
            return CLI_FAILED; /* the reader went away */
        if (task_stopped(w))
            return CLI_OK;
        if (!w->tty) {
            usleep((useconds_t)(w->interval * 1e6));
            continue;
        }
        draw_screen(w);
        if (wait_next(w) == WAIT_QUIT)
            return CLI_OK;
    }
}

/* On the normal screen again: the last view, and that the task stopped. */
static void print_end(const struct watch *w)
{
    if (w->reply == NULL || !task_stopped(w))
        return;
    if (w->tty) {
        size_t cols, rows;
        terminal_size(&cols, &rows);
        sca_buf view = {0};
        draw(w, cols, 0, false, &view);
        fputs(view.data, stdout);
        sca_buf_free(&view);
    }
    printf("task %s has stopped\n", w->uuid);
}

static void watch_usage(void)
{
    printf("usage: sca watch [UUID | --last] [--interval S]\n"
           "\n"
           "A live view of task UUID (a unique prefix of at least %d characters will do;\n"
           "the latest task by default): per series its last value, its rate of change\n"
           "per second, its count and a sparkline (a log: lines per second and its last\n"
           "line), refreshed every second.  q quits.  When the task stops, the view is\n"
           "printed once more with \"task UUID has stopped\", and sca exits 0.  When\n"
           "stdout is not a terminal: a line per series whose count changed, each\n"
           "refresh.\n"
           "\n"
           "  --last        the latest task (the default)\n"
           "  --interval S  seconds between refreshes (default 1, at least 0.1)\n",
           SCA_UUID_PREFIX_MIN);
}

static int watch_parse(struct watch *w, int argc, char **argv)
{
    static const struct option longopts[] = {{"last", no_argument, NULL, OPT_LAST},
                                             {"interval", required_argument, NULL, OPT_INTERVAL},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt, code = CLI_OK;
    bool last = false;
    optind = 0;
    while (code == CLI_OK && (opt = cli_getopt(argc, argv, ":h", longopts, "watch")) != -1) {
        if (opt == 'h')
            code = CLI_HELP;
        else if (opt == OPT_LAST)
            last = true;
        else if (opt == OPT_INTERVAL)
            code = cli_parse_seconds("--interval", optarg, &w->interval);
        else
            code = CLI_USAGE;
    }
    if (code != CLI_OK)
        return code;
    if (w->interval < WATCH_MIN_INTERVAL)
        return cli_fail(CLI_USAGE, "watch: --interval is at least %g seconds", WATCH_MIN_INTERVAL);
    if (w->g->json)
        return cli_fail(CLI_USAGE, "watch has no JSON output ('sca report --json' has the data)");
    if (optind < argc)
        w->uuid = sca_strdup(argv[optind++]);
    if (optind < argc)
        return cli_fail(CLI_USAGE, "watch: unexpected argument '%s'", argv[optind]);
    if (last && w->uuid != NULL)
        return cli_fail(CLI_USAGE, "watch: --last watches the latest task; it takes no UUID");
    return w->uuid != NULL ? cli_check_uuid(w->uuid, "task") : CLI_OK;
}

/* The latest task's uuid, when none was given. */
static int latest_task(struct watch *w)
{
    json_t *task = NULL;
    int code = cli_call(w->c, "get_latest_task", NULL, &task);
    if (code == CLI_OK && cli_json_str(task, "uuid") == NULL)
        code = cli_fail(CLI_FAILED, "the agent sent a task without a uuid");
    if (code == CLI_OK)
        w->uuid = sca_strdup(cli_json_str(task, "uuid"));
    json_decref(task);
    return code;
}

/* A terminal that understands the alternate screen (not TERM=dumb). */
static bool full_screen(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && term != NULL && term[0] != '\0' && strcmp(term, "dumb") != 0;
}

int cmd_watch(const cli_global_opts *g, int argc, char **argv)
{
    struct watch w = {.g = g, .interval = WATCH_INTERVAL};
    int code = watch_parse(&w, argc, argv);
    if (code == CLI_HELP)
        watch_usage();
    if (code == CLI_OK)
        code = cli_rpc_open(&g->conn, &w.c);
    if (code == CLI_OK && w.uuid == NULL)
        code = latest_task(&w);
    if (code == CLI_OK) {
        w.tty = full_screen();
        w.keys = w.tty && isatty(STDIN_FILENO);
        if (w.tty) {
            install_handlers();
            terminal_take(w.keys);
        }
        int rc = 0;
        sca_error err = {0};
        code = watch_loop(&w, &rc, &err);
        terminal_restore();
        if (rc != 0)
            code = cli_call_failed(w.c, rc, &err);
        else
            print_end(&w);
    }
    cli_rpc_close(w.c);
    json_decref(w.reply);
    for (size_t i = 0; i < w.nseen; i++) {
        free(w.seen[i].uuid);
        free(w.seen[i].last_line);
    }
    free(w.seen);
    free(w.uuid);
    return code;
}
