//! The committed header and the library agree on the version.

use std::ffi::CStr;

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} missing from alog.h"))
        .trim()
        .trim_matches('"')
        .to_string()
}

#[test]
fn header_version_matches_the_crate() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/alog.h"))
            .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(define(&header, "ALOG_VERSION_STRING"), version);
    let parts: Vec<&str> = version.split('.').collect();
    assert_eq!(define(&header, "ALOG_VERSION_MAJOR"), parts[0]);
    assert_eq!(define(&header, "ALOG_VERSION_MINOR"), parts[1]);
    assert_eq!(define(&header, "ALOG_VERSION_PATCH"), parts[2]);
    // SAFETY: alog_version returns a static NUL-terminated string.
    let lib = unsafe { CStr::from_ptr(alog::alog_version()) };
    assert_eq!(lib.to_str().unwrap(), version);
}
