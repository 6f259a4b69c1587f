// The generated header must be usable from C++: compile with
// g++ -std=c++17 -Wall -Wextra -Werror, link, log one line and read it back.
#include "alog.h"

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
    if (alog_close(lg, ALOG_TIMEOUT_INFINITE) != ALOG_OK)
        return fail("alog_close");

    std::ifstream in(path);
    std::string line, extra;
    if (!std::getline(in, line) || std::getline(in, extra))
        return fail("expected exactly one line in " + path);
    if (line.size() < msg.size() ||
        line.compare(line.size() - msg.size(), msg.size(), msg) != 0 ||
        line.find(" INFO ") == std::string::npos)
        return fail("unexpected line: " + line);

    std::filesystem::remove_all(dir);
    std::printf("cpp_smoke: ok\n");
    return 0;
}
