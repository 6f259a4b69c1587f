//! The SQLite sink (`sqlite=PATH`): every record one row, each batch one transaction, read
//! back here through a connection of our own. The tests plant what a database meets in
//! practice: threads logging at once, another connection holding the write lock, hostile
//! paths at the database's name and hostile field names and values.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alog_core::time::TsPrinter;
use alog_core::{Field, Level, Logger, Record, Source, Value};
use common::{lines, sink};
use rusqlite::Connection;

fn count(db: &Connection, table: &str) -> u64 {
    db.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap()
}

/// A logger whose only sink is the SQLite database at `db`.
fn sqlite_logger(db: &Path) -> Logger {
    Logger::builder()
        .set("sqlite", db.to_str().unwrap())
        .unwrap()
        .build()
        .unwrap()
}

/// A logger writing the file `dir/app.log` and the database `dir/app.db`, with `keys` set;
/// with the two paths.
fn file_and_sqlite(dir: &Path, keys: &[(&str, &str)]) -> (Logger, PathBuf, PathBuf) {
    let (path, db) = (dir.join("app.log"), dir.join("app.db"));
    let mut b = Logger::builder().path(&path);
    for (k, v) in [("sqlite", db.to_str().unwrap())].iter().chain(keys) {
        b = b.set(k, v).unwrap();
    }
    (b.build().unwrap(), path, db)
}

/// Checks the SQLite sink's counts (taken, written, failed, none dropped) and that its last
/// error, and the logger's, is "writing N records to sqlite at DB: WHY" for the failed rows.
fn assert_failed_rows(log: &Logger, db: &Path, counts: (u64, u64, u64), why: &str) {
    let st = log.sink_stats();
    let sq = sink(&st, "sqlite");
    let (taken, written, failed) = counts;
    assert_eq!(
        (sq.taken, sq.written, sq.dropped, sq.failed),
        (taken, written, 0, failed),
        "{sq:?}"
    );
    let want = format!(
        "writing {failed} records to sqlite at {}: {why}",
        db.display()
    );
    assert_eq!(sq.last_error.as_deref(), Some(want.as_str()));
    assert_eq!(log.last_error().as_deref(), Some(want.as_str()));
}

