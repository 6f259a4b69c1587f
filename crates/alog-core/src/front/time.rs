//! Wall-clock timestamps: taken as nanoseconds since the Unix epoch, printed as RFC 3339 UTC
//! with microseconds. The printer caches the date-and-second prefix, so a batch of records from
//! the same second costs one civil-date computation.

/// `Record::timestamp_ns` for a record written without a timestamp (log/slog's zero time):
/// text lines start at the level, JSON objects have no timestamp member.
pub const NO_TIMESTAMP: i64 = i64::MIN;

/// "00" "01" ... "99": two decimal digits per lookup.
pub(crate) const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Nanoseconds since the Unix epoch, from `CLOCK_REALTIME` (a vDSO call, no syscall).
#[inline]
pub fn now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z: timestamps are clamped to the
/// years RFC 3339 can print.
const MIN_SEC: i64 = -62_167_219_200;
const MAX_SEC: i64 = 253_402_300_799;

/// (year, month, day) of a day count since 1970-01-01 in the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to a calendar whose years start on March 1st of 0000, in 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn put2(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Reads `TZ` into the C library's time zone, once per process (`localtime_r` need not).
pub(crate) fn read_time_zone() {
    extern "C" {
        fn tzset();
    }
    static TZSET: std::sync::Once = std::sync::Once::new();
    // SAFETY: tzset takes no arguments; `Once` keeps it from racing itself.
    TZSET.call_once(|| unsafe { tzset() });
}

/// The local time zone's offset from UTC at `sec` (seconds since the epoch), in seconds.
pub(crate) fn local_offset(sec: i64) -> i64 {
    read_time_zone();
    let t: libc::time_t = sec;
    // SAFETY: localtime_r writes `tm` before it is read; a failure leaves it zeroed (UTC).
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}

/// Prints timestamps, reusing the `YYYY-MM-DDTHH:MM:SS.` prefix (and, in local time, the
/// offset) within a second: a record's timestamp is one fixed-size copy of the second's text
/// with its six microsecond digits written over.
#[derive(Debug)]
pub struct TsPrinter {
    sec: i64,
    /// `YYYY-MM-DDTHH:MM:SS.uuuuuu` and the suffix (`Z` or `+05:30`), in `len` bytes.
    text: [u8; TS_MAX],
    len: usize,
    /// Local time (`+05:30`) rather than UTC (`Z`).
    local: bool,
}

/// The longest timestamp: `2026-11-23T21:27:17.123456+05:30`.
const TS_MAX: usize = 32;
/// Where the microsecond digits start.
const TS_FRAC: usize = 20;

impl Default for TsPrinter {
    fn default() -> Self {
        TsPrinter::new(false)
    }
}

impl TsPrinter {
    /// A printer of UTC (`local` false) or local time with its offset.
    pub fn new(local: bool) -> TsPrinter {
        TsPrinter {
            sec: i64::MIN,
            text: [0; TS_MAX],
            len: TS_FRAC + 7,
            local,
        }
    }

    /// Appends `2026-11-23T15:57:17.123456Z` (27 bytes) for `ns` since the epoch, or in local
    /// time `2026-11-23T21:27:17.123456+05:30` (32 bytes).
    pub fn push(&mut self, ns: i64, out: &mut Vec<u8>) {
        let (mut sec, mut sub) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
        if sec < MIN_SEC {
            (sec, sub) = (MIN_SEC, 0);
        } else if sec > MAX_SEC {
            (sec, sub) = (MAX_SEC, 999_999_999);
        }
        if sec != self.sec {
            self.sec = sec;
            let mut wall = sec;
            let p = &mut self.text;
            (p[TS_FRAC + 6], self.len) = (b'Z', TS_FRAC + 7);
            if self.local {
                let off = local_offset(sec);
                wall = (sec + off).clamp(MIN_SEC, MAX_SEC);
                if off != 0 {
                    let a = off.unsigned_abs() / 60;
                    let s = &mut p[TS_FRAC + 6..];
                    s.copy_from_slice(b"+00:00");
                    if off < 0 {
                        s[0] = b'-';
                    }
                    put2(&mut s[1..3], (a / 60 % 100) as u32);
                    put2(&mut s[4..6], (a % 60) as u32);
                    self.len = TS_MAX;
                }
            }
            let sec = wall;
            let (y, mo, d) = civil_from_days(sec.div_euclid(86_400));
            let s = sec.rem_euclid(86_400) as u32;
            let y = y as u32;
            put2(&mut p[0..2], y / 100);
            put2(&mut p[2..4], y % 100);
            p[4] = b'-';
            put2(&mut p[5..7], mo);
            p[7] = b'-';
            put2(&mut p[8..10], d);
            p[10] = b'T';
            put2(&mut p[11..13], s / 3600);
            p[13] = b':';
            put2(&mut p[14..16], s / 60 % 60);
            p[16] = b':';
            put2(&mut p[17..19], s % 60);
            p[19] = b'.';
        }
        let us = (sub / 1000) as u32;
        let t = &mut self.text;
        put2(&mut t[TS_FRAC..TS_FRAC + 2], us / 10_000);
        put2(&mut t[TS_FRAC + 2..TS_FRAC + 4], us / 100 % 100);
        put2(&mut t[TS_FRAC + 4..TS_FRAC + 6], us % 100);
        out.reserve(TS_MAX);
        let at = out.len();
        // SAFETY: `reserve` left at least TS_MAX writable bytes after `at`; the whole template
        // is copied (one fixed-size copy) and only its first `len <= TS_MAX` bytes are kept.
        unsafe {
            std::ptr::copy_nonoverlapping(t.as_ptr(), out.as_mut_ptr().add(at), TS_MAX);
            out.set_len(at + self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(ns: i64) -> String {
        let mut v = Vec::new();
        TsPrinter::default().push(ns, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(show(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            show(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(show(951_782_400_000_000_000), "2000-02-29T00:00:00.000000Z");
        assert_eq!(show(-1_000), "1969-12-31T23:59:59.999999Z");
        assert_eq!(
            show(4_107_542_399_000_000_000),
            "2100-02-28T23:59:59.000000Z"
        );
        assert_eq!(show(i64::MIN), "1677-09-21T00:12:43.145224Z");
    }

    #[test]
    fn cache_is_refreshed_when_the_second_changes() {
        let mut p = TsPrinter::default();
        let mut v = Vec::new();
        p.push(86_399_999_999_999, &mut v);
        p.push(86_400_000_000_000, &mut v);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "1970-01-01T23:59:59.999999Z1970-01-02T00:00:00.000000Z"
        );
    }

    #[test]
    fn matches_a_day_by_day_walk() {
        // Walk 1970..2400 a day at a time and compare with civil_from_days.
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(430 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][m as usize - 1];
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
