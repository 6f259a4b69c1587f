//! The `alog` command against hostile files and situations (issue 20): a decompression bomb,
//! links and FIFOs in the set, an absurd rotation number, a missing file, a wrong key, cut
//! and transplanted encrypted chunks, a closed output pipe.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

#[path = "../../alog-core/tests/common/threads.rs"]
mod threads;

use threads::logger;

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER_KEY: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_VAR: &str = "ALOG_CLI_HOSTILE_KEY";

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alog"));
    c.args(args)
        .env(KEY_VAR, KEY_HEX)
        .env("ALOG_CLI_OTHER_KEY", OTHER_KEY);
    c
}

/// Runs `alog` and fails the test if it has not ended within `secs` (it hangs).
fn run(args: &[&str], secs: u64) -> Output {
    let child = cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output().unwrap());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out,
        Err(_) => {
            // SAFETY: signalling our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("alog {args:?} did not end within {secs} s (it hangs)");
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A zstd frame of `blocks` RLE blocks of 128 KiB of newlines: a few bytes per block.
fn zstd_bomb(blocks: usize) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd];
    f.push(0x00); // frame header: no content size, no checksum, a window descriptor follows
    f.push(7 << 3); // window 2^17 = 128 KiB
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let header = last | (1 << 1) | ((128 << 10) << 3); // RLE block of 128 KiB
        f.extend_from_slice(&header.to_le_bytes()[..3]);
        f.push(b'\n');
    }
    f
}

#[test]
fn cat_streams_a_decompression_bomb_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.log");
    let blocks = 1024; // 128 MiB decoded from 4 KiB
    std::fs::write(&bomb, zstd_bomb(blocks)).unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 8 << 10);
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its rusage
    let child = cmd(&["cat", bomb.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid out-pointers.
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
    let max_rss_mib = usage.ru_maxrss / 1024;
    assert!(
        max_rss_mib < 48,
        "alog cat of {} MiB decoded used {max_rss_mib} MiB",
        blocks / 8
    );
}

#[test]
fn links_and_fifos_in_the_set_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("secret"), b"the secret\n").unwrap();
    std::fs::write(
        d.join("app.log.1"),
        b"2026-01-01T00:00:00.000000Z INFO one\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("secret"), d.join("app.log.2")).unwrap();
    let fifo =
        std::ffi::CString::new(d.join("app.log.3").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::write(d.join("app.log"), b"2026-01-01T00:00:01.000000Z INFO two\n").unwrap();
    let path = d.join("app.log");
    let out = run(&["cat", path.to_str().unwrap()], 10);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2026-01-01T00:00:00.000000Z INFO one\n2026-01-01T00:00:01.000000Z INFO two\n"
    );
    let err = stderr(&out);
    assert!(err.contains("app.log.2: it is a symbolic link"), "{err}");
    assert!(err.contains("app.log.3: it is a FIFO"), "{err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    let out = run(&["tail", "-n", "1", path.to_str().unwrap()], 10);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2026-01-01T00:00:01.000000Z INFO two\n"
    );
    let err = stderr(&out);
    assert!(err.contains("app.log.2: it is a symbolic link"), "{err}");
    assert!(err.contains("app.log.3: it is a FIFO"), "{err}");
    // A FIFO given as PATH: refused, not waited on.
    let out = run(&["cat", d.join("app.log.3").to_str().unwrap()], 10);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run(&["tail", d.join("app.log.3").to_str().unwrap()], 10);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is a FIFO"), "{}", stderr(&out));
}

#[test]
fn a_huge_rotation_number_hides_nothing_from_cat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(dir.path().join("app.log.1125899906842623"), b"").unwrap();
    let log = logger(&path, &[("rotate_bytes", "4k")]);
    for i in 0..2000 {
        log.info(format!("record {i:05} padding padding padding"));
    }
    log.close(None).unwrap();
    let out = run(&["cat", path.to_str().unwrap()], 30);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let got: Vec<String> = text
        .lines()
        .map(|l| l.splitn(4, ' ').nth(3).unwrap()[..5].to_string())
        .collect();
    assert_eq!(
        (got.len(), got.first().map(String::as_str)),
        (2000, Some("00000")),
        "records shown"
    );
    let want: Vec<String> = (0..2000).map(|i| format!("{i:05}")).collect();
    assert!(got == want, "records out of order");
}

