/*
 * alog: an asynchronous logging engine. C ABI.
 *
 * Quick start:
 *
 *     alog_logger *lg;
 *     char err[256];
 *     alog_conf *conf = alog_conf_new();
 *     alog_conf_set(conf, "format", "json", err, sizeof err);
 *     if (alog_open("logs/app.log", conf, &lg, err, sizeof err) != ALOG_OK) { puts(err); exit(1); }
 *     alog_conf_free(conf);
 *     alog_write(lg, ALOG_LEVEL_INFO, "hello", 5);
 *     alog_close(lg, ALOG_TIMEOUT_INFINITE);
 *
 * Conventions: every fallible function returns alog_result (ALOG_OK = 0); outputs go in
 * trailing out-parameters written only on success; a buffer is followed by its size (a
 * message that does not fit ends in "... [N bytes]", N the size it needs); NULL
 * arguments give ALOG_ERR_NULL; alog_conf_free(NULL) and alog_close(NULL, ...) are no-ops.
 * No function lets a panic or undefined behaviour cross the boundary.
 *
 * Signal handlers may call alog_write, alog_write_record and ALOG_LOGF (and alog_reopen) with
 * records of up to 216 encoded bytes (a larger record is copied with malloc). A
 * call that interrupted another alog call on the same thread takes a path without locks,
 * waits or allocation: it copies a record of up to 216 encoded bytes into the queue if there
 * is room, and otherwise returns ALOG_ERR_FULL (ALOG_ERR_TOO_LARGE beyond 216 bytes), counted
 * in `dropped`; it never waits for itself, whatever the overflow policy. Such a record is
 * written at the writer's next batch timeout, flush, close or exit. ALOG_LOGF's first call of
 * a site registers it (it allocates): in a handler that interrupted an alog call it formats
 * with vsnprintf instead. Writer threads block asynchronous signals, so process-directed
 * signals never run a handler on them. Records logged after the exit hook (C++ static
 * destructors, atexit handlers registered before alog_open) are written before their call
 * returns, on the caller's thread.
 *
 * Configuration keys for alog_conf_set (string values):
 *   level              trace|debug|info|warn|error|fatal or 1..24     default info
 *   format             text|json                                     default text
 *   pattern            text pattern: {ts} {level} {msg} {fields} {file} {line} {func} {pid}
 *                      {thread} {thread_name} {logger}
 *                      {ts:FORMAT} (UTC), {localtime}, {localtime:FORMAT} (strftime; %f = us)
 *                                                 default "{ts} {level} {msg}{fields}"
 *   name               the logger's name for {logger} (<= 256 bytes)     default empty
 *   time_zone          utc|local: {ts} and JSON's ts in UTC (Z) or local time (+05:30)
 *                                                                    default utc
 *   json.ts_key, json.level_key, json.msg_key     JSON key names     default ts, level, msg
 *   queue_capacity     records held in memory, 1..16777216           default 8192
 *   queue_prefault     true|false: the queue's memory (256 bytes a record) made resident
 *                      at open, so that no call waits for a page     default false
 *   overflow           block|drop_newest|drop_oldest|warn            default block
 *   block_timeout_ms   how long a blocked write waits, 0 = forever   default 0
 *   batch_size         queued records that wake the writer (at most  default 1024
 *                      half of queue_capacity)
 *   batch_timeout_ms   longest wait for a batch to fill              default 50
 *   flush_interval_ms  period of fsync=interval                      default 1000
 *   fsync              never|batch|interval|close                    default never
 *   flush_on           never or a level: a record at or above it is written, with everything
 *                      queued before it, before its call returns     default never
 *   flush_on_signal    none, or signals whose default action first writes every open
 *                      logger's queue (within 2 s each), then ends the process as before:
 *                      term,int,hup,quit,abrt,segv,bus,fpe,ill; crash = abrt,segv,bus,fpe,ill.
 *                      Installed only where the disposition is still SIG_DFL. default none
 *   console            none|stdout|stderr                            default none
 *   console.level, console.format                 console sink's own level and format
 *   console.color      auto (a terminal, NO_COLOR unset)|always|never: colored level names
 *                                                                    default auto
 *   syslog             none|local (/dev/log)|absolute path of a Unix datagram socket (RFC 3164)
 *                      |udp://HOST:PORT|tcp://HOST:PORT (RFC 5424; TCP octet-counted)
 *                      |tls://HOST[:PORT] (RFC 5425: TCP in TLS, the receiver verified;
 *                      PORT default 6514)
 *                                                                    default none
 *   syslog.tls.ca      tls://: PEM file of the CA certificates that verify the receiver
 *                      (required)
 *   syslog.tls.cert, syslog.tls.key   tls://: PEM client certificate chain and its private
 *                      key, for a receiver that asks for one (both or neither)
 *   syslog.tls.server_name   tls://: the name the receiver's certificate must carry
 *                                                                    default HOST
 *   syslog.level, syslog.format, syslog.pattern   syslog sink's own  default pattern {msg}{fields}
 *                      ({msg} over the network: the fields are RFC 5424 structured data)
 *   syslog.facility    kern|user|mail|daemon|...|local0..local7      default user
 *   syslog.ident       program name shown by the daemon              default basename of argv[0]
 *   sqlite             none|path of a SQLite database: one row per record (ts, ts_ns, level,
 *                      level_num, msg, fields as JSON, file, line, func, pid), one
 *                      transaction per batch, WAL mode                default none
 *   sqlite.table       its table, created if absent (letters, digits, _)  default logs
 *   sqlite.level       the SQLite sink's own level
 *   sqlite.overflow, sqlite.backlog   block|drop when its lane holds sqlite.backlog bytes
 *                      (k|m|g) of rows waiting                        default block, 4m
 *   sqlite.busy_timeout_ms  how long rows wait for a database another connection holds
 *                      locked before they count as failed             default 5000
 *   otlp               none|http://HOST:PORT[/PATH]: an OpenTelemetry Collector's OTLP/HTTP
 *                      receiver (JSON, no TLS; PATH default /v1/logs)  default none
 *   otlp.level         OTLP sink's own level                         default the logger's
 *   otlp.service_name  the service.name resource attribute           default basename of argv[0]
 *   otlp.overflow, otlp.backlog   the OTLP sink's lane: drop|block when its backlog (bytes,
 *                      k m g) is full                                default drop, 4m
 *   sync               true|false (ALOG_SYNC=1 in the environment forces true)  default false
 *   level_names        LEVEL=NAME,...: names printed for levels, e.g. 13=WARNING,21=CRITICAL
 *   multiline          escape|indent: text output prints a newline in a message or field
 *                      value as 
, or continues after 4 spaces           default escape
 *   file_mode          octal mode of created files                   default 0640
 *   max_message_bytes  longest accepted record in the caller's bytes: the message, plus
 *                      alog_write_record's keys, values (numbers 8, booleans 1) and source
 *                      names, or ALOG_LOGF's strings plus 8 per other argument  default 1048576
 *   write_retries      retries of a failed write (backoff 1, 2, 4 ms...)  default 3
 *   backtrace          N records below the level kept in memory and written before the
 *                      next record at or above backtrace.level (spdlog's enable_backtrace)
 *                                                                    default 0
 *   backtrace.level    the level that writes the backtrace           default error
 *   clock              auto (invariant TSC where present) | realtime     default auto
 *   file.NAME.path, file.NAME.level, file.NAME.format, file.NAME.pattern   extra file sinks
 *   rotate_bytes       rotate before a file passes this size (k|m|g), 0 = never   default 0
 *   rotate_interval    never|hourly|daily (UTC period of each record's timestamp)  default never
 *   rotate_at          HH:MM: daily periods start then (local with time_zone=local) default 00:00
 *   max_files          rotated files kept per file sink, 0 = no limit            default 0
 *   max_age            delete rotated files older than this (s|m|h|d), 0 = never default 0
 *   max_total_bytes    rotated + active bytes kept per sink (k|m|g), 0 = no limit default 0
 *   compress           none|gzip|zstd: rotated files, on a background thread     default none
 *   encryption_key_file, encryption_key_env   32-byte key (64 hex digits, or 32 raw bytes
 *                      in the file); files are XChaCha20-Poly1305 chunks          default none
 *   reopen_check       true|false: reopen when the path was moved or deleted     default true
 *   durability         none|mmap: keep each record in a memory-mapped journal beside the
 *                      log file (.NAME.journal) until it is written, so that a record
 *                      whose call returned ALOG_OK survives kill -9, abort() or a
 *                      segfault and is written by the next alog_open   default none
 *   durability.bytes   the journal's ring size (k|m|g), 64k..1g                 default 8m
 *   dir_mode           octal mode of folders alog creates (less the umask)   default 0750
 * Rotated files are PATH.N or PATH.YYYY-MM-DD[THH].N (+ .gz/.zst), N past the largest present;
 * see README.
 *
 * Output: text lines are "<RFC 3339 UTC timestamp, microseconds> <LEVEL> <message>[ key=value...]";
 * JSON lines are one object with ts, level, msg first, then source and fields. Control
 * characters, newlines and invalid UTF-8 are escaped: one record is always one line.
 */

