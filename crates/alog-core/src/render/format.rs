//! Text and JSON rendering. One record is always exactly one line: control characters and
//! invalid UTF-8 are escaped in text, and JSON output is always valid JSON.
//!
//! Logged values cannot forge structure: in JSON each key appears once (alog's own `ts`,
//! `level`, `msg` and `source` win; a caller's field of the same name becomes `fields.NAME`,
//! a repeated key `NAME#2`, `NAME#3`...); in text a key is escaped so that it holds no space,
//! `=`, `"` or `\\`; and both escape every control character (C0, DEL, C1), the Unicode line
//! separators and the bidirectional controls that could make a line display as another.

use std::fmt::Write as _;

use crate::front::config::{Format, Style};
use crate::front::level::Level;
use crate::front::record::{Decoded, Field, Source, Value};
use crate::front::time::NO_TIMESTAMP;
use crate::front::time::{TsPrinter, PAIRS};

/// A record as the formatter sees it.
#[derive(Clone, Debug)]
pub struct RecordRef<'a> {
    pub ts: i64,
    pub level: Level,
    /// The calling thread's id (0: not captured; see `front::thread`).
    pub tid: u32,
    pub msg: &'a [u8],
    pub source: Option<Source<'a>>,
    /// `source` as text and JSON print it, rendered once per call site; `None`: rendered from
    /// `source` for each line.
    pub source_cached: Option<&'a CachedSource>,
    pub fields: Option<Decoded<'a>>,
}

impl<'a> RecordRef<'a> {
    pub(crate) fn each_field(&self, mut f: impl FnMut(Field<'a>)) {
        if let Some(d) = &self.fields {
            for field in d.fields().flatten() {
                f(field);
            }
        }
    }
}

/// A source location rendered once (per call site) the way every line prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CachedSource {
    /// As `{fields}` prints it in text: ` source=FILE:LINE func=FUNC` (`text_source`).
    pub text: Vec<u8>,
    /// As JSON lines print it: `,"source":{"file":...,"line":N,"function":...}`
    /// (`json_source`).
    pub json: Vec<u8>,
}

impl CachedSource {
    pub fn new(s: &Source<'_>) -> CachedSource {
        let mut c = CachedSource::default();
        text_source(s, &mut c.text);
        json_source(s, &mut c.json);
        c
    }
}

use crate::front::pattern::Piece;
pub use crate::front::pattern::{Pattern, DEFAULT_PATTERN};

/// Appends timestamp `ts` (ns since the epoch) formatted by strftime's `fmt`, in UTC or local
/// time; `%f` is the microseconds (6 digits). A format longer than 255 bytes once expanded
/// appends nothing.
fn strftime(ts: i64, fmt: &str, local: bool, out: &mut Vec<u8>) {
    let secs = ts.div_euclid(1_000_000_000);
    let micros = ts.rem_euclid(1_000_000_000) / 1000;
    // %f first (strftime does not know it); %% stays for strftime.
    let mut f = String::with_capacity(fmt.len() + 8);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('%', Some('f')) => {
                chars.next();
                let _ = write!(f, "{micros:06}");
            }
            ('%', Some('%')) => {
                chars.next();
                f.push_str("%%");
            }
            ('\0', _) => {}
            (c, _) => f.push(c),
        }
    }
    f.push('\0');
    // time_t is 64-bit on every target alog builds for.
    let t: libc::time_t = secs;
    // SAFETY: plain C calls on owned, initialised values; `tm` is written by the *_r call
    // before it is read; strftime writes at most `buf.len()` bytes and the format ends in NUL.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let ok = if local {
            crate::front::time::read_time_zone();
            !libc::localtime_r(&t, &mut tm).is_null()
        } else {
            !libc::gmtime_r(&t, &mut tm).is_null()
        };
        if !ok {
            return;
        }
        let mut buf = [0u8; 256];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), f.as_ptr().cast(), &tm);
        text_escape(&buf[..n], out);
    }
}

/// Renders records in one style; owns the timestamp cache.
#[derive(Debug)]
pub struct Formatter {
    style: Style,
    pattern: Pattern,
    ts: TsPrinter,
    /// JSON: alog's own keys as rendered (`"ts"`, `"level"`, `"msg"`).
    reserved: [Vec<u8>; 3],
    /// JSON: the [`key_bit`]s of the reserved keys and of `"source"`.
    reserved_bits: u64,
    /// JSON: the text around the timestamp, level and message, rendered once: `{"ts":"`, then
    /// `","level":"` (or `{"level":"` without a timestamp), then `","msg":`.
    heads: [Vec<u8>; 4],
    /// JSON: where the keys of the current line's fields are in the output.
    keys: Vec<(usize, usize)>,
    scratch: Vec<u8>,
}