#[test]
fn tail_of_a_missing_file_ends_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.log");
    for args in [vec!["tail"], vec!["tail", "-f"]] {
        let mut a = args.clone();
        a.push(path.to_str().unwrap());
        let out = run(&a, 10);
        assert_eq!(out.status.code(), Some(2), "{a:?}");
        assert!(stderr(&out).contains("No such file"), "{}", stderr(&out));
    }
}

fn encrypted_set(dir: &Path, rotate: &str) -> std::path::PathBuf {
    std::env::set_var(KEY_VAR, KEY_HEX);
    let path = dir.join("app.log");
    let log = logger(
        &path,
        &[
            ("rotate_bytes", rotate),
            ("encryption_key_env", KEY_VAR),
            ("batch_size", "1"),
        ],
    );
    for i in 0..40 {
        log.info(format!("record {i:03} padding padding padding padding"));
        log.flush(None).unwrap();
    }
    log.close(None).unwrap();
    path
}

#[test]
fn tail_says_when_the_key_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = encrypted_set(dir.path(), "0");
    let out = run(
        &[
            "tail",
            "--key-env",
            "ALOG_CLI_OTHER_KEY",
            path.to_str().unwrap(),
        ],
        10,
    );
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("fails authentication (wrong key or altered)"),
        "{err}"
    );
    let right = run(
        &[
            "tail",
            "-n",
            "2",
            "--key-env",
            KEY_VAR,
            path.to_str().unwrap(),
        ],
        10,
    );
    assert_eq!(String::from_utf8_lossy(&right.stdout).lines().count(), 2);
    assert!(right.stderr.is_empty(), "{}", stderr(&right));
}

#[test]
fn verify_finds_cut_and_transplanted_chunks_in_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = encrypted_set(dir.path(), "1k");
    let p = path.to_str().unwrap();
    let out = run(&["verify", "--key-env", KEY_VAR, p], 10);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The first rotated file loses its last chunk (an empty one: header and tag).
    let first = dir.path().join("app.log.1");
    let mut bytes = std::fs::read(&first).unwrap();
    let last_chunk = alog_core::crypt::OVERHEAD;
    bytes.truncate(bytes.len() - last_chunk);
    std::fs::write(&first, &bytes).unwrap();
    let out = run(&["verify", "--key-env", KEY_VAR, p], 10);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("app.log.1 (encrypted, plain, ")
            && report.contains("1 encrypted stream(s) without their last chunk"),
        "{report}"
    );
    // A chunk of the second file is put at the end of the first.
    let second = std::fs::read(dir.path().join("app.log.2")).unwrap();
    let h = alog_core::crypt::HEADER_LEN;
    let len = h + u32::from_be_bytes(second[h - 4..h].try_into().unwrap()) as usize;
    bytes.extend_from_slice(&second[..len]);
    std::fs::write(&first, &bytes).unwrap();
    let out = run(&["verify", "--key-env", KEY_VAR, p], 10);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("belongs to another file (transplanted)"),
        "{report}"
    );
    // And a chunk repeated.
    let mut again = std::fs::read(dir.path().join("app.log.2")).unwrap();
    again.extend_from_slice(&second[..len]);
    std::fs::write(dir.path().join("app.log.2"), &again).unwrap();
    let out = run(&["verify", "--key-env", KEY_VAR, p], 10);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("repeats chunk 0 of its stream (replayed)"),
        "{report}"
    );
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, b"2026-01-01T00:00:00.000000Z INFO one\n").unwrap();
    for what in ["verify", "cat"] {
        let mut fds = [0; 2];
        // SAFETY: pipe fills two descriptors we then own.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors are fresh and owned here.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(read_end); // nobody reads: the first write gets EPIPE
        let out = cmd(&[what, path.to_str().unwrap()])
            .stdout(Stdio::from(write_end))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{what}: {err}");
    }
}
