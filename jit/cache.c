/* cache.c - compiled code on disk: the store under PYACC_CACHE_DIR.
 *
 * Layout of a cache directory:
 *   index.sqlite        one row per entry (SQLite, WAL: readers never wait
 *                       for a writer, writers wait for each other)
 *   entries/ab/<key>    an entry's payload, framed: magic, format version,
 *                       payload length and a 64-bit checksum, then the bytes
 *   locks/ab            lock files, one per key prefix: a process compiling
 *                       a key holds its lock, so that processes starting
 *                       together compile each kernel once and the others
 *                       wait and load it
 *
 * The store knows keys, metadata and opaque payloads; what a payload holds
 * (object code, bitcode, the types the dispatcher needs) is the caller's.
 *
 * Safety rules:
 *   - a payload is written to a temporary file in the same directory and
 *     renamed into place, then its row is written in one transaction: a
 *     reader sees a whole entry or none;
 *   - every read checks the frame (length and checksum): a torn, truncated
 *     or corrupted file, or a row whose file is missing, is dropped and
 *     reported, and the caller compiles again;
 *   - an index of another format version is rebuilt; one SQLite cannot open
 *     is moved aside and made again;
 *   - a directory that cannot be written leaves the cache read-only (gets
 *     work, puts fail with a message), one that cannot be read disables it.
 * Entries beyond the size limit are evicted least recently used first.
 */
#include "jit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bumped whenever the index's columns or the frame change. */
#define INDEX_VERSION 1
#define FRAME_MAGIC "PYACCE01"
#define FRAME_HEADER 24 /* magic (8), payload length (8), checksum (8) */

struct jit_cache {
    pthread_mutex_t mu; /* the connection, for a compile thread beside the caller's (recursive) */
    sqlite3 *db;
    char *dir;
    int64_t limit;
    int read_only;
    char note[512]; /* what opening had to repair, for one warning */
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* FNV-1a, 64 bits: enough to tell a damaged payload from a whole one (the
 * key, not this, says which code it is). */
static uint64_t checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

static int key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n < 16 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return 0;
    return 1;
}

static void entry_path(const jit_cache *c, const char *key, char *buf, size_t n)
{
    snprintf(buf, n, "%s/entries/%.2s/%s", c->dir, key, key);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0777) && errno != EEXIST ? -1 : 0;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS entries ("
    " key TEXT PRIMARY KEY, qualname TEXT, file TEXT, line INTEGER, signature TEXT,"
    " target TEXT, size INTEGER, compile_ms REAL, created INTEGER, last_used INTEGER,"
    " hits INTEGER);"
    "CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_used);";

static int open_db(jit_cache *c, const char *path, int flags)
{
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        sqlite3_close(c->db);
        c->db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(c->db, 10000); /* writers take turns; a compile takes ms */
    return 0;
}

/* Checks the index's version, making or rebuilding it as needed (writable
 * caches).  0, or -1 when SQLite cannot read it at all. */
static int check_schema(jit_cache *c)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    int version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return -1;
    if (version == INDEX_VERSION)
        return 0;
    if (c->read_only)
        return version == 0 ? 0 : -1;
    if (version != 0)
        snprintf(c->note, sizeof c->note,
                 "the cache index in %.300s is from another pyacc version (format %d, not %d): it was rebuilt",
                 c->dir, version, INDEX_VERSION);
    char sql[160];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", INDEX_VERSION);
    if (exec(c->db, "PRAGMA journal_mode=WAL") || exec(c->db, "BEGIN IMMEDIATE"))
        return -1;
    if ((version != 0 && exec(c->db, "DROP TABLE IF EXISTS entries")) || exec(c->db, SCHEMA) ||
        exec(c->db, sql) || exec(c->db, "COMMIT")) {
        exec(c->db, "ROLLBACK");
        return -1;
    }
    return 0;
}

