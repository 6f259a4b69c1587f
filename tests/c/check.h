/* Shared helpers for the alog C tests: assertions, temp dirs, file reading,
 * timestamp shape and a small JSON validator. Include this first. */
#ifndef ALOG_TEST_CHECK_H
#define ALOG_TEST_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"

/* ---------------------------------------------------------------- asserts */

/* Where failures are reported: stderr, unless a test redirects stderr. */
static int check_fd = 2;

static inline __attribute__((noreturn)) void check_fail(const char *file, int line,
                                                        const char *expr, const char *fmt, ...)
{
    va_list ap;
    fflush(NULL);
    dprintf(check_fd, "FAIL %s:%d: %s\n  ", file, line, expr);
    va_start(ap, fmt);
    vdprintf(check_fd, fmt, ap);
    va_end(ap);
    dprintf(check_fd, "\n");
    _exit(1); /* no atexit work: leak reports of a failed test are noise */
}

/* CHECK(cond, "printf format", args...) */
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond))                                                       \
            check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);            \
    } while (0)

#define CHECK_RC(expr, want)                                               \
    do {                                                                   \
        alog_result check_rc_ = (expr);                                    \
        alog_result check_want_ = (want);                                  \
        if (check_rc_ != check_want_)                                      \
            check_fail(__FILE__, __LINE__, #expr,                          \
                       "returned %d (%s), expected %d (%s)",               \
                       (int)check_rc_, alog_result_str(check_rc_),         \
                       (int)check_want_, alog_result_str(check_want_));    \
    } while (0)

#define CHECK_U64(got, want)                                               \
    do {                                                                   \
        uint64_t check_g_ = (uint64_t)(got), check_w_ = (uint64_t)(want);  \
        if (check_g_ != check_w_)                                          \
            check_fail(__FILE__, __LINE__, #got " == " #want,              \
                       "got %" PRIu64 ", expected %" PRIu64,               \
                       check_g_, check_w_);                                \
    } while (0)

#define CHECK_STR(got, want)                                               \
    do {                                                                   \
        const char *check_g_ = (got), *check_w_ = (want);                  \
        if (strcmp(check_g_, check_w_) != 0)                               \
            check_fail(__FILE__, __LINE__, #got " == " #want,              \
                       "got      [%s]\n  expected [%s]", check_g_,         \
                       check_w_);                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                        \
    do {                                                                   \
        const char *check_h_ = (hay), *check_n_ = (needle);                \
        if (strstr(check_h_, check_n_) == NULL)                            \
            check_fail(__FILE__, __LINE__, #hay " contains " #needle,      \
                       "[%s]\n  does not contain [%s]", check_h_,          \
                       check_n_);                                          \
    } while (0)

/* Fails the test on any error from a libc call returning -1 / NULL. */
#define CHECK_SYS(cond)                                                    \
    CHECK(cond, "system call failed: %s", strerror(errno))

/* ---------------------------------------------------------------- config */

static inline void conf_set_ok(alog_conf *conf, const char *key,
                               const char *value)
{
    char err[256] = "";
    alog_result rc = alog_conf_set(conf, key, value, err, sizeof err);
    if (rc != ALOG_OK)
        check_fail(__FILE__, __LINE__, "alog_conf_set",
                   "%s=%s returned %d (%s): %s", key, value, (int)rc,
                   alog_result_str(rc), err);
}

/* Opens a logger; on failure prints the errstr and exits. */
static inline alog_logger *open_ok(const char *path, const alog_conf *conf)
{
    char err[512] = "";
    alog_logger *lg = NULL;
    alog_result rc = alog_open(path, conf, &lg, err, sizeof err);
    if (rc != ALOG_OK || lg == NULL)
        check_fail(__FILE__, __LINE__, "alog_open",
                   "path %s returned %d (%s): %s", path ? path : "(null)",
                   (int)rc, alog_result_str(rc), err);
    return lg;
}

/* Opens a logger with "key", "value" pairs ending in NULL; on failure prints why and exits. */
static inline alog_logger *open_with(const char *path, ...)
{
    alog_conf *conf = alog_conf_new();
    va_list ap;
    va_start(ap, path);
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;)
        conf_set_ok(conf, key, va_arg(ap, const char *));
    va_end(ap);
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);
    return lg;
}

