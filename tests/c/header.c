/* alog.h under strict warnings, as C11, C99 and C++17 (tests/c/run.sh compiles this file with
 * -Wall -Wextra -Wpedantic -Wformat-nonliteral -Wcast-qual -Wconversion -Werror, plus
 * -Wold-style-cast -Wshadow in C++, with -I, not -isystem), then checks what it logs:
 * ALOG_LOGF with arguments of many types, a format ending in '%', the reserved members of
 * alog_record and alog_field, alog_result_name, an unknown key's message size, and the
 * configuration from the environment (ALOG_LEVEL, ALOG_CONF_<KEY>).
 * usage: header DIR */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* setenv */
#endif
#include "alog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define EXPECT(cond, what)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);     \
            failures++;                                                        \
        }                                                                      \
    } while (0)

enum color { RED, GREEN, BLUE };

static const char *const want[] = {
    "INFO i=-3 u=4000000000 z=12 d=2.50 s=text a=array c=x e=2 v=9",
    "INFO 100%",
    "WARN done ok=true",
};

int main(int argc, char **argv) {
    char err[256];
    char path[4096];
    char line[512];
    char array[8] = "array";
    volatile int vol = 9;
    const volatile int *vp = &vol;
    enum color e = BLUE;
    size_t z = 12;
    unsigned u = 4000000000u;
    alog_conf *conf;
    alog_logger *lg = NULL;
    alog_record rec;
    alog_field field;
    alog_result r;
    FILE *f;
    size_t n = 0;
    int code;

    if (argc != 2) return 2;
    snprintf(path, sizeof path, "%s/header.log", argv[1]);
    remove(path);
    conf = alog_conf_new();
    EXPECT(alog_conf_set(conf, "pattern", "{level} {msg}{fields}", err, sizeof err) == ALOG_OK, err);

    /* An unknown key: the message names it and fits a 256-byte buffer. */
    r = alog_conf_set(conf, "levle", "info", err, sizeof err);
    EXPECT(r == ALOG_ERR_INVALID, "unknown key accepted");
    EXPECT(strlen(err) < sizeof err - 1, "unknown key message cut by a 256-byte buffer");
    EXPECT(strstr(err, "\"levle\"") && strstr(err, "did you mean \"level\"?"), err);

    EXPECT(alog_open(path, conf, &lg, err, sizeof err) == ALOG_OK, err);
    alog_conf_free(conf);
    if (!lg) return 1;

    EXPECT(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "i=%d u=%u z=%zu d=%.2f s=%s a=%s c=%c e=%d v=%d", -3, u,
                     z, 2.5, "text", array, 'x', e, *vp) == ALOG_OK,
           "ALOG_LOGF with many types");
#pragma GCC diagnostic push /* GCC and Clang: the format is incomplete on purpose */
#pragma GCC diagnostic ignored "-Wformat"
    /* printf("100%") in a format: the text as written, not an error. */
    EXPECT(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "100%") == ALOG_OK, "ALOG_LOGF(\"100%\")");