jit_cache *jit_cache_open(const char *dir, int64_t limit, char *err, size_t errlen)
{
    jit_cache *c = calloc(1, sizeof *c);
    if (c) {
        pthread_mutexattr_t at;
        pthread_mutexattr_init(&at);
        pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&c->mu, &at);
        pthread_mutexattr_destroy(&at);
    }
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        fail(err, errlen, "out of memory");
        return NULL;
    }
    c->limit = limit > 0 ? limit : (int64_t)1 << 30;
    char path[4096];
    if (mkdir_p(dir) == 0) {
        snprintf(path, sizeof path, "%s/entries", dir);
        mkdir(path, 0777);
    }
    c->read_only = access(dir, W_OK) != 0;
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    int flags = c->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (c->read_only && access(path, R_OK) != 0) {
        fail(err, errlen, "the cache directory %s can be neither written nor read", dir);
        jit_cache_close(c);
        return NULL;
    }
    /* Processes opening a new cache together take turns to make its
     * index, so that none sees it half made (and takes it for damaged). */
    char lockpath[4200];
    snprintf(lockpath, sizeof lockpath, "%s/index.lock", dir);
    int lockfd = c->read_only ? -1 : open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd >= 0)
        flock(lockfd, LOCK_EX);
    int rc = -1, damaged = 0;
    for (int attempt = 0; attempt < 50 && rc; attempt++) {
        if (open_db(c, path, flags) == 0 && check_schema(c) == 0) {
            rc = 0;
            break;
        }
        int code = c->db ? sqlite3_errcode(c->db) : SQLITE_CANTOPEN;
        sqlite3_close(c->db);
        c->db = NULL;
        if (code != SQLITE_BUSY && code != SQLITE_LOCKED) {
            damaged = code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
            break;
        }
        struct timespec ts = {0, 20 * 1000 * 1000}; /* someone else is writing: wait */
        nanosleep(&ts, NULL);
    }
    if (rc == 0 || !damaged) {
        if (lockfd >= 0) {
            flock(lockfd, LOCK_UN);
            close(lockfd);
        }
        if (rc == 0)
            return c;
        fail(err, errlen, "cannot open the cache index %s", path);
        jit_cache_close(c);
        return NULL;
    }
    /* not a database: move it aside and start again */
    if (c->read_only) {
        fail(err, errlen, "the cache index %s is unreadable and its directory read-only", path);
        jit_cache_close(c);
        return NULL;
    }
    char aside[4200];
    snprintf(aside, sizeof aside, "%s.damaged", path);
    rename(path, aside);
    snprintf(aside, sizeof aside, "%s-wal", path);
    unlink(aside);
    snprintf(aside, sizeof aside, "%s-shm", path);
    unlink(aside);
    snprintf(c->note, sizeof c->note, "the cache index %.200s could not be read: it was moved aside (.damaged) and made again",
             path);
    rc = open_db(c, path, flags) == 0 && check_schema(c) == 0 ? 0 : -1;
    if (lockfd >= 0) {
        flock(lockfd, LOCK_UN);
        close(lockfd);
    }
    if (rc == 0)
        return c;
    fail(err, errlen, "cannot open the cache index %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "?");
    jit_cache_close(c);
    return NULL;
}

void jit_cache_close(jit_cache *c)
{
    if (!c)
        return;
    if (c->db)
        sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c);
}

const char *jit_cache_note(const jit_cache *c) { return c->note[0] ? c->note : NULL; }
int jit_cache_read_only(const jit_cache *c) { return c->read_only; }
const char *jit_cache_dir(const jit_cache *c) { return c->dir; }

/* Removes an entry's row and file. */
static void drop(jit_cache *c, const char *key)
{
    char path[4400];
    entry_path(c, key, path, sizeof path);
    if (!c->read_only) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c->db, "DELETE FROM entries WHERE key = ?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
            sqlite3_step(st);
        }
        sqlite3_finalize(st);
        unlink(path);
    }
}

static int unlocked_drop(jit_cache *c, const char *key)
{
    if (!key_ok(key))
        return -1;
    drop(c, key);
    return 0;
}

/* Reads and checks an entry's file: 0 with the payload, -1 with why. */
static int read_payload(const jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen)
{
    char path[4400];
    entry_path(c, key, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "its file %s is missing", path);
    unsigned char head[FRAME_HEADER];
    uint64_t len = 0, sum = 0;
    if (fread(head, 1, FRAME_HEADER, f) != FRAME_HEADER || memcmp(head, FRAME_MAGIC, 8) != 0) {
        fclose(f);
        return fail(err, errlen, "its file %s is not a pyacc cache entry of this version", path);
    }
    memcpy(&len, head + 8, 8);
    memcpy(&sum, head + 16, 8);
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size != len + FRAME_HEADER) {
        fclose(f);
        return fail(err, errlen, "its file %s is truncated or too long", path);
    }
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf || fread(buf, 1, len, f) != len) {
        free(buf);
        fclose(f);
        return fail(err, errlen, "its file %s could not be read", path);
    }
    fclose(f);
    if (checksum(buf, len) != sum) {
        free(buf);
        return fail(err, errlen, "its file %s is damaged (checksum)", path);
    }
    *data = buf;
    *size = len;
    return 0;
}

static int lookup(jit_cache *c, const char *key, void **data, size_t *size, int count, char *err, size_t errlen);

static int unlocked_get(jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen)
{
    return lookup(c, key, data, size, 1, err, errlen);
}

static int unlocked_read(jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen)
{
    return lookup(c, key, data, size, 0, err, errlen);
}

