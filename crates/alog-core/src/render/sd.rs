//! RFC 5424's MSGID and STRUCTURED-DATA made from a record, for the network syslog sink: the
//! formatter puts `MSGID SP STRUCTURED-DATA SP` before the line (the sink adds the header
//! before that), so that a receiver gets the record's fields as parameters it can parse.
//!
//! - STRUCTURED-DATA is one element, `[alog@32473 ...]` (32473 is the enterprise number that
//!   RFC 5612 reserves for documentation: a private SD-ID), or `-` when the record has no
//!   fields and no source. Its parameters are the source location first (`source="FILE:LINE"`,
//!   `func="NAME"`), then the fields in their order; with a source location, fields named
//!   `source` or `func` become `fields.source` / `fields.func`, as in text.
//! - A PARAM-NAME is 1 to 32 printable US-ASCII characters other than `=`, space, `]` and `"`:
//!   those, `%` and every other byte of the key are written as `%XX` (so distinct keys stay
//!   distinct up to the 32-character cut, which never splits a `%XX`); an empty key is `_`.
//! - A PARAM-VALUE escapes `"`, `\` and `]` with a backslash, as RFC 5424 says. Before that,
//!   a string is escaped as in text output (a newline becomes `\n`, invalid UTF-8 `\xNN`, a
//!   bidi control `\u{NNNN}`), so no value holds a line break or a control character;
//!   numbers and booleans are written as in text.
//! - MSGID is the value of a field named `msgid` when it is a string of 1 to 32 printable
//!   US-ASCII characters (that field then is not repeated in the structured data); otherwise
//!   `-`, and such a field stays a parameter.

use crate::front::record::Value;
use crate::render::format::{put, scalar, text_escape, RecordRef};

/// The SD-ID of the element holding a record's fields.
pub const SD_ID: &str = "alog@32473";
/// The longest PARAM-NAME (and MSGID) RFC 5424 allows.
pub const MAX_NAME: usize = 32;

/// Whether `b` may stand in a PARAM-NAME as itself (`%` is kept for escapes).
fn name_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !matches!(b, b'=' | b']' | b'"' | b'%')
}

/// A MSGID: 1 to 32 printable US-ASCII characters.
fn valid_msgid(b: &[u8]) -> bool {
    (1..=MAX_NAME).contains(&b.len()) && b.iter().all(|c| (0x21..=0x7e).contains(c))
}

/// Appends `MSGID SP STRUCTURED-DATA SP` for `r`. `scratch` is working memory.
pub(crate) fn msgid_and_sd(r: &RecordRef<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    // The first field named `msgid` that RFC 5424 can carry as MSGID.
    let mut msgid = None;
    let mut n = 0usize;
    r.each_field(|f| {
        if msgid.is_none() && f.key == b"msgid" {
            if let Value::Str(b) = f.value {
                if valid_msgid(b) {
                    msgid = Some((n, b));
                }
            }
        }
        n += 1;
    });
    match msgid {
        Some((_, b)) => put(out, b),
        None => out.push(b'-'),
    }
    out.push(b' ');
    let skip = msgid.map(|(i, _)| i);
    if r.source.is_none() && n == usize::from(skip.is_some()) {
        out.extend_from_slice(b"- ");
        return;
    }
    out.push(b'[');
    put(out, SD_ID.as_bytes());
    if let Some(s) = r.source {
        put(out, b" source=\"");
        scratch.clear();
        text_escape(s.file, scratch);
        scratch.push(b':');
        crate::render::format::push_u64(scratch, u64::from(s.line));
        sd_escape(scratch, out);
        out.push(b'"');
        if !s.func.is_empty() {
            put(out, b" func=\"");
            scratch.clear();
            text_escape(s.func, scratch);
            sd_escape(scratch, out);
            out.push(b'"');
        }
    }
    let own = r.source.is_some();
    let mut i = 0usize;
    r.each_field(|f| {
        let this = i;
        i += 1;
        if Some(this) == skip {
            return;
        }
        out.push(b' ');
        if own && (f.key == b"source" || f.key == b"func") {
            scratch.clear();
            scratch.extend_from_slice(b"fields.");
            scratch.extend_from_slice(f.key);
            param_name(scratch, out);
        } else {
            param_name(f.key, out);
        }
        put(out, b"=\"");
        scratch.clear();
        match f.value {
            Value::Str(b) | Value::Json(b) => text_escape(b, scratch),
            other => scalar(other, scratch, false),
        }
        sd_escape(scratch, out);
        out.push(b'"');
    });
    out.extend_from_slice(b"] ");
}

