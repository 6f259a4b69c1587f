//! The Rust side of alog's benchmark: one child process per (logger, scenario), started by the
//! C++ driver `bench/latency.cpp`, which also runs the C and C++ loggers and prints one table.
//!
//! ```text
//! alog-bench-peers --child LOGGER SCENARIO --file PATH --n N --warmup W --gap-ns G
//!                  --queue Q --ns-per-tick T [--samples PATH]
//! alog-bench-peers --list
//! ```
//!
//! The protocol is the driver's (see the comment at the top of `bench/latency.cpp`): the child
//! opens one logger on PATH, runs one scenario, closes the logger so that every accepted line is
//! in the file, and prints `key value` lines on stdout. Latency samples (raw timer ticks, one
//! native-endian u64 per timed call) go to the `--samples` file; the driver computes the
//! percentiles and checks the log file, so neither is done here.
//!
//! Every logger writes the same workload, formatted its own idiomatic way:
//! `user {i} logged in from 10.0.{i%256}.{i%100} in {i%1000} ms` at INFO, with a timestamp and
//! the level on every line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The loggers this binary runs: (name on the command line, what the driver prints about it).
const LOGGERS: &[(&str, &str)] = &[
    (
        "alog-rs",
        "alog through its Rust API: the message formatted on the caller with write! into a stack buffer, then Logger::log; queue of --queue records, overflow=block",
    ),
    (
        "alog-tracing",
        "tracing macros into alog_core::tracing::layer (tracing-subscriber registry): the event formatted on the caller into the record's message, then the alog queue (--queue records, overflow=block)",
    ),
    (
        "alog-log",
        "log crate macros into alog_core::log (the log facade): the message formatted on the caller, then the alog queue (--queue records, overflow=block)",
    ),
    (
        "tracing-nb",
        "tracing + tracing-subscriber fmt layer (ANSI and target off) into tracing-appender non_blocking, lossy(false), buffered_lines_limit --queue, writing to rolling::never",
    ),
    (
        "tracing-nb-lossy",
        "as tracing-nb with lossy(true) (the crate's default): lines that find the channel full are dropped and counted",
    ),
    (
        "ftlog",
        "ftlog 0.2 (log crate macros), bounded(--queue, block_when_full=true), FileAppender, UTC; a minimal FtLogFormat (level + message, formatted on the caller as ftlog does)",
    ),
    (
        "spdlog-rs",
        "spdlog-rs: Logger with an AsyncPoolSink (own ThreadPool of one thread, capacity --queue, OverflowPolicy::Block) around a FileSink, default pattern",
    ),
    (
        "mutex-bufwriter",
        "the synchronous floor: Mutex<BufWriter<File>>, the caller formats timestamp + level + message into the 8 KiB buffer under the lock",
    ),
];

// ------------------------------------------------------------------------------ allocations