static int lookup(jit_cache *c, const char *key, void **data, size_t *size, int count, char *err, size_t errlen)
{
    *data = NULL;
    *size = 0;
    if (!key_ok(key))
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT size FROM entries WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return fail(err, errlen, "the cache index: %s", sqlite3_errmsg(c->db));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return fail(err, errlen, "the cache index: %s", sqlite3_errmsg(c->db));
    char why[4600];
    if (read_payload(c, key, data, size, why, sizeof why)) {
        drop(c, key);
        return fail(err, errlen, "cache entry %.16s... was dropped: %s", key, why);
    }
    if (count && !c->read_only) {
        if (sqlite3_prepare_v2(c->db, "UPDATE entries SET last_used = ?, hits = hits + 1 WHERE key = ?", -1, &st,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, now_s());
            sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
            sqlite3_step(st); /* a busy index only loses the count */
        }
        sqlite3_finalize(st);
    }
    return 1;
}

/* Writes the framed payload to a temporary file beside its place and
 * renames it there. */
static int write_payload(jit_cache *c, const char *key, const void *data, size_t size, char *err, size_t errlen)
{
    char dir[4400], path[4400], tmp[4600];
    snprintf(dir, sizeof dir, "%s/entries/%.2s", c->dir, key);
    if (mkdir_p(dir))
        return fail(err, errlen, "cannot make %s: %s", dir, strerror(errno));
    entry_path(c, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", dir, key);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return fail(err, errlen, "cannot write in %s: %s", dir, strerror(errno));
    fchmod(fd, 0644); /* readable like the index (mkstemp makes it private) */
    unsigned char head[FRAME_HEADER];
    uint64_t len = size, sum = checksum(data, size);
    memcpy(head, FRAME_MAGIC, 8);
    memcpy(head + 8, &len, 8);
    memcpy(head + 16, &sum, 8);
    FILE *f = fdopen(fd, "wb");
    int ok = f && fwrite(head, 1, FRAME_HEADER, f) == FRAME_HEADER && fwrite(data, 1, size, f) == size;
    int saved = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return fail(err, errlen, "cannot write the cache entry %s: %s", path, strerror(saved ? saved : EIO));
    }
    return 0;
}

/* Evicts least recently used entries until the total is within the limit. */
static void evict(jit_cache *c)
{
    sqlite3_stmt *st = NULL;
    int64_t total = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT COALESCE(SUM(size), 0) FROM entries", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (total <= c->limit)
        return;
    if (sqlite3_prepare_v2(c->db, "SELECT key, size FROM entries ORDER BY last_used, created", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    char (*victims)[129] = NULL;
    int n = 0, cap = 0;
    while (total > c->limit && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            void *v = realloc(victims, (size_t)cap * sizeof *victims);
            if (!v)
                break;
            victims = v;
        }
        snprintf(victims[n++], 129, "%s", (const char *)sqlite3_column_text(st, 0));
        total -= sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++)
        drop(c, victims[i]);
    free(victims);
}

static int unlocked_put(jit_cache *c, const jit_cache_meta *m, const void *data, size_t size, char *err, size_t errlen)
{
    if (c->read_only)
        return fail(err, errlen, "the cache directory %s is read-only", c->dir);
    if (!key_ok(m->key))
        return fail(err, errlen, "bad cache key");
    if (write_payload(c, m->key, data, size, err, errlen))
        return -1;
    sqlite3_stmt *st = NULL;
    const char *sql = "INSERT OR REPLACE INTO entries (key, qualname, file, line, signature, target, size,"
                      " compile_ms, created, last_used, hits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)";
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        int64_t t = now_s();
        sqlite3_bind_text(st, 1, m->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->qualname, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, m->file, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, m->line);
        sqlite3_bind_text(st, 5, m->signature, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, m->target, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (int64_t)size + FRAME_HEADER);
        sqlite3_bind_double(st, 8, m->compile_ms);
        sqlite3_bind_int64(st, 9, t);
        sqlite3_bind_int64(st, 10, t);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        char path[4400];
        entry_path(c, m->key, path, sizeof path);
        unlink(path);
        return fail(err, errlen, "cannot update the cache index: %s", sqlite3_errmsg(c->db));
    }
    evict(c);
    return 0;
}

static void fill_meta(sqlite3_stmt *st, jit_cache_meta *m)
{
    memset(m, 0, sizeof *m);
#define TXT(i, field) snprintf(m->field, sizeof m->field, "%s", sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
    TXT(0, key);
    TXT(1, qualname);
    TXT(2, file);
    m->line = sqlite3_column_int(st, 3);
    TXT(4, signature);
    TXT(5, target);
#undef TXT
    m->size = sqlite3_column_int64(st, 6);
    m->compile_ms = sqlite3_column_double(st, 7);
    m->created = sqlite3_column_int64(st, 8);
    m->last_used = sqlite3_column_int64(st, 9);
    m->hits = sqlite3_column_int64(st, 10);
}