/// Every row `sql` selects, each read by `f`.
fn select<T>(
    db: &Connection,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    let mut stmt = db.prepare(sql).unwrap();
    let rows = stmt.query_map([], f).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Rows of one thread's records come out in the order it logged them: `(thread, i)` per row
/// in id order.
fn assert_in_order(db: &Connection, threads: u64, each: u64) {
    let mut next = vec![0u64; threads as usize];
    let mut stmt = db
        .prepare(
            "SELECT json_extract(fields, '$.thread'), json_extract(fields, '$.i') \
             FROM logs ORDER BY id",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let (t, i): (u64, u64) = (r.get(0).unwrap(), r.get(1).unwrap());
        assert_eq!(i, next[t as usize], "thread {t}: row {i} out of order");
        next[t as usize] += 1;
    }
    assert!(next.iter().all(|&n| n == each), "{next:?}");
}

const LEVELS: [Level; 4] = [Level::INFO, Level::WARN, Level::ERROR, Level::FATAL];

/// Record `i` of thread `t`, as the threads of the tests log it.
fn log_one(log: &Logger, t: u64, i: u64) {
    let file = format!("src/worker{t}.rs");
    let fields = [
        Field::new("thread", t),
        Field::new("i", i),
        Field::new("note", "he said \"hi\"\n"),
        Field::new("ok", i % 2 == 0),
        Field::new("ratio", 0.5),
    ];
    log.write_record(&Record {
        level: LEVELS[(i % 4) as usize],
        timestamp_ns: None,
        msg: format!("t{t} r{i}").as_bytes(),
        fields: &fields,
        source: Some(Source {
            file: file.as_bytes(),
            line: (i + 1) as u32,
            func: b"worker",
        }),
    })
    .unwrap();
}

#[test]
fn four_threads_of_25000_records_are_100000_rows_each_thread_in_order() {
    const THREADS: u64 = 4;
    const EACH: u64 = 25_000;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("logs/app.db");
    let log = sqlite_logger(&db_path);
    let before = alog_core::time::now_ns();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let log = &log;
            s.spawn(move || (0..EACH).for_each(|i| log_one(log, t, i)));
        }
    });
    log.close(Some(Duration::from_secs(60))).unwrap();
    let after = alog_core::time::now_ns();

    let n = THREADS * EACH;
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped, s.failed, s.pending),
        (n, n, 0, 0, 0)
    );
    let st = log.sink_stats();
    let sq = sink(&st, "sqlite");
    assert_eq!(sq.target, format!("sqlite at {}", db_path.display()));
    assert_eq!(
        (sq.taken, sq.written, sq.dropped, sq.failed, sq.backlog),
        (n, n, 0, 0, 0),
        "{sq:?}"
    );
    assert_eq!(sq.last_error, None);

    let db = Connection::open(&db_path).unwrap();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(count(&db, "logs"), n);
    assert_in_order(&db, THREADS, EACH);
    // Every column of every row is exactly what was logged.
    let mut stmt = db
        .prepare(
            "SELECT ts, ts_ns, level, level_num, msg, fields, file, line, func, pid, \
             json_valid(fields), json_extract(fields, '$.thread'), json_extract(fields, '$.i'), \
             json_extract(fields, '$.note'), json_extract(fields, '$.ok'), \
             json_extract(fields, '$.ratio'), json_type(fields) FROM logs ORDER BY id",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut printer = TsPrinter::default();
    let mut seen = 0u64;
    while let Some(r) = rows.next().unwrap() {
        let (ts, ts_ns): (String, i64) = (r.get(0).unwrap(), r.get(1).unwrap());
        let (t, i): (u64, u64) = (r.get(11).unwrap(), r.get(12).unwrap());
        let level = LEVELS[(i % 4) as usize];
        assert!((before..=after).contains(&ts_ns), "{ts_ns}");
        let mut want_ts = Vec::new();
        printer.push(ts_ns, &mut want_ts);
        assert_eq!(ts.as_bytes(), want_ts);
        assert_eq!(r.get::<_, String>(2).unwrap(), level.name());
        assert_eq!(r.get::<_, i64>(3).unwrap(), i64::from(level.number()));
        assert_eq!(r.get::<_, String>(4).unwrap(), format!("t{t} r{i}"));
        assert_eq!(
            r.get::<_, String>(5).unwrap(),
            format!(
                "{{\"thread\":{t},\"i\":{i},\"note\":\"he said \\\"hi\\\"\\n\",\"ok\":{},\"ratio\":0.5}}",
                i % 2 == 0
            )
        );
        assert_eq!(r.get::<_, String>(6).unwrap(), format!("src/worker{t}.rs"));
        assert_eq!(r.get::<_, u64>(7).unwrap(), i + 1);
        assert_eq!(r.get::<_, String>(8).unwrap(), "worker");
        assert_eq!(r.get::<_, u32>(9).unwrap(), std::process::id());
        assert_eq!(r.get::<_, i64>(10).unwrap(), 1, "fields is valid JSON");
        assert_eq!(r.get::<_, String>(13).unwrap(), "he said \"hi\"\n");
        assert_eq!(r.get::<_, i64>(14).unwrap(), i64::from(i % 2 == 0));
        assert_eq!(r.get::<_, f64>(15).unwrap(), 0.5);
        assert_eq!(r.get::<_, String>(16).unwrap(), "object");
        seen += 1;
    }
    assert_eq!(seen, n);
}