impl Formatter {
    pub fn new(style: Style) -> Formatter {
        let pattern = Pattern::parse(style.pattern.as_deref().unwrap_or(DEFAULT_PATTERN))
            .expect("patterns are validated when configured");
        let quoted = |k: &str| {
            let mut v = Vec::new();
            json_str(k.as_bytes(), &mut v);
            v
        };
        let k = &style.json_keys;
        let reserved = [quoted(&k.ts), quoted(&k.level), quoted(&k.msg)];
        let reserved_bits = reserved
            .iter()
            .map(|k| key_bit(k))
            .fold(key_bit(b"\"source\""), |a, b| a | b);
        let join = |parts: &[&[u8]]| parts.concat();
        let heads = [
            join(&[b"{", &reserved[0], b":\""]),
            join(&[b"\",", &reserved[1], b":\""]),
            join(&[b"{", &reserved[1], b":\""]),
            join(&[b"\",", &reserved[2], b":"]),
        ];
        let local_time = style.local_time;
        Formatter {
            style,
            pattern,
            ts: TsPrinter::new(local_time),
            reserved,
            reserved_bits,
            heads,
            keys: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn style(&self) -> &Style {
        &self.style
    }

    /// Whether its lines show a record's fields or source location (JSON, rows, OTLP and
    /// RFC 5424 always do; a text pattern with `{fields}`, `{file}`, `{line}` or `{func}`).
    pub fn shows_fields(&self) -> bool {
        let s = &self.style;
        s.format != Format::Text
            || s.otlp
            || s.rfc5424
            || self
                .pattern
                .pieces
                .iter()
                .any(|p| matches!(p, Piece::Fields | Piece::File | Piece::Line | Piece::Func))
    }

    /// Appends the record's line, without the newline.
    pub fn format(&mut self, r: &RecordRef<'_>, out: &mut Vec<u8>) {
        if self.style.otlp {
            let name = level_name_in(&self.style.level_names, r.level);
            let now = crate::front::time::now_ns();
            let (keys, scratch) = (&mut self.keys, &mut self.scratch);
            return crate::render::otlp_json::log_record(r, name, now, out, keys, scratch);
        }
        if self.style.rfc5424 {
            crate::render::sd::msgid_and_sd(r, out, &mut self.scratch);
        }
        match self.style.format {
            Format::Text => self.text(r, out),
            Format::Json => self.json(r, out),
            Format::Row => self.row(r, out),
        }
    }

    /// The record's columns (see [`crate::render::row`]); the fields are one JSON object, in
    /// which a repeated key becomes `NAME#2`, `NAME#3`... as in JSON lines.
    fn row(&mut self, r: &RecordRef<'_>, out: &mut Vec<u8>) {
        crate::render::row::encode_head(r.msg, r.source, out);
        out.push(b'{');
        self.json_fields(r, false, out);
        out.push(b'}');
    }

    /// A text line. The pieces of the default pattern are written here; the others, and the
    /// fields, in functions of their own, which keeps this loop small enough for the
    /// compiler to hold its state in registers.
    fn text(&mut self, r: &RecordRef<'_>, out: &mut Vec<u8>) {
        let nl: &[u8] = if self.style.multiline {
            INDENTED_NEWLINE
        } else {
            ESCAPED_NEWLINE
        };
        // A record without a timestamp also loses the space that separated it.
        let mut after_missing_ts = false;
        for p in &self.pattern.pieces {
            let skip_space = std::mem::take(&mut after_missing_ts);
            match p {
                Piece::Lit(s) if !skip_space => put(out, s.as_bytes()),
                Piece::Ts if r.ts != NO_TIMESTAMP => self.ts.push(r.ts, out),
                Piece::Level if !self.style.color => {
                    put(out, level_name_in(&self.style.level_names, r.level))
                }
                Piece::Msg => escape_text(r.msg, out, nl),
                Piece::Fields => {
                    text_fields(r, self.pattern.shows_source, &mut self.scratch, out, nl)
                }
                _ => after_missing_ts = text_piece(&self.style, p, r, skip_space, out),
            }
        }
    }

    fn json(&mut self, r: &RecordRef<'_>, out: &mut Vec<u8>) {
        let h = &self.heads;
        if r.ts != NO_TIMESTAMP {
            put(out, &h[0]);
            self.ts.push(r.ts, out);
            put(out, &h[1]);
        } else {
            put(out, &h[2]);
        }
        put(out, level_name_in(&self.style.level_names, r.level));
        put(out, &h[3]);
        json_str(r.msg, out);
        if let Some(s) = r.source {
            match r.source_cached {
                Some(c) => out.extend_from_slice(&c.json),
                None => json_source(&s, out),
            }
        }
        self.json_fields(r, true, out);
        out.push(b'}');
    }

    /// The record's fields as JSON members: each after a comma when they follow alog's own
    /// members of a line (`own_keys`), else separated by commas. Each key appears once: a
    /// repeated key becomes `NAME#2`, `NAME#3`...; with `own_keys`, a field named like one of
    /// alog's own members (`ts`, `level`, `msg`, `source`) becomes `fields.NAME`.
    fn json_fields(&mut self, r: &RecordRef<'_>, own_keys: bool, out: &mut Vec<u8>) {
        let reserved = &self.reserved;
        let reserved_bits = self.reserved_bits;
        let keys = &mut self.keys;
        let scratch = &mut self.scratch;
        keys.clear();
        let has_ts = own_keys && r.ts != NO_TIMESTAMP;
        let has_source = own_keys && r.source.is_some();
        let mut first = !own_keys;
        // The key bits of this line's keys so far: a key whose bit is not there is new.
        let mut seen = 0u64;
        r.each_field(|f| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            let start = out.len();
            json_str(f.key, out);
            let mut prefixed = false;
            let mut n = 1u32;
            loop {
                let cur = &out[start..];
                let bit = key_bit(cur);
                let own = bit & reserved_bits != 0
                    && ((has_ts && cur == reserved[0].as_slice())
                        || (own_keys && cur == reserved[1].as_slice())
                        || (own_keys && cur == reserved[2].as_slice())
                        || (has_source && cur == b"\"source\""));
                let repeated = bit & seen != 0 && keys.iter().any(|&(a, b)| &out[a..b] == cur);
                if !own && !repeated {
                    seen |= bit;
                    break;
                }
                scratch.clear();
                if own && !prefixed {
                    prefixed = true;
                } else {
                    n += 1;
                }
                if prefixed {
                    scratch.extend_from_slice(b"fields.");
                }
                scratch.extend_from_slice(f.key);
                if n > 1 {
                    scratch.push(b'#');
                    push_u64(scratch, u64::from(n));
                }
                out.truncate(start);
                json_str(scratch, out);
            }
            keys.push((start, out.len()));
            out.push(b':');
            match f.value {
                Value::Str(b) => json_str(b, out),
                // In valid JSON a CR or LF can only be insignificant whitespace: make it a space.
                Value::Json(b) if json_valid(b) => {
                    out.extend(
                        b.iter()
                            .map(|&c| if c == b'\n' || c == b'\r' { b' ' } else { c }),
                    )
                }
                Value::Json(b) => json_str(b, out),
                other => scalar(other, out, true),
            }
        });
    }
}

/// One of 64 bits standing for a rendered JSON key (quotes included), from its length and
/// first character: two keys with different bits differ, so only keys whose bit is already
/// taken are compared byte by byte.
#[inline(always)]
fn key_bit(quoted: &[u8]) -> u64 {
    let first = quoted.get(1).copied().unwrap_or(0);
    1u64 << ((quoted.len() as u32)
        .wrapping_mul(7)
        .wrapping_add(u32::from(first))
        & 63)
}

/// The printed name of `level` in `names` (one per level 1..=24; empty: the built-in names).
fn level_name_in(names: &[String], level: Level) -> &[u8] {
    match names.get(usize::from(level.number() - 1)) {
        Some(n) => n.as_bytes(),
        None => level.name().as_bytes(),
    }
}

fn push_display(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    struct W<'a>(&'a mut Vec<u8>);
    impl std::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    let _ = write!(W(out), "{v}");
}

/// The ANSI escape that colors a level name on a console, by band: TRACE dim, DEBUG cyan, INFO
/// green, WARN bold yellow, ERROR bold red, FATAL bold white on red.
fn level_color(level: Level) -> &'static [u8] {
    const BANDS: [&[u8]; 6] = [
        b"\x1b[2m",
        b"\x1b[36m",
        b"\x1b[32m",
        b"\x1b[1;33m",
        b"\x1b[1;31m",
        b"\x1b[1;37;41m",
    ];
    BANDS[usize::from((level.number() - 1) / 4)]
}

const COLOR_RESET: &[u8] = b"\x1b[0m";

