/* fork() while a logger is open and records are still queued. The child
 * logs through the inherited logger and closes it; the parent goes on. Every
 * record must reach the file exactly once, and nothing may deadlock. */
#include "check.h"

#include <sys/wait.h>

#define PRE 2000  /* logged before fork, some probably still queued */
#define CHILD 500 /* logged by the child */
#define POST 500  /* logged by the parent after fork */

static void log_range(alog_logger *lg, const char *who, int n)
{
    char msg[64];
    for (int i = 0; i < n; i++) {
        int len = snprintf(msg, sizeof msg, "%s %d", who, i);
        alog_result rc = alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)len);
        CHECK(rc == ALOG_OK, "[pid %d] write of \"%s\" returned %d (%s)", (int)getpid(),
              msg, (int)rc, alog_result_str(rc));
    }
}

static void child(alog_logger *lg)
{
    watchdog(60, "fork (child)"); /* alarms are not inherited */
    log_range(lg, "child", CHILD);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    exit(0);
}

/* Counts "<who> <i>" records; each must appear once, in order per writer. */
static void verify(const char *path)
{
    static const struct {
        const char *who;
        int n;
    } writers[] = {{"pre", PRE}, {"child", CHILD}, {"post", POST}};
    int next[3] = {0, 0, 0};
    lines ls = read_lines(path);
    for (size_t i = 0; i < ls.n; i++) {
        char who[16];
        int seq, used = 0, w;
        const char *l = ls.v[i];
        CHECK(is_ts(l) && strncmp(l + TS_LEN, " INFO ", 6) == 0 &&
                  sscanf(l + TS_LEN + 6, "%15s %d%n", who, &seq, &used) == 2 &&
                  l[TS_LEN + 6 + used] == '\0',
              "line %zu is malformed: [%s]", i, l);
        for (w = 0; w < 3 && strcmp(who, writers[w].who) != 0; w++)
            ;
        CHECK(w < 3, "line %zu: unknown writer: [%s]", i, l);
        CHECK(seq == next[w], "line %zu: \"%s %d\", expected \"%s %d\" (%s)", i, who, seq,
              who, next[w], seq < next[w] ? "written twice" : "records missing");
        CHECK(w != 2 || next[0] == PRE, "line %zu: post-fork record before the "
              "pre-fork ones", i);
        next[w]++;
    }
    for (int w = 0; w < 3; w++)
        CHECK(next[w] == writers[w].n, "%d of %d \"%s\" records in the file", next[w],
              writers[w].n, writers[w].who);
    CHECK_LINES(ls, PRE + CHILD + POST);
    free_lines(&ls);
}

int main(void)
{
    char *dir = make_tmpdir("fork");
    char *path = path_join(dir, "fork.log");
    watchdog(60, "fork (parent)");
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "console", "none");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    log_range(lg, "pre", PRE);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid >= 0);
    if (pid == 0)
        child(lg);

    log_range(lg, "post", POST);
    int status;
    CHECK_SYS(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "child failed (status 0x%x, see its message above)", status);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, PRE + POST);
    CHECK_U64(st.written, PRE + POST);
    verify(path);
    free(path);
    remove_tmpdir(dir);
    printf("fork: ok\n");
    return 0;
}
