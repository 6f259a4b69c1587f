/* The edges of a process's life (issue 13):
 *   handler  signal handlers log (alog_write and ALOG_LOGF) while the threads they interrupt
 *            log into a small, full queue under overflow=block: nothing hangs, and every
 *            record is accounted for (lines == calls that returned ALOG_OK; the handler's
 *            refusals are counted as dropped).
 *   fatal    flush_on=fatal: a FATAL record and everything before it is written before the
 *            call returns, so abort() right after it loses nothing (10 runs).
 *   term     flush_on_signal=term: a process killed by SIGTERM (default disposition) writes
 *            what it had queued, and still dies of SIGTERM.
 *   crash    flush_on_signal=crash: a segfault writes what was queued and still dies of
 *            SIGSEGV.
 *   own      a handler the application installed first is left in place.
 *   inside   a handler interrupting its own thread's log call, with room in the queue,
 *            loses nothing: every handler record is written, none refused (a claim on the
 *            queue that only its thread may advance, without the compare-and-swap, fails
 *            this: the handler cannot claim past the call it interrupted).
 * Children that must die are forked; the parent reads their files.
 *
 * usage: signals [handler|fatal|term|crash|own|inside]...   (default: all) */
#include "check.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* ---------------------------------------------------------------- handler */

#define THREADS 3
#define PER_THREAD 20000
#define SIGNALS 20000

static alog_logger *handler_lg;
static atomic_ulong h_ok, h_refused, h_other;

static void count(alog_result rc)
{
    if (rc == ALOG_OK)
        atomic_fetch_add(&h_ok, 1);
    else if (rc == ALOG_ERR_FULL)
        atomic_fetch_add(&h_refused, 1);
    else
        atomic_fetch_add(&h_other, 1);
}

/* Called once outside any handler first, so that the ALOG_LOGF site is registered (a site's
 * first call allocates; see alog.h on async-signal safety). */
static void log_from_handler(int sig)
{
    count(ALOG_LOGF(handler_lg, ALOG_LEVEL_WARN, "handler logf sig=%d", sig));
}

static void on_usr1(int sig)
{
    int saved = errno;
    static const char msg[] = "handler write";
    count(alog_write(handler_lg, ALOG_LEVEL_WARN, msg, sizeof msg - 1));
    log_from_handler(sig);
    errno = saved;
}

/* Zeroes the handler's counters and installs on_usr1 for SIGUSR1. */
static void arm_usr1(void)
{
    atomic_store(&h_ok, 0);
    atomic_store(&h_refused, 0);
    atomic_store(&h_other, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    CHECK_SYS(sigaction(SIGUSR1, &sa, NULL) == 0);
}

typedef struct {
    int id;
    int blocking;
    unsigned long ok;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    char msg[64];
    for (int i = 0; i < PER_THREAD; i++) {
        int n = snprintf(msg, sizeof msg, "thread %d record %d", p->id, i);
        alog_result rc = alog_write(handler_lg, ALOG_LEVEL_INFO, msg, (size_t)n);
        CHECK(rc == ALOG_OK || (!p->blocking && rc == ALOG_ERR_FULL), "thread %d record %d: %s",
              p->id, i, alog_result_str(rc));
        p->ok += rc == ALOG_OK;
    }
    return NULL;
}

static void test_handler(const char *dir, const char *overflow)
{
    char name[64];
    snprintf(name, sizeof name, "handler-%s.log", overflow);
    char *path = path_join(dir, name);
    const int blocking = strcmp(overflow, "block") == 0;
    handler_lg = open_with(path, "console", "none", "queue_capacity", "64", "batch_size",
                           "16", "overflow", overflow, NULL);
    arm_usr1();
    log_from_handler(0); /* registers the site before any handler runs (counted in h_ok) */

    pthread_t t[THREADS];
    producer ps[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ps[i] = (producer){i, blocking, 0};
        CHECK(pthread_create(&t[i], NULL, produce, &ps[i]) == 0, "pthread_create");
    }
    /* Signals aimed at the producers (most of them are inside alog_write, many waiting for
     * room) and at the whole process. */
    for (int n = 0; n < SIGNALS; n++) {
        if (n % 10 == 9)
            CHECK_SYS(kill(getpid(), SIGUSR1) == 0);
        else if (pthread_kill(t[n % THREADS], SIGUSR1) != 0)
            break; /* that thread has finished */
        if (n % 64 == 0)
            sleep_ms(1);
    }
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
    signal(SIGUSR1, SIG_IGN);

    unsigned long threads_ok = 0;
    for (int i = 0; i < THREADS; i++)
        threads_ok += ps[i].ok;
    if (blocking)
        CHECK_U64(threads_ok, (uint64_t)THREADS * PER_THREAD);
    CHECK_RC(alog_flush(handler_lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    alog_stats st = stats_of(handler_lg);
    CHECK_U64(atomic_load(&h_other), 0);
    CHECK_U64(st.written, threads_ok + atomic_load(&h_ok));
    CHECK_U64(st.failed, 0);
    CHECK_U64(st.pending, 0);
    CHECK_U64(st.submitted, st.written + st.dropped);
    /* Every refusal is counted: a handler that would wait for room is refused instead. */
    if (blocking)
        CHECK_U64(st.dropped, atomic_load(&h_refused));
    CHECK_RC(alog_close(handler_lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, threads_ok + atomic_load(&h_ok));
    /* Each thread's records stay in its call order. */
    int next[THREADS] = {0};
    unsigned long from_handler = 0;
    for (size_t i = 0; i < ls.n; i++) {
        int id, rec;
        if (sscanf(ls.v[i] + TS_LEN, " INFO thread %d record %d", &id, &rec) == 2) {
            /* Under block every record is there; under drop_newest refusals leave gaps. */
            CHECK(id >= 0 && id < THREADS && (blocking ? rec == next[id] : rec >= next[id]),
                  "line %zu out of order: [%s]", i, ls.v[i]);
            next[id] = rec + 1;
        } else {
            CHECK(strstr(ls.v[i], " WARN handler ") != NULL, "line %zu: [%s]", i, ls.v[i]);
            from_handler++;
        }
    }
    CHECK_U64(from_handler, atomic_load(&h_ok));
    free_lines(&ls);
    printf("signals: handler (%s): %lu thread records, %lu handler records written, %lu "
           "handler records refused (dropped: %" PRIu64 ")\n",
           overflow, threads_ok, atomic_load(&h_ok), atomic_load(&h_refused), st.dropped);
    free(path);
}

/* ---------------------------------------------------------------- inside */

#define INSIDE_RECORDS 200000
#define INSIDE_SIGNALS 20000

static atomic_int inside_ready, inside_done;

static void *produce_alone(void *arg)
{
    (void)arg;
    /* The first record (it registers the ALOG_LOGF site) comes from this thread too, so that
     * one thread alone logs, the case a single-producer claim would serve; SIGUSR1 waits until
     * the site is registered (a site's first call allocates, which a handler must not
     * interrupt). */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr1, NULL) == 0, "pthread_sigmask");
    log_from_handler(0);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL) == 0, "pthread_sigmask");
    atomic_store(&inside_ready, 1);
    char msg[64];
    for (int i = 0; i < INSIDE_RECORDS; i++) {
        int n = snprintf(msg, sizeof msg, "thread 0 record %d", i);
        CHECK_RC(alog_write(handler_lg, ALOG_LEVEL_INFO, msg, (size_t)n), ALOG_OK);
    }
    atomic_store(&inside_done, 1);
    return NULL;
}

