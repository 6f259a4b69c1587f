//! Hostile files at the names alog manages (issue 20): someone who can write to the log
//! folder plants links, FIFOs, devices, bogus copies and absurd numbers. Nothing is followed,
//! nothing hangs, nothing of theirs is read, replaced or deleted, and retention still works.

mod common;
#[path = "common/threads.rs"]
mod threads;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use alog_core::reader::{decode_file, set_files_checked};
use alog_core::Logger;
use common::{mkfifo, names, within};
use threads::logger;

/// Every byte of every regular file in `dir`, decoded (compressed files decompressed).
fn all_text(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names(dir) {
        let p = dir.join(n);
        if std::fs::symlink_metadata(&p).unwrap().file_type().is_file() {
            let _ = decode_file(&p, None, &mut out, &mut |_| {});
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn close(log: Logger) -> Option<String> {
    within(20, "close", move || {
        log.close(Some(Duration::from_secs(10))).unwrap();
        log.last_error()
    })
}

#[test]
fn a_fifo_a_link_or_a_folder_at_the_log_path_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    mkfifo(&d.join("fifo.log"));
    std::fs::write(d.join("target"), b"").unwrap();
    std::os::unix::fs::symlink(d.join("target"), d.join("link.log")).unwrap();
    std::fs::create_dir(d.join("dir.log")).unwrap();
    for (name, what) in [
        ("fifo.log", "is a FIFO"),
        ("link.log", "is a symbolic link"),
        ("dir.log", "is a directory"),
    ] {
        let p = d.join(name);
        let e = within(5, "opening a logger", {
            let p = p.clone();
            move || Logger::builder().path(p).build().map(|_| ()).unwrap_err()
        });
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{} {what}, not a regular file", p.display())),
            "{msg}"
        );
    }
    assert_eq!(std::fs::read(d.join("target")).unwrap(), b"");
}

#[test]
fn links_fifos_and_devices_at_rotated_names_are_never_read_or_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let elsewhere = tempfile::tempdir().unwrap();
    let private = elsewhere.path().join("private");
    std::fs::write(&private, b"the secret\n").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&private, d.join("app.log.1")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", d.join("app.log.2")).unwrap();
    mkfifo(&d.join("app.log.3"));
    let path = d.join("app.log");
    let log = within(10, "opening a logger", {
        let path = path.clone();
        move || logger(&path, &[("rotate_bytes", "2k"), ("compress", "gzip")])
    });
    for i in 0..200 {
        log.info(format!("record {i} with some padding to fill files"));
    }
    let err = close(log).expect("the strangers are reported");
    assert!(err.contains("is left alone: it is"), "{err}");
    // The secret is in no file alog wrote, the strangers are untouched.
    assert!(!contains(&all_text(&d), b"the secret"));
    for n in ["app.log.1", "app.log.2", "app.log.3"] {
        let m = std::fs::symlink_metadata(d.join(n)).unwrap();
        assert!(!m.file_type().is_file(), "{n} was replaced");
        assert!(!d.join(format!("{n}.gz")).exists(), "{n} was compressed");
    }
    assert_eq!(std::fs::read(&private).unwrap(), b"the secret\n");
    // And the set as readers see it: every record, the strangers listed as skipped.
    let set = set_files_checked(&path).unwrap();
    assert_eq!(set.skipped.len(), 3, "{:?}", set.skipped);
    let mut text = Vec::new();
    for f in &set.files {
        decode_file(f, None, &mut text, &mut |_| {}).unwrap();
    }
    assert_eq!(String::from_utf8(text).unwrap().lines().count(), 200);
}

#[test]
fn a_bogus_compressed_copy_never_costs_the_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    std::fs::write(
        d.join("app.log.2"),
        b"2026-01-01T00:00:00.000000Z INFO real\n",
    )
    .unwrap();
    std::fs::write(d.join("app.log.2.gz"), b"\x1f\x8bbogus").unwrap();
    // A temporary alog did not make, of a process that is gone.
    std::fs::write(d.join("app.log.5.gz.tmp.999999999"), b"someone's data").unwrap();
    let log = logger(
        &d.join("app.log"),
        &[("rotate_bytes", "1m"), ("compress", "gzip")],
    );
    let err = close(log).expect("the bogus copy is reported");
    assert!(
        err.contains("both are kept") || err.contains("left alone"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(d.join("app.log.2")).unwrap(),
        b"2026-01-01T00:00:00.000000Z INFO real\n"
    );
    assert_eq!(
        std::fs::read(d.join("app.log.2.gz")).unwrap(),
        b"\x1f\x8bbogus"
    );
    assert_eq!(
        std::fs::read(d.join("app.log.5.gz.tmp.999999999")).unwrap(),
        b"someone's data"
    );
}

