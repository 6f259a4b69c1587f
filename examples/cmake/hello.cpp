// Logs through alog.hpp into the file named by argv[1]: `{}` formatting (checked at compile
// time, deferred to the writer where it can be), structured fields, a named logger.
#include <alog.hpp>

#include <cstdio>
#include <memory>
#include <string>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s LOGFILE\n", argv[0]);
    return 2;
  }
  try {
    auto log = std::make_shared<alog::Logger>(argv[1], std::initializer_list<std::pair<std::string_view, std::string_view>>{
                                                           {"pattern", "{level} {msg}{fields}"}});
    alog::register_logger("app", log);
    const std::string user = "ann";
    ALOG_LOGGER_INFO(log, "user {} from {} in {:.1f} ms", user, "10.0.0.1", 12.345);
    log->warn("{:>6}|{:<6}|{:^6}|{:#x}", 1, 2, 3, 255);
    log->log_fields(alog::Level::error, "slow request", {{"user", user}, {"ms", 1250}});
    ALOG_LOGGER_INFO(alog::get("app"), "{}% done", 100);
    return log->close() == ALOG_OK ? 0 : 1;
  } catch (const alog::Error &e) {
    std::fprintf(stderr, "alog: %s\n", e.what());
    return 1;
  }
}