/* One thread logs flat out, so that most signals land inside its own alog_write; the
 * queue holds every record of the test, so nothing may be refused. */
static void test_inside(const char *dir)
{
    char *path = path_join(dir, "inside.log");
    handler_lg = open_with(path, "console", "none", "queue_capacity", "262144", NULL);
    atomic_store(&inside_ready, 0);
    atomic_store(&inside_done, 0);
    arm_usr1();

    pthread_t t;
    CHECK(pthread_create(&t, NULL, produce_alone, NULL) == 0, "pthread_create");
    while (!atomic_load(&inside_ready))
        sched_yield();
    /* Signals back to back while the thread logs (those that arrive while one is pending
     * merge with it): most handlers run inside the thread's alog_write. */
    int sent = 0;
    while (sent < INSIDE_SIGNALS && !atomic_load(&inside_done)) {
        int rc = pthread_kill(t, SIGUSR1);
        if (rc == ESRCH)
            break; /* it finished between the check and the signal */
        CHECK(rc == 0, "pthread_kill: %s", strerror(rc));
        sent++;
    }
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    signal(SIGUSR1, SIG_IGN);

    CHECK_RC(alog_flush(handler_lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    alog_stats st = stats_of(handler_lg);
    CHECK_U64(atomic_load(&h_other), 0);
    CHECK_U64(atomic_load(&h_refused), 0);
    CHECK_U64(st.dropped, 0);
    CHECK_U64(st.failed, 0);
    CHECK_U64(st.written, INSIDE_RECORDS + atomic_load(&h_ok));
    CHECK_RC(alog_close(handler_lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    lines ls = read_lines(path);
    /* The thread's records and every record a handler (or the first call) counted as
     * accepted. */
    CHECK_U64(ls.n, INSIDE_RECORDS + atomic_load(&h_ok));
    free_lines(&ls);
    printf("signals: inside: %d signals sent, %lu handler records written, %lu refused\n", sent,
           atomic_load(&h_ok), atomic_load(&h_refused));
    free(path);
}

/* ---------------------------------------------------------------- children */

/* Runs fn(path) in a child; returns its wait status. */
static int run_child(void (*fn)(const char *), const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid >= 0);
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(30); /* a hang dies of SIGALRM, which the checks below report */
        fn(path);
        _exit(0);
    }
    int status = 0;
    CHECK_SYS(waitpid(pid, &status, 0) == pid);
    return status;
}

static void check_lines(const char *path, int n, const char *last)
{
    lines ls = read_lines(path);
    CHECK(ls.n == (size_t)n + (last != NULL), "%s: %zu lines, expected %d", path, ls.n,
          n + (last != NULL));
    for (int i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, " INFO record %d", i);
        CHECK_STR(ls.v[i] + TS_LEN, want);
    }
    if (last != NULL)
        CHECK_STR(ls.v[n] + TS_LEN, last);
    free_lines(&ls);
}

/* A batch that never fills and a timeout longer than the test: only the mechanism under test
 * writes anything. */
static alog_logger *open_idle(const char *path, const char *key, const char *value)
{
    return open_with(path, "console", "none", "batch_size", "100000", "queue_capacity",
                     "131072", "batch_timeout_ms", "3600000", key, value, NULL);
}

static void log_records(alog_logger *lg, int n)
{
    char msg[64];
    for (int i = 0; i < n; i++) {
        int len = snprintf(msg, sizeof msg, "record %d", i);
        CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)len), ALOG_OK);
    }
}

