/* store.c - opening, migrating and querying the SQLite store (see store.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "scalpels/log.h"
#include "scalpels/store.h"
#include "store_internal.h"

/* Schema migrations: entry i takes user_version i to i + 1.  Append only. */
static const char *const store_migrations[] = {
    "CREATE TABLE config ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE tracer ("
    "  name TEXT PRIMARY KEY,"
    "  tpl TEXT NOT NULL,"
    "  parser TEXT NOT NULL DEFAULT 'log',"
    "  title TEXT,"
    "  running INTEGER NOT NULL DEFAULT 0,"
    "  pid INTEGER,"
    "  task_uuid TEXT,"
    "  started REAL);"
    "CREATE TABLE task ("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  created REAL NOT NULL,"
    "  stopped REAL,"
    "  status TEXT NOT NULL DEFAULT 'running',"
    "  deadline REAL);"
    "CREATE TABLE task_tracer ("
    "  task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,"
    "  tracer TEXT NOT NULL,"
    "  pid INTEGER,"
    "  worker_pid INTEGER,"
    "  started REAL NOT NULL,"
    "  stopped REAL,"
    "  exit_code INTEGER,"
    "  exit_signal INTEGER,"
    "  lines INTEGER NOT NULL DEFAULT 0,"
    "  unparsed INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (task_id, tracer));"
    "CREATE TABLE result ("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,"
    "  tracer TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  unit TEXT,"
    "  rtype TEXT NOT NULL,"
    "  created REAL NOT NULL);"
    "CREATE INDEX result_task ON result(task_id);"
    "CREATE INDEX result_tracer ON result(tracer);"
    "CREATE TABLE sample ("
    "  result_id INTEGER NOT NULL REFERENCES result(id) ON DELETE CASCADE,"
    "  ts REAL NOT NULL,"
    "  value REAL,"
    "  text TEXT);"
    "CREATE INDEX sample_result_ts ON sample(result_id, ts);",
    /* 2: what a tracer that cannot write yet tells the agent: it was asked
     * to stop, and how many lines it holds in memory, and why. */
    "ALTER TABLE task_tracer ADD COLUMN stopping INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE task_tracer ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE task_tracer ADD COLUMN held_reason TEXT;",
};

#define TRACER_COLS "name, tpl, parser, title, running, pid, task_uuid, started"
#define TASK_COLS "id, uuid, created, stopped, status, deadline"
#define RESULT_COLS                                                                                \
    "r.id, r.uuid, r.task_id, r.tracer, r.name, r.unit, r.rtype,"                                  \
    " (SELECT count(*) FROM sample s WHERE s.result_id = r.id),"                                   \
    " (SELECT uuid FROM task t WHERE t.id = r.task_id)"
/* The same with -1 for the count, which costs a walk of the result's index. */
#define RESULT_COLS_UNCOUNTED                                                                      \
    "r.id, r.uuid, r.task_id, r.tracer, r.name, r.unit, r.rtype, -1,"                              \
    " (SELECT uuid FROM task t WHERE t.id = r.task_id)"

