/* ALOG_LOGF: deferred formatting renders exactly what snprintf renders, for every supported
 * conversion; formats alog does not defer fall back to the caller's thread with the same
 * output; call sites register once under concurrent first calls; errors and levels behave as
 * alog_write's. */
#include "check.h"
/* A second include (check.h has the first): everything in the header is guarded. */
#include "alog.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <wchar.h>

#define MAX_CASES 256

static char *expect[MAX_CASES];
static int expect_line[MAX_CASES];
static const char *expect_func[MAX_CASES];
static int n_cases;

static void remember(int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void remember(int line, const char *func, const char *fmt, ...)
{
    va_list ap;
    CHECK(n_cases < MAX_CASES, "too many cases");
    va_start(ap, fmt);
    CHECK(vasprintf(&expect[n_cases], fmt, ap) >= 0, "vasprintf failed");
    va_end(ap);
    expect_line[n_cases] = line;
    expect_func[n_cases] = func;
    n_cases++;
}

/* One deferred case: snprintf's text is the expectation, ALOG_LOGF must log the same, twice:
 * the site's first call registers it and fetches the arguments as the format says, the second
 * passes them packed by their C types. */
#define CASE(...)                                                              \
    do {                                                                       \
        for (int rep_ = 0; rep_ < 2; rep_++) {                                 \
            remember(__LINE__, __func__, __VA_ARGS__);                         \
            CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_INFO, __VA_ARGS__), ALOG_OK);    \
        }                                                                      \
    } while (0)

/* One case through a site the test can inspect: it must end in state `want`. */
#define SITE_CASE(want, fmt, ...)                                              \
    do {                                                                       \
        static alog_site site_ = ALOG_SITE_INIT_(fmt);                         \
        remember(__LINE__, __func__, fmt, __VA_ARGS__);                        \
        CHECK_RC(alog_logf_(lg, &site_, ALOG_LEVEL_INFO, fmt, __VA_ARGS__),    \
                 ALOG_OK);                                                     \
        CHECK(site_.state == (want), "%s: state %u, expected %u", fmt,        \
              site_.state, (unsigned)(want));                                  \
    } while (0)

static void integers(alog_logger *lg)
{
    CASE("plain text, no arguments");
    CASE("100%% sure");
    CASE("%d %i %u", 42, -42, 42u);
    CASE("[%5d][%-5d][%05d][%+d][% d][%+05d]", 42, 42, -42, 7, 7, 3);
    CASE("[%.0d][%.3d][%8.3d][%-8.3d][%.0u]", 0, -7, 5, 5, 0u);
    /* Legal C that GCC warns about: the 0 flag is ignored when a precision is given. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    CASE("[%08.3d][%-05d]", 5, 5);
#pragma GCC diagnostic pop
    CASE("%d %d %u %u", INT_MIN, INT_MAX, UINT_MAX, 0u);
    CASE("%ld %ld %lu", LONG_MIN, LONG_MAX, ULONG_MAX);
    CASE("%lld %llu %llx", LLONG_MIN, ULLONG_MAX, 0xdeadbeefcafeULL);
    CASE("%hhd %hhu %hd %hu %hhx", (signed char)-5, (unsigned char)250, (short)-300,
         (unsigned short)65535, (unsigned char)0xab);
    CASE("%zu %zd %zx", (size_t)12345678901ULL, (ptrdiff_t)-3, (size_t)255);
    CASE("%jd %ju %td", (intmax_t)INT64_MIN, (uintmax_t)UINT64_MAX, (ptrdiff_t)-99);
    CASE("%x %X %#x %#X %#x %o %#o %#o %#.0o", 255u, 255u, 255u, 255u, 0u, 8u, 8u, 0u, 0u);
    CASE("[%#10x][%-#10X][%#010x][%10.4x]", 0x1fu, 0x1fu, 0x1fu, 0x1fu);
    CASE("user %d logged in from 10.0.%d.%d in %d ms", 123456, 123456 % 256, 123456 % 100,
         123456 % 1000);
}

static void chars_and_strings(alog_logger *lg)
{
    const char *null_str = NULL;
    char long_str[600];
    memset(long_str, 'x', sizeof long_str - 1);
    long_str[sizeof long_str - 1] = '\0';
    CASE("%c%c%c [%3c][%-3c]", 'a', 'b', 'c', 'd', 'e');
    CASE("[%s][%10s][%-10s][%.2s][%10.3s][%-6.1s]", "abc", "abc", "abc", "abc", "abcdef", "xy");
    /* NULL strings: undefined in ISO C, "(null)" (or nothing, under a short precision) in
     * glibc; alog prints what glibc prints. */
#pragma GCC diagnostic push
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-overflow"
#endif
    CASE("[%s][%.3s][%.6s][%8s]", null_str, null_str, null_str, null_str);
#pragma GCC diagnostic pop
    CASE("empty [%s] [%5s]", "", "");
    CASE("utf-8: %s and %.3s", "h\xc3\xa9llo w\xc3\xb6rld", "\xc3\xa9t\xc3\xa9");
    CASE("long: %s end", long_str); /* larger than a queue slot: travels on the heap */
}