/// Appends `b` to `out`. The writer appends many short pieces per line (pattern literals, level
/// names, numbers, a format's literal text); up to 16 bytes are copied inline with at most two
/// overlapping loads and stores instead of a call to `memcpy`, which costs more than the copy.
#[inline(always)]
pub(crate) fn put(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    if n > 16 {
        out.extend_from_slice(b);
        return;
    }
    out.reserve(16);
    let len = out.len();
    // SAFETY: `reserve(16)` leaves at least 16 >= n writable bytes after `len`; `b` cannot
    // overlap the spare capacity of `out`, and all n bytes are written before `set_len`.
    unsafe {
        crate::front::copy::copy_short(b.as_ptr(), out.as_mut_ptr().add(len), n);
        out.set_len(len + n);
    }
}

/// The number of decimal digits of `v` (1 to 20): estimated from the bit length (1233/4096
/// is just above log10(2)), then corrected by one comparison.
#[inline(always)]
pub(crate) fn dec_len(v: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut p = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    // `v | 1` has the digit count of `v` (and 0 has one digit).
    let x = v | 1;
    let guess = ((64 - x.leading_zeros() as usize) * 1233) >> 12;
    guess + usize::from(x >= POW10[guess])
}

/// Writes the `dec_len(v)` decimal digits of `v` at `dst`, two at a time from the last.
///
/// # Safety
/// `dst` must be valid for `dec_len(v)` bytes of writes.
#[inline(always)]
pub(crate) unsafe fn write_dec(dst: *mut u8, mut v: u64) {
    let pairs = PAIRS.as_ptr();
    let mut at = dec_len(v);
    // SAFETY: every write is below `at`, which starts at the digit count and reaches 0 with
    // the last digit; `PAIRS` is read at `2 * x` for `x < 100`, within its 200 bytes.
    unsafe {
        while v >= 100 {
            at -= 2;
            std::ptr::copy_nonoverlapping(pairs.add((v % 100) as usize * 2), dst.add(at), 2);
            v /= 100;
        }
        if v >= 10 {
            std::ptr::copy_nonoverlapping(pairs.add(v as usize * 2), dst, 2);
        } else {
            *dst = b'0' + v as u8;
        }
    }
}

/// Writes the decimal digits of `v` at the end of `buf`; returns where they start.
pub(crate) fn dec_digits(v: u64, buf: &mut [u8; 20]) -> usize {
    let at = buf.len() - dec_len(v);
    // SAFETY: `buf[at..]` holds exactly the digit count of `v`.
    unsafe { write_dec(buf.as_mut_ptr().add(at), v) };
    at
}

/// Appends the decimal digits of `v` (the writer prints many integers: no `fmt` machinery),
/// written in place.
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64) {
    let n = dec_len(v);
    out.reserve(20);
    let len = out.len();
    // SAFETY: `reserve(20)` leaves at least 20 >= n writable bytes after `len`, all n of
    // which `write_dec` writes before `set_len`.
    unsafe {
        write_dec(out.as_mut_ptr().add(len), v);
        out.set_len(len + n);
    }
}

/// Numbers and booleans; non-finite floats are strings in JSON (`"NaN"`, `"+Inf"`, `"-Inf"`).
pub(crate) fn scalar(v: Value<'_>, out: &mut Vec<u8>, json: bool) {
    match v {
        Value::Int(i) => {
            if i < 0 {
                out.push(b'-');
            }
            push_u64(out, i.unsigned_abs())
        }
        Value::Uint(u) => push_u64(out, u),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Float(f) if f.is_finite() => push_display(out, format_args!("{f:?}")),
        Value::Float(f) => {
            let s: &[u8] = if f.is_nan() {
                b"NaN"
            } else if f > 0.0 {
                b"+Inf"
            } else {
                b"-Inf"
            };
            if json {
                out.push(b'"');
                out.extend_from_slice(s);
                out.push(b'"');
            } else {
                out.extend_from_slice(s);
            }
        }
        Value::Str(b) | Value::Json(b) => text_escape(b, out),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_byte(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 15)],
    ]);
}

/// Characters that some readers treat as line breaks although they are not control bytes.
fn breaks_lines(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// What a newline becomes with `multiline=indent`: the line goes on after four spaces, so a
/// continuation line can never be taken for a record (records start with their timestamp or
/// the pattern's first piece, never with a space).
const INDENTED_NEWLINE: &[u8] = b"\n    ";
/// What a newline becomes otherwise.
const ESCAPED_NEWLINE: &[u8] = b"\\n";
/// The bidirectional formatting characters: they reorder how the rest of a line displays
/// (CVE-2021-42574, "Trojan Source"), so a viewer would show text other than what is there.
fn reorders(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `f` holds for every byte: the fast-path test of the escapers. Sixteen bytes at a
/// time without an early exit, so that the compiler turns each block into vector compares;
/// the last block overlaps the one before it rather than leaving a remainder byte by byte,
/// and a shorter string is one block padded with `a` (which `f` must accept).
#[inline(always)]
fn all_bytes(bytes: &[u8], f: impl Fn(u8) -> bool + Copy) -> bool {
    let block = |b: &[u8; 16]| b.iter().fold(0u8, |bad, &c| bad | u8::from(!f(c)));
    let n = bytes.len();
    if n < 16 {
        // One block, padded with a byte every caller's test accepts.
        debug_assert!(f(b'a'));
        let mut b = [b'a'; 16];
        // SAFETY: `n < 16` bytes from `bytes` into the 16-byte array; distinct objects.
        unsafe { crate::front::copy::copy_short(bytes.as_ptr(), b.as_mut_ptr(), n) };
        return block(&b) == 0;
    }
    let mut bad = 0u8;
    for b in bytes.chunks_exact(16) {
        bad |= block(b.try_into().expect("16 bytes"));
    }
    bad |= block(bytes[n - 16..].try_into().expect("16 bytes"));
    bad == 0
}

/// Printable ASCII (0x20 to 0x7e) in one compare.
#[inline(always)]
fn printable(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5f
}

/// Characters escaped in text output: controls (C0, DEL, C1), line separators, bidi controls.
fn escaped_in_text(c: char) -> bool {
    c.is_control() || breaks_lines(c) || reorders(c)
}

/// A text field key: bare when it is a plain token (no space, `=`, `"`, `\\`, control or
/// invisible reordering character), else those bytes become `\xNN` (`\u{NNNN}` for a
/// non-ASCII character), so that a logfmt reader splits the pair where alog did; an empty key
/// is `""`.
pub fn text_key(bytes: &[u8], out: &mut Vec<u8>) {
    let plain = |b: u8| (b > b' ') & (b < 0x7f) & (b != b'=') & (b != b'"') & (b != b'\\');
    if !bytes.is_empty() && all_bytes(bytes, plain) {
        put(out, bytes);
        return;
    }
    if bytes.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii() && plain(c as u8) {
                out.push(c as u8);
            } else if c.is_ascii() {
                hex_byte(c as u8, out);
            } else if escaped_in_text(c) || c.is_whitespace() {
                push_display(out, format_args!("\\u{{{:04x}}}", c as u32));
            } else {
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
        }
        for &b in chunk.invalid() {
            hex_byte(b, out);
        }
    }
}

/// Text escaping: valid UTF-8 without control characters passes through; `\n` `\r` `\t`
/// stay readable, other ASCII control bytes and invalid UTF-8 bytes become `\xNN`, and
/// Unicode controls (C1), line separators and bidi controls become `\u{NNNN}`.
pub fn text_escape(bytes: &[u8], out: &mut Vec<u8>) {
    escape_text(bytes, out, ESCAPED_NEWLINE)
}

/// [`text_escape`], with `nl` for each newline.
fn escape_text(bytes: &[u8], out: &mut Vec<u8>, nl: &[u8]) {
    // Fast path: printable ASCII needs no escaping.
    if all_bytes(bytes, printable) {
        out.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            if escaped_in_text(c) {
                out.extend_from_slice(&valid.as_bytes()[start..i]);
                match c {
                    '\n' => out.extend_from_slice(nl),
                    '\r' => out.extend_from_slice(b"\\r"),
                    '\t' => out.extend_from_slice(b"\\t"),
                    c if c.is_ascii() => hex_byte(c as u8, out),
                    c => push_display(out, format_args!("\\u{{{:04x}}}", c as u32)),
                }
                start = i + c.len_utf8();
            }
        }
        out.extend_from_slice(&valid.as_bytes()[start..]);
        for &b in chunk.invalid() {
            hex_byte(b, out);
        }
    }
}