static inline alog_result write_str(alog_logger *lg, int32_t level,
                                    const char *msg)
{
    return alog_write(lg, level, msg, strlen(msg));
}

static inline alog_stats stats_of(const alog_logger *lg)
{
    alog_stats st;
    memset(&st, 0xAB, sizeof st);
    CHECK_RC(alog_get_stats(lg, &st), ALOG_OK);
    return st;
}

/* ---------------------------------------------------------------- files */

/* Creates a fresh directory under $TMPDIR (or /tmp); returns malloc'd path. */
static inline char *make_tmpdir(const char *name)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    CHECK_SYS(asprintf(&path, "%s/alog-%s-XXXXXX", base, name) >= 0);
    CHECK_SYS(mkdtemp(path) != NULL);
    return path;
}

static inline int rmtree_one(const char *path, const struct stat *sb,
                             int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static inline void remove_tmpdir(char *path)
{
    CHECK(nftw(path, rmtree_one, 16, FTW_DEPTH | FTW_PHYS) == 0,
          "cannot remove %s: %s", path, strerror(errno));
    free(path);
}

static inline char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    CHECK_SYS(asprintf(&p, "%s/%s", dir, name) >= 0);
    return p;
}

/* All lines of a (small) file, without their '\n'. Each line is
 * NUL-terminated and its byte length is kept, so stray NULs are visible. */
typedef struct lines {
    char **v;
    size_t *len;
    size_t n;
    int last_has_newline; /* 0 if the file ends with an unterminated line */
} lines;

static inline lines read_lines(const char *path)
{
    lines ls = {NULL, NULL, 0, 1};
    size_t cap = 0;
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        char *buf = NULL;
        size_t bcap = 0;
        ssize_t n = getline(&buf, &bcap, f);
        if (n < 0) {
            free(buf);
            break;
        }
        if (ls.n == cap) {
            cap = cap ? cap * 2 : 16;
            ls.v = realloc(ls.v, cap * sizeof *ls.v);
            ls.len = realloc(ls.len, cap * sizeof *ls.len);
            CHECK(ls.v && ls.len, "out of memory");
        }
        if (n > 0 && buf[n - 1] == '\n')
            buf[--n] = '\0';
        else
            ls.last_has_newline = 0;
        ls.v[ls.n] = buf;
        ls.len[ls.n] = (size_t)n;
        ls.n++;
    }
    fclose(f);
    return ls;
}

static inline void free_lines(lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i]);
    free(ls->v);
    free(ls->len);
    memset(ls, 0, sizeof *ls);
}

static inline void dump_lines(const char *what, const lines *ls)
{
    fprintf(stderr, "--- %s (%zu lines)\n", what, ls->n);
    for (size_t i = 0; i < ls->n && i < 40; i++)
        fprintf(stderr, "%3zu: %s\n", i, ls->v[i]);
}

