// alog vs spdlog (async) benchmark.
//
// One program, two roles:
//   * driver (default): calibrates the TSC once, then runs every
//     (scenario, logger) pair in its own child process (fork + exec of this
//     binary), one after the other, collects their results and prints a
//     markdown table (median over --runs runs for every metric).
//   * child (--child LOGGER SCENARIO ...): opens one logger, runs one scenario,
//     prints "key value" lines on stdout and exits.
//
// Loggers:
//   alog    through its C ABI (alog_open + alog_write of preformatted bytes)
//   spdlog  spdlog::async_logger + basic_file_sink_mt, own thread pool with one
//           worker, queue of the same capacity as alog's, overflow policy block.
//           The message is passed as logger->info("{}", string_view): spdlog
//           still runs one fmt pass over it on the caller side.
//
// Scenarios:
//   latency  warm-up calls, then N calls spaced by ~gap ns of busy-wait; each
//            call timed with rdtsc (calibrated to ns once by the driver), the
//            median back-to-back timer overhead subtracted from every sample.
//   burst    N calls back to back: caller ns/call, seconds from the first call
//            until the logger is flushed and closed, lines in the file.
//   mt2      two producer threads, N/2 calls each back to back.
//
// Every child also reports its peak RSS growth (ru_maxrss after close minus
// ru_maxrss just before the logger is opened; message buffers and sample
// arrays are allocated and touched before that point) and the CPU time of the
// logger's own threads (process CPU time minus the calling threads' CPU time).
// After close, the lines of the log file are counted and checked.

extern "C" {
#include "alog.h"
}

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
#else
#define BENCH_HAVE_TSC 0
#endif

#if defined(__clang__)
#define BENCH_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define BENCH_COMPILER "g++ " __VERSION__
#else
#define BENCH_COMPILER "an unknown compiler"
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// ---------------------------------------------------------------- utilities