/// A text pattern's pieces other than those [`Formatter::text`] writes itself; returns true
/// for a timestamp piece of a record without one (the space after it is then left out).
#[inline(never)]
fn text_piece(
    style: &Style,
    p: &Piece,
    r: &RecordRef<'_>,
    skip_space: bool,
    out: &mut Vec<u8>,
) -> bool {
    match p {
        Piece::Lit(s) if skip_space => put(out, s.strip_prefix(' ').unwrap_or(s).as_bytes()),
        Piece::Lit(s) => put(out, s.as_bytes()),
        Piece::Ts | Piece::TsFormat { .. } if r.ts == NO_TIMESTAMP => return true,
        Piece::Ts => unreachable!("written by Formatter::text"),
        Piece::TsFormat { fmt, local } => strftime(r.ts, fmt, *local, out),
        Piece::Pid => push_u64(out, u64::from(std::process::id())),
        Piece::Thread => push_u64(out, u64::from(r.tid)),
        Piece::ThreadName => crate::front::thread::with_name(r.tid, |n| match n {
            Some(n) if !n.is_empty() => text_escape(n.as_bytes(), out),
            _ => push_u64(out, u64::from(r.tid)),
        }),
        Piece::Logger => text_escape(style.logger.as_bytes(), out),
        Piece::Level => {
            let name = level_name_in(&style.level_names, r.level);
            if style.color {
                put(out, level_color(r.level));
                put(out, name);
                put(out, COLOR_RESET);
            } else {
                put(out, name);
            }
        }
        Piece::File => text_escape(r.source.map_or(&b""[..], |s| s.file), out),
        Piece::Line => {
            if let Some(s) = r.source {
                push_u64(out, u64::from(s.line));
            }
        }
        Piece::Func => text_escape(r.source.map_or(&b""[..], |s| s.func), out),
        Piece::Msg | Piece::Fields => unreachable!("written by Formatter::text"),
    }
    false
}

/// The `{fields}` piece of a text line: the source location (unless the pattern prints it
/// itself) and ` key=value` per field.
#[inline(never)]
fn text_fields(
    r: &RecordRef<'_>,
    shows_source: bool,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
    nl: &[u8],
) {
    if let (Some(s), false) = (r.source, shows_source) {
        match r.source_cached {
            Some(c) => put(out, &c.text),
            None => text_source(&s, out),
        }
    }
    // alog's own `source` and `func` pairs win, as in JSON.
    let own = r.source.is_some() && !shows_source;
    r.each_field(|f| {
        let key = if own && (f.key == b"source" || f.key == b"func") {
            scratch.clear();
            scratch.extend_from_slice(b"fields.");
            scratch.extend_from_slice(f.key);
            &scratch[..]
        } else {
            f.key
        };
        match f.value {
            Value::Json(b) if json_valid(b) => text_json(key, b, out),
            value => {
                out.push(b' ');
                text_key(key, out);
                out.push(b'=');
                match value {
                    Value::Str(b) | Value::Json(b) => text_value(b, out, nl),
                    other => scalar(other, out, false),
                }
            }
        }
    });
}

/// A source location as `{fields}` prints it in text: ` source=FILE:LINE func=FUNC` (no
/// `func` pair when it is empty), each value as [`text_value`] writes it.
pub(crate) fn text_source(s: &Source<'_>, out: &mut Vec<u8>) {
    put(out, b" source=");
    text_value(s.file, out, ESCAPED_NEWLINE);
    out.push(b':');
    push_u64(out, u64::from(s.line));
    if !s.func.is_empty() {
        put(out, b" func=");
        text_value(s.func, out, ESCAPED_NEWLINE);
    }
}

/// A source location as JSON lines print it, after alog's own members:
/// `,"source":{"file":...,"line":N,"function":...}` (no `function` member when it is empty).
pub(crate) fn json_source(s: &Source<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"source\":{\"file\":");
    json_str(s.file, out);
    out.extend_from_slice(b",\"line\":");
    push_u64(out, u64::from(s.line));
    if !s.func.is_empty() {
        out.extend_from_slice(b",\"function\":");
        json_str(s.func, out);
    }
    out.push(b'}');
}

/// A text field value: bare when it is a plain token, else double-quoted with `"` and `\`
/// escaped, so that `key=value` pairs always split unambiguously.
fn text_value(bytes: &[u8], out: &mut Vec<u8>, nl: &[u8]) {
    // Fast path: a printable ASCII token.
    let token = |b: u8| (b > b' ') & (b < 0x7f) & (b != b'"') & (b != b'=') & (b != b'\\');
    if !bytes.is_empty() && all_bytes(bytes, token) {
        put(out, bytes);
        return;
    }
    let plain = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b > b' ' && b != b'"' && b != b'=' && b != b'\\' && b != 0x7f);
    if plain && std::str::from_utf8(bytes).is_ok_and(|t| !t.chars().any(escaped_in_text)) {
        put(out, bytes);
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            escape_text(&bytes[start..i], out, nl);
            out.push(b'\\');
            out.push(b);
            start = i + 1;
        }
    }
    escape_text(&bytes[start..], out, nl);
    out.push(b'"');
}