static void floats_and_pointers(alog_logger *lg)
{
    int local;
    CASE("%f %F %e %E %g %G", 3.14159, 2.5, 12345.678, 0.000123, 0.0001, 1e20);
    CASE("[%.0f][%.1f][%.2f][%.10f][%10.3f][%-10.2f][%+.1f][% .1f][%010.2f]", 2.5, 0.05, 2.675,
         1.0 / 3, -1.5, 1.5, 1.0, 1.0, -3.25);
    CASE("%g %g %g %g %#g %.3g %.10g", 100000.0, 1000000.0, 1e-5, 123.456, 1.0, 3.14159,
         2.0 / 3);
    CASE("%a %A %.2a", 1.0, -0.5, 3.0);
    CASE("%f %f %f %e %g", INFINITY, -INFINITY, NAN, -0.0, DBL_MIN);
    CASE("%.17g %e", DBL_MAX, DBL_TRUE_MIN);
    CASE("%lf %5.1lf", 1.25, 9.99);
    CASE("%p %p %20p %-20p|", (void *)&local, (void *)NULL, (void *)&local, (void *)NULL);
}

enum color { RED = 1, GREEN = 2 };

static void mixed_and_many(alog_logger *lg)
{
    CASE("%s=%d (%.1f%%) %c %p %lu", "k", -1, 99.5, 'z', (void *)0x1000, 12ul);
    /* Arguments as C passes them to printf: promoted (bool, enum, char, short, float,
     * bit-fields), const and volatile, arrays and string literals decaying to pointers,
     * unsigned values printed as signed. */
    const int ci = -7;
    const char arr[] = "array";
    char mut[] = "mutable";
    const unsigned short us = 65535;
    CASE("%d %d %d %d %u %f", (_Bool)1, GREEN, (char)-3, (short)-300, us, 1.5f);
    CASE("%d [%s] [%s] [%s] %d %hhd %x", ci, arr, mut, "literal", 4000000000u, (signed char)-1, -1);
    CASE("%lu %ld %zu %c", (unsigned long)ULONG_MAX, (long)INT_MIN - 1L, sizeof arr, 'Q');
    struct {
        unsigned u : 3;
        int i : 5;
        _Bool b : 1;
    } bits = {5, -3, 1};
    volatile int vol = 9;
    CASE("bit-fields %u %d %d, volatile %d", bits.u, bits.i, bits.b, vol);
    CASE("%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
         13, 14, 15, 16);
}