[[noreturn]] void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("latency: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::exit(2);
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// Timestamp in "ticks". With a TSC the fences keep the surrounding code from
// being reordered across the read; without one, ticks are nanoseconds.
inline uint64_t ticks() {
#if BENCH_HAVE_TSC
  _mm_lfence();
  uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
#else
  return monotonic_ns();
#endif
}

// Nanoseconds per tick, measured against CLOCK_MONOTONIC over ~250 ms.
double calibrate_ns_per_tick() {
#if BENCH_HAVE_TSC
  const uint64_t n0 = monotonic_ns();
  const uint64_t t0 = ticks();
  uint64_t n1;
  do {
    n1 = monotonic_ns();
  } while (n1 - n0 < 250000000u);
  const uint64_t t1 = ticks();
  return double(n1 - n0) / double(t1 - t0);
#else
  return 1.0;
#endif
}

// Median cost of one back-to-back pair of ticks() reads, in ticks. Uses the
// caller's buffer as scratch so that no allocation raises the RSS high-water
// mark before the logger's baseline is read.
uint64_t measure_timer_overhead(std::vector<uint64_t> &scratch) {
  for (auto &x : scratch) {
    const uint64_t a = ticks();
    const uint64_t b = ticks();
    x = b - a;
  }
  std::nth_element(scratch.begin(), scratch.begin() + scratch.size() / 2, scratch.end());
  return scratch[scratch.size() / 2];
}

uint64_t cpu_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// CPU time the logger's own threads used: the process's CPU time over a window
// minus what the calling (producer) threads used in it.
class BackgroundCpu {
 public:
  BackgroundCpu() : process0_(cpu_ns(CLOCK_PROCESS_CPUTIME_ID)), wall0_(monotonic_ns()) {}
  void add_producer_ns(uint64_t ns) { producers_ += ns; }
  void stop() {
    process_ = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - process0_;
    wall_ = monotonic_ns() - wall0_;
  }
  void report() const {
    const uint64_t bg = process_ > producers_ ? process_ - producers_ : 0;
    std::printf("logger_cpu_ms %.3f\n", double(bg) * 1e-6);
    std::printf("logger_cpu_pct %.2f\n", 100.0 * double(bg) / double(wall_));
  }

 private:
  uint64_t process0_, wall0_;
  uint64_t producers_ = 0, process_ = 0, wall_ = 0;
};

long max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

// ---------------------------------------------------------------- messages

constexpr size_t kMsgLen = 100;

// "user {i} logged in from 10.0.{i%256}.{i%100} in {i%1000} ms, session=<16 hex>"
// padded with '.' and terminated by " ok", exactly kMsgLen bytes, no newline.
void format_message(uint64_t i, char *out) {
  const uint64_t session = (i + 1) * 0x9E3779B97F4A7C15ull;  // deterministic "random" id
  char tmp[kMsgLen + 64];
  int n = std::snprintf(tmp, sizeof tmp,
                        "user %" PRIu64 " logged in from 10.0.%u.%u in %u ms, session=%016" PRIx64 " ",
                        i, unsigned(i % 256), unsigned(i % 100), unsigned(i % 1000), session);
  if (n < 0 || size_t(n) > kMsgLen - 3) die("message prefix too long for i=%" PRIu64, i);
  std::memcpy(out, tmp, size_t(n));
  std::memset(out + n, '.', kMsgLen - 3 - size_t(n));
  std::memcpy(out + kMsgLen - 3, " ok", 3);
}

// All messages of a run, formatted up front so that no formatting happens
// inside the timed code (beyond what the logger itself does).
class Messages {
 public:
  explicit Messages(size_t count) : buf_(count * kMsgLen) {
    for (size_t i = 0; i < count; ++i) format_message(i, &buf_[i * kMsgLen]);
  }
  const char *data(size_t i) const { return &buf_[i * kMsgLen]; }
  static constexpr size_t size() { return kMsgLen; }

 private:
  std::vector<char> buf_;
};

// ---------------------------------------------------------------- loggers

struct Options {
  std::string path;
  size_t queue = 8192;
  std::vector<std::string> alog_set;  // extra "key=value" alog settings, applied last
};

class AlogLogger {
 public:
  static constexpr const char *kName = "alog";

  void open(const Options &o) {
    alog_conf *conf = alog_conf_new();
    if (!conf) die("alog_conf_new returned NULL");
    set(conf, "level", "info");
    set(conf, "format", "text");
    set(conf, "queue_capacity", std::to_string(o.queue).c_str());
    set(conf, "overflow", "block");
    set(conf, "fsync", "never");
    for (const auto &kv : o.alog_set) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) die("--alog-set wants key=value, got '%s'", kv.c_str());
      set(conf, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str());
    }
    char err[512] = "";
    alog_result r = alog_open(o.path.c_str(), conf, &lg_, err, sizeof err);
    alog_conf_free(conf);
    if (r != ALOG_OK) die("alog_open: %s: %s", alog_result_str(r), err);
  }

  void write(const char *msg, size_t len) {
    if (__builtin_expect(alog_write(lg_, ALOG_LEVEL_INFO, msg, len) != ALOG_OK, 0)) {
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Blocks until every record is in the file and the logger is closed.
  void close() {
    alog_result r = alog_flush(lg_, ALOG_TIMEOUT_INFINITE);
    if (r != ALOG_OK) std::fprintf(stderr, "latency: alog_flush: %s\n", alog_result_str(r));
    have_stats_ = alog_get_stats(lg_, &stats_) == ALOG_OK;
    r = alog_close(lg_, ALOG_TIMEOUT_INFINITE);
    if (r != ALOG_OK) std::fprintf(stderr, "latency: alog_close: %s\n", alog_result_str(r));
    lg_ = nullptr;
  }

  void report() const {
    std::printf("write_errors %" PRIu64 "\n", errors_.load());
    if (!have_stats_) return;
    std::printf("alog_submitted %" PRIu64 "\n", uint64_t(stats_.submitted));
    std::printf("alog_written %" PRIu64 "\n", uint64_t(stats_.written));
    std::printf("alog_dropped %" PRIu64 "\n", uint64_t(stats_.dropped));
    std::printf("alog_failed %" PRIu64 "\n", uint64_t(stats_.failed));
    std::printf("alog_queue_capacity %" PRIu64 "\n", uint64_t(stats_.queue_capacity));
    std::printf("alog_queue_peak %" PRIu64 "\n", uint64_t(stats_.queue_peak));
    std::printf("alog_batches %" PRIu64 "\n", uint64_t(stats_.batches));
    std::printf("alog_bytes_written %" PRIu64 "\n", uint64_t(stats_.bytes_written));
  }

 private:
  static void set(alog_conf *conf, const char *key, const char *value) {
    char err[512] = "";
    alog_result r = alog_conf_set(conf, key, value, err, sizeof err);
    if (r != ALOG_OK) die("alog_conf_set(%s=%s): %s: %s", key, value, alog_result_str(r), err);
  }

  alog_logger *lg_ = nullptr;
  std::atomic<uint64_t> errors_{0};
  alog_stats stats_{};
  bool have_stats_ = false;
};

class SpdlogLogger {
 public:
  static constexpr const char *kName = "spdlog";

  void open(const Options &o) {
    pool_ = std::make_shared<spdlog::details::thread_pool>(o.queue, 1);
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.path, /*truncate=*/true);
    logger_ = std::make_shared<spdlog::async_logger>("bench", std::move(sink), pool_,
                                                     spdlog::async_overflow_policy::block);
    // Same line shape as alog's default text format: "<ISO-8601 UTC us> <level> <msg>".
    logger_->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
    logger_->set_level(spdlog::level::info);
    logger_->flush_on(spdlog::level::off);  // never flush per record
  }

  void write(const char *msg, size_t len) { logger_->info("{}", std::string_view(msg, len)); }

  // Blocks until every record is in the file and the file is closed: the
  // queued messages own the logger, the pool's destructor drains the queue and
  // joins the worker, the last message releases the logger and so the sink.
  void close() {
    logger_->flush();
    logger_.reset();
    pool_.reset();
  }

  void report() const {}

 private:
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::async_logger> logger_;
};

