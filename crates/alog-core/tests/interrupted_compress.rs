//! A compression interrupted by an exit, a crash or `kill -9` is finished or cleaned up at
//! the next open of the same path: no temporary stays, no rotated file is lost, no
//! half-written compressed file is left looking complete, and whatever sits at a name of the
//! set that alog did not make is neither followed nor deleted.
//!
//! The first tests plant what each crash point leaves; the last one really kills a process
//! (this test binary, run again as a child) while it compresses.

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alog_core::crypt::{Key, Sealer};
use alog_core::reader::{decode_file, set_files};
use alog_core::Logger;
use common::{mkfifo, names, within};

/// The environment variable that holds the key of the encrypted sets.
const KEY_ENV: &str = "ALOG_INTERRUPTED_COMPRESS_TEST_KEY";
const KEY: [u8; 32] = [0x5a; 32];

fn key() -> Key {
    Key::from_bytes(KEY)
}

fn logger(path: &Path, compress: &str, rotate_bytes: &str, encrypted: bool) -> Logger {
    let mut b = Logger::builder()
        .path(path)
        .set("rotate_bytes", rotate_bytes)
        .unwrap()
        .set("compress", compress)
        .unwrap();
    if encrypted {
        std::env::set_var(KEY_ENV, "5a".repeat(32));
        b = b.set("encryption_key_env", KEY_ENV).unwrap();
    }
    b.build().unwrap()
}

/// Opens the set, logs one record and closes (the housekeeping of the open runs in full
/// before close returns); returns the errors the logger reported.
fn open_and_close(path: &Path, compress: &str, encrypted: bool) -> Option<String> {
    let path = path.to_path_buf();
    let compress = compress.to_string();
    within(20, "open and close", move || {
        let log = logger(&path, &compress, "1m", encrypted);
        log.info("new");
        log.close(Some(Duration::from_secs(10))).unwrap();
        log.last_error()
    })
}

/// The lines of rotated file number `seq`: what it holds when whole.
fn text_of(seq: usize, lines: usize) -> Vec<u8> {
    let mut t = Vec::new();
    for i in 0..lines {
        writeln!(
            t,
            "2026-01-01T00:00:00.000000Z INFO file {seq} line {i:05} padding-abcdefghijklmnop"
        )
        .unwrap();
    }
    t
}

fn compressed(text: &[u8], codec: &str) -> Vec<u8> {
    match codec {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        _ => zstd::encode_all(text, 3).unwrap(),
    }
}

fn ext(codec: &str) -> &'static str {
    match codec {
        "gzip" => "gz",
        _ => "zst",
    }
}

/// The decoded text of a file, which must decode without any problem.
fn decoded(path: &Path) -> Vec<u8> {
    decoded_with(path, None)
}

fn decoded_with(path: &Path, key: Option<&Key>) -> Vec<u8> {
    let mut out = Vec::new();
    let r = decode_file(path, key, &mut out, &mut |_| {}).unwrap();
    assert!(r.is_ok(), "{}: {r:?}", path.display());
    out
}

/// `bytes` as alog encrypts a file: one stream, ended.
fn sealed(bytes: &[u8], key: Option<&Key>) -> Vec<u8> {
    let Some(k) = key else {
        return bytes.to_vec();
    };
    let mut out = Vec::new();
    Sealer::new(k).seal(bytes, true, &mut out);
    out
}

fn lines_of(text: &[u8]) -> Vec<String> {
    String::from_utf8(text.to_vec())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A process id that is no running process (`kill(pid, 0)` says ESRCH).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn set_mtime(p: &Path, ago: Duration) {
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - ago)
        .unwrap();
}

