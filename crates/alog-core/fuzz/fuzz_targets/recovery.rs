//! Start-up recovery and retention over a folder of arbitrary files at the names alog
//! manages (regular files of any content, folders, links, FIFOs): opening, logging and
//! closing a rotating, compressing logger never hangs or panics, never removes or replaces
//! a link, FIFO or folder, and never writes through a link.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Kind {
    File(Vec<u8>),
    Folder,
    LinkToZero,
    LinkToOutside,
    Fifo,
}

#[derive(Arbitrary, Debug)]
struct Entry {
    name: u8,
    seq: u16,
    kind: Kind,
}

#[derive(Arbitrary, Debug)]
struct Case {
    entries: Vec<Entry>,
    gzip: bool,
    max_files: u8,
}

fn name(e: &Entry) -> String {
    let n = e.seq;
    match e.name % 9 {
        0 => format!("app.log.{n}"),
        1 => format!("app.log.{n}.gz"),
        2 => format!("app.log.{n}.zst"),
        3 => format!("app.log.{n}.gz.tmp.999999999"),
        4 => format!("app.log.{n}.zst.tmp.1"),
        5 => format!("app.log.2026-01-01.{n}"),
        6 => format!("app.log.{}", u64::MAX - u64::from(n)),
        7 => "app.log.lock".into(),
        _ => format!("app.log.{n}.gz.gz"),
    }
}

static CASE: AtomicU64 = AtomicU64::new(0);

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
}

fuzz_target!(|case: Case| {
    let root = std::env::temp_dir().join(format!(
        "alog-fuzz-recovery-{}-{}",
        std::process::id(),
        CASE.fetch_add(1, Ordering::Relaxed)
    ));
    let dir = root.join("logs");
    let outside = root.join("outside");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&outside, b"outside").unwrap();
    let mut special: Vec<PathBuf> = Vec::new();
    for e in case.entries.iter().take(24) {
        let p = dir.join(name(e));
        if std::fs::symlink_metadata(&p).is_ok() {
            continue;
        }
        match &e.kind {
            Kind::File(b) => std::fs::write(&p, b).unwrap(),
            Kind::Folder => std::fs::create_dir(&p).unwrap(),
            Kind::LinkToZero => std::os::unix::fs::symlink("/dev/zero", &p).unwrap(),
            Kind::LinkToOutside => std::os::unix::fs::symlink(&outside, &p).unwrap(),
            Kind::Fifo => mkfifo(&p),
        }
        if !matches!(e.kind, Kind::File(_)) {
            special.push(p);
        }
    }
    let built = alog_core::Logger::builder()
        .path(dir.join("app.log"))
        .set("rotate_bytes", "1k")
        .and_then(|b| b.set("compress", if case.gzip { "gzip" } else { "zstd" }))
        .and_then(|b| b.set("max_files", &(case.max_files % 4).to_string()))
        .and_then(|b| b.build());
    if let Ok(log) = built {
        for i in 0..40 {
            log.info(format!("record {i} with padding to rotate a few times"));
        }
        log.close(Some(Duration::from_secs(20))).unwrap();
    }
    for p in &special {
        let m = std::fs::symlink_metadata(p).expect("a stranger was removed");
        assert!(!m.file_type().is_file(), "{} was replaced", p.display());
    }
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        b"outside",
        "written through a link"
    );
    let _ = alog_core::reader::set_files_checked(&dir.join("app.log"));
    let _ = std::fs::remove_dir_all(&root);
});
