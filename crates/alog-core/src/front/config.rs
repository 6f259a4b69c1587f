//! Configuration: one struct, one place for the defaults, one parser shared by every binding.
//!
//! | key | values | default |
//! |---|---|---|
//! | `level` | `trace` `debug` `info` `warn` `error` `fatal`, or 1..24 | `info` |
//! | `format` | `text` `json` | `text` |
//! | `pattern` | text pattern with `{ts}` `{level}` `{msg}` `{fields}` `{file}` `{line}` `{func}` `{pid}` `{thread}` `{thread_name}` `{logger}`, `{ts:FORMAT}` (UTC) and `{localtime}` / `{localtime:FORMAT}` (strftime, `%f` = microseconds) | `{ts} {level} {msg}{fields}` |
//! | `name` | the logger's name, printed by `{logger}` (up to 256 bytes, no control characters) | empty |
//! | `time_zone` | `utc` `local`: `{ts}` and JSON's `ts` in UTC (`Z`) or local time with its offset (`+05:30`) | `utc` |
//! | `json.ts_key` / `json.level_key` / `json.msg_key` | JSON key names | `ts` / `level` / `msg` |
//! | `queue_capacity` | records, 1..=16777216 | `8192` |
//! | `queue_prefault` | `true` `false`: the queue's memory (256 bytes a record) is made resident when the logger opens, so that no call waits for the kernel to supply a page; for a queue sized to absorb bursts (refused when `/proc/meminfo` reports less available) | `false` |
//! | `overflow` | `block` `drop_newest` `drop_oldest` `warn` | `block` |
//! | `block_timeout_ms` | ms a blocked call waits, 0 = forever | `0` |
//! | `batch_size` | records that wake the writer (at most half of `queue_capacity`) | `1024` |
//! | `batch_timeout_ms` | ms the writer waits for a batch to fill, 1..=3600000 | `50` |
//! | `flush_interval_ms` | ms between `fsync=interval` syncs, 1..=3600000 | `1000` |
//! | `fsync` | `never` `batch` `interval` `close` | `never` |
//! | `flush_on` | a level: a record at or above it is written, with everything queued before it, before its call returns; `never` | `never` |
//! | `flush_on_signal` | `none` or signals (`term` `int` `hup` `quit` `abrt` `segv` `bus` `fpe` `ill`, `crash` = the last five) whose default action first writes every open logger's queue | `none` |
//! | `console` | `none` `stdout` `stderr` | `none` |
//! | `console.level` / `console.format` | level / format of the console sink | the logger's |
//! | `syslog` | `none`, `local` (the daemon's `/dev/log`) or the path of a Unix datagram socket (RFC 3164); `udp://HOST:PORT`, `tcp://HOST:PORT` or `tls://HOST[:PORT]` (RFC 5424; TCP with RFC 6587 octet counting; TLS as RFC 5425, port 6514 by default, in builds with the `tls` feature, as libalog is) | `none` |
//! | `syslog.tls.ca` | `tls://`: a PEM file of the CA certificates that verify the receiver's certificate (required) | none |
//! | `syslog.tls.cert` / `syslog.tls.key` | `tls://`: a PEM certificate chain and its PEM private key, presented to a receiver that asks for a client certificate (both or neither) | none |
//! | `syslog.tls.server_name` | `tls://`: the name the receiver's certificate must carry | HOST of `tls://HOST:PORT` |
//! | `syslog.level` / `.format` / `.pattern` | the syslog sink's level, format, pattern | the logger's level, `text`, `{msg}{fields}` (`{msg}` over the network: the fields are the structured data) |
//! | `syslog.facility` / `syslog.ident` | `kern` `user` `mail` `daemon` ... `local0`..`local7` / the program name shown | `user` / the basename of `argv[0]` |
//! | `otlp` | `none` or `http://HOST:PORT[/PATH]`: an OpenTelemetry Collector's OTLP/HTTP receiver (JSON; no TLS); PATH `/v1/logs` when absent | `none` |
//! | `otlp.level` / `otlp.service_name` | the OTLP sink's level / the `service.name` resource attribute | the logger's level / the basename of `argv[0]` |
//! | `console.color` | `auto` (when the stream is a terminal and `NO_COLOR` is unset) `always` `never`: level names in color, text format | `auto` |
//! | `sqlite` | `none` or the path of a SQLite database: one row per record, each batch in one transaction (WAL mode) | `none` |
//! | `sqlite.table` / `sqlite.level` | the table (created if absent; letters, digits, `_`) / the sink's level | `logs` / the logger's |
//! | `sqlite.busy_timeout_ms` | how long rows wait for a database another connection holds locked before they count as failed, 0..=3600000 | `5000` |
//! | `console.overflow` / `syslog.overflow` / `otlp.overflow` / `callback.overflow` / `sqlite.overflow` | `block` (wait for the sink) or `drop` (drop and count) when the sink's lane backlog is full | `drop` / `drop` / `drop` / `block` / `block` |
//! | `console.backlog` / `syslog.backlog` / `otlp.backlog` / `callback.backlog` / `sqlite.backlog` | bytes a sink's lane holds while the sink is slow (`k` `m` `g`), 0..=1g; 0: only the batch being written | `4m` |
//! | `stall_timeout_ms` | a `drop` lane whose sink accepts nothing for this long drops what waited longer (counted), 1..=3600000 | `1000` |
//! | `sync` | `true` `false` (`ALOG_SYNC=1` forces `true`) | `false` |
//! | `level_names` | `LEVEL=NAME,...`: names printed for levels, e.g. `13=WARNING,21=CRITICAL` | the built-in names |
//! | `multiline` | text output: `escape` a newline in a message or field value as `\n`, or `indent`: continue on the next line after 4 spaces (a record still starts each line that does not start with a space) | `escape` |
//! | `file_mode` | octal permission bits of created files | `0640` |
//! | `max_message_bytes` | longest accepted record in the caller's bytes (message, keys, values), 1..=268435456 (`k` `m` suffixes) | `1048576` |
//! | `write_retries` | retries of a failed write, with backoff 1, 2, 4... ms | `3` |
//! | `backtrace` / `backtrace.level` | records below the level kept in memory (0..=65536) and written before the next record at or above `backtrace.level` | `0` / `error` |
//! | `clock` | `auto` (the CPU's invariant TSC where there is one) `realtime` (`ALOG_CLOCK=realtime` forces it) | `auto` |
//! | `file.NAME.path` / `.level` / `.format` / `.pattern` | an extra file sink called NAME | none |
//! | `rotate_bytes` | rotate a file before it passes this size (`k` `m` `g` suffixes), 0 = never | `0` |
//! | `rotate_interval` | `never` `hourly` `daily` (UTC periods of the records' timestamps) | `never` |
//! | `rotate_at` | `HH:MM`: daily rotation at this time of day (UTC; local with `time_zone=local`); implies `rotate_interval=daily` | midnight |
//! | `max_files` | rotated files kept per sink, 0 = no limit | `0` |
//! | `max_age` | rotated files older than this are deleted (`s` `m` `h` `d` `w`, or `10 days`, `1 week`), 0 = no limit | `0` |
//! | `max_total_bytes` | rotated + active bytes kept per sink (`k` `m` `g`), 0 = no limit | `0` |
//! | `compress` | `none` `gzip` `zstd`: rotated files, on a background thread | `none` |
//! | `encryption_key_file` / `encryption_key_env` | 32-byte key (64 hex digits, or 32 raw bytes in a file) | none |
//! | `dir_mode` | octal mode of folders alog creates for a log path, less the umask | `0750` |
//! | `durability` | `none`; `mmap`: each record is also kept in a memory-mapped journal beside the log file (`.NAME.journal`) from before its call returns until it is written, so that it survives the process's crash (`kill -9`, `abort()`, a segfault) and is written by the next open of the same log (not power loss: see `fsync`) | `none` |
//! | `durability.bytes` | size of the journal's ring (`k` `m` `g`), 64k..=1g; a record may use a quarter of it | `8m` |
//! | `reopen_check` | `true` `false`: reopen when the path moved or vanished (once per batch; a file renamed away is written on for up to 1 s until the next appears) | `true` |

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::front::error::{Error, Result};
use crate::front::level::Level;

