//! Records of arbitrary bytes: encoding round-trips exactly, decoding arbitrary bytes never
//! panics, and both formats always give one line (JSON: one valid JSON value), also with the raw
//! bytes as a JSON field (text flattens a valid JSON object into key.member=value pairs).
#![no_main]

use alog_core::config::{Format, JsonKeys, Style};
use alog_core::format::{json_valid, Formatter, RecordRef};
use alog_core::record::{encode, encoded_len, Decoded};
use alog_core::{Field, Level, OwnedValue, Source, Value};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    msg: Vec<u8>,
    fields: Vec<(Vec<u8>, OwnedValue)>,
    source: Option<(Vec<u8>, u32, Vec<u8>)>,
    ts: i64,
    level: u8,
    raw: Vec<u8>,
}

fuzz_target!(|inp: Input| {
    let _ = Decoded::parse(&inp.raw);

    let fields: Vec<Field<'_>> = inp
        .fields
        .iter()
        .map(|(k, v)| Field {
            key: k,
            value: v.as_value(),
        })
        .collect();
    let source = inp.source.as_ref().map(|(f, l, g)| Source { file: f, line: *l, func: g });
    let mut buf = vec![0u8; encoded_len(&inp.msg, &fields, source.as_ref())];
    encode(&mut buf, &inp.msg, &fields, source.as_ref());
    let d = Decoded::parse(&buf).expect("our own encoding decodes");
    assert_eq!(d.msg, &inp.msg[..]);
    assert_eq!(d.source, source);
    let back: Vec<Field<'_>> = d.fields().map(|f| f.expect("valid field")).collect();
    assert_eq!(back.len(), fields.len());
    for (a, b) in back.iter().zip(&fields) {
        assert_eq!(a.key, b.key);
        match (a.value, b.value) {
            (Value::Float(x), Value::Float(y)) => assert_eq!(x.to_bits(), y.to_bits()),
            (x, y) => assert_eq!(x, y),
        }
    }

    let level = Level::new(i32::from(inp.level % 24) + 1).unwrap();
    let rec = RecordRef { ts: inp.ts, level, tid: 0, msg: d.msg, source: d.source, source_cached: None, fields: Some(d.clone()) };
    one_line_each(&rec);

    let raw = [Field { key: b"raw", value: Value::Json(&inp.raw) }];
    let mut buf = vec![0u8; encoded_len(b"", &raw, None)];
    encode(&mut buf, b"", &raw, None);
    let d = Decoded::parse(&buf).expect("our own encoding decodes");
    one_line_each(&RecordRef { ts: inp.ts, level, tid: 0, msg: b"", source: None, source_cached: None, fields: Some(d) });
});

fn one_line_each(rec: &RecordRef<'_>) {
    // multiline=indent: a newline only ever starts a continuation line indented by 4 spaces.
    let mut f = Formatter::new(Style { format: Format::Text, pattern: None, json_keys: JsonKeys::default(), color: false, multiline: true, level_names: Vec::new(), rfc5424: false, otlp: false, local_time: false, logger: String::new() });
    let mut out = Vec::new();
    f.format(rec, &mut out);
    assert!(!out.contains(&b'\r'), "a carriage return in a record");
    for (i, _) in out.iter().enumerate().filter(|(_, b)| **b == b'\n') {
        assert!(out[i + 1..].starts_with(b"    "), "a continuation line without its indent");
    }
    for format in [Format::Text, Format::Json] {
        let mut f = Formatter::new(Style { format, pattern: None, json_keys: JsonKeys::default(), color: format == Format::Text, multiline: false, level_names: Vec::new(), rfc5424: false, otlp: false, local_time: false, logger: String::new() });
        let mut out = Vec::new();
        f.format(rec, &mut out);
        assert!(!out.contains(&b'\n') && !out.contains(&b'\r'), "a record split into lines");
        if format == Format::Json {
            assert!(json_valid(&out), "invalid JSON: {}", String::from_utf8_lossy(&out));
            assert!(std::str::from_utf8(&out).is_ok());
        }
    }
}