/// A PARAM-NAME for `key` (see the module's documentation).
pub(crate) fn param_name(key: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if key.is_empty() {
        out.push(b'_');
        return;
    }
    let mut len = 0;
    for &b in key {
        let width = if name_byte(b) { 1 } else { 3 };
        if len + width > MAX_NAME {
            break;
        }
        len += width;
        if width == 1 {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// A PARAM-VALUE's bytes: `"`, `\` and `]` escaped with a backslash.
pub(crate) fn sd_escape(text: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if matches!(b, b'"' | b'\\' | b']') {
            out.extend_from_slice(&text[start..i]);
            out.push(b'\\');
            start = i;
        }
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::level::Level;
    use crate::front::record::{encode, encoded_len, Decoded, Field, Source};

    fn sd(fields: &[Field<'_>], source: Option<Source<'_>>) -> String {
        let mut payload = vec![0; encoded_len(b"m", fields, source.as_ref())];
        encode(&mut payload, b"m", fields, source.as_ref());
        let d = Decoded::parse(&payload).unwrap();
        let r = RecordRef {
            ts: 0,
            level: Level::INFO,
            tid: 0,
            msg: d.msg,
            source: d.source,
            source_cached: None,
            fields: Some(d.clone()),
        };
        let mut out = Vec::new();
        msgid_and_sd(&r, &mut out, &mut Vec::new());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn names_are_sanitised_and_cut_without_splitting_an_escape() {
        let name = |k: &[u8]| {
            let mut out = Vec::new();
            param_name(k, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(name(b"plain.key-1"), "plain.key-1");
        assert_eq!(name(b"a b=c]d\"e%f"), "a%20b%3Dc%5Dd%22e%25f");
        assert_eq!(name(b""), "_");
        assert_eq!(name("é".as_bytes()), "%C3%A9");
        assert_eq!(name(&[b'x'; 40]), "x".repeat(32));
        // 30 bytes, then an escape that would pass 32: cut before it.
        let mut k = vec![b'y'; 30];
        k.push(b' ');
        assert_eq!(name(&k), "y".repeat(30));
    }

    #[test]
    fn values_escape_quote_backslash_and_bracket_only_after_text_escaping() {
        let mut out = Vec::new();
        sd_escape(br#"a"b\c]d=e"#, &mut out);
        assert_eq!(out, br#"a\"b\\c\]d=e"#);
        assert_eq!(
            sd(&[Field::new("v", "x\ny\u{202e}")], None),
            r#"- [alog@32473 v="x\\ny\\u{202e}"] "#
        );
    }

    #[test]
    fn msgid_source_and_the_empty_case() {
        assert_eq!(sd(&[], None), "- - ");
        assert_eq!(sd(&[Field::new("msgid", "ID7")], None), "ID7 - ");
        assert_eq!(
            sd(&[Field::new("msgid", "")], None),
            r#"- [alog@32473 msgid=""] "#
        );
        let src = Source {
            file: b"a.c",
            line: 9,
            func: b"",
        };
        assert_eq!(
            sd(
                &[
                    Field::new("func", "f"),
                    Field::new("msgid", "A"),
                    Field::new("msgid", "B")
                ],
                Some(src)
            ),
            r#"A [alog@32473 source="a.c:9" fields.func="f" msgid="B"] "#
        );
    }
}