/// How records are rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `<RFC 3339 timestamp> <LEVEL> <message>[ key=value...]`, one line per record.
    Text,
    /// One JSON object per line.
    Json,
    /// Not a line format and not set by any key: a record's columns as data (level name,
    /// message, source location, fields as one JSON object) for sinks that store them apart,
    /// such as the SQLite sink (see `render::row`).
    Row,
}

/// What a log call does when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for room (up to `block_timeout_ms`, then drop and return `Timeout`).
    Block,
    /// Drop the new record and return `Full`.
    DropNewest,
    /// Drop the oldest queued record to make room for the new one.
    DropOldest,
    /// Drop the new record, return `Full`, and print at most one notice per second on stderr.
    Warn,
}

/// What a sink's lane does when its backlog is full (the sink is slower than the records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneOverflow {
    /// Wait for the sink: the writer (and, once the queue fills, the callers under
    /// `overflow=block`) waits.
    Block,
    /// Drop the records this sink cannot take and count them; the other sinks keep going.
    Drop,
}

/// A sink lane's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneConfig {
    pub overflow: LaneOverflow,
    /// Bytes of formatted records the lane holds while its sink is slow.
    pub backlog_bytes: usize,
}

impl LaneConfig {
    const fn new(overflow: LaneOverflow) -> LaneConfig {
        LaneConfig {
            overflow,
            backlog_bytes: 4 << 20,
        }
    }
}

/// When file sinks are fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Never,
    /// After every batch.
    Batch,
    /// Every `flush_interval_ms`.
    Interval,
    /// On `flush` and `close`.
    Close,
}

/// Time rotation: a record goes to the file of its own UTC period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotateInterval {
    Never,
    Hourly,
    Daily,
}

/// Compression of rotated files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compress {
    None,
    Gzip,
    Zstd,
}

/// Where the encryption key comes from (never the key itself: it is read at open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
}

/// The file lifecycle shared by every file sink: rotation, retention, compression,
/// encryption and external-rotation detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    /// 0 = no size rotation.
    pub rotate_bytes: u64,
    pub rotate_interval: RotateInterval,
    /// 0 = no limit.
    pub max_files: u64,
    pub max_age: Option<Duration>,
    /// 0 = no limit.
    pub max_total_bytes: u64,
    pub compress: Compress,
    pub key: Option<KeySource>,
    pub reopen_check: bool,
    /// `dir_mode`: the permission bits of folders alog creates (less the umask).
    pub dir_mode: u32,
    /// `rotate_at`: daily periods start at this second of the day (else at midnight).
    pub rotate_at: Option<u32>,
    /// `time_zone=local`: that time of day is local time (the offset when the file opens).
    pub rotate_local: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            rotate_bytes: 0,
            rotate_interval: RotateInterval::Never,
            max_files: 0,
            max_age: None,
            max_total_bytes: 0,
            compress: Compress::None,
            key: None,
            reopen_check: true,
            dir_mode: 0o750,
            rotate_at: None,
            rotate_local: false,
        }
    }
}

impl Lifecycle {
    /// Whether files rotate (and so share a lock file between processes).
    pub fn rotates(&self) -> bool {
        self.rotate_bytes > 0 || self.rotate_interval != RotateInterval::Never
    }
}

/// A console stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn fd(self) -> libc::c_int {
        match self {
            Stream::Stdout => libc::STDOUT_FILENO,
            Stream::Stderr => libc::STDERR_FILENO,
        }
    }
}

/// Whether the console sink prints level names in color (ANSI escapes, text format only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// When the stream is a terminal and the `NO_COLOR` environment variable is unset or empty
    /// (<https://no-color.org>).
    Auto,
    Always,
    Never,
}

impl ColorMode {
    /// Whether records written to `stream` get colors.
    pub fn applies_to(self, stream: Stream) -> bool {
        self.applies_to_fd(stream.fd())
    }

    pub(crate) fn applies_to_fd(self, fd: libc::c_int) -> bool {
        match self {
            ColorMode::Always => true,
            ColorMode::Never => false,
            ColorMode::Auto => {
                // SAFETY: isatty only inspects the descriptor number; any value is allowed.
                let tty = unsafe { libc::isatty(fd) } == 1;
                tty && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
            }
        }
    }
}

/// JSON key names for the three leading members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonKeys {
    pub ts: String,
    pub level: String,
    pub msg: String,
}

impl Default for JsonKeys {
    fn default() -> Self {
        JsonKeys {
            ts: "ts".into(),
            level: "level".into(),
            msg: "msg".into(),
        }
    }
}

/// Where the syslog sink sends its records (the `syslog` key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyslogAddr {
    /// A Unix datagram socket (the local daemon's `/dev/log`): RFC 3164, as `syslog(3)` sends.
    Unix(PathBuf),
    /// `udp://HOST:PORT`: RFC 5424, one datagram per record.
    Udp { host: String, port: u16 },
    /// `tcp://HOST:PORT`: RFC 5424 framed by RFC 6587 octet counting.
    Tcp { host: String, port: u16 },
    /// `tls://HOST[:PORT]`: as `Tcp`, inside TLS (RFC 5425, port 6514 by default; the
    /// `syslog.tls.*` keys).
    Tls { host: String, port: u16 },
}

/// The TLS settings of the network syslog sink (`syslog.tls.*`, for `tls://`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyslogTls {
    /// `syslog.tls.ca`: PEM CA certificates that verify the receiver (required for `tls://`).
    pub ca: Option<PathBuf>,
    /// `syslog.tls.cert` / `syslog.tls.key`: a client certificate chain and its key (PEM).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `syslog.tls.server_name`: the name to verify (`None`: the receiver's HOST).
    pub server_name: Option<String>,
}

impl fmt::Display for SyslogAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, host, port) = match self {
            SyslogAddr::Unix(p) => return write!(f, "{}", p.display()),
            SyslogAddr::Udp { host, port } => ("udp", host, port),
            SyslogAddr::Tcp { host, port } => ("tcp", host, port),
            SyslogAddr::Tls { host, port } => ("tls", host, port),
        };
        if host.contains(':') {
            write!(f, "{scheme}://[{host}]:{port}")
        } else {
            write!(f, "{scheme}://{host}:{port}")
        }
    }
}

/// The port of `tls://HOST` (RFC 5425's syslog-tls).
pub const SYSLOG_TLS_PORT: u16 = 6514;

/// What the `syslog` key accepts, for its error messages.
const SYSLOG_ACCEPTED: &str = "none, local, the absolute path of a Unix datagram socket, \
                               udp://HOST:PORT, tcp://HOST:PORT or tls://HOST[:PORT]";

/// The `syslog` key: `none`, `local`, an absolute path, `udp://HOST:PORT`, `tcp://HOST:PORT`
/// (HOST a name, an IPv4 address or an IPv6 address in brackets; PORT 1..65535).
fn parse_syslog(key: &str, value: &str) -> Result<Option<SyslogAddr>> {
    let v = value.trim();
    match v {
        "none" => return Ok(None),
        "local" => return Ok(Some(SyslogAddr::Unix(PathBuf::from(DEFAULT_SOCKET)))),
        p if p.starts_with('/') => return Ok(Some(SyslogAddr::Unix(PathBuf::from(p)))),
        _ => {}
    }
    let why = |why: String| {
        Error::invalid(format!(
            "invalid value {value:?} for {key}: {why} (expected {SYSLOG_ACCEPTED})"
        ))
    };
    let Some((scheme, rest)) = v.split_once("://") else {
        return Err(bad(key, value, SYSLOG_ACCEPTED));
    };
    if !matches!(scheme, "tcp" | "udp" | "tls") {
        return Err(why(format!("unknown scheme {scheme}")));
    }
    if scheme == "tls" && !cfg!(feature = "tls") {
        return Err(why(
            "this build of alog has no TLS (alog-core is built without its `tls` feature)".into(),
        ));
    }
    // RFC 5425's port when `tls://` names none.
    let has_port = match rest.strip_prefix('[') {
        Some(inner) => inner.contains("]:"),
        None => rest.contains(':'),
    };
    let (host, port) = if scheme == "tls" && !has_port && !rest.is_empty() {
        parse_host_port(&format!("{rest}:{SYSLOG_TLS_PORT}"), &why)?
    } else {
        parse_host_port(rest, &why)?
    };
    Ok(Some(match scheme {
        "tcp" => SyslogAddr::Tcp { host, port },
        "tls" => SyslogAddr::Tls { host, port },
        _ => SyslogAddr::Udp { host, port },
    }))
}