thread_local! {
    /// Heap allocations made by this thread (const-initialised, no destructor: reading it
    /// never allocates and works at any point of a thread's life).
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// The system allocator, counting allocations per thread: the "caller allocs/call" columns.
struct Counting;

// SAFETY: every method forwards to System with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ------------------------------------------------------------------------------ arguments

struct Args {
    logger: String,
    scenario: String,
    file: PathBuf,
    samples: Option<PathBuf>,
    n: u64,
    warmup: u64,
    gap_ns: u64,
    queue: usize,
    ns_per_tick: f64,
}

fn die(msg: impl Display) -> ! {
    eprintln!("alog-bench-peers: {msg}");
    exit(2)
}

fn parse_num<T: std::str::FromStr>(value: &str, key: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| die(format_args!("bad value for {key}: '{value}'")))
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--list") {
        for (name, about) in LOGGERS {
            println!("{name}\t{about}");
        }
        exit(0);
    }
    if argv.len() < 3 || argv[0] != "--child" {
        die("usage: alog-bench-peers --child LOGGER SCENARIO --file PATH --n N [--warmup W] [--gap-ns G] [--queue Q] --ns-per-tick T [--samples PATH] | --list");
    }
    let mut a = Args {
        logger: argv[1].clone(),
        scenario: argv[2].clone(),
        file: PathBuf::new(),
        samples: None,
        n: 0,
        warmup: 0,
        gap_ns: 2000,
        queue: 8192,
        ns_per_tick: 0.0,
    };
    let mut rest = argv[3..].iter();
    while let Some(key) = rest.next() {
        let value = rest
            .next()
            .unwrap_or_else(|| die(format_args!("option {key} needs a value")));
        match key.as_str() {
            "--file" => a.file = PathBuf::from(value),
            "--samples" => a.samples = Some(PathBuf::from(value)),
            "--n" => a.n = parse_num(value, key),
            "--warmup" => a.warmup = parse_num(value, key),
            "--gap-ns" => a.gap_ns = parse_num(value, key),
            "--queue" => a.queue = parse_num(value, key),
            "--ns-per-tick" => a.ns_per_tick = parse_num(value, key),
            _ => die(format_args!("unknown child option {key}")),
        }
    }
    if a.file.as_os_str().is_empty() {
        die("--file is required");
    }
    if a.ns_per_tick <= 0.0 {
        die("--ns-per-tick is required");
    }
    if a.n == 0 || a.queue == 0 {
        die("--n and --queue must be positive");
    }
    a
}

// ------------------------------------------------------------------------------ clocks

/// Timer ticks: the TSC between load fences on x86-64 (the driver calibrates it once and
/// passes ns per tick), CLOCK_MONOTONIC nanoseconds elsewhere (the driver then passes 1.0).
#[inline(always)]
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: lfence and rdtsc have no memory effects and exist on every x86-64 CPU.
    unsafe {
        use std::arch::x86_64::{_mm_lfence, _rdtsc};
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        clock_ns(libc::CLOCK_MONOTONIC)
    }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn max_rss_kib() -> i64 {
    // SAFETY: an all-zero rusage is a valid value; getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss as i64
}

/// CPU time of the logger's own threads over a window: the process's CPU time minus what the
/// calling (producer) threads used.
struct BackgroundCpu {
    process0: u64,
    wall0: u64,
    producers: u64,
}

impl BackgroundCpu {
    fn start() -> Self {
        BackgroundCpu {
            process0: clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
            wall0: clock_ns(libc::CLOCK_MONOTONIC),
            producers: 0,
        }
    }
    fn report(&self) {
        let process = clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID) - self.process0;
        let wall = clock_ns(libc::CLOCK_MONOTONIC) - self.wall0;
        let bg = process.saturating_sub(self.producers);
        println!("logger_cpu_ms {:.3}", bg as f64 * 1e-6);
        println!("logger_cpu_pct {:.2}", 100.0 * bg as f64 / wall as f64);
    }
}

// ------------------------------------------------------------------------------ loggers

/// One logger under test. `log` is the timed call; `close` returns when every line the
/// logger accepted is in the file, and prints what the logger knows about itself.
trait Peer: Sync {
    fn log(&self, i: u64);
    fn close(self: Box<Self>);
}