// ---------------------------------------------------------------- file check

struct FileCheck {
  uint64_t lines = 0;     // '\n'-terminated lines
  uint64_t matching = 0;  // lines that carry a workload message
  uint64_t bytes = 0;
};

FileCheck check_file(const std::string &path) {
  FileCheck fc;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) die("fstat %s: %s", path.c_str(), std::strerror(errno));
  fc.bytes = uint64_t(st.st_size);
  if (st.st_size > 0) {
    void *map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) die("mmap %s: %s", path.c_str(), std::strerror(errno));
    const char *p = static_cast<const char *>(map);
    const char *end = p + st.st_size;
    static constexpr std::string_view kMarker = " logged in from 10.0.";
    while (p < end) {
      const char *nl = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
      if (!nl) break;  // unterminated tail: not a complete line
      ++fc.lines;
      std::string_view line(p, size_t(nl - p));
      if (line.find(kMarker) != std::string_view::npos && line.find(" ok") != std::string_view::npos) {
        ++fc.matching;
      }
      p = nl + 1;
    }
    munmap(map, size_t(st.st_size));
  }
  ::close(fd);
  return fc;
}

// ---------------------------------------------------------------- scenarios

struct ChildArgs {
  std::string logger, scenario, dir;
  uint64_t n = 0;
  uint64_t warmup = 20000;
  uint64_t gap_ns = 2000;
  size_t queue = 8192;
  double ns_per_tick = 0;
  bool keep = false;  // leave the log file in place
  std::vector<std::string> alog_set;
};

// rss_peak is read right after close(): check_file() maps the log file, which
// would otherwise count in the RSS.
void print_common(const ChildArgs &a, long rss_before, long rss_peak, uint64_t expected, const FileCheck &fc) {
  std::printf("rss_delta_kib %ld\n", rss_peak - rss_before);
  std::printf("expected_lines %" PRIu64 "\n", expected);
  std::printf("lines %" PRIu64 "\n", fc.lines);
  std::printf("lines_matching %" PRIu64 "\n", fc.matching);
  std::printf("file_bytes %" PRIu64 "\n", fc.bytes);
  std::printf("queue %zu\n", a.queue);
}

