/* durability=mmap through the C ABI: records whose alog_write, alog_write_record or ALOG_LOGF
 * call returned ALOG_OK survive the process dying of abort(), a segfault or SIGKILL before
 * its writer wrote anything, and the next alog_open of the same path writes them, once, in
 * order, before new records, and counts them as submitted and written.
 *
 * usage: durable [abort] [segv] [kill]   (default: all three) */
#include "check.h"

#include <sys/wait.h>

#define RECORDS 3000

/* The line of the ALOG_LOGF call (set by the child, which sends it with its "ready"): its
 * records show their call site. */
static int logf_line;

static alog_logger *open_durable(const char *path)
{
    /* A batch that never fills and a timeout longer than the child's life: the writer writes
     * nothing before the child dies, so only the journal holds the records. */
    return open_with(path, "durability", "mmap", "pattern", "{msg}{fields}", "batch_size",
                     "65536", "queue_capacity", "65536", "batch_timeout_ms", "3600000",
                     (const char *)NULL);
}

/* Logs RECORDS records through the three calls, then dies as `how` says; `ready` is told
 * (the ALOG_LOGF line) when every call has returned ALOG_OK. */
static void child(const char *path, const char *how, int ready)
{
    alog_logger *lg = open_durable(path);
    for (int i = 0; i < RECORDS; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "record %d", i);
        switch (i % 3) {
        case 0:
            CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)n), ALOG_OK);
            break;
        case 1:
            logf_line = __LINE__ + 1;
            CHECK_RC(ALOG_LOGF(lg, ALOG_LEVEL_INFO, "record %d", i), ALOG_OK);
            break;
        default: {
            alog_field f;
            memset(&f, 0, sizeof f);
            f.key = "n";
            f.key_len = 1;
            f.kind = ALOG_FIELD_INT;
            f.i64 = i;
            alog_record r;
            memset(&r, 0, sizeof r);
            r.level = ALOG_LEVEL_INFO;
            r.msg = msg;
            r.msg_len = (size_t)n;
            r.fields = &f;
            r.n_fields = 1;
            CHECK_RC(alog_write_record(lg, &r), ALOG_OK);
        }
        }
    }
    CHECK_SYS(write(ready, &logf_line, sizeof logf_line) == sizeof logf_line);
    if (strcmp(how, "abort") == 0)
        abort();
    if (strcmp(how, "segv") == 0) {
        volatile int *null = NULL;
        *null = 1;
    }
    sleep_ms(60000); /* until the parent's SIGKILL */
    _exit(3);
}

static void crash_then_reopen(const char *dir, const char *how, int sig)
{
    char *path = path_join(dir, how);
    int fds[2];
    CHECK_SYS(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK_SYS(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGABRT, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        child(path, how, fds[1]);
    }
    close(fds[1]);
    CHECK(read(fds[0], &logf_line, sizeof logf_line) == sizeof logf_line,
          "%s: the child died before logging every record", how);
    close(fds[0]);
    if (sig == SIGKILL)
        CHECK_SYS(kill(pid, SIGKILL) == 0);
    int status = 0;
    CHECK_SYS(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: child status %#x", how, status);

    lines ls = read_lines(path);
    CHECK_U64(ls.n, 0); /* the writer never ran */
    free_lines(&ls);

    alog_logger *lg = open_durable(path);
    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, RECORDS);
    CHECK_U64(st.written, RECORDS);
    CHECK_U64(st.dropped + st.failed + st.pending, 0);
    CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "after"), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    ls = read_lines(path);
    CHECK_U64(ls.n, RECORDS + 1);
    for (int i = 0; i < RECORDS; i++) {
        char want[256];
        if (i % 3 == 2)
            snprintf(want, sizeof want, "record %d n=%d", i, i);
        else if (i % 3 == 1)
            snprintf(want, sizeof want, "record %d source=%s:%d func=child", i, __FILE__,
                     logf_line);
        else
            snprintf(want, sizeof want, "record %d", i);
        CHECK(strcmp(ls.v[i], want) == 0, "%s: line %d: [%s], expected [%s]", how, i, ls.v[i],
              want);
    }
    CHECK_STR(ls.v[RECORDS], "after");
    free_lines(&ls);
    free(path);
}

int main(int argc, char **argv)
{
    watchdog(120, "durable");
    char *dir = make_tmpdir("durable");
    static const struct {
        const char *how;
        int sig;
    } cases[] = {{"abort", SIGABRT}, {"segv", SIGSEGV}, {"kill", SIGKILL}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], cases[k].how) == 0;
        if (wanted) {
            crash_then_reopen(dir, cases[k].how, cases[k].sig);
            printf("durable: %s: %d acknowledged records written once after reopen\n",
                   cases[k].how, RECORDS);
        }
    }
    remove_tmpdir(dir);
    return 0;
}
