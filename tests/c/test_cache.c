/* test_cache.c - the on-disk store (jit/cache.c): round trips, every kind
 * of damage, version changes, read-only directories, eviction, listing,
 * clearing, verification and concurrent writers. */
#include "jit.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pyacc-cache-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s 2>/dev/null; rm -rf %s", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cache, .init = make_dir, .fini = remove_dir, .timeout = 120);

static void key_of(int i, char *key)
{
    snprintf(key, 65, "%08x%056x", (unsigned)i * 2654435761u, (unsigned)i);
}

static jit_cache *open_ok(int64_t limit)
{
    char err[512];
    jit_cache *c = jit_cache_open(dir, limit, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    return c;
}

static void put_ok(jit_cache *c, int i, size_t size)
{
    jit_cache_meta m = {0};
    key_of(i, m.key);
    snprintf(m.qualname, sizeof m.qualname, "f%d", i);
    snprintf(m.file, sizeof m.file, "/src/mod.py");
    m.line = 10 + i;
    snprintf(m.signature, sizeof m.signature, "(float64[:], int)");
    snprintf(m.target, sizeof m.target, "x86_64-pc-linux-gnu znver4");
    m.compile_ms = 12.5;
    char *data = malloc(size);
    for (size_t k = 0; k < size; k++)
        data[k] = (char)(k * 7 + (size_t)i);
    char err[512];
    cr_assert_eq(jit_cache_put(c, &m, data, size, err, sizeof err), 0, "%s", err);
    free(data);
}

static int get(jit_cache *c, int i, size_t *size)
{
    char key[65], err[512];
    key_of(i, key);
    void *data = NULL;
    int rc = jit_cache_get(c, key, &data, size, err, sizeof err);
    if (rc == 1)
        for (size_t k = 0; k < *size; k++)
            cr_assert_eq(((char *)data)[k], (char)(k * 7 + (size_t)i));
    free(data);
    return rc;
}

static void entry_file(int i, char *path, size_t n)
{
    char key[65];
    key_of(i, key);
    snprintf(path, n, "%s/entries/%.2s/%s", dir, key, key);
}

Test(cache, round_trip_and_miss)
{
    jit_cache *c = open_ok(0);
    cr_assert_null(jit_cache_note(c));
    put_ok(c, 1, 1000);
    size_t size = 0;
    cr_assert_eq(get(c, 1, &size), 1);
    cr_assert_eq(size, 1000);
    cr_assert_eq(get(c, 2, &size), 0);
    jit_cache_meta *m;
    int n;
    char err[256];
    cr_assert_eq(jit_cache_list(c, "", &m, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(m[0].qualname, "f1");
    cr_assert_eq(m[0].line, 11);
    cr_assert_eq(m[0].hits, 1);
    cr_assert_gt(m[0].size, 1000);
    free(m);
    jit_cache_close(c);
    /* and from another open, as a later process would */
    c = open_ok(0);
    cr_assert_eq(get(c, 1, &size), 1);
    jit_cache_close(c);
}

Test(cache, bad_keys_are_misses)
{
    jit_cache *c = open_ok(0);
    void *d;
    size_t n;
    char err[128];
    cr_assert_eq(jit_cache_get(c, "../../etc/passwd", &d, &n, err, sizeof err), 0);
    cr_assert_eq(jit_cache_get(c, "ABCDEF0123456789", &d, &n, err, sizeof err), 0);
    jit_cache_meta m = {.key = "zz"};
    cr_assert_eq(jit_cache_put(c, &m, "x", 1, err, sizeof err), -1);
    jit_cache_close(c);
}

static void damage_and_expect_drop(void (*damage)(const char *path))
{
    jit_cache *c = open_ok(0);
    put_ok(c, 3, 5000);
    char path[512];
    entry_file(3, path, sizeof path);
    damage(path);
    size_t size;
    char key[65], err[512];
    key_of(3, key);
    void *data = NULL;
    cr_assert_eq(jit_cache_get(c, key, &data, &size, err, sizeof err), -1);
    cr_assert_null(data);
    cr_assert(strstr(err, "dropped"), "%s", err);
    cr_assert_eq(get(c, 3, &size), 0, "a damaged entry is gone after the first read");
    put_ok(c, 3, 5000); /* and can be written again */
    cr_assert_eq(get(c, 3, &size), 1);
    jit_cache_close(c);
}

static void truncate_it(const char *path) { cr_assert_eq(truncate(path, 100), 0); }
static void unlink_it(const char *path) { cr_assert_eq(unlink(path), 0); }
static void flip_a_byte(const char *path)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, 2000, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 2000, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
}
static void garbage(const char *path)
{
    FILE *f = fopen(path, "wb");
    fputs("not an entry at all", f);
    fclose(f);
}

Test(cache, truncated_entry_is_dropped) { damage_and_expect_drop(truncate_it); }
Test(cache, missing_file_is_dropped) { damage_and_expect_drop(unlink_it); }
Test(cache, corrupted_byte_is_dropped) { damage_and_expect_drop(flip_a_byte); }
Test(cache, foreign_file_is_dropped) { damage_and_expect_drop(garbage); }

Test(cache, index_of_another_version_is_rebuilt)
{
    jit_cache *c = open_ok(0);
    put_ok(c, 4, 100);
    jit_cache_close(c);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 -c \"import sqlite3; d=sqlite3.connect('%s/index.sqlite'); "
                              "d.execute('PRAGMA user_version = 99'); d.commit()\"", dir);
    cr_assert_eq(system(cmd), 0);
    c = open_ok(0);
    cr_assert_not_null(jit_cache_note(c));
    cr_assert(strstr(jit_cache_note(c), "another pyacc version"));
    size_t size;
    cr_assert_eq(get(c, 4, &size), 0);
    put_ok(c, 4, 100);
    cr_assert_eq(get(c, 4, &size), 1);
    jit_cache_close(c);
}

Test(cache, unreadable_index_is_moved_aside)
{
    char path[512];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 1000; i++)
        fputs("garbage garbage ", f);
    fclose(f);
    jit_cache *c = open_ok(0);
    cr_assert_not_null(jit_cache_note(c));
    put_ok(c, 5, 10);
    size_t size;
    cr_assert_eq(get(c, 5, &size), 1);
    jit_cache_close(c);
    snprintf(path, sizeof path, "%s/index.sqlite.damaged", dir);
    cr_assert_eq(access(path, F_OK), 0);
}