template <class Logger>
int run_latency(const ChildArgs &a, const Options &o) {
  const uint64_t total = a.warmup + a.n;
  Messages msgs(total);
  std::vector<uint64_t> samples(a.n, 1);  // touched now, before the RSS baseline
  const uint64_t overhead = measure_timer_overhead(samples);
  const uint64_t gap_ticks = uint64_t(double(a.gap_ns) / a.ns_per_tick);

  const long rss_before = max_rss_kib();
  BackgroundCpu bg;
  const uint64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  Logger lg;
  lg.open(o);

  uint64_t next = ticks();
  for (uint64_t i = 0; i < total; ++i) {
    while (ticks() < next) {
    }
    const uint64_t t0 = ticks();
    lg.write(msgs.data(i), Messages::size());
    const uint64_t t1 = ticks();
    if (i >= a.warmup) samples[i - a.warmup] = t1 - t0;
    next = t1 + gap_ticks;
  }
  const uint64_t c0 = ticks();
  lg.close();
  const uint64_t c1 = ticks();
  bg.add_producer_ns(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0);
  bg.stop();
  const long rss_peak = max_rss_kib();

  for (auto &s : samples) s = s > overhead ? s - overhead : 0;
  std::sort(samples.begin(), samples.end());
  auto pct = [&](double q) {
    size_t idx = size_t(std::ceil(q * double(samples.size()))) - 1;
    return double(samples[std::min(idx, samples.size() - 1)]) * a.ns_per_tick;
  };
  long double sum = 0;
  for (auto s : samples) sum += s;

  const FileCheck fc = check_file(o.path);
  std::printf("p50_ns %.1f\n", pct(0.50));
  std::printf("p90_ns %.1f\n", pct(0.90));
  std::printf("p99_ns %.1f\n", pct(0.99));
  std::printf("p999_ns %.1f\n", pct(0.999));
  std::printf("p9999_ns %.1f\n", pct(0.9999));
  const uint64_t one_us = uint64_t(1000.0 / a.ns_per_tick);
  const uint64_t over_1us = uint64_t(samples.end() - std::upper_bound(samples.begin(), samples.end(), one_us));
  std::printf("over_1us %" PRIu64 "\n", over_1us);
  std::printf("max_ns %.1f\n", double(samples.back()) * a.ns_per_tick);
  std::printf("mean_ns %.2f\n", double(sum / samples.size()) * a.ns_per_tick);
  std::printf("timer_overhead_ns %.2f\n", double(overhead) * a.ns_per_tick);
  std::printf("close_s %.6f\n", double(c1 - c0) * a.ns_per_tick * 1e-9);
  std::printf("ns_per_tick %.6f\n", a.ns_per_tick);
  bg.report();
  print_common(a, rss_before, rss_peak, total, fc);
  lg.report();
  return 0;
}

template <class Logger>
int run_burst(const ChildArgs &a, const Options &o) {
  Messages msgs(a.n);
  const long rss_before = max_rss_kib();
  BackgroundCpu bg;
  const uint64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  Logger lg;
  lg.open(o);

  const uint64_t t0 = ticks();
  for (uint64_t i = 0; i < a.n; ++i) lg.write(msgs.data(i), Messages::size());
  const uint64_t t1 = ticks();
  lg.close();
  const uint64_t t2 = ticks();
  bg.add_producer_ns(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0);
  bg.stop();
  const long rss_peak = max_rss_kib();

  const FileCheck fc = check_file(o.path);
  std::printf("ns_per_call %.2f\n", double(t1 - t0) * a.ns_per_tick / double(a.n));
  std::printf("calls_s %.6f\n", double(t1 - t0) * a.ns_per_tick * 1e-9);
  std::printf("drain_s %.6f\n", double(t2 - t1) * a.ns_per_tick * 1e-9);
  std::printf("total_s %.6f\n", double(t2 - t0) * a.ns_per_tick * 1e-9);
  bg.report();
  print_common(a, rss_before, rss_peak, a.n, fc);
  lg.report();
  return 0;
}

template <class Logger>
int run_mt2(const ChildArgs &a, const Options &o) {
  constexpr int kThreads = 2;
  const uint64_t per_thread = a.n / kThreads;
  Messages msgs(per_thread * kThreads);
  const long rss_before = max_rss_kib();
  BackgroundCpu bg;
  const uint64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  Logger lg;
  lg.open(o);

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  uint64_t start[kThreads], stop[kThreads], cpu[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t cpu0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      const uint64_t first = uint64_t(t) * per_thread;
      start[t] = ticks();
      for (uint64_t i = first; i < first + per_thread; ++i) lg.write(msgs.data(i), Messages::size());
      stop[t] = ticks();
      cpu[t] = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    });
  }
  while (ready.load() != kThreads) {
  }
  go.store(true, std::memory_order_release);
  for (auto &th : threads) th.join();
  const uint64_t c0 = ticks();
  lg.close();
  const uint64_t t2 = ticks();
  bg.add_producer_ns(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0);
  for (int t = 0; t < kThreads; ++t) bg.add_producer_ns(cpu[t]);
  bg.stop();
  const long rss_peak = max_rss_kib();

  double per_call_sum = 0;
  uint64_t first_start = start[0], last_stop = stop[0];
  for (int t = 0; t < kThreads; ++t) {
    per_call_sum += double(stop[t] - start[t]) * a.ns_per_tick / double(per_thread);
    first_start = std::min(first_start, start[t]);
    last_stop = std::max(last_stop, stop[t]);
  }
  const FileCheck fc = check_file(o.path);
  std::printf("ns_per_call %.2f\n", per_call_sum / kThreads);
  std::printf("wall_ns_per_call %.2f\n",
              double(last_stop - first_start) * a.ns_per_tick / double(per_thread * kThreads));
  std::printf("drain_s %.6f\n", double(t2 - c0) * a.ns_per_tick * 1e-9);
  std::printf("total_s %.6f\n", double(t2 - first_start) * a.ns_per_tick * 1e-9);
  bg.report();
  print_common(a, rss_before, rss_peak, per_thread * kThreads, fc);
  lg.report();
  return 0;
}

