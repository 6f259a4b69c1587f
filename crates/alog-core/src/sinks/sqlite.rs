//! The SQLite sink (`sqlite=PATH`): one row per record in a table (`logs` unless
//! `sqlite.table` names another), each batch in one transaction, the database in WAL mode.
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS logs (
//!   id        INTEGER PRIMARY KEY,  -- insertion order: a thread's records in its order
//!   ts        TEXT,                 -- RFC 3339 UTC with microseconds; NULL without a timestamp
//!   ts_ns     INTEGER,              -- nanoseconds since the Unix epoch; NULL without one
//!   level     TEXT NOT NULL,        -- the printed name (level_names applies)
//!   level_num INTEGER NOT NULL,     -- 1..24, the OpenTelemetry severity number
//!   msg       TEXT NOT NULL,
//!   fields    TEXT NOT NULL,        -- a JSON object, '{}' without fields
//!   file      TEXT,                 -- the source location, NULL without one
//!   line      INTEGER,
//!   func      TEXT,
//!   pid       INTEGER NOT NULL
//! )
//! ```
//!
//! Every value is bound as a parameter, never written into SQL; the table name is checked to
//! be an identifier when configured. Text columns hold UTF-8: invalid bytes in a message,
//! file or function become U+FFFD (field names and values are escaped by the JSON format).
//!
//! A database that another connection holds locked is not an error at first: the transaction
//! is attempted with a short busy wait, and on `SQLITE_BUSY` the sink's lane keeps the rows
//! and retries with backoff (the writer and the other sinks go on). Rows that waited
//! `sqlite.busy_timeout_ms` for the lock count as failed. Other errors are retried
//! `write_retries` times (see the lane).
//!
//! The database path gets the log files' checks: a link, FIFO, device or folder at it, or at
//! its `-wal`, `-shm` or `-journal` file, is refused by name when the logger opens. A SQLite
//! connection must not be used across `fork()`, so a child process does not write through the
//! parent's: its rows count as failed with an error saying so.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::front::level::Level;
use crate::front::time::TsPrinter;
use crate::front::time::NO_TIMESTAMP;
use crate::render::row::Row;
use crate::sinks::file::safe;

/// The columns alog writes, in the order of its insert.
const COLUMNS: [&str; 10] = [
    "ts",
    "ts_ns",
    "level",
    "level_num",
    "msg",
    "fields",
    "file",
    "line",
    "func",
    "pid",
];

/// How long one attempt waits inside SQLite for a lock before the lane takes over (with
/// backoff on the pool's timer, holding no thread).
const ATTEMPT_BUSY_WAIT: Duration = Duration::from_millis(5);

/// The sink's settings (from the `sqlite.*` keys).
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub table: String,
    pub busy_timeout: Duration,
    /// `synchronous=FULL` (each commit reaches the disk) instead of `NORMAL`: `fsync=batch`.
    pub sync_each_batch: bool,
    pub file_mode: u32,
    pub dir_mode: u32,
    /// The printed level names (empty: the built-in names).
    pub level_names: Vec<String>,
}

/// What writing a batch came to when it did not succeed.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// Another connection holds the database locked: try again later.
    Busy,
    /// Rows that waited `busy_timeout` for the lock: they fail.
    LockedOut(Duration),
    /// Anything else (disk full, I/O error, a damaged database): worth a retry.
    Failed(io::Error),
    /// The connection cannot be used in this process (a fork child): no retry helps.
    Unusable(io::Error),
}

pub(crate) struct Sqlite {
    /// The connection of the process that opened it (`pid`): a fork child never uses it,
    /// and forgets it rather than close it (see `Drop`).
    conn: Option<Connection>,
    path: PathBuf,
    insert: String,
    opts: Options,
    pid: u32,
    /// Since when the lock has kept this sink's rows out (cleared by any commit).
    locked_since: Option<Instant>,
    ts: TsPrinter,
    ts_text: Vec<u8>,
}