/// Every crash point of a compression, planted, for one codec: after one open and close each
/// rotated file exists exactly once, compressed, holding exactly its lines.
fn each_crash_point_is_repaired(codec: &str, encrypted: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("app.log");
    let x = ext(codec);
    let me = std::process::id();
    let gone = dead_pid();
    let lines = 3000;
    let k = key();
    let key = encrypted.then_some(&k);
    let texts: Vec<Vec<u8>> = (0..=7).map(|seq| text_of(seq, lines)).collect();
    let full: Vec<Vec<u8>> = texts
        .iter()
        .map(|t| sealed(&compressed(t, codec), key))
        .collect();
    let w = |name: String, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    let o = |seq: usize| sealed(&texts[seq], key);
    // 1: killed while writing the temporary: the original is whole.
    w("app.log.1".into(), &o(1));
    w(
        format!("app.log.1.{x}.tmp.{gone}"),
        &full[1][..full[1].len() / 3],
    );
    // 2: the same, by a process whose id this process has again (a restarted container).
    w("app.log.2".into(), &o(2));
    w(
        format!("app.log.2.{x}.tmp.{me}"),
        &full[2][..full[2].len() / 2],
    );
    // 3: killed just after creating the temporary (empty).
    w("app.log.3".into(), &o(3));
    w(format!("app.log.3.{x}.tmp.{gone}"), b"");
    // 4: killed between the rename of the complete copy and the removal of the original.
    w("app.log.4".into(), &o(4));
    w(format!("app.log.4.{x}"), &full[4]);
    // 5: a copy at the final name that is cut short (a disk that lost unsynced data):
    // it must not stay looking complete while the original holds more.
    w("app.log.5".into(), &o(5));
    w(format!("app.log.5.{x}"), &full[5][..full[5].len() * 2 / 3]);
    // 6: a copy at the final name with nothing in it.
    w("app.log.6".into(), &o(6));
    w(format!("app.log.6.{x}"), b"");
    // 7: a temporary whose original is gone (removed by retention meanwhile): junk.
    w(format!("app.log.7.{x}.tmp.{gone}"), &full[7][..100]);

    assert_eq!(open_and_close(&path, codec, encrypted), None);
    let want: Vec<String> = ["app.log".to_string()]
        .into_iter()
        .chain((1..=6).map(|s| format!("app.log.{s}.{x}")))
        .chain(["app.log.lock".to_string()])
        .collect();
    assert_eq!(names(d), want, "{codec} encrypted: {encrypted}");
    for (seq, text) in texts.iter().enumerate().take(7).skip(1) {
        let f = d.join(format!("app.log.{seq}.{x}"));
        assert_eq!(
            lines_of(&decoded_with(&f, key)),
            lines_of(text),
            "{codec}: {}",
            f.display()
        );
    }
    // The complete copy was kept as it was, not made again.
    assert_eq!(
        std::fs::read(d.join(format!("app.log.4.{x}"))).unwrap(),
        full[4]
    );
    // Readers see every line once.
    let mut all = Vec::new();
    for f in set_files(&path).unwrap() {
        all.extend(decoded_with(&f, key));
    }
    let all = lines_of(&all);
    assert_eq!(all.len(), 6 * lines + 1);
    assert!(
        all.last().unwrap().ends_with(" INFO new"),
        "{:?}",
        all.last()
    );
}

#[test]
fn each_crash_point_is_repaired_gzip() {
    each_crash_point_is_repaired("gzip", false);
}

#[test]
fn each_crash_point_is_repaired_zstd() {
    each_crash_point_is_repaired("zstd", false);
}

#[test]
fn each_crash_point_is_repaired_encrypted() {
    each_crash_point_is_repaired("zstd", true);
}

/// Takes the `flock` a running compression holds on its temporary.
fn flocked(p: &Path) -> std::fs::File {
    let f = std::fs::File::open(p).unwrap();
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(r, 0);
    f
}

#[test]
fn a_running_compression_is_left_alone_and_a_stale_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("app.log");
    let me = std::process::id();
    let texts: Vec<Vec<u8>> = (0..=3).map(|seq| text_of(seq, 500)).collect();
    let part = |t: &[u8]| {
        let c = compressed(t, "gzip");
        c[..c.len() / 2].to_vec()
    };
    // 1: another logger of this process compresses it right now (it holds the temporary's
    // lock): neither its temporary nor its original is touched.
    std::fs::write(d.join("app.log.1"), &texts[1]).unwrap();
    let t1 = d.join(format!("app.log.1.gz.tmp.{me}"));
    std::fs::write(&t1, part(&texts[1])).unwrap();
    let _held1 = flocked(&t1);
    // 2: another live process (init here) compresses it right now.
    std::fs::write(d.join("app.log.2"), &texts[2]).unwrap();
    let t2 = d.join("app.log.2.gz.tmp.1");
    std::fs::write(&t2, part(&texts[2])).unwrap();
    let _held2 = flocked(&t2);
    // 3: the id of a live process that holds no lock on it, untouched for an hour: the
    // process that wrote it died and its id went to another process.
    std::fs::write(d.join("app.log.3"), &texts[3]).unwrap();
    let t3 = d.join("app.log.3.gz.tmp.1");
    std::fs::write(&t3, part(&texts[3])).unwrap();
    set_mtime(&t3, Duration::from_secs(3600));

    assert_eq!(open_and_close(&path, "gzip", false), None);
    assert_eq!(
        names(d),
        [
            "app.log",
            "app.log.1",
            &format!("app.log.1.gz.tmp.{me}"),
            "app.log.2",
            "app.log.2.gz.tmp.1",
            "app.log.3.gz",
            "app.log.lock"
        ]
    );
    assert_eq!(std::fs::read(d.join("app.log.1")).unwrap(), texts[1]);
    assert_eq!(std::fs::read(&t1).unwrap(), part(&texts[1]));
    assert_eq!(std::fs::read(&t2).unwrap(), part(&texts[2]));
    assert_eq!(decoded(&d.join("app.log.3.gz")), texts[3]);
}

