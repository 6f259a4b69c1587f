//! The file lifecycle through the Rust API: rotation with several threads, restart, retention,
//! time periods, reopen and copytruncate. The 4 x 1M runs decoded by the system's gzip and
//! zstd are `#[ignore]`d here and run in release by `scripts/test-lifecycle.sh`.

mod common;
#[path = "common/threads.rs"]
mod threads;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use alog_core::naming::{Codec, Naming};
use alog_core::reader::{decode_file, set_files};
use alog_core::{Level, Logger, Record};
use common::names;
use threads::{log_threads, logger, Records};

/// Decodes a file with alog's reader, or with the named system program.
fn decode(path: &Path, program: Option<&str>) -> Vec<u8> {
    match program {
        Some(p) => {
            let out = Command::new(p)
                .args(["-dc"])
                .arg(path)
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run {p} (scripts/test-lifecycle.sh installs it): {e}")
                });
            assert!(
                out.status.success(),
                "{p} -dc {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
        None => {
            let mut out = Vec::new();
            let r = decode_file(path, None, &mut out, &mut |_| {}).unwrap();
            assert!(r.is_ok(), "{r:?}");
            out
        }
    }
}

/// Checks every record of every thread is there exactly once and in order across the set,
/// and that no file's text is larger than `limit`. Returns the number of files.
fn check_set(
    active: &Path,
    threads: usize,
    per_thread: usize,
    limit: u64,
    codec: Codec,
    program: Option<&str>,
) -> usize {
    let files = set_files(active).unwrap();
    let mut records = Records::new(threads);
    for (i, f) in files.iter().enumerate() {
        let is_active = i == files.len() - 1;
        let r = Naming::new(active).parse(&f.file_name().unwrap().to_string_lossy());
        if !is_active {
            assert_eq!(r.as_ref().map(|r| r.codec), Some(codec), "{}", f.display());
        }
        let text = if is_active {
            decode(f, None)
        } else {
            decode(f, program)
        };
        assert!(
            text.len() as u64 <= limit,
            "{} holds {} bytes > {limit}",
            f.display(),
            text.len()
        );
        assert!(text.is_empty() || text.ends_with(b"\n"));
        records.feed(&text, &f.display().to_string());
    }
    records.finish(per_thread);
    files.len()
}

fn run_rotation(
    threads: usize,
    per_thread: usize,
    rotate: u64,
    compress: &str,
    program: Option<&str>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let rb = rotate.to_string();
    let log = logger(&path, &[("rotate_bytes", &rb), ("compress", compress)]);
    log_threads(&log, threads, per_thread);
    log.close(None).unwrap();
    let st = log.stats();
    assert_eq!(
        (st.written, st.failed, st.dropped),
        ((threads * per_thread) as u64, 0, 0)
    );
    let codec = match compress {
        "gzip" => Codec::Gzip,
        "zstd" => Codec::Zstd,
        _ => Codec::Plain,
    };
    let files = check_set(&path, threads, per_thread, rotate, codec, program);
    assert_eq!(
        st.rotations as usize,
        files - 1,
        "one rotation per rotated file"
    );
    assert!(
        files > 3,
        "the run must rotate several times, got {files} files"
    );
    if codec != Codec::Plain {
        // Nothing but the compressed files, the active file and the lock file remain.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), files + 1, "{names:?}");
    }
}

#[test]
fn four_threads_rotate_without_loss_or_duplicates() {
    run_rotation(4, 20_000, 64 << 10, "none", None);
}

#[test]
fn gzip_and_zstd_sets_decode_with_alog() {
    run_rotation(4, 10_000, 64 << 10, "gzip", None);
    run_rotation(4, 10_000, 64 << 10, "zstd", None);
}

#[test]
#[ignore = "4 x 1M records: run in release by scripts/test-lifecycle.sh"]
fn four_threads_million_plain() {
    run_rotation(4, 1_000_000, 4 << 20, "none", None);
}