#ifndef ALOG_H
#define ALOG_H

/* Generated by cbindgen from crates/alog-ffi. Do not edit: run `bash scripts/gen-header.sh`. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Version of this header; compare with alog_version() at run time. */
#define ALOG_VERSION_STRING "0.1.0"


// Major version of the library this header belongs to.
#define ALOG_VERSION_MAJOR 0

// Minor version.
#define ALOG_VERSION_MINOR 1

// Patch version.
#define ALOG_VERSION_PATCH 0

// Severity levels: the OpenTelemetry severity numbers. Every integer 1..24 is a valid level;
// the numbers between the named ones are finer grades (printed `INFO2`, `INFO3`, ...).
#define ALOG_LEVEL_TRACE 1

#define ALOG_LEVEL_DEBUG 5

#define ALOG_LEVEL_INFO 9

#define ALOG_LEVEL_WARN 13

#define ALOG_LEVEL_ERROR 17

#define ALOG_LEVEL_FATAL 21

// Timeout value meaning "wait as long as it takes" for `alog_flush` and `alog_close`.
#define ALOG_TIMEOUT_INFINITE UINT32_MAX

// `alog_record.timestamp_ns` of a record written without a timestamp (log/slog's zero time):
// text lines start at the level, JSON objects have no timestamp member.
#define ALOG_TIMESTAMP_NONE INT64_MIN

// `alog_field.kind`: `str`/`str_len` hold a string (any bytes; invalid UTF-8 is escaped).
#define ALOG_FIELD_STRING 1

// `alog_field.kind`: `i64` holds a signed integer.
#define ALOG_FIELD_INT 2

// `alog_field.kind`: `u64` holds an unsigned integer.
#define ALOG_FIELD_UINT 3

// `alog_field.kind`: `f64` holds a double (NaN and infinities print as "NaN", "+Inf", "-Inf").
#define ALOG_FIELD_FLOAT 4

// `alog_field.kind`: `i64` holds a boolean (0 = false, anything else = true).
#define ALOG_FIELD_BOOL 5

// `alog_field.kind`: `str`/`str_len` hold one pre-encoded JSON value (e.g. a nested group),
// emitted as is in JSON output after validation; in text an object is flattened into
// `key.member=value` pairs; invalid JSON is written as a string.
#define ALOG_FIELD_JSON 6

// Most arguments an `ALOG_LOGF` call can defer; calls with more format on the caller's thread.
#define ALOG_LOGF_MAX_ARGS 16

// `alog_site.state`: not registered yet.
#define ALOG_SITE_NEW 0