#[test]
fn what_sits_at_a_temporary_or_copy_name_is_not_followed_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = outside.path();
    let path = d.join("app.log");
    let me = std::process::id();
    let gone = dead_pid();
    let secret = o.join("secret");
    std::fs::write(&secret, b"not a log\n").unwrap();
    let fifo = o.join("fifo");
    mkfifo(&fifo);
    let texts: Vec<Vec<u8>> = (0..=5).map(|seq| text_of(seq, 200)).collect();
    for (seq, text) in texts.iter().enumerate().skip(1) {
        std::fs::write(d.join(format!("app.log.{seq}")), text).unwrap();
    }
    // Links at temporary names of a dead process and of this one, a FIFO and a folder.
    std::os::unix::fs::symlink(&secret, d.join(format!("app.log.1.gz.tmp.{gone}"))).unwrap();
    std::os::unix::fs::symlink(&secret, d.join(format!("app.log.2.gz.tmp.{me}"))).unwrap();
    mkfifo(&d.join(format!("app.log.3.gz.tmp.{gone}")));
    std::fs::create_dir(d.join(format!("app.log.4.gz.tmp.{gone}"))).unwrap();
    std::fs::write(
        d.join(format!("app.log.4.gz.tmp.{gone}")).join("inside"),
        b"x",
    )
    .unwrap();
    // A link at the compressed name of a file not yet compressed, to a FIFO outside: never
    // opened (that would wait forever), never taken for a complete copy.
    std::os::unix::fs::symlink(&fifo, d.join("app.log.5.gz")).unwrap();

    let err = open_and_close(&path, "gzip", false).expect("the strangers are reported");
    assert!(err.contains("left alone"), "{err}");
    let mut want = vec![
        "app.log".to_string(),
        "app.log.1.gz".into(),
        format!("app.log.1.gz.tmp.{gone}"),
        // Its temporary name is taken by a link: it stays uncompressed, and whole.
        "app.log.2".into(),
        format!("app.log.2.gz.tmp.{me}"),
        "app.log.3.gz".into(),
        format!("app.log.3.gz.tmp.{gone}"),
        "app.log.4.gz".into(),
        format!("app.log.4.gz.tmp.{gone}"),
        "app.log.5".into(),
        "app.log.5.gz".into(),
        "app.log.lock".into(),
    ];
    want.sort();
    assert_eq!(names(d), want);
    assert_eq!(std::fs::read(&secret).unwrap(), b"not a log\n");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        std::fs::read(d.join(format!("app.log.4.gz.tmp.{gone}")).join("inside")).unwrap(),
        b"x"
    );
    for seq in [1, 3, 4] {
        assert_eq!(decoded(&d.join(format!("app.log.{seq}.gz"))), texts[seq]);
    }
    for seq in [2, 5] {
        assert_eq!(
            std::fs::read(d.join(format!("app.log.{seq}"))).unwrap(),
            texts[seq]
        );
    }
}

// ---- A real kill -9 during compression ----

const CHILD_ENV: &str = "ALOG_TEST_INTERRUPTED_COMPRESS_CHILD";
/// Records the child logs: enough for three rotations at `CHILD_ROTATE`.
const CHILD_RECORDS: usize = 150_000;
const CHILD_ROTATE: &str = "2m";

fn record(i: usize) -> String {
    format!("rec {i:08} padding-abcdefghijklmnopqrstuvwxyz")
}