#[test]
fn a_database_locked_by_another_writer_delays_rows_without_losing_them_or_the_file() {
    const BEFORE: u64 = 1_000;
    const DURING: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    // The queue holds every record: the callers cannot wait, whatever the writer does.
    let keys = [("pattern", "{msg}"), ("queue_capacity", "65536")];
    let (log, path, db_path) = file_and_sqlite(dir.path(), &keys);
    for i in 0..BEFORE {
        log_one(&log, 0, i);
    }
    log.flush(Some(Duration::from_secs(20))).unwrap();
    let other = Connection::open(&db_path).unwrap();
    assert_eq!(count(&other, "logs"), BEFORE);

    // Another writer takes the database's write lock and holds it for a second.
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked = Instant::now();
    for i in BEFORE..BEFORE + DURING {
        log_one(&log, 0, i);
    }
    // The file beside it gets every record while the database is still locked (the lock is
    // held until then, and for a second at least).
    let total = (BEFORE + DURING) as usize;
    while lines(&path).len() < total {
        assert!(
            locked.elapsed() < Duration::from_secs(20),
            "the file sink waited for the locked database"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Meanwhile no row could be committed; the lane holds them all.
    assert_eq!(count(&other, "logs"), BEFORE);
    let st = log.sink_stats();
    let (file, sq) = (sink(&st, "file"), sink(&st, "sqlite"));
    assert_eq!((file.written, file.failed), (BEFORE + DURING, 0));
    assert_eq!(
        (sq.written, sq.dropped, sq.failed),
        (BEFORE, 0, 0),
        "{sq:?}"
    );
    assert_eq!(sq.backlog, DURING, "{sq:?}");
    let s = log.stats();
    assert_eq!((s.written, s.pending), (BEFORE, DURING));
    std::thread::sleep(Duration::from_secs(1).saturating_sub(locked.elapsed()));
    other.execute_batch("COMMIT").unwrap();

    log.flush(Some(Duration::from_secs(20))).unwrap();
    let n = BEFORE + DURING;
    assert_eq!(count(&other, "logs"), n);
    assert_in_order(&other, 1, n);
    let st = log.sink_stats();
    let sq = sink(&st, "sqlite");
    assert_eq!(
        (sq.taken, sq.written, sq.dropped, sq.failed, sq.backlog),
        (n, n, 0, 0, 0),
        "{sq:?}"
    );
    assert!(sq.backlog_peak >= DURING, "{sq:?}");
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped, s.failed, s.pending),
        (n, n, 0, 0, 0)
    );
    log.close(None).unwrap();
}

/// With the file and database of [`file_and_sqlite`] (and `keys`, batches only at flush and
/// close): logs "first", then `n` records while another connection holds the database locked,
/// flushing them out while it still does, then "after" once it let go. Returns the logger
/// (flushed), the file's path, the other connection, how long the locked flush took and the
/// folder.
fn log_through_a_lock(
    keys: &[(&str, &str)],
    n: u64,
) -> (Logger, PathBuf, Connection, Duration, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = keys.to_vec();
    keys.push(("batch_timeout_ms", "3600000"));
    let (log, path, db_path) = file_and_sqlite(dir.path(), &keys);
    log.info("first");
    log.flush(None).unwrap();
    let other = Connection::open(&db_path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..n {
        log.info(format!("locked out {i}"));
    }
    let start = Instant::now();
    log.flush(Some(Duration::from_secs(20))).unwrap();
    let took = start.elapsed();
    other.execute_batch("COMMIT").unwrap();
    log.info("after");
    log.flush(None).unwrap();
    let msgs: Vec<String> = select(&other, "SELECT msg FROM logs ORDER BY id", |r| r.get(0));
    assert_eq!(msgs, ["first", "after"]);
    assert_eq!(lines(&path).len() as u64, n + 2);
    (log, dir.path().join("app.db"), other, took, dir)
}

#[test]
fn rows_locked_out_past_the_busy_timeout_fail_counted_and_later_rows_are_written() {
    // The flush returns once the 100 rows (one transaction) waited out the busy timeout,
    // before the lock goes.
    let (log, db_path, _other, took, _dir) =
        log_through_a_lock(&[("sqlite.busy_timeout_ms", "200")], 100);
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let why =
        "database is locked by another connection for more than 200 ms (sqlite.busy_timeout_ms)";
    assert_failed_rows(&log, &db_path, (102, 2, 100), why);
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.failed, s.pending),
        (102, 2, 100, 0)
    );
}

