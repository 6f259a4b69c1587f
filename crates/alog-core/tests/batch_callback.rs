//! Batch callback sinks: whole batches in order, called once per batch, failures counted while
//! the other sinks still get every record.

mod common;

use std::sync::{Arc, Mutex};

use alog_core::{Level, Logger};

#[test]
fn batch_callback_gets_every_line_in_order_in_whole_batches() {
    let calls: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let c = calls.clone();
    let log = Logger::builder()
        .set("pattern", "{msg}")
        .unwrap()
        .batch_size(64)
        .batch_callback(move |bytes| {
            c.lock().unwrap().push(bytes.to_vec());
            Ok(())
        })
        .build()
        .unwrap();
    for i in 0..1000 {
        log.log(Level::INFO, format!("line {i}")).unwrap();
    }
    log.close(None).unwrap();
    let calls = calls.lock().unwrap();
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(String::from_utf8(calls.concat()).unwrap(), expected);
    assert!(calls.iter().all(|b| b.ends_with(b"\n")));
    assert_eq!(calls.len() as u64, log.stats().batches);
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.failed), (1000, 1000, 0));
}

#[test]
fn failing_batch_callback_is_not_retried_and_does_not_stop_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let calls = Arc::new(Mutex::new(0u64));
    let c = calls.clone();
    let log = Logger::builder()
        .path(&path)
        .batch_callback(move |_| {
            *c.lock().unwrap() += 1;
            Err("destination down".into())
        })
        .build()
        .unwrap();
    for i in 0..10 {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.failed), (10, 0, 10));
    assert_eq!(s.write_errors, *calls.lock().unwrap());
    assert_eq!(s.write_errors, s.batches);
    assert!(log.last_error().unwrap().contains("destination down"));
    assert_eq!(common::lines(&path).len(), 10);
}