Test(cache, read_only_directory_reads_but_does_not_write)
{
    if (geteuid() == 0)
        cr_skip_test("root writes anywhere");
    jit_cache *c = open_ok(0);
    put_ok(c, 6, 100);
    jit_cache_close(c);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "chmod -R a-w %s", dir);
    cr_assert_eq(system(cmd), 0);
    c = open_ok(0);
    cr_assert(jit_cache_read_only(c));
    size_t size;
    cr_assert_eq(get(c, 6, &size), 1);
    jit_cache_meta m = {0};
    key_of(7, m.key);
    char err[512];
    cr_assert_eq(jit_cache_put(c, &m, "abc", 3, err, sizeof err), -1);
    cr_assert(strstr(err, "read-only"), "%s", err);
    jit_cache_close(c);
}

Test(cache, unwritable_entry_directory_fails_the_put_cleanly)
{
    /* a file where the entry's directory should be: no write succeeds,
     * whoever runs the test (root ignores permissions) */
    jit_cache *c = open_ok(0);
    char path[512], key[65];
    key_of(8, key);
    snprintf(path, sizeof path, "%s/entries/%.2s", dir, key);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fclose(f);
    jit_cache_meta m = {0};
    memcpy(m.key, key, 65);
    char err[512];
    cr_assert_eq(jit_cache_put(c, &m, "abc", 3, err, sizeof err), -1);
    cr_assert(strstr(err, "cannot"), "%s", err);
    size_t size;
    cr_assert_eq(get(c, 8, &size), 0);
    put_ok(c, 9, 10); /* other entries are still written */
    cr_assert_eq(get(c, 9, &size), 1);
    jit_cache_close(c);
}

Test(cache, a_directory_that_cannot_be_made_gives_no_cache)
{
    char err[512];
    jit_cache *c = jit_cache_open("/proc/pyacc-cannot-be-here", 0, err, sizeof err);
    cr_assert_null(c);
    cr_assert(strstr(err, "/proc/pyacc-cannot-be-here"), "%s", err);
}