static void fallbacks(alog_logger *lg)
{
    long double ld = 1.5L;
    /* Each of these formats on the caller's thread: same text, state FALLBACK. */
    SITE_CASE(ALOG_SITE_FALLBACK, "star width [%*d]", 6, 42);
    SITE_CASE(ALOG_SITE_FALLBACK, "star precision [%.*f]", 2, 3.14159);
    SITE_CASE(ALOG_SITE_FALLBACK, "long double %Lf", ld);
    SITE_CASE(ALOG_SITE_FALLBACK, "wide %ls", L"wide");
    SITE_CASE(ALOG_SITE_FALLBACK, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4,
              5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
    /* %s with a precision reads at most that many bytes: the string need not end in NUL
     * (exactly 3 bytes on the heap, so AddressSanitizer sees any read past them). */
    char *unterminated = malloc(3);
    CHECK(unterminated != NULL, "out of memory");
    memcpy(unterminated, "abc", 3);
    SITE_CASE(ALOG_SITE_FALLBACK, "bounded [%.3s] [%.2s]", unterminated, unterminated);
    free(unterminated);
    /* And a deferred one through the same door, for contrast. */
    SITE_CASE(ALOG_SITE_DEFERRED, "deferred %d", 5);
    /* Each argument is evaluated once, on the first call and on the packed path. */
    int k = 0;
    for (int rep = 0; rep < 2; rep++) {
        remember(__LINE__ + 1, __func__, "k=%d", k);
        CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "k=%d", k++), ALOG_OK);
    }
    CHECK(k == 2, "arguments evaluated %d times in two calls", k);
    /* Arguments the format does not use are ignored, as printf ignores them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    for (int rep = 0; rep < 2; rep++) {
        remember(__LINE__ + 1, __func__, "extra %d", 1);
        CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "extra %d", 1, 2, "three"), ALOG_OK);
    }
#pragma GCC diagnostic pop
}

/* ---------------------------------------------------------------- threads racing to register */

enum { THREADS = 4, PER_THREAD = 20000 };
static alog_logger *shared_lg;
static pthread_barrier_t start;

static void *racer(void *arg)
{
    int t = (int)(intptr_t)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < PER_THREAD; i++)
        CHECK_RC(ALOG_LOGF(shared_lg, ALOG_LEVEL_INFO, "t%d i%d %s", t, i, "x"), ALOG_OK);
    return NULL;
}

static void race(const char *dir)
{
    char *path = path_join(dir, "race.log");
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "pattern", "{msg}");
    shared_lg = open_ok(path, conf);
    alog_conf_free(conf);
    pthread_t th[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, racer, (void *)(intptr_t)t) == 0, "pthread_create");
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&start);
    CHECK_RC(alog_close(shared_lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, THREADS * PER_THREAD);
    int next[THREADS] = {0};
    for (size_t k = 0; k < ls.n; k++) {
        int t, i;
        char tail[8];
        CHECK(sscanf(ls.v[k], "t%d i%d %7s", &t, &i, tail) == 3 && t >= 0 && t < THREADS,
              "line %zu: [%s]", k, ls.v[k]);
        CHECK(i == next[t], "thread %d: record %d where %d was next", t, i, next[t]);
        CHECK_STR(tail, "x");
        next[t]++;
    }
    free_lines(&ls);
    free(path);
}

/* ---------------------------------------------------------------- errors and levels */