static const char *const store_sql[STMT_COUNT_] = {
    [STMT_CONFIG_ALL] = "SELECT key, value FROM config ORDER BY key",
    [STMT_CONFIG_GET] = "SELECT value FROM config WHERE key = ?1",
    [STMT_CONFIG_SET] = "INSERT INTO config(key, value) VALUES (?1, ?2)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [STMT_CONFIG_DEL] = "DELETE FROM config WHERE key = ?1",
    [STMT_TRACER_REGISTER] = "INSERT INTO tracer(name, tpl, parser, title) VALUES (?1, ?2, ?3, ?4)"
                             " ON CONFLICT(name) DO UPDATE SET tpl = excluded.tpl,"
                             " parser = excluded.parser, title = excluded.title",
    [STMT_TRACER_GET] = "SELECT " TRACER_COLS " FROM tracer WHERE name = ?1",
    [STMT_TRACER_LIST] = "SELECT " TRACER_COLS " FROM tracer ORDER BY name",
    [STMT_TRACER_SET_RUNNING] = "UPDATE tracer SET running = ?2, pid = ?3, task_uuid = ?4,"
                                " started = ?5 WHERE name = ?1",
    [STMT_TRACER_SET_PID] = "UPDATE tracer SET pid = ?2 WHERE name = ?1",
    [STMT_TRACER_RESULTS] = "SELECT uuid FROM result WHERE tracer = ?1 ORDER BY id",
    [STMT_TASK_CREATE] = "INSERT INTO task(uuid, created, status, deadline)"
                         " VALUES (?1, ?2, 'running', ?3)",
    [STMT_TASK_GET] = "SELECT " TASK_COLS " FROM task WHERE uuid = ?1",
    [STMT_TASK_MATCH] = "SELECT uuid FROM task WHERE uuid GLOB ?1 ORDER BY uuid LIMIT 3",
    [STMT_TASK_LATEST] = "SELECT " TASK_COLS " FROM task ORDER BY id DESC LIMIT 1",
    [STMT_TASK_UPDATE] = "UPDATE task SET status = ?2, stopped = ?3, deadline = ?4 WHERE id = ?1",
    [STMT_TASK_CLOSE_IF_IDLE] =
        "UPDATE task SET status = 'stopped', stopped = ?2 WHERE id = ?1 AND status = 'running'"
        " AND NOT EXISTS (SELECT 1 FROM task_tracer WHERE task_id = ?1 AND stopped IS NULL)",
    [STMT_TASK_LIST] = "SELECT " TASK_COLS " FROM task ORDER BY id DESC LIMIT ?1",
    [STMT_TASK_COUNT_RUNNING] = "SELECT count(*) FROM task WHERE status = 'running'",
    [STMT_TASK_LIST_RUNNING] = "SELECT " TASK_COLS " FROM task WHERE status = 'running'"
                               " ORDER BY id DESC",
    /* The agent records the start after spawning, the tracer as it begins:
     * either may come second, and a tracer that failed at once may have
     * recorded its end already, which must survive. */
    [STMT_TT_START] =
        "INSERT INTO task_tracer(task_id, tracer, pid, started)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (task_id, tracer) DO UPDATE SET"
        " pid = coalesce(excluded.pid, pid), started = min(started, excluded.started)",
    [STMT_TT_SET_WORKER] =
        "UPDATE task_tracer SET worker_pid = ?3 WHERE task_id = ?1 AND tracer = ?2",
    /* A batch written: nothing is held any more. */
    [STMT_TT_COUNT] = "UPDATE task_tracer SET lines = ?3, unparsed = ?4, held = 0,"
                      " held_reason = NULL WHERE task_id = ?1 AND tracer = ?2",
    [STMT_TT_HOLD] = "UPDATE task_tracer SET stopping = ?3, held = ?4, held_reason = ?5"
                     " WHERE task_id = ?1 AND tracer = ?2",
    [STMT_TT_FINISH] = "UPDATE task_tracer SET stopped = ?3, exit_code = ?4, exit_signal = ?5,"
                       " lines = ?6, unparsed = ?7, held = 0, held_reason = NULL"
                       " WHERE task_id = ?1 AND tracer = ?2",
    [STMT_TT_LIST] =
        "SELECT task_id, tracer, pid, worker_pid, started, stopped, exit_code, exit_signal,"
        " lines, unparsed, stopping, held, held_reason FROM task_tracer WHERE task_id = ?1"
        " ORDER BY tracer",
    [STMT_RESULT_CREATE] = "INSERT INTO result(uuid, task_id, tracer, name, unit, rtype, created)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_RESULT_GET] = "SELECT " RESULT_COLS " FROM result r WHERE r.uuid = ?1",
    [STMT_RESULT_GET_UNCOUNTED] =
        "SELECT " RESULT_COLS_UNCOUNTED " FROM result r WHERE r.uuid = ?1",
    [STMT_RESULT_MATCH] = "SELECT uuid FROM result WHERE uuid GLOB ?1 ORDER BY uuid LIMIT 3",
    [STMT_RESULT_LIST_TASK] = "SELECT " RESULT_COLS " FROM result r WHERE r.task_id = ?1"
                              " ORDER BY r.id",
    [STMT_RESULT_LIST_ALL] = "SELECT " RESULT_COLS " FROM result r ORDER BY r.id",
    [STMT_SAMPLE_INSERT] = "INSERT INTO sample(result_id, ts, value, text) VALUES (?1, ?2, ?3, ?4)",
    [STMT_SAMPLE_SCAN] = "SELECT ts, value, text FROM sample WHERE result_id = ?1"
                         " ORDER BY ts, rowid",
    [STMT_SAMPLE_PAGE] = "SELECT ts, value, text FROM sample WHERE result_id = ?1"
                         " ORDER BY ts, rowid LIMIT ?3 OFFSET ?2",
    /* Keyset paging: the index on (result_id, ts) ends in the rowid, so
     * it serves this order and starts the scan at the key. */
    [STMT_SAMPLE_AFTER] = "SELECT ts, value, text, rowid FROM sample WHERE result_id = ?1"
                          " AND (ts, rowid) > (?2, ?3) ORDER BY ts, rowid",
    [STMT_SAMPLE_STATS] = "SELECT count(*), min(ts), max(ts), count(value), min(value), avg(value),"
                          " max(value) FROM sample WHERE result_id = ?1",
    /* Nearest-rank p95: the ceil(0.95 n)-th smallest value. */
    [STMT_SAMPLE_P95] = "SELECT value FROM sample WHERE result_id = ?1 AND value IS NOT NULL"
                        " ORDER BY value LIMIT 1 OFFSET ?2",
    [STMT_SAMPLE_LAST_VALUE] = "SELECT value FROM sample WHERE result_id = ?1"
                               " AND value IS NOT NULL ORDER BY ts DESC, rowid DESC LIMIT 1",
    [STMT_SAMPLE_SPARK] = "SELECT min(CAST((ts - ?2) / ?3 AS INTEGER), ?4 - 1), avg(value)"
                          " FROM sample WHERE result_id = ?1 AND value IS NOT NULL GROUP BY 1",
    [STMT_SAMPLE_SPAN] = "SELECT count(*), min(ts), max(ts) FROM sample WHERE result_id = ?1"
                         " AND ts > ?2",
    [STMT_SAMPLE_HEAD] = "SELECT ts, value, text FROM sample WHERE result_id = ?1 AND ts > ?2"
                         " ORDER BY ts, rowid LIMIT ?3",
    [STMT_SAMPLE_TAIL] = "SELECT ts, value, text FROM (SELECT ts, value, text, rowid FROM sample"
                         " WHERE result_id = ?1 AND ts > ?2 ORDER BY ts DESC, rowid DESC"
                         " LIMIT ?3) ORDER BY ts, rowid",
    [STMT_SAMPLE_NUMBERS_SPAN] = "SELECT count(*), min(ts), max(ts) FROM sample"
                                 " WHERE result_id = ?1 AND ts > ?2 AND value IS NOT NULL",
    [STMT_SAMPLE_NUMBERS] = "SELECT ts, value, rowid FROM sample WHERE result_id = ?1"
                            " AND ts > ?2 AND value IS NOT NULL ORDER BY ts, rowid",
    [STMT_PURGE] = "DELETE FROM task WHERE status != 'running' AND stopped IS NOT NULL"
                   " AND stopped < ?1",
    [STMT_PURGE_SAMPLES] = "DELETE FROM sample WHERE rowid IN (SELECT s.rowid FROM task t"
                           " JOIN result r ON r.task_id = t.id JOIN sample s ON s.result_id = r.id"
                           " WHERE t.status != 'running' AND t.stopped IS NOT NULL"
                           " AND t.stopped < ?1 LIMIT ?2)",
};

