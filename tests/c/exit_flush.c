/* A program that returns from main without alog_close still gets every record it logged:
 * alog flushes open loggers at exit. The check runs in a parent process that forks the
 * "application" (before any logger exists) and reads its file after it has exited. */
#include "check.h"

#include <sys/wait.h>

#define RECORDS 20000

/* Applications that never close their logger usually keep it in a global: reachable at exit
 * (leak checkers then report no lost memory). */
static alog_logger *volatile app_logger; /* volatile: the stores must stay */

static int application(const char *path)
{
    alog_conf *conf = alog_conf_new();
    /* A batch that never fills and a timeout longer than the program's life: without the
     * exit flush nothing would be written. */
    conf_set_ok(conf, "batch_size", "8192");
    conf_set_ok(conf, "queue_capacity", "32768");
    conf_set_ok(conf, "batch_timeout_ms", "3600000");
    alog_logger *lg = app_logger = open_ok(path, conf);
    alog_conf_free(conf);
    char msg[64];
    for (int i = 0; i < RECORDS; i++) {
        int n = snprintf(msg, sizeof msg, "record %d", i);
        CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)n), ALOG_OK);
    }
    return 0; /* no alog_close: exit() runs alog's exit hook */
}

/* A sink that ends the process from inside alog: exit() runs alog's exit hook on the writer
 * thread (async) or with the sinks' lock held (sync); neither may wait for itself. */
static void exit_from_sink(void *ud, int32_t level, const char *line, size_t len)
{
    (void)ud, (void)level;
    if (len >= 3 && strcmp(line + len - 3, "bye") == 0)
        exit(42);
}

static int exiting_sink(const char *path, const char *sync)
{
    signal(SIGALRM, SIG_DFL); /* not the parent's watchdog: a deadlock must die of SIGALRM */
    alarm(20);
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "sync", sync);
    CHECK_RC(alog_conf_add_callback(conf, exit_from_sink, NULL, 0, NULL, NULL, 0), ALOG_OK);
    alog_logger *lg = app_logger = open_ok(path, conf);
    alog_conf_free(conf);
    write_str(lg, ALOG_LEVEL_INFO, "hello");
    write_str(lg, ALOG_LEVEL_INFO, "bye");
    alog_flush(lg, ALOG_TIMEOUT_INFINITE);
    sleep_ms(10000);
    return 0;
}

static void run_child(int (*fn)(const char *, const char *), const char *path, const char *arg,
                      int want)
{
    pid_t pid = fork();
    CHECK_SYS(pid >= 0);
    if (pid == 0)
        exit(fn(path, arg));
    int status = 0;
    CHECK_SYS(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == want,
          "child (%s) ended with status %#x, expected exit(%d)", arg, status, want);
}

static int application_entry(const char *path, const char *unused)
{
    (void)unused;
    return application(path);
}

int main(void)
{
    watchdog(60, "exit_flush");
    char *dir = make_tmpdir("exit_flush");
    char *path = path_join(dir, "app.log");
    run_child(application_entry, path, "returns from main", 0);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, RECORDS);
    for (size_t i = 0; i < ls.n; i++) {
        char want[64];
        snprintf(want, sizeof want, " INFO record %zu", i);
        CHECK(strcmp(ls.v[i] + TS_LEN, want) == 0, "line %zu: [%s]", i, ls.v[i]);
    }
    free_lines(&ls);

    char *path2 = path_join(dir, "sink.log");
    /* The hook must not wait for the writer it runs on (that would cost its 2 s timeout). */
    double t0 = now_ms();
    run_child(exiting_sink, path2, "false", 42);
    CHECK(now_ms() - t0 < 1500, "exit() from an async sink took %.0f ms", now_ms() - t0);
    run_child(exiting_sink, path2, "true", 42);
    free(path2);
    free(path);
    remove_tmpdir(dir);
    printf("exit_flush: ok (%d records written by the exit hook; exit() from a sink, async "
           "and sync, does not hang)\n", RECORDS);
    return 0;
}
