//! Records as callers build them, and their compact encoding in the queue.
//!
//! A plain message travels as its bytes. A structured record (fields or a source location)
//! travels as one encoded payload, written straight into queue memory without allocation:
//!
//! ```text
//! u32 msg_len, msg
//! u8 has_source [u32 file_len, file, u32 line, u32 func_len, func]
//! u32 n_fields, n x (u8 kind, u32 key_len, key, value)
//!   value: Str/Json: u32 len, bytes | Int/Uint/Float: 8 bytes LE | Bool: 1 byte
//! ```
//!
//! Decoding checks every length, so a malformed payload yields `None`, never a panic.

use crate::front::copy::copy_short;

/// A typed field value. Strings are bytes: invalid UTF-8 is escaped when formatted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a [u8]),
    Int(i64),
    Uint(u64),
    Float(f64),
    Bool(bool),
    /// Pre-encoded JSON (bindings use it for nested groups). Checked before it is emitted raw;
    /// anything that is not one valid JSON value is written as a string instead.
    Json(&'a [u8]),
}

/// A field value that owns its bytes, for callers that keep values beyond one call (a
/// binding's bound context, a fuzzer's input); [`OwnedValue::as_value`] lends it to a record.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum OwnedValue {
    Str(Vec<u8>),
    Int(i64),
    Uint(u64),
    Float(f64),
    Bool(bool),
    Json(Vec<u8>),
}

impl OwnedValue {
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Str(b) => Value::Str(b),
            OwnedValue::Int(v) => Value::Int(*v),
            OwnedValue::Uint(v) => Value::Uint(*v),
            OwnedValue::Float(v) => Value::Float(*v),
            OwnedValue::Bool(v) => Value::Bool(*v),
            OwnedValue::Json(b) => Value::Json(b),
        }
    }
}

/// One key/value field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field<'a> {
    pub key: &'a [u8],
    pub value: Value<'a>,
}

impl<'a> Field<'a> {
    pub fn new(key: &'a str, value: impl Into<Value<'a>>) -> Field<'a> {
        Field {
            key: key.as_bytes(),
            value: value.into(),
        }
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(s.as_bytes())
    }
}
impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u64> for Value<'_> {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// Where a record was logged from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source<'a> {
    pub file: &'a [u8],
    pub line: u32,
    /// Function or module name; may be empty.
    pub func: &'a [u8],
}

const KIND_STR: u8 = 1;
const KIND_INT: u8 = 2;
const KIND_UINT: u8 = 3;
const KIND_FLOAT: u8 = 4;
const KIND_BOOL: u8 = 5;
const KIND_JSON: u8 = 6;

/// A record's fields wherever the caller keeps them, read in place by the encoder: the C ABI
/// encodes its `alog_field` array straight into the queue through this, without copying it
/// into a `[Field]` first. Encoding reads every field twice, once for its size and once for
/// its bytes. A source whose fields change between the two readings gets a payload the writer
/// rejects (the record is counted as failed), never a panic nor bytes beyond the record.
pub trait FieldSource {
    /// The number of fields.
    fn count(&self) -> usize;
    /// Field `i`, for `i < count()`.
    fn field(&self, i: usize) -> Field<'_>;
    /// The fields' sizes when the source has measured them already (the C ABI does, in the
    /// pass that checks them), so that [`lens`] need not read every field once more; `None`
    /// makes [`lens`] measure. A wrong answer gets a payload the writer rejects.
    #[inline(always)]
    fn measured(&self) -> Option<Measured> {
        None
    }
}

/// What a field's value adds to a record's lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A string or JSON value of this many bytes (carried with its length).
    Bytes(usize),
    /// An integer or a float: 8 bytes.
    Number,
    /// A boolean: 1 byte.
    Bool,
}

impl Value<'_> {
    /// The value's [`Shape`].
    #[inline(always)]
    pub fn shape(&self) -> Shape {
        match self {
            Value::Str(b) | Value::Json(b) => Shape::Bytes(b.len()),
            Value::Int(_) | Value::Uint(_) | Value::Float(_) => Shape::Number,
            Value::Bool(_) => Shape::Bool,
        }
    }
}

/// The fields' share of a record's lengths (see [`lens`]), summed one field at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measured {
    /// The caller's bytes: each key, and each value's bytes (numbers 8, booleans 1).
    given: usize,
    count: usize,
    /// The string and JSON values, which carry a length.
    strings: usize,
}

