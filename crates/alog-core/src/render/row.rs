//! A record's columns as data, for sinks that store them apart rather than print a line (the
//! SQLite sink). The pipeline formats a record once per style; a sink whose style is
//! [`Format::Row`](crate::front::config::Format::Row) gets, in its lane, this encoding
//! instead of a line (its timestamp and level travel beside it, as for every sink):
//!
//! ```text
//! u32 msg_len, msg                     the message's bytes as logged
//! u8 has_source [u32 file_len, file, u32 line, u32 func_len, func]
//! fields                               the rest: one JSON object, `{}` without fields
//! ```
//!
//! Lengths are little endian; the message and source are laid out as in a structured
//! record's payload (`front::record`), and read by the same code. [`Row::decode`] checks
//! every length, so bytes that are not a row yield `None`, never a panic.

use crate::front::record::{read_head, Source};

/// One record's columns, borrowed from its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    pub msg: &'a [u8],
    pub source: Option<Source<'a>>,
    /// A JSON object, written with the JSON format's escaping.
    pub fields: &'a [u8],
}

fn put_bytes(b: &[u8], out: &mut Vec<u8>) {
    // A record's parts are bounded by max_message_bytes (at most 256 MiB): they fit in u32.
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Appends the message and the source; the caller appends the fields next, as one JSON
/// object.
pub(crate) fn encode_head(msg: &[u8], source: Option<Source<'_>>, out: &mut Vec<u8>) {
    put_bytes(msg, out);
    match source {
        Some(s) => {
            out.push(1);
            put_bytes(s.file, out);
            out.extend_from_slice(&s.line.to_le_bytes());
            put_bytes(s.func, out);
        }
        None => out.push(0),
    }
}

impl<'a> Row<'a> {
    /// Reads a row written by the `Row` format; `None` when `b` is not one.
    pub fn decode(b: &'a [u8]) -> Option<Row<'a>> {
        let (msg, source, fields) = read_head(b)?;
        Some(Row {
            msg,
            source,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::config::{Format, Style};
    use crate::front::level::Level;
    use crate::front::record::{encode, encoded_len, Decoded, Field, Value};
    use crate::render::format::{Formatter, RecordRef};

    fn style() -> Style {
        Style {
            format: Format::Row,
            pattern: None,
            json_keys: Default::default(),
            color: false,
            multiline: false,
            level_names: Vec::new(),
            rfc5424: false,
            local_time: false,
            logger: String::new(),
            otlp: false,
        }
    }

    #[test]
    fn a_formatted_row_decodes_to_its_columns() {
        let fields = [
            Field::new("ts", "mine"),
            Field::new("n", 3i64),
            Field::new("n", 4i64),
            Field {
                key: b"k\"\0",
                value: Value::Str(b"v\xff"),
            },
        ];
        let mut payload = vec![0; encoded_len(b"m\0x", &fields, None)];
        encode(&mut payload, b"m\0x", &fields, None);
        let d = Decoded::parse(&payload).unwrap();
        let src = Source {
            file: b"a.c",
            line: 9,
            func: b"",
        };
        let rec = RecordRef {
            ts: 1,
            level: Level::WARN,
            tid: 0,
            msg: d.msg,
            source: Some(src),
            source_cached: None,
            fields: Some(d),
        };
        let mut out = Vec::new();
        Formatter::new(style()).format(&rec, &mut out);
        let row = Row::decode(&out).unwrap();
        assert_eq!(row.msg, b"m\0x");
        assert_eq!(row.source, Some(src));
        // Without alog's own members beside them, `ts` is a field like any other.
        assert_eq!(
            std::str::from_utf8(row.fields).unwrap(),
            "{\"ts\":\"mine\",\"n\":3,\"n#2\":4,\"k\\\"\\u0000\":\"v\u{fffd}\"}"
        );
        // Every cut of the message and source is refused, never misread.
        for n in 0..out.len() - row.fields.len() {
            assert_eq!(Row::decode(&out[..n]), None, "{n}");
        }

        let plain = RecordRef {
            ts: 1,
            level: Level::INFO,
            tid: 0,
            msg: b"plain",
            source: None,
            source_cached: None,
            fields: None,
        };
        out.clear();
        Formatter::new(style()).format(&plain, &mut out);
        let row = Row::decode(&out).unwrap();
        assert_eq!(
            (row.msg, row.source, row.fields),
            (&b"plain"[..], None, &b"{}"[..])
        );
    }
}
