//! printf formats, parsed once per call site and rendered on the writer thread.
//!
//! [`parse`] splits a C format string into literal text and conversions, and says which C type
//! each argument is fetched as. [`Format::render`] produces exactly what the C library's `printf`
//! produces for the same arguments: integers, characters and strings are rendered here; floating
//! point numbers and pointers go through the C library's own `snprintf`, one conversion at a
//! time, so that every digit matches. A format with something this module does not handle
//! (`%n`, `%m`, `*` widths, `long double`, wide characters, `'` grouping, positional
//! arguments, more than [`MAX_ARGS`] arguments) is [`Unsupported`]; callers then format on the
//! caller's thread instead, never producing different output.

use std::ffi::CString;

use crate::render::format::{dec_digits, dec_len, push_u64, put, write_dec};

/// Most arguments a deferred call site may take.
pub const MAX_ARGS: usize = 16;

/// The C type an argument is fetched as with `va_arg` (its number is the C ABI's
/// `ALOG_ARG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fetch {
    Int = 1,
    Long = 2,
    LongLong = 3,
    Size = 4,
    IntMax = 5,
    PtrDiff = 6,
    Double = 7,
    Str = 8,
    Ptr = 9,
}

impl Fetch {
    /// How the value travels in a deferred payload.
    pub fn class(self) -> Class {
        match self {
            Fetch::Double => Class::Float,
            Fetch::Str => Class::Str,
            Fetch::Ptr => Class::Ptr,
            _ => Class::Int,
        }
    }
}

/// The representation of an argument in a deferred payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Any integer, sign-extended (or zero-extended) to 64 bits.
    Int,
    Float,
    /// A C string's bytes (or NULL).
    Str,
    Ptr,
}

/// One argument value as captured on the caller's thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    Int(i64),
    Float(f64),
    /// `None` is a NULL `char *`.
    Str(Option<&'a [u8]>),
    Ptr(u64),
}

impl Arg<'_> {
    pub fn class(&self) -> Class {
        match self {
            Arg::Int(_) => Class::Int,
            Arg::Float(_) => Class::Float,
            Arg::Str(_) => Class::Str,
            Arg::Ptr(_) => Class::Ptr,
        }
    }
}

/// Integer length modifiers (they truncate the value before it is printed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    Char,
    Short,
    Int,
    Wide,
}

/// A parsed conversion.
#[derive(Clone, Debug)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    prec: Option<usize>,
    int_width: Width,
    conv: u8,
    /// For `snprintf` conversions: the conversion's own text, NUL-terminated.
    c_spec: Option<CString>,
}

#[derive(Clone, Debug)]
#[repr(u8)] // a plain tag to dispatch on per piece (see `front::pattern::Piece`)
enum Piece {
    /// Literal text: `len` bytes, stored padded with zeros to whole 16-byte blocks so that the
    /// fast render copies it block by block into room reserved past the end.
    Lit {
        text: Box<[u8]>,
        len: usize,
    },
    Conv(Spec),
    /// `%d`, `%i` or `%u` with no width, precision or sign flag (the common case, told apart
    /// once at parse): the sign and the digits.
    Dec(Spec),
}

/// Why a format cannot be deferred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// A format ready to render: its pieces and the fetch type of each argument.
#[derive(Clone, Debug)]
pub struct Format {
    pieces: Vec<Piece>,
    pub fetch: Vec<Fetch>,
    /// When every piece is a literal or a plain `%d`/`%i`/`%u` (the common format): the bytes
    /// the fast render reserves before writing without further checks, the literals' padded
    /// sizes plus a sign and 20 digits per conversion.
    room: Option<usize>,
}

/// Most bytes a plain decimal conversion writes: a sign and the 20 digits of `u64::MAX`.
const DEC_MAX: usize = 21;

fn lit(text: Vec<u8>) -> Piece {
    let len = text.len();
    let mut padded = text;
    padded.resize(len.next_multiple_of(16), 0);
    Piece::Lit {
        text: padded.into_boxed_slice(),
        len,
    }
}

/// Largest width or precision accepted (glibc fails beyond `INT_MAX`; we stop far earlier).
const MAX_FIELD: usize = 1 << 20;