/// How one sink renders records; sinks with equal styles share one formatting pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Style {
    pub format: Format,
    /// Text pattern; `None` is the default `{ts} {level} {msg}{fields}`.
    pub pattern: Option<String>,
    pub json_keys: JsonKeys,
    /// Text only: level names in ANSI colors (the console sink, see `console.color`).
    pub color: bool,
    /// Text only: newlines in messages and field values start continuation lines indented by
    /// four spaces instead of printing as `\n` (`multiline=indent`).
    pub multiline: bool,
    /// Printed level names, one per level 1..=24 (empty: the built-in names).
    pub level_names: Vec<String>,
    /// Every line starts with RFC 5424's MSGID and STRUCTURED-DATA made from the record's
    /// fields and source (the network syslog sink; see `render::sd`).
    pub rfc5424: bool,
    /// Every line is an OTLP `LogRecord` in the protobuf JSON mapping (the OTLP sink; see
    /// `render::otlp_json`); the format and pattern do not apply.
    pub otlp: bool,
    /// `{ts}` and JSON's `ts` in local time with the UTC offset (`time_zone=local`).
    pub local_time: bool,
    /// The logger's name, for `{logger}`.
    pub logger: String,
}

/// Called on the writer thread with each formatted line (without its newline) and its level.
/// The byte after the slice in memory is always NUL, so C callers may treat it as a C string.
pub type LineCallback = Arc<dyn Fn(Level, &[u8]) + Send + Sync>;

/// Called on the writer thread (or the caller's, in sync mode) with the formatted lines of a
/// batch, each ending in a newline (a batch larger than 4 MiB comes in several calls). `Err`
/// marks those records failed with the given message; the call is never retried.
pub type BatchCallback = Arc<dyn Fn(&[u8]) -> std::result::Result<(), String> + Send + Sync>;

/// Called on the writer thread (or the caller's, in sync mode) for every I/O error.
pub type ErrorCallback = Arc<dyn Fn(&Error) + Send + Sync>;

/// An extra file sink (`file.NAME.*`).
#[derive(Clone, Debug, Default)]
pub struct FileSpec {
    pub name: String,
    pub path: Option<PathBuf>,
    pub level: Option<Level>,
    pub format: Option<Format>,
    pub pattern: Option<String>,
}

/// A callback sink.
#[derive(Clone)]
pub struct CallbackSpec {
    pub callback: LineCallback,
    pub level: Option<Level>,
    pub format: Option<Format>,
}

impl fmt::Debug for CallbackSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSpec")
            .field("level", &self.level)
            .field("format", &self.format)
            .finish()
    }
}

/// The whole configuration of a logger. `Config::default()` is the table above.
#[derive(Clone)]
pub struct Config {
    pub level: Level,
    pub format: Format,
    pub pattern: Option<String>,
    pub json_keys: JsonKeys,
    pub queue_capacity: usize,
    /// Make the queue's memory resident when the logger opens.
    pub queue_prefault: bool,
    pub overflow: Overflow,
    /// `None` waits forever.
    pub block_timeout: Option<Duration>,
    pub batch_size: usize,
    pub batch_timeout: Duration,
    pub flush_interval: Duration,
    pub fsync: Fsync,
    pub console: Option<Stream>,
    pub console_level: Option<Level>,
    pub console_format: Option<Format>,
    pub console_color: ColorMode,
    /// Where the syslog sink sends (`None`: no syslog sink).
    pub syslog: Option<SyslogAddr>,
    pub syslog_level: Option<Level>,
    pub syslog_format: Option<Format>,
    pub syslog_pattern: Option<String>,
    pub syslog_facility: u8,
    /// `None`: the basename of `argv[0]`.
    pub syslog_ident: Option<String>,
    /// `syslog.tls.*`: what `tls://` verifies the receiver with (and presents to it).
    pub syslog_tls: SyslogTls,
    /// Where the OTLP sink sends (`None`: no OTLP sink).
    pub otlp: Option<OtlpAddr>,
    pub otlp_level: Option<Level>,
    /// `None`: the basename of `argv[0]`.
    pub otlp_service_name: Option<String>,
    /// Records at or above this level wake the writer to write everything queued at once.
    pub flush_on: Option<Level>,
    /// `flush_on_signal`: the signals (bit n = signal n) whose handler writes every open
    /// logger's queue before the signal's default action.
    pub flush_on_signal: u64,
    /// `time_zone=local`: timestamps in local time with their offset.
    pub local_time: bool,
    /// `name`: the logger's name (`{logger}`).
    pub name: String,
    pub sync: bool,
    /// Text output: newlines in messages and field values start indented continuation lines.
    pub multiline: bool,
    /// Printed level names, one per level 1..=24 (empty: the built-in names).
    pub level_names: Vec<String>,
    pub file_mode: u32,
    pub max_message_bytes: usize,
    pub write_retries: u32,
    /// `backtrace`: how many records below the level wait in memory for an error (0: none).
    pub backtrace: usize,
    /// `backtrace.level`: a record at or above it writes the waiting ones first.
    pub backtrace_level: Level,
    /// Stamp records with the TSC where it is invariant (`clock=auto`), else `CLOCK_REALTIME`.
    pub tsc: bool,
    /// `durability=mmap`: the ring size of the crash-durable journal (`None`: no journal).
    pub durability: Option<u64>,
    /// `durability.bytes`, kept when `durability` is switched off and on again.
    pub durability_bytes: u64,
    pub files: Vec<FileSpec>,
    pub lifecycle: Lifecycle,
    pub callbacks: Vec<CallbackSpec>,
    /// Sinks that take whole batches, in the logger's style and at its level.
    pub batch_callbacks: Vec<BatchCallback>,
    /// The SQLite sink's database (`None`: no SQLite sink).
    pub sqlite: Option<PathBuf>,
    /// Its table: an identifier (checked when set).
    pub sqlite_table: String,
    pub sqlite_level: Option<Level>,
    /// How long rows wait for a database that another connection holds locked.
    pub sqlite_busy_timeout: Duration,
    /// Lanes of the console, syslog, OTLP, callback and SQLite sinks (file sinks always wait
    /// for the disk).
    pub console_lane: LaneConfig,
    pub syslog_lane: LaneConfig,
    pub otlp_lane: LaneConfig,
    pub callback_lane: LaneConfig,
    pub sqlite_lane: LaneConfig,
    /// How long a `drop` lane's sink may accept nothing before what waited longer is dropped.
    pub stall_timeout: Duration,
    pub on_error: Option<ErrorCallback>,
    /// Every key given to [`Config::set`], with its value, in order (what a sink added to an
    /// open logger is made of: see [`Config::sink_keys`]).
    pub given: Vec<(String, String)>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("level", &self.level)
            .field("format", &self.format)
            .field("queue_capacity", &self.queue_capacity)
            .field("queue_prefault", &self.queue_prefault)
            .field("overflow", &self.overflow)
            .field("batch_size", &self.batch_size)
            .field("sync", &self.sync)
            .field("files", &self.files)
            .field("lifecycle", &self.lifecycle)
            .field("callbacks", &self.callbacks)
            .finish_non_exhaustive()
    }
}

pub const MAX_QUEUE_CAPACITY: usize = 1 << 24;
pub const MAX_MESSAGE_BYTES: usize = 1 << 28;
const MAX_MESSAGE_BYTES_U64: u64 = MAX_MESSAGE_BYTES as u64;
const MAX_MS: u64 = 3_600_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            level: Level::INFO,
            format: Format::Text,
            pattern: None,
            json_keys: JsonKeys::default(),
            queue_capacity: 8192,
            queue_prefault: false,
            overflow: Overflow::Block,
            block_timeout: None,
            batch_size: 1024,
            batch_timeout: Duration::from_millis(50),
            flush_interval: Duration::from_millis(1000),
            fsync: Fsync::Never,
            console: None,
            console_level: None,
            console_format: None,
            console_color: ColorMode::Auto,
            syslog: None,
            syslog_level: None,
            syslog_format: None,
            syslog_pattern: None,
            syslog_facility: 1,
            syslog_ident: None,
            syslog_tls: SyslogTls::default(),
            otlp: None,
            otlp_level: None,
            otlp_service_name: None,
            flush_on: None,
            flush_on_signal: 0,
            local_time: false,
            name: String::new(),
            sync: false,
            multiline: false,
            level_names: Vec::new(),
            file_mode: 0o640,
            max_message_bytes: 1 << 20,
            write_retries: 3,
            backtrace: 0,
            backtrace_level: Level::ERROR,
            tsc: true,
            durability: None,
            durability_bytes: crate::queue::journal::DEFAULT_BYTES,
            files: Vec::new(),
            lifecycle: Lifecycle::default(),
            callbacks: Vec::new(),
            batch_callbacks: Vec::new(),
            sqlite: None,
            given: Vec::new(),
            sqlite_table: "logs".into(),
            sqlite_level: None,
            sqlite_busy_timeout: Duration::from_millis(5000),
            console_lane: LaneConfig::new(LaneOverflow::Drop),
            syslog_lane: LaneConfig::new(LaneOverflow::Drop),
            otlp_lane: LaneConfig::new(LaneOverflow::Drop),
            callback_lane: LaneConfig::new(LaneOverflow::Block),
            sqlite_lane: LaneConfig::new(LaneOverflow::Block),
            stall_timeout: Duration::from_millis(1000),
            on_error: None,
        }
    }
}