static void errors_and_levels(const char *dir)
{
    char *path = path_join(dir, "levels.log");
    alog_logger *lg = open_with(path, "pattern", "{level} {msg}", "level", "info", NULL);

    CHECK_RC(ALOG_LOGF(NULL, ALOG_LEVEL_INFO, "n=%d", 1), ALOG_ERR_NULL);
    CHECK_RC(ALOG_LOGF(lg, 0, "n=%d", 1), ALOG_ERR_INVALID);
    /* The same from sites formatted on the caller (a * width; more than 16 arguments). */
    CHECK_RC(ALOG_LOGF(lg, 0, "n=%*d", 3, 1), ALOG_ERR_INVALID);
    CHECK_RC(ALOG_LOGF(lg, 25, "n=%*d", 3, 1), ALOG_ERR_INVALID);
    CHECK_RC(ALOG_LOGF(NULL, ALOG_LEVEL_INFO, "n=%*d", 3, 1), ALOG_ERR_NULL);
    CHECK_RC(ALOG_LOGF(lg, 0, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5,
                       6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17),
             ALOG_ERR_INVALID);
    CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_DEBUG, "hidden %d", 1), ALOG_OK);
    CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_DEBUG, "hidden fallback %*d", 3, 1), ALOG_OK);
    CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_WARN, "shown %d", 2), ALOG_OK);
    CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_ERROR, "shown fallback [%*d]", 3, 3), ALOG_OK);
    CHECK_RC(alog_flush(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, 2); /* records below the level are not counted */
    CHECK_U64(st.written, 2);
    /* A site used with the wrong number of arguments is refused, not misread. */
    static alog_site site = ALOG_SITE_INIT_("two %d %d");
    CHECK_U64(alog_site_prepare(&site), ALOG_SITE_DEFERRED);
    CHECK_U64(alog_site_prepare(&site), ALOG_SITE_DEFERRED); /* idempotent */
    alog_arg one[1] = {{.i = 1}};
    CHECK_RC(alog_logf_args(lg, &site, ALOG_LEVEL_INFO, one, 1), ALOG_ERR_INVALID);
    alog_arg three[3] = {{.i = 1}, {.i = 2}, {.i = 3}}; /* one more than it takes: ignored */
    CHECK_RC(alog_logf_args(lg, &site, ALOG_LEVEL_WARN, three, 3), ALOG_OK);
    /* A site whose alog-owned members were overwritten (integers read as a double): the
     * record is accepted, then refused by the writer and counted failed, never printed. */
    static alog_site forged = ALOG_SITE_INIT_("forged %d");
    CHECK_U64(alog_site_prepare(&forged), ALOG_SITE_DEFERRED);
    forged.word_tags[0] = 2;
    CHECK_RC(alog_logf_args(lg, &forged, ALOG_LEVEL_WARN, one, 1), ALOG_OK);
    CHECK_RC(alog_flush(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    st = stats_of(lg);
    CHECK_U64(st.failed, 1);
    CHECK_U64(st.written, 3);
    CHECK_RC(alog_logf_args(lg, NULL, ALOG_LEVEL_INFO, one, 1), ALOG_ERR_NULL);
    CHECK_RC(alog_logf_args(lg, &site, ALOG_LEVEL_INFO, NULL, 2), ALOG_ERR_NULL);
    static alog_site unprepared = ALOG_SITE_INIT_("never prepared %d");
    CHECK_RC(alog_logf_args(lg, &unprepared, ALOG_LEVEL_INFO, one, 1), ALOG_ERR_INVALID);
    CHECK_U64(alog_site_prepare(NULL), ALOG_SITE_FALLBACK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "after close %d", 1), ALOG_ERR_CLOSED);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, 3);
    CHECK_STR(ls.v[0], "WARN shown 2");
    CHECK_STR(ls.v[1], "ERROR shown fallback [  3]");
    CHECK_STR(ls.v[2], "WARN two 1 2");
    free_lines(&ls);
    free(path);
}

int main(int argc, char **argv)
{
    /* "logf sync": the same formats rendered on the caller's thread (sync mode). */
    const int sync = argc > 1 && strcmp(argv[1], "sync") == 0;
    char *dir = make_tmpdir("logf");
    char *path = path_join(dir, "logf.log");
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "pattern", "{msg}|{file}:{line}|{func}");
    if (sync)
        conf_set_ok(conf, "sync", "true");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    integers(lg);
    chars_and_strings(lg);
    floats_and_pointers(lg);
    mixed_and_many(lg);
    fallbacks(lg);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, n_cases);
    for (int i = 0; i < n_cases; i++) {
        char *want;
        CHECK(asprintf(&want, "%s|%s:%d|%s", expect[i], __FILE__, expect_line[i],
                       expect_func[i]) >= 0, "asprintf");
        CHECK_STR(ls.v[i], want);
        free(want);
        free(expect[i]);
    }
    free_lines(&ls);
    free(path);

    race(dir);
    errors_and_levels(dir);
    remove_tmpdir(dir);
    printf("logf%s: %d calls identical to snprintf (first and packed calls of each site), "
           "%d threads x %d racing calls in order\n",
           sync ? " (sync mode)" : "", n_cases, THREADS, PER_THREAD);
    return 0;
}