fn number(f: &[u8], i: &mut usize) -> Result<usize, Unsupported> {
    let start = *i;
    let mut n = 0usize;
    while *i < f.len() && f[*i].is_ascii_digit() {
        n = n * 10 + usize::from(f[*i] - b'0');
        if n > MAX_FIELD {
            return Err(Unsupported("width or precision too large".into()));
        }
        *i += 1;
    }
    if *i < f.len() && f[*i] == b'$' && *i > start {
        return Err(Unsupported("positional arguments (%n$)".into()));
    }
    Ok(n)
}

/// Parses a printf format.
pub fn parse(f: &[u8]) -> Result<Format, Unsupported> {
    let mut pieces = Vec::new();
    let mut fetch = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < f.len() {
        if f[i] != b'%' {
            lit.push(f[i]);
            i += 1;
            continue;
        }
        let begin = i;
        i += 1;
        if f.get(i) == Some(&b'%') {
            lit.push(b'%');
            i += 1;
            continue;
        }
        let mut s = Spec {
            minus: false,
            plus: false,
            space: false,
            alt: false,
            zero: false,
            width: 0,
            prec: None,
            int_width: Width::Int,
            conv: 0,
            c_spec: None,
        };
        while let Some(&c) = f.get(i) {
            match c {
                b'-' => s.minus = true,
                b'+' => s.plus = true,
                b' ' => s.space = true,
                b'#' => s.alt = true,
                b'0' => s.zero = true,
                b'\'' | b'I' => return Err(Unsupported("locale flags (' or I)".into())),
                _ => break,
            }
            i += 1;
        }
        if f.get(i) == Some(&b'*') {
            return Err(Unsupported("* width".into()));
        }
        s.width = number(f, &mut i)?;
        if f.get(i) == Some(&b'.') {
            i += 1;
            if f.get(i) == Some(&b'*') {
                return Err(Unsupported("* precision".into()));
            }
            s.prec = Some(number(f, &mut i)?);
        }
        let mut len = "";
        for m in ["hh", "ll", "h", "l", "j", "z", "t", "L", "q", "Z"] {
            if f[i..].starts_with(m.as_bytes()) {
                len = m;
                i += m.len();
                break;
            }
        }
        let Some(&conv) = f.get(i) else {
            // A format that ends inside a conversion ("100%"): the text as written, the way
            // printf implementations that print it do (glibc's printf drops the '%' and fails).
            lit.extend_from_slice(&f[begin..]);
            break;
        };
        i += 1;
        s.conv = conv;
        let unsupported = || Unsupported(format!("%{len}{}", conv as char));
        let k = match conv {
            b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
                s.int_width = match len {
                    "hh" => Width::Char,
                    "h" => Width::Short,
                    "" => Width::Int,
                    _ => Width::Wide,
                };
                match len {
                    "" | "hh" | "h" => Fetch::Int,
                    "l" => Fetch::Long,
                    "ll" => Fetch::LongLong,
                    "z" => Fetch::Size,
                    "j" => Fetch::IntMax,
                    "t" => Fetch::PtrDiff,
                    _ => return Err(unsupported()),
                }
            }
            b'c' if len.is_empty() => Fetch::Int,
            b's' if len.is_empty() => Fetch::Str,
            b'p' if len.is_empty() => Fetch::Ptr,
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' | b'a' | b'A'
                if len.is_empty() || len == "l" =>
            {
                Fetch::Double
            }
            _ => return Err(unsupported()),
        };
        if matches!(k, Fetch::Double | Fetch::Ptr) {
            s.c_spec = Some(CString::new(&f[begin..i]).map_err(|_| unsupported())?);
        }
        if fetch.len() == MAX_ARGS {
            return Err(Unsupported(format!("more than {MAX_ARGS} arguments")));
        }
        fetch.push(k);
        if !lit.is_empty() {
            pieces.push(self::lit(std::mem::take(&mut lit)));
        }
        let plain_dec = matches!(conv, b'd' | b'i' | b'u')
            && s.width == 0
            && s.prec.is_none()
            && !(s.plus || s.space);
        pieces.push(if plain_dec {
            Piece::Dec(s)
        } else {
            Piece::Conv(s)
        });
    }
    if !lit.is_empty() {
        pieces.push(self::lit(lit));
    }
    let room = pieces.iter().try_fold(0usize, |room, p| match p {
        Piece::Lit { text, .. } => Some(room + text.len()),
        Piece::Dec(_) => Some(room + DEC_MAX),
        Piece::Conv(_) => None,
    });
    Ok(Format {
        pieces,
        fetch,
        room,
    })
}

