//! Adapters from Rust's logging facades to an alog [`Logger`](crate::Logger): the `log` crate
//! (feature `log`) and `tracing` (feature `tracing`). Each only translates records; levels,
//! formats and sinks stay the logger's.

#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;

/// Runs `f` with this thread's reusable message buffer (cleared), so formatting a message
/// allocates only while the buffer grows; a re-entrant call (a `Debug` impl that logs) gets a
/// fresh one.
#[cfg(any(feature = "log", feature = "tracing"))]
fn with_message_buf<R>(f: impl FnOnce(&mut String) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static BUF: RefCell<String> = const { RefCell::new(String::new()) };
    }
    BUF.with(|b| match b.try_borrow_mut() {
        Ok(mut s) => {
            s.clear();
            let r = f(&mut s);
            if s.capacity() > 64 * 1024 {
                *s = String::new(); // do not keep a huge message's memory
            }
            r
        }
        Err(_) => f(&mut String::new()),
    })
}

/// Owned values of one record's fields: facades hand out values only inside visitor calls.
#[cfg(any(feature = "log", feature = "tracing"))]
#[derive(Debug, Default)]
struct Fields {
    kv: Vec<(String, crate::OwnedValue)>,
}

#[cfg(any(feature = "log", feature = "tracing"))]
impl Fields {
    fn push(&mut self, key: &str, value: crate::OwnedValue) {
        self.kv.push((key.to_string(), value));
    }

    /// Writes one record with these fields (borrowed) and the facade's source location.
    fn write(
        &self,
        logger: &crate::Logger,
        level: crate::Level,
        msg: &str,
        file: Option<&str>,
        line: Option<u32>,
        module: Option<&str>,
    ) {
        let fields: Vec<crate::Field<'_>> = self
            .kv
            .iter()
            .map(|(k, v)| crate::Field {
                key: k.as_bytes(),
                value: v.as_value(),
            })
            .collect(); // no allocation for a record without fields
        let source = file.map(|f| crate::Source {
            file: f.as_bytes(),
            line: line.unwrap_or(0),
            func: module.unwrap_or("").as_bytes(),
        });
        // A facade has no way to report a failed write: it is counted in the logger's stats.
        let _ = logger.write_record(&crate::Record {
            level,
            timestamp_ns: None,
            msg: msg.as_bytes(),
            fields: &fields,
            source,
        });
    }
}
