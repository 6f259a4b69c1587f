// The alog benchmark: alog beside every peer, on one workload, in one run.
//
// One program, two roles:
//   * driver (default): calibrates the TSC once, then runs every
//     (scenario, logger) pair in a child process of its own, one after the
//     other: this binary (fork + exec of itself) for the C and C++ loggers,
//     the Rust binary of bench/rust (--rust-bin) for the Rust ones. It checks
//     every log file, computes the latency percentiles and prints one markdown
//     table per scenario with every logger in it (median over --runs runs).
//   * child (--child LOGGER SCENARIO ...): opens one logger, runs one
//     scenario, closes the logger and prints "key value" lines on stdout.
//
// Child protocol (the same for both binaries):
//   argv:  --child LOGGER SCENARIO --file PATH --n N --warmup W --gap-ns G
//          --queue Q --ns-per-tick T [--samples PATH] [--alog-set K=V]...
//          (--alog-set only for this binary's alog loggers)
//   The child writes the log to PATH; when it returns from its close, every
//   line the logger accepted is in the file. It prints, per scenario:
//     latency  timer_overhead_ticks, close_s; raw ticks of each of the N timed
//              calls (native-endian uint64) written to the --samples file
//     burst    ns_per_call, calls_s, drain_s, total_s
//     mt2/mt4  ns_per_call (mean of the 2 / 4 producers), wall_ns_per_call,
//              drain_s, total_s
//     all      logger_cpu_ms, logger_cpu_pct, rss_delta_kib, and what the
//              logger knows about itself (dropped, alog_* statistics)
//   The driver reads the samples and the file: percentiles, lines, lines
//   carrying a valid workload message, duplicates, per-producer order.
//
// Workload: "user {i} logged in from 10.0.{i%256}.{i%100} in {i%1000} ms" at
// INFO, every line with a timestamp and the level, each logger formatting it
// its own idiomatic way (see kLoggers and `alog-bench-peers --list`).
//
// Scenarios:
//   latency  warm-up calls, then N calls spaced by ~gap ns of busy-wait; each
//            call timed with rdtsc (calibrated to ns once by the driver), the
//            median back-to-back timer overhead subtracted from every sample.
//   burst    N calls back to back: caller ns/call, seconds from the first call
//            until the logger is flushed and closed, lines in the file.
//   mt2      two producer threads, N/2 calls each back to back.
//   mt4      four producer threads, N/4 calls each back to back.
//
// Every child also reports its peak RSS growth (ru_maxrss after close minus
// ru_maxrss just before the logger is opened; buffers and sample arrays are
// allocated and touched before that point) and the CPU time of the logger's
// own threads (process CPU time minus the calling threads' CPU time).

extern "C" {
#include "alog.h"
}

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

// Quill (header-only), compiled in when bench/run.sh finds its headers
// (QUILL_DIR, or ../shared/peers/quill beside the repository).
#ifdef ALOG_BENCH_QUILL
#include <quill/Backend.h>
#include <quill/Frontend.h>
#include <quill/LogMacros.h>
#include <quill/Logger.h>
#include <quill/sinks/FileSink.h>
#endif

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

// Heap allocations made by each thread, counted by interposing malloc & co
// over glibc's (the C ABI's Rust code and spdlog allocate through them): the
// "caller allocs/call" columns. A trivially-constructed thread_local of the
// executable lives in static TLS, so counting never allocates itself.
extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);
}
namespace {
thread_local uint64_t t_allocs = 0;
}
extern "C" {
void *malloc(size_t n) {
  ++t_allocs;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  ++t_allocs;
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  ++t_allocs;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
void *aligned_alloc(size_t align, size_t n) {
  ++t_allocs;
  return __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n) {
  ++t_allocs;
  return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
  ++t_allocs;
  void *p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}

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

// ---------------------------------------------------------------- loggers

struct Options {
  std::string path;
  size_t queue = 8192;
  std::vector<std::string> alog_set;  // extra "key=value" alog settings, applied last
};

// alog through its C ABI; the subclasses differ only in the call that logs.
class AlogBase {
 public:
  void prepare(uint64_t) {}

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
    std::printf("dropped %" PRIu64 "\n", uint64_t(stats_.dropped));
    std::printf("alog_submitted %" PRIu64 "\n", uint64_t(stats_.submitted));
    std::printf("alog_written %" PRIu64 "\n", uint64_t(stats_.written));
    std::printf("alog_failed %" PRIu64 "\n", uint64_t(stats_.failed));
    std::printf("alog_queue_capacity %" PRIu64 "\n", uint64_t(stats_.queue_capacity));
    std::printf("alog_queue_peak %" PRIu64 "\n", uint64_t(stats_.queue_peak));
    std::printf("alog_batches %" PRIu64 "\n", uint64_t(stats_.batches));
    std::printf("alog_bytes_written %" PRIu64 "\n", uint64_t(stats_.bytes_written));
  }

 protected:
  void count(alog_result r) {
    if (__builtin_expect(r != ALOG_OK, 0)) errors_.fetch_add(1, std::memory_order_relaxed);
  }

  alog_logger *lg_ = nullptr;

 private:
  static void set(alog_conf *conf, const char *key, const char *value) {
    char err[512] = "";
    alog_result r = alog_conf_set(conf, key, value, err, sizeof err);
    if (r != ALOG_OK) die("alog_conf_set(%s=%s): %s: %s", key, value, alog_result_str(r), err);
  }

  std::atomic<uint64_t> errors_{0};
  alog_stats stats_{};
  bool have_stats_ = false;
};

// The engine issue's target call: alog_write of a 100-byte message formatted
// before any timing (the workload's text plus a session id and padding).
class AlogWrite100 : public AlogBase {
 public:
  static constexpr size_t kLen = 100;

  // "user {i} logged in from 10.0.{i%256}.{i%100} in {i%1000} ms, session=<16 hex>"
  // padded with '.' and terminated by " ok", exactly kLen bytes, no newline.
  void prepare(uint64_t n) {
    buf_.assign(n * kLen, 0);
    for (uint64_t i = 0; i < n; ++i) {
      char *out = &buf_[i * kLen];
      const uint64_t session = (i + 1) * 0x9E3779B97F4A7C15ull;  // deterministic "random" id
      char tmp[kLen + 64];
      int len = std::snprintf(tmp, sizeof tmp,
                              "user %" PRIu64 " logged in from 10.0.%u.%u in %u ms, session=%016" PRIx64 " ", i,
                              unsigned(i % 256), unsigned(i % 100), unsigned(i % 1000), session);
      if (len < 0 || size_t(len) > kLen - 3) die("message prefix too long for i=%" PRIu64, i);
      std::memcpy(out, tmp, size_t(len));
      std::memset(out + len, '.', kLen - 3 - size_t(len));
      std::memcpy(out + kLen - 3, " ok", 3);
    }
  }

  void log(uint64_t i) { count(alog_write(lg_, ALOG_LEVEL_INFO, &buf_[i * kLen], kLen)); }

 private:
  std::vector<char> buf_;
};

// alog-write100 with durability=mmap: every record is also copied into the memory-mapped
// journal beside the log before alog_write returns (what surviving kill -9 costs).
class AlogWrite100Mmap : public AlogWrite100 {
 public:
  void open(const Options &o) {
    Options m = o;
    m.alog_set.insert(m.alog_set.begin(), "durability=mmap");
    AlogWrite100::open(m);
  }
};

// The workload formatted by the caller with snprintf, then alog_write.
class AlogSnprintf : public AlogBase {
 public:
  void log(uint64_t i) {
    char buf[128];
    const int n = std::snprintf(buf, sizeof buf, "user %" PRIu64 " logged in from 10.0.%u.%u in %u ms", i,
                                unsigned(i % 256), unsigned(i % 100), unsigned(i % 1000));
    count(alog_write(lg_, ALOG_LEVEL_INFO, buf, size_t(n)));
  }
};

#ifdef ALOG_LOGF
// The workload through the deferred-formatting macro: the call copies four
// integers, the writer thread formats them.
class AlogLogf : public AlogBase {
 public:
  void log(uint64_t i) {
    ALOG_LOGF(lg_, ALOG_LEVEL_INFO, "user %d logged in from 10.0.%d.%d in %d ms", int(i), int(i % 256),
              int(i % 100), int(i % 1000));
  }
};

// alog-logf with a queue sized to hold the whole burst and made resident when the logger opens
// (queue_prefault): what a program that must never wait for the writer configures. Quill's
// default queues grow instead; this one is reserved up front (its RSS column shows the cost).
class AlogLogfReserved : public AlogLogf {
 public:
  void open(const Options &o) {
    Options m = o;
    m.alog_set.insert(m.alog_set.begin(), {"queue_capacity=1048576", "queue_prefault=true"});
    AlogLogf::open(m);
  }
};
#endif

// Both spdlog loggers write "<ISO-8601 UTC us> <level> <msg>", the line shape
// of alog's text format, and never flush per record.
class SpdlogBase {
 public:
  void prepare(uint64_t) {}

  void log(uint64_t i) {
    logger_->info("user {} logged in from 10.0.{}.{} in {} ms", i, i % 256, i % 100, i % 1000);
  }

  void report() const {}

 protected:
  void configure() {
    logger_->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
    logger_->set_level(spdlog::level::info);
    logger_->flush_on(spdlog::level::off);
  }

  std::shared_ptr<spdlog::logger> logger_;
};

// spdlog::async_logger with its own thread pool of one worker, a queue of the
// same capacity as alog's and overflow policy block.
class SpdlogAsync : public SpdlogBase {
 public:
  void open(const Options &o) {
    pool_ = std::make_shared<spdlog::details::thread_pool>(o.queue, 1);
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.path, /*truncate=*/true);
    logger_ = std::make_shared<spdlog::async_logger>("bench", std::move(sink), pool_,
                                                     spdlog::async_overflow_policy::block);
    configure();
  }

  // Blocks until every record is in the file and the file is closed: the
  // queued messages own the logger, the pool's destructor drains the queue and
  // joins the worker, the last message releases the logger and so the sink.
  void close() {
    logger_->flush();
    logger_.reset();
    pool_.reset();
  }

 private:
  std::shared_ptr<spdlog::details::thread_pool> pool_;
};