fn pad(out: &mut Vec<u8>, n: usize, c: u8) {
    if n > 0 {
        out.resize(out.len() + n, c);
    }
}

/// Writes `body` (already with sign/prefix and zero padding) into a field of `width`.
fn field(out: &mut Vec<u8>, s: &Spec, body: &[u8]) {
    let fill = s.width.saturating_sub(body.len());
    if !s.minus {
        pad(out, fill, b' ');
    }
    put(out, body);
    if s.minus {
        pad(out, fill, b' ');
    }
}

/// An integer argument's sign and magnitude as the conversion's length modifier reads it.
#[inline(always)]
fn magnitude(s: &Spec, raw: i64) -> (bool, u64) {
    if matches!(s.conv, b'd' | b'i') {
        let v = match s.int_width {
            Width::Char => i64::from(raw as i8),
            Width::Short => i64::from(raw as i16),
            Width::Int => i64::from(raw as i32),
            Width::Wide => raw,
        };
        (v < 0, v.unsigned_abs())
    } else {
        let v = match s.int_width {
            Width::Char => u64::from(raw as u8),
            Width::Short => u64::from(raw as u16),
            Width::Int => u64::from(raw as u32),
            Width::Wide => raw as u64,
        };
        (false, v)
    }
}

/// A `Piece::Dec` conversion: the sign and the digits.
#[inline]
fn dec(out: &mut Vec<u8>, s: &Spec, raw: i64) {
    let (neg, mag) = magnitude(s, raw);
    if neg {
        out.push(b'-');
    }
    push_u64(out, mag);
}

fn int(out: &mut Vec<u8>, s: &Spec, raw: i64) {
    let (neg, mag) = magnitude(s, raw);
    let mut digits = [0u8; 24];
    let mut at = digits.len();
    let mut m = mag;
    // Constant divisors: the compiler turns them into multiplications and shifts.
    match s.conv {
        b'o' => {
            while m > 0 {
                at -= 1;
                digits[at] = b'0' + (m & 7) as u8;
                m >>= 3;
            }
        }
        b'x' | b'X' => {
            let hex = if s.conv == b'X' {
                b"0123456789ABCDEF"
            } else {
                b"0123456789abcdef"
            };
            while m > 0 {
                at -= 1;
                digits[at] = hex[(m & 15) as usize];
                m >>= 4;
            }
        }
        _ if m > 0 => {
            let mut dec = [0u8; 20];
            let from = dec_digits(m, &mut dec);
            at -= dec.len() - from;
            digits[at..].copy_from_slice(&dec[from..]);
        }
        _ => {}
    }
    let mut digits = &digits[at..];
    // Precision 0 prints no digits for 0; otherwise a 0 prints as "0".
    let mut prec = s.prec.unwrap_or(1);
    if mag == 0 && prec > 0 {
        digits = b"0";
    }
    if s.conv == b'o' && s.alt && digits.first() != Some(&b'0') {
        prec = prec.max(digits.len() + 1);
    }
    let mut head: &[u8] = b"";
    if matches!(s.conv, b'd' | b'i') {
        head = if neg {
            b"-"
        } else if s.plus {
            b"+"
        } else if s.space {
            b" "
        } else {
            b""
        };
    } else if s.alt && mag != 0 {
        head = match s.conv {
            b'x' => b"0x",
            b'X' => b"0X",
            _ => b"",
        };
    }
    let mut zeros = prec.saturating_sub(digits.len());
    if s.zero && !s.minus && s.prec.is_none() {
        zeros = zeros.max(s.width.saturating_sub(head.len() + digits.len()));
    }
    let start = out.len();
    let total = head.len() + zeros + digits.len();
    let fill = s.width.saturating_sub(total);
    if !s.minus {
        pad(out, fill, b' ');
    }
    put(out, head);
    pad(out, zeros, b'0');
    put(out, digits);
    if s.minus {
        pad(out, fill, b' ');
    }
    debug_assert!(out.len() - start >= total);
}

