//! Adapters from Rust's logging facades to an alog [`Logger`](crate::Logger): the `log` crate
//! (feature `log`) and `tracing` (feature `tracing`). Each only translates records; levels,
//! formats and sinks stay the logger's.

#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;

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
            .collect();
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