/// A path that `none` unsets (`None`); empty is refused.
fn parse_optional_path(key: &str, value: &str) -> Result<Option<PathBuf>> {
    match value.trim() {
        "" => Err(bad(key, value, "none or the path of a PEM file")),
        "none" => Ok(None),
        _ => Ok(Some(PathBuf::from(value))),
    }
}

/// The local syslog daemon's socket.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// The facilities of RFC 5424, by name; the value is the facility code.
pub const FACILITIES: [(&str, u8); 20] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// `HOST:PORT` of a receiver's URL (HOST a name, an IPv4 address or an IPv6 address in
/// brackets; PORT 1..65535); `why` makes the error.
fn parse_host_port(rest: &str, why: &dyn Fn(String) -> Error) -> Result<(String, u16)> {
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let Some((host, after)) = inner.split_once(']') else {
            return Err(why("unclosed [".into()));
        };
        let Some(port) = after.strip_prefix(':') else {
            return Err(why("no :PORT".into()));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(why(format!("{host} in brackets is not an IPv6 address")));
        }
        (host, port)
    } else {
        if rest.is_empty() {
            return Err(why("no host".into()));
        }
        let Some((host, port)) = rest.rsplit_once(':') else {
            return Err(why("no :PORT".into()));
        };
        if host.contains(':') {
            return Err(why(format!(
                "an IPv6 address is written in brackets: [{host}]"
            )));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(why("no host".into()));
    }
    if port.is_empty() {
        return Err(why("no :PORT".into()));
    }
    let bad_host = |b: u8| b.is_ascii_whitespace() || b.is_ascii_control() || b"/?#@".contains(&b);
    if host.bytes().any(bad_host) {
        return Err(why(format!("{host:?} is not a host name")));
    }
    let port = match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => return Err(why(format!("port {port} is not 1..65535"))),
    };
    Ok((host.to_string(), port))
}

/// Where the OTLP sink sends its records (the `otlp` key): `http://HOST:PORT[/PATH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpAddr {
    pub host: String,
    pub port: u16,
    /// The request path, `/v1/logs` unless the URL names one.
    pub path: String,
}

impl fmt::Display for OtlpAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "http://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// What the `otlp` key accepts, for its error messages.
const OTLP_ACCEPTED: &str = "none or http://HOST:PORT[/PATH] (an OTLP/HTTP receiver)";

/// The `otlp` key: `none` or `http://HOST:PORT[/PATH]` (PATH `/v1/logs` when absent).
fn parse_otlp(key: &str, value: &str) -> Result<Option<OtlpAddr>> {
    let v = value.trim();
    if v == "none" {
        return Ok(None);
    }
    let why = |why: String| {
        Error::invalid(format!(
            "invalid value {value:?} for {key}: {why} (expected {OTLP_ACCEPTED})"
        ))
    };
    let Some((scheme, rest)) = v.split_once("://") else {
        return Err(bad(key, value, OTLP_ACCEPTED));
    };
    match scheme {
        "http" => {}
        "https" => {
            return Err(why(
                "alog does not speak TLS: send to a collector on this machine or network over \
                 http://"
                    .into(),
            ))
        }
        other => return Err(why(format!("unknown scheme {other}"))),
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if path
        .bytes()
        .any(|b| !(0x21..=0x7e).contains(&b) || b == b'#')
    {
        return Err(why(format!("{path:?} is not a plain request path")));
    }
    let (host, port) = parse_host_port(authority, &why)?;
    let path = if path.is_empty() || path == "/" {
        DEFAULT_OTLP_PATH.to_string()
    } else {
        path.to_string()
    };
    Ok(Some(OtlpAddr { host, port, path }))
}

/// The OTLP/HTTP path of logs.
pub const DEFAULT_OTLP_PATH: &str = "/v1/logs";

fn bad(key: &str, value: &str, accepted: &str) -> Error {
    Error::invalid(format!(
        "invalid value {value:?} for {key}: expected {accepted}"
    ))
}

/// Octal permission bits 0..0777 (`0o` prefix allowed); `example` goes in the error.
fn parse_mode(key: &str, value: &str, example: &str) -> Result<u32> {
    let v = value.trim();
    let digits = v.strip_prefix("0o").unwrap_or(v);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 && !digits.is_empty() => Ok(m),
        _ => Err(bad(
            key,
            value,
            &format!("octal permission bits 0..0777, e.g. {example}"),
        )),
    }
}

/// `LEVEL=NAME,...`: the names printed for levels (a level name or number 1..24 on the left);
/// a name is 1 to 32 printable ASCII characters without space, `"`, `=` or `\`.
fn parse_level_names(key: &str, value: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = (1..=24)
        .map(|n| Level::new(n).expect("1..=24").name().to_string())
        .collect();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let ok = pair.split_once('=').and_then(|(l, n)| {
            let level = Level::parse(l)?;
            let n = n.trim();
            let printable = |c: char| c.is_ascii_graphic() && !matches!(c, '"' | '=' | '\\');
            let valid = (1..=32).contains(&n.len()) && n.chars().all(printable);
            valid.then(|| (level, n.to_string()))
        });
        match ok {
            Some((level, name)) => names[usize::from(level.number() - 1)] = name,
            None => {
                return Err(bad(
                    key,
                    value,
                    "LEVEL=NAME pairs such as 13=WARNING,21=CRITICAL (names of 1 to 32 printable ASCII characters without space, quote, = or backslash)",
                ))
            }
        }
    }
    Ok(names)
}

/// `true` `false` `1` `0`.
fn parse_bool(key: &str, value: &str) -> Result<bool> {
    parse_enum(
        key,
        value,
        &[("true", true), ("false", false), ("1", true), ("0", false)],
    )
}

fn parse_enum<T: Copy>(key: &str, value: &str, table: &[(&str, T)]) -> Result<T> {
    let v = value.trim();
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            bad(key, value, &names.join("|"))
        })
}

fn parse_uint(key: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    match value.trim().parse::<u64>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(bad(key, value, &format!("an integer {min}..{max}"))),
    }
}

/// A byte count with an optional binary suffix: `64k`, `10m`, `1g` (also `KiB`, `MB`...).
fn parse_bytes(key: &str, value: &str) -> Result<u64> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(n) if mult > 0 => Ok(n),
        _ => Err(bad(
            key,
            value,
            "a byte count such as 1048576, 64k, 10m or 1g",
        )),
    }
}