/* The errno code for SQLite's result code. */
static int errno_of(int code)
{
    switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    default:
        return -EIO;
    }
}

int store_db_error(store *s, sca_error *err, const char *what)
{
    return sca_error_set(err, errno_of(sqlite3_errcode(s->db)), "%s: %s: %s", s->path, what,
                         sqlite3_errmsg(s->db));
}

sqlite3_stmt *store_stmt(store *s, enum store_stmt id, sca_error *err)
{
    sqlite3_stmt *stmt = s->stmts[id];
    if (stmt == NULL) {
        if (sqlite3_prepare_v3(s->db, store_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
            SQLITE_OK) {
            store_db_error(s, err, "prepare");
            return NULL;
        }
        s->stmts[id] = stmt;
        return stmt;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

int store_step_done(store *s, sqlite3_stmt *stmt, sca_error *err, const char *what)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_db_error(s, err, what);
    return 0;
}

char *store_column_strdup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    if (text == NULL)
        return NULL;
    return sca_strndup((const char *)text, (size_t)sqlite3_column_bytes(stmt, col));
}

void store_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    size_t n = text ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
    if (n >= size)
        n = size - 1;
    if (n > 0)
        memcpy(buf, text, n);
    buf[n] = '\0';
}

static int exec_sql(store *s, const char *sql, sca_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = errno_of(sqlite3_errcode(s->db));
        sca_error_set(err, rc, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int store_begin(store *s, sca_error *err)
{
    return exec_sql(s, "BEGIN IMMEDIATE", err);
}

int store_commit(store *s, sca_error *err)
{
    return exec_sql(s, "COMMIT", err);
}

void store_rollback(store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        exec_sql(s, "ROLLBACK", NULL);
}

int store_in_transaction(store *s, int (*fn)(store *, void *, sca_error *), void *arg,
                         sca_error *err)
{
    if (!sqlite3_get_autocommit(s->db))
        return fn(s, arg, err);
    int rc = store_begin(s, err);
    if (rc != 0)
        return rc;
    rc = fn(s, arg, err);
    if (rc == 0)
        rc = store_commit(s, err);
    if (rc != 0)
        store_rollback(s);
    return rc;
}

int store_schema_version(store *s, sca_error *err)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return store_db_error(s, err, "read schema version");
    int version = -EIO;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    else
        store_db_error(s, err, "read schema version");
    sqlite3_finalize(stmt);
    return version;
}

static int migrate(store *s, sca_error *err)
{
    int version = store_schema_version(s, err);
    if (version < 0)
        return version;
    if (version > STORE_SCHEMA_VERSION)
        return sca_error_set(err, -EPROTO,
                             "%s: schema version %d is newer than this Scalpels (%d); "
                             "upgrade Scalpels",
                             s->path, version, STORE_SCHEMA_VERSION);
    if (version == STORE_SCHEMA_VERSION)
        return 0;
    if (s->flags & STORE_READONLY)
        return sca_error_set(err, -EPROTO, "%s: schema version %d needs migrating to %d", s->path,
                             version, STORE_SCHEMA_VERSION);
    int rc = store_begin(s, err);
    if (rc != 0)
        return rc;
    /* Another process may have migrated while we waited for the lock. */
    version = store_schema_version(s, err);
    for (int v = version; rc == 0 && v >= 0 && v < STORE_SCHEMA_VERSION; v++) {
        rc = exec_sql(s, store_migrations[v], err);
        if (rc == 0) {
            char pragma[64];
            snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
            rc = exec_sql(s, pragma, err);
        }
    }
    if (version < 0)
        rc = version;
    if (rc == 0)
        rc = store_commit(s, err);
    if (rc != 0)
        store_rollback(s);
    return rc;
}

/* sqlite3_busy_timeout's waits, also ended by the deadline: SQLite gives
 * up on the lock when this returns 0. */
static int busy_wait(void *arg, int count)
{
    store *s = arg;
    double now = sca_monotonic();
    if (count == 0)
        s->busy_since = now;
    double end = s->busy_since + s->busy_ms / 1000.0;
    if (s->deadline > 0 && s->deadline < end)
        end = s->deadline;
    if (now >= end)
        return 0;
    /* Short naps first: most locks are a tracer's batch, held for
     * milliseconds. */
    int nap_ms = count < 6 ? 1 << count : 50;
    double left_ms = (end - now) * 1000;
    sqlite3_sleep(left_ms < nap_ms ? (int)left_ms + 1 : nap_ms);
    return 1;
}

static int configure_connection(store *s, sca_error *err)
{
    s->busy_ms = STORE_BUSY_MS;
    sqlite3_busy_handler(s->db, busy_wait, s);
    int rc = exec_sql(s, "PRAGMA foreign_keys = ON", err);
    if (rc == 0 && !(s->flags & STORE_READONLY)) {
        rc = exec_sql(s, "PRAGMA journal_mode = WAL", err);
        /* NORMAL is durable in WAL mode except for the last commits before a
         * power cut; a trace loses at most its last batch. */
        if (rc == 0)
            rc = exec_sql(s, "PRAGMA synchronous = NORMAL", err);
        /* Once checkpointed, the log is cut back to this much, which it
         * keeps: room for a tracer to record its state, and a batch or two,
         * when the rest of the disk is full. */
        if (rc == 0)
            rc = exec_sql(s, "PRAGMA journal_size_limit = " STORE_WAL_KEEP_TEXT, err);
    }
    return rc;
}

/* SQLite would create the file with 0644 less the umask; made here first,
 * it has STORE_FILE_MODE whatever the umask, and SQLite gives the -wal and
 * -shm files it makes the mode (and owner) of the database file. */
static int create_file(const char *path, sca_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
    if (fd < 0 && errno == EEXIST)
        return 0;
    if (fd < 0)
        return sca_error_set(err, -errno, "cannot create database %s: %s", path, strerror(errno));
    int rc = 0;
    if (fchmod(fd, STORE_FILE_MODE) != 0)
        rc = sca_error_set(err, -errno, "cannot set the mode of %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Takes from the database and its -wal and -shm files any permission
 * beyond STORE_FILE_MODE (a file made under umask 022 by an older version,
 * or by hand), with a warning: the samples may hold query logs and message
 * bodies.  A file that cannot be changed is only warned about. */
static void tighten_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *file = sca_asprintf("%s%s", path, suffixes[i]);
        struct stat st;
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
            (st.st_mode & 07777 & ~STORE_FILE_MODE)) {
            mode_t was = st.st_mode & 07777, want = was & STORE_FILE_MODE;
            if (chmod(file, want) == 0)
                log_warning("%s had mode %04o; tightened to %04o: the database is for its "
                            "owner and group only",
                            file, (unsigned)was, (unsigned)want);
            else
                log_warning("%s has mode %04o and cannot be tightened to %04o (%s): the "
                            "database is for its owner and group only",
                            file, (unsigned)was, (unsigned)want, strerror(errno));
        }
        free(file);
    }
}

