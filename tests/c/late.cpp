// Records logged after alog's exit hook ran (issue 13): from a C++ static destructor of an
// object constructed before the logger was opened, and from an atexit handler registered
// before alog_open. Each call that returns ALOG_OK must find its record in the file; none may
// hang. The application runs in a forked child that returns from main without alog_close;
// the parent reads the file after the child has exited.
//
// usage: late DIR
#include "alog.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

alog_logger *app_logger = nullptr;  // the application's global logger, never closed
const int kRecords = 1000;

// Written by the child before it exits: each late call's result, for the parent to compare.
std::string results_path;

void note_result(const char *who, alog_result rc)
{
    FILE *f = std::fopen(results_path.c_str(), "a");
    if (f != nullptr) {
        std::fprintf(f, "%s %d\n", who, static_cast<int>(rc));
        std::fclose(f);
    }
}

void log_late(const char *who)
{
    if (app_logger == nullptr)
        return;
    std::string msg = std::string("late from ") + who;
    note_result(who, alog_write(app_logger, ALOG_LEVEL_INFO, msg.c_str(), msg.size()));
}

struct Registry {
    Registry() = default;
    Registry(const Registry &) = delete;
    Registry &operator=(const Registry &) = delete;
    ~Registry() { log_late("static destructor"); }
};

void early_atexit() { log_late("early atexit"); }

int application(const std::string &path)
{
    // Constructed (and its destructor registered) before alog_open: it is destroyed after
    // alog's exit hook has run.
    static Registry registry;
    std::atexit(early_atexit);
    alog_conf *conf = alog_conf_new();
    char err[256] = "";
    // A batch that never fills: only the exit hook (or a synchronous write) writes anything.
    if (alog_conf_set(conf, "batch_size", "100000", err, sizeof err) != ALOG_OK ||
        alog_conf_set(conf, "batch_timeout_ms", "3600000", err, sizeof err) != ALOG_OK ||
        alog_open(path.c_str(), conf, &app_logger, err, sizeof err) != ALOG_OK) {
        std::fprintf(stderr, "FAIL late: open: %s\n", err);
        return 1;
    }
    alog_conf_free(conf);
    for (int i = 0; i < kRecords; i++) {
        std::string msg = "record " + std::to_string(i);
        if (alog_write(app_logger, ALOG_LEVEL_INFO, msg.c_str(), msg.size()) != ALOG_OK)
            return 1;
    }
    return 0;  // no alog_close: exit() runs the hook, then the early atexit, then ~Registry
}

int fail(const std::string &what)
{
    std::fprintf(stderr, "FAIL late: %s\n", what.c_str());
    return 1;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc != 2)
        return fail("usage: late DIR");
    const std::string dir = argv[1];
    const std::string path = dir + "/late.log";
    results_path = dir + "/results.txt";
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        alarm(30);  // a hang at exit dies of SIGALRM, which the parent reports
        std::exit(application(path));
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return fail("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("the application ended with status " + std::to_string(status));

    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    std::ifstream res(results_path);
    std::vector<std::string> ok_late;
    for (std::string who; std::getline(res, who);) {
        const size_t sp = who.rfind(' ');
        const int rc = std::atoi(who.c_str() + sp + 1);
        who.resize(sp);
        if (rc == ALOG_OK)
            ok_late.push_back(who);
        else if (rc != ALOG_ERR_CLOSED)
            return fail(who + ": unexpected result " + std::to_string(rc));
    }
    if (ok_late.size() != 2)
        return fail("expected both late calls to succeed, " + std::to_string(ok_late.size()) +
                    " did");
    if (lines.size() != kRecords + ok_late.size())
        return fail(std::to_string(lines.size()) + " lines, expected " +
                    std::to_string(kRecords + ok_late.size()));
    const size_t ts = std::strlen("YYYY-MM-DDTHH:MM:SS.ffffffZ");
    for (int i = 0; i < kRecords; i++) {
        const std::string want = " INFO record " + std::to_string(i);
        if (lines[i].substr(ts) != want)
            return fail("line " + std::to_string(i) + ": [" + lines[i] + "]");
    }
    for (size_t i = 0; i < ok_late.size(); i++) {
        const std::string want = " INFO late from " + ok_late[i];
        if (lines[kRecords + i].substr(ts) != want)
            return fail("late line " + std::to_string(i) + ": [" + lines[kRecords + i] +
                        "], expected [" + want + "]");
    }
    std::printf("late: %d records and %zu late records (early atexit, static destructor) "
                "written\n",
                kRecords, ok_late.size());
    return 0;
}