impl Measured {
    /// Adds a field of a key of `key_len` bytes and a value of shape `value`; saturates rather
    /// than wrap, however long its parts.
    #[inline(always)]
    pub fn add(&mut self, key_len: usize, value: Shape) {
        let bytes = match value {
            Shape::Bytes(n) => {
                self.strings += 1;
                n
            }
            Shape::Number => 8,
            Shape::Bool => 1,
        };
        self.count += 1;
        self.given = self.given.saturating_add(key_len).saturating_add(bytes);
    }
}

impl FieldSource for [Field<'_>] {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn field(&self, i: usize) -> Field<'_> {
        self[i]
    }
}

/// A structured record whose fields stay in the caller's layout (`F`, see [`FieldSource`]),
/// as `Logger::write_fields` takes it. Every borrow is for the call only.
#[derive(Debug)]
pub struct FieldsRecord<'a, F: ?Sized> {
    pub level: crate::Level,
    /// Nanoseconds since the Unix epoch; `None` is "now", `Some(NO_TIMESTAMP)` is "none".
    pub timestamp_ns: Option<i64>,
    pub msg: &'a [u8],
    pub fields: &'a F,
    pub source: Option<Source<'a>>,
}

/// The bytes the caller gave, which `max_message_bytes` limits: the message, each field's key
/// and value (strings and JSON by their bytes, numbers 8, booleans 1) and the source's file
/// and function names. Saturates at `usize::MAX` rather than wrap, however long the parts.
pub fn caller_len(msg: &[u8], fields: &[Field<'_>], source: Option<&Source<'_>>) -> usize {
    lens(msg, fields, source).1
}

/// The number of bytes `encode` writes; saturates at `usize::MAX` (far above any
/// `max_message_bytes`) rather than wrap, however long the parts.
pub fn encoded_len(msg: &[u8], fields: &[Field<'_>], source: Option<&Source<'_>>) -> usize {
    lens(msg, fields, source).0
}

/// [`encoded_len`] and [`caller_len`] of a record, from one reading of its fields. The encoded
/// length is the caller's bytes plus the framing: 9 bytes (message length, source flag, field
/// count), 12 more with a source (two lengths and the line), 5 per field (kind, key length)
/// and 4 more per string or JSON value (its length).
#[inline]
pub fn lens<F: FieldSource + ?Sized>(
    msg: &[u8],
    fields: &F,
    source: Option<&Source<'_>>,
) -> (usize, usize) {
    let mut given = msg.len();
    let mut framing = 4 + 1 + 4usize;
    if let Some(s) = source {
        given = given
            .saturating_add(s.file.len())
            .saturating_add(s.func.len());
        framing += 12;
    }
    let m = fields.measured().unwrap_or_else(|| {
        let mut m = Measured::default();
        for i in 0..fields.count() {
            let f = fields.field(i);
            m.add(f.key.len(), f.value.shape());
        }
        m
    });
    let given = given.saturating_add(m.given);
    let framing = framing
        .saturating_add(m.count.saturating_mul(5))
        .saturating_add(m.strings.saturating_mul(4));
    (given.saturating_add(framing), given)
}

/// Writes into a buffer of the exact encoded length. A part that does not fit (a field source
/// that changed since it was measured) stops the writing; `finish` then spoils the payload.
/// `at <= buf.len()` always holds, so a part fits when its length is at most `buf.len() - at`:
/// one compare per part, and short parts (keys, small strings) copied with two overlapping
/// word moves instead of a call to `memcpy`.
struct Out<'b> {
    buf: &'b mut [u8],
    at: usize,
    spoiled: bool,
}

impl Out<'_> {
    /// Whether `n` more bytes fit; if not, the payload is spoiled and nothing more is written.
    #[inline(always)]
    fn room(&mut self, n: usize) -> bool {
        if n <= self.buf.len() - self.at {
            return true;
        }
        self.spoiled = true;
        self.at = self.buf.len();
        false
    }
    /// # Safety
    /// `room` said yes for these bytes (with the other parts it covered).
    #[inline(always)]
    unsafe fn put_unchecked(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        debug_assert!(n <= self.buf.len() - self.at);
        // SAFETY: `at + n <= buf.len()` (the caller's `room`), so the destination range is
        // inside `buf`; the source cannot overlap the exclusively borrowed `buf`.
        unsafe { copy_short(bytes.as_ptr(), self.buf.as_mut_ptr().add(self.at), n) };
        self.at += n;
    }
    /// A field's kind and key.
    ///
    /// # Safety
    /// `room` said yes for `5 + key.len()` bytes (with the other parts it covered).
    #[inline(always)]
    unsafe fn head(&mut self, kind: u8, key: &[u8]) {
        // SAFETY: the caller's `room` covers these three parts.
        unsafe {
            self.put_unchecked(&[kind]);
            self.put_unchecked(&(key.len() as u32).to_le_bytes());
            self.put_unchecked(key);
        }
    }
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        if self.room(bytes.len()) {
            // SAFETY: room for exactly these bytes.
            unsafe { self.put_unchecked(bytes) };
        }
    }
    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        self.put(&(b.len() as u32).to_le_bytes());
        self.put(b);
    }
    /// A payload not filled exactly gets a message length no payload can hold, so that
    /// decoding rejects it instead of reading what the buffer held before.
    fn finish(self) {
        if self.spoiled || self.at != self.buf.len() {
            let n = self.buf.len().min(4);
            self.buf[..n].fill(0xff);
        }
    }
}

