/* A small application logging through alog from four threads: a text file for people, a
 * JSON file with DEBUG detail for machines, and warnings echoed on stderr. */
#include <alog.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define PER_THREAD 250000

static alog_logger *lg;

static void *worker(void *arg) {
    int id = (int)(long)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        /* Deferred formatting: the call copies three integers, the writer thread formats. */
        ALOG_LOGF(lg, ALOG_LEVEL_INFO, "worker %d handled request %d in %d us", id, i, (i * 37) % 1000);
        if (i % 50000 == 0) {
            alog_field fields[] = {
                {.key = "worker", .key_len = 6, .kind = ALOG_FIELD_INT, .i64 = id},
                {.key = "done", .key_len = 4, .kind = ALOG_FIELD_INT, .i64 = i},
                {.key = "phase", .key_len = 5, .kind = ALOG_FIELD_STRING, .str = "warmup", .str_len = 6},
            };
            alog_record rec = {.level = ALOG_LEVEL_DEBUG, .msg = "progress", .msg_len = 8, .fields = fields,
                               .n_fields = 3, .file = __FILE__, .file_len = strlen(__FILE__), .line = __LINE__,
                               .func = __func__, .func_len = strlen(__func__)};
            alog_write_record(lg, &rec);
        }
    }
    return NULL;
}

static void check(alog_result r, const char *what, const char *err) {
    if (r != ALOG_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, alog_result_str(r), err);
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "demo-logs";
    char path[512], full[512], err[256] = "";
    snprintf(path, sizeof path, "%s/app.log", dir);
    snprintf(full, sizeof full, "%s/app.jsonl", dir);

    alog_conf *conf = alog_conf_new();
    const char *settings[][2] = {
        {"level", "info"},          {"queue_capacity", "65536"}, {"overflow", "block"},
        {"file.full.path", full},   {"file.full.level", "debug"}, {"file.full.format", "json"},
        {"console", "stderr"},      {"console.level", "warn"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        check(alog_conf_set(conf, settings[i][0], settings[i][1], err, sizeof err), settings[i][0], err);
    check(alog_open(path, conf, &lg, err, sizeof err), "alog_open", err);
    alog_conf_free(conf);

    printf("alog %s: %d threads x %d records -> %s and %s\n", alog_version(), THREADS, PER_THREAD, path, full);
    alog_write(lg, ALOG_LEVEL_WARN, "demo starting (this warning is echoed on stderr)", 48);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    check(alog_close(lg, ALOG_TIMEOUT_INFINITE), "alog_close", "");

    alog_stats s;
    check(alog_get_stats(lg, &s), "alog_get_stats", "");
    printf("submitted=%llu written=%llu dropped=%llu failed=%llu pending=%llu batches=%llu bytes=%llu\n",
           (unsigned long long)s.submitted, (unsigned long long)s.written, (unsigned long long)s.dropped,
           (unsigned long long)s.failed, (unsigned long long)s.pending, (unsigned long long)s.batches,
           (unsigned long long)s.bytes_written);
    return s.submitted == s.written ? 0 : 1;
}