int store_open(const char *path, int flags, store **out, sca_error *err)
{
    *out = NULL;
    struct stat st;
    if (!(flags & STORE_CREATE) && stat(path, &st) != 0)
        return sca_error_set(err, -ENOENT,
                             "database %s does not exist (create it with 'sca-manage db-create')",
                             path);
    if (flags & STORE_CREATE) {
        int rc = create_file(path, err);
        if (rc != 0)
            return rc;
    }
    if (!(flags & STORE_READONLY))
        tighten_files(path);
    store *s = sca_calloc(1, sizeof(*s));
    s->path = sca_strdup(path);
    s->flags = flags;
    int oflags = (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    oflags |= SQLITE_OPEN_NOMUTEX;
    int rc;
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        rc = sca_error_set(err, -EIO, "cannot open database %s: %s", path,
                           s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 0);
    rc = configure_connection(s, err);
    if (rc == 0)
        rc = migrate(s, err);
    if (rc != 0) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void store_close(store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < STMT_COUNT_; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

void store_set_busy_timeout(store *s, int ms)
{
    s->busy_ms = ms;
}

void store_set_deadline(store *s, double deadline)
{
    s->deadline = deadline;
}

int store_checkpoint(store *s, sca_error *err)
{
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_db_error(s, err, "checkpoint");
    return 0;
}

static char *room_path(const store *s)
{
    return sca_asprintf("%s-room", s->path);
}

int store_room_keep(const store *s)
{
    char *path = room_path(s);
    int rc = 0;
    /* Written, not just sized: a file system allocates on write. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? 0 : -errno;
    } else {
        static const char zeros[16384];
        for (size_t done = 0; rc == 0 && done < STORE_ROOM_BYTES; done += sizeof(zeros)) {
            ssize_t n = write(fd, zeros, sizeof(zeros));
            if (n != (ssize_t)sizeof(zeros))
                rc = n < 0 ? -errno : -ENOSPC;
        }
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
        if (rc != 0)
            unlink(path);
    }
    free(path);
    return rc;
}

bool store_room_release(const store *s)
{
    char *path = room_path(s);
    bool released = unlink(path) == 0;
    free(path);
    return released;
}

int store_free_space(const store *s, uint64_t *bytes, sca_error *err)
{
    struct statvfs st;
    if (statvfs(s->path, &st) != 0)
        return sca_error_set(err, -errno, "%s: cannot tell the free space: %s", s->path,
                             strerror(errno));
    *bytes = (uint64_t)st.f_bavail * st.f_frsize;
    return 0;
}

const char *store_path(const store *s)
{
    return s->path;
}

/* Copies a uuid prefix into out in lowercase (uuids are stored so, and are
 * case-insensitive); false when it has anything but hex digits and '-'. */
static bool uuid_prefix_lower(const char *p, char out[SCA_UUID_LEN + 1])
{
    size_t i = 0;
    for (; p[i] != '\0' && i < SCA_UUID_LEN; i++) {
        if (!isxdigit((unsigned char)p[i]) && p[i] != '-')
            return false;
        out[i] = (char)tolower((unsigned char)p[i]);
    }
    out[i] = '\0';
    return p[i] == '\0';
}

int store_resolve_uuid(store *s, enum store_stmt id, const char *what, const char *given,
                       char full[SCA_UUID_LEN + 1], sca_error *err)
{
    char prefix[SCA_UUID_LEN + 1];
    if (strlen(given) < SCA_UUID_PREFIX_MIN || !uuid_prefix_lower(given, prefix))
        return sca_error_set(err, -EINVAL,
                             "'%s' is not a %s uuid or a prefix of at least %d of its characters "
                             "(hex digits and '-')",
                             given, what, SCA_UUID_PREFIX_MIN);
    sqlite3_stmt *stmt = store_stmt(s, id, err);
    if (stmt == NULL)
        return -EIO;
    char pattern[SCA_UUID_LEN + 2];
    snprintf(pattern, sizeof(pattern), "%s*", prefix);
    sqlite3_bind_text(stmt, 1, pattern, -1, SQLITE_STATIC);
    char found[3][SCA_UUID_LEN + 1];
    int n = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < 3)
        store_column_copy(stmt, 0, found[n++], sizeof(found[0]));
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = store_db_error(s, err, "find uuid");
        sqlite3_reset(stmt);
        return rc;
    }
    sqlite3_reset(stmt);
    if (n == 0)
        return sca_error_set(err, -ENOENT, "no %s matches '%s'", what, prefix);
    if (n > 1)
        return sca_error_set(err, -EINVAL, "'%s' is ambiguous: it matches %s %s, %s%s", prefix,
                             what, found[0], found[1], n > 2 ? " and more" : "");
    memcpy(full, found[0], SCA_UUID_LEN + 1);
    return 0;
}
