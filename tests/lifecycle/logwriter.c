/* A test program for the file lifecycle through the C ABI: logs COUNT records
 * "w<ID> n<I> <padding>" to PATH with the given configuration, optionally pacing itself and
 * reopening on SIGHUP (alog_reopen from the signal handler), then prints its counters.
 *
 *   logwriter PATH COUNT ID [--pace N] [--hup] [--level N] [key=value ...]
 *
 * --pace N   sleep 1 ms after every N records (so that external tools act mid-run)
 * --hup      install a SIGHUP handler that calls alog_reopen
 * --level N  log at level N (default ALOG_LEVEL_INFO)
 * Exit status 0 when every record is accounted (written + failed + dropped == COUNT). */
#include <alog.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static alog_logger *g_log;

static void on_hup(int sig) {
    (void)sig;
    alog_reopen(g_log);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr,
                "usage: logwriter PATH COUNT ID [--pace N] [--hup] [--level N] [key=value ...]\n");
        return 2;
    }
    const char *path = argv[1];
    long count = atol(argv[2]);
    const char *id = argv[3];
    long pace = 0;
    int hup = 0;
    int level = ALOG_LEVEL_INFO;
    char err[512];
    alog_conf *conf = alog_conf_new();
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--pace") == 0 && i + 1 < argc) {
            pace = atol(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "--hup") == 0) {
            hup = 1;
            continue;
        }
        if (strcmp(argv[i], "--level") == 0 && i + 1 < argc) {
            level = atoi(argv[++i]);
            continue;
        }
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "logwriter: expected key=value, got %s\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        if (alog_conf_set(conf, argv[i], eq + 1, err, sizeof err) != ALOG_OK) {
            fprintf(stderr, "logwriter: %s\n", err);
            return 2;
        }
    }
    if (alog_open(path, conf, &g_log, err, sizeof err) != ALOG_OK) {
        fprintf(stderr, "logwriter: %s\n", err);
        return 2;
    }
    alog_conf_free(conf);
    if (hup) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_hup;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGHUP, &sa, NULL);
    }
    char msg[128];
    struct timespec ms = {0, 1000000};
    for (long i = 0; i < count; i++) {
        int n = snprintf(msg, sizeof msg, "w%s n%ld abcdefghijklmnopqrstuvwxyz", id, i);
        alog_result r = alog_write(g_log, level, msg, (size_t)n);
        if (r != ALOG_OK) {
            fprintf(stderr, "logwriter: alog_write: %s\n", alog_result_str(r));
            return 1;
        }
        if (pace > 0 && i % pace == pace - 1) {
            nanosleep(&ms, NULL);
        }
    }
    alog_result r = alog_close(g_log, ALOG_TIMEOUT_INFINITE);
    alog_stats st;
    alog_get_stats(g_log, &st);
    printf("written=%llu failed=%llu dropped=%llu write_errors=%llu rotations=%llu\n",
           (unsigned long long)st.written, (unsigned long long)st.failed,
           (unsigned long long)st.dropped, (unsigned long long)st.write_errors,
           (unsigned long long)st.rotations);
    if (r != ALOG_OK) {
        fprintf(stderr, "logwriter: alog_close: %s\n", alog_result_str(r));
        return 1;
    }
    return st.written + st.failed + st.dropped == (unsigned long long)count ? 0 : 1;
}