template <class Logger>
int run_child_with(const ChildArgs &a) {
  Options o;
  o.path = a.dir + "/" + Logger::kName + "-" + a.scenario + ".log";
  o.queue = a.queue;
  o.alog_set = a.alog_set;
  ::unlink(o.path.c_str());
  int rc;
  if (a.scenario == "latency") {
    rc = run_latency<Logger>(a, o);
  } else if (a.scenario == "burst") {
    rc = run_burst<Logger>(a, o);
  } else if (a.scenario == "mt2") {
    rc = run_mt2<Logger>(a, o);
  } else {
    die("unknown scenario '%s'", a.scenario.c_str());
  }
  std::fflush(stdout);
  if (!a.keep) ::unlink(o.path.c_str());
  return rc;
}

int run_child(const ChildArgs &a) {
  if (a.ns_per_tick <= 0) die("child needs --ns-per-tick");
  if (a.logger == "alog") return run_child_with<AlogLogger>(a);
  if (a.logger == "spdlog") return run_child_with<SpdlogLogger>(a);
  die("unknown logger '%s'", a.logger.c_str());
}

// ---------------------------------------------------------------- driver

using Result = std::map<std::string, double>;

struct DriverArgs {
  int runs = 1;
  uint64_t n_latency = 200000;
  uint64_t n_burst = 1000000;
  uint64_t n_mt2 = 1000000;
  uint64_t warmup = 20000;
  uint64_t gap_ns = 2000;
  size_t queue = 8192;
  std::string dir;  // parent of the temporary directory
  bool keep = false;  // keep the log files (and the temporary directory)
  std::vector<std::string> alog_set;  // extra alog configuration, for experiments
  std::vector<std::string> loggers{"alog", "spdlog"};
  std::vector<std::string> scenarios{"latency", "burst", "mt2"};
};

// Runs one child. Returns false if it failed (empty result) or if its log file
// does not hold exactly the expected lines (result kept, `problem` says why).
bool spawn_child(const DriverArgs &d, const std::string &tmpdir, double ns_per_tick,
                 const std::string &logger, const std::string &scenario, Result &out, std::string &problem) {
  const uint64_t n = scenario == "latency" ? d.n_latency : scenario == "burst" ? d.n_burst : d.n_mt2;
  char tick_buf[64];
  std::snprintf(tick_buf, sizeof tick_buf, "%.17g", ns_per_tick);
  std::vector<std::string> args = {"latency",     "--child",  logger,
                                   scenario,      "--dir",    tmpdir,
                                   "--n",         std::to_string(n),
                                   "--warmup",    std::to_string(d.warmup),
                                   "--gap-ns",    std::to_string(d.gap_ns),
                                   "--queue",     std::to_string(d.queue),
                                   "--ns-per-tick", tick_buf,
                                   "--keep",      d.keep ? "1" : "0"};
  for (const auto &kv : d.alog_set) {
    args.push_back("--alog-set");
    args.push_back(kv);
  }
  std::vector<char *> argv;
  for (auto &s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  // Exec the resolved path (not /proc/self/exe) so the child keeps this
  // program's name in ps, top and perf.
  char self[4096];
  const ssize_t self_len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (self_len <= 0) die("readlink /proc/self/exe: %s", std::strerror(errno));
  self[self_len] = '\0';

  int fds[2];
  if (pipe(fds) != 0) die("pipe: %s", std::strerror(errno));
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", std::strerror(errno));
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    execv(self, argv.data());
    std::fprintf(stderr, "latency: exec %s: %s\n", self, std::strerror(errno));
    _exit(127);
  }
  ::close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    char key[256];
    double value;
    if (std::sscanf(line, "%255s %lf", key, &value) == 2) out[key] = value;
  }
  std::fclose(f);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  char buf[256];
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::snprintf(buf, sizeof buf, "%s/%s: child process failed (wait status %d)", logger.c_str(), scenario.c_str(),
                  status);
    problem = buf;
    out.clear();
    return false;
  }
  if (out["lines"] != out["expected_lines"] || out["lines_matching"] != out["expected_lines"]) {
    std::snprintf(buf, sizeof buf, "%s/%s: the file has %.0f lines (%.0f with the message), expected %.0f",
                  logger.c_str(), scenario.c_str(), out["lines"], out["lines_matching"], out["expected_lines"]);
    problem = buf;
    return false;
  }
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Row {
  const char *scenario;
  const char *key;
  const char *metric;
  double scale;  // value multiplier for display
  int decimals;
};

