//! A record as an OpenTelemetry `LogRecord` in the protobuf JSON mapping of OTLP (what an
//! OTLP/HTTP receiver takes with `Content-Type: application/json`), for the OTLP sink: the
//! formatter makes one object per record, one per line, and the sink puts the objects of a
//! request into an `ExportLogsServiceRequest` (see `sinks::otlp`).
//!
//! - `timeUnixNano`: the record's timestamp (left out when the record has none: 0 means
//!   unknown); `observedTimeUnixNano`: when the writer formatted it. Both are strings, as
//!   proto3's JSON mapping writes 64-bit integers.
//! - `severityNumber`: alog's level, which is the OpenTelemetry severity number (TRACE 1,
//!   DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21 and the finer grades between);
//!   `severityText`: its printed name (`level_names` applies).
//! - `body`: `{"stringValue": MSG}`.
//! - `attributes`: the source location first (`code.filepath`, `code.lineno`,
//!   `code.function`), then the fields in their order. A string is a `stringValue` (invalid
//!   UTF-8 becomes U+FFFD), an integer an `intValue` (a string), an unsigned integer above
//!   `i64::MAX` a `stringValue` of its digits, a float a `doubleValue` (`"NaN"`,
//!   `"Infinity"`, `"-Infinity"` when not finite), a boolean a `boolValue`, pre-encoded JSON a
//!   `stringValue` holding its text. Keys are unique, as OTLP requires: a field named like a
//!   source attribute becomes `fields.NAME`, a repeated key `NAME#2`, `NAME#3`... (as in JSON
//!   output).

use crate::front::record::Value;
use crate::front::time::NO_TIMESTAMP;
use crate::render::format::{json_str, push_u64, scalar, RecordRef};

/// The attribute keys of the source location.
const CODE_KEYS: [&[u8]; 3] = [b"code.filepath", b"code.lineno", b"code.function"];

/// Appends `r` as one `LogRecord` JSON object (no newline). `level_name` is its severity
/// text, `observed` the observation time (ns since the epoch); `keys` and `scratch` are
/// working memory.
pub(crate) fn log_record(
    r: &RecordRef<'_>,
    level_name: &[u8],
    observed: i64,
    out: &mut Vec<u8>,
    keys: &mut Vec<(usize, usize)>,
    scratch: &mut Vec<u8>,
) {
    out.push(b'{');
    if r.ts != NO_TIMESTAMP {
        out.extend_from_slice(b"\"timeUnixNano\":\"");
        push_u64(out, r.ts.max(0) as u64);
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"\"observedTimeUnixNano\":\"");
    push_u64(out, observed.max(0) as u64);
    out.extend_from_slice(b"\",\"severityNumber\":");
    push_u64(out, u64::from(r.level.number()));
    out.extend_from_slice(b",\"severityText\":");
    json_str(level_name, out);
    out.extend_from_slice(b",\"body\":{\"stringValue\":");
    json_str(r.msg, out);
    out.extend_from_slice(b"},\"attributes\":[");
    keys.clear();
    let mut first = true;
    if let Some(s) = r.source {
        let mut quoted = Vec::new();
        json_str(CODE_KEYS[0], &mut quoted);
        open_attr(out, keys, &quoted, &mut first);
        out.extend_from_slice(b"\"stringValue\":");
        json_str(s.file, out);
        out.extend_from_slice(b"}}");
        quoted.clear();
        json_str(CODE_KEYS[1], &mut quoted);
        open_attr(out, keys, &quoted, &mut first);
        out.extend_from_slice(b"\"intValue\":\"");
        push_u64(out, u64::from(s.line));
        out.extend_from_slice(b"\"}}");
        if !s.func.is_empty() {
            quoted.clear();
            json_str(CODE_KEYS[2], &mut quoted);
            open_attr(out, keys, &quoted, &mut first);
            out.extend_from_slice(b"\"stringValue\":");
            json_str(s.func, out);
            out.extend_from_slice(b"}}");
        }
    }
    let has_source = r.source.is_some();
    let mut quoted = Vec::new();
    r.each_field(|f| {
        // The key, made unique among those already written.
        scratch.clear();
        if has_source && CODE_KEYS.contains(&f.key) {
            scratch.extend_from_slice(b"fields.");
        }
        scratch.extend_from_slice(f.key);
        let base = scratch.len();
        let mut n = 1u32;
        loop {
            quoted.clear();
            json_str(scratch, &mut quoted);
            if !keys.iter().any(|&(a, b)| out[a..b] == quoted[..]) {
                break;
            }
            n += 1;
            scratch.truncate(base);
            scratch.push(b'#');
            push_u64(scratch, u64::from(n));
        }
        open_attr(out, keys, &quoted, &mut first);
        any_value(f.value, out);
        out.extend_from_slice(b"}}");
    });
    out.extend_from_slice(b"]}");
}

/// Starts an attribute: `{"key":KEY,"value":{` (after a comma unless it is the first);
/// `quoted` is the key as a JSON string.
fn open_attr(out: &mut Vec<u8>, keys: &mut Vec<(usize, usize)>, quoted: &[u8], first: &mut bool) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"key\":");
    keys.push((out.len(), out.len() + quoted.len()));
    out.extend_from_slice(quoted);
    out.extend_from_slice(b",\"value\":{");
}

/// The members of an `AnyValue` object for `v`.
fn any_value(v: Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Str(b) | Value::Json(b) => {
            out.extend_from_slice(b"\"stringValue\":");
            json_str(b, out);
        }
        Value::Int(i) => {
            out.extend_from_slice(b"\"intValue\":\"");
            scalar(Value::Int(i), out, true);
            out.push(b'"');
        }
        Value::Uint(u) if u <= i64::MAX as u64 => {
            out.extend_from_slice(b"\"intValue\":\"");
            push_u64(out, u);
            out.push(b'"');
        }
        Value::Uint(u) => {
            out.extend_from_slice(b"\"stringValue\":\"");
            push_u64(out, u);
            out.push(b'"');
        }
        Value::Float(f) if f.is_finite() => {
            out.extend_from_slice(b"\"doubleValue\":");
            scalar(Value::Float(f), out, true);
        }
        Value::Float(f) => {
            out.extend_from_slice(b"\"doubleValue\":");
            out.extend_from_slice(if f.is_nan() {
                b"\"NaN\""
            } else if f > 0.0 {
                b"\"Infinity\""
            } else {
                b"\"-Infinity\""
            });
        }
        Value::Bool(b) => {
            out.extend_from_slice(b"\"boolValue\":");
            out.extend_from_slice(if b { b"true" } else { b"false" });
        }
    }
}