#[test]
fn a_complete_copy_left_by_a_crash_still_replaces_its_original() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let text = b"2026-01-01T00:00:00.000000Z INFO one\n".repeat(50);
    std::fs::write(d.join("app.log.4"), &text).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &text).unwrap();
    std::fs::write(d.join("app.log.4.gz"), gz.finish().unwrap()).unwrap();
    // A temporary of a dead process that alog made (a gzip start): removed.
    std::fs::write(d.join("app.log.6.gz.tmp.999999999"), b"\x1f\x8b\x08").unwrap();
    let log = logger(
        &d.join("app.log"),
        &[("rotate_bytes", "1m"), ("compress", "gzip")],
    );
    assert_eq!(close(log), None);
    assert_eq!(names(&d), ["app.log", "app.log.4.gz", "app.log.lock"]);
}

#[test]
fn a_huge_foreign_number_does_not_disable_retention_or_hide_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let path = d.join("app.log");
    std::fs::write(d.join("app.log.1125899906842623"), b"").unwrap();
    let log = logger(&path, &[("rotate_bytes", "4k"), ("max_files", "3")]);
    for i in 0..2000 {
        log.info(format!("record {i:05} padding padding padding"));
    }
    assert_eq!(close(log), None);
    let rotated: Vec<String> = names(&d)
        .into_iter()
        .filter(|n| n.starts_with("app.log.") && n != "app.log.lock")
        .collect();
    assert_eq!(rotated.len(), 3, "max_files holds: {rotated:?}");
    for n in &rotated {
        let seq: u64 = n["app.log.".len()..].parse().unwrap();
        assert!(seq > 1125899906842623, "{n}");
    }
    // Without retention every record stays readable in set order.
    let dir2 = tempfile::tempdir().unwrap();
    let path = dir2.path().join("app.log");
    std::fs::write(dir2.path().join("app.log.1125899906842623"), b"").unwrap();
    let log = logger(&path, &[("rotate_bytes", "4k")]);
    for i in 0..2000 {
        log.info(format!("record {i:05} padding padding padding"));
    }
    assert_eq!(close(log), None);
    let mut text = Vec::new();
    for f in set_files_checked(&path).unwrap().files {
        decode_file(&f, None, &mut text, &mut |_| {}).unwrap();
    }
    let text = String::from_utf8(text).unwrap();
    let got: Vec<&str> = text
        .lines()
        .map(|l| &l[l.len() - 29..l.len() - 24])
        .collect();
    assert_eq!(
        (got.len(), got.first().copied()),
        (2000, Some("00000")),
        "records readable"
    );
    let want: Vec<String> = (0..2000).map(|i| format!("{i:05}")).collect();
    assert!(got == want, "records out of order");
}

#[test]
fn new_files_never_get_more_permission_than_the_file_they_replace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("new/sub");
    let path = d.join("app.log");
    let log = logger(&path, &[("rotate_bytes", "1k"), ("file_mode", "0644")]);
    log.info("first");
    log.flush(None).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    // SAFETY: umask only reads and sets the process mask.
    let umask = unsafe {
        let m = libc::umask(0);
        libc::umask(m);
        m
    };
    assert_eq!(mode(&d), 0o750 & !umask, "created folders");
    assert_eq!(mode(&dir.path().join("new")), 0o750 & !umask);
    // dir_mode sets them.
    let private = dir.path().join("private/sub/app.log");
    let other = logger(&private, &[("dir_mode", "0700")]);
    assert_eq!(close(other), None);
    assert_eq!(mode(&dir.path().join("private")), 0o700 & !umask);
    assert_eq!(mode(&dir.path().join("private/sub")), 0o700 & !umask);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    for i in 0..100 {
        log.info(format!("record {i} padding padding padding padding"));
    }
    assert_eq!(close(log), None);
    let files: Vec<PathBuf> = names(&d).iter().map(|n| d.join(n)).collect();
    assert!(files.len() > 3, "{files:?}");
    for f in files.iter().filter(|f| !f.ends_with("app.log.lock")) {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
}