const Row kRows[] = {
    {"latency", "p50_ns", "p50 (ns)", 1, 0},
    {"latency", "p99_ns", "p99 (ns)", 1, 0},
    {"latency", "p999_ns", "p99.9 (ns)", 1, 0},
    {"latency", "max_ns", "max (ns)", 1, 0},
    {"latency", "mean_ns", "mean (ns)", 1, 1},
    {"latency", "over_1us", "calls slower than 1 us", 1, 0},
    {"latency", "logger_cpu_pct", "logger threads' CPU (% of one CPU)", 1, 1},
    {"latency", "rss_delta_kib", "peak RSS growth (MiB)", 1.0 / 1024, 1},
    {"burst", "ns_per_call", "caller ns/call", 1, 1},
    {"burst", "total_s", "s until all lines in file (first call to close)", 1, 3},
    {"burst", "drain_s", "s of flush+close after the last call", 1, 3},
    {"burst", "lines", "lines counted in file", 1, 0},
    {"burst", "logger_cpu_ms", "logger threads' CPU time (ms)", 1, 0},
    {"burst", "rss_delta_kib", "peak RSS growth (MiB)", 1.0 / 1024, 1},
    {"mt2", "ns_per_call", "caller ns/call (mean of the 2 threads)", 1, 1},
    {"mt2", "wall_ns_per_call", "wall ns per record (both threads together)", 1, 1},
    {"mt2", "total_s", "s until all lines in file (first call to close)", 1, 3},
    {"mt2", "lines", "lines counted in file", 1, 0},
    {"mt2", "logger_cpu_ms", "logger threads' CPU time (ms)", 1, 0},
    {"mt2", "rss_delta_kib", "peak RSS growth (MiB)", 1.0 / 1024, 1},
};