#[test]
#[ignore = "4 x 1M records, needs gzip: run in release by scripts/test-lifecycle.sh"]
fn four_threads_million_gzip_decoded_by_system_gzip() {
    run_rotation(4, 1_000_000, 4 << 20, "gzip", Some("gzip"));
}

#[test]
#[ignore = "4 x 1M records, needs zstd: run in release by scripts/test-lifecycle.sh"]
fn four_threads_million_zstd_decoded_by_system_zstd() {
    run_rotation(4, 1_000_000, 4 << 20, "zstd", Some("zstd"));
}

fn all_messages(active: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in set_files(active).unwrap() {
        let mut text = Vec::new();
        decode_file(&f, None, &mut text, &mut |_| {}).unwrap();
        for l in String::from_utf8(text).unwrap().lines() {
            out.push(common::message(l).to_string());
        }
    }
    out
}

#[test]
fn restart_continues_numbering_and_retention_counts_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let keys = [
        ("rotate_bytes", "1000"),
        ("max_files", "4"),
        ("batch_size", "1"),
    ];
    // Each line is 28 (ts) + 5 (level) + 66 (message) + 1 = 100 bytes: 10 lines per file.
    let line = |i: usize| format!("record {i:06} {}", ".".repeat(52));
    let log = logger(&path, &keys);
    for i in 0..60 {
        log.info(line(i));
        log.flush(None).unwrap();
    }
    log.close(None).unwrap();
    assert_eq!(
        std::fs::metadata(dir.path().join("app.log.2"))
            .unwrap()
            .len(),
        1000
    );
    assert_eq!(log.stats().rotations, 5);
    assert_eq!(
        names(dir.path()),
        [
            "app.log",
            "app.log.2",
            "app.log.3",
            "app.log.4",
            "app.log.5",
            "app.log.lock"
        ]
    );
    // Someone else's file in the folder is never touched.
    std::fs::write(dir.path().join("app.log.notes"), b"keep").unwrap();
    let log = logger(&path, &keys);
    for i in 60..120 {
        log.info(line(i));
        log.flush(None).unwrap();
    }
    log.close(None).unwrap();
    // The full active file of the first run rotates first: 6 more, numbered 6..11.
    assert_eq!(log.stats().rotations, 6);
    assert_eq!(
        names(dir.path()),
        [
            "app.log",
            "app.log.10",
            "app.log.11",
            "app.log.8",
            "app.log.9",
            "app.log.lock",
            "app.log.notes"
        ]
    );
    let expected: Vec<String> = (70..120).map(line).collect();
    assert_eq!(
        all_messages(&path),
        expected,
        "the newest records, in order, once"
    );
}

#[test]
fn max_total_bytes_and_max_age_prune_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // Pre-existing rotated files of an earlier run, one of them two days old.
    for (name, len) in [("app.log.1", 700), ("app.log.2", 700), ("app.log.3", 700)] {
        std::fs::write(dir.path().join(name), vec![b'x'; len]).unwrap();
    }
    let old = std::fs::File::options()
        .write(true)
        .open(dir.path().join("app.log.1"))
        .unwrap();
    old.set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 86400))
        .unwrap();
    drop(old);
    let log = logger(&path, &[("max_age", "1d"), ("max_total_bytes", "1200")]);
    log.info("hello");
    log.close(None).unwrap();
    // .1 is too old; .2 goes because .3 + .2 pass 1200 bytes.
    assert_eq!(names(dir.path()), ["app.log", "app.log.3"]);
}

