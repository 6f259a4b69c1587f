// alog.hpp: `{}` formatting (compared with what std::format prints), the printf forms the
// macros defer, the RAII logger and its errors, the compile-time and run-time level gates
// (disabled calls evaluate nothing), source locations, structured fields, the default logger
// and the registry. Built by tests/c/run.sh with -std=c++17 and strict warnings.
// usage: cpp_api DIR       (linked with -Wl,--wrap=alog_logf_args, to count deferred calls)
#define ALOG_ACTIVE_LEVEL ALOG_LEVEL_DEBUG  // ALOG_LOGGER_TRACE compiles to nothing
#include "alog.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

// Every call the macros defer goes through alog_logf_args: count them.
static int deferred_calls = 0;
extern "C" alog_result __real_alog_logf_args(alog_logger *, const alog_site *, int32_t, const alog_arg *, uint32_t);
extern "C" alog_result __wrap_alog_logf_args(alog_logger *lg, const alog_site *site, int32_t level,
                                             const alog_arg *args, uint32_t n) {
  ++deferred_calls;
  return __real_alog_logf_args(lg, site, level, args, n);
}

namespace {

int failures = 0;

void expect(bool ok, const std::string &what, int line) {
  if (!ok) {
    std::fprintf(stderr, "FAIL cpp_api.cpp:%d: %s\n", line, what.c_str());
    ++failures;
  }
}
#define EXPECT(cond, what) expect((cond), (what), __LINE__)
#define EXPECT_EQ(got, want) \
  expect((got) == (want), std::string("got \"") + (got) + "\", want \"" + (want) + "\"", __LINE__)

std::vector<std::string> read_lines(const std::string &path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

int evaluated = 0;
int count() { return ++evaluated; }

void formatting() {
  using alog::format;
  EXPECT_EQ(format("{}", 42), "42");
  EXPECT_EQ(format("{:5}", 42), "   42");
  EXPECT_EQ(format("{:<5}|", 42), "42   |");
  EXPECT_EQ(format("{:^6}", 42), "  42  ");
  EXPECT_EQ(format("{:*^7}", "ab"), "**ab***");
  EXPECT_EQ(format("{:+d} {: d}", 5, 5), "+5  5");
  EXPECT_EQ(format("{:05d}", -42), "-0042");
  EXPECT_EQ(format("{:#x} {:#X} {:x} {:o} {:#o}", 255, 255, 255u, 8, 8), "0xff 0XFF ff 10 010");
  EXPECT_EQ(format("{:b} {:#b} {:#010b}", 5, 5, 5), "101 0b101 0b00000101");
  EXPECT_EQ(format("{:c}{}{:d}", 65, 'x', 'A'), "Ax65");
  EXPECT_EQ(format("{} {:d} {:5}|", true, true, false), "true 1 false|");
  EXPECT_EQ(format("{} {} {} {} {}", 1.5, 0.1, 1e20, 100.0, -0.0), "1.5 0.1 1e+20 100 -0");
  EXPECT_EQ(format("{:.1f} {:.3} {:e} {:E}", 3.14159, 3.14159, 1234.5, 1234.5), "3.1 3.14 1.234500e+03 1.234500E+03");
  EXPECT_EQ(format("{:10.2f}|{:<10.2f}|{:+.2f}|{:08.2f}", 3.14159, 3.14159, 1.0, -1.5), "      3.14|3.14      |+1.00|-0001.50");
  EXPECT_EQ(format("{} {:+} {:06} {}", HUGE_VAL, HUGE_VAL, HUGE_VAL, std::nan("")), "inf +inf    inf nan");
  EXPECT_EQ(format("{:a} {:g} {:G} {:.0f}", 1.0, 1e-5, 1e-5, 2.5), "1p+0 1e-05 1E-05 2");
  EXPECT_EQ(format("{} {:>5} {:.2} {:5}|", std::string("abc"), std::string_view("ab"), "abcdef", "ab"), "abc    ab ab ab   |");
  EXPECT_EQ(format("{:.2}|{:4}|", "\xc3\xa9t\xc3\xa9", "\xc3\xa9"), "\xc3\xa9t|\xc3\xa9   |");
  EXPECT_EQ(format("{{}} {} }}{{", 1), "{} 1 }{");
  EXPECT_EQ(format("{} {}", nullptr, reinterpret_cast<const void *>(0x1234)), "0x0 0x1234");
  EXPECT_EQ(format("{} {}", -9223372036854775807LL - 1, 18446744073709551615ULL), "-9223372036854775808 18446744073709551615");
  EXPECT_EQ(format("100% {}", static_cast<unsigned char>(200)), "100% 200");
  for (const char *bad : {"{} {}", "{:d}{}", "{", "}", "{0}", "{:{}}", "{:.}"}) {
    bool threw = false;
    try {
      (void)format(bad, 1);
    } catch (const alog::Error &e) {
      threw = e.code() == ALOG_ERR_INVALID && std::string(e.what()).find(bad) != std::string::npos;
    }
    EXPECT(threw, std::string("format(\"") + bad + "\", 1) did not throw alog::Error naming it");
  }
  bool threw = false;
  try {
    (void)format("{:d}", "text");
  } catch (const alog::Error &) {
    threw = true;
  }
  EXPECT(threw, "{:d} of a string accepted");
}

// What the macros hand to the writer: a printf format alog renders as std::format would.
using alog::detail::to_printf;
using alog::detail::types;
constexpr bool same(const char *a, const char *b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}
static_assert(same(to_printf("user {} from {} in {:.1f} ms", types<std::string, const char *, double>{}).fmt,
                   "user %s from %s in %.1f ms"));
static_assert(to_printf("user {} from {} in {:.1f} ms", types<std::string, const char *, double>{}).deferrable);
static_assert(same(to_printf("{:+05d} {:x} {:<4}| {} {} 100%", types<int, unsigned, long, bool, char>{}).fmt,
                   "%+05lld %llx %-4lld| %s %c 100%%"));
static_assert(same(to_printf("{:>8.3e} {:.3} {{x}}", types<double, float>{}).fmt, "%8.3e %.3g {x}"));
// Formatted on the caller: shortest floats, string_view, widths of strings, b, ^, fills, pointers.
static_assert(!to_printf("{}", types<double>{}).deferrable);
static_assert(!to_printf("{}", types<std::string_view>{}).deferrable);
static_assert(!to_printf("{:5}", types<const char *>{}).deferrable);
static_assert(!to_printf("{:b}", types<int>{}).deferrable);
static_assert(!to_printf("{:^5}", types<int>{}).deferrable);
static_assert(!to_printf("{:*>5}", types<int>{}).deferrable);
static_assert(!to_printf("{:x}", types<int>{}).deferrable);
static_assert(!to_printf("{}", types<void *>{}).deferrable);
// Compile-time checks of formats against argument types.
static_assert(alog::detail::ok(alog::detail::check_types("{} {:.2f}", types<int, double>{})));
static_assert(!alog::detail::ok(alog::detail::check_types("{} {}", types<int>{})));
static_assert(!alog::detail::ok(alog::detail::check_types("{:d}", types<const char *>{})));
static_assert(!alog::detail::ok(alog::detail::check_types("{:.2}", types<int>{})));

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  formatting();

  // A bad option: alog::Error naming the key.
  try {
    alog::Logger bad(dir + "/bad.log", {{"format", "text"}, {"queue_capacty", "8"}});
    EXPECT(false, "a bad option did not throw");
  } catch (const alog::Error &e) {
    EXPECT_EQ(e.key(), "queue_capacty");
    EXPECT(std::string(e.what()).find("did you mean \"queue_capacity\"?") != std::string::npos, e.what());
    EXPECT_EQ(std::string(e.name()), "ALOG_ERR_INVALID");
  }

  const std::string path = dir + "/cpp_api.log";
  std::remove(path.c_str());
  std::vector<std::string> want;
  int line_a = 0, line_b = 0;
  {
    alog::Logger log(path, {{"pattern", "{level} {msg}{fields}"}, {"level", "debug"}});
    const std::string name = "ann";
    const char *ip = "10.0.0.1";
    const double ms = 12.345;
    // The same calls deferred (macros) and formatted on the caller (member functions).
    ALOG_LOGGER_INFO(log, "user {} from {} in {:.1f} ms", name, ip, ms);
    log.info("user {} from {} in {:.1f} ms", name, ip, ms);
    want.insert(want.end(), 2, "INFO user ann from 10.0.0.1 in 12.3 ms");
    ALOG_LOGGER_WARN(log, "{:+05d} {:x} {:<4}| {} {} 100%", 42, 255u, 7L, true, 'z');
    log.warn("{:+05d} {:x} {:<4}| {} {} 100%", 42, 255u, 7L, true, 'z');
    want.insert(want.end(), 2, "WARN +0042 ff 7   | true z 100%");
    ALOG_LOGGER_ERROR(log, "{:>8.3e}|{:.3}|{{x}}", 1234.5, 2.0f / 3.0f);
    log.error("{:>8.3e}|{:.3}|{{x}}", 1234.5, 2.0f / 3.0f);
    want.insert(want.end(), 2, "ERROR 1.234e+03|0.667|{x}");
    // Not deferrable (shortest float, string_view, centred): formatted on the caller.
    ALOG_LOGGER_DEBUG(log, "{} {} {:^7}", 0.1, std::string_view("sv"), -3);
    want.push_back("DEBUG 0.1 sv   -3   ");
    for (int i = 0; i < 3; ++i) ALOG_LOGGER_INFO(log, "loop {}", i);  // one site, three calls
    want.insert(want.end(), {"INFO loop 0", "INFO loop 1", "INFO loop 2"});

    // Disabled calls evaluate nothing: below ALOG_ACTIVE_LEVEL (compiled out) and below the
    // logger's level (checked before the arguments).
    ALOG_LOGGER_TRACE(log, "{}", count());
    log.set_level(alog::Level::warn);
    ALOG_LOGGER_INFO(log, "{}", count());
    ALOG_LOGGER_WARN(log, "counted {}", count());
    want.push_back("WARN counted 1");
    log.set_level(alog::Level::debug);

    // Source locations: the macros' and the member calls' own lines.
    line_a = __LINE__ + 1;
    ALOG_LOGGER_INFO(log, "where {}", 1);
    line_b = __LINE__ + 1;
    log.info("where {}", 2);
    want.push_back("INFO where 1 source=:" + std::to_string(line_a) + " func=main");
    want.push_back("INFO where 2 source=:" + std::to_string(line_b) + " func=main");

    EXPECT(log.log_fields(alog::Level::warn, "slow request", {{"user", "ann"}, {"ms", 1250}, {"ok", true}, {"ratio", 0.5}}) == ALOG_OK,
           "log_fields");
    want.push_back("WARN slow request user=ann ms=1250 ok=true ratio=0.5");
    EXPECT(log.log_fields(alog::Level::info, "many",
                          {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}, {"e", 5}, {"f", 6}, {"g", 7}, {"h", 8}, {"i", 9},
                           {"j", 10}, {"k", 11}, {"l", 12}, {"m", 13}, {"n", 14}, {"o", 15}, {"p", 16}, {"q", 17}}) == ALOG_OK,
           "log_fields with 17 fields");
    want.push_back("INFO many a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 p=16 q=17");
    EXPECT(log.info("{} {}", 1) == ALOG_ERR_INVALID, "a member call with a bad format logged");

    // A sink added and removed at run time.
    const std::string side = dir + "/cpp_api_side.log";
    std::remove(side.c_str());
    log.flush();
    const std::string side_name = log.add_sink({{"file.side.path", side}, {"file.side.pattern", "side {level} {msg}"}});
    EXPECT_EQ(side_name, "file.side");
    log.error("to both {}", 1);
    want.push_back("ERROR to both 1");
    log.remove_sink("file.side");
    try {
      log.remove_sink("file.side");
      EXPECT(false, "removing a removed sink did not throw");
    } catch (const alog::Error &e) {
      EXPECT_EQ(std::string(e.what()), "no sink named \"file.side\"; the logger's sinks: file");
    }
    try {
      log.add_sink({{"console", "stderr"}, {"queue_capacity", "4"}});
      EXPECT(false, "a logger-wide key in add_sink did not throw");
    } catch (const alog::Error &e) {
      EXPECT(std::string(e.what()).find("queue_capacity is a setting of the whole logger") != std::string::npos, e.what());
    }
    {
      std::ifstream in(side);
      std::string l, all;
      while (std::getline(in, l)) all += l + "\n";
      EXPECT_EQ(all, "side ERROR to both 1\n");
    }

    // Registry and default logger.
    auto shared = std::make_shared<alog::Logger>(std::move(log));
    alog::register_logger("app", shared);
    EXPECT(alog::get("app") == shared, "get(app)");
    EXPECT(alog::get("nope") == nullptr, "get(nope)");
    alog::set_default_logger(shared);
    ALOG_INFO("through the default logger {}", 7);
    ALOG_LOGGER_INFO(alog::get("app"), "through the registry {}", 8);
    want.push_back("INFO through the default logger 7");
    want.push_back("INFO through the registry 8");
    alog::drop("app");
    EXPECT(alog::get("app") == nullptr, "drop(app)");
    {
      // Another default: the macros' cached copy follows it.
      const std::string other_path = dir + "/other.log";
      std::remove(other_path.c_str());
      auto other = std::make_shared<alog::Logger>(other_path, std::initializer_list<std::pair<std::string_view, std::string_view>>{
                                                                  {"pattern", "{level} {msg}"}});
      alog::set_default_logger(other);
      ALOG_WARN("to the other default {}", 9);
      alog::set_default_logger(shared);
      ALOG_INFO("back to the first {}", 10);
      want.push_back("INFO back to the first 10");
      other->close();
      const std::vector<std::string> o = read_lines(other_path);
      EXPECT(o.size() == 1 && o[0] == "WARN to the other default 9", "the default logger did not move");
    }
    alog::set_default_logger(nullptr);
    const alog::Stats st = shared->stats();
    EXPECT(st.submitted == want.size(), "submitted " + std::to_string(st.submitted));
    EXPECT(shared->close() == ALOG_OK, "close");
  }
  EXPECT(evaluated == 1, "disabled calls evaluated their arguments: " + std::to_string(evaluated));
  // Deferred: user, +0042, 1.234e+03, loop x3, counted, where 1, default logger, registry,
  // the other default, back to the first.
  EXPECT(deferred_calls == 12, "deferred calls: " + std::to_string(deferred_calls) + ", want 12");

  std::vector<std::string> got = read_lines(path);
  for (std::string &l : got) {  // source=/path/to/cpp_api.cpp:N -> source=:N
    const size_t s = l.find(" source=");
    const size_t colon = s == std::string::npos ? s : l.find(':', s);
    if (s != std::string::npos && colon != std::string::npos) l.erase(s + 8, colon - (s + 8));
  }
  EXPECT(got.size() == want.size(), "lines: " + std::to_string(got.size()) + ", want " + std::to_string(want.size()));
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    // Deferred records and records logged with a Source carry it; compare without it except
    // for the two location records.
    std::string g = got[i];
    const size_t src = g.find(" source=");
    if (want[i].find(" source=") == std::string::npos && src != std::string::npos) {
      const size_t func = g.find(" func=", src);
      const size_t end = func == std::string::npos ? std::string::npos : g.find(' ', func + 1);
      g.erase(src, end == std::string::npos ? std::string::npos : end - src);
    }
    EXPECT_EQ(g, want[i]);
  }
  if (failures == 0) std::printf("cpp_api: ok (%zu records)\n", got.size());
  return failures ? 1 : 0;
}