Test(cache, least_recently_used_entries_are_evicted)
{
    jit_cache *c = open_ok(10 * 1100);
    for (int i = 0; i < 10; i++)
        put_ok(c, 100 + i, 1000);
    size_t size;
    cr_assert_eq(get(c, 100, &size), 1); /* 100 is used: 101 is now the oldest */
    sleep(1);
    cr_assert_eq(get(c, 100, &size), 1);
    put_ok(c, 200, 1000);
    put_ok(c, 201, 1000);
    cr_assert_eq(get(c, 100, &size), 1, "the recently used entry stays");
    int gone = 0;
    for (int i = 1; i < 10; i++)
        gone += get(c, 100 + i, &size) == 0;
    cr_assert_geq(gone, 2);
    cr_assert_eq(get(c, 201, &size), 1);
    jit_cache_close(c);
}

Test(cache, clear_all_and_older_than)
{
    jit_cache *c = open_ok(0);
    for (int i = 0; i < 5; i++)
        put_ok(c, 300 + i, 50);
    int removed;
    char err[256];
    cr_assert_eq(jit_cache_clear(c, 30, &removed, err, sizeof err), 0);
    cr_assert_eq(removed, 0, "nothing is a month old");
    /* a stray temporary file, as a crash would leave */
    char path[512], key[65];
    key_of(300, key);
    snprintf(path, sizeof path, "%s/entries/%.2s/.tmp-stray", dir, key);
    fclose(fopen(path, "wb"));
    cr_assert_eq(jit_cache_clear(c, 0, &removed, err, sizeof err), 0);
    cr_assert_eq(removed, 5);
    cr_assert_neq(access(path, F_OK), 0);
    size_t size;
    cr_assert_eq(get(c, 300, &size), 0);
    jit_cache_close(c);
}

static int reject_odd(const jit_cache_meta *m, const void *data, size_t size, void *arg, char *why, size_t n)
{
    (void)data;
    (void)size;
    (void)arg;
    if (m->line % 2) {
        snprintf(why, n, "odd line");
        return -1;
    }
    return 0;
}

static void count_report(const jit_cache_meta *m, const char *why, void *arg)
{
    (void)m;
    (void)why;
    (*(int *)arg)++;
}

Test(cache, verify_reports_and_drops_bad_entries)
{
    jit_cache *c = open_ok(0);
    for (int i = 0; i < 6; i++)
        put_ok(c, 400 + i, 64); /* lines 410..415 */
    char path[512];
    entry_file(400, path, sizeof path);
    truncate_it(path);
    int reports = 0, checked, bad;
    char err[256];
    cr_assert_eq(jit_cache_verify(c, reject_odd, count_report, &reports, &checked, &bad, err, sizeof err), 0);
    cr_assert_eq(checked, 6);
    cr_assert_eq(bad, 4); /* 400 truncated, 401 403 405 odd */
    cr_assert_eq(reports, 4);
    size_t size;
    cr_assert_eq(get(c, 402, &size), 1);
    cr_assert_eq(get(c, 401, &size), 0);
    jit_cache_close(c);
}

Test(cache, concurrent_writers_and_readers)
{
    /* eight processes writing the same keys and their own, reading all */
    for (int p = 0; p < 8; p++) {
        if (fork() == 0) {
            char err[512];
            jit_cache *c = jit_cache_open(dir, 0, err, sizeof err);
            if (!c)
                _exit(2);
            int failures = 0;
            for (int i = 0; i < 20; i++) {
                put_ok(c, 500 + i, 3000);      /* everybody */
                put_ok(c, 600 + p * 20 + i, 100); /* mine */
                size_t size;
                for (int k = 0; k <= i; k++)
                    failures += get(c, 500 + k, &size) != 1; /* never half an entry */
            }
            jit_cache_close(c);
            _exit(failures ? 1 : 0);
        }
    }
    for (int p = 0; p < 8; p++) {
        int status;
        wait(&status);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a process saw a bad entry");
    }
    jit_cache *c = open_ok(0);
    jit_cache_meta *m;
    int n;
    char err[256];
    cr_assert_eq(jit_cache_list(c, "", &m, &n, err, sizeof err), 0);
    cr_assert_eq(n, 20 + 8 * 20);
    free(m);
    jit_cache_close(c);
}