// spdlog's synchronous logger: the caller formats and writes into the sink's
// stdio buffer under the sink's mutex.
class SpdlogSync : public SpdlogBase {
 public:
  void open(const Options &o) {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.path, /*truncate=*/true);
    logger_ = std::make_shared<spdlog::logger>("bench", std::move(sink));
    configure();
  }

  void close() {
    logger_->flush();
    logger_.reset();
  }
};

#ifdef ALOG_BENCH_QUILL
// Quill with every option at its default: the backend thread started with the
// default BackendOptions, a FileSink with the default FileSinkConfig, the
// default PatternFormatterOptions (local time, ns, thread id, source location,
// "LOG_INFO", logger name) and the default FrontendOptions (one queue per
// producing thread, UnboundedBlocking: 128 KiB at first, growing up to 2 GiB,
// so the --queue capacity does not apply).
class Quill {
 public:
  void prepare(uint64_t) {}

  void open(const Options &o) {
    quill::Backend::start();
    auto sink = quill::Frontend::create_or_get_sink<quill::FileSink>(o.path);
    logger_ = quill::Frontend::create_or_get_logger("bench", std::move(sink));
  }

  void log(uint64_t i) {
    LOG_INFO(logger_, "user {} logged in from 10.0.{}.{} in {} ms", i, i % 256, i % 100, i % 1000);
  }

  // Blocks until every record is written and the sink flushed (flush_log),
  // then stops and joins the backend thread.
  void close() {
    logger_->flush_log();
    quill::Backend::stop();
    logger_ = nullptr;
  }

  void report() const {}

 private:
  quill::Logger *logger_ = nullptr;
};
#endif

// ---------------------------------------------------------------- child

struct ChildArgs {
  std::string logger, scenario, file, samples;
  uint64_t n = 0;
  uint64_t warmup = 20000;
  uint64_t gap_ns = 2000;
  size_t queue = 8192;
  double ns_per_tick = 0;
  std::vector<std::string> alog_set;
};

template <class Logger>
int run_latency(const ChildArgs &a, const Options &o) {
  if (a.samples.empty()) die("the latency scenario needs --samples");
  const uint64_t total = a.warmup + a.n;
  std::vector<uint64_t> samples(a.n, 1);  // touched now, before the RSS baseline
  const uint64_t overhead = measure_timer_overhead(samples);
  const uint64_t gap_ticks = uint64_t(double(a.gap_ns) / a.ns_per_tick);
  Logger lg;
  lg.prepare(total);

  const long rss_before = max_rss_kib();
  BackgroundCpu bg;
  const uint64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  lg.open(o);

  uint64_t next = ticks();
  uint64_t allocs0 = t_allocs;
  for (uint64_t i = 0; i < total; ++i) {
    if (i == a.warmup) allocs0 = t_allocs;
    while (ticks() < next) {
    }
    const uint64_t t0 = ticks();
    lg.log(i);
    const uint64_t t1 = ticks();
    if (i >= a.warmup) samples[i - a.warmup] = t1 - t0;
    next = t1 + gap_ticks;
  }
  const uint64_t allocs = t_allocs - allocs0;
  const uint64_t c0 = ticks();
  lg.close();
  const uint64_t c1 = ticks();
  bg.add_producer_ns(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0);
  bg.stop();
  const long rss_peak = max_rss_kib();

  FILE *f = std::fopen(a.samples.c_str(), "wb");
  if (!f || std::fwrite(samples.data(), sizeof samples[0], samples.size(), f) != samples.size() ||
      std::fclose(f) != 0) {
    die("write %s: %s", a.samples.c_str(), std::strerror(errno));
  }
  std::printf("caller_allocs %" PRIu64 "\n", allocs);
  std::printf("timer_overhead_ticks %" PRIu64 "\n", overhead);
  std::printf("close_s %.6f\n", double(c1 - c0) * a.ns_per_tick * 1e-9);
  std::printf("rss_delta_kib %ld\n", rss_peak - rss_before);
  bg.report();
  lg.report();
  return 0;
}

template <class Logger>
int run_burst(const ChildArgs &a, const Options &o) {
  Logger lg;
  lg.prepare(a.n);
  const long rss_before = max_rss_kib();
  BackgroundCpu bg;
  const uint64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  lg.open(o);

  const uint64_t allocs0 = t_allocs;
  const uint64_t t0 = ticks();
  for (uint64_t i = 0; i < a.n; ++i) lg.log(i);
  const uint64_t t1 = ticks();
  const uint64_t allocs = t_allocs - allocs0;
  lg.close();
  const uint64_t t2 = ticks();
  bg.add_producer_ns(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0);
  bg.stop();
  const long rss_peak = max_rss_kib();

  std::printf("caller_allocs %" PRIu64 "\n", allocs);
  std::printf("ns_per_call %.2f\n", double(t1 - t0) * a.ns_per_tick / double(a.n));
  std::printf("calls_s %.6f\n", double(t1 - t0) * a.ns_per_tick * 1e-9);
  std::printf("drain_s %.6f\n", double(t2 - t1) * a.ns_per_tick * 1e-9);
  std::printf("total_s %.6f\n", double(t2 - t0) * a.ns_per_tick * 1e-9);
  std::printf("rss_delta_kib %ld\n", rss_peak - rss_before);
  bg.report();
  lg.report();
  return 0;
}

// Producer threads of a scenario: mt2 2, mt4 4, the others 1.
int producers_of(const std::string &scenario) { return scenario == "mt2" ? 2 : scenario == "mt4" ? 4 : 1; }

