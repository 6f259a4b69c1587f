//! Any sequence of `key=value` lines: `Config::set` returns Ok or a clear Invalid error, never
//! panics, and a rejected value leaves the configuration as it was.
#![no_main]

use alog_core::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut c = Config::default();
    for line in text.lines() {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        let before = format!("{c:?}");
        match c.set(k, v) {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.code(), 2, "config errors are Invalid");
                assert!(!e.to_string().is_empty());
                assert_eq!(before, format!("{c:?}"), "a rejected value changed the config");
            }
        }
    }
    let _ = c.validate();
    let _ = alog_core::format::Pattern::parse(text);
    let _ = alog_core::Level::parse(text);
});
