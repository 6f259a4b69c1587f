/* alog_close races with threads that keep logging. Writers may only see
 * ALOG_OK or ALOG_ERR_CLOSED; once CLOSED, always CLOSED; every record that
 * got ALOG_OK is in the file, in order, and nothing else is.
 * usage: concurrent_close [ROUNDS]   (default 20) */
#include "check.h"

#define THREADS 4
#define MAX_WRITES 20000000L /* a close that never takes effect ends here */

struct writer {
    pthread_t tid;
    alog_logger *lg;
    int index;
    long ok;          /* ALOG_OK returns, i.e. records 0..ok-1 */
    long progress;    /* writes attempted so far, read by main */
    alog_result bad;  /* first result other than OK / CLOSED */
    int ok_after_closed;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char msg[64];
    int closed = 0;
    for (long i = 0; i < MAX_WRITES; i++) {
        int n = snprintf(msg, sizeof msg, "t=%d i=%ld", w->index, w->ok);
        alog_result rc = alog_write(w->lg, ALOG_LEVEL_INFO, msg, (size_t)n);
        __atomic_store_n(&w->progress, i + 1, __ATOMIC_RELAXED);
        if (rc == ALOG_OK) {
            if (closed)
                w->ok_after_closed = 1;
            w->ok++;
        } else if (rc == ALOG_ERR_CLOSED) {
            if (++closed == 100) /* a few more tries, all must be CLOSED */
                break;
        } else {
            w->bad = rc;
            break;
        }
    }
    return NULL;
}

static long total_progress(struct writer *ws)
{
    long sum = 0;
    for (int i = 0; i < THREADS; i++)
        sum += __atomic_load_n(&ws[i].progress, __ATOMIC_RELAXED);
    return sum;
}

static void verify_file(const char *path, struct writer *ws)
{
    long next[THREADS] = {0};
    long total = 0;
    lines ls = read_lines(path);
    for (size_t i = 0; i < ls.n; i++) {
        int t, used = 0;
        long seq;
        const char *l = ls.v[i];
        CHECK(is_ts(l) && strncmp(l + TS_LEN, " INFO t=", 8) == 0 &&
                  sscanf(l + TS_LEN + 8, "%d i=%ld%n", &t, &seq, &used) == 2 &&
                  l[TS_LEN + 8 + used] == '\0' && t >= 0 && t < THREADS,
              "line %zu is malformed: [%s]", i, l);
        CHECK(seq == next[t], "line %zu: thread %d seq %ld, expected %ld", i, t, seq,
              next[t]);
        next[t]++;
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(next[t] == ws[t].ok, "thread %d: %ld records in the file, %ld ALOG_OK",
              t, next[t], ws[t].ok);
        total += ws[t].ok;
    }
    CHECK_LINES(ls, total);
    free_lines(&ls);
}

static void round_once(const char *dir, int round)
{
    char name[64];
    snprintf(name, sizeof name, "close-%d.log", round);
    char *path = path_join(dir, name);
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "console", "none");
    conf_set_ok(conf, "overflow", "block");
    /* Odd rounds: a tiny queue, so writers are blocked on it when we close. */
    if (round % 2) {
        conf_set_ok(conf, "queue_capacity", "16");
        conf_set_ok(conf, "batch_size", "4");
    }
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    struct writer ws[THREADS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < THREADS; i++) {
        ws[i].lg = lg;
        ws[i].index = i;
        CHECK(pthread_create(&ws[i].tid, NULL, writer_main, &ws[i]) == 0,
              "pthread_create failed");
    }
    /* Close at a different point of the stream in each round. */
    long target = 500 + (long)(round % 20) * 2000;
    while (total_progress(ws) < target)
        sched_yield();
    alog_result close_rc = alog_close(lg, ALOG_TIMEOUT_INFINITE);
    for (int i = 0; i < THREADS; i++)
        pthread_join(ws[i].tid, NULL);
    CHECK_RC(close_rc, ALOG_OK);

    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(ws[i].bad == ALOG_OK, "round %d thread %d: write returned %d (%s)",
              round, i, (int)ws[i].bad, alog_result_str(ws[i].bad));
        CHECK(!ws[i].ok_after_closed, "round %d thread %d: ALOG_OK after ALOG_ERR_CLOSED",
              round, i);
        CHECK(ws[i].progress < MAX_WRITES, "round %d thread %d: never saw ALOG_ERR_CLOSED",
              round, i);
        total += ws[i].ok;
    }
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_ERR_CLOSED);
    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, total);
    CHECK_U64(st.written, total);
    CHECK_U64(st.dropped + st.failed + st.pending, 0);
    verify_file(path, ws);
    free(path);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    CHECK(rounds > 0, "usage: %s [ROUNDS]", argv[0]);
    char *dir = make_tmpdir("close");
    watchdog(240, "concurrent_close");
    for (int r = 0; r < rounds; r++)
        round_once(dir, r);
    remove_tmpdir(dir);
    printf("concurrent_close: %d rounds ok\n", rounds);
    return 0;
}
