// The generated header must be usable from C++: compile with
// g++ -std=c++17 -Wall -Wextra -Werror, link, log one line and read it back. Included the
// way C++ code often includes C headers, inside extern "C": the header's C++ helpers (the
// ALOG_LOGF argument packers) must still get C++ linkage.
extern "C" {
#include "alog.h"
}
#include "alog.h"  // twice: everything in the header is guarded

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

int fail(const std::string &what)
{
    std::fprintf(stderr, "FAIL cpp_smoke: %s\n", what.c_str());
    return 1;
}

}  // namespace

int main()
{
    const char *base = std::getenv("TMPDIR");
    std::string dir = std::string(base && *base ? base : "/tmp") + "/alog-cpp-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr)
        return fail("mkdtemp");
    const std::string path = dir + "/cpp.log";

    alog_conf *conf = alog_conf_new();
    char err[256] = "";
    if (alog_conf_set(conf, "console", "none", err, sizeof err) != ALOG_OK)
        return fail(err);
    alog_logger *lg = nullptr;
    if (alog_open(path.c_str(), conf, &lg, err, sizeof err) != ALOG_OK)
        return fail(std::string("alog_open: ") + err);
    alog_conf_free(conf);

    const std::string msg = "hello from C++ " + std::string(alog_version());
    alog_result rc = alog_write(lg, ALOG_LEVEL_INFO, msg.data(), msg.size());
    if (rc != ALOG_OK)
        return fail(std::string("alog_write: ") + alog_result_str(rc));
    // Twice: the site's first call registers it, the second packs the arguments by their
    // C++ types (overloads and templates instead of C's _Generic).
    enum Small { SEVEN = 7 };
    const std::string seven = "seven";
    const char arr[] = "arr";
    struct {
        unsigned u : 3;
    } bits = {6};
    for (int rep = 0; rep < 2; rep++) {
        rc = ALOG_LOGF(lg, ALOG_LEVEL_WARN, "deferred from C++: %d %s %.2f %s %d %zu %c %p %s %u",
                       SEVEN, seven.c_str(), 7.0f, arr, true, sizeof arr, 'x', nullptr,
                       static_cast<const char *>(nullptr), bits.u);
        if (rc != ALOG_OK)
            return fail(std::string("ALOG_LOGF: ") + alog_result_str(rc));
    }
    if (alog_close(lg, ALOG_TIMEOUT_INFINITE) != ALOG_OK)
        return fail("alog_close");

    std::ifstream in(path);
    std::string line, deferred, again, extra;
    if (!std::getline(in, line) || !std::getline(in, deferred) || !std::getline(in, again) ||
        std::getline(in, extra))
        return fail("expected exactly three lines in " + path);
    if (line.size() < msg.size() ||
        line.compare(line.size() - msg.size(), msg.size(), msg) != 0 ||
        line.find(" INFO ") == std::string::npos)
        return fail("unexpected line: " + line);
    // The record carries its call site: text lines end in source=FILE:LINE func=main.
    const std::string want =
        " WARN deferred from C++: 7 seven 7.00 arr 1 4 x (nil) (null) 6 source=";
    for (const std::string *d : {&deferred, &again}) {
        if (d->find(want) == std::string::npos ||
            d->compare(d->size() - 10, 10, " func=main") != 0)
            return fail("unexpected deferred line: " + *d);
    }
    // Both calls come from one site: the same text after the timestamp.
    if (deferred.substr(deferred.find(' ')) != again.substr(again.find(' ')))
        return fail("the two calls differ: " + deferred + " / " + again);

    std::filesystem::remove_all(dir);
    std::printf("cpp_smoke: ok\n");
    return 0;
}
