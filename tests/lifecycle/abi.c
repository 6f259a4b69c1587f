/* The file lifecycle through the C ABI: the new keys' errors (exact messages), rotation
 * counted in alog_stats, alog_reopen's result codes.   abi DIR */
#include <alog.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...)                                        \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                       \
            fprintf(stderr, "\n");                              \
            failures++;                                         \
        }                                                       \
    } while (0)

static void expect_set_error(const char *key, const char *value, const char *msg) {
    char err[512] = "";
    alog_conf *c = alog_conf_new();
    alog_result r = alog_conf_set(c, key, value, err, sizeof err);
    CHECK(r == ALOG_ERR_INVALID, "%s=%s: %s", key, value, alog_result_str(r));
    CHECK(strcmp(err, msg) == 0, "%s=%s: got \"%s\"", key, value, err);
    alog_conf_free(c);
}

static void expect_open_error(const char *dir, const char *key, const char *value, const char *msg) {
    char err[512] = "", path[4096];
    alog_conf *c = alog_conf_new();
    CHECK(alog_conf_set(c, key, value, err, sizeof err) == ALOG_OK, "%s", err);
    snprintf(path, sizeof path, "%s/bad.log", dir);
    alog_logger *lg = NULL;
    alog_result r = alog_open(path, c, &lg, err, sizeof err);
    CHECK(r == ALOG_ERR_INVALID, "open with %s=%s: %s", key, value, alog_result_str(r));
    CHECK(strcmp(err, msg) == 0, "open with %s=%s: got \"%s\"", key, value, err);
    CHECK(lg == NULL, "no handle on failure");
    alog_conf_free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: abi DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    expect_set_error("rotate_bytes", "10x",
                     "invalid value \"10x\" for rotate_bytes: expected a byte count such as 1048576, 64k, 10m or 1g");
    expect_set_error("rotate_interval", "weekly",
                     "invalid value \"weekly\" for rotate_interval: expected never|hourly|daily");
    expect_set_error("compress", "lz4", "invalid value \"lz4\" for compress: expected none|gzip|zstd");
    expect_set_error("max_age", "1y",
                     "invalid value \"1y\" for max_age: expected a duration such as 3600, 90s, 30m, 12h, 7d or 1 week");
    expect_open_error(dir, "compress", "zstd",
                      "compress applies to rotated files: set rotate_bytes or rotate_interval too");
    unsetenv("ALOG_ABI_NO_KEY");
    expect_open_error(dir, "encryption_key_env", "ALOG_ABI_NO_KEY",
                      "encryption_key_env: environment variable ALOG_ABI_NO_KEY is not set");

    CHECK(alog_reopen(NULL) == ALOG_ERR_NULL, "alog_reopen(NULL)");

    char err[512], path[4096];
    alog_conf *c = alog_conf_new();
    CHECK(alog_conf_set(c, "rotate_bytes", "1k", err, sizeof err) == ALOG_OK, "%s", err);
    CHECK(alog_conf_set(c, "max_files", "3", err, sizeof err) == ALOG_OK, "%s", err);
    snprintf(path, sizeof path, "%s/app.log", dir);
    alog_logger *lg;
    CHECK(alog_open(path, c, &lg, err, sizeof err) == ALOG_OK, "%s", err);
    alog_conf_free(c);
    char msg[64];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(msg, sizeof msg, "record %03d", i);
        CHECK(alog_write(lg, ALOG_LEVEL_INFO, msg, (size_t)n) == ALOG_OK, "write");
    }
    CHECK(alog_reopen(lg) == ALOG_OK, "alog_reopen");
    CHECK(alog_close(lg, ALOG_TIMEOUT_INFINITE) == ALOG_OK, "close");
    alog_stats st;
    CHECK(alog_get_stats(lg, &st) == ALOG_OK, "stats");
    /* 100 lines of 28 + 5 + 10 + 1 = 44 bytes: 23 per 1 KiB file, 4 rotations. */
    CHECK(st.rotations == 4 && st.written == 100, "rotations %llu written %llu",
          (unsigned long long)st.rotations, (unsigned long long)st.written);
    CHECK(alog_reopen(lg) == ALOG_ERR_CLOSED, "alog_reopen after close");
    const char *want[] = {"app.log", "app.log.2", "app.log.3", "app.log.4", "app.log.lock"};
    int found = 0, others = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "bad.log") == 0) continue;
        int known = 0;
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) known |= strcmp(e->d_name, want[i]) == 0;
        if (known) found++; else { others++; fprintf(stderr, "unexpected file %s\n", e->d_name); }
    }
    closedir(d);
    CHECK(found == 5 && others == 0, "files: %d expected, %d others (max_files=3 keeps .2 .3 .4)", found, others);
    if (failures) return 1;
    printf("ok   abi: lifecycle keys' errors, rotations counted, alog_reopen codes, retention\n");
    return 0;
}
