/* fork() with an open logger. The child logs through the inherited logger
 * and closes it; the parent goes on. Every record must reach the file exactly
 * once (the child must not write the parent's queued records, nor lose its
 * own) and nothing may deadlock (a watchdog alarm fails the test).
 *
 * 1. quiet:  records still queued at fork time (the writer is waiting for a
 *            batch), one child.
 * 2. busy:   two threads log nonstop while the main thread forks children,
 *            so fork() hits the logger's locks in every state.
 * 3. sites:  a thread registers new ALOG_LOGF call sites nonstop while the main
 *            thread forks; each child registers a site of its own, which would
 *            hang on a registry lock held by the vanished thread (skipped with the
 *            argument "no-sites"). */
#include "check.h"

#include <sys/wait.h>

/* Writers are named "<name> <seq>" in the messages. */
struct writer {
    char name[24];
    long expected; /* -1: whatever the writer reports in `count` */
    long count;
    long next; /* next seq expected while reading the file */
};

static void log_range(alog_logger *lg, const char *who, long n)
{
    char msg[64];
    for (long i = 0; i < n; i++) {
        int len = snprintf(msg, sizeof msg, "%s %ld", who, i);
        alog_result rc = alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)len);
        CHECK(rc == ALOG_OK, "[pid %d] write of \"%s\" returned %d (%s)", (int)getpid(),
              msg, (int)rc, alog_result_str(rc));
    }
}

/* Forks a child that logs `n` records as `who`, closes the logger, exits. */
static pid_t spawn_child(alog_logger *lg, const char *who, long n)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid >= 0);
    if (pid == 0) {
        watchdog(60, "fork (child)"); /* alarms are not inherited */
        log_range(lg, who, n);
        CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
        alog_stats st = stats_of(lg);
        CHECK_U64(st.submitted, n); /* the parent's records are not the child's */
        CHECK_U64(st.written, n);
        exit(0);
    }
    return pid;
}

static void wait_child(pid_t pid)
{
    int status;
    CHECK_SYS(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "child %d failed (status 0x%x, see its message above)", (int)pid, status);
}

/* Every writer's records appear exactly once, in order. */
static void verify(const char *path, struct writer *ws, size_t n)
{
    long total = 0;
    lines ls = read_lines(path);
    for (size_t w = 0; w < n; w++) {
        ws[w].next = 0;
        if (ws[w].expected >= 0)
            ws[w].count = ws[w].expected;
        total += ws[w].count;
    }
    for (size_t i = 0; i < ls.n; i++) {
        char who[24];
        int used = 0;
        long seq;
        size_t w;
        const char *l = ls.v[i];
        CHECK(is_ts(l) && strncmp(l + TS_LEN, " INFO ", 6) == 0 &&
                  sscanf(l + TS_LEN + 6, "%23s %ld%n", who, &seq, &used) == 2 &&
                  l[TS_LEN + 6 + used] == '\0',
              "line %zu is malformed: [%s]", i, l);
        for (w = 0; w < n && strcmp(who, ws[w].name) != 0; w++)
            ;
        CHECK(w < n, "line %zu: unknown writer: [%s]", i, l);
        CHECK(seq == ws[w].next, "line %zu: \"%s %ld\", expected \"%s %ld\" (%s)", i, who,
              seq, who, ws[w].next, seq < ws[w].next ? "written twice" : "records missing");
        ws[w].next++;
    }
    for (size_t w = 0; w < n; w++)
        CHECK(ws[w].next == ws[w].count, "%ld of %ld \"%s\" records in the file",
              ws[w].next, ws[w].count, ws[w].name);
    CHECK_LINES(ls, total);
    free_lines(&ls);
}

static void test_quiet(const char *dir)
{
    enum { PRE = 2000, CHILD = 500, POST = 500 };
    char *path = path_join(dir, "quiet.log");
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "console", "none");
    /* The writer waits for 4096 records or 2 s: PRE stays queued at fork. */
    conf_set_ok(conf, "batch_size", "4096");
    conf_set_ok(conf, "batch_timeout_ms", "2000");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    log_range(lg, "pre", PRE);
    alog_stats st = stats_of(lg);
    if (st.written != 0)
        printf("fork: note: %" PRIu64 " records written before fork\n", st.written);
    pid_t pid = spawn_child(lg, "child", CHILD);
    log_range(lg, "post", POST);
    wait_child(pid);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    st = stats_of(lg);
    CHECK_U64(st.submitted, PRE + POST);
    CHECK_U64(st.written, PRE + POST);
    struct writer ws[] = {{"pre", PRE, 0, 0}, {"child", CHILD, 0, 0}, {"post", POST, 0, 0}};
    verify(path, ws, 3);
    free(path);
}