template <class Logger>
int run_mt(const ChildArgs &a, const Options &o, const int kThreads) {
  const uint64_t per_thread = a.n / uint64_t(kThreads);
  Logger lg;
  lg.prepare(per_thread * kThreads);
  const long rss_before = max_rss_kib();
  BackgroundCpu bg;
  const uint64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  lg.open(o);

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  const size_t n_threads = size_t(kThreads);
  std::vector<uint64_t> start(n_threads), stop(n_threads), cpu(n_threads), allocs(n_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t cpu0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      const uint64_t first = uint64_t(t) * per_thread;
      const uint64_t allocs0 = t_allocs;
      start[t] = ticks();
      for (uint64_t i = first; i < first + per_thread; ++i) lg.log(i);
      stop[t] = ticks();
      allocs[t] = t_allocs - allocs0;
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
  uint64_t first_start = start[0], last_stop = stop[0], allocs_sum = 0;
  for (int t = 0; t < kThreads; ++t) {
    per_call_sum += double(stop[t] - start[t]) * a.ns_per_tick / double(per_thread);
    first_start = std::min(first_start, start[t]);
    last_stop = std::max(last_stop, stop[t]);
    allocs_sum += allocs[t];
  }
  std::printf("caller_allocs %" PRIu64 "\n", allocs_sum);
  std::printf("ns_per_call %.2f\n", per_call_sum / kThreads);
  std::printf("wall_ns_per_call %.2f\n",
              double(last_stop - first_start) * a.ns_per_tick / double(per_thread * kThreads));
  std::printf("drain_s %.6f\n", double(t2 - c0) * a.ns_per_tick * 1e-9);
  std::printf("total_s %.6f\n", double(t2 - first_start) * a.ns_per_tick * 1e-9);
  std::printf("rss_delta_kib %ld\n", rss_peak - rss_before);
  bg.report();
  lg.report();
  return 0;
}

template <class Logger>
int run_child_with(const ChildArgs &a) {
  Options o;
  o.path = a.file;
  o.queue = a.queue;
  o.alog_set = a.alog_set;
  ::unlink(o.path.c_str());
  int rc;
  if (a.scenario == "latency") {
    rc = run_latency<Logger>(a, o);
  } else if (a.scenario == "burst") {
    rc = run_burst<Logger>(a, o);
  } else if (a.scenario == "mt2" || a.scenario == "mt4") {
    rc = run_mt<Logger>(a, o, producers_of(a.scenario));
  } else {
    die("unknown scenario '%s'", a.scenario.c_str());
  }
  std::fflush(stdout);
  return rc;
}

int run_child(const ChildArgs &a) {
  if (a.ns_per_tick <= 0) die("child needs --ns-per-tick");
  if (a.file.empty()) die("child needs --file");
  if (a.logger == "alog-write100") return run_child_with<AlogWrite100>(a);
  if (a.logger == "alog-write100-mmap") return run_child_with<AlogWrite100Mmap>(a);
  if (a.logger == "alog-snprintf") return run_child_with<AlogSnprintf>(a);
#ifdef ALOG_LOGF
  if (a.logger == "alog-logf") return run_child_with<AlogLogf>(a);
  if (a.logger == "alog-logf-reserved") return run_child_with<AlogLogfReserved>(a);
#endif
  if (a.logger == "spdlog-async") return run_child_with<SpdlogAsync>(a);
  if (a.logger == "spdlog-sync") return run_child_with<SpdlogSync>(a);
#ifdef ALOG_BENCH_QUILL
  if (a.logger == "quill") return run_child_with<Quill>(a);
#endif
  die("unknown logger '%s' for this binary", a.logger.c_str());
}

// ---------------------------------------------------------------- driver

using Result = std::map<std::string, double>;

enum class Runner { kSelf, kRust };

struct LoggerInfo {
  const char *name;   // on the command line and in file names
  Runner runner;      // which binary runs its child
  bool lossy;         // drops lines by design when its queue is full
  const char *label;  // table row
  const char *chart;  // chart label (no markdown, no quotes)
  const char *about;  // how it is set up (Rust loggers: from `alog-bench-peers --list`)
};

const LoggerInfo kLoggers[] = {
    {"alog-logf", Runner::kSelf, false, "alog `ALOG_LOGF` (C)", "alog ALOG_LOGF",
     "`ALOG_LOGF(lg, ALOG_LEVEL_INFO, \"user %d logged in from 10.0.%d.%d in %d ms\", ...)`: four integers copied, "
     "formatted on alog's writer thread"},
    {"alog-logf-reserved", Runner::kSelf, false, "alog `ALOG_LOGF`, queue reserved (C)", "alog ALOG_LOGF reserved",
     "`alog-logf` with `queue_capacity=1048576` and `queue_prefault=true`: a queue that holds the whole burst, "
     "its 256 MiB made resident when the logger opens, so that no call waits for the writer or for a fresh page"},
    {"alog-snprintf", Runner::kSelf, false, "alog `snprintf` + `alog_write` (C)", "alog snprintf+write",
     "the caller formats the message with `snprintf` into a stack buffer, then `alog_write`"},
    {"alog-write100", Runner::kSelf, false, "alog `alog_write`, 100 B preformatted (C)", "alog write 100 B",
     "`alog_write` of a 100-byte message formatted before the timing (the workload text + `, session=<hex> ... ok`): "
     "the engine issue's reference call, not the same work as the other rows"},
    {"alog-write100-mmap", Runner::kSelf, false, "alog `alog_write`, 100 B, `durability=mmap` (C)",
     "alog write 100 B mmap",
     "`alog-write100` with `durability=mmap`: each record is also copied into the memory-mapped journal beside "
     "the log (and committed) before `alog_write` returns, so that it survives `kill -9`"},
    {"alog-rs", Runner::kRust, false, "alog Rust API", "alog Rust", nullptr},
    {"alog-tracing", Runner::kRust, false, "alog as a `tracing` layer (Rust)", "alog tracing layer", nullptr},
    {"alog-log", Runner::kRust, false, "alog behind the `log` facade (Rust)", "alog log facade", nullptr},
    {"quill", Runner::kSelf, false, "Quill `LOG_INFO` (C++, default options)", "Quill LOG_INFO",
     "`LOG_INFO(logger, \"user {} logged in from 10.0.{}.{} in {} ms\", ...)` with every Quill option at its "
     "default: `Backend::start()` (default `BackendOptions`), a `FileSink` with the default `FileSinkConfig`, "
     "the default `PatternFormatterOptions` (`%(time) [%(thread_id)] %(short_source_location:<28) "
     "LOG_%(log_level:<9) %(logger:<12) %(message)%(mdc)`, local time with ns) and the default `FrontendOptions`: "
     "one queue per producing thread, `UnboundedBlocking`, 128 KiB at first and growing up to 2 GiB (so not the "
     "8192-record queue of the other rows); closed by `flush_log()` then `Backend::stop()`"},
    {"spdlog-async", Runner::kSelf, false, "spdlog async (C++)", "spdlog async",
     "`spdlog::async_logger`, own thread pool of one worker, `basic_file_sink_mt`, overflow policy block, "
     "`logger->info(\"user {} logged in from 10.0.{}.{} in {} ms\", ...)` (fmt runs on the caller), pattern "
     "`%Y-%m-%dT%H:%M:%S.%fZ %l %v`"},
    {"spdlog-sync", Runner::kSelf, false, "spdlog sync (C++)", "spdlog sync",
     "`spdlog::logger` with a `basic_file_sink_mt` (stdio-buffered file under a mutex), same call and pattern"},
    {"spdlog-rs", Runner::kRust, false, "spdlog-rs async pool", "spdlog-rs", nullptr},
    {"tracing-nb", Runner::kRust, false, "tracing-appender `non_blocking`", "tracing non_blocking", nullptr},
    {"tracing-nb-lossy", Runner::kRust, true, "tracing-appender `non_blocking`, lossy", "tracing lossy", nullptr},
    {"ftlog", Runner::kRust, false, "ftlog (blocking)", "ftlog", nullptr},
    {"mutex-bufwriter", Runner::kRust, false, "`Mutex<BufWriter<File>>` (Rust, sync)", "Mutex BufWriter", nullptr},
};

const LoggerInfo *find_logger(const std::string &name) {
  for (const auto &l : kLoggers)
    if (name == l.name) return &l;
  return nullptr;
}

// Why a logger of this binary is not in it (nullptr: it is).
const char *missing_reason(const LoggerInfo &l) {
#ifndef ALOG_LOGF
  if (std::strncmp(l.name, "alog-logf", 9) == 0) return "this alog.h has no ALOG_LOGF";
#endif
#ifndef ALOG_BENCH_QUILL
  if (std::strcmp(l.name, "quill") == 0) return "this driver was built without Quill (see QUILL_DIR in bench/run.sh)";
#endif
  (void)l;
  return nullptr;
}

bool built_in(const LoggerInfo &l) { return l.runner == Runner::kSelf && !missing_reason(l); }

struct DriverArgs {
  int runs = 1;
  uint64_t n_latency = 200000;
  uint64_t n_burst = 1000000;
  uint64_t n_mt2 = 1000000;
  uint64_t n_mt4 = 1000000;
  uint64_t warmup = 20000;
  uint64_t gap_ns = 2000;
  size_t queue = 8192;
  std::string dir;       // parent of the temporary directory
  std::string rust_bin;  // the alog-bench-peers binary (Rust loggers)
  std::string summary;   // where to write the README summary (table + charts)
  bool keep = false;     // keep the log files (and the temporary directory)
  std::vector<std::string> alog_set;  // extra alog configuration, for experiments
  std::vector<std::string> loggers;   // empty: every available one
  std::vector<std::string> scenarios{"latency", "burst", "mt2", "mt4"};

  uint64_t n_for(const std::string &scenario) const {
    return scenario == "latency" ? n_latency : scenario == "burst" ? n_burst : scenario == "mt2" ? n_mt2 : n_mt4;
  }
};

std::string self_exe() {
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) die("readlink /proc/self/exe: %s", std::strerror(errno));
  self[len] = '\0';
  return self;
}