/// The child: logs numbered records that rotate the file a few times, then either waits to
/// be killed or, with `exit` as the mode, exits without closing as soon as a compression
/// is under way.
fn child(path: &Path, mode: &str, codec: &str) -> ! {
    let log = logger(path, codec, CHILD_ROTATE, false);
    for i in 0..CHILD_RECORDS {
        log.info(record(i));
    }
    if mode == "exit" {
        let start = Instant::now();
        while temporaries(path.parent().unwrap()).is_empty()
            && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        // The exit hook flushes the logger; the compression under way is abandoned.
        std::process::exit(0);
    }
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(3)
}

fn temporaries(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.contains(".tmp."))
        .collect()
}

/// Checks the set holds records 0..n exactly once and in order, with every rotated file
/// compressed and no temporary left; returns n. The kill may have cut the write of record n
/// (`kill -9` ends a large write anywhere): its first part is a line of its own, after which
/// only the record of the reopening logger follows.
fn check_contiguous(path: &Path, codec: &str) -> usize {
    let dir = path.parent().unwrap();
    assert_eq!(temporaries(dir), Vec::<String>::new());
    let files = set_files(path).unwrap();
    let rotated: Vec<&PathBuf> = files.iter().filter(|f| *f != path).collect();
    for f in &rotated {
        let x = format!(".{}", ext(codec));
        assert!(f.to_string_lossy().ends_with(&x), "{}", f.display());
    }
    // Each number once: the rotated files and the decoded set list the same files.
    let mut plain = names(dir);
    plain.retain(|n| n.starts_with("app.log.") && n != "app.log.lock");
    assert_eq!(plain.len(), rotated.len(), "{plain:?}");
    let mut next = 0;
    let mut torn = None;
    for f in &files {
        for line in lines_of(&decoded(f)) {
            let msg = line.splitn(3, ' ').nth(2).unwrap_or("");
            if msg == "new" {
                continue;
            }
            assert_eq!(torn, None, "a line after the torn one: {line}");
            if msg != record(next) {
                assert!(
                    record(next).starts_with(msg) && line.len() < 80,
                    "record {next} was due, in {}: {line}",
                    f.display()
                );
                torn = Some(line);
                continue;
            }
            next += 1;
        }
    }
    next
}

#[test]
fn kill_9_during_compression_then_reopen() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let mut parts = spec.splitn(3, ':');
        let (mode, codec) = (parts.next().unwrap(), parts.next().unwrap());
        child(Path::new(parts.next().unwrap()), mode, codec);
    }
    let exe = std::env::current_exe().unwrap();
    let mut left_behind = 0;
    let runs: Vec<(&str, &str, u64)> = vec![
        ("kill", "gzip", 0),
        ("kill", "zstd", 0),
        ("kill", "gzip", 1),
        ("kill", "zstd", 2),
        ("kill", "gzip", 5),
        ("kill", "gzip", 10),
        ("kill", "zstd", 20),
        ("kill", "gzip", 40),
        ("kill", "gzip", 80),
        ("exit", "gzip", 0),
    ];
    for (run, (mode, codec, delay_ms)) in runs.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut c = Command::new(&exe)
            .args([
                "--exact",
                "kill_9_during_compression_then_reopen",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{mode}:{codec}:{}", path.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let pid = c.id();
        let start = Instant::now();
        let mine = format!(".tmp.{pid}");
        while !temporaries(dir.path()).iter().any(|n| n.ends_with(&mine)) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "run {run}: the child never started a compression: {:?}",
                names(dir.path())
            );
            if let Some(st) = c.try_wait().unwrap() {
                assert_eq!(*mode, "exit", "run {run}: the child ended by itself: {st}");
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if *mode == "kill" {
            std::thread::sleep(Duration::from_millis(*delay_ms));
            // SAFETY: signalling our own child, not yet reaped.
            assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
        }
        let status = c.wait().unwrap();
        if *mode == "exit" {
            assert_eq!(status.code(), Some(0), "run {run}");
        } else {
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(libc::SIGKILL),
                "run {run}"
            );
        }
        if !temporaries(dir.path()).is_empty() {
            left_behind += 1;
        }
        assert_eq!(open_and_close(&path, codec, false), None, "run {run}");
        let n = check_contiguous(&path, codec);
        if *mode == "exit" {
            // The exit hook flushed every record: all are there.
            assert_eq!(n, CHILD_RECORDS, "run {run}");
        } else {
            // At least every record of the files rotated before the kill.
            assert!(n >= 20_000, "run {run}: only {n} records");
        }
    }
    // The kills did land during compressions.
    assert!(left_behind >= 3, "only {left_behind} runs left a temporary");
}