struct busy {
    pthread_t tid;
    alog_logger *lg;
    struct writer *w;
    int *stop;
};

static void *busy_main(void *arg)
{
    struct busy *b = arg;
    char msg[64];
    while (!__atomic_load_n(b->stop, __ATOMIC_ACQUIRE)) {
        int len = snprintf(msg, sizeof msg, "%s %ld", b->w->name, b->w->count);
        alog_result rc = alog_write(b->lg, ALOG_LEVEL_INFO, msg, (size_t)len);
        CHECK(rc == ALOG_OK, "write of \"%s\" returned %d (%s)", msg, (int)rc,
              alog_result_str(rc));
        b->w->count++;
    }
    return NULL;
}

static void test_busy(const char *dir)
{
    enum { BUSY = 2, CHILDREN = 5, CHILD = 200 };
    char *path = path_join(dir, "busy.log");
    struct writer ws[BUSY + CHILDREN];
    struct busy bs[BUSY];
    int stop = 0;
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "console", "none");
    conf_set_ok(conf, "queue_capacity", "1024");
    conf_set_ok(conf, "batch_size", "64");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    memset(ws, 0, sizeof ws);
    for (int i = 0; i < BUSY; i++) {
        snprintf(ws[i].name, sizeof ws[i].name, "busy%d", i);
        ws[i].expected = -1;
        bs[i] = (struct busy){0, lg, &ws[i], &stop};
        CHECK(pthread_create(&bs[i].tid, NULL, busy_main, &bs[i]) == 0, "pthread_create");
    }
    for (int k = 0; k < CHILDREN; k++) {
        struct writer *w = &ws[BUSY + k];
        snprintf(w->name, sizeof w->name, "child%d", k);
        w->expected = CHILD;
        sleep_ms(20);
        wait_child(spawn_child(lg, w->name, CHILD));
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < BUSY; i++)
        pthread_join(bs[i].tid, NULL);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    long parent_total = 0;
    for (int i = 0; i < BUSY; i++)
        parent_total += ws[i].count;
    CHECK_U64(stats_of(lg).written, parent_total);
    verify(path, ws, BUSY + CHILDREN);
    printf("fork: busy: %ld records from the busy threads, %d children\n",
           parent_total, CHILDREN);
    free(path);
}

static volatile int sites_stop;

/* The call sites the registrar brings into use, one new site per iteration (static, as
 * ALOG_LOGF's are: a child forked mid-iteration holds no half-used heap block). */
enum { N_SITES = 20000 };
static alog_site sites[N_SITES];

static void *site_registrar(void *arg)
{
    alog_logger *lg = arg;
    alog_arg one = {.i = 1};
    for (int n = 0; n < N_SITES && !sites_stop; n++) {
        alog_site *site = &sites[n];
        site->fmt = "registered %d";
        site->file = __FILE__;
        site->func = __func__;
        site->line = __LINE__;
        if (alog_site_prepare(site) == ALOG_SITE_DEFERRED) {
            alog_result rc = alog_logf_args(lg, site, ALOG_LEVEL_INFO, &one, 1);
            CHECK(rc == ALOG_OK || rc == ALOG_ERR_FULL, "alog_logf_args: %s", alog_result_str(rc));
        }
    }
    return NULL;
}

static void test_sites(const char *dir)
{
    char *path = path_join(dir, "sites.log");
    alog_logger *lg = open_with(path, "console", "none", "overflow", "drop_newest", NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, site_registrar, lg) == 0, "pthread_create");
    for (int i = 0; i < 40; i++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK_SYS(pid >= 0);
        if (pid == 0) {
            watchdog(10, "fork (child registering a site)");
            CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "child %d %s", i, "here"), ALOG_OK);
            CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
            exit(0);
        }
        wait_child(pid);
    }
    sites_stop = 1;
    pthread_join(t, NULL);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    free(path);
}

int main(int argc, char **argv)
{
    const int sites = !(argc > 1 && strcmp(argv[1], "no-sites") == 0);
    char *dir = make_tmpdir("fork");
    watchdog(120, "fork (parent)");
    test_quiet(dir);
    printf("fork: quiet ok\n");
    test_busy(dir);
    printf("fork: busy ok\n");
    if (sites) {
        test_sites(dir);
        printf("fork: sites ok\n");
    }
    remove_tmpdir(dir);
    printf("fork: ok\n");
    return 0;
}
