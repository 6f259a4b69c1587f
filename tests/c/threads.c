/* Many threads log with overflow=block: nothing is lost, nothing is
 * duplicated, and each thread's records keep their order.
 * usage: threads [THREADS [RECORDS_PER_THREAD]]   (default 4 1000000) */
#include "check.h"

struct worker {
    pthread_t tid;
    alog_logger *lg;
    int index;
    long count;
    long failures;
    alog_result first_error;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char msg[64];
    for (long i = 0; i < w->count; i++) {
        int n = snprintf(msg, sizeof msg, "t=%d i=%ld", w->index, i);
        alog_result rc = alog_write(w->lg, ALOG_LEVEL_INFO, msg, (size_t)n);
        if (rc != ALOG_OK && w->failures++ == 0)
            w->first_error = rc;
    }
    return NULL;
}

/* Reads the log back; every thread's seq numbers must be 0, 1, 2, ... */
static void verify_file(const char *path, int threads, long count)
{
    long *next = calloc((size_t)threads, sizeof *next);
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    CHECK(next != NULL, "out of memory");
    CHECK(f != NULL, "cannot open %s: %s", path, strerror(errno));
    while ((len = getline(&line, &cap, f)) > 0) {
        int t, used = 0;
        long seq;
        lineno++;
        CHECK(line[len - 1] == '\n', "line %zu is not terminated", lineno);
        line[len - 1] = '\0';
        CHECK(is_ts(line), "line %zu has no timestamp: [%s]", lineno, line);
        CHECK(strncmp(line + TS_LEN, " INFO t=", 8) == 0 &&
                  sscanf(line + TS_LEN + 8, "%d i=%ld%n", &t, &seq, &used) == 2 &&
                  line[TS_LEN + 8 + used] == '\0',
              "line %zu is malformed: [%s]", lineno, line);
        CHECK(t >= 0 && t < threads, "line %zu: unknown thread %d", lineno, t);
        CHECK(seq >= 0 && seq < count, "line %zu: seq %ld out of range", lineno, seq);
        CHECK(seq == next[t],
              "line %zu: thread %d seq %ld, expected %ld (%s)", lineno, t, seq,
              next[t], seq < next[t] ? "duplicate or out of order" : "records missing");
        next[t]++;
    }
    for (int t = 0; t < threads; t++)
        CHECK(next[t] == count, "thread %d: %ld of %ld records in the file", t,
              next[t], count);
    CHECK_U64(lineno, (uint64_t)threads * (uint64_t)count);
    free(line);
    fclose(f);
    free(next);
}

static void run(const char *dir, int threads, long count)
{
    char name[64];
    snprintf(name, sizeof name, "threads-%d.log", threads);
    char *path = path_join(dir, name);
    alog_conf *conf = alog_conf_new();
    conf_set_ok(conf, "console", "none");
    conf_set_ok(conf, "overflow", "block");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    struct worker *ws = calloc((size_t)threads, sizeof *ws);
    CHECK(ws != NULL, "out of memory");
    double t0 = now_ms();
    for (int i = 0; i < threads; i++) {
        ws[i].lg = lg;
        ws[i].index = i;
        ws[i].count = count;
        CHECK(pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) == 0,
              "pthread_create failed");
    }
    for (int i = 0; i < threads; i++)
        pthread_join(ws[i].tid, NULL);
    double t1 = now_ms();
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    double t2 = now_ms();

    for (int i = 0; i < threads; i++)
        CHECK(ws[i].failures == 0, "thread %d: %ld writes failed, first with %d (%s)",
              i, ws[i].failures, (int)ws[i].first_error,
              alog_result_str(ws[i].first_error));

    uint64_t total = (uint64_t)threads * (uint64_t)count;
    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, total);
    CHECK_U64(st.written, total);
    CHECK_U64(st.dropped, 0);
    CHECK_U64(st.failed, 0);
    CHECK_U64(st.pending, 0);
    CHECK(st.queue_peak <= st.queue_capacity, "queue_peak %" PRIu64
          " > queue_capacity %" PRIu64, st.queue_peak, st.queue_capacity);

    verify_file(path, threads, count);
    printf("threads: %d x %ld records: %.0f ms logging, %.0f ms close "
           "(%.2f M records/s)\n", threads, count, t1 - t0, t2 - t1,
           (double)total / (t2 - t0) / 1e3);
    free(ws);
    free(path);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    long count = argc > 2 ? atol(argv[2]) : 1000000;
    CHECK(threads > 0 && count > 0, "usage: %s [THREADS [RECORDS_PER_THREAD]]",
          argv[0]);
    char *dir = make_tmpdir("threads");
    run(dir, threads, count);
    remove_tmpdir(dir);
    printf("threads: ok\n");
    return 0;
}