/* Checks the line count and that every line is a complete, NUL-free line. */
#define CHECK_LINES(ls, want)                                              \
    do {                                                                   \
        if ((ls).n != (size_t)(want))                                      \
            dump_lines(#ls, &(ls));                                        \
        CHECK((ls).n == (size_t)(want), "%s: %zu lines, expected %zu",     \
              #ls, (ls).n, (size_t)(want));                                \
        CHECK((ls).last_has_newline, "last line has no trailing newline"); \
        for (size_t cl_i_ = 0; cl_i_ < (ls).n; cl_i_++)                    \
            CHECK(strlen((ls).v[cl_i_]) == (ls).len[cl_i_],                \
                  "line %zu contains a NUL byte", cl_i_);                  \
    } while (0)

/* ---------------------------------------------------------------- time */

#define TS_LEN 27 /* YYYY-MM-DDTHH:MM:SS.ffffffZ */

/* 1 if s starts with an RFC 3339 UTC timestamp with microseconds. */
static inline int is_ts(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    for (size_t i = 0; i < TS_LEN; i++) {
        if (shape[i] == 'd') {
            if (!isdigit((unsigned char)s[i]))
                return 0;
        } else if (s[i] != shape[i]) {
            return 0;
        }
    }
    return 1;
}

/* Seconds since the epoch of a timestamp of the shape above. */
static inline time_t ts_seconds(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    CHECK(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6,
          "bad timestamp %.27s", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Kills the test with a clear message if it runs longer than `seconds`
 * (a deadlock). alarm() is not inherited by fork()ed children. */
static const char *watchdog_name = "test";

static inline void watchdog_fire(int sig)
{
    static const char msg[] = "FAIL watchdog: timed out (deadlock?) in ";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0 ||
        write(2, watchdog_name, strlen(watchdog_name)) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(3);
    _exit(3);
}

static inline void watchdog(unsigned seconds, const char *name)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watchdog_fire;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    watchdog_name = name;
    alarm(seconds);
}

/* ---------------------------------------------------------------- JSON */

/* A strict validator for one JSON value (RFC 8259, UTF-8 checked). */

static inline const char *json_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Length of a valid UTF-8 sequence at p, 0 if invalid. */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *e)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(e - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static inline const char *json_string(const char *p, const char *e)
{
    if (p >= e || *p != '"')
        return NULL;
    p++;
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= e)
                return NULL;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (p + i >= e || !isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 5;
            } else if (strchr("\"\\/bfnrt", *p) != NULL && *p != '\0') {
                p++;
            } else {
                return NULL;
            }
            continue;
        }
        size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)e);
        if (n == 0)
            return NULL;
        p += n;
    }
    return NULL;
}

static inline const char *json_number(const char *p, const char *e)
{
    if (p < e && *p == '-')
        p++;
    if (p >= e || !isdigit((unsigned char)*p))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < e && isdigit((unsigned char)*p))
            p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !isdigit((unsigned char)*p))
            return NULL;
        while (p < e && isdigit((unsigned char)*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !isdigit((unsigned char)*p))
            return NULL;
        while (p < e && isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

static inline const char *json_value(const char *p, const char *e, int depth)
{
    if (depth > 64)
        return NULL;
    p = json_ws(p, e);
    if (p >= e)
        return NULL;
    if (*p == '"')
        return json_string(p, e);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = json_ws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = json_string(json_ws(p, e), e);
                if (p == NULL)
                    return NULL;
                p = json_ws(p, e);
                if (p >= e || *p != ':')
                    return NULL;
                p++;
            }
            p = json_value(p, e, depth + 1);
            if (p == NULL)
                return NULL;
            p = json_ws(p, e);
            if (p < e && *p == ',') {
                p++;
                continue;
            }
            if (p < e && *p == close)
                return p + 1;
            return NULL;
        }
    }
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(e - p) >= n && memcmp(p, words[i], n) == 0)
            return p + n;
    }
    return json_number(p, e);
}

/* 1 if [s, s+len) is exactly one JSON object (surrounding spaces allowed). */
static inline int json_valid_object(const char *s, size_t len)
{
    const char *e = s + len;
    const char *p = json_ws(s, e);
    if (p >= e || *p != '{')
        return 0;
    p = json_value(p, e, 0);
    return p != NULL && json_ws(p, e) == e;
}

#define CHECK_JSON(line, len)                                              \
    CHECK(json_valid_object((line), (len)), "not a valid JSON object: [%s]", \
          (line))

#endif