/// A time of day, `HH:MM` (or `H:MM`, `HH:MM:SS`), as seconds since midnight.
fn parse_time_of_day(key: &str, value: &str) -> Result<u32> {
    let parts: Vec<&str> = value.trim().split(':').collect();
    let nums: Option<Vec<u32>> = parts
        .iter()
        .map(|p| {
            (!p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect();
    match nums.as_deref() {
        Some([h, m]) if *h < 24 && *m < 60 => Ok(h * 3600 + m * 60),
        Some([h, m, sec]) if *h < 24 && *m < 60 && *sec < 60 => Ok(h * 3600 + m * 60 + sec),
        _ => Err(bad(
            key,
            value,
            "a time of day such as 00:00, 12:00 or 23:30",
        )),
    }
}

/// A duration with a unit: `90s`, `30m`, `12h`, `7d`, `2w`, or as people write it (`10 days`,
/// `1 week`, `30 minutes`); a bare number is seconds; 0 = none.
fn parse_age(key: &str, value: &str) -> Result<Option<Duration>> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let mult: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86400,
        "w" | "week" | "weeks" => 7 * 86400,
        _ => 0,
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(0) if mult > 0 => Ok(None),
        Some(n) if mult > 0 => Ok(Some(Duration::from_secs(n))),
        _ => Err(bad(
            key,
            value,
            "a duration such as 3600, 90s, 30m, 12h, 7d or 1 week",
        )),
    }
}

fn parse_level(key: &str, value: &str) -> Result<Level> {
    Level::parse(value).ok_or_else(|| bad(key, value, &Level::accepted()))
}

fn parse_format(key: &str, value: &str) -> Result<Format> {
    parse_enum(
        key,
        value,
        &[("text", Format::Text), ("json", Format::Json)],
    )
}

fn parse_pattern(key: &str, value: &str) -> Result<String> {
    crate::front::pattern::Pattern::parse(value)
        .map_err(|e| Error::invalid(format!("invalid {key}: {e}")))?;
    Ok(value.to_string())
}

fn parse_lane_overflow(key: &str, value: &str) -> Result<LaneOverflow> {
    parse_enum(
        key,
        value,
        &[("block", LaneOverflow::Block), ("drop", LaneOverflow::Drop)],
    )
}

fn parse_backlog(key: &str, value: &str) -> Result<usize> {
    let n = parse_bytes(key, value)?;
    if n > 1 << 30 {
        return Err(bad(key, value, "0 to 1g bytes (k, m, g suffixes)"));
    }
    Ok(n as usize)
}

/// A table name that needs no quoting: ASCII letters, digits and `_`, not starting with a
/// digit, not one of SQLite's own `sqlite_` names, at most 64 characters.
fn parse_table(key: &str, value: &str) -> Result<String> {
    let b = value.as_bytes();
    let ok = (1..=64).contains(&b.len())
        && !b[0].is_ascii_digit()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        && !value.to_ascii_lowercase().starts_with("sqlite_");
    if !ok {
        return Err(bad(
            key,
            value,
            "a table name of letters, digits and '_' (not starting with a digit or sqlite_), at most 64 characters",
        ));
    }
    Ok(value.to_string())
}

fn parse_json_key(key: &str, value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(bad(key, value, "a non-empty key name"));
    }
    Ok(value.to_string())
}

/// Every top-level key, for the "unknown key" message.
pub const KEYS: &[&str] = &[
    "level",
    "format",
    "pattern",
    "json.ts_key",
    "json.level_key",
    "json.msg_key",
    "queue_capacity",
    "queue_prefault",
    "overflow",
    "block_timeout_ms",
    "batch_size",
    "batch_timeout_ms",
    "flush_interval_ms",
    "fsync",
    "flush_on",
    "flush_on_signal",
    "time_zone",
    "name",
    "console",
    "console.level",
    "console.format",
    "console.color",
    "syslog",
    "syslog.level",
    "syslog.format",
    "syslog.pattern",
    "syslog.facility",
    "syslog.ident",
    "syslog.tls.ca",
    "syslog.tls.cert",
    "syslog.tls.key",
    "syslog.tls.server_name",
    "otlp",
    "otlp.level",
    "otlp.service_name",
    "console.overflow",
    "console.backlog",
    "syslog.overflow",
    "syslog.backlog",
    "otlp.overflow",
    "otlp.backlog",
    "callback.overflow",
    "callback.backlog",
    "sqlite",
    "sqlite.table",
    "sqlite.level",
    "sqlite.overflow",
    "sqlite.backlog",
    "sqlite.busy_timeout_ms",
    "stall_timeout_ms",
    "sync",
    "multiline",
    "level_names",
    "file_mode",
    "max_message_bytes",
    "write_retries",
    "backtrace",
    "backtrace.level",
    "clock",
    "file.NAME.path",
    "file.NAME.level",
    "file.NAME.format",
    "file.NAME.pattern",
    "rotate_bytes",
    "rotate_interval",
    "rotate_at",
    "max_files",
    "max_age",
    "max_total_bytes",
    "compress",
    "encryption_key_file",
    "encryption_key_env",
    "reopen_check",
    "durability",
    "durability.bytes",
    "dir_mode",
];

/// The message of an unknown key: the key (its first 64 bytes), the nearest known key when
/// one is close, and where the list is. Short enough for a 256-byte C buffer.
fn unknown_key_message(key: &str) -> String {
    let mut end = key.len().min(64);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    let shown = &key[..end];
    let ellipsis = if end < key.len() { "..." } else { "" };
    let nearest = KEYS
        .iter()
        .map(|k| (edit_distance(key.as_bytes(), k.as_bytes()), k))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, k)| *d <= 2.max(k.len() / 4));
    match nearest {
        Some((_, k)) => format!(
            "unknown configuration key {shown:?}{ellipsis}: did you mean {k:?}? (every key is listed in alog.h and README.md)"
        ),
        None => format!(
            "unknown configuration key {shown:?}{ellipsis} (every key is listed in alog.h and README.md)"
        ),
    }
}

/// Levenshtein distance of two byte strings (short keys only).
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// The prefix of environment variables that set any configuration key: `ALOG_CONF_` + the key
/// in capitals with each `.` written `__` (`ALOG_CONF_QUEUE_CAPACITY=65536`,
/// `ALOG_CONF_CONSOLE__LEVEL=warn`). `ALOG_LEVEL` sets `level`.
pub const ENV_PREFIX: &str = "ALOG_CONF_";