#[test]
fn sink_level_table_name_and_reopening_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        ("level", "debug"),
        ("sqlite.table", "app_events"),
        ("sqlite.level", "warn"),
        ("level_names", "13=WARNING"),
    ];
    for run in 0..2 {
        let (log, _, _) = file_and_sqlite(dir.path(), &keys);
        log.debug(format!("debug {run}"));
        log.warn(format!("warn {run}"));
        log.error(format!("error {run}"));
        log.close(None).unwrap();
        let st = log.sink_stats();
        let sq = sink(&st, "sqlite");
        assert_eq!((sq.taken, sq.written), (2, 2));
    }
    assert_eq!(lines(&dir.path().join("app.log")).len(), 6);
    let db = Connection::open(dir.path().join("app.db")).unwrap();
    type Cols = (String, i64, String, Option<String>, Option<i64>);
    let rows: Vec<Cols> = select(
        &db,
        "SELECT level, level_num, msg, file, line FROM app_events ORDER BY id",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    );
    let want = |l: &str, n: i64, m: &str| (l.to_string(), n, m.to_string(), None, None);
    assert_eq!(
        rows,
        [
            want("WARNING", 13, "warn 0"),
            want("ERROR", 17, "error 0"),
            want("WARNING", 13, "warn 1"),
            want("ERROR", 17, "error 1"),
        ]
    );
    // A record without fields has an empty object, one without a source NULL func.
    let (fields, func): (String, Option<String>) = db
        .query_row("SELECT fields, func FROM app_events LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((fields.as_str(), func), ("{}", None));
}

#[test]
fn a_record_without_a_timestamp_has_null_ts() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("app.db");
    let log = sqlite_logger(&db_path);
    log.write_record(&Record {
        timestamp_ns: Some(alog_core::NO_TIMESTAMP),
        ..Record::new(Level::INFO, "timeless")
    })
    .unwrap();
    log.write_record(&Record {
        timestamp_ns: Some(1_764_000_000_123_456_789),
        ..Record::new(Level::INFO, "given")
    })
    .unwrap();
    log.close(None).unwrap();
    let db = Connection::open(&db_path).unwrap();
    let rows: Vec<(Option<String>, Option<i64>)> =
        select(&db, "SELECT ts, ts_ns FROM logs ORDER BY id", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    assert_eq!(
        rows,
        [
            (None, None),
            (
                Some("2025-11-24T16:00:00.123456Z".to_string()),
                Some(1_764_000_000_123_456_789)
            )
        ]
    );
}

#[test]
fn hostile_field_names_and_values_are_stored_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("app.db");
    let log = sqlite_logger(&db_path);
    let fields = [
        Field {
            key: b"'); DROP TABLE logs; --",
            value: Value::Str(b"x'); DROP TABLE logs; --"),
        },
        Field {
            key: b"q\"uote",
            value: Value::Str(b"a\"b\\c"),
        },
        Field {
            key: b"nul\0key",
            value: Value::Str(b"nul\0value"),
        },
        Field {
            key: b"bad\xffutf8",
            value: Value::Str(b"bad\xfe\xffvalue"),
        },
        Field {
            key: b"dup",
            value: Value::Int(1),
        },
        Field {
            key: b"dup",
            value: Value::Int(2),
        },
        Field {
            key: b"group",
            value: Value::Json(b"{\"id\":7,\"tags\":[\"a\",\"b\"]}"),
        },
        Field {
            key: b"not_json",
            value: Value::Json(b"{\"unterminated"),
        },
        Field {
            key: b"nan",
            value: Value::Float(f64::NAN),
        },
    ];
    log.write_record(&Record {
        level: Level::WARN,
        timestamp_ns: None,
        msg: b"msg with '\"quotes\"', a NUL \0 and bad UTF-8 \xff",
        fields: &fields,
        source: Some(Source {
            file: b"we'ird\"file.c",
            line: 7,
            func: b"f\0n",
        }),
    })
    .unwrap();
    log.close(None).unwrap();
    let db = Connection::open(&db_path).unwrap();
    assert_eq!(count(&db, "logs"), 1);
    let (msg, fields, file, func, valid): (String, String, String, String, i64) = db
        .query_row(
            "SELECT msg, fields, file, func, json_valid(fields) FROM logs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        msg,
        "msg with '\"quotes\"', a NUL \0 and bad UTF-8 \u{fffd}"
    );
    assert_eq!(file, "we'ird\"file.c");
    assert_eq!(func, "f\0n");
    assert_eq!(valid, 1, "{fields}");
    assert_eq!(
        fields,
        "{\"'); DROP TABLE logs; --\":\"x'); DROP TABLE logs; --\",\
         \"q\\\"uote\":\"a\\\"b\\\\c\",\
         \"nul\\u0000key\":\"nul\\u0000value\",\
         \"bad\u{fffd}utf8\":\"bad\u{fffd}\u{fffd}value\",\
         \"dup\":1,\"dup#2\":2,\
         \"group\":{\"id\":7,\"tags\":[\"a\",\"b\"]},\
         \"not_json\":\"{\\\"unterminated\",\
         \"nan\":\"NaN\"}"
    );
    let id: i64 = db
        .query_row(
            "SELECT json_extract(fields, '$.group.id') FROM logs",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(id, 7);
}