/// Encodes into `out`, which must be exactly `encoded_len(..)` bytes long. Every length must
/// fit in a `u32` (callers bound the total by `max_message_bytes`).
pub fn encode(out: &mut [u8], msg: &[u8], fields: &[Field<'_>], source: Option<&Source<'_>>) {
    encode_from(out, msg, fields, source);
}

/// [`encode`] from any [`FieldSource`]; `out` must be `lens(..).0` bytes long. Never panics:
/// a source whose fields no longer have the measured sizes yields a payload that decoding
/// rejects.
#[inline]
pub fn encode_from<F: FieldSource + ?Sized>(
    out: &mut [u8],
    msg: &[u8],
    fields: &F,
    source: Option<&Source<'_>>,
) {
    let mut o = Out {
        buf: out,
        at: 0,
        spoiled: false,
    };
    o.bytes(msg);
    match source {
        Some(s) => {
            o.put(&[1]);
            o.bytes(s.file);
            o.put(&s.line.to_le_bytes());
            o.bytes(s.func);
        }
        None => o.put(&[0]),
    }
    let n = fields.count();
    o.put(&(n as u32).to_le_bytes());
    for i in 0..n {
        // One reading of the field, one room check for all its parts, and each kind's parts
        // written with their sizes known where they are constant.
        let f = fields.field(i);
        let key = f.key;
        let (kind, word) = match f.value {
            Value::Str(b) | Value::Json(b) => {
                let kind = if matches!(f.value, Value::Str(_)) {
                    KIND_STR
                } else {
                    KIND_JSON
                };
                if !o.room((9 + key.len()).saturating_add(b.len())) {
                    break;
                }
                // SAFETY: `room` covered the kind, the key's length and bytes, the value's
                // length and bytes.
                unsafe {
                    o.head(kind, key);
                    o.put_unchecked(&(b.len() as u32).to_le_bytes());
                    o.put_unchecked(b);
                }
                continue;
            }
            Value::Bool(v) => {
                if !o.room(6 + key.len()) {
                    break;
                }
                // SAFETY: `room` covered the kind, the key's length and bytes and one byte.
                unsafe {
                    o.head(KIND_BOOL, key);
                    o.put_unchecked(&[u8::from(v)]);
                }
                continue;
            }
            Value::Int(v) => (KIND_INT, v.to_le_bytes()),
            Value::Uint(v) => (KIND_UINT, v.to_le_bytes()),
            Value::Float(v) => (KIND_FLOAT, v.to_le_bytes()),
        };
        if !o.room(13 + key.len()) {
            break;
        }
        // SAFETY: `room` covered the kind, the key's length and bytes and the 8 value bytes.
        unsafe {
            o.head(kind, key);
            o.put_unchecked(&word);
        }
    }
    o.finish();
}

/// A bounds-checked reader over an encoded payload.
#[derive(Clone, Debug)]
struct In<'a> {
    buf: &'a [u8],
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Reads the message and the source location that start an encoded payload (and a row, see
/// `render::row`); returns them with the bytes after them, or `None` if they are malformed.
pub(crate) fn read_head(payload: &[u8]) -> Option<(&[u8], Option<Source<'_>>, &[u8])> {
    let mut r = In { buf: payload };
    let msg = r.bytes()?;
    let source = match r.u8()? {
        0 => None,
        1 => {
            let file = r.bytes()?;
            let line = r.u32()?;
            let func = r.bytes()?;
            Some(Source { file, line, func })
        }
        _ => return None,
    };
    Some((msg, source, r.buf))
}

/// A decoded structured payload: the message, source and an iterator over the fields.
#[derive(Clone, Debug)]
pub struct Decoded<'a> {
    pub msg: &'a [u8],
    pub source: Option<Source<'a>>,
    fields: In<'a>,
    n_fields: u32,
}

impl<'a> Decoded<'a> {
    /// Decodes a payload produced by [`encode`]; `None` if it is malformed.
    pub fn parse(payload: &'a [u8]) -> Option<Decoded<'a>> {
        let (msg, source, rest) = read_head(payload)?;
        let mut r = In { buf: rest };
        let n_fields = r.u32()?;
        let d = Decoded {
            msg,
            source,
            fields: r,
            n_fields,
        };
        // Validate the whole field list once so that iteration cannot fail later.
        let mut it = d.fields();
        for _ in 0..n_fields {
            it.next()??;
        }
        if !it.rest.buf.is_empty() {
            return None;
        }
        Some(d)
    }

    /// The fields in the order they were given.
    pub fn fields(&self) -> FieldIter<'a> {
        FieldIter {
            rest: self.fields.clone(),
            left: self.n_fields,
        }
    }
}

/// Iterator over decoded fields; yields `Some(None)` on malformed input (only before
/// [`Decoded::parse`] has validated the payload).
#[derive(Debug)]
pub struct FieldIter<'a> {
    rest: In<'a>,
    left: u32,
}