/// A JSON string literal; invalid UTF-8 becomes U+FFFD, and the C1 controls (U+0080-009F),
/// U+2028 and U+2029 (so that no line-splitting reader can cut a record in two) and the bidi
/// controls (so that no viewer shows the line reordered) are escaped as `\uNNNN`.
pub fn json_str(bytes: &[u8], out: &mut Vec<u8>) {
    // Fast path: printable ASCII without quotes or backslashes is copied as is.
    let plain = |b: u8| printable(b) & (b != b'"') & (b != b'\\');
    if all_bytes(bytes, plain) {
        let n = bytes.len();
        out.reserve(n + 2);
        let len = out.len();
        // SAFETY: `reserve` left `n + 2` writable bytes after `len`, all written (quote,
        // bytes, quote) before `set_len`; `bytes` cannot overlap the spare capacity of `out`.
        unsafe {
            let dst = out.as_mut_ptr().add(len);
            *dst = b'"';
            crate::front::copy::copy_short(bytes.as_ptr(), dst.add(1), n);
            *dst.add(n + 1) = b'"';
            out.set_len(len + n + 2);
        }
        return;
    }
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            let esc: &[u8] = match c {
                '"' => b"\\\"",
                '\\' => b"\\\\",
                '\n' => ESCAPED_NEWLINE,
                '\r' => b"\\r",
                '\t' => b"\\t",
                '\u{8}' => b"\\b",
                '\u{c}' => b"\\f",
                '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => b"",
                c if reorders(c) => b"",
                _ => continue,
            };
            out.extend_from_slice(&valid.as_bytes()[start..i]);
            if esc.is_empty() {
                push_display(out, format_args!("\\u{:04x}", c as u32));
            } else {
                out.extend_from_slice(esc);
            }
            start = i + c.len_utf8();
        }
        out.extend_from_slice(&valid.as_bytes()[start..]);
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

/// A JSON field in a text line. An object prints one ` key.member=value` pair per member, nested
/// objects flattened the same way and an empty one printing nothing, as `log/slog`'s
/// TextHandler prints groups; strings print unescaped from JSON and then as text values;
/// numbers, `true`, `false`, `null` and arrays print as their JSON text. `json` is valid JSON.
fn text_json(key: &[u8], json: &[u8], out: &mut Vec<u8>) {
    let mut walk = JsonCheck { b: json, i: 0 };
    let mut path = key.to_vec();
    walk.ws();
    walk.flatten(&mut path, out);
}

/// Walking JSON already checked by [`json_valid`]; on anything else it stops at the end of the
/// input rather than loop or panic.
impl JsonCheck<'_> {
    /// The byte at the cursor, 0 past the end.
    fn byte(&self) -> u8 {
        self.peek().unwrap_or(0)
    }
    fn flatten(&mut self, path: &mut Vec<u8>, out: &mut Vec<u8>) {
        let leaf = |path: &[u8], value: &[u8], out: &mut Vec<u8>| {
            out.push(b' ');
            text_key(path, out);
            out.push(b'=');
            text_value(value, out, ESCAPED_NEWLINE);
        };
        match self.byte() {
            b'{' => {
                self.i += 1;
                self.ws();
                while self.byte() == b'"' {
                    let parent = path.len();
                    path.push(b'.');
                    self.string_into(path);
                    self.ws();
                    self.i += 1; // ':'
                    self.ws();
                    self.flatten(path, out);
                    path.truncate(parent);
                    self.ws();
                    if self.byte() == b',' {
                        self.i += 1;
                        self.ws();
                    }
                }
                self.i += 1; // '}'
            }
            b'"' => {
                let mut text = Vec::new();
                self.string_into(&mut text);
                leaf(path, &text, out);
            }
            _ => {
                let start = self.i;
                self.skip();
                leaf(path, &self.b[start..self.i], out);
            }
        }
    }
    /// Moves past one value of any kind.
    fn skip(&mut self) {
        match self.byte() {
            open @ (b'[' | b'{') => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.i += 1;
                self.ws();
                while self.i < self.b.len() && self.byte() != close {
                    self.skip(); // an element, or a member's key
                    self.ws();
                    if self.byte() == b':' {
                        self.i += 1;
                        self.ws();
                        self.skip();
                        self.ws();
                    }
                    if self.byte() == b',' {
                        self.i += 1;
                        self.ws();
                    }
                }
                self.i += 1;
            }
            b'"' => {
                self.i += 1;
                loop {
                    match self.byte() {
                        b'"' => break,
                        _ if self.i >= self.b.len() => break,
                        b'\\' => self.i += 2,
                        _ => self.i += 1,
                    }
                }
                self.i += 1;
            }
            _ => {
                while !matches!(
                    self.byte(),
                    b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | 0
                ) {
                    self.i += 1;
                }
            }
        }
    }
    /// Appends the text of the string at the cursor, escapes decoded; a lone surrogate becomes
    /// U+FFFD.
    fn string_into(&mut self, out: &mut Vec<u8>) {
        self.i += 1; // opening quote
        while self.i < self.b.len() {
            let c = self.byte();
            self.i += 1;
            match c {
                b'"' => return,
                b'\\' => {
                    let e = self.byte();
                    self.i += 1;
                    let byte = match e {
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let ch = self.unicode_escape();
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        other => other, // '"', '\\', '/'
                    };
                    out.push(byte);
                }
                c => out.push(c),
            }
        }
    }
    /// The character of a `\uXXXX` escape (cursor after the `u`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> char {
        let hex = |w: &mut Self| -> u32 {
            let digits = w.b.get(w.i..w.i + 4).unwrap_or_default();
            w.i += 4;
            digits
                .iter()
                .fold(0, |v, d| v * 16 + (*d as char).to_digit(16).unwrap_or(0))
        };
        let hi = hex(self);
        if (0xd800..0xdc00).contains(&hi)
            && self.b.get(self.i..).is_some_and(|r| r.starts_with(b"\\u"))
        {
            let save = self.i;
            self.i += 2;
            let lo = hex(self);
            if (0xdc00..0xe000).contains(&lo) {
                return char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                    .unwrap_or('\u{fffd}');
            }
            self.i = save;
        }
        char::from_u32(hi).unwrap_or('\u{fffd}')
    }
}

/// Whether `b` is exactly one JSON value (RFC 8259), nesting at most 128 deep.
pub fn json_valid(b: &[u8]) -> bool {
    let mut p = JsonCheck { b, i: 0 };
    p.ws();
    p.value(0) && {
        p.ws();
        p.i == b.len()
    }
}