#pragma GCC diagnostic pop

    memset(&field, 0, sizeof field);
    field.key = "ok";
    field.key_len = 2;
    field.kind = ALOG_FIELD_BOOL;
    field.i64 = 1;
    memset(&rec, 0, sizeof rec);
    rec.level = ALOG_LEVEL_WARN;
    rec.msg = "done";
    rec.msg_len = 4;
    rec.fields = &field;
    rec.n_fields = 1;
    /* Reserved members must be zero: room to grow means refusing what a later version may use. */
    rec.reserved[3] = 1;
    EXPECT(alog_write_record(lg, &rec) == ALOG_ERR_INVALID, "alog_record.reserved != 0 accepted");
    rec.reserved[3] = 0;
    field.reserved = 1;
    EXPECT(alog_write_record(lg, &rec) == ALOG_ERR_INVALID, "alog_field.reserved != 0 accepted");
    field.reserved = 0;
    EXPECT(alog_write_record(lg, &rec) == ALOG_OK, "alog_write_record");
    EXPECT(alog_close(lg, ALOG_TIMEOUT_INFINITE) == ALOG_OK, "alog_close");

    for (code = ALOG_OK; code <= ALOG_ERR_TOO_LARGE; code++) {
        static const char *const names[] = {"ALOG_OK", "ALOG_ERR_NULL", "ALOG_ERR_INVALID",
                                            "ALOG_ERR_FULL", "ALOG_ERR_TIMEOUT", "ALOG_ERR_CLOSED",
                                            "ALOG_ERR_IO", "ALOG_ERR_PANIC", "ALOG_ERR_TOO_LARGE"};
        EXPECT(strcmp(alog_result_name(code), names[code]) == 0, names[code]);
    }
    EXPECT(strcmp(alog_result_name(99), "ALOG_ERR_UNKNOWN") == 0, "alog_result_name(99)");
    EXPECT(sizeof(alog_site) == 88, "sizeof(alog_site)");
    EXPECT(sizeof(alog_record) == 120 && sizeof(alog_field) == 64, "struct sizes");

    /* The environment applies over the conf: ALOG_LEVEL, and ALOG_CONF_<KEY> for any key. */
    {
        alog_logger *env_lg = NULL;
        alog_conf *c = alog_conf_new();
        char env_path[4200];
        snprintf(env_path, sizeof env_path, "%s/env.log", argv[1]);
        EXPECT(alog_conf_set(c, "level", "debug", err, sizeof err) == ALOG_OK, err);
        setenv("ALOG_LEVEL", "warn", 1);
        setenv("ALOG_CONF_QUEUE_CAPACITY", "64", 1);
        EXPECT(alog_open(env_path, c, &env_lg, err, sizeof err) == ALOG_OK, err);
        EXPECT(env_lg && !alog_level_enabled(env_lg, ALOG_LEVEL_INFO) &&
                   alog_level_enabled(env_lg, ALOG_LEVEL_WARN),
               "ALOG_LEVEL=warn not applied over level=debug");
        if (env_lg) {
            alog_stats es;
            EXPECT(alog_get_stats(env_lg, &es) == ALOG_OK && es.queue_capacity == 64,
                   "ALOG_CONF_QUEUE_CAPACITY=64 not applied");
            alog_close(env_lg, ALOG_TIMEOUT_INFINITE);
        }
        setenv("ALOG_CONF_QUEUE_CAPACTY", "8", 1);
        env_lg = NULL;
        EXPECT(alog_open(env_path, c, &env_lg, err, sizeof err) == ALOG_ERR_INVALID && env_lg == NULL,
               "a misspelt ALOG_CONF_ variable accepted");
        EXPECT(strstr(err, "environment variable ALOG_CONF_QUEUE_CAPACTY") != NULL, err);
        unsetenv("ALOG_LEVEL");
        unsetenv("ALOG_CONF_QUEUE_CAPACITY");
        unsetenv("ALOG_CONF_QUEUE_CAPACTY");
        alog_conf_free(c);
    }

    /* A message longer than the buffer says how much it needs; that size then holds it. */
    {
        char longpath[700];
        char big[1024];
        alog_logger *none = NULL;
        const char *mark;
        unsigned long need = 0;
        memset(longpath, 'd', sizeof longpath);
        memcpy(longpath, "/proc/self/", 11); /* nothing can be created under /proc/self */
        longpath[sizeof longpath - 1] = '\0';
        EXPECT(alog_open(longpath, NULL, &none, err, sizeof err) == ALOG_ERR_IO, "open under /proc/self");
        mark = strstr(err, "... [");
        EXPECT(strlen(err) == sizeof err - 1 && mark != NULL && sscanf(mark, "... [%lu bytes]", &need) == 1,
               err);
        EXPECT(need > sizeof err && need <= sizeof big, "needed size out of range");
        if (need > sizeof err && need <= sizeof big) {
            EXPECT(alog_open(longpath, NULL, &none, big, need) == ALOG_ERR_IO, "open under /proc/self");
            EXPECT(strlen(big) == need - 1 && strstr(big, "... [") == NULL, big);
        }
    }

    f = fopen(path, "r");
    EXPECT(f != NULL, "log file missing");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, " source=")) *strstr(line, " source=") = '\0'; /* ALOG_LOGF's call site */
        if (n < sizeof want / sizeof want[0]) {
            if (strcmp(line, want[n]) != 0) {
                fprintf(stderr, "line %zu: got  %s\n         want %s\n", n + 1, line, want[n]);
                failures++;
            }
        }
        n++;
    }
    if (f) fclose(f);
    EXPECT(n == sizeof want / sizeof want[0], "line count");
    if (failures == 0) printf("header: ok\n");
    return failures ? 1 : 0;
}