#define FATAL_RECORDS 5

static void fatal_then_abort(const char *path)
{
    alog_logger *lg = open_idle(path, "flush_on", "fatal");
    log_records(lg, FATAL_RECORDS);
    CHECK_RC(write_str(lg, ALOG_LEVEL_FATAL, "about to abort"), ALOG_OK);
    signal(SIGABRT, SIG_DFL);
    abort();
}

static void test_fatal(const char *dir)
{
    for (int run = 0; run < 10; run++) {
        char name[32];
        snprintf(name, sizeof name, "fatal-%d.log", run);
        char *path = path_join(dir, name);
        int status = run_child(fatal_then_abort, path);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "run %d: status %#x, expected death by SIGABRT", run, status);
        check_lines(path, FATAL_RECORDS, " FATAL about to abort");
        free(path);
    }
    printf("signals: fatal: 10 of 10 runs wrote %d records and the FATAL line before abort()\n",
           FATAL_RECORDS);
}

#define TERM_RECORDS 5000

static void terminated(const char *path)
{
    alog_logger *lg = open_idle(path, "flush_on_signal", "term");
    log_records(lg, TERM_RECORDS);
    raise(SIGTERM); /* as from kill, systemd or a container runtime */
    sleep_ms(5000);
    _exit(7); /* not reached: SIGTERM's default action ends the process */
}

/* Runs fn in a child that must die of `sig` after the flush wrote its TERM_RECORDS. */
static void test_dies(const char *dir, const char *name, void (*fn)(const char *), int sig)
{
    char file[64];
    snprintf(file, sizeof file, "%s.log", name);
    char *path = path_join(dir, file);
    int status = run_child(fn, path);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: status %#x, expected death by %s",
          name, status, strsignal(sig));
    check_lines(path, TERM_RECORDS, NULL);
    free(path);
    printf("signals: %s: %d records written by the flush on %s; died of it\n", name,
           TERM_RECORDS, strsignal(sig));
}

static void crashes(const char *path)
{
    alog_logger *lg = open_idle(path, "flush_on_signal", "crash");
    log_records(lg, TERM_RECORDS);
    /* A real fault (not raise()): a store to a read-only page. */
    volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK_SYS(page != MAP_FAILED);
    page[0] = 1;
}

static void on_own_term(int sig)
{
    (void)sig;
    _exit(11);
}

static void own_handler(const char *path)
{
    signal(SIGTERM, on_own_term);
    alog_logger *lg = open_idle(path, "flush_on_signal", "term");
    log_records(lg, 10);
    raise(SIGTERM);
    _exit(7);
}

static void test_own(const char *dir)
{
    char *path = path_join(dir, "own.log");
    int status = run_child(own_handler, path);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 11,
          "status %#x, expected the application's own SIGTERM handler to _exit(11)", status);
    free(path);
    printf("signals: own: an application's SIGTERM handler stays in place\n");
}

int main(int argc, char **argv)
{
    watchdog(240, "signals");
    char *dir = make_tmpdir("signals");
    int all = argc < 2;
    for (int i = 1; i < argc || all; i++) {
        const char *what = all ? "all" : argv[i];
        int every = strcmp(what, "all") == 0;
        if (every || strcmp(what, "handler") == 0) {
            test_handler(dir, "block");
            test_handler(dir, "drop_newest");
        }
        if (every || strcmp(what, "fatal") == 0)
            test_fatal(dir);
        if (every || strcmp(what, "term") == 0)
            test_dies(dir, "term", terminated, SIGTERM);
        if (every || strcmp(what, "crash") == 0)
            test_dies(dir, "crash", crashes, SIGSEGV);
        if (every || strcmp(what, "own") == 0)
            test_own(dir);
        if (every || strcmp(what, "inside") == 0)
            test_inside(dir);
        if (all)
            break;
    }
    remove_tmpdir(dir);
    printf("signals: ok\n");
    return 0;
}