#[test]
fn stale_files_are_aged_by_their_records_not_by_their_compression() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let old = SystemTime::now() - Duration::from_secs(7200);
    for n in ["app.log.1", "app.log.2"] {
        std::fs::write(d.join(n), b"2026-01-01T00:00:00.000000Z INFO old\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(d.join(n))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let log = logger(
        &d.join("app.log"),
        &[
            ("rotate_bytes", "1m"),
            ("compress", "zstd"),
            ("max_age", "1h"),
        ],
    );
    assert_eq!(close(log), None);
    assert_eq!(names(&d), ["app.log", "app.log.lock"]);
}

#[test]
fn a_burst_keeps_the_byte_budget_in_compressed_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let budget = 8192u64;
    let log = logger(
        &d.join("app.log"),
        &[
            ("rotate_bytes", "1k"),
            ("compress", "zstd"),
            ("max_total_bytes", "8k"),
        ],
    );
    for i in 0..3000 {
        log.info(format!("record {i:05} padding padding padding"));
    }
    assert_eq!(close(log), None);
    let kept: u64 = names(&d)
        .iter()
        .filter(|n| n.ends_with(".zst"))
        .map(|n| std::fs::metadata(d.join(n)).unwrap().len())
        .sum();
    let active = std::fs::metadata(d.join("app.log")).unwrap().len();
    // The budget holds with room for the active file to fill (1 KiB), and the compressed
    // history fills what is left but one file.
    assert!(kept + 1024 <= budget, "kept {kept}");
    assert!(
        kept + 1024 + 600 > budget,
        "kept only {kept} of {budget} (active {active})"
    );
}

#[test]
fn a_stopped_lock_holder_neither_hangs_the_logger_nor_is_written_around() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let log = Logger::builder()
        .path(&path)
        .set("rotate_bytes", "1m")
        .unwrap()
        .set("batch_timeout_ms", "5")
        .unwrap()
        .callback(None, None, move |_, _| {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    log.info("before");
    log.flush(None).unwrap();
    // Another process took the lock and was stopped (SIGSTOP) while holding it.
    let holder = std::fs::File::options()
        .read(true)
        .write(true)
        .open(dir.path().join("app.log.lock"))
        .unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&holder);
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(fd, libc::LOCK_EX) };
    assert_eq!(locked, 0);
    for i in 0..200 {
        log.info(format!("while locked {i}"));
        if i % 20 == 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    // The file's records wait for the lock; nothing else does: the callback beside it gets
    // every record, the first batch after at most one bounded lock wait.
    let start = std::time::Instant::now();
    while seen.load(Ordering::SeqCst) < 201 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 201, "the callback was held up");
    // A flush cannot finish while the file's records wait: it says so.
    let log2 = log.clone();
    let flushed = within(
        20,
        "a flush while another process holds the lock",
        move || log2.flush(Some(Duration::from_millis(500))),
    );
    assert!(
        matches!(flushed, Err(alog_core::Error::Timeout)),
        "{flushed:?}"
    );
    let err = log.last_error().unwrap_or_default();
    assert!(err.contains("locked by another process"), "{err}");
    let messages = |p: &Path| -> Vec<String> {
        common::lines(p)
            .iter()
            .map(|l| common::message(l).to_string())
            .collect()
    };
    assert_eq!(messages(&path), ["before"], "written without the lock");
    let st = log.stats();
    assert_eq!((st.failed, st.dropped), (0, 0), "{st:?}");
    assert!(st.pending > 0, "{st:?}");
    // The holder goes away: everything kept is written, in order, before what follows.
    drop(holder);
    log.info("after");
    log.flush(Some(Duration::from_secs(10))).unwrap();
    close(log.clone());
    let mut want = vec!["before".to_string()];
    want.extend((0..200).map(|i| format!("while locked {i}")));
    want.push("after".into());
    assert_eq!(messages(&path), want);
    let st = log.stats();
    assert_eq!(
        (st.written, st.failed, st.dropped, st.pending),
        (202, 0, 0, 0)
    );
}