struct JsonCheck<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonCheck<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn lit(&mut self, s: &[u8]) -> bool {
        if self.b[self.i..].starts_with(s) {
            self.i += s.len();
            true
        } else {
            false
        }
    }
    fn digits(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i > start
    }
    fn value(&mut self, depth: u32) -> bool {
        if depth > 128 {
            return false;
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.eat(b'}') {
                    return true;
                }
                loop {
                    self.ws();
                    if !self.string() {
                        return false;
                    }
                    self.ws();
                    if !self.eat(b':') {
                        return false;
                    }
                    self.ws();
                    if !self.value(depth + 1) {
                        return false;
                    }
                    self.ws();
                    if self.eat(b'}') {
                        return true;
                    }
                    if !self.eat(b',') {
                        return false;
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.eat(b']') {
                    return true;
                }
                loop {
                    self.ws();
                    if !self.value(depth + 1) {
                        return false;
                    }
                    self.ws();
                    if self.eat(b']') {
                        return true;
                    }
                    if !self.eat(b',') {
                        return false;
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b't') => self.lit(b"true"),
            Some(b'f') => self.lit(b"false"),
            Some(b'n') => self.lit(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }
    fn number(&mut self) -> bool {
        self.eat(b'-');
        if self.eat(b'0') {
        } else if !self.digits() {
            return false;
        }
        if self.eat(b'.') && !self.digits() {
            return false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !self.digits() {
                return false;
            }
        }
        true
    }
    fn string(&mut self) -> bool {
        if !self.eat(b'"') {
            return false;
        }
        let start = self.i;
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    let ok = std::str::from_utf8(&self.b[start..self.i]).is_ok();
                    self.i += 1;
                    return ok;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !matches!(self.peek(), Some(c) if c.is_ascii_hexdigit()) {
                                    return false;
                                }
                                self.i += 1;
                            }
                        }
                        _ => return false,
                    }
                }
                Some(0..=0x1f) => return false,
                Some(_) => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_appends_like_extend_from_slice() {
        let src: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
        for n in 0..=40 {
            for from in [0, 1, 7] {
                // Start from a full vector too, so that `put` has to grow it.
                for prefix in [0, 5, 64] {
                    let mut got = vec![9u8; prefix];
                    got.shrink_to_fit();
                    let mut want = got.clone();
                    put(&mut got, &src[from..from + n]);
                    want.extend_from_slice(&src[from..from + n]);
                    assert_eq!(got, want, "n {n} from {from} prefix {prefix}");
                }
            }
        }
    }

    #[test]
    fn all_bytes_finds_a_bad_byte_at_every_position() {
        for n in 0..70 {
            let clean = vec![b'a'; n];
            assert!(all_bytes(&clean, printable), "length {n}");
            for at in 0..n {
                for bad in [b'\n', 0x7f, 0x80, 0x1f, 0xff] {
                    let mut v = clean.clone();
                    v[at] = bad;
                    assert!(!all_bytes(&v, printable), "length {n}, {bad:#x} at {at}");
                }
            }
        }
        assert!(all_bytes(b" ~", printable) && !all_bytes(b" ~\x7f", printable));
    }

    #[test]
    fn decimal_digits_match_display() {
        let mut v = vec![
            0u64,
            1,
            9,
            10,
            11,
            99,
            100,
            101,
            999,
            1000,
            u64::MAX,
            u64::MAX - 1,
        ];
        v.extend((0..64).map(|b| 1u64 << b));
        v.extend((1..20).map(|e| 10u64.pow(e) - 1));
        for n in v {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }
    use crate::front::config::JsonKeys;
    use crate::front::record::{encode, encoded_len};

    fn style(format: Format, pattern: Option<&str>) -> Style {
        Style {
            format,
            pattern: pattern.map(String::from),
            json_keys: JsonKeys::default(),
            color: false,
            multiline: false,
            level_names: Vec::new(),
            rfc5424: false,
            otlp: false,
            local_time: false,
            logger: String::new(),
        }
    }

    fn render(
        format: Format,
        pattern: Option<&str>,
        msg: &[u8],
        fields: &[Field<'_>],
        src: Option<Source<'_>>,
    ) -> String {
        let mut buf = vec![0; encoded_len(msg, fields, src.as_ref())];
        encode(&mut buf, msg, fields, src.as_ref());
        let d = Decoded::parse(&buf).unwrap();
        let r = RecordRef {
            ts: 1_700_000_000_123_456_000,
            level: Level::INFO,
            tid: 0,
            msg: d.msg,
            source: d.source,
            source_cached: None,
            fields: Some(d.clone()),
        };
        let mut out = Vec::new();
        Formatter::new(style(format, pattern)).format(&r, &mut out);
        // A call site's location rendered once (`Site::source_cached`) prints the same line.
        let cached = r.source.as_ref().map(CachedSource::new).unwrap_or_default();
        let with_cache = RecordRef {
            source_cached: Some(&cached),
            ..r
        };
        let mut again = Vec::new();
        Formatter::new(style(format, pattern)).format(&with_cache, &mut again);
        assert_eq!(
            again, out,
            "the site's cached location prints the same line"
        );
        String::from_utf8(out).unwrap()
    }

    /// Every piece of a text pattern, with a timestamp and without one (the piece and the
    /// space after it are left out), plain and with the level colored.
    #[test]
    fn every_text_piece_prints_with_and_without_a_timestamp() {
        let src = Source {
            file: b"a.c",
            line: 7,
            func: b"main",
        };
        let line = |pattern: &str, ts: i64, color: bool| {
            let mut buf = vec![0; encoded_len(b"hi", &[], Some(&src))];
            encode(&mut buf, b"hi", &[], Some(&src));
            let d = Decoded::parse(&buf).unwrap();
            let r = RecordRef {
                ts,
                level: Level::WARN,
                tid: 42,
                msg: d.msg,
                source: d.source,
                source_cached: None,
                fields: Some(d.clone()),
            };
            let mut s = style(Format::Text, Some(pattern));
            s.color = color;
            s.logger = "web".into();
            let mut out = Vec::new();
            Formatter::new(s).format(&r, &mut out);
            String::from_utf8(out).unwrap()
        };
        let ts = 1_700_000_000_123_456_000;
        let pid = std::process::id();
        let all =
            "{ts} {ts:%H:%M} {pid} {thread} {logger} {level} {file}:{line} {func} {msg}{fields}";
        assert_eq!(
            line(all, ts, false),
            format!("2023-11-14T22:13:20.123456Z 22:13 {pid} 42 web WARN a.c:7 main hi")
        );
        assert_eq!(
            line(all, NO_TIMESTAMP, false),
            format!("{pid} 42 web WARN a.c:7 main hi")
        );
        assert_eq!(
            line("{ts} {level} {msg}{fields}", NO_TIMESTAMP, true),
            "\x1b[1;33mWARN\x1b[0m hi source=a.c:7 func=main"
        );
        assert_eq!(
            line("{level} {msg}{fields}", ts, false),
            "WARN hi source=a.c:7 func=main"
        );
    }

    #[test]
    fn text_values_are_bare_tokens_or_quoted() {
        for (value, want) in [
            (&b"ann"[..], "ann"),
            (b"src/a-1.c:7", "src/a-1.c:7"),
            (b"", "\"\""),
            (b"a b", "\"a b\""),
            (b"k=v", "\"k=v\""),
            (b"say \"hi\"", "\"say \\\"hi\\\"\""),
            (b"back\\slash", "\"back\\\\slash\""),
            (b"tab\tnl\n", "\"tab\\tnl\\n\""),
            (b"del\x7f", "\"del\\x7f\""),
            ("caf\u{e9}".as_bytes(), "caf\u{e9}"),
            (b"bad\xff", "\"bad\\xff\""),
        ] {
            let mut out = Vec::new();
            text_value(value, &mut out, ESCAPED_NEWLINE);
            assert_eq!(String::from_utf8_lossy(&out), want, "{value:?}");
        }
    }

    #[test]
    fn text_line() {
        let fields = [
            Field::new("user", "ann"),
            Field::new("n", 3i64),
            Field::new("q", "a b"),
            Field::new("ok", true),
        ];
        assert_eq!(
            render(Format::Text, None, b"logged in", &fields, None),
            "2023-11-14T22:13:20.123456Z INFO logged in user=ann n=3 q=\"a b\" ok=true"
        );
    }

    #[test]
    fn text_escapes_cannot_forge_lines() {
        let line = render(
            Format::Text,
            None,
            b"a\nb\r\tc\x00d\xffe\\",
            &[Field::new("k", "x\ny\"z")],
            None,
        );
        assert_eq!(
            line,
            "2023-11-14T22:13:20.123456Z INFO a\\nb\\r\\tc\\x00d\\xffe\\ k=\"x\\ny\\\"z\""
        );
    }

    #[test]
    fn values_cannot_forge_keys_or_hide_text() {
        let fields = [
            Field::new("a=b c", "v"),
            Field::new("q\"k\\", "\u{202e}gnp.exe"),
            Field::new("", "e"),
            Field::new("x\u{85}y\u{2066}", "c1\u{9b}31m"),
            Field::new("ok.key-1", "bare\u{a0}"),
        ];
        let line = render(
            Format::Text,
            Some("{msg}{fields}"),
            "m\u{202e}\u{9b}".as_bytes(),
            &fields,
            None,
        );
        assert_eq!(
            line,
            "m\\u{202e}\\u{009b} a\\x3db\\x20c=v q\\x22k\\x5c=\"\\u{202e}gnp.exe\" \"\"=e \
             x\\u{0085}y\\u{2066}=\"c1\\u{009b}31m\" ok.key-1=bare\u{a0}"
        );
        // A logfmt reader splits it where alog did: one pair per field, no forged key.
        let pairs: Vec<&str> = line.split(' ').skip(1).collect();
        assert_eq!(pairs.len(), 5, "{line}");
        // With a source location, alog's `source` and `func` pairs win.
        let src = Some(Source {
            file: b"f.c",
            line: 3,
            func: b"main",
        });
        let fields = [
            Field::new("source", "forged.c:1"),
            Field::new("func", "evil"),
        ];
        assert_eq!(
            render(Format::Text, Some("{msg}{fields}"), b"m", &fields, src),
            "m source=f.c:3 func=main fields.source=forged.c:1 fields.func=evil"
        );
    }

    #[test]
    fn json_has_one_member_per_key_and_alogs_own_win() {
        let fields = [
            Field::new("level", "DEBUG"),
            Field::new("msg", "forged"),
            Field::new("ts", "1999"),
            Field::new("source", "db"),
            Field::new("a", 1i64),
            Field::new("a", 2i64),
            Field::new("a#2", 3i64),
            Field::new("fields.level", 4i64),
            Field::new("c1", "\u{9b}\u{202e}\u{2069}x"),
        ];
        let src = Some(Source {
            file: b"f.c",
            line: 1,
            func: b"",
        });
        let line = render(Format::Json, None, b"real", &fields, src);
        assert_eq!(
            line,
            "{\"ts\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"INFO\",\"msg\":\"real\",\
             \"source\":{\"file\":\"f.c\",\"line\":1},\"fields.level\":\"DEBUG\",\
             \"fields.msg\":\"forged\",\"fields.ts\":\"1999\",\"fields.source\":\"db\",\
             \"a\":1,\"a#2\":2,\"a#2#2\":3,\"fields.level#2\":4,\
             \"c1\":\"\\u009b\\u202e\\u2069x\"}"
        );
        assert!(json_valid(line.as_bytes()));
        // Without a source location, "source" is the caller's.
        let line = render(
            Format::Json,
            Some(""),
            b"m",
            &[Field::new("source", "db")],
            None,
        );
        assert!(line.ends_with(",\"source\":\"db\"}"), "{line}");
    }

    #[test]
    fn text_source_and_pattern() {
        let src = Some(Source {
            file: b"main.c",
            line: 42,
            func: b"main",
        });
        assert_eq!(
            render(Format::Text, None, b"m", &[], src),
            "2023-11-14T22:13:20.123456Z INFO m source=main.c:42 func=main"
        );
        assert_eq!(
            render(
                Format::Text,
                Some("[{level}] {file}:{line} {func}: {msg}{fields} {{x}}"),
                b"m",
                &[Field::new("a", 1i64)],
                src
            ),
            "[INFO] main.c:42 main: m a=1 {x}"
        );
    }

    #[test]
    fn text_flattens_json_objects_like_slog_groups() {
        let json = |key: &'static str, v: &'static str| Field {
            key: key.as_bytes(),
            value: Value::Json(v.as_bytes()),
        };
        let fields = [
            json(
                "req",
                r#" { "method" : "GET", "path":"/a b", "hdr":{"n":-1.5e3,"ok":true,"none":null},
                     "ids":[1, {"x":"]"}], "empty":{}, "q":"say \"hi\"\n",
                     "u":"\u00e9\ud83d\ude00\ud800!", "":1 } "#,
            ),
            json("n", "42"),
            json("arr", "[1,2]"),
            json("nothing", "{}"),
            json("bad", "{oops"),
        ];
        let line = render(Format::Text, Some("{msg}{fields}"), b"m", &fields, None);
        assert_eq!(
            line,
            "m req.method=GET req.path=\"/a b\" req.hdr.n=-1.5e3 req.hdr.ok=true \
             req.hdr.none=null req.ids=\"[1, {\\\"x\\\":\\\"]\\\"}]\" \
             req.q=\"say \\\"hi\\\"\\n\" req.u=\u{e9}\u{1f600}\u{fffd}! req.=1 n=42 arr=[1,2] \
             bad={oops"
        );
    }

    #[test]
    fn json_line_is_valid_and_ordered() {
        let fields = [
            Field::new("s", "q\"uote"),
            Field::new("i", -1i64),
            Field::new("u", 18446744073709551615u64),
            Field::new("f", 0.25f64),
            Field::new("nan", f64::NAN),
            Field::new("b", false),
            Field {
                key: b"g",
                value: Value::Json(b"{\"a\":[1,\r\n{\"b\":null}]}"),
            },
            Field {
                key: b"bad",
                value: Value::Json(b"{oops"),
            },
        ];
        let src = Some(Source {
            file: b"a.c",
            line: 7,
            func: b"",
        });
        let line = render(Format::Json, None, b"hi\n\xff\x00", &fields, src);
        assert_eq!(
            line,
            "{\"ts\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"INFO\",\"msg\":\"hi\\n\u{fffd}\\u0000\",\
             \"source\":{\"file\":\"a.c\",\"line\":7},\"s\":\"q\\\"uote\",\"i\":-1,\"u\":18446744073709551615,\
             \"f\":0.25,\"nan\":\"NaN\",\"b\":false,\"g\":{\"a\":[1,  {\"b\":null}]},\"bad\":\"{oops\"}"
        );
        assert!(json_valid(line.as_bytes()));
    }

    #[test]
    fn multiline_indent_keeps_lines_and_cannot_forge_records() {
        let r = RecordRef {
            ts: 1_700_000_000_123_456_000,
            level: Level::ERROR,
            tid: 0,
            msg: b"failed\n2023-11-14T22:13:20.123456Z INFO forged\r",
            source: None,
            source_cached: None,
            fields: None,
        };
        let mut f = Formatter::new(Style {
            multiline: true,
            ..style(Format::Text, Some("{ts} {level} {msg}"))
        });
        let mut out = Vec::new();
        f.format(&r, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2023-11-14T22:13:20.123456Z ERROR failed\n    2023-11-14T22:13:20.123456Z INFO forged\\r"
        );
        let mut f = Formatter::new(style(Format::Text, Some("{ts} {level} {msg}")));
        let mut out = Vec::new();
        f.format(&r, &mut out);
        assert!(!out.contains(&b'\n'));
    }

    #[test]
    fn configured_level_names_in_text_and_json() {
        let r = RecordRef {
            ts: NO_TIMESTAMP,
            level: Level::WARN,
            tid: 0,
            msg: b"m",
            source: None,
            source_cached: None,
            fields: None,
        };
        let mut names: Vec<String> = (1..=24)
            .map(|n| Level::new(n).unwrap().name().into())
            .collect();
        names[12] = "WARNING".into();
        for (format, want) in [
            (Format::Text, "WARNING m"),
            (Format::Json, "{\"level\":\"WARNING\",\"msg\":\"m\"}"),
        ] {
            let mut f = Formatter::new(Style {
                level_names: names.clone(),
                ..style(format, Some("{level} {msg}"))
            });
            let mut out = Vec::new();
            f.format(&r, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn colored_level_names() {
        let line = |format, level: Level| {
            let s = Style {
                color: true,
                ..style(format, Some("{level} {msg}"))
            };
            let r = RecordRef {
                ts: 0,
                level,
                tid: 0,
                msg: b"m",
                source: None,
                source_cached: None,
                fields: None,
            };
            let mut out = Vec::new();
            Formatter::new(s).format(&r, &mut out);
            String::from_utf8(out).unwrap()
        };
        let text = |n| line(Format::Text, Level::new(n).unwrap());
        assert_eq!(text(1), "\x1b[2mTRACE\x1b[0m m");
        assert_eq!(text(5), "\x1b[36mDEBUG\x1b[0m m");
        assert_eq!(text(9), "\x1b[32mINFO\x1b[0m m");
        assert_eq!(text(12), "\x1b[32mINFO4\x1b[0m m");
        assert_eq!(text(13), "\x1b[1;33mWARN\x1b[0m m");
        assert_eq!(text(17), "\x1b[1;31mERROR\x1b[0m m");
        assert_eq!(text(24), "\x1b[1;37;41mFATAL4\x1b[0m m");
        // JSON is never colored.
        assert!(!line(Format::Json, Level::INFO).contains('\x1b'));
    }

    #[test]
    fn json_keys_are_configurable() {
        let s = Style {
            format: Format::Json,
            pattern: None,
            json_keys: JsonKeys {
                ts: "time".into(),
                level: "severity".into(),
                msg: "message".into(),
            },
            color: false,
            multiline: false,
            level_names: Vec::new(),
            rfc5424: false,
            otlp: false,
            local_time: false,
            logger: String::new(),
        };
        let r = RecordRef {
            ts: 0,
            level: Level::ERROR,
            tid: 0,
            msg: b"x",
            source: None,
            source_cached: None,
            fields: None,
        };
        let mut out = Vec::new();
        Formatter::new(s).format(&r, &mut out);
        assert_eq!(
            out,
            b"{\"time\":\"1970-01-01T00:00:00.000000Z\",\"severity\":\"ERROR\",\"message\":\"x\"}"
        );
    }

    #[test]
    fn records_without_a_timestamp_omit_it() {
        let line = |format, pattern: Option<&str>| {
            let s = Style {
                format,
                pattern: pattern.map(String::from),
                json_keys: JsonKeys::default(),
                color: false,
                multiline: false,
                level_names: Vec::new(),
                rfc5424: false,
                otlp: false,
                local_time: false,
                logger: String::new(),
            };
            let r = RecordRef {
                ts: NO_TIMESTAMP,
                level: Level::WARN,
                tid: 0,
                msg: b"x",
                source: None,
                source_cached: None,
                fields: None,
            };
            let mut out = Vec::new();
            Formatter::new(s).format(&r, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(line(Format::Text, None), "WARN x");
        assert_eq!(
            line(Format::Text, Some("[{ts}] {level}: {msg}")),
            "[] WARN: x"
        );
        assert_eq!(
            line(Format::Json, None),
            "{\"level\":\"WARN\",\"msg\":\"x\"}"
        );
    }

    #[test]
    fn json_validator() {
        for ok in [
            "1",
            "-0.5e+3",
            "\"a\\u00e9\"",
            "[]",
            "{}",
            " {\"a\" : [true,false,null]} ",
            "[[[]]]",
        ] {
            assert!(json_valid(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "01",
            "1.",
            "[1,]",
            "{\"a\"}",
            "\"\\x\"",
            "\"a",
            "tru",
            "1 2",
            "{\"a\":1,}",
            "\"\u{1}\"",
        ] {
            assert!(!json_valid(bad.as_bytes()), "{bad}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(!json_valid(deep.as_bytes()));
    }
}