// `alog_site.state`: another thread is registering it (this call formats on its thread).
#define ALOG_SITE_BUSY 1

// `alog_site.state`: registered; calls pass raw arguments.
#define ALOG_SITE_DEFERRED 2

// `alog_site.state`: the format has something alog does not defer (`%n`, `%m`, `*` widths,
// `long double`, wide characters, `'` grouping, positional arguments, a `%s` with a precision,
// more than `ALOG_LOGF_MAX_ARGS` arguments); calls format with `vsnprintf` on the caller's
// thread.
#define ALOG_SITE_FALLBACK 3

// `alog_site.kinds[i]`: the C type argument `i` is fetched as.
#define ALOG_ARG_INT 1

#define ALOG_ARG_LONG 2

#define ALOG_ARG_LLONG 3

#define ALOG_ARG_SIZE 4

#define ALOG_ARG_INTMAX 5

#define ALOG_ARG_PTRDIFF 6

#define ALOG_ARG_DOUBLE 7

#define ALOG_ARG_STRING 8

#define ALOG_ARG_POINTER 9

// A configuration under construction. Create with `alog_conf_new`, fill with
// `alog_conf_set`, pass to `alog_open` (which copies it), free with `alog_conf_free`.
// Not thread-safe: one thread at a time may use a given conf.
typedef struct alog_conf alog_conf;

// An open logger. Every function taking an `alog_logger *` may be called from any thread
// concurrently, including `alog_close` racing writes (those then return `ALOG_ERR_CLOSED`).
// After `alog_close` the handle stays valid for `alog_get_stats`, `alog_last_error` and
// further (refused) calls; its small remaining memory is retained by the library.
typedef struct alog_logger alog_logger;

// The result of every fallible function: `ALOG_OK` or one of the `ALOG_ERR_*` codes.
typedef int32_t alog_result;

// A line sink: called on the writer thread (or the logging thread in sync mode) with each
// formatted line, without its newline; `line[len]` is always `'\0'`. The line is valid
// only during the call. It must not call into the same logger, nor fork, nor let a C++
// exception or a longjmp leave it (the process would abort): make it `noexcept` in C++.
typedef void (*alog_sink_fn)(void *userdata, int32_t level, const char *line, size_t len);

// Error callback: called on the writer thread (or the logging thread in sync mode) for
// every I/O or sink error, with a NUL-terminated message valid during the call only. It must
// not call into the same logger, nor let a C++ exception or a longjmp leave it.
typedef void (*alog_error_fn)(void *userdata, alog_result code, const char *message);

// One key/value field of a structured record. Strings are pointer + length (no NUL needed).
// Zero the whole struct first (`= {0}`, designated initialisers or `memset`): `reserved`
// must be 0 (a later version may give it a meaning whose 0 is today's behaviour).
typedef struct alog_field {
  const char *key;
  size_t key_len;
  // One of the `ALOG_FIELD_*` kinds.
  int32_t kind;
  // Zero (room to grow, in what was padding); anything else is `ALOG_ERR_INVALID`.
  uint32_t reserved;
  int64_t i64;
  uint64_t u64;
  double f64;
  const char *str;
  size_t str_len;
} alog_field;

// A structured record for `alog_write_record`. Every pointer is borrowed for the call only.
// Zero the whole struct first: `reserved` must be all zeros (room to grow without changing
// the struct's size; a later version gives them meanings whose 0 is today's behaviour).
typedef struct alog_record {
  int32_t level;
  // Nanoseconds since the Unix epoch; 0 means "now" (taken by alog), `ALOG_TIMESTAMP_NONE`
  // means "no timestamp".
  int64_t timestamp_ns;
  const char *msg;
  size_t msg_len;
  const struct alog_field *fields;
  size_t n_fields;
  // Source file; NULL means the record has no source location.
  const char *file;
  size_t file_len;
  uint32_t line;
  // Function or module name; may be NULL.
  const char *func;
  size_t func_len;
  // Zero; anything else is `ALOG_ERR_INVALID`.
  uint64_t reserved[4];
} alog_record;

// Counters of a logger. At every moment
// `submitted == written + dropped + failed + pending`; after `alog_close`, `pending == 0`.
typedef struct alog_stats {
  // Records accepted by write calls (records below the level are not counted).
  uint64_t submitted;
  // Records every sink took.
  uint64_t written;
  // Records discarded by the overflow policy (drop_newest, drop_oldest, warn, block timeout).
  uint64_t dropped;
  // Records some sink could not take after retries (see `alog_last_error`).
  uint64_t failed;
  // Records accepted and not yet written, dropped or failed.
  uint64_t pending;
  uint64_t queue_len;
  uint64_t queue_capacity;
  uint64_t queue_peak;
  uint64_t batches;
  uint64_t bytes_written;
  // Failed write attempts, retries included.
  uint64_t write_errors;
  // File rotations this process did (rotate_bytes, rotate_interval).
  uint64_t rotations;
  uint64_t writer_restarts;
  // Zero; room to grow without changing the struct's size.
  uint64_t reserved[8];
} alog_stats;

// One sink's counters: `alog_get_sink_stats`. Counts are of records (lines). Per sink,
// `taken == written + dropped + failed + backlog` once nothing is in flight.
typedef struct alog_sink_stats {
  // `file` (the path given to `alog_open`), `file.NAME`, `console`, `syslog`, `sqlite`,
  // `otlp`, `callback.N`, `batch_callback.N`; NUL-terminated, truncated to fit.
  char name[64];
  // Where it writes: a path, `stdout`, `stderr`, `syslog at PATH` (or at
  // `udp://HOST:PORT`, `tcp://HOST:PORT`), `sqlite at PATH`, the OTLP collector's URL
  // (`http://HOST:PORT/v1/logs`), `callback`.
  char target[256];
  // Records handed to the sink (at or above its level).
  uint64_t taken;
  uint64_t written;
  // Records its lane dropped under the sink's policy (`NAME.overflow=drop`, a receiver
  // that accepted nothing for `stall_timeout_ms`).
  uint64_t dropped;
  // Records the sink could not write after retries.
  uint64_t failed;
  // Failed write attempts, retries included.
  uint64_t write_errors;
  uint64_t bytes_written;
  // Records waiting in the sink's lane now, and the most that ever waited.
  uint64_t backlog;
  uint64_t backlog_peak;
  // The sink's last error (empty if none), NUL-terminated, truncated to fit.
  char last_error[256];
  // Zero; room to grow without changing the struct's size.
  uint64_t reserved[8];
} alog_sink_stats;