static int unlocked_list(jit_cache *c, const char *key_prefix, jit_cache_meta **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT key, qualname, file, line, signature, target, size, compile_ms, created,"
                      " last_used, hits FROM entries WHERE key LIKE ? || '%' ORDER BY file, line, created";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(err, errlen, "the cache index: %s", sqlite3_errmsg(c->db));
    sqlite3_bind_text(st, 1, key_prefix ? key_prefix : "", -1, SQLITE_STATIC);
    int cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            jit_cache_meta *v = realloc(*out, (size_t)cap * sizeof **out);
            if (!v) {
                sqlite3_finalize(st);
                return fail(err, errlen, "out of memory");
            }
            *out = v;
        }
        fill_meta(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(err, errlen, "the cache index: %s", sqlite3_errmsg(c->db));
}

static int unlocked_clear(jit_cache *c, double older_than_days, int *removed, char *err, size_t errlen)
{
    *removed = 0;
    if (c->read_only)
        return fail(err, errlen, "the cache directory %s is read-only", c->dir);
    jit_cache_meta *all;
    int n;
    if (unlocked_list(c, "", &all, &n, err, errlen))
        return -1;
    int64_t cutoff = older_than_days > 0 ? now_s() - (int64_t)(older_than_days * 86400.0) : INT64_MAX;
    for (int i = 0; i < n; i++)
        if (all[i].last_used < cutoff) {
            drop(c, all[i].key);
            (*removed)++;
        }
    free(all);
    /* whatever a crash left behind: temporary files, files without rows */
    if (older_than_days <= 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/entries", c->dir);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char sub[4500];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            DIR *d2 = opendir(sub);
            struct dirent *f;
            while (d2 && (f = readdir(d2))) {
                if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0)
                    continue;
                char file[4800];
                snprintf(file, sizeof file, "%s/%s", sub, f->d_name);
                unlink(file);
            }
            if (d2)
                closedir(d2);
            rmdir(sub);
        }
        if (d)
            closedir(d);
    }
    return 0;
}

static int unlocked_verify(jit_cache *c, jit_cache_check check, jit_cache_report report, void *arg, int *checked,
                           int *bad, char *err, size_t errlen)
{
    *checked = *bad = 0;
    jit_cache_meta *all;
    int n;
    if (unlocked_list(c, "", &all, &n, err, errlen))
        return -1;
    for (int i = 0; i < n; i++) {
        void *data = NULL;
        size_t size = 0;
        char why[4600] = "";
        int ok = read_payload(c, all[i].key, &data, &size, why, sizeof why) == 0 &&
                 (!check || check(&all[i], data, size, arg, why, sizeof why) == 0);
        (*checked)++;
        if (!ok) {
            (*bad)++;
            if (report)
                report(&all[i], why, arg);
            drop(c, all[i].key);
        }
        free(data);
    }
    free(all);
    return 0;
}

int jit_cache_lock(jit_cache *c, const char *key)
{
    if (c->read_only || !key_ok(key))
        return -1;
    char path[4400];
    snprintf(path, sizeof path, "%s/locks", c->dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/locks/%.2s", c->dir, key);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    /* a holder that dies releases it; one that hangs would hold the others
     * back, so they give up waiting after a while and compile themselves */
    for (int i = 0; i < 600; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    close(fd);
    return -1;
}

void jit_cache_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* ------------------------------------------- the entry points, one at a time */

#define LOCKED(call)                                                                                                   \
    pthread_mutex_lock(&c->mu);                                                                                        \
    int rc_ = call;                                                                                                    \
    pthread_mutex_unlock(&c->mu);                                                                                      \
    return rc_

int jit_cache_drop(jit_cache *c, const char *key) { LOCKED(unlocked_drop(c, key)); }

int jit_cache_get(jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen)
{
    LOCKED(unlocked_get(c, key, data, size, err, errlen));
}

int jit_cache_read(jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen)
{
    LOCKED(unlocked_read(c, key, data, size, err, errlen));
}

int jit_cache_put(jit_cache *c, const jit_cache_meta *m, const void *data, size_t size, char *err, size_t errlen)
{
    LOCKED(unlocked_put(c, m, data, size, err, errlen));
}

int jit_cache_list(jit_cache *c, const char *key_prefix, jit_cache_meta **out, int *n, char *err, size_t errlen)
{
    LOCKED(unlocked_list(c, key_prefix, out, n, err, errlen));
}

int jit_cache_clear(jit_cache *c, double older_than_days, int *removed, char *err, size_t errlen)
{
    LOCKED(unlocked_clear(c, older_than_days, removed, err, errlen));
}

int jit_cache_verify(jit_cache *c, jit_cache_check check, jit_cache_report report, void *arg, int *checked,
                     int *bad, char *err, size_t errlen)
{
    LOCKED(unlocked_verify(c, check, report, arg, checked, bad, err, errlen));
}