fn str_(out: &mut Vec<u8>, s: &Spec, v: Option<&[u8]>) {
    let body: &[u8] = match v {
        Some(b) => &b[..s.prec.map_or(b.len(), |p| p.min(b.len()))],
        // glibc prints "(null)" when the precision leaves room for it, else nothing.
        None if s.prec.map_or(true, |p| p >= 6) => b"(null)",
        None => b"",
    };
    field(out, s, body);
}

/// Runs the C library's `snprintf` for one conversion.
fn c_snprintf(out: &mut Vec<u8>, spec: &CString, arg: Arg<'_>) {
    let mut buf = [0u8; 128];
    let call = |p: *mut libc::c_char, n: usize| -> i32 {
        // SAFETY: `spec` is one NUL-terminated conversion that takes exactly the argument
        // passed, of the type `parse` assigned to it (double for floats, void * for %p); `p`
        // points to `n` writable bytes.
        unsafe {
            match arg {
                Arg::Float(v) => libc::snprintf(p, n, spec.as_ptr(), v),
                Arg::Ptr(v) => libc::snprintf(p, n, spec.as_ptr(), v as usize as *const u8),
                _ => -1,
            }
        }
    };
    let n = call(buf.as_mut_ptr().cast(), buf.len());
    let Ok(n) = usize::try_from(n) else {
        return;
    };
    if n < buf.len() {
        out.extend_from_slice(&buf[..n]);
    } else {
        let at = out.len();
        out.resize(at + n + 1, 0);
        call(out[at..].as_mut_ptr().cast(), n + 1);
        out.truncate(at + n);
    }
}

impl Format {
    /// Whether a `%s` has a precision: printf reads at most that many bytes, so such a string
    /// need not be NUL-terminated. Callers that capture C strings with `strlen` must not defer
    /// these formats (the C ABI formats them on the caller's thread).
    pub fn has_string_precision(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Conv(s) if s.conv == b's' && s.prec.is_some()))
    }

    /// Appends the formatted text; `args` must match [`Format::fetch`] in number and class
    /// (callers check this when they decode a payload).
    pub fn render(&self, args: &[Arg<'_>], out: &mut Vec<u8>) {
        let mut args = args.iter();
        let rest = match self.room {
            Some(room) => {
                let next = || match args.as_slice().first() {
                    Some(&Arg::Int(v)) => {
                        args.next();
                        Some(v)
                    }
                    _ => None,
                };
                self.render_fast(room, next, out)
            }
            None => 0,
        };
        self.render_pieces(rest, args, out);
    }

    /// Whether every conversion is a plain `%d`/`%i`/`%u` (so every argument an integer):
    /// such a format renders straight from its arguments' words ([`Format::render_words`]).
    pub fn integers_only(&self) -> bool {
        self.room.is_some()
    }

    /// Renders a format of [`Format::integers_only`] from its arguments' little-endian words,
    /// one per conversion, without decoding them into values first; false (nothing
    /// rendered) when the words are not one per argument.
    pub fn render_words(&self, words: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(room) = self.room else {
            return false;
        };
        if words.len() != 8 * self.fetch.len() {
            return false;
        }
        let mut words = words.chunks_exact(8);
        let next = || {
            let w = words.next()?;
            Some(i64::from_le_bytes(w.try_into().expect("8 bytes")))
        };
        let done = self.render_fast(room, next, out);
        debug_assert_eq!(done, self.pieces.len(), "one word per conversion");
        true
    }

    /// Renders the pieces of a format of literals and plain decimals into room reserved once:
    /// no capacity check per piece, literals copied in whole 16-byte blocks; `next` gives
    /// each conversion's integer. Returns the index of the first piece it did not render (a
    /// conversion `next` has no integer for), which the general path then takes;
    /// `self.pieces.len()` when done.
    #[inline(always)]
    fn render_fast(
        &self,
        room: usize,
        mut next: impl FnMut() -> Option<i64>,
        out: &mut Vec<u8>,
    ) -> usize {
        out.reserve(room);
        let mut at = out.len();
        let base = out.as_mut_ptr();
        let mut done = self.pieces.len();
        for (i, p) in self.pieces.iter().enumerate() {
            match p {
                Piece::Lit { text, len } => {
                    let mut k = 0;
                    while k < *len {
                        // SAFETY: `k < len <= text.len()`, a multiple of 16, so the block is
                        // inside `text`; `room` covers every literal's padded size and every
                        // conversion's widest output, so the block written at `at + k` (within
                        // `text.len()` of where this literal starts) is inside the reservation.
                        unsafe {
                            base.add(at + k).cast::<[u8; 16]>().write_unaligned(
                                text.as_ptr().add(k).cast::<[u8; 16]>().read_unaligned(),
                            )
                        };
                        k += 16;
                    }
                    at += len;
                }
                Piece::Dec(s) => {
                    let Some(v) = next() else {
                        done = i;
                        break;
                    };
                    let (neg, mag) = magnitude(s, v);
                    // SAFETY: at most DEC_MAX bytes (a sign and 20 digits), which `room`
                    // counts for this conversion.
                    unsafe {
                        if neg {
                            *base.add(at) = b'-';
                            at += 1;
                        }
                        write_dec(base.add(at), mag);
                    }
                    at += dec_len(mag);
                }
                Piece::Conv(_) => unreachable!("a format with `room` has no other conversion"),
            }
        }
        // SAFETY: every byte up to `at` was written above (literal bytes past a literal's
        // `len` are overwritten by what follows or left beyond `at`).
        unsafe { out.set_len(at) };
        done
    }

    /// Renders `self.pieces[from..]` piece by piece.
    fn render_pieces(
        &self,
        from: usize,
        mut args: std::slice::Iter<'_, Arg<'_>>,
        out: &mut Vec<u8>,
    ) {
        for p in &self.pieces[from..] {
            match p {
                Piece::Lit { text, len } => put(out, &text[..*len]),
                Piece::Dec(s) => match args.next() {
                    Some(&Arg::Int(v)) => dec(out, s, v),
                    Some(&a) => conv(out, s, a),
                    None => return,
                },
                Piece::Conv(s) => {
                    let Some(&a) = args.next() else { return };
                    conv(out, s, a);
                }
            }
        }
    }
}