#[test]
fn a_batch_spanning_midnight_splits_by_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = logger(
        &path,
        &[
            ("rotate_interval", "daily"),
            ("batch_size", "1000"),
            ("batch_timeout_ms", "3600000"),
        ],
    );
    let midnight = 1_795_478_400_000_000_000i64; // 2026-11-24T00:00:00Z
    let msgs: Vec<(i64, String)> = (-3..3)
        .map(|s| (midnight + s * 1_000_000_000, format!("s{s}")))
        .collect();
    for (ts, m) in &msgs {
        log.write_record(&Record {
            timestamp_ns: Some(*ts),
            ..Record::new(Level::INFO, m)
        })
        .unwrap();
    }
    log.close(None).unwrap();
    let names = names(dir.path());
    assert_eq!(names, ["app.log", "app.log.2026-11-23.1", "app.log.lock"]);
    let day1 = common::lines(&dir.path().join("app.log.2026-11-23.1"));
    let day2 = common::lines(&path);
    assert_eq!(
        day1.iter().map(|l| common::message(l)).collect::<Vec<_>>(),
        ["s-3", "s-2", "s-1"]
    );
    assert_eq!(
        day2.iter().map(|l| common::message(l)).collect::<Vec<_>>(),
        ["s0", "s1", "s2"]
    );
    assert!(
        day2[0].starts_with("2026-11-24T00:00:00.000000Z"),
        "{}",
        day2[0]
    );
}

/// `rotate_at=12:00` (loguru's `rotation="12:00"`): a day runs from noon to noon, in UTC, or in
/// local time with `time_zone=local`; the file is named after the date its day began.
#[test]
fn rotate_at_a_time_of_day() {
    // UTC-05:00 in POSIX TZ syntax (the sign is inverted), read by tzset on first use.
    std::env::set_var("TZ", "ALOG+5");
    let noon = 1_795_521_600_000_000_000i64; // 2026-11-24T12:00:00Z
    let hour = 3_600_000_000_000i64;
    for (zone, shift, want) in [
        (
            "utc",
            0,
            vec![
                ("app.log.2026-11-23.1", vec!["a", "b"]),
                ("app.log.2026-11-24.2", vec!["c", "d"]),
                ("app.log", vec!["e"]),
            ],
        ),
        // Noon local is 17:00 UTC: "a" (07:00 local) belongs to the day that began the day
        // before, and "c" (12:00 UTC, 07:00 local) to the same day as "b".
        (
            "local",
            5 * hour,
            vec![
                ("app.log.2026-11-22.1", vec!["a"]),
                ("app.log.2026-11-23.2", vec!["b", "c"]),
                ("app.log.2026-11-24.3", vec!["d"]),
                ("app.log", vec!["e"]),
            ],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let log = logger(
            &path,
            &[
                ("rotate_at", "12:00"),
                ("time_zone", zone),
                ("batch_size", "1000"),
                ("batch_timeout_ms", "3600000"),
            ],
        );
        for (ts, m) in [
            (noon - 24 * hour, "a"),
            (noon - hour, "b"),
            (noon, "c"),
            (noon + shift + 23 * hour, "d"),
            (noon + shift + 24 * hour, "e"),
        ] {
            log.write_record(&Record {
                timestamp_ns: Some(ts),
                ..Record::new(Level::INFO, m)
            })
            .unwrap();
        }
        log.close(None).unwrap();
        let mut got = Vec::new();
        for (name, _) in &want {
            let lines = common::lines(&dir.path().join(name));
            got.push((
                *name,
                lines
                    .iter()
                    .map(|l| common::message(l).to_string())
                    .collect::<Vec<_>>(),
            ));
        }
        let want: Vec<(&str, Vec<String>)> = want
            .iter()
            .map(|(n, m)| (*n, m.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(got, want, "time_zone={zone}");
        // The files above and the lock file, nothing else.
        assert_eq!(
            names(dir.path()).len(),
            want.len() + 1,
            "{:?}",
            names(dir.path())
        );
    }
    for (keys, why) in [
        (&[("rotate_at", "24:00")][..], "a time of day such as"),
        (&[("rotate_at", "noon")][..], "a time of day such as"),
        (
            &[("rotate_interval", "hourly"), ("rotate_at", "12:00")][..],
            "does not apply to rotate_interval=hourly",
        ),
    ] {
        let mut c = alog_core::Config::default();
        let set = keys.iter().try_for_each(|(k, v)| c.set(k, v));
        let e = set.and_then(|()| c.validate()).unwrap_err().to_string();
        assert!(e.contains(why), "{keys:?}: {e}");
    }
}

/// A renamed file keeps the records until a file appears in its place (logrotate's `create`
/// mode renames, then creates the new file itself: alog opens that one rather than racing it)
/// or a second has passed; a deleted file is replaced at the next batch.
#[test]
fn a_renamed_file_is_followed_by_the_next_in_its_place_and_a_deleted_one_replaced_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let moved = dir.path().join("app.log.1");
    let moved2 = dir.path().join("app.log.2");
    let messages = |p: &std::path::Path| -> Vec<String> {
        common::lines(p)
            .iter()
            .map(|l| common::message(l).to_string())
            .collect()
    };
    let log = logger(&path, &[]);
    log.info("one");
    log.flush(None).unwrap();
    std::fs::rename(&path, &moved).unwrap();
    log.info("two");
    log.flush(None).unwrap();
    assert!(
        !path.exists(),
        "alog did not race the rotating tool to the path"
    );
    std::fs::File::create(&path).unwrap();
    log.info("three");
    log.flush(None).unwrap();
    assert_eq!(
        messages(&path),
        ["three"],
        "the file put in place is the one written"
    );
    std::fs::remove_file(&path).unwrap();
    log.info("four");
    log.flush(None).unwrap();
    std::fs::rename(&path, &moved2).unwrap();
    log.info("five");
    log.flush(None).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    log.info("six");
    log.close(None).unwrap();
    assert_eq!(messages(&moved), ["one", "two"]);
    assert_eq!(
        messages(&moved2),
        ["four", "five"],
        "a deleted file is replaced at once"
    );
    assert_eq!(
        messages(&path),
        ["six"],
        "after a second alog creates the file itself"
    );
    assert_eq!(log.stats().write_errors, 0);
}

#[test]
fn explicit_reopen_without_detection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let moved = dir.path().join("app.log.old");
    let log = logger(&path, &[("reopen_check", "false")]);
    log.info("one");
    log.flush(None).unwrap();
    std::fs::rename(&path, &moved).unwrap();
    log.info("two");
    log.flush(None).unwrap();
    assert_eq!(
        common::lines(&moved).len(),
        2,
        "without detection the moved file keeps receiving"
    );
    log.reopen().unwrap();
    log.info("three");
    log.close(None).unwrap();
    assert_eq!(common::message(&common::lines(&path)[0]), "three");
    assert!(matches!(log.reopen(), Err(alog_core::Error::Closed)));
}

#[test]
fn copytruncate_leaves_no_nul_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = logger(&path, &[]);
    for i in 0..100 {
        log.info(format!("before {i}"));
    }
    log.flush(None).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    log.info("after");
    log.close(None).unwrap();
    let text = std::fs::read(&path).unwrap();
    assert!(!text.contains(&0), "NUL fill after truncation");
    assert_eq!(common::message(&common::lines(&path)[0]), "after");
}