#[test]
fn loggers_opening_together_compress_each_leftover_once_and_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let path = d.join("app.log");
    let texts: Vec<Vec<u8>> = (0..=8).map(|seq| text_of(seq, 2000)).collect();
    for (seq, text) in texts.iter().enumerate().skip(1) {
        std::fs::write(d.join(format!("app.log.{seq}")), text).unwrap();
    }
    // Several processes (here loggers) sharing the path start at once after a crash: each
    // finds the same rotated files uncompressed.
    let errors: Vec<Option<String>> = std::thread::scope(|s| {
        let opened: Vec<_> = (0..4)
            .map(|_| s.spawn(|| open_and_close(&path, "gzip", false)))
            .collect();
        opened.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(errors, vec![None; 4]);
    let mut want: Vec<String> = (1..=8).map(|s| format!("app.log.{s}.gz")).collect();
    want.extend(["app.log".into(), "app.log.lock".into()]);
    want.sort();
    assert_eq!(names(&d), want);
    for (seq, text) in texts.iter().enumerate().skip(1) {
        assert_eq!(&decoded(&d.join(format!("app.log.{seq}.gz"))), text);
    }
    let lines = common::lines(&path);
    assert_eq!(lines.len(), 4);
}

#[test]
fn a_line_torn_by_a_kill_is_ended_before_the_next_record() {
    // kill -9 in the middle of a large write leaves the file cut anywhere (at a page
    // boundary, typically): the next open must not glue its first record to the fragment,
    // nor hand a file without its last newline to the compressor.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let whole = text_of(1, 10);
    let mut torn = whole.clone();
    torn.extend_from_slice(b"2026-01-01T00:00:00.000000Z INFO file 1 li");
    // Small: appended to.
    let path = d.join("small.log");
    std::fs::write(&path, &torn).unwrap();
    assert_eq!(open_and_close(&path, "gzip", false), None);
    let mut want = lines_of(&torn);
    let got = lines_of(&decoded(&path));
    assert_eq!(got.len(), want.len() + 1, "{got:?}");
    assert!(got.last().unwrap().ends_with(" INFO new"), "{got:?}");
    want.push(got.last().unwrap().clone());
    assert_eq!(got, want);
    // Past rotate_bytes: rotated and compressed first, ending with its fragment.
    let path = d.join("big.log");
    let mut big = text_of(2, 20_000);
    big.extend_from_slice(b"2026-01-01T00:00:00.000000Z INFO file 2 li");
    std::fs::write(&path, &big).unwrap();
    assert_eq!(open_and_close(&path, "gzip", false), None);
    assert_eq!(
        names(d),
        [
            "big.log",
            "big.log.1.gz",
            "big.log.lock",
            "small.log",
            "small.log.lock"
        ]
    );
    assert_eq!(lines_of(&decoded(&d.join("big.log.1.gz"))), lines_of(&big));
    let got = lines_of(&decoded(&path));
    assert_eq!(got.len(), 1);
    assert!(got[0].ends_with(" INFO new"), "{got:?}");
}

#[test]
fn a_copy_that_is_no_part_of_its_original_is_kept_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("app.log");
    let k = key();
    let texts: Vec<Vec<u8>> = (0..=3)
        .map(|seq| sealed(&text_of(seq, 300), Some(&k)))
        .collect();
    let mut junk = b"ALGC".to_vec();
    junk.extend((0..200u32).map(|i| (i * 7 + 3) as u8));
    let other = sealed(&compressed(&text_of(9, 300), "zstd"), Some(&k));
    let copies: [&[u8]; 3] = [&junk, &other, b"\x28\xb5\x2f\xfdjunk that is no zstd frame"];
    for (seq, copy) in copies.iter().enumerate().map(|(i, c)| (i + 1, c)) {
        std::fs::write(d.join(format!("app.log.{seq}")), &texts[seq]).unwrap();
        std::fs::write(d.join(format!("app.log.{seq}.zst")), copy).unwrap();
    }
    let err = open_and_close(&path, "zstd", true).expect("the copies are reported");
    assert!(err.contains("both are kept"), "{err}");
    for (seq, copy) in copies.iter().enumerate().map(|(i, c)| (i + 1, c)) {
        assert_eq!(
            std::fs::read(d.join(format!("app.log.{seq}"))).unwrap(),
            texts[seq]
        );
        assert_eq!(
            &std::fs::read(d.join(format!("app.log.{seq}.zst"))).unwrap(),
            copy
        );
    }
}
