/* Does the file lifecycle slow the hot path? alog_write latency percentiles and a burst,
 * without rotation beside rotation every 4 MiB (plain, gzip, zstd, encrypted).
 *
 *   rotation [--calls N] [--burst N] [--gap-ns G] [--rotate BYTES] DIR
 *
 * latency: N calls spaced by ~G ns of busy-wait, each timed with CLOCK_MONOTONIC; the median
 *          cost of two back-to-back clock reads is subtracted from every sample.
 * burst:   N calls back to back: caller ns/call, and seconds until alog_close returned
 *          (every line written, every rotated file compressed).
 * Each configuration writes to a fresh folder under DIR; prints a markdown table. */
#define _GNU_SOURCE
#include <alog.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static alog_logger *open_logger(const char *dir, const char *name, const char *const *kv) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/app.log", dir, name);
    alog_conf *c = alog_conf_new();
    for (; kv && kv[0]; kv += 2) {
        if (alog_conf_set(c, kv[0], kv[1], err, sizeof err) != ALOG_OK) {
            fprintf(stderr, "%s\n", err);
            exit(2);
        }
    }
    alog_logger *lg;
    if (alog_open(path, c, &lg, err, sizeof err) != ALOG_OK) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    alog_conf_free(c);
    return lg;
}

static int count_files(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "app.log", 7) == 0 && !strstr(e->d_name, ".lock")) n++;
    if (d) closedir(d);
    return n;
}

int main(int argc, char **argv) {
    long calls = 2000000, burst = 1000000, gap = 2000;
    const char *rotate = "4m", *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc) calls = atol(argv[++i]);
        else if (!strcmp(argv[i], "--burst") && i + 1 < argc) burst = atol(argv[++i]);
        else if (!strcmp(argv[i], "--gap-ns") && i + 1 < argc) gap = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rotate") && i + 1 < argc) rotate = argv[++i];
        else dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: rotation [--calls N] [--burst N] [--gap-ns G] [--rotate BYTES] DIR\n");
        return 2;
    }
    setenv("ALOG_BENCH_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
    const char *none[] = {NULL};
    const char *plain[] = {"rotate_bytes", rotate, NULL};
    const char *gz[] = {"rotate_bytes", rotate, "compress", "gzip", NULL};
    const char *zs[] = {"rotate_bytes", rotate, "compress", "zstd", NULL};
    const char *enc[] = {"rotate_bytes", rotate, "encryption_key_env", "ALOG_BENCH_KEY", NULL};
    struct { const char *name; const char *const *kv; } cfgs[] = {
        {"no rotation", none}, {"rotate", plain}, {"rotate + gzip", gz},
        {"rotate + zstd", zs}, {"rotate + encryption", enc},
    };
    uint64_t *s = malloc(sizeof(uint64_t) * (size_t)calls);
    char msg[128];
    memset(msg, 'x', sizeof msg);
    /* The cost of timing itself. */
    uint64_t over[1001];
    for (int i = 0; i < 1001; i++) { uint64_t a = now_ns(); over[i] = now_ns() - a; }
    qsort(over, 1001, sizeof *over, cmp_u64);
    uint64_t timer = over[500];
    printf("rotation every %s, %ld calls %ld ns apart, burst of %ld; 100-byte messages; timer overhead %llu ns subtracted\n\n",
           rotate, calls, gap, burst, (unsigned long long)timer);
    printf("| configuration | p50 ns | p99 ns | p99.9 ns | max ns | burst ns/call | burst s until closed | files |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        char name[64];
        snprintf(name, sizeof name, "cfg%zu", c);
        alog_logger *lg = open_logger(dir, name, cfgs[c].kv);
        for (long i = 0; i < calls; i++) {
            snprintf(msg, 21, "n%019ld", i);
            msg[20] = 'x';
            uint64_t a = now_ns();
            alog_write(lg, ALOG_LEVEL_INFO, msg, 100);
            uint64_t b = now_ns();
            s[i] = b - a > timer ? b - a - timer : 0;
            while (now_ns() - b < (uint64_t)gap) {}
        }
        alog_close(lg, ALOG_TIMEOUT_INFINITE);
        qsort(s, (size_t)calls, sizeof *s, cmp_u64);
        snprintf(name, sizeof name, "burst%zu", c);
        lg = open_logger(dir, name, cfgs[c].kv);
        uint64_t t0 = now_ns();
        for (long i = 0; i < burst; i++) alog_write(lg, ALOG_LEVEL_INFO, msg, 100);
        uint64_t t1 = now_ns();
        alog_close(lg, ALOG_TIMEOUT_INFINITE);
        uint64_t t2 = now_ns();
        char cname[64];
        snprintf(cname, sizeof cname, "cfg%zu", c);
        printf("| %s | %llu | %llu | %llu | %llu | %.0f | %.3f | %d |\n", cfgs[c].name,
               (unsigned long long)s[calls / 2], (unsigned long long)s[calls * 99 / 100],
               (unsigned long long)s[calls * 999 / 1000], (unsigned long long)s[calls - 1],
               (double)(t1 - t0) / (double)burst, (double)(t2 - t0) / 1e9, count_files(dir, cname));
        fflush(stdout);
    }
    free(s);
    return 0;
}