// A call site of `ALOG_LOGF`: static storage, initialised by the macro with the format, file,
// function and line, and zeros. alog fills `state`, `id`, `n_args`, `kinds` and `word_tags` once, on the
// first call; `state` is read with acquire and written with release ordering. The strings are
// copied when the site is registered, so they need not outlive the logger. `reserved` is
// zero (room to grow; the macro's initialiser zeroes it).
typedef struct alog_site {
  const char *fmt;
  const char *file;
  const char *func;
  uint32_t line;
  // One of `ALOG_SITE_*`.
  uint32_t state;
  uint32_t id;
  uint32_t n_args;
  // `ALOG_ARG_*` of each argument.
  uint8_t kinds[ALOG_LOGF_MAX_ARGS];
  // alog's: how a record carries the arguments when none is a string (all zero when one is).
  uint8_t word_tags[ALOG_LOGF_MAX_ARGS];
  uint64_t reserved[2];
} alog_site;

// One raw argument of a deferred call: `i` for integers (sign- or zero-extended), `d` for
// doubles, `p` for strings (`const char *`, copied during the call) and pointers.
typedef union alog_arg {
  int64_t i;
  double d;
  const void *p;
} alog_arg;

// Success.
#define ALOG_OK 0

// A required pointer argument was NULL.
#define ALOG_ERR_NULL 1

// A configuration key or value, a level or a record field was not acceptable.
#define ALOG_ERR_INVALID 2

// The queue was full: the record was dropped by the `drop_newest` or `warn` policy (counted).
#define ALOG_ERR_FULL 3

// `block_timeout_ms` expired (the record was dropped and counted), or a flush/close timed out.
#define ALOG_ERR_TIMEOUT 4

// The logger is closed.
#define ALOG_ERR_CLOSED 5

// An I/O error (a file or folder could not be created or opened, a thread not started).
#define ALOG_ERR_IO 6

// A panic inside the library was caught at the boundary (a bug: please report it).
#define ALOG_ERR_PANIC 7

// The record is longer than `max_message_bytes` (or a length no buffer can have); it was not
// submitted.
#define ALOG_ERR_TOO_LARGE 8

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The library version, e.g. "0.1.0". Static string; any thread.
const char *alog_version(void);

// A new configuration holding every default (see the configuration table in README.md).
// Returns NULL only if memory is exhausted. Free it with `alog_conf_free`.
struct alog_conf *alog_conf_new(void);

// Sets one configuration key from its string value. On failure returns `ALOG_ERR_NULL` or
// `ALOG_ERR_INVALID` and, if `errstr` is not NULL, writes a NUL-terminated message naming
// the key and the accepted values (one that does not fit `errstr_size` ends in
// `... [N bytes]`, N the size it needs; unknown keys' messages fit 256). The conf is unchanged on
// failure.
alog_result alog_conf_set(struct alog_conf *conf,
                          const char *key,
                          const char *value,
                          char *errstr,
                          size_t errstr_size);

// Adds a callback sink that receives every record at `min_level` and above (0: the
// logger's level), formatted as `format` ("text", "json", or NULL for the logger's
// format). `userdata` is passed back unchanged; the caller keeps it alive until the logger
// is closed. See `alog_sink_fn` for the thread it runs on.
alog_result alog_conf_add_callback(struct alog_conf *conf,
                                   alog_sink_fn callback,
                                   void *userdata,
                                   int32_t min_level,
                                   const char *format,
                                   char *errstr,
                                   size_t errstr_size);

// Sets the error callback (NULL removes it). See `alog_error_fn`.
alog_result alog_conf_set_error_callback(struct alog_conf *conf,
                                         alog_error_fn callback,
                                         void *userdata);

// Frees a configuration. NULL is a no-op. Loggers opened with it are not affected.
void alog_conf_free(struct alog_conf *conf);

// Opens a logger appending to `path` (NULL: no main file; then the conf must name another
// sink) with the settings of `conf` (NULL: defaults), over which the environment applies:
// `ALOG_LEVEL` sets `level`, `ALOG_CONF_<KEY>` any key (capitals, `.` written `__`, e.g.
// `ALOG_CONF_CONSOLE__LEVEL=warn`); a bad one fails the open with a message naming the
// variable. `conf` is copied, not consumed. On
// success writes the handle to `*out`; on failure leaves `*out` untouched, returns
// `ALOG_ERR_NULL`, `ALOG_ERR_INVALID` or `ALOG_ERR_IO` and writes a message to `errstr`;
// `errno` is then the OS error behind an `ALOG_ERR_IO` (`ENOENT`, `EACCES`, ...) and 0 for
// every other failure. Starts the `alog-writer` thread (unless sync mode). Any thread.
alog_result alog_open(const char *path,
                      const struct alog_conf *conf,
                      struct alog_logger **out,
                      char *errstr,
                      size_t errstr_size);