std::string with_commas(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

std::string fmt_value(double v, const Row &row) {
  v *= row.scale;
  if (row.decimals == 0 && v >= 0) return with_commas(uint64_t(std::llround(v)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", row.decimals, v);
  return buf;
}

// "latency (200,000 calls)", "burst (1,000,000 calls)", "2 threads x 500,000 calls".
std::string row_label(const DriverArgs &d, const Row &row) {
  std::string scenario = row.scenario;
  if (scenario == "latency") scenario = "latency (" + with_commas(d.n_latency) + " calls)";
  else if (scenario == "burst") scenario = "burst (" + with_commas(d.n_burst) + " calls)";
  else if (scenario == "mt2") scenario = "2 threads x " + with_commas(d.n_mt2 / 2) + " calls";
  return scenario + ": " + row.metric;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

void usage() {
  std::puts(
      "usage: latency [--runs K] [--n-latency N] [--n-burst N] [--n-mt2 N] [--warmup N]\n"
      "               [--gap-ns NS] [--queue N] [--dir DIR] [--loggers alog,spdlog]\n"
      "               [--scenarios latency,burst,mt2] [--keep] [--alog-set KEY=VALUE]...\n"
      "Runs every (scenario, logger) pair in its own child process and prints a markdown\n"
      "table; with --runs K > 1 every cell is the median of the K runs of that metric.\n"
      "--keep leaves the log files in the temporary directory; --alog-set adds an alog\n"
      "configuration key (after the benchmark's own), e.g. --alog-set batch_size=1024.");
}

int run_driver(const DriverArgs &d) {
  if (const char *s = std::getenv("ALOG_SYNC")) {
    std::fprintf(stderr, "latency: ignoring ALOG_SYNC=%s (this benchmark measures async mode)\n", s);
    unsetenv("ALOG_SYNC");
  }
  std::string parent = d.dir;
  if (parent.empty()) parent = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string tmpl = parent + "/alog-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) die("mkdtemp %s: %s", tmpl.c_str(), std::strerror(errno));
  const std::string tmpdir = tmpl;

  const double ns_per_tick = calibrate_ns_per_tick();
  std::fprintf(stderr, "latency: timer %s, %.6f ns per tick (%.3f GHz); files in %s\n",
               BENCH_HAVE_TSC ? "rdtsc" : "clock_gettime", ns_per_tick, 1.0 / ns_per_tick, tmpdir.c_str());

  // results[run][scenario][logger]
  std::vector<std::map<std::string, std::map<std::string, Result>>> results(size_t(d.runs));
  std::vector<std::string> problems;
  for (int run = 0; run < d.runs; ++run) {
    for (const auto &scenario : d.scenarios) {
      std::vector<std::string> order = d.loggers;
      if (run % 2 == 1) std::reverse(order.begin(), order.end());  // cancel out order effects
      for (const auto &logger : order) {
        std::fprintf(stderr, "latency: run %d/%d %-7s %-6s ...", run + 1, d.runs, scenario.c_str(), logger.c_str());
        const uint64_t t0 = monotonic_ns();
        Result r;
        std::string problem;
        const bool ok = spawn_child(d, tmpdir, ns_per_tick, logger, scenario, r, problem);
        std::fprintf(stderr, " %s (%.1f s)\n", ok ? "ok" : "FAILED", double(monotonic_ns() - t0) * 1e-9);
        if (!ok) {
          std::fprintf(stderr, "latency: %s\n", problem.c_str());
          problems.push_back("run " + std::to_string(run + 1) + ": " + problem);
        }
        results[size_t(run)][scenario][logger] = std::move(r);
      }
    }
  }
  if (d.keep) {
    std::fprintf(stderr, "latency: log files kept in %s\n", tmpdir.c_str());
  } else {
    rmdir(tmpdir.c_str());
  }

  auto cell = [&](const std::string &scenario, const std::string &logger, const std::string &key, bool &found) {
    std::vector<double> v;
    for (auto &run : results) {
      auto &r = run[scenario][logger];
      auto it = r.find(key);
      if (it != r.end()) v.push_back(it->second);
    }
    found = !v.empty();
    return found ? median(v) : 0.0;
  };
  auto has = [&](const std::string &x, const std::vector<std::string> &v) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };

  const bool both = has("alog", d.loggers) && has("spdlog", d.loggers);
  std::printf("| scenario / metric | alog | spdlog async | ratio spdlog/alog |\n");
  std::printf("|---|---:|---:|---:|\n");
  for (const Row &row : kRows) {
    if (!has(row.scenario, d.scenarios)) continue;
    bool fa = false, fs = false;
    const double a = has("alog", d.loggers) ? cell(row.scenario, "alog", row.key, fa) : 0;
    const double s = has("spdlog", d.loggers) ? cell(row.scenario, "spdlog", row.key, fs) : 0;
    std::string ratio = "n/a";
    if (both && fa && fs && a > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", s / a);
      ratio = buf;
    }
    std::printf("| %s | %s | %s | %s |\n", row_label(d, row).c_str(), fa ? fmt_value(a, row).c_str() : "—",
                fs ? fmt_value(s, row).c_str() : "—", ratio.c_str());
  }

  // Notes: the numbers a reader needs to interpret the table.
  std::printf("\n");
  for (const auto &p : problems) std::printf("- **FAILED** %s.\n", p.c_str());
  bool f = false;
  double overhead = 0;
  for (const auto &logger : d.loggers) {
    double o = cell("latency", logger, "timer_overhead_ns", f);
    if (f) overhead = o;
  }
  std::printf("- Timer: %s calibrated once against CLOCK_MONOTONIC (%.3f GHz)", BENCH_HAVE_TSC ? "rdtsc" : "clock_gettime",
              1.0 / ns_per_tick);
  if (has("latency", d.scenarios)) {
    std::printf("; the median back-to-back timer overhead (%.1f ns) is subtracted from every latency sample", overhead);
  }
  std::printf(".\n");
  std::printf("- Latency: %s timed calls after %s warm-up calls, ~%" PRIu64
              " ns busy-wait between calls. Queue capacity %zu records for both loggers, overflow policy block,"
              " alog fsync never; one spdlog worker thread.\n",
              with_commas(d.n_latency).c_str(), with_commas(d.warmup).c_str(), d.gap_ns, d.queue);
  std::printf("- Message: %zu preformatted bytes (\"user {i} logged in from 10.0.{i%%256}.{i%%100} in {i%%1000} ms,"
              " session=<hex> ...... ok\"), the same bytes for both; alog_write(lg, ALOG_LEVEL_INFO, buf, len) vs"
              " spdlog logger->info(\"{}\", string_view) (spdlog still runs a format pass).\n",
              kMsgLen);
  std::printf("- Versions: alog %s, spdlog %d.%d.%d with fmt %d.%d.%d, compiled by " BENCH_COMPILER " -O2.\n",
              alog_version(), SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH, FMT_VERSION / 10000,
              FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  for (const auto &kv : d.alog_set) std::printf("- Extra alog setting: `%s`.\n", kv.c_str());
  if (d.runs > 1) std::printf("- Each cell is the median of %d runs of that metric (per-run values below).\n", d.runs);
  if (has("alog", d.loggers)) {
    double qc = cell("burst", "alog", "alog_queue_capacity", f);
    if (f) std::printf("- alog reported queue_capacity %.0f", qc);
    double qp = cell("burst", "alog", "alog_queue_peak", f);
    if (f) std::printf(", queue_peak %.0f in the burst", qp);
    double b = cell("burst", "alog", "alog_batches", f);
    if (f) std::printf(", %.0f batches for %s records", b, with_commas(d.n_burst).c_str());
    std::printf(".\n");
  }

  if (d.runs > 1) {
    std::printf("\n<details><summary>Per-run values</summary>\n\n| scenario / metric |");
    for (const auto &logger : d.loggers)
      for (int run = 0; run < d.runs; ++run) std::printf(" %s #%d |", logger.c_str(), run + 1);
    std::printf("\n|---|");
    for (size_t i = 0; i < d.loggers.size() * size_t(d.runs); ++i) std::printf("---:|");
    std::printf("\n");
    for (const Row &row : kRows) {
      if (!has(row.scenario, d.scenarios)) continue;
      std::printf("| %s |", row_label(d, row).c_str());
      for (const auto &logger : d.loggers) {
        for (int run = 0; run < d.runs; ++run) {
          auto &r = results[size_t(run)][row.scenario][logger];
          auto it = r.find(row.key);
          std::printf(" %s |", it == r.end() ? "—" : fmt_value(it->second, row).c_str());
        }
      }
      std::printf("\n");
    }
    std::printf("\n</details>\n");
  }
  return problems.empty() ? 0 : 1;
}

uint64_t parse_u64(const char *s, const char *what) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end) die("bad value for %s: '%s'", what, s);
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc >= 4 && std::strcmp(argv[1], "--child") == 0) {
    ChildArgs a;
    a.logger = argv[2];
    a.scenario = argv[3];
    for (int i = 4; i + 1 < argc; i += 2) {
      const std::string k = argv[i];
      const char *v = argv[i + 1];
      if (k == "--dir") a.dir = v;
      else if (k == "--n") a.n = parse_u64(v, "--n");
      else if (k == "--warmup") a.warmup = parse_u64(v, "--warmup");
      else if (k == "--gap-ns") a.gap_ns = parse_u64(v, "--gap-ns");
      else if (k == "--queue") a.queue = parse_u64(v, "--queue");
      else if (k == "--ns-per-tick") a.ns_per_tick = std::strtod(v, nullptr);
      else if (k == "--keep") a.keep = std::strcmp(v, "1") == 0;
      else if (k == "--alog-set") a.alog_set.push_back(v);
      else die("unknown child option %s", k.c_str());
    }
    return run_child(a);
  }

  DriverArgs d;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "-h" || k == "--help") {
      usage();
      return 0;
    }
    if (k == "--keep") {
      d.keep = true;
      continue;
    }
    if (i + 1 >= argc) die("option %s needs a value (see --help)", k.c_str());
    const char *v = argv[++i];
    if (k == "--runs") d.runs = int(parse_u64(v, "--runs"));
    else if (k == "--n-latency") d.n_latency = parse_u64(v, "--n-latency");
    else if (k == "--n-burst") d.n_burst = parse_u64(v, "--n-burst");
    else if (k == "--n-mt2") d.n_mt2 = parse_u64(v, "--n-mt2");
    else if (k == "--warmup") d.warmup = parse_u64(v, "--warmup");
    else if (k == "--gap-ns") d.gap_ns = parse_u64(v, "--gap-ns");
    else if (k == "--queue") d.queue = parse_u64(v, "--queue");
    else if (k == "--dir") d.dir = v;
    else if (k == "--alog-set") d.alog_set.push_back(v);
    else if (k == "--loggers") d.loggers = split(v);
    else if (k == "--scenarios") d.scenarios = split(v);
    else die("unknown option %s (see --help)", k.c_str());
  }
  if (d.runs < 1) die("--runs must be >= 1");
  if (d.n_latency == 0 || d.n_burst == 0 || d.n_mt2 < 2) die("counts must be positive");
  for (auto &l : d.loggers)
    if (l != "alog" && l != "spdlog") die("unknown logger '%s'", l.c_str());
  for (auto &s : d.scenarios)
    if (s != "latency" && s != "burst" && s != "mt2") die("unknown scenario '%s'", s.c_str());
  return run_driver(d);
}