/// The error `Logger::build` gives for `sqlite=PATH`.
fn open_error(db: &Path) -> String {
    let b = Logger::builder().set("sqlite", db.to_str().unwrap());
    b.unwrap().build().map(|_| ()).unwrap_err().to_string()
}

#[test]
fn hostile_paths_are_refused_at_open_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("private"), b"secret").unwrap();
    std::os::unix::fs::symlink(d.join("private"), d.join("link.db")).unwrap();
    std::fs::create_dir(d.join("dir.db")).unwrap();
    let fifo = d.join("fifo.db");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Links planted at the database's write-ahead log and shared-memory files too.
    for side in ["planted.db-wal", "planted2.db-shm"] {
        std::os::unix::fs::symlink(d.join("private"), d.join(side)).unwrap();
    }
    for (db, at, what) in [
        ("link.db", "link.db", "is a symbolic link"),
        ("dir.db", "dir.db", "is a directory"),
        ("fifo.db", "fifo.db", "is a FIFO"),
        ("planted.db", "planted.db-wal", "is a symbolic link"),
        ("planted2.db", "planted2.db-shm", "is a symbolic link"),
    ] {
        let (db, at) = (d.join(db), d.join(at));
        let e = open_error(&db);
        let want = format!(
            "cannot open the SQLite database {}: {} {what}, not a regular file",
            db.display(),
            at.display()
        );
        assert!(e.starts_with(&want), "{e}");
    }
    assert_eq!(std::fs::read(d.join("private")).unwrap(), b"secret");

    // A regular file that is not a database is left as it was.
    let text = d.join("notes.db");
    std::fs::write(&text, "not a database, just text\n".repeat(100)).unwrap();
    let e = open_error(&text);
    assert_eq!(
        e,
        format!(
            "cannot open the SQLite database {}: file is not a database",
            text.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "not a database, just text\n".repeat(100)
    );

    // A table of the same name without alog's columns.
    let other = d.join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE logs (id INTEGER PRIMARY KEY, text TEXT)")
        .unwrap();
    let e = open_error(&other);
    assert_eq!(
        e,
        format!(
            "cannot open the SQLite database {}: table \"logs\" has no column named ts (create it with alog's columns, or set sqlite.table to another table)",
            other.display()
        )
    );
}