// Logs a preformatted message of `len` bytes (any bytes: newlines, control characters and
// invalid UTF-8 are escaped by the formats; `msg` may be NULL when `len` is 0). The bytes are
// copied; the call never formats, locks, allocates (for messages up to 216 bytes) or makes a
// syscall on its normal path. Returns `ALOG_OK` also for records below the level (not
// counted); `ALOG_ERR_FULL` / `ALOG_ERR_TIMEOUT` when the overflow policy dropped it
// (counted in `dropped`); `ALOG_ERR_TOO_LARGE` beyond `max_message_bytes`;
// `ALOG_ERR_INVALID` for a level outside 1..24; `ALOG_ERR_CLOSED`. Any thread.
alog_result alog_write(struct alog_logger *lg, int32_t level, const char *msg, size_t len);

// Logs a structured record: message, typed fields, optional source location and optional
// timestamp. Everything is copied during the call. Returns as `alog_write`, plus
// `ALOG_ERR_NULL` for a NULL pointer with a non-zero length and `ALOG_ERR_INVALID` for an
// unknown field kind or a non-zero `reserved` member. Any thread.
alog_result alog_write_record(struct alog_logger *lg, const struct alog_record *rec);

// Waits until every record submitted before the call is written (or failed), then fsyncs
// file sinks unless `fsync=never`. `timeout_ms`: `ALOG_TIMEOUT_INFINITE` waits as long as
// it takes; on expiry returns `ALOG_ERR_TIMEOUT` (nothing is lost; writing continues).
// Any thread; blocks the caller.
alog_result alog_flush(struct alog_logger *lg, uint32_t timeout_ms);

// Closes the logger: refuses new records, drains the queue, flushes and fsyncs (unless
// `fsync=never`), closes the sinks and joins the writer. NULL is a no-op returning `ALOG_OK`.
// On `ALOG_ERR_TIMEOUT` the writer keeps draining in the background (callbacks still run)
// and releases the sinks when done. A later close - also one racing the first from another
// thread - waits for that, as long as its own timeout allows, and returns `ALOG_ERR_CLOSED`
// once the writer is done (`ALOG_ERR_TIMEOUT` while it still drains): after a close returned
// `ALOG_OK` or `ALOG_ERR_CLOSED`, no callback runs any more and their userdata may be freed.
// The handle stays valid afterwards for `alog_get_stats` and `alog_last_error`; writes,
// flushes and level changes return `ALOG_ERR_CLOSED` (a write below the logger's level still
// returns `ALOG_OK` at once, and a bad level `ALOG_ERR_INVALID`, as they do before close).
// Any thread, also while other threads write. A logger still open when the process calls
// `exit()` (or returns from `main`) is flushed by an exit hook, for at most 2 s.
alog_result alog_close(struct alog_logger *lg, uint32_t timeout_ms);

// Fills `*out` with a snapshot of the logger's counters (also after close). Any thread.
alog_result alog_get_stats(const struct alog_logger *lg, struct alog_stats *out);

// Stores the number of the logger's sinks in `*out` (indexes for `alog_get_sink_stats`).
// Any thread; also after close.
alog_result alog_sink_count(const struct alog_logger *lg, size_t *out);

// Fills `*out` with the counters of sink `index` (0-based, in configuration order: the file
// given to `alog_open`, `file.NAME` sinks, the console, syslog, callbacks, batch callbacks).
// `ALOG_ERR_INVALID` when `index` is not below `alog_sink_count`. Any thread; also after
// close.
alog_result alog_get_sink_stats(const struct alog_logger *lg,
                                size_t index,
                                struct alog_sink_stats *out);

// Called from inside a line or batch callback sink (for example by a binding whose callback
// caught its language's exception): the record being written counts as failed for that sink
// (`failed` in its `alog_sink_stats` and the logger's stats), and `reason` (NUL-terminated,
// may be NULL) reaches the error callback as "callback sink failed: REASON". Outside a
// callback it does nothing. The callback's thread only.
void alog_sink_fail(const char *reason);

// Sets the most `alog-writer` threads of the process (1..16; default 4, or
// `ALOG_WRITER_THREADS`). Every logger and every sink lane of the process shares them; they
// start when work needs them and end after 10 s without any. Lowering the limit lets extra
// threads end when they next find nothing to do. `ALOG_ERR_INVALID` outside 1..16. Any
// thread, at any time.
alog_result alog_set_writer_threads(uint32_t n);

// Asks the writer to close and reopen the logger's files before its next batch, after an
// external tool (logrotate without `copytruncate`) moved them. Only an atomic increment:
// async-signal-safe, so a SIGHUP handler may call it:
//
// ```c
// static alog_logger *g_log;
// static void on_hup(int sig) { (void)sig; alog_reopen(g_log); }
// /* after alog_open: */ signal(SIGHUP, on_hup);
// ```
//
// Without it alog still notices a moved or deleted file (one `stat` per batch, key
// `reopen_check`). `ALOG_ERR_CLOSED` after close. Any thread, signal handlers included.
alog_result alog_reopen(struct alog_logger *lg);

// Sets the level of the logger and of every sink without a level of its own.
// `ALOG_ERR_INVALID` outside 1..24. Any thread.
alog_result alog_set_level(struct alog_logger *lg, int32_t level);

// Adds the one sink that `sink` defines to the open logger: its keys only (`file.NAME.*`,
// `console*`, `syslog*`, `sqlite*`, `otlp*`, `callback.*`, or one callback from
// `alog_conf_add_callback`); the style and the file lifecycle are the logger's. `sink` is
// copied, not consumed; the environment does not apply. The sink takes every record logged
// after the call returns (records logged before may reach it too); the writer keeps writing
// while it opens. On success writes the sink's name (`file.NAME`, `console`, `syslog`,
// `sqlite`, `otlp`, `callback.N`; at most 63 bytes) to `name` unless it is NULL, cut to
// `name_size`. On failure returns `ALOG_ERR_NULL`, `ALOG_ERR_INVALID` (a logger-wide key,
// no sink or two, a name already in use), `ALOG_ERR_IO` (the sink could not open; `errno` is
// the OS error) or `ALOG_ERR_CLOSED`, with a message in `errstr`. Any thread, not from the
// logger's own callbacks.
alog_result alog_add_sink(struct alog_logger *lg,
                          const struct alog_conf *sink,
                          char *name,
                          size_t name_size,
                          char *errstr,
                          size_t errstr_size);