fn open(name: &str, path: &Path, queue: usize) -> Box<dyn Peer> {
    match name {
        "alog-rs" => Box::new(AlogRs::open(path, queue)),
        "alog-tracing" => Box::new(AlogFacade::open(path, queue, Facade::Tracing)),
        "alog-log" => Box::new(AlogFacade::open(path, queue, Facade::Log)),
        "tracing-nb" => Box::new(TracingNb::open(path, queue, false)),
        "tracing-nb-lossy" => Box::new(TracingNb::open(path, queue, true)),
        "ftlog" => Box::new(Ftlog::open(path, queue)),
        "spdlog-rs" => Box::new(SpdlogRs::open(path, queue)),
        "mutex-bufwriter" => Box::new(MutexBufWriter::open(path)),
        _ => die(format_args!(
            "unknown logger '{name}' (this binary runs: {})",
            LOGGERS.iter().map(|l| l.0).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A `fmt::Write` into a fixed stack buffer: alog's Rust API takes bytes, so the caller formats.
struct StackBuf {
    buf: [u8; 128],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

struct AlogRs {
    lg: alog_core::Logger,
    errors: AtomicU64,
}

impl AlogRs {
    fn open(path: &Path, queue: usize) -> Self {
        let lg = alog_core::Logger::builder()
            .path(path)
            .level(alog_core::Level::INFO)
            .format(alog_core::Format::Text)
            .queue_capacity(queue)
            .overflow(alog_core::Overflow::Block)
            .fsync(alog_core::Fsync::Never)
            .build()
            .unwrap_or_else(|e| die(format_args!("alog open: {e}")));
        AlogRs {
            lg,
            errors: AtomicU64::new(0),
        }
    }
}

impl Peer for AlogRs {
    #[inline]
    fn log(&self, i: u64) {
        use std::fmt::Write as _;
        let mut b = StackBuf {
            buf: [0; 128],
            len: 0,
        };
        let _ = write!(
            b,
            "user {i} logged in from 10.0.{}.{} in {} ms",
            i % 256,
            i % 100,
            i % 1000
        );
        if self
            .lg
            .log(alog_core::Level::INFO, &b.buf[..b.len])
            .is_err()
        {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn close(self: Box<Self>) {
        if let Err(e) = self.lg.flush(None) {
            eprintln!("alog-bench-peers: alog flush: {e}");
        }
        let s = self.lg.stats();
        if let Err(e) = self.lg.close(None) {
            eprintln!("alog-bench-peers: alog close: {e}");
        }
        println!("write_errors {}", self.errors.load(Ordering::Relaxed));
        println!("dropped {}", s.dropped);
        println!("alog_submitted {}", s.submitted);
        println!("alog_written {}", s.written);
        println!("alog_queue_capacity {}", s.queue_capacity);
        println!("alog_queue_peak {}", s.queue_peak);
        println!("alog_batches {}", s.batches);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Facade {
    Tracing,
    Log,
}

/// alog behind a facade: the same logger as alog-rs, installed as the tracing layer or the
/// log crate's logger.
struct AlogFacade {
    inner: AlogRs,
    facade: Facade,
}

impl AlogFacade {
    fn open(path: &Path, queue: usize, facade: Facade) -> Self {
        let inner = AlogRs::open(path, queue);
        match facade {
            Facade::Tracing => {
                use tracing_subscriber::prelude::*;
                let subscriber = tracing_subscriber::registry()
                    .with(alog_core::tracing::layer(inner.lg.clone()));
                tracing::subscriber::set_global_default(subscriber)
                    .unwrap_or_else(|e| die(format_args!("tracing: {e}")));
            }
            Facade::Log => alog_core::log::init(inner.lg.clone())
                .unwrap_or_else(|e| die(format_args!("log: {e}"))),
        }
        AlogFacade { inner, facade }
    }
}

impl Peer for AlogFacade {
    #[inline]
    fn log(&self, i: u64) {
        if self.facade == Facade::Tracing {
            tracing::info!(
                "user {} logged in from 10.0.{}.{} in {} ms",
                i,
                i % 256,
                i % 100,
                i % 1000
            );
        } else {
            log::info!(
                "user {} logged in from 10.0.{}.{} in {} ms",
                i,
                i % 256,
                i % 100,
                i % 1000
            );
        }
    }

    fn close(self: Box<Self>) {
        Box::new(self.inner).close();
    }
}

struct TracingNb {
    guard: tracing_appender::non_blocking::WorkerGuard,
    dropped: tracing_appender::non_blocking::ErrorCounter,
}

impl TracingNb {
    fn open(path: &Path, queue: usize, lossy: bool) -> Self {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .unwrap_or_else(|| die("--file has no file name"));
        let appender = tracing_appender::rolling::never(dir, name);
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(lossy)
            .buffered_lines_limit(queue)
            .finish(appender);
        let dropped = writer.error_counter();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .with_target(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .unwrap_or_else(|e| die(format_args!("tracing: {e}")));
        TracingNb { guard, dropped }
    }
}

impl Peer for TracingNb {
    #[inline]
    fn log(&self, i: u64) {
        tracing::info!(
            "user {} logged in from 10.0.{}.{} in {} ms",
            i,
            i % 256,
            i % 100,
            i % 1000
        );
    }

    fn close(self: Box<Self>) {
        // Dropping the guard sends a shutdown message behind the queued lines and waits for
        // the worker to reach it (the worker writes every line before it).
        let TracingNb { guard, dropped } = *self;
        drop(guard);
        println!("dropped {}", dropped.dropped_lines());
    }
}

/// ftlog's documented customisation point; this one keeps only what the workload asks for
/// (level + message) after ftlog's own timestamp.
struct LevelAndMessage;

impl ftlog::FtLogFormat for LevelAndMessage {
    #[inline]
    fn msg(&self, record: &log::Record) -> Box<dyn Send + Sync + Display> {
        Box::new(LevelMsg {
            level: record.level(),
            args: match record.args().as_str() {
                Some(s) => std::borrow::Cow::Borrowed(s),
                None => std::borrow::Cow::Owned(record.args().to_string()),
            },
        })
    }
}

struct LevelMsg {
    level: log::Level,
    args: std::borrow::Cow<'static, str>,
}

impl Display for LevelMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.level, self.args)
    }
}

struct Ftlog {
    guard: ftlog::LoggerGuard,
}

impl Ftlog {
    fn open(path: &Path, queue: usize) -> Self {
        let guard = ftlog::builder()
            .format(LevelAndMessage)
            .max_log_level(log::LevelFilter::Info)
            .bounded(queue, true)
            .utc()
            .root(ftlog::appender::FileAppender::new(path))
            .try_init()
            .unwrap_or_else(|e| die(format_args!("ftlog: {e}")));
        Ftlog { guard }
    }
}

impl Peer for Ftlog {
    #[inline]
    fn log(&self, i: u64) {
        log::info!(
            "user {} logged in from 10.0.{}.{} in {} ms",
            i,
            i % 256,
            i % 100,
            i % 1000
        );
    }

    fn close(self: Box<Self>) {
        // ftlog's thread lives as long as the process; the flush is queued behind every
        // record, writes them and flushes the file before it answers.
        log::logger().flush();
        drop(self.guard);
    }
}

struct SpdlogRs {
    logger: Arc<spdlog::Logger>,
    pool: Arc<spdlog::ThreadPool>,
}

impl SpdlogRs {
    fn open(path: &Path, queue: usize) -> Self {
        let fail = |e: spdlog::Error| -> ! { die(format_args!("spdlog-rs: {e}")) };
        let capacity = std::num::NonZeroUsize::new(queue).unwrap_or_else(|| die("--queue is 0"));
        let pool = spdlog::ThreadPool::builder()
            .capacity(capacity)
            .build_arc()
            .unwrap_or_else(|e| fail(e));
        let file = spdlog::sink::FileSink::builder()
            .path(path)
            .truncate(true)
            .build_arc()
            .unwrap_or_else(|e| fail(e));
        let sink = spdlog::sink::AsyncPoolSink::builder()
            .sink(file)
            .thread_pool(pool.clone())
            .overflow_policy(spdlog::sink::OverflowPolicy::Block)
            .build_arc()
            .unwrap_or_else(|e| fail(e));
        let logger = spdlog::Logger::builder()
            .sink(sink)
            .level_filter(spdlog::LevelFilter::MoreSevereEqual(spdlog::Level::Info))
            .build_arc()
            .unwrap_or_else(|e| fail(e));
        SpdlogRs { logger, pool }
    }
}

impl Peer for SpdlogRs {
    #[inline]
    fn log(&self, i: u64) {
        spdlog::info!(
            logger: self.logger,
            "user {} logged in from 10.0.{}.{} in {} ms",
            i,
            i % 256,
            i % 100,
            i % 1000
        );
    }

    fn close(self: Box<Self>) {
        let SpdlogRs { logger, pool } = *self;
        logger.flush();
        // The last reference to the pool joins its thread after it ran every queued task; the
        // file sink's buffer is written when the last task holding it is dropped.
        drop(logger);
        drop(pool);
    }
}

struct MutexBufWriter {
    w: Mutex<BufWriter<File>>,
}

impl MutexBufWriter {
    fn open(path: &Path) -> Self {
        let f = File::create(path)
            .unwrap_or_else(|e| die(format_args!("create {}: {e}", path.display())));
        MutexBufWriter {
            w: Mutex::new(BufWriter::new(f)),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` for a time since the epoch (days to civil date: the
/// well-known era arithmetic on a proleptic Gregorian calendar).
struct Rfc3339Micros(std::time::Duration);

impl Display for Rfc3339Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs();
        let (days, sod) = ((secs / 86_400) as i64, secs % 86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            self.0.subsec_micros()
        )
    }
}

impl Peer for MutexBufWriter {
    #[inline]
    fn log(&self, i: u64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut w = self.w.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            w,
            "{} INFO user {i} logged in from 10.0.{}.{} in {} ms",
            Rfc3339Micros(now),
            i % 256,
            i % 100,
            i % 1000
        );
    }

    fn close(self: Box<Self>) {
        let mut w = self.w.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = w.flush() {
            die(format_args!("flush: {e}"));
        }
    }
}

// ------------------------------------------------------------------------------ scenarios

fn timer_overhead(scratch: &mut [u64]) -> u64 {
    for x in scratch.iter_mut() {
        let a = ticks();
        let b = ticks();
        *x = b - a;
    }
    let mid = scratch.len() / 2;
    *scratch.select_nth_unstable(mid).1
}

fn run_latency(a: &Args) {
    let total = a.warmup + a.n;
    let mut samples = vec![1u64; a.n as usize]; // touched now, before the RSS baseline
    let overhead = timer_overhead(&mut samples);
    let gap_ticks = (a.gap_ns as f64 / a.ns_per_tick) as u64;
    let samples_path = a
        .samples
        .clone()
        .unwrap_or_else(|| die("the latency scenario needs --samples"));

    let rss_before = max_rss_kib();
    let mut bg = BackgroundCpu::start();
    let thread0 = clock_ns(libc::CLOCK_THREAD_CPUTIME_ID);
    let lg = open(&a.logger, &a.file, a.queue);
    let mut next = ticks();
    let mut allocs0 = allocs();
    for i in 0..total {
        if i == a.warmup {
            allocs0 = allocs();
        }
        while ticks() < next {}
        let t0 = ticks();
        lg.log(i);
        let t1 = ticks();
        if i >= a.warmup {
            samples[(i - a.warmup) as usize] = t1 - t0;
        }
        next = t1 + gap_ticks;
    }
    let caller_allocs = allocs() - allocs0;
    let c0 = ticks();
    lg.close();
    let c1 = ticks();
    bg.producers += clock_ns(libc::CLOCK_THREAD_CPUTIME_ID) - thread0;
    bg.report();
    let rss_peak = max_rss_kib();

    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_ne_bytes()).collect();
    std::fs::write(&samples_path, bytes)
        .unwrap_or_else(|e| die(format_args!("write {}: {e}", samples_path.display())));
    println!("caller_allocs {caller_allocs}");
    println!("timer_overhead_ticks {overhead}");
    println!("close_s {:.6}", (c1 - c0) as f64 * a.ns_per_tick * 1e-9);
    println!("rss_delta_kib {}", rss_peak - rss_before);
}

fn run_burst(a: &Args) {
    let rss_before = max_rss_kib();
    let mut bg = BackgroundCpu::start();
    let thread0 = clock_ns(libc::CLOCK_THREAD_CPUTIME_ID);
    let lg = open(&a.logger, &a.file, a.queue);
    let allocs0 = allocs();
    let t0 = ticks();
    for i in 0..a.n {
        lg.log(i);
    }
    let t1 = ticks();
    let caller_allocs = allocs() - allocs0;
    lg.close();
    let t2 = ticks();
    bg.producers += clock_ns(libc::CLOCK_THREAD_CPUTIME_ID) - thread0;
    bg.report();
    let rss_peak = max_rss_kib();
    let ns = |t: u64| t as f64 * a.ns_per_tick;
    println!("caller_allocs {caller_allocs}");
    println!("ns_per_call {:.2}", ns(t1 - t0) / a.n as f64);
    println!("calls_s {:.6}", ns(t1 - t0) * 1e-9);
    println!("drain_s {:.6}", ns(t2 - t1) * 1e-9);
    println!("total_s {:.6}", ns(t2 - t0) * 1e-9);
    println!("rss_delta_kib {}", rss_peak - rss_before);
}

/// `threads` producers (the mt2 and mt4 scenarios), n / threads calls each back to back.
fn run_mt(a: &Args, threads: u64) {
    let per_thread = a.n / threads;
    let rss_before = max_rss_kib();
    let mut bg = BackgroundCpu::start();
    let thread0 = clock_ns(libc::CLOCK_THREAD_CPUTIME_ID);
    let lg = open(&a.logger, &a.file, a.queue);
    let ready = AtomicUsize::new(0);
    let go = AtomicBool::new(false);
    // (start tick, stop tick, thread CPU ns, allocations) per producer
    let spans: Vec<(u64, u64, u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (lg, ready, go) = (&*lg, &ready, &go);
                s.spawn(move || {
                    let cpu0 = clock_ns(libc::CLOCK_THREAD_CPUTIME_ID);
                    ready.fetch_add(1, Ordering::SeqCst);
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    let first = t * per_thread;
                    let allocs0 = allocs();
                    let start = ticks();
                    for i in first..first + per_thread {
                        lg.log(i);
                    }
                    let stop = ticks();
                    let n_allocs = allocs() - allocs0;
                    (
                        start,
                        stop,
                        clock_ns(libc::CLOCK_THREAD_CPUTIME_ID) - cpu0,
                        n_allocs,
                    )
                })
            })
            .collect();
        while ready.load(Ordering::SeqCst) != threads as usize {
            std::hint::spin_loop();
        }
        go.store(true, Ordering::Release);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| die("a producer thread panicked"))
            })
            .collect()
    });
    let c0 = ticks();
    lg.close();
    let t2 = ticks();
    bg.producers += clock_ns(libc::CLOCK_THREAD_CPUTIME_ID) - thread0;
    bg.producers += spans.iter().map(|s| s.2).sum::<u64>();
    bg.report();
    let rss_peak = max_rss_kib();
    let ns = |t: u64| t as f64 * a.ns_per_tick;
    let first_start = spans.iter().map(|s| s.0).min().unwrap_or(c0);
    let last_stop = spans.iter().map(|s| s.1).max().unwrap_or(c0);
    let per_call: f64 = spans
        .iter()
        .map(|s| ns(s.1 - s.0) / per_thread as f64)
        .sum::<f64>()
        / threads as f64;
    println!("caller_allocs {}", spans.iter().map(|s| s.3).sum::<u64>());
    println!("ns_per_call {per_call:.2}");
    println!(
        "wall_ns_per_call {:.2}",
        ns(last_stop - first_start) / (per_thread * threads) as f64
    );
    println!("drain_s {:.6}", ns(t2 - c0) * 1e-9);
    println!("total_s {:.6}", ns(t2 - first_start) * 1e-9);
    println!("rss_delta_kib {}", rss_peak - rss_before);
}

fn main() {
    let a = parse_args();
    if !LOGGERS.iter().any(|l| l.0 == a.logger) {
        open(&a.logger, &a.file, a.queue); // dies with the list of loggers
    }
    match a.scenario.as_str() {
        "latency" => run_latency(&a),
        "burst" => run_burst(&a),
        "mt2" => run_mt(&a, 2),
        "mt4" => run_mt(&a, 4),
        s => die(format_args!(
            "unknown scenario '{s}' (latency, burst, mt2, mt4)"
        )),
    }
    let _ = std::io::stdout().flush();
}
