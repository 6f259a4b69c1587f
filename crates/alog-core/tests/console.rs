//! The console sink as another process sees it: the test binary runs itself as a child that
//! logs to its stdout or stderr (pipes, or a terminal from `openpty`), and the parent checks
//! what arrived: the right stream, the console's own level, and colors only where
//! `console.color` says.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use alog_core::{Level, Logger};

const CHILD: &str = "ALOG_CONSOLE_TEST_CHILD";

/// The child's part (does nothing in a normal run): a console-only logger with the settings
/// in `ALOG_CONSOLE_TEST_CHILD` (`key=value;...`) logs one record per level band.
#[test]
fn console_child() {
    let Ok(settings) = std::env::var(CHILD) else {
        return;
    };
    let mut b = Logger::builder().level(Level::TRACE);
    for kv in settings.split(';') {
        let (k, v) = kv.split_once('=').expect("key=value");
        b = b.set(k, v).expect("valid setting");
    }
    let log = b.build().expect("console logger");
    log.debug("debug line");
    log.info("info line");
    log.warn("warn line");
    log.close(None).expect("close");
}

fn child(settings: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "console_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, settings)
    .env_remove("NO_COLOR");
    c
}

/// Runs the child with pipes for stdout and stderr; it must succeed.
fn run(settings: &str) -> std::process::Output {
    let out = child(settings).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    out
}

/// libtest starts its `test console_child ... ` line before the child logs its first record.
const HARNESS: &str = "test console_child ... ";

/// The lines the child logged (libtest's own text left out), `\r\n` of a terminal undone.
fn logged(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .map(|l| l.strip_prefix(HARNESS).unwrap_or(l).to_string())
        .filter(|l| l.ends_with(" line"))
        .collect()
}

/// Drops the timestamp (the first word) of each line.
fn bodies(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split_once(' ').map_or(l.as_str(), |(_, rest)| rest))
        .collect()
}

#[test]
fn stdout_with_its_own_level_and_no_color_on_a_pipe() {
    let out = run("console=stdout;console.level=info;console.color=auto");
    assert_eq!(
        bodies(&logged(&out.stdout)),
        ["INFO info line", "WARN warn line"]
    );
    assert!(logged(&out.stderr).is_empty(), "stderr: {:?}", out.stderr);
    assert!(!out.stdout.contains(&0x1b), "colors on a pipe");
}

#[test]
fn stderr_in_color_when_asked() {
    let out = child("console=stderr;console.color=always")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines = logged(&out.stderr);
    assert_eq!(
        bodies(&lines),
        [
            "\x1b[36mDEBUG\x1b[0m debug line",
            "\x1b[32mINFO\x1b[0m info line",
            "\x1b[1;33mWARN\x1b[0m warn line"
        ]
    );
    assert!(logged(&out.stdout).is_empty());
}

#[test]
fn json_on_the_console_is_never_colored() {
    let out = run("console=stdout;console.format=json;console.color=always");
    let lines = logged_json(&out.stdout);
    assert_eq!(lines.len(), 3, "{:?}", String::from_utf8_lossy(&out.stdout));
    assert!(lines.iter().all(|l| !l.contains('\x1b')));
}

fn logged_json(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| l.strip_prefix(HARNESS).unwrap_or(l))
        .filter(|l| l.starts_with("{\"ts\""))
        .map(String::from)
        .collect()
}

/// Runs the child with its stdout on a new terminal; returns what the terminal received.
fn on_a_terminal(settings: &str, no_color: Option<&str>) -> Vec<u8> {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the given ints; the other arguments may be
    // NULL.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = child(settings);
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let mut proc = cmd
        .stdout(Stdio::from(slave))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(cmd); // the parent's copy of the slave end
    let mut got = Vec::new();
    let mut reader = std::fs::File::from(master);
    let mut buf = [0u8; 4096];
    // Reading the master ends with EIO once the child has exited and closed the slave.
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(proc.wait().unwrap().success());
    got
}

#[test]
fn auto_colors_a_terminal_unless_no_color_is_set() {
    let got = on_a_terminal("console=stdout;console.level=warn", None);
    assert_eq!(
        bodies(&logged(&got)),
        ["\x1b[1;33mWARN\x1b[0m warn line"],
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let got = on_a_terminal("console=stdout;console.level=warn", Some("1"));
    assert_eq!(bodies(&logged(&got)), ["WARN warn line"]);
    let got = on_a_terminal(
        "console=stdout;console.level=warn;console.color=never",
        None,
    );
    assert_eq!(bodies(&logged(&got)), ["WARN warn line"]);
}