// Removes the sink named `name` (as `alog_get_sink_stats` and `alog_add_sink` name it): first
// writes to it every record logged before the call (as `alog_flush`, within `timeout_ms`;
// `ALOG_ERR_TIMEOUT` then leaves the sink in place), then takes it out and closes it, its
// lane writing what it still holds until the timeout (`ALOG_ERR_TIMEOUT`: the sink is gone and
// its lane finishes in the background). `ALOG_ERR_INVALID` for an unknown name or the last
// sink, with a message in `errstr`. Any thread, not from the logger's own callbacks; after a
// callback sink's removal returned `ALOG_OK` its callback is never called again.
alog_result alog_remove_sink(struct alog_logger *lg,
                             const char *name,
                             uint32_t timeout_ms,
                             char *errstr,
                             size_t errstr_size);

// 1 if a record at `level` would be accepted, else 0 (also for NULL, a closed logger
// still answers by its level). One atomic load: use it to skip building expensive messages.
int alog_level_enabled(const struct alog_logger *lg, int32_t level);

// Copies the last I/O or sink error message (empty if none) into `buf`, NUL-terminated and
// cut to `size` (ending in `... [N bytes]`, N the size needed, when it does not fit). Any thread.
alog_result alog_last_error(const struct alog_logger *lg, char *buf, size_t size);

// Registers a call site on its first use and returns its state: `ALOG_SITE_DEFERRED` when
// calls may pass raw arguments, else `ALOG_SITE_BUSY` or `ALOG_SITE_FALLBACK` (format on the
// caller's thread). Called by `ALOG_LOGF`; any thread; idempotent. NULL gives
// `ALOG_SITE_FALLBACK`.
uint32_t alog_site_prepare(struct alog_site *site);

// Logs a deferred call of a registered site (`state == ALOG_SITE_DEFERRED`) with `n` raw
// arguments; each of the first `site->n_args` is read as `site->kinds` says (strings are
// copied during the call), further ones are ignored, as printf ignores them. Called by
// `ALOG_LOGF`. Returns as `alog_write`; `ALOG_ERR_INVALID` for a site that is not registered
// or fewer arguments than its format takes. Any thread.
alog_result alog_logf_args(struct alog_logger *lg,
                           const struct alog_site *site,
                           int32_t level,
                           const union alog_arg *args,
                           uint32_t n);

// A static, NUL-terminated description of a result code; never NULL (unknown codes get
// "unknown result code"). Any thread.
const char *alog_result_str(alog_result r);

// The name of a result code as the header spells it ("ALOG_OK", "ALOG_ERR_NULL", ...): a
// static, NUL-terminated string, never NULL; unknown codes get "ALOG_ERR_UNKNOWN". Any thread.
const char *alog_result_name(alog_result r);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* ALOG_H */

/*
 * ALOG_LOGF(lg, level, fmt, ...): printf-style logging with deferred formatting.
 *
 *     ALOG_LOGF(lg, ALOG_LEVEL_INFO, "user %d logged in from %s in %.1f ms", id, ip, ms);
 *
 * The compiler checks the format against the arguments as it does for printf. Each call site
 * owns a static alog_site (format, file, line, function), registered with alog on its first
 * call; from then on a call copies only its raw arguments into the queue (integers, doubles,
 * pointers, and strings by value; each packed into an 8-byte word at compile time by its C
 * type) and the writer thread renders the text, exactly as printf would: integers, characters and strings by alog, floating point and %p by the C library's
 * snprintf. The record carries the call's file, line and function as its source location.
 * A format that alog does not defer (%n, %m, * widths, long double, wide characters, ' flag,
 * positional arguments, %s with a precision (its string need not end in NUL), more than
 * ALOG_LOGF_MAX_ARGS arguments, up to 64) is formatted on the calling thread with vsnprintf
 * instead: same output, slower call. Arguments the format does
 * not use are ignored, as printf ignores them; each argument is evaluated exactly once.
 *
 * With GCC and Clang (which it needs) ALOG_LOGF is an expression of type alog_result, with the
 * results of alog_write. Any thread. Strings need only live until the call returns. The format
 * must be a string literal (a variable does not compile: the site parses its format once).
 */
/* The trailer has a guard of its own: cbindgen places it after the header's include guard. */
#ifndef ALOG_LOGF_H_
#define ALOG_LOGF_H_
#if defined(__GNUC__) || defined(__clang__)

/* ALOG_CAST_(T, x): a cast that C++'s -Wold-style-cast accepts. */
#ifdef __cplusplus
#define ALOG_CAST_(T, x) (static_cast<T>(x))
#else
#define ALOG_CAST_(T, x) ((T)(x))
#endif

/* `"" fmt ""`: the format must be a string literal (a site parses it once, on its first call). */
#define ALOG_SITE_INIT_(fmt) \
  { "" fmt "", __FILE__, __func__, ALOG_CAST_(uint32_t, __LINE__), 0, 0, 0, { 0 }, { 0 }, { 0 } }
#define ALOG_LOGF_FIRST_(fmt, ...) fmt
#define ALOG_LOGF_UNWRAP_(...) __VA_ARGS__
#define ALOG_LOGF_CAT_(a, b) a##b
#define ALOG_LOGF_WITH_(n) ALOG_LOGF_CAT_(ALOG_LOGF_N, n)

/* The number of arguments after the format: 0 to 16, or V for 17 to 64. */
#define ALOG_LOGF_COUNT_(...) \
  ALOG_LOGF_PICK_(__VA_ARGS__, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, \
                  16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, ~)