impl<'a> FieldIter<'a> {
    fn read(&mut self) -> Option<Field<'a>> {
        let kind = self.rest.u8()?;
        let key = self.rest.bytes()?;
        let value = match kind {
            KIND_STR => Value::Str(self.rest.bytes()?),
            KIND_JSON => Value::Json(self.rest.bytes()?),
            KIND_INT => Value::Int(self.rest.u64()? as i64),
            KIND_UINT => Value::Uint(self.rest.u64()?),
            KIND_FLOAT => Value::Float(f64::from_bits(self.rest.u64()?)),
            KIND_BOOL => match self.rest.u8()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return None,
            },
            _ => return None,
        };
        Some(Field { key, value })
    }
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = Option<Field<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_every_kind() {
        let fields = [
            Field::new("s", "text"),
            Field::new("i", -5i64),
            Field::new("u", u64::MAX),
            Field::new("f", 1.5f64),
            Field::new("b", true),
            Field {
                key: b"j",
                value: Value::Json(b"{\"a\":[1,2]}"),
            },
        ];
        let src = Source {
            file: b"main.c",
            line: 42,
            func: b"main",
        };
        let mut buf = vec![0u8; encoded_len(b"hello", &fields, Some(&src))];
        encode(&mut buf, b"hello", &fields, Some(&src));
        let d = Decoded::parse(&buf).unwrap();
        assert_eq!(d.msg, b"hello");
        assert_eq!(d.source, Some(src));
        let got: Vec<Field<'_>> = d.fields().map(|f| f.unwrap()).collect();
        assert_eq!(got, fields);
    }

    /// Fields in another layout, as the C ABI keeps them.
    struct Pairs<'a>(&'a [(&'a str, i64)]);

    impl FieldSource for Pairs<'_> {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn field(&self, i: usize) -> Field<'_> {
            Field::new(self.0[i].0, self.0[i].1)
        }
    }

    #[test]
    fn any_field_source_encodes_as_a_slice_of_fields() {
        let pairs = [("a", -1i64), ("bb", i64::MAX), ("", 0)];
        let fields: Vec<Field<'_>> = pairs.iter().map(|&(k, v)| Field::new(k, v)).collect();
        let src = Source {
            file: b"f.go",
            line: 9,
            func: b"",
        };
        for source in [None, Some(&src)] {
            let (len, given) = lens(b"msg", &Pairs(&pairs), source);
            assert_eq!(len, encoded_len(b"msg", &fields, source));
            assert_eq!(given, caller_len(b"msg", &fields, source));
            let mut want = vec![0u8; len];
            encode(&mut want, b"msg", &fields, source);
            let mut got = vec![0u8; len];
            encode_from(&mut got, b"msg", &Pairs(&pairs), source);
            assert_eq!(got, want);
        }
    }

    /// A source whose fields change between the reading that sizes the payload and the one
    /// that writes it (a C caller breaking its promise).
    struct Shifting {
        reads: std::cell::Cell<usize>,
        keys: [&'static str; 2],
    }

    impl FieldSource for Shifting {
        fn count(&self) -> usize {
            1
        }
        fn field(&self, _: usize) -> Field<'_> {
            let n = self.reads.get();
            self.reads.set(n + 1);
            Field::new(self.keys[n.min(1)], "value")
        }
    }

    #[test]
    fn a_source_that_changes_while_encoded_gives_a_rejected_payload() {
        for keys in [["key", "longer key"], ["longer key", "key"]] {
            let fields = Shifting {
                reads: 0.into(),
                keys,
            };
            let (len, _) = lens(b"m", &fields, None);
            // What the buffer held before must not come back as a record.
            let mut buf = vec![0u8; len];
            let old = [Field::new(keys[0], "value")];
            encode(&mut buf, b"m", &old, None);
            encode_from(&mut buf, b"m", &fields, None);
            assert_eq!(&buf[..4], &[0xff; 4]);
            assert!(Decoded::parse(&buf).is_none(), "{keys:?}");
        }
    }

    #[test]
    fn encoded_length_matches_the_bytes_for_every_key_and_value_length() {
        let text: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=40usize {
            let part = &text[..n];
            let fields = [
                Field {
                    key: part,
                    value: Value::Str(part),
                },
                Field {
                    key: part,
                    value: Value::Int(-(n as i64)),
                },
                Field {
                    key: part,
                    value: Value::Bool(n % 2 == 0),
                },
                Field {
                    key: part,
                    value: Value::Json(b"[1]"),
                },
            ];
            let source = Source {
                file: part,
                line: n as u32,
                func: part,
            };
            for src in [None, Some(&source)] {
                let (len, given) = lens(part, &fields[..], src);
                let source_bytes = src.map_or(0, |_| 2 * n);
                assert_eq!(
                    given,
                    n + (2 * n) + (n + 8) + (n + 1) + (n + 3) + source_bytes
                );
                let framing = 9 + src.map_or(0, |_| 12) + 4 * 5 + 2 * 4;
                assert_eq!(len, given + framing, "length {n}");
                let mut buf = vec![0u8; len];
                encode(&mut buf, part, &fields, src);
                let d = Decoded::parse(&buf).expect("a whole payload decodes");
                assert_eq!(d.msg, part);
                let got: Vec<Field<'_>> = d.fields().map(|f| f.unwrap()).collect();
                assert_eq!(got, fields, "length {n}");
                assert_eq!(d.source, src.copied());
            }
        }
    }

    /// A source whose measurement does not match its fields (a C caller changing them between
    /// the check and the encoding).
    struct Mismeasured(Measured);

    impl FieldSource for Mismeasured {
        fn count(&self) -> usize {
            1
        }
        fn field(&self, _: usize) -> Field<'_> {
            Field::new("key", "value")
        }
        fn measured(&self) -> Option<Measured> {
            Some(self.0)
        }
    }

    #[test]
    fn a_wrong_measurement_gives_a_rejected_payload() {
        // The payload of "key": "value" as encoded by a source measured as one field with a
        // key of `key_len` bytes and a value of `shape`.
        let encoded = |key_len: usize, shape: Shape| {
            let mut m = Measured::default();
            m.add(key_len, shape);
            let (len, _) = lens(b"m", &Mismeasured(m), None);
            let mut buf = vec![0u8; len];
            encode_from(&mut buf, b"m", &Mismeasured(m), None);
            buf
        };
        let right = encoded(3, Shape::Bytes(5));
        assert!(Decoded::parse(&right).is_some(), "the true measurement");
        for (key_len, shape) in [
            (3, Shape::Number),
            (3, Shape::Bool),
            (2, Shape::Bytes(5)),
            (40, Shape::Bytes(5)),
            (3, Shape::Bytes(0)),
        ] {
            let buf = encoded(key_len, shape);
            assert!(
                Decoded::parse(&buf).is_none(),
                "measured as {key_len}, {shape:?}"
            );
        }
    }

    #[test]
    fn malformed_payloads_are_rejected() {
        let mut buf = vec![0u8; encoded_len(b"m", &[Field::new("k", 1i64)], None)];
        encode(&mut buf, b"m", &[Field::new("k", 1i64)], None);
        for cut in 0..buf.len() {
            assert!(
                Decoded::parse(&buf[..cut]).is_none(),
                "prefix of {cut} bytes accepted"
            );
        }
        let mut longer = buf.clone();
        longer.push(0);
        assert!(Decoded::parse(&longer).is_none());
        let mut bad_kind = buf.clone();
        bad_kind[4 + 1 + 1 + 4] = 99;
        assert!(Decoded::parse(&bad_kind).is_none());
    }
}