/// Any conversion of one argument.
fn conv(out: &mut Vec<u8>, s: &Spec, a: Arg<'_>) {
    match (s.conv, a) {
        (b'c', Arg::Int(v)) => field(out, s, &[v as u8]),
        (b's', Arg::Str(v)) => str_(out, s, v),
        (_, Arg::Int(v)) => int(out, s, v),
        (_, a) => {
            if let Some(c) = &s.c_spec {
                c_snprintf(out, c, a)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(f: &str, args: &[Arg<'_>]) -> String {
        let fmt = parse(f.as_bytes()).unwrap();
        let mut out = Vec::new();
        fmt.render(args, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers_follow_c_rules() {
        let i = |v: i64| Arg::Int(v);
        assert_eq!(
            show("%d|%5d|%-5d|%05d", &[i(42), i(42), i(42), i(-42)]),
            "42|   42|42   |-0042"
        );
        assert_eq!(
            show("%+d|% d|%.0d|%.3d", &[i(7), i(7), i(0), i(-7)]),
            "+7| 7||-007"
        );
        assert_eq!(
            show("%x|%#x|%#X|%#o|%o", &[i(255), i(255), i(255), i(8), i(0)]),
            "ff|0xff|0XFF|010|0"
        );
        assert_eq!(
            show("%u|%hhd|%hu", &[i(-1), i(300), i(-1)]),
            "4294967295|44|65535"
        );
        assert_eq!(
            show("%ld|%llu", &[i(i64::MIN), i(-1)]),
            "-9223372036854775808|18446744073709551615"
        );
        assert_eq!(show("%08.3d|%#.0o", &[i(5), i(0)]), "     005|0");
        assert_eq!(show("100%% %c!", &[i(65)]), "100% A!");
    }

    #[test]
    fn strings_and_null() {
        let s = |v: &'static str| Arg::Str(Some(v.as_bytes()));
        assert_eq!(
            show(
                "[%s][%6s][%-6s][%.2s]",
                &[s("ab"), s("ab"), s("ab"), s("abc")]
            ),
            "[ab][    ab][ab    ][ab]"
        );
        assert_eq!(
            show(
                "[%s][%.3s][%8s]",
                &[Arg::Str(None), Arg::Str(None), Arg::Str(None)]
            ),
            "[(null)][][  (null)]"
        );
    }

    #[test]
    fn floats_and_pointers_use_the_c_library() {
        let f = |v: f64| Arg::Float(v);
        assert_eq!(
            show(
                "%f %.2f %e %g %G",
                &[f(1.5), f(2.675), f(12345.678), f(0.0001), f(1e20)]
            ),
            "1.500000 2.67 1.234568e+04 0.0001 1E+20"
        );
        assert_eq!(
            show("%a %10.1f %-8.3e|", &[f(1.0), f(-0.0), f(f64::INFINITY)]),
            "0x1p+0       -0.0 inf     |"
        );
        assert_eq!(
            show("%p %p", &[Arg::Ptr(0), Arg::Ptr(0x1234)]),
            "(nil) 0x1234"
        );
    }

    #[test]
    fn fetch_types_follow_length_modifiers() {
        let f = parse(b"%d %hhx %ld %lld %zu %jd %td %f %lf %s %p %c").unwrap();
        use Fetch::*;
        assert_eq!(
            f.fetch,
            [Int, Int, Long, LongLong, Size, IntMax, PtrDiff, Double, Double, Str, Ptr, Int]
        );
    }

    #[test]
    fn a_format_ending_inside_a_conversion_is_text() {
        for (f, want) in [("100%", "100%"), ("abc %5", "abc %5"), ("%d%% %-", "7% %-")] {
            let parsed = parse(f.as_bytes()).unwrap();
            let mut out = Vec::new();
            parsed.render(&[Arg::Int(7)][..parsed.fetch.len()], &mut out);
            assert_eq!(String::from_utf8_lossy(&out), want, "{f}");
        }
    }

    #[test]
    fn unsupported_formats_say_why() {
        for (f, why) in [
            ("%n", "%n"),
            ("%Lf", "%Lf"),
            ("%ls", "%ls"),
            ("%*d", "* width"),
            ("%.*d", "* precision"),
            ("%1$d", "positional arguments (%n$)"),
            ("%'d", "locale flags (' or I)"),
            ("%m", "%m"),
        ] {
            assert_eq!(parse(f.as_bytes()).unwrap_err().0, why, "{f}");
        }
        let many = "%d ".repeat(MAX_ARGS + 1);
        assert_eq!(
            parse(many.as_bytes()).unwrap_err().0,
            "more than 16 arguments"
        );
        assert!(parse("%d ".repeat(MAX_ARGS).as_bytes()).is_ok());
    }

    /// The fast path (literals and plain decimals, written into room reserved once) against
    /// what Rust's own formatting says, for literals of every length around the 16-byte
    /// blocks it copies, values of every width and sign, appended after bytes already there.
    #[test]
    fn literals_and_decimals_render_exactly_at_every_length() {
        let values = [
            0i64,
            7,
            -7,
            99,
            100,
            -12345,
            i64::from(i32::MAX),
            i64::MIN,
            -1,
        ];
        for n in 0..=40 {
            let l: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let f = format!("{l}%d{l}%ld|%u%%{l}");
            let parsed = parse(f.as_bytes()).unwrap();
            assert!(parsed.room.is_some(), "{f} takes the fast path");
            for &v in &values {
                let mut out = b"before:".to_vec();
                parsed.render(&[Arg::Int(v), Arg::Int(v), Arg::Int(v)], &mut out);
                let want = format!("before:{l}{}{l}{v}|{}%{l}", v as i32, v as u32);
                assert_eq!(String::from_utf8(out).unwrap(), want, "{f} with {v}");
            }
        }
    }

    /// A conversion whose argument is missing or not an integer leaves the fast path where it
    /// is, and the general path renders the rest as it always has.
    #[test]
    fn the_fast_path_hands_over_at_an_argument_it_cannot_print() {
        let parsed = parse(b"a=%d, b=%d, c=%d end").unwrap();
        assert!(parsed.room.is_some());
        let show = |args: &[Arg<'_>]| {
            let mut out = Vec::new();
            parsed.render(args, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            show(&[Arg::Int(1), Arg::Int(2), Arg::Int(3)]),
            "a=1, b=2, c=3 end"
        );
        assert_eq!(show(&[Arg::Int(1)]), "a=1, b=");
        assert_eq!(
            show(&[Arg::Int(1), Arg::Float(2.5), Arg::Int(3)]),
            "a=1, b=, c=3 end"
        );
        assert_eq!(show(&[]), "a=");
        assert!(
            parse(b"%5d and %d").unwrap().room.is_none(),
            "a width is the general path's"
        );
    }
}