#define ALOG_LOGF_PICK_(f, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, a33, a34, a35, a36, a37, a38, a39, a40, a41, a42, a43, a44, a45, a46, a47, a48, a49, a50, a51, a52, a53, a54, a55, a56, a57, a58, a59, a60, a61, a62, a63, a64, n, ...) n

#define ALOG_LOGF(lg, level, ...) \
  ALOG_LOGF_WITH_(ALOG_LOGF_COUNT_(__VA_ARGS__))((lg), (level), __VA_ARGS__)

/* A registered site: the arguments, packed by their C types, go to alog_logf_args; else (first
 * call, a format formatted on the caller) alog_logf_ fetches them as the format says. */
#define ALOG_LOGF_DEFER_(lg, level, fmt, n, packed, ...)                                   \
  __extension__({                                                                         \
    static alog_site alog_site_ = ALOG_SITE_INIT_(fmt);                                   \
    alog_result alog_r_;                                                                  \
    if (__builtin_expect(__atomic_load_n(&alog_site_.state, __ATOMIC_ACQUIRE) ==          \
                             ALOG_SITE_DEFERRED, 1)) {                                    \
      const alog_arg alog_a_[n] = { ALOG_LOGF_UNWRAP_ packed };                             \
      alog_r_ = alog_logf_args(lg, &alog_site_, level, alog_a_, n);                         \
    } else {                                                                              \
      alog_r_ = alog_logf_(lg, &alog_site_, level, fmt, __VA_ARGS__);                     \
    }                                                                                     \
    alog_r_;                                                                              \
  })
#define ALOG_LOGF_N0(lg, level, fmt)                                                      \
  __extension__({                                                                         \
    static alog_site alog_site_ = ALOG_SITE_INIT_(fmt);                                   \
    __builtin_expect(__atomic_load_n(&alog_site_.state, __ATOMIC_ACQUIRE) ==              \
                         ALOG_SITE_DEFERRED, 1)                                           \
        ? alog_logf_args(lg, &alog_site_, level, NULL, 0)                                 \
        : alog_logf_(lg, &alog_site_, level, fmt);                                        \
  })
#define ALOG_LOGF_N1(lg, level, fmt, a1) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 1, (ALOG_PACK_(a1)), a1)
#define ALOG_LOGF_N2(lg, level, fmt, a1, a2) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 2, (ALOG_PACK_(a1), ALOG_PACK_(a2)), a1, a2)
#define ALOG_LOGF_N3(lg, level, fmt, a1, a2, a3) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 3, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3)), a1, a2, a3)
#define ALOG_LOGF_N4(lg, level, fmt, a1, a2, a3, a4) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 4, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4)), a1, a2, a3, a4)
#define ALOG_LOGF_N5(lg, level, fmt, a1, a2, a3, a4, a5) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 5, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5)), a1, a2, a3, a4, a5)
#define ALOG_LOGF_N6(lg, level, fmt, a1, a2, a3, a4, a5, a6) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 6, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6)), a1, a2, a3, a4, a5, a6)
#define ALOG_LOGF_N7(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 7, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7)), a1, a2, a3, a4, a5, a6, a7)
#define ALOG_LOGF_N8(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 8, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8)), a1, a2, a3, a4, a5, a6, a7, a8)
#define ALOG_LOGF_N9(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 9, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9)), a1, a2, a3, a4, a5, a6, a7, a8, a9)
#define ALOG_LOGF_N10(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 10, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)
#define ALOG_LOGF_N11(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 11, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10), ALOG_PACK_(a11)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)
#define ALOG_LOGF_N12(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 12, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10), ALOG_PACK_(a11), ALOG_PACK_(a12)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)
#define ALOG_LOGF_N13(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 13, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10), ALOG_PACK_(a11), ALOG_PACK_(a12), ALOG_PACK_(a13)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)
#define ALOG_LOGF_N14(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 14, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10), ALOG_PACK_(a11), ALOG_PACK_(a12), ALOG_PACK_(a13), ALOG_PACK_(a14)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14)
#define ALOG_LOGF_N15(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 15, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10), ALOG_PACK_(a11), ALOG_PACK_(a12), ALOG_PACK_(a13), ALOG_PACK_(a14), ALOG_PACK_(a15)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15)
#define ALOG_LOGF_N16(lg, level, fmt, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16) \
  ALOG_LOGF_DEFER_(lg, level, fmt, 16, (ALOG_PACK_(a1), ALOG_PACK_(a2), ALOG_PACK_(a3), ALOG_PACK_(a4), ALOG_PACK_(a5), ALOG_PACK_(a6), ALOG_PACK_(a7), ALOG_PACK_(a8), ALOG_PACK_(a9), ALOG_PACK_(a10), ALOG_PACK_(a11), ALOG_PACK_(a12), ALOG_PACK_(a13), ALOG_PACK_(a14), ALOG_PACK_(a15), ALOG_PACK_(a16)), a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16)
/* More than ALOG_LOGF_MAX_ARGS arguments: formatted on the caller (the site is a fallback). */
#define ALOG_LOGF_NV(lg, level, ...)                                                      \
  __extension__({                                                                         \
    static alog_site alog_site_ = ALOG_SITE_INIT_(ALOG_LOGF_FIRST_(__VA_ARGS__, 0));        \
    alog_logf_(lg, &alog_site_, level, __VA_ARGS__);                                      \
  })

/* ALOG_PACK_(x): one argument as an alog_arg, by its C type: integers (and enums, bool, char)
 * converted to int64_t, floating point to double, pointers (strings too) as pointers. The
 * format decides how alog reads each word. All 8 bytes are always written. In C the type is
 * taken from `1 ? (x) : (x)`, which is not evaluated and converts as printf's arguments are
 * (bit-fields, _Bool, char and short promoted, arrays decayed, qualifiers dropped). */