#[test]
fn bad_sqlite_keys_name_the_key_and_what_is_accepted() {
    let set = |k: &str, v: &str| {
        Logger::builder()
            .set(k, v)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    for bad in [
        "",
        "1logs",
        "logs; DROP TABLE x",
        "lo\"gs",
        "sqlite_master",
        "läuft",
    ] {
        assert_eq!(
            set("sqlite.table", bad),
            format!(
                "invalid value {bad:?} for sqlite.table: expected a table name of letters, digits and '_' (not starting with a digit or sqlite_), at most 64 characters"
            )
        );
    }
    assert_eq!(
        set("sqlite", ""),
        "invalid value \"\" for sqlite: expected none or the path of a database file"
    );
    assert_eq!(
        set("sqlite.overflow", "maybe"),
        "invalid value \"maybe\" for sqlite.overflow: expected block|drop"
    );
    assert_eq!(
        set("sqlite.busy_timeout_ms", "-1"),
        "invalid value \"-1\" for sqlite.busy_timeout_ms: expected an integer 0..3600000"
    );
    assert!(set("sqlite.level", "loud").contains("for sqlite.level"));
    assert!(set("sqlite.backlog", "2g").contains("for sqlite.backlog"));
    assert_eq!(
        set("sqlite.tabel", "x"),
        "unknown configuration key \"sqlite.tabel\": did you mean \"sqlite.table\"? (every key is listed in alog.h and README.md)"
    );
}

#[test]
fn a_fork_child_does_not_write_through_its_parents_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (log, path, db_path) = file_and_sqlite(dir.path(), &[]);
    for i in 0..10 {
        log.info(format!("parent-before {i}"));
    }
    log.flush(None).unwrap();
    // SAFETY: the child only logs through alog, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: alarm is async-signal-safe; a hang kills the child with SIGALRM.
        unsafe { libc::alarm(20) };
        for i in 0..5 {
            log.info(format!("child {i}"));
        }
        let closed = log.close(Some(Duration::from_secs(10))).is_ok();
        let st = log.sink_stats();
        let (file, sq) = (sink(&st, "file"), sink(&st, "sqlite"));
        let said = sq.last_error.as_deref().is_some_and(|e| {
            e.ends_with("a SQLite connection cannot be used across fork(): this child process does not write to the parent's database (open a logger in the child)")
        });
        let ok = closed && said && (file.written, sq.written, sq.failed) == (5, 0, 5);
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 3 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child killed: status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child's sink stats were wrong"
    );
    for i in 0..10 {
        log.info(format!("parent-after {i}"));
    }
    log.close(None).unwrap();
    let st = log.sink_stats();
    let sq = sink(&st, "sqlite");
    assert_eq!((sq.written, sq.failed), (20, 0), "{sq:?}");
    let db = Connection::open(&db_path).unwrap();
    let msgs: Vec<String> = select(&db, "SELECT msg FROM logs ORDER BY id", |r| r.get(0));
    let want: Vec<String> = (0..10)
        .map(|i| format!("parent-before {i}"))
        .chain((0..10).map(|i| format!("parent-after {i}")))
        .collect();
    assert_eq!(msgs, want);
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(lines(&path).len(), 25);
}

#[test]
fn rows_that_cannot_be_written_after_retries_fail_counted_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // Batches only at flush and close: the three rows below are one transaction.
    let (log, path, db_path) = file_and_sqlite(dir.path(), &[("batch_timeout_ms", "3600000")]);
    log.info("kept");
    log.flush(None).unwrap();
    // Someone drops the table under the logger.
    let other = Connection::open(&db_path).unwrap();
    other.execute_batch("DROP TABLE logs").unwrap();
    for i in 0..3 {
        log.info(format!("lost {i}"));
    }
    log.close(None).unwrap();
    assert_failed_rows(&log, &db_path, (4, 1, 3), "no such table: logs");
    // One batch: tried once and retried write_retries (3) times.
    assert_eq!(sink(&log.sink_stats(), "sqlite").write_errors, 4);
    let s = log.stats();
    assert_eq!((s.written, s.failed, s.pending), (1, 3, 0));
    assert_eq!(lines(&path).len(), 4);
}

#[test]
fn a_drop_lane_drops_rows_that_waited_out_the_stall_timeout_counted() {
    // The lane gives up on the locked database after the stall timeout, not the busy timeout.
    let keys = [("sqlite.overflow", "drop"), ("stall_timeout_ms", "200")];
    let (log, _, _other, took, _dir) = log_through_a_lock(&keys, 50);
    assert!(took < Duration::from_secs(4), "{took:?}");
    let st = log.sink_stats();
    let sq = sink(&st, "sqlite");
    assert_eq!(
        (sq.taken, sq.written, sq.dropped, sq.failed),
        (52, 2, 50, 0),
        "{sq:?}"
    );
    let s = log.stats();
    assert_eq!((s.written, s.dropped, s.failed, s.pending), (2, 50, 0, 0));
}
