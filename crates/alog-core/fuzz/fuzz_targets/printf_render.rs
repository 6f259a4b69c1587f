//! Any format with one conversion and any value: what alog's deferred formatting renders is
//! byte for byte what the C library's snprintf renders (or the format is refused, and callers
//! fall back to snprintf itself).
#![no_main]

use std::ffi::CString;

use alog_core::printf::{parse, Arg, Fetch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], i64, f64, &[u8])| {
    let (fmt, int, float, text) = input;
    // Keep widths and precisions small enough for a quick run.
    if fmt.len() > 40 || fmt.contains(&0) || fmt.windows(4).any(|w| w.iter().all(u8::is_ascii_digit)) {
        return;
    }
    // A format that ends inside a conversion ("100%") is logged as written, on purpose unlike
    // glibc's snprintf (which drops or fails it): nothing to compare.
    if ends_inside_a_conversion(fmt) {
        return;
    }
    let Ok(parsed) = parse(fmt) else { return };
    if parsed.fetch.len() != 1 {
        return;
    }
    let text = CString::new(text.iter().copied().filter(|b| *b != 0).collect::<Vec<u8>>()).unwrap();
    let c_fmt = CString::new(fmt).unwrap();
    let mut buf = vec![0u8; 4096];
    let (arg, n) = unsafe {
        let p = buf.as_mut_ptr().cast();
        match parsed.fetch[0] {
            Fetch::Int => (Arg::Int(i64::from(int as i32)), libc::snprintf(p, 4096, c_fmt.as_ptr(), int as i32)),
            Fetch::Double => (Arg::Float(float), libc::snprintf(p, 4096, c_fmt.as_ptr(), float)),
            Fetch::Str => (Arg::Str(Some(text.as_bytes())), libc::snprintf(p, 4096, c_fmt.as_ptr(), text.as_ptr())),
            Fetch::Ptr => (Arg::Ptr(int as u64), libc::snprintf(p, 4096, c_fmt.as_ptr(), int as usize as *const u8)),
            _ => (Arg::Int(int), libc::snprintf(p, 4096, c_fmt.as_ptr(), int)),
        }
    };
    let Ok(n) = usize::try_from(n) else { return };
    if n >= buf.len() {
        return;
    }
    let mut ours = Vec::new();
    parsed.render(&[arg], &mut ours);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&buf[..n]),
        "format {:?}",
        String::from_utf8_lossy(fmt)
    );
});

fn ends_inside_a_conversion(f: &[u8]) -> bool {
    let mut i = 0;
    while i < f.len() {
        if f[i] != b'%' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < f.len() && b"-+ #0123456789.*'hlLqjztI$".contains(&f[j]) {
            j += 1;
        }
        if j >= f.len() {
            return true;
        }
        i = j + 1;
    }
    false
}