#ifdef __cplusplus
/* C++ linkage even where the header is included inside extern "C" { ... }. */
extern "C++" {
static inline alog_arg alog_pack_(double v) { alog_arg a; a.d = v; return a; }
static inline alog_arg alog_pack_(float v) { alog_arg a; a.d = v; return a; }
static inline alog_arg alog_pack_(long double v) { alog_arg a; a.d = static_cast<double>(v); return a; }
static inline alog_arg alog_pack_(decltype(nullptr)) { alog_arg a; a.i = 0; return a; }
template <typename T> static inline alog_arg alog_pack_(T *v) {
  alog_arg a;
  a.i = 0;
  a.p = const_cast<const void *>(static_cast<const volatile void *>(v));
  return a;
}
template <typename T> static inline alog_arg alog_pack_(T v) {
  alog_arg a;
  a.i = static_cast<int64_t>(v);
  return a;
}
}  /* extern "C++" */
#define ALOG_PACK_(x) alog_pack_(x)
#else
static inline alog_arg alog_pack_i_(long long v) { alog_arg a; a.i = (int64_t)v; return a; }
static inline alog_arg alog_pack_u_(unsigned long long v) { alog_arg a; a.i = (int64_t)v; return a; }
static inline alog_arg alog_pack_d_(double v) { alog_arg a; a.d = v; return a; }
static inline alog_arg alog_pack_p_(const volatile void *v) {
  alog_arg a;
  a.i = 0;
  a.p = (const void *)(uintptr_t)v; /* through an integer: a volatile pointer is only an address */
  return a;
}
#define ALOG_PACK_(x)                                                                     \
  _Generic(1 ? (x) : (x),                                                                 \
      _Bool: alog_pack_i_, char: alog_pack_i_, signed char: alog_pack_i_,                \
      unsigned char: alog_pack_u_, short: alog_pack_i_, unsigned short: alog_pack_u_,    \
      int: alog_pack_i_, unsigned int: alog_pack_u_, long: alog_pack_i_,                 \
      unsigned long: alog_pack_u_, long long: alog_pack_i_,                              \
      unsigned long long: alog_pack_u_, float: alog_pack_d_, double: alog_pack_d_,       \
      long double: alog_pack_d_, default: alog_pack_p_)(x)
#endif

/* Formats on the calling thread and logs the text with the site's source location. */
static inline __attribute__((format(printf, 4, 0))) alog_result alog_logf_fallback_(struct alog_logger *lg, const alog_site *site,
                                              int32_t level, const char *fmt, va_list ap) {
  char small[512];
  char *buf = small;
  int n;
  alog_result r;
  alog_record rec;
  va_list again;
  if (!lg) return ALOG_ERR_NULL;
  if (level < 1 || level > 24) return ALOG_ERR_INVALID;
  if (!alog_level_enabled(lg, level)) return ALOG_OK;
  va_copy(again, ap);
  n = vsnprintf(small, sizeof small, fmt, ap);
  if (n >= ALOG_CAST_(int, sizeof small)) {
    buf = ALOG_CAST_(char *, malloc(ALOG_CAST_(size_t, n) + 1));
    if (buf) n = vsnprintf(buf, ALOG_CAST_(size_t, n) + 1, fmt, again);
  }
  va_end(again);
  if (n < 0 || !buf) {
    if (buf && buf != small) free(buf);
    return ALOG_ERR_INVALID;
  }
  memset(&rec, 0, sizeof rec);
  rec.level = level;
  rec.msg = buf;
  rec.msg_len = ALOG_CAST_(size_t, n);
  rec.file = site->file;
  rec.file_len = site->file ? strlen(site->file) : 0;
  rec.line = site->line;
  rec.func = site->func;
  rec.func_len = site->func ? strlen(site->func) : 0;
  r = alog_write_record(lg, &rec);
  if (buf != small) free(buf);
  return r;
}

/* ALOG_LOGF's slow path (a site's first call, formats alog does not defer, more than
 * ALOG_LOGF_MAX_ARGS arguments): registers the site, then fetches each argument as the site's
 * parsed format says, or formats on the calling thread. */
static inline __attribute__((format(printf, 4, 5))) alog_result
alog_logf_(struct alog_logger *lg, alog_site *site, int32_t level, const char *fmt, ...) {
  alog_arg args[ALOG_LOGF_MAX_ARGS];
  uint32_t i, n;
  alog_result r;
  va_list ap;
  uint32_t state = __atomic_load_n(&site->state, __ATOMIC_ACQUIRE);
  if (__builtin_expect(state != ALOG_SITE_DEFERRED, 0)) {
    if (state == ALOG_SITE_NEW) state = alog_site_prepare(site);
    if (state != ALOG_SITE_DEFERRED) {
      va_start(ap, fmt);
      r = alog_logf_fallback_(lg, site, level, fmt, ap);
      va_end(ap);
      return r;
    }
  }
  n = site->n_args;
  va_start(ap, fmt);
  for (i = 0; i < n; i++) {
    switch (site->kinds[i]) {
      case ALOG_ARG_INT: args[i].i = va_arg(ap, int); break;
      case ALOG_ARG_LONG: args[i].i = va_arg(ap, long); break;
      case ALOG_ARG_LLONG: args[i].i = va_arg(ap, long long); break;
      case ALOG_ARG_SIZE: args[i].i = ALOG_CAST_(int64_t, va_arg(ap, size_t)); break;
      case ALOG_ARG_INTMAX: args[i].i = ALOG_CAST_(int64_t, va_arg(ap, intmax_t)); break;
      case ALOG_ARG_PTRDIFF: args[i].i = ALOG_CAST_(int64_t, va_arg(ap, ptrdiff_t)); break;
      case ALOG_ARG_DOUBLE: args[i].d = va_arg(ap, double); break;
      default: args[i].p = va_arg(ap, const void *); break;
    }
  }
  va_end(ap);
  return alog_logf_args(lg, site, level, args, n);
}

#endif /* __GNUC__ || __clang__ */
#endif /* ALOG_LOGF_H_ */