impl Config {
    /// Applies configuration from environment variables over this configuration: `ALOG_LEVEL`
    /// (the `level` key) and `ALOG_CONF_<KEY>` for any key (see [`ENV_PREFIX`]). `vars` is the
    /// environment (`std::env::vars_os()`); variables of other names are ignored. A bad name
    /// or value is `Error::Invalid` naming the variable.
    pub fn apply_env<I, K, V>(&mut self, vars: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut found: Vec<(String, String, String)> = Vec::new();
        for (k, v) in vars {
            let Some(name) = k.as_ref().to_str() else {
                continue;
            };
            let key = if name == "ALOG_LEVEL" {
                "level".to_string()
            } else if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                rest.to_ascii_lowercase().replace("__", ".")
            } else {
                continue;
            };
            let Some(value) = v.as_ref().to_str() else {
                return Err(Error::invalid(format!(
                    "environment variable {name}: not UTF-8"
                )));
            };
            found.push((name.to_string(), key, value.to_string()));
        }
        // ALOG_LEVEL last: it wins over ALOG_CONF_LEVEL, whatever the environment's order.
        found.sort_by_key(|(name, _, _)| name == "ALOG_LEVEL");
        for (name, key, value) in found {
            self.set(&key, &value)
                .map_err(|e| Error::invalid(format!("environment variable {name}: {e}")))?;
        }
        Ok(())
    }

    /// Sets one key from its string value, as the C ABI and the bindings do. Unknown keys and
    /// bad values are `Error::Invalid` with a message naming the key and the accepted values.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.set_key(key, value)?;
        self.given.push((key.to_string(), value.to_string()));
        Ok(())
    }

    /// How many sinks this configuration defines (the main file aside).
    pub fn sink_count(&self) -> usize {
        let singles = [
            self.console.is_some(),
            self.syslog.is_some(),
            self.sqlite.is_some(),
            self.otlp.is_some(),
        ];
        self.files.len()
            + self.callbacks.len()
            + self.batch_callbacks.len()
            + singles.iter().filter(|&&b| b).count()
    }

    /// The configuration of a sink added to an open logger whose configuration is `self`: the
    /// logger's settings (style, file lifecycle, lanes) with the sinks of `spec` instead of
    /// its own. `spec` must define exactly one sink and set only that sink's keys; the error
    /// names what is wrong.
    pub fn sink_keys(&self, spec: &Config) -> Result<Config> {
        const SINK_KEYS: [&str; 6] = ["file.", "console", "syslog", "sqlite", "otlp", "callback."];
        if let Some((k, _)) = spec
            .given
            .iter()
            .find(|(k, _)| !SINK_KEYS.iter().any(|p| k.starts_with(p)))
        {
            return Err(Error::invalid(format!(
                "{k} is a setting of the whole logger, not of a sink: an added sink takes \
                 file.NAME.*, console*, syslog*, sqlite*, otlp* and callback.* keys"
            )));
        }
        match spec.sink_count() {
            1 => {}
            0 => {
                return Err(Error::invalid(
                    "the configuration defines no sink: give file.NAME.path, console, syslog, \
                     sqlite, otlp or a callback",
                ))
            }
            n => {
                return Err(Error::invalid(format!(
                    "the configuration defines {n} sinks: add one sink at a time"
                )))
            }
        }
        // The logger's own sinks and their settings go; the new sink's keys start from the
        // defaults.
        let d = Config::default();
        let mut c = Config {
            files: Vec::new(),
            console: None,
            console_level: d.console_level,
            console_format: d.console_format,
            console_color: d.console_color,
            console_lane: d.console_lane,
            syslog: None,
            syslog_level: d.syslog_level,
            syslog_format: d.syslog_format,
            syslog_pattern: d.syslog_pattern,
            syslog_facility: d.syslog_facility,
            syslog_ident: d.syslog_ident,
            syslog_lane: d.syslog_lane,
            syslog_tls: d.syslog_tls,
            otlp: None,
            otlp_level: d.otlp_level,
            otlp_service_name: d.otlp_service_name,
            otlp_lane: d.otlp_lane,
            sqlite: None,
            sqlite_table: d.sqlite_table,
            sqlite_level: d.sqlite_level,
            sqlite_busy_timeout: d.sqlite_busy_timeout,
            sqlite_lane: d.sqlite_lane,
            callback_lane: d.callback_lane,
            ..self.clone()
        };
        c.callbacks = spec.callbacks.clone();
        c.batch_callbacks = spec.batch_callbacks.clone();
        for (k, v) in &spec.given {
            c.set_key(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }

    fn set_key(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "level" => self.level = parse_level(key, value)?,
            "format" => self.format = parse_format(key, value)?,
            "pattern" => self.pattern = Some(parse_pattern(key, value)?),
            "json.ts_key" => self.json_keys.ts = parse_json_key(key, value)?,
            "json.level_key" => self.json_keys.level = parse_json_key(key, value)?,
            "json.msg_key" => self.json_keys.msg = parse_json_key(key, value)?,
            "queue_capacity" => {
                self.queue_capacity = parse_uint(key, value, 1, MAX_QUEUE_CAPACITY as u64)? as usize
            }
            "queue_prefault" => self.queue_prefault = parse_bool(key, value)?,
            "overflow" => {
                self.overflow = parse_enum(
                    key,
                    value,
                    &[
                        ("block", Overflow::Block),
                        ("drop_newest", Overflow::DropNewest),
                        ("drop_oldest", Overflow::DropOldest),
                        ("warn", Overflow::Warn),
                    ],
                )?
            }
            "block_timeout_ms" => {
                let ms = parse_uint(key, value, 0, MAX_MS)?;
                self.block_timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "batch_size" => {
                self.batch_size = parse_uint(key, value, 1, MAX_QUEUE_CAPACITY as u64)? as usize
            }
            "batch_timeout_ms" => {
                self.batch_timeout = Duration::from_millis(parse_uint(key, value, 1, MAX_MS)?)
            }
            "flush_interval_ms" => {
                self.flush_interval = Duration::from_millis(parse_uint(key, value, 1, MAX_MS)?)
            }
            "fsync" => {
                self.fsync = parse_enum(
                    key,
                    value,
                    &[
                        ("never", Fsync::Never),
                        ("batch", Fsync::Batch),
                        ("interval", Fsync::Interval),
                        ("close", Fsync::Close),
                    ],
                )?
            }
            "console" => {
                self.console = parse_enum(
                    key,
                    value,
                    &[
                        ("none", None),
                        ("stdout", Some(Stream::Stdout)),
                        ("stderr", Some(Stream::Stderr)),
                    ],
                )?
            }
            "flush_on" => {
                self.flush_on = if value.trim().eq_ignore_ascii_case("never") {
                    None
                } else {
                    let accepted = format!("never, {}", Level::accepted());
                    Some(Level::parse(value).ok_or_else(|| bad(key, value, &accepted))?)
                }
            }
            "time_zone" => {
                self.local_time = parse_enum(key, value, &[("utc", false), ("local", true)])?;
                self.lifecycle.rotate_local = self.local_time;
            }
            "rotate_at" => {
                self.lifecycle.rotate_at = Some(parse_time_of_day(key, value)?);
                if self.lifecycle.rotate_interval == RotateInterval::Never {
                    self.lifecycle.rotate_interval = RotateInterval::Daily;
                }
            }
            "name" => {
                if value.len() > 256 || value.chars().any(char::is_control) {
                    return Err(bad(
                        key,
                        value,
                        "a name of up to 256 bytes without control characters",
                    ));
                }
                self.name = value.to_string();
            }
            "flush_on_signal" => {
                self.flush_on_signal = crate::front::signal_set::parse_signals(value).map_err(|_| {
                    bad(
                        key,
                        value,
                        "none or a comma-separated list of term, int, hup, quit, abrt, segv, bus, fpe, ill, crash",
                    )
                })?
            }
            "syslog" => self.syslog = parse_syslog(key, value)?,
            "syslog.level" => self.syslog_level = Some(parse_level(key, value)?),
            "syslog.format" => self.syslog_format = Some(parse_format(key, value)?),
            "syslog.pattern" => self.syslog_pattern = Some(parse_pattern(key, value)?),
            "syslog.facility" => {
                self.syslog_facility = parse_enum(key, value, &FACILITIES)?
            }
            "syslog.ident" => self.syslog_ident = Some(value.to_string()),
            "syslog.tls.ca" => self.syslog_tls.ca = parse_optional_path(key, value)?,
            "syslog.tls.cert" => self.syslog_tls.cert = parse_optional_path(key, value)?,
            "syslog.tls.key" => self.syslog_tls.key = parse_optional_path(key, value)?,
            "syslog.tls.server_name" => {
                self.syslog_tls.server_name = match value.trim() {
                    "" => return Err(bad(key, value, "a host name or an IP address")),
                    v => Some(v.to_string()),
                }
            }
            "otlp" => self.otlp = parse_otlp(key, value)?,
            "otlp.level" => self.otlp_level = Some(parse_level(key, value)?),
            "otlp.service_name" => self.otlp_service_name = Some(value.to_string()),
            "otlp.overflow" => self.otlp_lane.overflow = parse_lane_overflow(key, value)?,
            "otlp.backlog" => self.otlp_lane.backlog_bytes = parse_backlog(key, value)?,
            "console.level" => self.console_level = Some(parse_level(key, value)?),
            "console.format" => self.console_format = Some(parse_format(key, value)?),
            "console.color" => {
                self.console_color = parse_enum(
                    key,
                    value,
                    &[
                        ("auto", ColorMode::Auto),
                        ("always", ColorMode::Always),
                        ("never", ColorMode::Never),
                    ],
                )?
            }
            "console.overflow" => self.console_lane.overflow = parse_lane_overflow(key, value)?,
            "syslog.overflow" => self.syslog_lane.overflow = parse_lane_overflow(key, value)?,
            "callback.overflow" => self.callback_lane.overflow = parse_lane_overflow(key, value)?,
            "sqlite.overflow" => self.sqlite_lane.overflow = parse_lane_overflow(key, value)?,
            "console.backlog" => self.console_lane.backlog_bytes = parse_backlog(key, value)?,
            "syslog.backlog" => self.syslog_lane.backlog_bytes = parse_backlog(key, value)?,
            "callback.backlog" => self.callback_lane.backlog_bytes = parse_backlog(key, value)?,
            "sqlite.backlog" => self.sqlite_lane.backlog_bytes = parse_backlog(key, value)?,
            "sqlite" => {
                self.sqlite = match value.trim() {
                    "" => return Err(bad(key, value, "none or the path of a database file")),
                    "none" => None,
                    _ => Some(PathBuf::from(value)),
                }
            }
            "sqlite.table" => self.sqlite_table = parse_table(key, value)?,
            "sqlite.level" => self.sqlite_level = Some(parse_level(key, value)?),
            "sqlite.busy_timeout_ms" => {
                self.sqlite_busy_timeout = Duration::from_millis(parse_uint(key, value, 0, MAX_MS)?)
            }
            "stall_timeout_ms" => {
                self.stall_timeout = Duration::from_millis(parse_uint(key, value, 1, MAX_MS)?)
            }
            "level_names" => self.level_names = parse_level_names(key, value)?,
            "multiline" => {
                self.multiline = parse_enum(key, value, &[("escape", false), ("indent", true)])?
            }
            "sync" => {
                self.sync = parse_bool(key, value)?
            }
            "file_mode" => self.file_mode = parse_mode(key, value, "0640")?,
            "dir_mode" => self.lifecycle.dir_mode = parse_mode(key, value, "0750")?,
            "max_message_bytes" => {
                self.max_message_bytes = match parse_bytes(key, value)? {
                    n @ 1..=MAX_MESSAGE_BYTES_U64 => n as usize,
                    _ => return Err(bad(key, value, "a byte count 1..256m, such as 4096 or 64k")),
                }
            }
            "write_retries" => self.write_retries = parse_uint(key, value, 0, 10)? as u32,
            "backtrace" => self.backtrace = parse_uint(key, value, 0, 65536)? as usize,
            "backtrace.level" => self.backtrace_level = parse_level(key, value)?,
            "rotate_bytes" => self.lifecycle.rotate_bytes = parse_bytes(key, value)?,
            "rotate_interval" => {
                self.lifecycle.rotate_interval = parse_enum(
                    key,
                    value,
                    &[
                        ("never", RotateInterval::Never),
                        ("hourly", RotateInterval::Hourly),
                        ("daily", RotateInterval::Daily),
                    ],
                )?
            }
            "max_files" => self.lifecycle.max_files = parse_uint(key, value, 0, 1 << 32)?,
            "max_age" => self.lifecycle.max_age = parse_age(key, value)?,
            "max_total_bytes" => self.lifecycle.max_total_bytes = parse_bytes(key, value)?,
            "compress" => {
                self.lifecycle.compress = parse_enum(
                    key,
                    value,
                    &[
                        ("none", Compress::None),
                        ("gzip", Compress::Gzip),
                        ("zstd", Compress::Zstd),
                    ],
                )?
            }
            "encryption_key_file" if value.is_empty() => {
                return Err(bad(key, value, "the path of a file holding the key"))
            }
            "encryption_key_file" => {
                self.lifecycle.key = Some(KeySource::File(PathBuf::from(value)))
            }
            "encryption_key_env" if value.is_empty() => {
                return Err(bad(key, value, "the name of an environment variable"))
            }
            "encryption_key_env" => self.lifecycle.key = Some(KeySource::Env(value.to_string())),
            "reopen_check" => {
                self.lifecycle.reopen_check = parse_bool(key, value)?
            }
            "clock" => self.tsc = parse_enum(key, value, &[("auto", true), ("realtime", false)])?,
            "durability" => {
                self.durability = parse_enum(key, value, &[("none", false), ("mmap", true)])?
                    .then_some(self.durability_bytes)
            }
            "durability.bytes" => {
                use crate::queue::journal::{MAX_BYTES, MIN_BYTES};
                let n = parse_bytes(key, value)?;
                if !(MIN_BYTES..=MAX_BYTES).contains(&n) {
                    return Err(bad(key, value, "a byte count 64k..1g, such as 8m"));
                }
                self.durability_bytes = n;
                if self.durability.is_some() {
                    self.durability = Some(n);
                }
            }
            _ => return self.set_file_key(key, value),
        }
        Ok(())
    }

    fn set_file_key(&mut self, key: &str, value: &str) -> Result<()> {
        let unknown = || Error::invalid(unknown_key_message(key));
        let rest = key.strip_prefix("file.").ok_or_else(unknown)?;
        let (name, prop) = rest.rsplit_once('.').ok_or_else(unknown)?;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::invalid(format!(
                "invalid sink name {name:?} in {key}: use letters, digits, '_' or '-'"
            )));
        }
        let parsed = match prop {
            "path" if value.is_empty() => return Err(bad(key, value, "a file path")),
            "path" => FileSpec {
                path: Some(PathBuf::from(value)),
                ..FileSpec::default()
            },
            "level" => FileSpec {
                level: Some(parse_level(key, value)?),
                ..FileSpec::default()
            },
            "format" => FileSpec {
                format: Some(parse_format(key, value)?),
                ..FileSpec::default()
            },
            "pattern" => FileSpec {
                pattern: Some(parse_pattern(key, value)?),
                ..FileSpec::default()
            },
            _ => return Err(unknown()),
        };
        let spec = match self.files.iter_mut().position(|f| f.name == name) {
            Some(i) => &mut self.files[i],
            None => {
                self.files.push(FileSpec {
                    name: name.to_string(),
                    ..FileSpec::default()
                });
                self.files.last_mut().expect("just pushed")
            }
        };
        spec.path = parsed.path.or(spec.path.take());
        spec.level = parsed.level.or(spec.level);
        spec.format = parsed.format.or(spec.format);
        spec.pattern = parsed.pattern.or(spec.pattern.take());
        Ok(())
    }

    /// Checks the relations between keys that single values cannot express.
    pub fn validate(&self) -> Result<()> {
        if self.lifecycle.rotate_at.is_some()
            && self.lifecycle.rotate_interval != RotateInterval::Daily
        {
            return Err(Error::invalid(
                "rotate_at sets the time of day of daily rotation: it does not apply to \
                 rotate_interval=hourly",
            ));
        }
        if self.lifecycle.compress != Compress::None && !self.lifecycle.rotates() {
            return Err(Error::invalid(
                "compress applies to rotated files: set rotate_bytes or rotate_interval too",
            ));
        }
        if let Some(addr @ SyslogAddr::Tls { .. }) = &self.syslog {
            let t = &self.syslog_tls;
            if t.ca.is_none() {
                return Err(Error::invalid(format!(
                    "syslog={addr} needs syslog.tls.ca: a PEM file of the CA certificates that \
                     verify the receiver's certificate"
                )));
            }
            if t.cert.is_some() != t.key.is_some() {
                let (set, missing) = if t.cert.is_some() {
                    ("syslog.tls.cert", "syslog.tls.key")
                } else {
                    ("syslog.tls.key", "syslog.tls.cert")
                };
                return Err(Error::invalid(format!(
                    "{set} needs {missing} too: a client certificate goes with its private key"
                )));
            }
        }
        for f in &self.files {
            if f.path.is_none() {
                return Err(Error::invalid(format!(
                    "file.{}.path is required for sink {:?}",
                    f.name, f.name
                )));
            }
        }
        Ok(())
    }

    /// Whether a sink's pattern prints the calling thread, so log calls capture it.
    pub fn shows_thread(&self) -> bool {
        let file_patterns = self.files.iter().map(|f| f.pattern.as_ref());
        [self.pattern.as_ref(), self.syslog_pattern.as_ref()]
            .into_iter()
            .chain(file_patterns)
            .flatten()
            .any(|p| crate::front::pattern::shows_thread(p))
    }

    /// The style of the main file sink and the default of every other sink.
    pub fn style(&self) -> Style {
        Style {
            format: self.format,
            pattern: self.pattern.clone(),
            json_keys: self.json_keys.clone(),
            color: false,
            multiline: self.multiline,
            level_names: self.level_names.clone(),
            rfc5424: false,
            otlp: false,
            local_time: self.local_time,
            logger: self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_the_key() {
        let e = Config::default().set("colour", "red").unwrap_err();
        assert_eq!(e.code(), 2);
        assert_eq!(
            e.to_string(),
            "unknown configuration key \"colour\" (every key is listed in alog.h and README.md)"
        );
        let e = Config::default().set("queue_capacty", "8").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown configuration key \"queue_capacty\": did you mean \"queue_capacity\"? (every key is listed in alog.h and README.md)"
        );
        // Every unknown key's message fits a C program's 256-byte buffer with its NUL.
        let long = "k".repeat(10_000);
        let e = Config::default().set(&long, "1").unwrap_err().to_string();
        assert!(e.len() < 256, "{} bytes: {e}", e.len());
        assert!(e.contains(&format!("\"{}\"...", "k".repeat(64))), "{e}");
        let e = Config::default()
            .set("file.a.b.pathh", "x")
            .unwrap_err()
            .to_string();
        assert!(e.len() < 256, "{e}");
    }

    #[test]
    fn environment_sets_level_and_any_key() {
        let mut c = Config::default();
        c.apply_env([
            ("PATH", "/bin"),
            ("ALOG_LEVEL", "debug"),
            ("ALOG_CONF_LEVEL", "error"),
            ("ALOG_CONF_QUEUE_CAPACITY", "64"),
            ("ALOG_CONF_CONSOLE__LEVEL", "warn"),
        ])
        .unwrap();
        assert_eq!(c.level, Level::DEBUG);
        assert_eq!(c.queue_capacity, 64);
        let e = Config::default()
            .apply_env([("ALOG_CONF_QUEUE_CAPACTY", "8")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environment variable ALOG_CONF_QUEUE_CAPACTY: unknown configuration key \"queue_capacty\": did you mean"),
            "{e}"
        );
        let e = Config::default()
            .apply_env([("ALOG_LEVEL", "loud")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environment variable ALOG_LEVEL: invalid value \"loud\" for level"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_key_and_accepted_values() {
        let mut c = Config::default();
        let e = c.set("overflow", "sometimes").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value \"sometimes\" for overflow: expected block|drop_newest|drop_oldest|warn"
        );
        let e = c.set("queue_capacity", "-1").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value \"-1\" for queue_capacity: expected an integer 1..16777216"
        );
        assert!(c
            .set("level", "loud")
            .unwrap_err()
            .to_string()
            .contains("trace|debug|info"));
        assert!(c.set("file_mode", "0999").is_err());
        assert_eq!(
            c.set("flush_on", "soon").unwrap_err().to_string(),
            "invalid value \"soon\" for flush_on: expected never, \
             trace|debug|info|warn|error|fatal or a number 1..24"
        );
        assert_eq!(
            c.set("console.color", "yes").unwrap_err().to_string(),
            "invalid value \"yes\" for console.color: expected auto|always|never"
        );
        assert_eq!(
            c.set("queue_prefault", "yes").unwrap_err().to_string(),
            "invalid value \"yes\" for queue_prefault: expected true|false|1|0"
        );
        assert!(c
            .set("pattern", "{ts} {nope}")
            .unwrap_err()
            .to_string()
            .contains("{nope}"));
    }

    #[test]
    fn values_are_applied() {
        let mut c = Config::default();
        c.set("queue_capacity", "10").unwrap();
        c.set("batch_size", "5").unwrap();
        c.set("overflow", "DROP_OLDEST").unwrap();
        c.set("block_timeout_ms", "100").unwrap();
        assert!(!c.queue_prefault);
        c.set("queue_prefault", "true").unwrap();
        assert!(c.queue_prefault);
        c.set("file_mode", "0600").unwrap();
        c.set("console", "stderr").unwrap();
        assert_eq!(c.console_color, ColorMode::Auto);
        c.set("console.color", "never").unwrap();
        c.set("file.full.path", "full.log").unwrap();
        c.set("file.full.level", "debug").unwrap();
        c.set("file.full.format", "json").unwrap();
        assert_eq!(c.queue_capacity, 10);
        assert_eq!(c.batch_size, 5);
        assert_eq!(c.overflow, Overflow::DropOldest);
        assert_eq!(c.block_timeout, Some(Duration::from_millis(100)));
        assert_eq!(c.file_mode, 0o600);
        assert_eq!(c.console, Some(Stream::Stderr));
        assert_eq!(c.console_color, ColorMode::Never);
        assert_eq!(c.flush_on, None);
        c.set("flush_on", "Error").unwrap();
        assert_eq!(c.flush_on, Some(Level::ERROR));
        c.set("flush_on", "never").unwrap();
        assert_eq!(c.flush_on, None);
        assert_eq!(c.files.len(), 1);
        assert_eq!(
            c.files[0].path.as_deref(),
            Some(std::path::Path::new("full.log"))
        );
        assert_eq!(c.files[0].level, Some(Level::DEBUG));
        assert_eq!(c.files[0].format, Some(Format::Json));
        c.validate().unwrap();
    }

    #[test]
    fn lifecycle_keys_parse_units_and_name_bad_values() {
        let mut c = Config::default();
        c.set("rotate_bytes", "10m").unwrap();
        c.set("max_total_bytes", "64KiB").unwrap();
        c.set("max_age", "7d").unwrap();
        c.set("max_files", "5").unwrap();
        c.set("rotate_interval", "daily").unwrap();
        c.set("compress", "zstd").unwrap();
        c.set("encryption_key_env", "APP_LOG_KEY").unwrap();
        assert_eq!(c.lifecycle.rotate_bytes, 10 << 20);
        assert_eq!(c.lifecycle.max_total_bytes, 64 << 10);
        assert_eq!(c.lifecycle.max_age, Some(Duration::from_secs(7 * 86400)));
        assert_eq!(c.lifecycle.max_files, 5);
        assert_eq!(c.lifecycle.rotate_interval, RotateInterval::Daily);
        assert_eq!(c.lifecycle.compress, Compress::Zstd);
        assert_eq!(c.lifecycle.key, Some(KeySource::Env("APP_LOG_KEY".into())));
        assert_eq!(
            c.set("rotate_bytes", "10x").unwrap_err().to_string(),
            "invalid value \"10x\" for rotate_bytes: expected a byte count such as 1048576, 64k, 10m or 1g"
        );
        assert_eq!(
            c.set("max_age", "1y").unwrap_err().to_string(),
            "invalid value \"1y\" for max_age: expected a duration such as 3600, 90s, 30m, 12h, 7d or 1 week"
        );
        for (v, secs) in [
            ("1 week", 7 * 86400),
            ("10 days", 864000),
            ("2w", 14 * 86400),
            ("30 Minutes", 1800),
        ] {
            c.set("max_age", v).unwrap();
            assert_eq!(c.lifecycle.max_age, Some(Duration::from_secs(secs)), "{v}");
        }
        c.set("level_names", "13=WARNING, fatal=CRITICAL,11=NOTICE")
            .unwrap();
        assert_eq!(
            (
                &*c.level_names[12],
                &*c.level_names[20],
                &*c.level_names[10],
                &*c.level_names[8]
            ),
            ("WARNING", "CRITICAL", "NOTICE", "INFO")
        );
        for bad in ["13=", "13=TWO WORDS", "25=X", "13=a\"b", "WARNING"] {
            assert!(c.set("level_names", bad).is_err(), "{bad}");
        }
        c.set("max_message_bytes", "64k").unwrap();
        assert_eq!(c.max_message_bytes, 65536);
        c.set("rotate_bytes", "100 MB").unwrap();
        assert_eq!(c.lifecycle.rotate_bytes, 100 << 20);
        assert!(c.set("max_message_bytes", "0").is_err());
        assert!(c.set("max_message_bytes", "1g").is_err());
        assert_eq!(
            c.set("compress", "lz4").unwrap_err().to_string(),
            "invalid value \"lz4\" for compress: expected none|gzip|zstd"
        );
        c.set("max_age", "0").unwrap();
        assert_eq!(c.lifecycle.max_age, None);
    }

    #[test]
    fn otlp_urls_take_a_host_a_port_and_an_optional_path() {
        let url = |v: &str| parse_otlp("otlp", v).unwrap().map(|a| a.to_string());
        assert_eq!(url("none"), None);
        assert_eq!(
            url("http://collector:4318").as_deref(),
            Some("http://collector:4318/v1/logs")
        );
        assert_eq!(
            url("http://127.0.0.1:4318/").as_deref(),
            Some("http://127.0.0.1:4318/v1/logs")
        );
        assert_eq!(
            url(" http://[::1]:4318/otlp/v1/logs?x=1 ").as_deref(),
            Some("http://[::1]:4318/otlp/v1/logs?x=1")
        );
        let mut c = Config::default();
        c.set("otlp", "http://collector:4318").unwrap();
        c.set("otlp.service_name", "shop").unwrap();
        c.set("otlp.level", "warn").unwrap();
        c.set("otlp.overflow", "block").unwrap();
        c.set("otlp.backlog", "64k").unwrap();
        assert_eq!(c.otlp.as_ref().unwrap().host, "collector");
        assert_eq!(c.otlp_service_name.as_deref(), Some("shop"));
        assert_eq!(c.otlp_level, Some(Level::WARN));
        assert_eq!(c.otlp_lane.overflow, LaneOverflow::Block);
        assert_eq!(c.otlp_lane.backlog_bytes, 64 << 10);
    }

    #[test]
    fn validate_rejects_inconsistent_settings() {
        let mut c = Config::default();
        c.set("compress", "gzip").unwrap();
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "compress applies to rotated files: set rotate_bytes or rotate_interval too"
        );
        c.set("rotate_interval", "daily").unwrap();
        c.validate().unwrap();
        let mut c = Config::default();
        c.set("file.x.level", "info").unwrap();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("file.x.path is required"));
    }
}
