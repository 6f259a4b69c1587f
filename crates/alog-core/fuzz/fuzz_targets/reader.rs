//! The readers behind `alog cat`, `tail` and `verify`: any bytes, fed in any pieces, with or
//! without a key, decode without a panic, with output bounded per piece and a report that
//! counts exactly what came out; chunks sealed from any plaintext decode back to it.
#![no_main]

use std::io::Write;
use std::path::Path;

use alog_core::crypt::{Key, Sealer};
use alog_core::reader::Decoder;
use libfuzzer_sys::fuzz_target;

/// Takes decoded text, refusing more than a cap in total (a bomb stops early, not slowly).
#[derive(Default)]
struct Out {
    text: Vec<u8>,
}

const CAP: usize = 64 << 20;

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        assert!(b.len() <= 4 << 20, "an output piece of {} bytes", b.len());
        if self.text.len() + b.len() > CAP {
            return Err(std::io::Error::other("cap"));
        }
        self.text.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn decode(data: &[u8], key: Option<&Key>, step: usize) -> Option<Out> {
    let mut out = Out::default();
    let mut d = Decoder::new(Path::new("fuzz"), key);
    for piece in data.chunks(step.max(1)) {
        if d.feed(piece, &mut out).is_err() {
            return None;
        }
        let _ = d.take_new_problems();
    }
    let r = d.finish(&mut out).ok()?;
    assert_eq!(r.bytes_out, out.text.len() as u64);
    assert_eq!(
        r.lines,
        out.text.iter().filter(|b| **b == b'\n').count() as u64
    );
    assert_eq!(r.bytes_in, data.len() as u64);
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let key = Key::from_bytes([7; 32]);
    let whole = decode(data, None, data.len());
    let pieces = decode(data, None, usize::from(step % 16) + 1);
    if let (Some(a), Some(b)) = (&whole, &pieces) {
        // Plain text decodes the same however it arrives.
        if !data.starts_with(&[0x1f, 0x8b]) && !data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            assert_eq!(a.text, b.text);
        }
    }
    let _ = decode(data, Some(&key), usize::from(step) + 1);
    // Sealed chunks of the data decode back to it (unless it is itself compressed).
    let mut sealed = Vec::new();
    let mut s = Sealer::new(&key);
    for part in data.chunks(usize::from(step) + 1) {
        s.seal(part, false, &mut sealed);
    }
    s.seal(b"", true, &mut sealed);
    let compressed = data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    if let Some(out) = decode(&sealed, Some(&key), usize::from(step % 7) + 1) {
        if !compressed && data.len() >= 4 {
            assert_eq!(out.text, data);
        }
    }
});
