//! `alog_write_record` encodes the caller's `alog_field` array straight into the queue: the
//! lines in the file are exactly the record given (every field kind, the source location, the
//! caller's timestamp, more fields than fit anywhere on a stack), and bad fields are refused
//! with the code of the first bad one, nothing counted.

use std::ffi::{c_char, CString};
use std::ptr;

use alog::*;

const TS: i64 = 1_700_000_000_123_456_000;
const TS_TEXT: &str = "2023-11-14T22:13:20.123456Z";

fn open(path: &std::path::Path, settings: &[(&str, &str)]) -> *mut alog_logger {
    let conf = alog_conf_new();
    assert!(!conf.is_null());
    for (k, v) in [("console", "none")].iter().chain(settings) {
        let (k, v) = (CString::new(*k).unwrap(), CString::new(*v).unwrap());
        // SAFETY: a live conf and NUL-terminated strings; no error buffer.
        let rc = unsafe { alog_conf_set(conf, k.as_ptr(), v.as_ptr(), ptr::null_mut(), 0) };
        assert_eq!(rc, ALOG_OK, "{k:?}={v:?}");
    }
    let path = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut lg = ptr::null_mut();
    // SAFETY: as above; `lg` receives the handle.
    let rc = unsafe { alog_open(path.as_ptr(), conf, &mut lg, ptr::null_mut(), 0) };
    assert_eq!(rc, ALOG_OK);
    // SAFETY: the conf from alog_conf_new, no longer used.
    unsafe { alog_conf_free(conf) };
    lg
}

fn close(lg: *mut alog_logger) -> alog_stats {
    // SAFETY: a handle from alog_open.
    assert_eq!(unsafe { alog_close(lg, ALOG_TIMEOUT_INFINITE) }, ALOG_OK);
    let mut st = alog_stats::default();
    // SAFETY: as above, and a stats struct to fill.
    assert_eq!(unsafe { alog_get_stats(lg, &mut st) }, ALOG_OK);
    st
}

fn zero_field() -> alog_field {
    alog_field {
        key: ptr::null(),
        key_len: 0,
        kind: 0,
        reserved: 0,
        i64: 0,
        u64: 0,
        f64: 0.0,
        str: ptr::null(),
        str_len: 0,
    }
}

fn field(key: &'static str, kind: i32) -> alog_field {
    alog_field {
        key: key.as_ptr().cast::<c_char>(),
        key_len: key.len(),
        kind,
        ..zero_field()
    }
}

fn str_field(key: &'static str, kind: i32, value: &'static str) -> alog_field {
    alog_field {
        str: value.as_ptr().cast::<c_char>(),
        str_len: value.len(),
        ..field(key, kind)
    }
}

/// One field of every kind, strings needing escapes and invalid UTF-8 included.
fn every_kind() -> Vec<alog_field> {
    vec![
        str_field("s", ALOG_FIELD_STRING, "a b"),
        str_field("q", ALOG_FIELD_STRING, "say \"hi\"\n"),
        alog_field {
            i64: -42,
            ..field("i", ALOG_FIELD_INT)
        },
        alog_field {
            u64: u64::MAX,
            ..field("u", ALOG_FIELD_UINT)
        },
        alog_field {
            f64: 1.5,
            ..field("f", ALOG_FIELD_FLOAT)
        },
        alog_field {
            i64: 7,
            ..field("b", ALOG_FIELD_BOOL)
        },
        field("no", ALOG_FIELD_BOOL),
        str_field("j", ALOG_FIELD_JSON, "{\"a\":[1,2]}"),
        str_field("e", ALOG_FIELD_STRING, ""),
        field("", ALOG_FIELD_INT),
    ]
}

fn record(msg: &'static str, fields: &[alog_field]) -> alog_record {
    alog_record {
        level: ALOG_LEVEL_INFO,
        timestamp_ns: TS,
        msg: msg.as_ptr().cast::<c_char>(),
        msg_len: msg.len(),
        fields: if fields.is_empty() {
            ptr::null()
        } else {
            fields.as_ptr()
        },
        n_fields: fields.len(),
        file: ptr::null(),
        file_len: 0,
        line: 0,
        func: ptr::null(),
        func_len: 0,
        reserved: [0; 4],
    }
}