#[test]
fn a_crash_mid_compression_is_repaired_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let text = b"2026-11-23T00:00:00.000000Z INFO old\n";
    // .1: crashed before the rename (junk temporary of a dead process, original whole);
    // .2: crashed after the rename (both exist: the original must go).
    std::fs::write(dir.path().join("app.log.1"), text).unwrap();
    // (A temporary alog made starts like a zstd stream; other files are left alone.)
    std::fs::write(
        dir.path().join("app.log.1.zst.tmp.999999999"),
        &zstd::encode_all(&text[..], 1).unwrap()[..6],
    )
    .unwrap();
    std::fs::write(dir.path().join("app.log.2"), text).unwrap();
    std::fs::write(
        dir.path().join("app.log.2.zst"),
        zstd::encode_all(&text[..], 1).unwrap(),
    )
    .unwrap();
    let log = logger(&path, &[("compress", "zstd"), ("rotate_bytes", "1m")]);
    log.info("new");
    log.close(None).unwrap();
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.1.zst", "app.log.2.zst", "app.log.lock"]
    );
    assert_eq!(all_messages(&path), ["old", "old", "new"]);
}

#[test]
fn a_fork_child_shares_the_rotating_encrypted_set_with_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::env::set_var("ALOG_ROTATION_TEST_KEY", "11".repeat(32));
    let log = logger(
        &path,
        &[
            ("rotate_bytes", "32k"),
            ("encryption_key_env", "ALOG_ROTATION_TEST_KEY"),
        ],
    );
    let line = |t: usize, i: usize| format!("t{t} n{i} payload-abcdefghijklmnopqrstuvwxyz");
    // SAFETY: the child only logs through alog, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: alarm is async-signal-safe; a deadlock kills the child with SIGALRM.
        unsafe { libc::alarm(30) };
        for i in 0..5000 {
            log.info(line(1, i));
        }
        let ok = log.close(Some(Duration::from_secs(20))).is_ok() && log.stats().written == 5000;
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 3 }) };
    }
    for i in 0..5000 {
        log.info(line(0, i));
    }
    log.close(None).unwrap();
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status}"
    );
    let key = alog_core::crypt::Key::from_bytes([0x11; 32]);
    let mut records = Records::new(2);
    let files = set_files(&path).unwrap();
    assert!(files.len() > 5, "{files:?}");
    for f in &files {
        // A process that finds the file rotated by the other one ends its own encrypted
        // stream in it with one closing chunk: the other process's share of the bound.
        let bound = (32 << 10) + alog_core::crypt::OVERHEAD as u64;
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= bound, "{}: {len} bytes", f.display());
        let mut text = Vec::new();
        let r = decode_file(f, Some(&key), &mut text, &mut |_| {}).unwrap();
        // Parent and child have streams of their own: no chunk looks missing.
        assert!(r.is_ok() && r.encrypted, "{r:?}");
        records.feed(&text, &f.display().to_string());
    }
    records.finish(5000);
}