// Runs `exe args...` with stdout into a pipe; returns its exit status (-1 if
// it did not exit normally) and its stdout.
int run_capture(const std::string &exe, std::vector<std::string> args, std::string &out) {
  std::vector<char *> argv;
  for (auto &s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
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
    execv(exe.c_str(), argv.data());
    std::fprintf(stderr, "latency: exec %s: %s\n", exe.c_str(), std::strerror(errno));
    _exit(127);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof buf)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      die("read from child: %s", std::strerror(errno));
    }
    out.append(buf, size_t(got));
  }
  ::close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// What the driver finds in a log file written by a child.
struct FileCheck {
  uint64_t lines = 0;         // '\n'-terminated lines
  uint64_t valid = 0;         // lines carrying a distinct, well-formed workload message
  uint64_t duplicates = 0;    // well-formed messages seen before
  uint64_t out_of_order = 0;  // messages before an earlier one of the same producer
  uint64_t malformed = 0;     // anything else (no level, wrong numbers, unknown text)
  uint64_t bytes = 0;
};

// Parses decimal digits at p; advances p. False if there is none.
bool parse_digits(const char *&p, const char *end, uint64_t &v) {
  const char *start = p;
  v = 0;
  while (p < end && *p >= '0' && *p <= '9' && p - start < 19) v = v * 10 + uint64_t(*p++ - '0');
  return p > start;
}

bool expect(const char *&p, const char *end, std::string_view s) {
  if (size_t(end - p) < s.size() || std::memcmp(p, s.data(), s.size()) != 0) return false;
  p += s.size();
  return true;
}

// Record i was logged by producer i / per_producer, in increasing i.
FileCheck check_log(const std::string &path, uint64_t n, uint64_t producers) {
  FileCheck fc;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) die("fstat %s: %s", path.c_str(), std::strerror(errno));
  fc.bytes = uint64_t(st.st_size);
  const uint64_t per_producer = std::max<uint64_t>(1, n / producers);
  std::vector<bool> seen(n);
  std::vector<uint64_t> last(producers, UINT64_MAX);
  if (st.st_size > 0) {
    void *map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) die("mmap %s: %s", path.c_str(), std::strerror(errno));
    const char *p = static_cast<const char *>(map);
    const char *file_end = p + st.st_size;
    while (p < file_end) {
      const char *nl = static_cast<const char *>(std::memchr(p, '\n', size_t(file_end - p)));
      if (!nl) {  // unterminated tail: not a complete line
        ++fc.malformed;
        break;
      }
      ++fc.lines;
      const std::string_view line(p, size_t(nl - p));
      p = nl + 1;
      const size_t user = line.find("user ");
      bool ok = user != std::string_view::npos && user > 0;
      if (ok) {  // a level word before the message
        const std::string_view head = line.substr(0, user);
        ok = head.find("INFO") != std::string_view::npos || head.find("info") != std::string_view::npos;
      }
      uint64_t i = 0, a = 0, b = 0, c = 0;
      if (ok) {
        const char *q = line.data() + user + 5;
        const char *end = line.data() + line.size();
        ok = parse_digits(q, end, i) && expect(q, end, " logged in from 10.0.") && parse_digits(q, end, a) &&
             expect(q, end, ".") && parse_digits(q, end, b) && expect(q, end, " in ") && parse_digits(q, end, c) &&
             expect(q, end, " ms") && i < n && a == i % 256 && b == i % 100 && c == i % 1000;
      }
      if (!ok) {
        ++fc.malformed;
        continue;
      }
      if (seen[i]) {
        ++fc.duplicates;
        continue;
      }
      seen[i] = true;
      ++fc.valid;
      const uint64_t producer = std::min(i / per_producer, producers - 1);
      if (last[producer] != UINT64_MAX && i < last[producer]) ++fc.out_of_order;
      last[producer] = i;
    }
    munmap(map, size_t(st.st_size));
  }
  ::close(fd);
  return fc;
}

// Latency statistics from the child's raw samples (ticks).
void latency_stats(const std::string &path, uint64_t n, double ns_per_tick, Result &r) {
  std::vector<uint64_t> s(n);
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) die("open %s: %s", path.c_str(), std::strerror(errno));
  const size_t got = std::fread(s.data(), sizeof s[0], n, f);
  std::fclose(f);
  if (got != n) die("%s holds %zu samples, expected %" PRIu64, path.c_str(), got, n);
  const uint64_t overhead = uint64_t(r["timer_overhead_ticks"]);
  for (auto &x : s) x = x > overhead ? x - overhead : 0;
  std::sort(s.begin(), s.end());
  auto pct = [&](double q) {
    size_t idx = size_t(std::ceil(q * double(n))) - 1;
    return double(s[std::min(idx, s.size() - 1)]) * ns_per_tick;
  };
  long double sum = 0;
  for (auto x : s) sum += x;
  r["p50_ns"] = pct(0.50);
  r["p90_ns"] = pct(0.90);
  r["p99_ns"] = pct(0.99);
  r["p999_ns"] = pct(0.999);
  r["p9999_ns"] = pct(0.9999);
  r["max_ns"] = double(s.back()) * ns_per_tick;
  r["mean_ns"] = double(sum / n) * ns_per_tick;
  const uint64_t one_us = uint64_t(1000.0 / ns_per_tick);
  r["over_1us"] = double(s.end() - std::upper_bound(s.begin(), s.end(), one_us));
  r["timer_overhead_ns"] = double(overhead) * ns_per_tick;
}