fn write(lg: *mut alog_logger, rec: &alog_record) -> alog_result {
    // SAFETY: a handle from alog_open; every pointer in `rec` is live for the call.
    unsafe { alog_write_record(lg, rec) }
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn fields_of_every_kind_come_out_exactly() {
    let dir = tempfile_dir("kinds");
    let (text, json) = (dir.join("rec.log"), dir.join("rec.json"));
    let lg = open(
        &text,
        &[
            ("file.js.path", json.to_str().unwrap()),
            ("file.js.format", "json"),
        ],
    );
    let fields = every_kind();
    assert_eq!(write(lg, &record("structured", &fields)), ALOG_OK);
    let mut located = record("located", &fields[..3]);
    located.file = c"src/app.c".as_ptr();
    located.file_len = 9;
    located.line = 77;
    located.func = c"do_work".as_ptr();
    located.func_len = 7;
    assert_eq!(write(lg, &located), ALOG_OK);
    // 40 fields: beyond every fixed-size array the call paths ever used.
    let many: Vec<alog_field> = (0..40)
        .map(|i| alog_field {
            i64: i * 1000 - 7,
            ..field(KEYS[i as usize], ALOG_FIELD_INT)
        })
        .collect();
    assert_eq!(write(lg, &record("many", &many)), ALOG_OK);
    // No fields and no source: a plain message.
    let mut plain = record("plain", &[]);
    plain.timestamp_ns = ALOG_TIMESTAMP_NONE;
    assert_eq!(write(lg, &plain), ALOG_OK);
    let st = close(lg);
    assert_eq!((st.submitted, st.written, st.failed), (4, 4, 0));

    let many_text: Vec<String> = (0..40)
        .map(|i| format!("{}={}", KEYS[i], i as i64 * 1000 - 7))
        .collect();
    let many_json: Vec<String> = (0..40)
        .map(|i| format!("\"{}\":{}", KEYS[i], i as i64 * 1000 - 7))
        .collect();
    assert_eq!(
        lines(&text),
        [
            format!(
                "{TS_TEXT} INFO structured s=\"a b\" q=\"say \\\"hi\\\"\\n\" i=-42 \
                 u=18446744073709551615 f=1.5 b=true no=false j.a=[1,2] e=\"\" \"\"=0"
            ),
            format!("{TS_TEXT} INFO located source=src/app.c:77 func=do_work s=\"a b\" q=\"say \\\"hi\\\"\\n\" i=-42"),
            format!("{TS_TEXT} INFO many {}", many_text.join(" ")),
            "INFO plain".to_string(),
        ]
    );
    assert_eq!(
        lines(&json),
        [
            format!(
                "{{\"ts\":\"{TS_TEXT}\",\"level\":\"INFO\",\"msg\":\"structured\",\"s\":\"a b\",\
                 \"q\":\"say \\\"hi\\\"\\n\",\"i\":-42,\"u\":18446744073709551615,\"f\":1.5,\
                 \"b\":true,\"no\":false,\"j\":{{\"a\":[1,2]}},\"e\":\"\",\"\":0}}"
            ),
            format!(
                "{{\"ts\":\"{TS_TEXT}\",\"level\":\"INFO\",\"msg\":\"located\",\"source\":\
                 {{\"file\":\"src/app.c\",\"line\":77,\"function\":\"do_work\"}},\"s\":\"a b\",\
                 \"q\":\"say \\\"hi\\\"\\n\",\"i\":-42}}"
            ),
            format!(
                "{{\"ts\":\"{TS_TEXT}\",\"level\":\"INFO\",\"msg\":\"many\",{}}}",
                many_json.join(",")
            ),
            "{\"level\":\"INFO\",\"msg\":\"plain\"}".to_string(),
        ]
    );
}

const KEYS: [&str; 40] = [
    "k00", "k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k10", "k11", "k12",
    "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20", "k21", "k22", "k23", "k24", "k25",
    "k26", "k27", "k28", "k29", "k30", "k31", "k32", "k33", "k34", "k35", "k36", "k37", "k38",
    "k39",
];

#[test]
fn bad_fields_are_refused_by_the_first_bad_one_and_not_counted() {
    let dir = tempfile_dir("bad");
    let path = dir.join("bad.log");
    let lg = open(&path, &[("level", "info")]);
    let good = every_kind();
    let cases: Vec<(alog_field, alog_result)> = vec![
        (
            alog_field {
                key: ptr::null(),
                ..field("k", ALOG_FIELD_INT)
            },
            ALOG_ERR_NULL,
        ),
        (
            alog_field {
                str: ptr::null(),
                ..str_field("k", ALOG_FIELD_STRING, "v")
            },
            ALOG_ERR_NULL,
        ),
        (
            alog_field {
                str: ptr::null(),
                ..str_field("k", ALOG_FIELD_JSON, "1")
            },
            ALOG_ERR_NULL,
        ),
        (
            alog_field {
                key_len: usize::MAX,
                ..field("k", ALOG_FIELD_INT)
            },
            ALOG_ERR_TOO_LARGE,
        ),
        (
            alog_field {
                str_len: isize::MAX as usize + 1,
                ..str_field("k", ALOG_FIELD_STRING, "v")
            },
            ALOG_ERR_TOO_LARGE,
        ),
        (field("k", 0), ALOG_ERR_INVALID),
        (field("k", 7), ALOG_ERR_INVALID),
        (
            alog_field {
                reserved: 1,
                ..field("k", ALOG_FIELD_INT)
            },
            ALOG_ERR_INVALID,
        ),
        // A number's unused string pair is not looked at.
        (
            alog_field {
                str: ptr::null(),
                str_len: 5,
                ..field("k", ALOG_FIELD_UINT)
            },
            ALOG_OK,
        ),
    ];
    let mut accepted = 0;
    for (bad, want) in &cases {
        let mut fields = good.clone();
        fields.insert(4, *bad);
        assert_eq!(write(lg, &record("m", &fields)), *want, "{bad:?}");
        accepted += u64::from(*want == ALOG_OK);
        // Below the level the fields are not looked at.
        let mut debug = record("m", &fields);
        debug.level = ALOG_LEVEL_DEBUG;
        assert_eq!(write(lg, &debug), ALOG_OK);
    }
    // Two bad fields: the first decides.
    let mut fields = good.clone();
    fields.push(field("k", 9));
    fields.push(alog_field {
        key: ptr::null(),
        ..field("k", ALOG_FIELD_INT)
    });
    assert_eq!(write(lg, &record("m", &fields)), ALOG_ERR_INVALID);
    // A NULL array with fields, an array no memory can hold.
    let mut rec = record("m", &good);
    rec.fields = ptr::null();
    assert_eq!(write(lg, &rec), ALOG_ERR_NULL);
    let mut rec = record("m", &good);
    rec.n_fields = usize::MAX / 2;
    assert_eq!(write(lg, &rec), ALOG_ERR_TOO_LARGE);
    let st = close(lg);
    assert_eq!((st.submitted, st.written), (accepted, accepted));
    assert_eq!(lines(&path).len() as u64, accepted);
}

/// A fresh directory under the system's temporary one, removed first if a previous run left it.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "alog-ffi-write-record-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