#[test]
fn a_restart_in_a_later_day_rotates_the_old_file_under_its_own_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, b"2026-11-20T10:00:00.000000Z INFO old\n").unwrap();
    std::fs::write(dir.path().join("app.log.2026-11-19.4.gz"), b"").unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    // 2026-11-20T10:00:00Z
    f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_795_168_800))
        .unwrap();
    drop(f);
    let log = logger(&path, &[("rotate_interval", "daily")]);
    log.info("new");
    log.close(None).unwrap();
    assert_eq!(
        names(dir.path()),
        [
            "app.log",
            "app.log.2026-11-19.4.gz",
            "app.log.2026-11-20.5",
            "app.log.lock"
        ]
    );
    assert_eq!(common::message(&common::lines(&path)[0]), "new");
}

/// The asyncio writer seed's file per date, gzip and encryption key, as the README configures it.
#[test]
fn asyncio_seed_files_per_date_gzip_and_encryption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::env::set_var("ALOG_ROTATION_TEST_SEED_KEY", "42".repeat(32));
    let log = logger(
        &path,
        &[
            ("batch_size", "10"),
            ("batch_timeout_ms", "1000"),
            ("overflow", "warn"),
            ("rotate_interval", "daily"),
            ("compress", "gzip"),
            ("encryption_key_env", "ALOG_ROTATION_TEST_SEED_KEY"),
        ],
    );
    let midnight = 1_795_478_400_000_000_000i64; // 2026-11-24T00:00:00Z
    for s in -2..2i64 {
        let m = format!("s{s}");
        log.write_record(&Record {
            timestamp_ns: Some(midnight + s * 1_000_000_000),
            ..Record::new(Level::INFO, &m)
        })
        .unwrap();
    }
    log.close(None).unwrap();
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.2026-11-23.1.gz", "app.log.lock"]
    );
    let key = alog_core::crypt::Key::from_bytes([0x42; 32]);
    let mut msgs = Vec::new();
    for f in set_files(&path).unwrap() {
        assert!(
            std::fs::read(&f).unwrap().starts_with(b"ALGC"),
            "{} is encrypted",
            f.display()
        );
        let mut text = Vec::new();
        let r = decode_file(&f, Some(&key), &mut text, &mut |_| {}).unwrap();
        assert!(r.is_ok(), "{r:?}");
        msgs.push(
            String::from_utf8(text)
                .unwrap()
                .lines()
                .map(|l| common::message(l).to_string())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(msgs, [vec!["s-2", "s-1"], vec!["s0", "s1"]]);
}

#[test]
fn plain_and_encrypted_text_never_share_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::env::set_var("ALOG_ROTATION_TEST_MIX_KEY", "07".repeat(32));
    let enc = [("encryption_key_env", "ALOG_ROTATION_TEST_MIX_KEY")];
    let log = logger(&path, &[]);
    log.info("plain 1");
    log.close(None).unwrap();
    // Turning encryption on moves the plain file away before the first encrypted chunk...
    let log = logger(&path, &enc);
    log.info("secret 1");
    log.close(None).unwrap();
    let log = logger(&path, &enc);
    log.info("secret 2");
    log.close(None).unwrap();
    // ... and turning it off moves the encrypted one away.
    let log = logger(&path, &[]);
    log.info("plain 2");
    log.close(None).unwrap();
    assert_eq!(names(dir.path()), ["app.log", "app.log.1", "app.log.2"]);
    let key = alog_core::crypt::Key::from_bytes([7; 32]);
    let mut got = Vec::new();
    for f in set_files(&path).unwrap() {
        let mut text = Vec::new();
        let r = decode_file(&f, Some(&key), &mut text, &mut |_| {}).unwrap();
        assert!(r.is_ok(), "{r:?}");
        let lines: Vec<String> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| common::message(l).to_string())
            .collect();
        got.push((r.encrypted, lines));
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            (false, s(&["plain 1"])),
            (true, s(&["secret 1", "secret 2"])),
            (false, s(&["plain 2"]))
        ]
    );
}