// Runs one child and checks what it wrote. Returns false if it failed (empty
// result) or if its log file is not what the logger promises (result kept,
// `problem` says why).
bool run_one(const DriverArgs &d, const std::string &tmpdir, double ns_per_tick, const LoggerInfo &lg,
             const std::string &scenario, Result &out, std::string &problem) {
  const uint64_t n = d.n_for(scenario);
  const std::string base = tmpdir + "/" + lg.name + "-" + scenario;
  const std::string file = base + ".log", samples = base + ".samples";
  char tick_buf[64];
  std::snprintf(tick_buf, sizeof tick_buf, "%.17g", ns_per_tick);
  const std::string exe = lg.runner == Runner::kSelf ? self_exe() : d.rust_bin;
  std::vector<std::string> args = {
      lg.runner == Runner::kSelf ? "latency" : "alog-bench-peers",
      "--child", lg.name, scenario, "--file", file, "--n", std::to_string(n),
      "--warmup", std::to_string(d.warmup), "--gap-ns", std::to_string(d.gap_ns),
      "--queue", std::to_string(d.queue), "--ns-per-tick", tick_buf};
  if (scenario == "latency") {
    args.push_back("--samples");
    args.push_back(samples);
  }
  if (lg.runner == Runner::kSelf) {
    for (const auto &kv : d.alog_set) {
      args.push_back("--alog-set");
      args.push_back(kv);
    }
  }
  std::string text;
  const int rc = run_capture(exe, args, text);
  char buf[512];
  if (rc != 0) {
    std::snprintf(buf, sizeof buf, "%s/%s: child process failed (exit status %d)", lg.name, scenario.c_str(), rc);
    problem = buf;
    out.clear();
    ::unlink(file.c_str());
    ::unlink(samples.c_str());
    return false;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    char key[256];
    double value;
    if (std::sscanf(text.substr(pos, eol - pos).c_str(), "%255s %lf", key, &value) == 2) out[key] = value;
    pos = eol + 1;
  }
  if (scenario == "latency") latency_stats(samples, n, ns_per_tick, out);
  if (out.count("caller_allocs")) out["allocs_per_call"] = out["caller_allocs"] / double(n);

  const uint64_t producers = uint64_t(producers_of(scenario));
  const uint64_t expected = scenario == "latency" ? d.warmup + n : n / producers * producers;
  const FileCheck fc = check_log(file, expected, producers);
  if (!d.keep) {
    ::unlink(file.c_str());
    ::unlink(samples.c_str());
  }
  out["expected_lines"] = double(expected);
  out["lines"] = double(fc.lines);
  out["lines_valid"] = double(fc.valid);
  out["lines_lost"] = double(expected - fc.valid);
  out["file_bytes"] = double(fc.bytes);
  if (fc.malformed || fc.duplicates || fc.out_of_order) {
    std::snprintf(buf, sizeof buf,
                  "%s/%s: %" PRIu64 " malformed lines, %" PRIu64 " duplicates, %" PRIu64
                  " messages out of their producer's order",
                  lg.name, scenario.c_str(), fc.malformed, fc.duplicates, fc.out_of_order);
    problem = buf;
    return false;
  }
  if (!lg.lossy && fc.valid != expected) {
    std::snprintf(buf, sizeof buf, "%s/%s: the file has %" PRIu64 " of the %" PRIu64 " lines", lg.name,
                  scenario.c_str(), fc.valid, expected);
    problem = buf;
    return false;
  }
  auto dropped = out.find("dropped");
  if (dropped != out.end() && uint64_t(dropped->second) != expected - fc.valid) {
    std::snprintf(buf, sizeof buf, "%s/%s: the logger counted %.0f dropped lines, the file misses %" PRIu64, lg.name,
                  scenario.c_str(), dropped->second, expected - fc.valid);
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

std::string with_commas(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

struct Col {
  const char *key;
  const char *head;
  double scale;  // value multiplier for display
  int decimals;
};

std::string fmt_value(double v, const Col &c) {
  v *= c.scale;
  if (c.decimals == 0 && v >= 0) return with_commas(uint64_t(std::llround(v)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", c.decimals, v);
  return buf;
}

struct ScenarioTable {
  const char *scenario;
  std::vector<Col> cols;
  std::vector<Col> ratios;  // "x alog" columns: the logger's value / the reference alog's
};

// Columns that more than one scenario shows.
const Col kTotalS{"total_s", "s until all lines in file", 1, 3};
const Col kLinesValid{"lines_valid", "lines written", 1, 0};
const Col kLinesLost{"lines_lost", "lines lost", 1, 0};
const Col kAllocs{"allocs_per_call", "caller allocs/call", 1, 2};
const Col kCpuMs{"logger_cpu_ms", "logger threads' CPU ms", 1, 0};
const Col kRss{"rss_delta_kib", "peak RSS growth MiB", 1.0 / 1024, 1};
const std::vector<Col> kThreadCols{{"ns_per_call", "caller ns/call", 1, 1}, {"wall_ns_per_call", "wall ns/record", 1, 1},
                                   kTotalS, kLinesValid, kLinesLost, kAllocs, kCpuMs, kRss};
const std::vector<Col> kThroughputRatios{{"ns_per_call", "ns/call", 1, 0}, {"total_s", "s to file", 1, 0}};

const ScenarioTable kTables[] = {
    {"latency",
     {{"p50_ns", "p50 ns", 1, 0},
      {"p99_ns", "p99 ns", 1, 0},
      {"p999_ns", "p99.9 ns", 1, 0},
      {"p9999_ns", "p99.99 ns", 1, 0},
      {"max_ns", "max ns", 1, 0},
      {"mean_ns", "mean ns", 1, 1},
      {"over_1us", "calls > 1 us", 1, 0},
      kAllocs,
      {"logger_cpu_pct", "logger threads' CPU %", 1, 1},
      kRss},
     {{"p50_ns", "p50", 1, 0}, {"p999_ns", "p99.9", 1, 0}}},
    {"burst",
     {{"ns_per_call", "caller ns/call", 1, 1}, kTotalS, {"drain_s", "s of flush+close", 1, 3}, kLinesValid, kLinesLost,
      kAllocs, kCpuMs, kRss},
     kThroughputRatios},
    {"mt2", kThreadCols, kThroughputRatios},
    {"mt4", kThreadCols, kThroughputRatios},
};

std::string scenario_title(const DriverArgs &d, const std::string &scenario) {
  if (scenario == "latency")
    return "Latency: " + with_commas(d.n_latency) + " calls, ~" + with_commas(d.gap_ns) + " ns apart";
  if (scenario == "burst") return "Burst: " + with_commas(d.n_burst) + " calls back to back";
  if (scenario == "mt2") return "Two producer threads: 2 x " + with_commas(d.n_mt2 / 2) + " calls back to back";
  return "Four producer threads: 4 x " + with_commas(d.n_mt4 / 4) + " calls back to back";
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
      "usage: latency [--runs K] [--n-latency N] [--n-burst N] [--n-mt2 N] [--n-mt4 N] [--warmup N]\n"
      "               [--gap-ns NS] [--queue N] [--dir DIR] [--rust-bin PATH] [--loggers A,B,...]\n"
      "               [--scenarios latency,burst,mt2,mt4] [--summary FILE] [--keep] [--alog-set KEY=VALUE]...\n"
      "Runs every (scenario, logger) pair in its own child process and prints one markdown\n"
      "table per scenario; with --runs K > 1 every cell is the median of the K runs.\n"
      "Loggers: alog-logf (when alog.h has ALOG_LOGF), alog-snprintf, alog-write100, alog-write100-mmap,\n"
      "quill (when built with -DALOG_BENCH_QUILL), spdlog-async, spdlog-sync, and with\n"
      "--rust-bin (bench/rust): alog-rs, alog-tracing, alog-log, spdlog-rs,\n"
      "tracing-nb, tracing-nb-lossy, ftlog, mutex-bufwriter. Default: every available one.\n"
      "--summary writes a short table and Mermaid charts for the README; --keep leaves the\n"
      "log files in the temporary directory; --alog-set adds an alog configuration key to\n"
      "the C alog loggers, e.g. --alog-set batch_size=1024.\n"
      "latency --check FILE N PRODUCERS runs the driver's check of a log file alone.");
}

// "Rust: name<TAB>about" lines of `alog-bench-peers --list`.
std::map<std::string, std::string> rust_descriptions(const std::string &rust_bin) {
  std::map<std::string, std::string> out;
  std::string text;
  if (run_capture(rust_bin, {"alog-bench-peers", "--list"}, text) != 0) die("%s --list failed", rust_bin.c_str());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 1);
    pos = eol + 1;
  }
  return out;
}

// A Mermaid horizontal bar chart (renders on GitHub) of one metric.
void print_chart(FILE *f, const std::string &title, const std::string &axis,
                 const std::vector<std::pair<std::string, double>> &bars) {
  if (bars.empty()) return;
  double top = 0;
  for (const auto &b : bars) top = std::max(top, b.second);
  const double mag = std::pow(10.0, std::floor(std::log10(std::max(top, 1.0))));
  top = std::ceil(top * 1.05 / mag * 2) * mag / 2;  // a round axis end just above the largest bar
  std::fprintf(f, "```mermaid\nxychart-beta horizontal\n    title \"%s\"\n    x-axis [", title.c_str());
  for (size_t i = 0; i < bars.size(); ++i) std::fprintf(f, "%s\"%s\"", i ? ", " : "", bars[i].first.c_str());
  std::fprintf(f, "]\n    y-axis \"%s\" 0 --> %.0f\n    bar [", axis.c_str(), top);
  for (size_t i = 0; i < bars.size(); ++i) std::fprintf(f, "%s%.*f", i ? ", " : "", bars[i].second < 10 ? 1 : 0,
                                                        bars[i].second);
  std::fprintf(f, "]\n```\n");
}

// The hot-path issue's targets against this run's medians. `cell(scenario,
// Whether the logger called `name` is in this run.
bool present_logger(const std::vector<const LoggerInfo *> &loggers, const char *name) {
  for (const LoggerInfo *l : loggers)
    if (std::strcmp(l->name, name) == 0) return true;
  return false;
}

// The goals of the Quill issue, each measured side by side in this run: printed when Quill and
// an alog row are in it. `cell(scenario, logger, key, found)` is the median of a metric.
template <class Cell>
void print_quill_goals(const DriverArgs &d, const std::vector<const LoggerInfo *> &loggers, Cell &cell) {
  auto present = [&](const char *name) { return present_logger(loggers, name); };
  if (!present("quill")) return;
  auto get = [&](const char *sc, const char *logger, const char *key, double &v) {
    bool f = false;
    if (!present(logger) || std::find(d.scenarios.begin(), d.scenarios.end(), sc) == d.scenarios.end()) return false;
    v = cell(sc, logger, key, f);
    return f;
  };
  std::printf("### Goals against Quill, in this run\n\n| goal | alog | peer | alog / peer | |\n|---|---:|---:|---:|---|\n");
  auto verdict = [](bool ok) { return ok ? "met" : "**not met**"; };
  // alog's value against `factor` x the peer's: lower is better.
  auto at_most = [&](const char *what, const char *sc, const char *logger, const char *peer, const char *key,
                     double factor, const char *unit) {
    double a = 0, q = 0;
    if (!get(sc, logger, key, a) || !get(sc, peer, key, q) || q <= 0) return;
    std::printf("| %s | %.1f %s | %.1f %s | %.2fx | %s |\n", what, a, unit, q, unit, a / q, verdict(a <= factor * q));
  };
  at_most("`ALOG_LOGF` p50 at most Quill's", "latency", "alog-logf", "quill", "p50_ns", 1, "ns");
  at_most("`ALOG_LOGF` p99.9 at most Quill's", "latency", "alog-logf", "quill", "p999_ns", 1, "ns");
  at_most("burst: `ALOG_LOGF` caller at most 0.75x Quill's", "burst", "alog-logf", "quill", "ns_per_call", 0.75,
          "ns/call");
  at_most("burst: `ALOG_LOGF`, queue reserved, caller at most 0.75x Quill's", "burst", "alog-logf-reserved", "quill",
          "ns_per_call", 0.75, "ns/call");
  at_most("`snprintf` + `alog_write` p50 at most half of spdlog async's", "latency", "alog-snprintf", "spdlog-async",
          "p50_ns", 0.5, "ns");
  double w = 0;
  if (get("latency", "alog-write100", "p50_ns", w))
    std::printf("| `alog_write` p50 at most 20 ns | %.1f ns | — | — | %s |\n", w, verdict(w <= 20));
  // Scaling: the 1-thread burst's ns per call over the 4-thread wall ns per record (above 1:
  // four threads put records in faster than one).
  auto scaling = [&](const char *logger, double &v) {
    double one = 0, four = 0;
    if (!get("burst", logger, "ns_per_call", one) || !get("mt4", logger, "wall_ns_per_call", four) || four <= 0)
      return false;
    v = one / four;
    return true;
  };
  double qs = 0;
  if (scaling("quill", qs)) {
    for (const char *lg : {"alog-logf", "alog-logf-reserved"}) {
      double as = 0;
      if (scaling(lg, as))
        std::printf("| 4 threads scale at least as well as Quill (`%s`; 1-thread burst ns/call over 4-thread wall "
                    "ns/record) | %.2fx | %.2fx | %.2fx | %s |\n",
                    lg, as, qs, as / qs, verdict(as >= qs));
    }
  }
  double qt = 0;
  if (get("burst", "quill", "total_s", qt) && qt > 0) {
    for (const char *lg : {"alog-logf", "alog-logf-reserved"}) {
      double at = 0;
      if (get("burst", lg, "total_s", at) && at > 0)
        std::printf("| end-to-end lines/s at least Quill's (`%s`, burst until every line is in the file) | %.2f M/s | "
                    "%.2f M/s | %.2fx | %s |\n",
                    lg, double(d.n_burst) / at * 1e-6, double(d.n_burst) / qt * 1e-6, qt / at, verdict(at <= qt));
    }
  }
  std::printf("\n");
}

// logger, key, found)` is the median of a metric.
template <class Cell>
void print_targets(const DriverArgs &d, const std::vector<const LoggerInfo *> &loggers, Cell &cell, double raw_s,
                   double raw_bytes) {
  auto present = [&](const char *name) { return present_logger(loggers, name); };
  if (!present("alog-write100") && !present("alog-logf")) return;
  auto has_scenario = [&](const char *s) { return std::find(d.scenarios.begin(), d.scenarios.end(), s) != d.scenarios.end(); };
  std::printf("### Targets of the hot-path issue, in this run\n\n| target | measured | |\n|---|---|---|\n");
  auto verdict = [](bool ok) { return ok ? "met" : "**not met**"; };
  auto row_max = [&](const char *logger, const char *scenario, const char *key, double limit, const char *what,
                     const char *unit) {
    bool f = false;
    const double v = present(logger) && has_scenario(scenario) ? cell(scenario, logger, key, f) : 0;
    if (!present(logger)) {
      std::printf("| %s <= %g %s | not measured: %s | — |\n", what, limit, unit,
                  std::strcmp(logger, "alog-logf") == 0 && !built_in(*find_logger(logger))
                      ? "this alog.h has no `ALOG_LOGF`"
                      : "logger not in this run");
    } else if (f) {
      std::printf("| %s <= %g %s | %.*f %s | %s |\n", what, limit, unit, v < 100 ? 1 : 0, v, unit, verdict(v <= limit));
    }
  };
  row_max("alog-write100", "latency", "p50_ns", 20, "`alog_write` of a 100-byte message: p50", "ns");
  row_max("alog-logf", "latency", "p50_ns", 25, "`ALOG_LOGF` with four integers: p50", "ns");
  row_max("alog-write100", "latency", "p999_ns", 150, "`alog_write` of a 100-byte message: p99.9", "ns");
  row_max("alog-logf", "latency", "p999_ns", 150, "`ALOG_LOGF` with four integers: p99.9", "ns");
  const std::string burst = "burst of " + with_commas(d.n_burst) + " `ALOG_LOGF` calls";
  row_max("alog-logf", "burst", "ns_per_call", 40, (burst + ": caller ns/call").c_str(), "ns");
  bool f = false;
  if (present("alog-logf") && has_scenario("burst")) {
    const double lines = cell("burst", "alog-logf", "lines_valid", f);
    if (f)
      std::printf("| %s: every line written | %s of %s lines | %s |\n", burst.c_str(), with_commas(uint64_t(lines)).c_str(),
                  with_commas(d.n_burst).c_str(), verdict(uint64_t(lines) == d.n_burst));
  }
  if (present("alog-write100") && has_scenario("burst")) {
    const double total = cell("burst", "alog-write100", "total_s", f);
    if (f && total > 0) {
      const double rate = double(d.n_burst) / total;
      std::printf("| end to end (`alog_write` 100 B burst, first call until all lines in the file): >= 10 M lines/s, "
                  "or within 2x of a raw sequential write of the same bytes | %.1f M lines/s (%.3f s); raw write(2) "
                  "of the same %.0f MB in 1 MiB chunks: %.3f s (%.2f GB/s), alog takes %.1fx | %s |\n",
                  rate * 1e-6, total, raw_bytes * 1e-6, raw_s, raw_bytes / raw_s * 1e-9, total / raw_s,
                  verdict(rate >= 10e6 || total <= 2 * raw_s));
    }
  }
  // Met when no alog row allocates once per 1,000 calls; any allocation at all is listed.
  std::string allocs;
  bool per_call = false, any = false;
  for (const LoggerInfo *l : loggers) {
    if (std::strncmp(l->name, "alog", 4) != 0) continue;
    for (const char *sc : {"latency", "burst", "mt2", "mt4"}) {
      const double v = has_scenario(sc) ? cell(sc, l->name, "caller_allocs", f) : 0;
      if (!f) continue;
      any = true;
      const uint64_t calls = d.n_for(sc);
      per_call = per_call || v * 1000 >= double(calls);
      if (v != 0)
        allocs += std::string(allocs.empty() ? "" : ", ") + l->name + "/" + sc + ": " + with_commas(uint64_t(v)) +
                  " in " + with_commas(calls) + " calls";
    }
  }
  if (any)
    std::printf("| no heap allocation per call (allocations on the calling threads) | %s | %s |\n",
                allocs.empty() ? "none in any alog row and scenario" : allocs.c_str(), verdict(!per_call));
  if (has_scenario("burst")) {
    std::string rss;
    for (const LoggerInfo *l : loggers) {
      if (std::strncmp(l->name, "alog", 4) != 0) continue;
      const double v = cell("burst", l->name, "rss_delta_kib", f);
      if (f) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "%s%s %.1f MiB", rss.empty() ? "" : ", ", l->name, v / 1024);
        rss += buf;
      }
    }
    if (!rss.empty())
      std::printf("| memory bounded by the queue's capacity (%zu records) | peak RSS growth in the burst: %s "
                  "| not judged here: compare with the other RSS columns |\n",
                  d.queue, rss.c_str());
  }
  std::printf("\n");
}

