/* A program that returns from main without alog_close still gets every record it logged:
 * alog flushes open loggers at exit. The check runs in a parent process that forks the
 * "application" (before any logger exists) and reads its file after it has exited. */
#include "check.h"

#include <sys/wait.h>

#define RECORDS 20000

static int application(const char *path)
{
    alog_conf *conf = alog_conf_new();
    /* A batch that never fills and a timeout longer than the program's life: without the
     * exit flush nothing would be written. */
    conf_set_ok(conf, "batch_size", "8192");
    conf_set_ok(conf, "queue_capacity", "32768");
    conf_set_ok(conf, "batch_timeout_ms", "3600000");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);
    char msg[64];
    for (int i = 0; i < RECORDS; i++) {
        int n = snprintf(msg, sizeof msg, "record %d", i);
        CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)n), ALOG_OK);
    }
    return 0; /* no alog_close: exit() runs alog's exit hook */
}

int main(void)
{
    watchdog(60, "exit_flush");
    char *dir = make_tmpdir("exit_flush");
    char *path = path_join(dir, "app.log");
    pid_t pid = fork();
    CHECK_SYS(pid >= 0);
    if (pid == 0)
        exit(application(path));
    int status = 0;
    CHECK_SYS(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "application failed, status %d", status);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, RECORDS);
    for (size_t i = 0; i < ls.n; i++) {
        char want[64];
        snprintf(want, sizeof want, " INFO record %zu", i);
        CHECK(strcmp(ls.v[i] + TS_LEN, want) == 0, "line %zu: [%s]", i, ls.v[i]);
    }
    free_lines(&ls);
    free(path);
    remove_tmpdir(dir);
    printf("exit_flush: ok (%d records written by the exit hook)\n", RECORDS);
    return 0;
}