#[test]
fn background_errors_reach_the_error_callback_also_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // A folder at a rotated file's name: left alone, and reported.
    std::fs::create_dir(dir.path().join("app.log.1")).unwrap();
    std::fs::write(dir.path().join("app.log.1").join("x"), b"x").unwrap();
    std::fs::write(dir.path().join("app.log.2"), b"x").unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let log = Logger::builder()
        .path(&path)
        .set("max_files", "1")
        .unwrap()
        .on_error(move |e| sink.lock().unwrap().push(e.to_string()))
        .build()
        .unwrap();
    log.close(None).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with(&format!("housekeeping in {}: ", dir.path().display()))
            && seen[0].ends_with("app.log.1 is left alone: it is a directory"),
        "{seen:?}"
    );
    assert!(log.last_error().unwrap().starts_with("housekeeping in "));
}

#[test]
fn a_compression_another_live_process_runs_is_left_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(
        dir.path().join("app.log.1"),
        b"2026-11-23T00:00:00.000000Z INFO old\n",
    )
    .unwrap();
    // Process 1 (init, always alive) is "compressing" it.
    std::fs::write(dir.path().join("app.log.1.gz.tmp.1"), b"partial").unwrap();
    let log = logger(&path, &[("compress", "gzip"), ("rotate_bytes", "1m")]);
    log.info("new");
    log.close(None).unwrap();
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.1", "app.log.1.gz.tmp.1", "app.log.lock"]
    );
}

#[test]
fn records_without_a_timestamp_join_the_current_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = logger(&path, &[("rotate_interval", "hourly")]);
    log.write_record(&Record {
        timestamp_ns: Some(alog_core::NO_TIMESTAMP),
        ..Record::new(Level::INFO, "no time")
    })
    .unwrap();
    log.info("now");
    log.close(None).unwrap();
    assert_eq!(log.stats().rotations, 0);
    assert_eq!(names(dir.path()), ["app.log", "app.log.lock"]);
    assert_eq!(common::lines(&path).len(), 2);
}