// Seconds to write `bytes` bytes sequentially, 1 MiB per write(2), into a new
// file in `dir` and close it (no fsync): the page-cache bound of a log writer.
double raw_write_s(const std::string &dir, uint64_t bytes) {
  const std::string path = dir + "/raw-write.bin";
  std::vector<char> chunk(1 << 20, 'x');
  for (size_t i = 99; i < chunk.size(); i += 100) chunk[i] = '\n';
  const uint64_t t0 = monotonic_ns();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  for (uint64_t done = 0; done < bytes;) {
    const size_t n = size_t(std::min<uint64_t>(chunk.size(), bytes - done));
    const ssize_t w = ::write(fd, chunk.data(), n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write %s: %s", path.c_str(), std::strerror(errno));
    done += uint64_t(w);
  }
  if (::close(fd) != 0) die("close %s: %s", path.c_str(), std::strerror(errno));
  const double s = double(monotonic_ns() - t0) * 1e-9;
  ::unlink(path.c_str());
  return s;
}

int run_driver(DriverArgs &d) {
  if (const char *s = std::getenv("ALOG_SYNC")) {
    std::fprintf(stderr, "latency: ignoring ALOG_SYNC=%s (this benchmark measures async mode)\n", s);
    unsetenv("ALOG_SYNC");
  }
  if (!d.rust_bin.empty() && access(d.rust_bin.c_str(), X_OK) != 0)
    die("--rust-bin %s: %s", d.rust_bin.c_str(), std::strerror(errno));
  std::vector<const LoggerInfo *> loggers;
  if (d.loggers.empty()) {
    for (const auto &l : kLoggers)
      if (built_in(l) || (l.runner == Runner::kRust && !d.rust_bin.empty())) loggers.push_back(&l);
  } else {
    for (const auto &name : d.loggers) {
      const LoggerInfo *l = find_logger(name);
      if (!l) die("unknown logger '%s' (see --help)", name.c_str());
      if (l->runner == Runner::kRust && d.rust_bin.empty()) die("logger %s needs --rust-bin", name.c_str());
      if (l->runner == Runner::kSelf && !built_in(*l)) die("logger %s: %s", name.c_str(), missing_reason(*l));
      loggers.push_back(l);
    }
  }
  std::map<std::string, std::string> about;
  for (const auto &l : kLoggers)
    if (l.about) about[l.name] = l.about;
  if (!d.rust_bin.empty())
    for (auto &kv : rust_descriptions(d.rust_bin)) about[kv.first] = kv.second;

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
      std::vector<const LoggerInfo *> order = loggers;
      if (run % 2 == 1) std::reverse(order.begin(), order.end());  // cancel out order effects
      for (const LoggerInfo *lg : order) {
        std::fprintf(stderr, "latency: run %d/%d %-7s %-16s ...", run + 1, d.runs, scenario.c_str(), lg->name);
        const uint64_t t0 = monotonic_ns();
        Result r;
        std::string problem;
        const bool ok = run_one(d, tmpdir, ns_per_tick, *lg, scenario, r, problem);
        std::fprintf(stderr, " %s (%.1f s)\n", ok ? "ok" : "FAILED", double(monotonic_ns() - t0) * 1e-9);
        if (!ok) {
          std::fprintf(stderr, "latency: %s\n", problem.c_str());
          problems.push_back("run " + std::to_string(run + 1) + ": " + problem);
        }
        results[size_t(run)][scenario][lg->name] = std::move(r);
      }
    }
  }
  // The raw-write reference for the end-to-end target: the bytes alog_write's burst wrote.
  double raw_s = 0, raw_bytes = 0;
  {
    std::vector<double> bytes;
    for (auto &run : results) {
      auto &r = run["burst"]["alog-write100"];
      if (r.count("file_bytes")) bytes.push_back(r["file_bytes"]);
    }
    if (!bytes.empty()) {
      raw_bytes = median(bytes);
      std::vector<double> times;
      for (int i = 0; i < 3; ++i) times.push_back(raw_write_s(tmpdir, uint64_t(raw_bytes)));
      raw_s = median(times);
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
  // Ratios are against alog on the same workload: ALOG_LOGF when present, else snprintf + alog_write.
  const LoggerInfo *ref = nullptr;
  for (const char *name : {"alog-logf", "alog-snprintf", "alog-rs", "alog-write100"}) {
    for (const LoggerInfo *l : loggers)
      if (!ref && std::strcmp(l->name, name) == 0) ref = l;
  }

  for (const ScenarioTable &t : kTables) {
    if (!has(t.scenario, d.scenarios)) continue;
    std::printf("### %s\n\n| logger |", scenario_title(d, t.scenario).c_str());
    for (const Col &c : t.cols) std::printf(" %s |", c.head);
    if (ref)
      for (const Col &c : t.ratios) std::printf(" %s vs %s |", c.head, ref->name);
    std::printf("\n|---|");
    for (size_t i = 0; i < t.cols.size() + (ref ? t.ratios.size() : 0); ++i) std::printf("---:|");
    std::printf("\n");
    for (const LoggerInfo *lg : loggers) {
      std::printf("| %s |", lg->label);
      for (const Col &c : t.cols) {
        bool f = false;
        const double v = cell(t.scenario, lg->name, c.key, f);
        std::printf(" %s |", f ? fmt_value(v, c).c_str() : "—");
      }
      if (ref) {
        for (const Col &c : t.ratios) {
          bool f1 = false, f2 = false;
          const double v = cell(t.scenario, lg->name, c.key, f1);
          const double r = cell(t.scenario, ref->name, c.key, f2);
          if (f1 && f2 && r > 0) {
            std::printf(" %.*fx |", v / r < 10 ? 2 : v / r < 100 ? 1 : 0, v / r);
          } else {
            std::printf(" — |");
          }
        }
      }
      std::printf("\n");
    }
    std::printf("\n");
  }

  print_targets(d, loggers, cell, raw_s, raw_bytes);
  print_quill_goals(d, loggers, cell);
  const bool has_quill = present_logger(loggers, "quill");

  // Notes: the numbers a reader needs to interpret the tables.
  for (const auto &p : problems) std::printf("- **FAILED** %s.\n", p.c_str());
  bool f = false;
  double overhead = 0;
  for (const LoggerInfo *lg : loggers) {
    double o = cell("latency", lg->name, "timer_overhead_ns", f);
    if (f) overhead = o;
  }
  std::printf("- Timer: %s calibrated once against CLOCK_MONOTONIC (%.3f GHz)",
              BENCH_HAVE_TSC ? "rdtsc" : "clock_gettime", 1.0 / ns_per_tick);
  if (has("latency", d.scenarios)) {
    std::printf("; the median back-to-back timer overhead (%.1f ns) is subtracted from every latency sample", overhead);
  }
  std::printf(".\n");
  std::printf("- Latency: %s timed calls after %s warm-up calls, ~%" PRIu64
              " ns busy-wait between calls. Every asynchronous logger has a queue of %zu records and blocks "
              "when it is full (except the lossy one, which drops%s%s); alog fsync never.\n",
              with_commas(d.n_latency).c_str(), with_commas(d.warmup).c_str(), d.gap_ns, d.queue,
              has_quill ? ", and Quill, whose default per-thread queues grow from 128 KiB up to 2 GiB" : "",
              present_logger(loggers, "alog-logf-reserved")
                  ? ", and the reserved `ALOG_LOGF` row, whose queue holds 1,048,576 records, resident from the start"
                  : "");
  std::printf("- Workload: `user {i} logged in from 10.0.{i%%256}.{i%%100} in {i%%1000} ms` at INFO, every line with "
              "a timestamp and the level; each file is checked line by line by the driver (message intact, no "
              "duplicate, each producer's order kept), \"lines written\" counts the intact messages.\n");
  if (ref)
    std::printf("- \"vs %s\" columns: the logger's value divided by %s's (above 1 = slower or bigger).\n", ref->name,
                ref->label);
  std::printf("- Versions: alog %s, spdlog %d.%d.%d with fmt %d.%d.%d", alog_version(), SPDLOG_VER_MAJOR,
              SPDLOG_VER_MINOR, SPDLOG_VER_PATCH, FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
#ifdef ALOG_BENCH_QUILL
  std::printf(", Quill %u.%u.%u (header-only)", unsigned(quill::VersionMajor), unsigned(quill::VersionMinor),
              unsigned(quill::VersionPatch));
#endif
  std::printf(", compiled by " BENCH_COMPILER " -O2.\n");
  for (const auto &kv : d.alog_set) std::printf("- Extra alog setting: `%s`.\n", kv.c_str());
  if (d.runs > 1) std::printf("- Each cell is the median of %d runs (per-run values below).\n", d.runs);
  for (const LoggerInfo *lg : loggers) {
    if (std::strncmp(lg->name, "alog", 4) != 0 || !has("burst", d.scenarios)) continue;
    double qc = cell("burst", lg->name, "alog_queue_capacity", f);
    if (!f) continue;
    std::printf("- %s in the burst: queue_capacity %.0f, queue_peak %.0f, %.0f batches.\n", lg->label, qc,
                cell("burst", lg->name, "alog_queue_peak", f), cell("burst", lg->name, "alog_batches", f));
  }
  std::printf("\nLoggers:\n\n");
  for (const LoggerInfo *lg : loggers) {
    auto it = about.find(lg->name);
    std::printf("- %s (`%s`): %s.\n", lg->label, lg->name, it == about.end() ? "(no description)" : it->second.c_str());
  }

  if (d.runs > 1) {
    std::printf("\n<details><summary>Per-run values</summary>\n\n");
    for (const ScenarioTable &t : kTables) {
      if (!has(t.scenario, d.scenarios)) continue;
      std::printf("%s\n\n| logger |", scenario_title(d, t.scenario).c_str());
      for (const Col &c : t.ratios)
        for (int run = 0; run < d.runs; ++run) std::printf(" %s #%d |", c.head, run + 1);
      std::printf("\n|---|");
      for (size_t i = 0; i < t.ratios.size() * size_t(d.runs); ++i) std::printf("---:|");
      std::printf("\n");
      for (const LoggerInfo *lg : loggers) {
        std::printf("| %s |", lg->label);
        for (const Col &c0 : t.ratios) {
          const Col *c = &c0;
          for (const Col &full : t.cols)
            if (std::strcmp(full.key, c0.key) == 0) c = &full;  // display as in the main table
          for (int run = 0; run < d.runs; ++run) {
            auto &r = results[size_t(run)][t.scenario][lg->name];
            auto it = r.find(c->key);
            std::printf(" %s |", it == r.end() ? "—" : fmt_value(it->second, *c).c_str());
          }
        }
        std::printf("\n");
      }
      std::printf("\n");
    }
    std::printf("</details>\n");
  }

  if (!d.summary.empty()) {
    FILE *sf = std::fopen(d.summary.c_str(), "w");
    if (!sf) die("open %s: %s", d.summary.c_str(), std::strerror(errno));
    struct SumCol {
      const char *scenario, *key;
      std::string head;
      Col fmt;
    };
    const std::string burst_n = with_commas(d.n_burst);
    const SumCol cols[] = {
        {"latency", "p50_ns", "latency p50", {"", "", 1, 0}},
        {"latency", "p999_ns", "latency p99.9", {"", "", 1, 0}},
        {"burst", "ns_per_call", "burst of " + burst_n + ": ns/call", {"", "", 1, 0}},
        {"burst", "total_s", "burst: s until all " + burst_n + " lines in file", {"", "", 1, 3}},
        {"mt2", "ns_per_call", "2 threads: ns/call", {"", "", 1, 0}},
        {"mt4", "ns_per_call", "4 threads: ns/call", {"", "", 1, 0}},
        {"burst", "rss_delta_kib", "peak RSS growth (burst)", {"", "", 1.0 / 1024, 1}},
    };
    std::fprintf(sf,
                 "Every logger writes the same lines (`user {i} logged in from 10.0.{i%%256}.{i%%100} in {i%%1000} "
                 "ms`\nwith a timestamp and the level) to a file; the asynchronous ones have a queue of %zu records "
                 "and\nblock when it is full, except the lossy one%s%s.\n\n",
                 d.queue, has_quill ? " and Quill (its default per-thread queues grow up to 2 GiB)" : "",
                 present_logger(loggers, "alog-logf-reserved")
                     ? "; the reserved `ALOG_LOGF` row's queue holds 1,048,576 records, resident from the start"
                     : "");
    std::fprintf(sf, "| logger |");
    for (const SumCol &c : cols)
      if (has(c.scenario, d.scenarios)) std::fprintf(sf, " %s |", c.head.c_str());
    std::fprintf(sf, "\n|---|");
    for (const SumCol &c : cols)
      if (has(c.scenario, d.scenarios)) std::fprintf(sf, "---:|");
    std::fprintf(sf, "\n");
    for (const LoggerInfo *lg : loggers) {
      std::fprintf(sf, "| %s |", lg->label);
      for (const SumCol &c : cols) {
        if (!has(c.scenario, d.scenarios)) continue;
        const double v = cell(c.scenario, lg->name, c.key, f);
        std::string s = f ? fmt_value(v, c.fmt) : "—";
        if (f) s += std::strcmp(c.key, "total_s") == 0 ? " s" : std::strcmp(c.key, "rss_delta_kib") == 0 ? " MiB" : " ns";
        if (f && lg->lossy && std::strcmp(c.key, "total_s") == 0) {
          const double lost = cell(c.scenario, lg->name, "lines_lost", f);
          if (lost > 0) s += " (" + with_commas(uint64_t(lost)) + " lost)";
        }
        std::fprintf(sf, " %s |", s.c_str());
      }
      std::fprintf(sf, "\n");
    }
    auto chart = [&](const char *scenario, const char *key, const std::string &title, const char *axis) {
      if (!has(scenario, d.scenarios)) return;
      std::vector<std::pair<std::string, double>> bars;
      for (const LoggerInfo *lg : loggers) {
        const double v = cell(scenario, lg->name, key, f);
        if (f) bars.emplace_back(lg->chart, v);
      }
      std::fprintf(sf, "\n");
      print_chart(sf, title, axis, bars);
    };
    chart("latency", "p50_ns", "Latency p50, one call every ~2 us (ns, lower is better)", "ns");
    chart("latency", "p999_ns", "Latency p99.9, one call every ~2 us (ns, lower is better)", "ns");
    chart("burst", "ns_per_call", "Burst of " + with_commas(d.n_burst) + " calls: caller ns per call (lower is better)",
          "ns per call");
    std::fclose(sf);
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
  // The driver's file check on its own, for testing it: --check FILE N PRODUCERS.
  if (argc == 5 && std::strcmp(argv[1], "--check") == 0) {
    const uint64_t producers = parse_u64(argv[4], "PRODUCERS");
    if (producers == 0) die("PRODUCERS must be positive");
    const FileCheck fc = check_log(argv[2], parse_u64(argv[3], "N"), producers);
    std::printf("lines %" PRIu64 "\nvalid %" PRIu64 "\nduplicates %" PRIu64 "\nout_of_order %" PRIu64
                "\nmalformed %" PRIu64 "\n",
                fc.lines, fc.valid, fc.duplicates, fc.out_of_order, fc.malformed);
    return 0;
  }
  if (argc >= 4 && std::strcmp(argv[1], "--child") == 0) {
    ChildArgs a;
    a.logger = argv[2];
    a.scenario = argv[3];
    for (int i = 4; i < argc; i += 2) {
      const std::string k = argv[i];
      if (i + 1 >= argc) die("child option %s needs a value", k.c_str());
      const char *v = argv[i + 1];
      if (k == "--file") a.file = v;
      else if (k == "--samples") a.samples = v;
      else if (k == "--n") a.n = parse_u64(v, "--n");
      else if (k == "--warmup") a.warmup = parse_u64(v, "--warmup");
      else if (k == "--gap-ns") a.gap_ns = parse_u64(v, "--gap-ns");
      else if (k == "--queue") a.queue = parse_u64(v, "--queue");
      else if (k == "--ns-per-tick") a.ns_per_tick = std::strtod(v, nullptr);
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
    else if (k == "--n-mt4") d.n_mt4 = parse_u64(v, "--n-mt4");
    else if (k == "--warmup") d.warmup = parse_u64(v, "--warmup");
    else if (k == "--gap-ns") d.gap_ns = parse_u64(v, "--gap-ns");
    else if (k == "--queue") d.queue = parse_u64(v, "--queue");
    else if (k == "--dir") d.dir = v;
    else if (k == "--rust-bin") d.rust_bin = v;
    else if (k == "--summary") d.summary = v;
    else if (k == "--alog-set") d.alog_set.push_back(v);
    else if (k == "--loggers") d.loggers = split(v);
    else if (k == "--scenarios") d.scenarios = split(v);
    else die("unknown option %s (see --help)", k.c_str());
  }
  if (d.runs < 1) die("--runs must be >= 1");
  if (d.n_latency == 0 || d.n_burst == 0 || d.n_mt2 < 2 || d.n_mt4 < 4 || d.queue == 0)
    die("counts must be positive (--n-mt2 at least 2, --n-mt4 at least 4)");
  for (auto &s : d.scenarios)
    if (s != "latency" && s != "burst" && s != "mt2" && s != "mt4")
      die("unknown scenario '%s' (latency, burst, mt2, mt4)", s.c_str());
  return run_driver(d);
}
