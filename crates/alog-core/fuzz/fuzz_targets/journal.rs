//! `durability=mmap` recovery over a journal of arbitrary content: the right magic, then
//! arbitrary header fields, ring bytes and file length. Opening a durable logger on it never
//! panics, hangs or reads outside the mapping: it refuses the journal with an error, or opens
//! (discarding or skipping what is damaged), logs and closes with exact accounting.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Case {
    /// The right version and header size, or these.
    wrong_version: Option<u32>,
    wrong_header: Option<u32>,
    /// Ring size: 64 KiB plus this many KiB (mod 64).
    extra_kib: u8,
    /// The ring size the header claims, when set (else the real one).
    claimed_cap: Option<u64>,
    free: u64,
    /// head = free + this (mod twice the ring), rounded to 64 bytes when `aligned`.
    used: u32,
    aligned: bool,
    sel: u8,
    settled: [u64; 8],
    /// Bytes written into the ring at the given offsets.
    patches: Vec<(u32, Vec<u8>)>,
    /// The file shorter or longer than header + ring by this many bytes.
    size_delta: i16,
    log: Vec<u8>,
}

static CASE: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|case: Case| {
    let dir = std::env::temp_dir().join(format!(
        "alog-fuzz-journal-{}-{}",
        std::process::id(),
        CASE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = (64 + u64::from(case.extra_kib % 64)) << 10;
    let mut j = vec![0u8; (4096 + cap) as usize];
    let put = |j: &mut Vec<u8>, at: usize, v: &[u8]| j[at..at + v.len()].copy_from_slice(v);
    put(&mut j, 0, b"ALOGJRNL");
    put(&mut j, 8, &case.wrong_version.unwrap_or(1).to_le_bytes());
    put(&mut j, 12, &case.wrong_header.unwrap_or(4096).to_le_bytes());
    put(&mut j, 16, &case.claimed_cap.unwrap_or(cap).to_le_bytes());
    let free = case.free % (1 << 40);
    let mut head = free + u64::from(case.used) % (2 * cap);
    if case.aligned {
        head -= head % 64;
    }
    put(&mut j, 128, &head.to_le_bytes());
    put(&mut j, 256, &free.to_le_bytes());
    put(&mut j, 264, &u64::from(case.sel % 3).to_le_bytes());
    for (i, v) in case.settled.iter().enumerate() {
        put(&mut j, 272 + 8 * i, &v.to_le_bytes());
    }
    for (off, bytes) in case.patches.iter().take(64) {
        let at = 4096 + (u64::from(*off) % cap) as usize;
        let n = bytes.len().min(j.len() - at);
        put(&mut j, at, &bytes[..n]);
    }
    let len = (j.len() as i64 + i64::from(case.size_delta)).max(8) as usize;
    j.resize(len, 0);
    std::fs::write(dir.join(".app.log.journal"), &j).unwrap();
    std::fs::write(dir.join("app.log"), &case.log).unwrap();
    let built = alog_core::Logger::builder()
        .path(dir.join("app.log"))
        .set("durability", "mmap")
        .and_then(|b| b.set("durability.bytes", &cap.to_string()))
        .and_then(|b| b.build());
    if let Ok(log) = built {
        let recovered = log.stats().submitted;
        for i in 0..3 {
            log.log(alog_core::Level::INFO, format!("record {i}")).unwrap();
        }
        log.close(Some(Duration::from_secs(20))).unwrap();
        let st = log.stats();
        assert_eq!(st.submitted, recovered + 3);
        assert_eq!(st.pending, 0);
        assert_eq!(st.submitted, st.written + st.dropped + st.failed);
    }
    let _ = std::fs::remove_dir_all(&dir);
});
