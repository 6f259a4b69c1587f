//! The `alog` command against sets written by alog-core: encrypted rotation decoded by
//! `alog cat`, damage found by `alog verify`, `alog tail -f` across rotations.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../alog-core/tests/common/threads.rs"]
mod threads;

use threads::{log_threads, logger, Records};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_VAR: &str = "ALOG_CLI_TEST_KEY";

fn alog(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_alog"))
        .args(args)
        .env(KEY_VAR, KEY_HEX)
        .output()
        .unwrap()
}

fn check_records(text: &[u8], threads: usize, per_thread: usize) {
    let mut r = Records::new(threads);
    r.feed(text, "the output");
    r.finish(per_thread);
}

fn encrypted_rotation(threads: usize, per_thread: usize, rotate: u64, compress: &str) {
    std::env::set_var(KEY_VAR, KEY_HEX);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let rb = rotate.to_string();
    let log = logger(
        &path,
        &[
            ("rotate_bytes", &rb),
            ("encryption_key_env", KEY_VAR),
            ("compress", compress),
        ],
    );
    log_threads(&log, threads, per_thread);
    log.close(None).unwrap();
    let mut rotated = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        if p.ends_with("app.log.lock") {
            continue;
        }
        assert!(
            bytes.starts_with(b"ALGC"),
            "{} is not encrypted",
            p.display()
        );
        let needle = b"payload-abcdefghijklmnopqrstuvwxyz";
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "plaintext in {}",
            p.display()
        );
        if compress == "none" {
            assert!(
                bytes.len() as u64 <= rotate,
                "{} has {} bytes",
                p.display(),
                bytes.len()
            );
        }
        rotated += 1;
    }
    assert!(rotated > 3, "only {rotated} files");
    let out = alog(&["cat", "--key-env", KEY_VAR, path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_records(&out.stdout, threads, per_thread);
    let out = alog(&["verify", "--key-env", KEY_VAR, path.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.ends_with(&format!(
            "{rotated} files, {} lines, 0 damaged\n",
            threads * per_thread
        )),
        "{report}"
    );
    // Without the key: a clear error, exit 1.
    let out = alog(&["cat", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file is encrypted: give its key"));
}

#[test]
fn encrypted_rotation_decodes_with_alog_cat() {
    encrypted_rotation(4, 10_000, 64 << 10, "none");
    encrypted_rotation(4, 10_000, 64 << 10, "zstd");
}

#[test]
#[ignore = "4 x 1M records: run in release by scripts/test-lifecycle.sh"]
fn encrypted_four_threads_million_decoded_by_alog_cat() {
    encrypted_rotation(4, 1_000_000, 4 << 20, "none");
}

#[test]
fn verify_reports_damage_and_cat_keeps_what_decodes() {
    std::env::set_var(KEY_VAR, KEY_HEX);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = logger(
        &path,
        &[("encryption_key_env", KEY_VAR), ("batch_size", "1")],
    );
    for i in 0..3 {
        log.info(format!("line {i}"));
        log.flush(None).unwrap();
    }
    log.close(None).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    // The first chunk's length: its header ends with the ciphertext's length.
    let h = alog_core::crypt::HEADER_LEN;
    let chunk = h + u32::from_be_bytes(bytes[h - 4..h].try_into().unwrap()) as usize;
    bytes[chunk + 60] ^= 1; // inside the second chunk's ciphertext
    std::fs::write(&path, &bytes).unwrap();
    let out = alog(&["verify", "--key-env", KEY_VAR, path.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!("chunk at offset {chunk} fails authentication")),
        "{report}"
    );
    let out = alog(&["cat", "--key-env", KEY_VAR, path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let msgs: Vec<&str> = text
        .lines()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap())
        .collect();
    assert_eq!(msgs, ["line 0", "line 2"]);

    let gz = dir.path().join("b.log");
    std::fs::write(&gz, b"\x1f\x8b\x08\x00garbage that is no deflate stream").unwrap();
    let out = alog(&["verify", gz.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DAMAGED"));
    let out = alog(&["verify", dir.path().join("none.log").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no such file, and no rotated files of it")
    );
    let out = alog(&["tial", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command \"tial\""));
}

#[test]
fn tail_follows_across_rotations() {
    tail_follows(&[("compress", "zstd")], &[]);
}

#[test]
fn tail_follows_an_encrypted_set_across_rotations() {
    std::env::set_var(KEY_VAR, KEY_HEX);
    tail_follows(
        &[("compress", "gzip"), ("encryption_key_env", KEY_VAR)],
        &["--key-env", KEY_VAR],
    );
}

fn tail_follows(keys: &[(&str, &str)], key_args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut all_keys = vec![("rotate_bytes", "16k"), ("batch_size", "64")];
    all_keys.extend_from_slice(keys);
    let log = logger(&path, &all_keys);
    log.info("t0 n0 payload-abcdefghijklmnopqrstuvwxyz");
    log.flush(None).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_alog"))
        .args(["tail", "-n", "5", "-f"])
        .args(key_args)
        .arg(&path)
        .env(KEY_VAR, KEY_HEX)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = lines.clone();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
            let n = all.iter().filter(|b| **b == b'\n').count();
            seen.store(n, std::sync::atomic::Ordering::SeqCst);
        }
        all
    });
    std::thread::sleep(Duration::from_millis(300));
    for i in 1..20_000 {
        log.info(format!("t0 n{i} payload-abcdefghijklmnopqrstuvwxyz"));
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    log.close(None).unwrap();
    assert!(log.stats().rotations > 20);
    let t = Instant::now();
    while lines.load(std::sync::atomic::Ordering::SeqCst) < 20_000
        && t.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Lines that arrive late would show as duplicates: give tail a moment more.
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let _ = child.wait();
    let all = reader.join().unwrap();
    check_records(&all, 1, 20_000);
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, b"2026-11-23T00:00:00.000000Z INFO a\n").unwrap();
    let plain = alog(&["verify", path.to_str().unwrap()]);
    assert!(
        plain.stderr.is_empty(),
        "no progress when stderr is not a terminal"
    );
    // util-linux `script` runs the command on a pseudo-terminal.
    let cmd = format!("{} verify {}", env!("CARGO_BIN_EXE_alog"), path.display());
    let Ok(tty) = Command::new("script")
        .args(["-qc", &cmd, "/dev/null"])
        .output()
    else {
        panic!("`script` (util-linux) is needed to give alog a terminal");
    };
    let out = String::from_utf8_lossy(&tty.stdout);
    assert!(
        out.contains("\r\x1b[Kalog: file 1/1 app.log 0.0 MiB"),
        "{out:?}"
    );
    assert!(out.contains("ok       "), "{out:?}");
}

#[test]
fn a_wrong_key_gives_a_short_report() {
    std::env::set_var(KEY_VAR, KEY_HEX);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let log = logger(&p, &[("encryption_key_env", KEY_VAR), ("batch_size", "1")]);
    for i in 0..10 {
        log.info(format!("line {i}"));
        log.flush(None).unwrap();
    }
    log.close(None).unwrap();
    // A wrong key: every chunk fails, the report stays short.
    let wrong = alog(&[
        "verify",
        "--key-env",
        "ALOG_CLI_TEST_WRONG_KEY",
        p.to_str().unwrap(),
    ]);
    assert_eq!(
        wrong.status.code(),
        Some(2),
        "the variable is not set: usage error"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_alog"))
        .args(["verify", "--key-env", "WRONG", p.to_str().unwrap()])
        .env("WRONG", "ff".repeat(32))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let first = report.lines().next().unwrap();
    assert!(
        first.contains("fails authentication") && first.contains("more problems"),
        "{first}"
    );
    assert!(first.len() < 600, "{first}");
}
