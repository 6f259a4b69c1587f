//! `flush_on_signal`'s value: a set of signals by name.

/// The signals `flush_on_signal` accepts, by name, and what `crash` stands for.
pub const SIGNAL_NAMES: [(&str, i32); 9] = [
    ("term", libc::SIGTERM),
    ("int", libc::SIGINT),
    ("hup", libc::SIGHUP),
    ("quit", libc::SIGQUIT),
    ("abrt", libc::SIGABRT),
    ("segv", libc::SIGSEGV),
    ("bus", libc::SIGBUS),
    ("fpe", libc::SIGFPE),
    ("ill", libc::SIGILL),
];
const CRASH: [i32; 5] = [
    libc::SIGABRT,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
];

/// Parses `flush_on_signal`: `none`, or a comma-separated list of `term`, `int`, `hup`,
/// `quit`, `abrt`, `segv`, `bus`, `fpe`, `ill` and `crash` (abrt, segv, bus, fpe, ill), as a
/// set of signal numbers (bit n = signal n).
pub fn parse_signals(value: &str) -> std::result::Result<u64, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") || v.is_empty() {
        return Ok(0);
    }
    let mut set = 0u64;
    for part in v.split(',') {
        let p = part.trim().to_ascii_lowercase();
        let p = p.strip_prefix("sig").unwrap_or(&p);
        if p == "crash" {
            set |= CRASH.iter().fold(0, |m, s| m | 1 << s);
            continue;
        }
        match SIGNAL_NAMES.iter().find(|(n, _)| *n == p) {
            Some((_, s)) => set |= 1 << s,
            None => return Err(part.trim().to_string()),
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signal_lists() {
        assert_eq!(parse_signals("none"), Ok(0));
        assert_eq!(parse_signals("term"), Ok(1 << libc::SIGTERM));
        assert_eq!(
            parse_signals("SIGTERM, int"),
            Ok(1 << libc::SIGTERM | 1 << libc::SIGINT)
        );
        let crash = parse_signals("crash").unwrap();
        for s in CRASH {
            assert_ne!(crash & 1 << s, 0);
        }
        assert_eq!(crash & 1 << libc::SIGTERM, 0);
        assert_eq!(parse_signals("term,usr1"), Err("usr1".to_string()));
    }
}