fn sql_error(e: rusqlite::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Refuses a link, FIFO, device or folder at `p` if something is there.
fn check_side_file(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(_) => safe::open_read(p).map(drop),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Sqlite {
    /// Opens (creating it) the database and the table; the error says what is wrong with the
    /// path, the file or the table.
    pub(crate) fn open(path: &Path, opts: Options) -> io::Result<Sqlite> {
        safe::create_parent(path, opts.dir_mode)?;
        // Creates the file with `file_mode` and refuses what is not a regular file, as for
        // log files; SQLite itself opens every file with O_NOFOLLOW.
        let checked = safe::open_lock(path, opts.file_mode)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            check_side_file(Path::new(&side))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(sql_error)?;
        drop(checked);
        // Opening may wait for another writer as long as rows would.
        conn.busy_timeout(opts.busy_timeout).map_err(sql_error)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
            .map_err(sql_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(io::Error::other(format!(
                "the database cannot use WAL mode (journal_mode stays {mode})"
            )));
        }
        let sync = if opts.sync_each_batch {
            "FULL"
        } else {
            "NORMAL"
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(sql_error)?;
        let t = &opts.table;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS \"{t}\" (\
             id INTEGER PRIMARY KEY, ts TEXT, ts_ns INTEGER, level TEXT NOT NULL, \
             level_num INTEGER NOT NULL, msg TEXT NOT NULL, fields TEXT NOT NULL, \
             file TEXT, line INTEGER, func TEXT, pid INTEGER NOT NULL)"
        ))
        .map_err(sql_error)?;
        // A table of that name made by someone else must have alog's columns.
        let have: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sql_error)?;
        if let Some(missing) = COLUMNS
            .iter()
            .find(|c| !have.iter().any(|h| h.eq_ignore_ascii_case(c)))
        {
            return Err(io::Error::other(format!(
                "table \"{t}\" has no column named {missing} (create it with alog's columns, \
                 or set sqlite.table to another table)"
            )));
        }
        let insert = format!(
            "INSERT INTO \"{t}\" ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            COLUMNS.join(", ")
        );
        conn.prepare_cached(&insert).map_err(sql_error)?;
        // Each attempt waits only briefly: the lane retries on the pool's timer.
        conn.busy_timeout(ATTEMPT_BUSY_WAIT).map_err(sql_error)?;
        Ok(Sqlite {
            conn: Some(conn),
            path: path.to_path_buf(),
            insert,
            opts,
            pid: std::process::id(),
            locked_since: None,
            ts: TsPrinter::default(),
            ts_text: Vec::new(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts `rows` (each record's level, timestamp and [`Row`] bytes) in one transaction.
    /// `waiting_since`: when the oldest of them was handed to the sink. Returns the bytes of
    /// message and fields written.
    pub(crate) fn insert<'r>(
        &mut self,
        rows: impl Iterator<Item = (Level, i64, &'r [u8])>,
        waiting_since: Instant,
    ) -> Result<u64, WriteError> {
        if self.pid != std::process::id() {
            return Err(WriteError::Unusable(io::Error::other(
                "a SQLite connection cannot be used across fork(): this child process does \
                 not write to the parent's database (open a logger in the child)",
            )));
        }
        match self.transaction(rows) {
            Ok(n) => {
                self.locked_since = None;
                Ok(n)
            }
            Err(e) if is_busy(&e) => {
                let since = *self.locked_since.get_or_insert_with(Instant::now);
                let waited = since.max(waiting_since).elapsed();
                if waited < self.opts.busy_timeout {
                    return Err(WriteError::Busy);
                }
                // The next rows get a full wait of their own.
                self.locked_since = None;
                Err(WriteError::LockedOut(self.opts.busy_timeout))
            }
            Err(e) => Err(WriteError::Failed(sql_error(e))),
        }
    }

    fn transaction<'r>(
        &mut self,
        rows: impl Iterator<Item = (Level, i64, &'r [u8])>,
    ) -> rusqlite::Result<u64> {
        let conn = self.conn.as_mut().expect("taken only when dropped");
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut bytes = 0u64;
        {
            let mut stmt = tx.prepare_cached(&self.insert)?;
            let pid = i64::from(self.pid);
            for (level, ts, b) in rows {
                let row = Row::decode(b).ok_or_else(|| {
                    rusqlite::Error::ToSqlConversionFailure(
                        "internal error: malformed row encoding".into(),
                    )
                })?;
                let (ts_text, ts_ns) = if ts == NO_TIMESTAMP {
                    (None, None)
                } else {
                    self.ts_text.clear();
                    self.ts.push(ts, &mut self.ts_text);
                    (std::str::from_utf8(&self.ts_text).ok(), Some(ts))
                };
                let name = self
                    .opts
                    .level_names
                    .get(usize::from(level.number() - 1))
                    .map_or(level.name(), String::as_str);
                let text = |b: &'r [u8]| String::from_utf8_lossy(b);
                let src = row.source;
                stmt.execute(params![
                    ts_text,
                    ts_ns,
                    name,
                    level.number(),
                    text(row.msg),
                    text(row.fields),
                    src.map(|s| text(s.file)),
                    src.map(|s| s.line),
                    src.map(|s| s.func).filter(|f| !f.is_empty()).map(text),
                    pid,
                ])?;
                bytes += (row.msg.len() + row.fields.len()) as u64;
            }
        }
        tx.commit()?;
        Ok(bytes)
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // A fork child closing its logger: the connection is the parent's (closing it
            // could checkpoint or remove files the parent is using).
            if let Some(c) = self.conn.take() {
                std::mem::forget(c);
            }
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}
