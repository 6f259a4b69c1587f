//! Formatting and writing a batch: each record is formatted once per distinct style, appended
//! to the buffer of every sink that takes its level, and each buffer goes out in one write.
//! The pipeline is the same for the writer thread and for sync mode.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use crate::front::clock::{Converter, Stamp};
use crate::front::config::{Config, ErrorCallback, Format, Fsync, Style};
use crate::front::error::{Error, Result};
use crate::front::level::Level;
use crate::front::record::Decoded;
use crate::front::stats::Counters;
use crate::queue::{Batch, Kind, Meta};
use crate::render::deferred::{self, SiteCache};
use crate::render::format::{Formatter, RecordRef};
use crate::sinks::file::crypt::Key;
use crate::sinks::file::housekeeping::BackgroundErrors;
use crate::sinks::file::rotate::FileSink;
use crate::sinks::syslog::Syslog;
use crate::sinks::target::{Sink, Target};

/// A batch flushes a sink's buffer early past this many bytes, bounding memory.
const MAX_SINK_BUFFER: usize = 4 << 20;

/// Where errors go: counted, kept as the last error, and passed to the error callback.
pub(crate) struct ErrorReporter {
    pub last: std::sync::Mutex<Option<String>>,
    pub callback: Option<ErrorCallback>,
}

impl std::fmt::Debug for ErrorReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorReporter").finish_non_exhaustive()
    }
}

impl ErrorReporter {
    pub fn report(&self, err: Error) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(err.to_string());
        if let Some(cb) = &self.callback {
            let _ = catch_unwind(AssertUnwindSafe(|| cb(&err)));
        }
    }
}

#[derive(Debug)]
pub(crate) struct Pipeline {
    formatters: Vec<Formatter>,
    /// Per formatter: whether the current record is formatted yet, and its line.
    lines: Vec<(bool, Vec<u8>)>,
    /// Per formatter: whether it serves exactly one sink, which buffers (not a callback), so
    /// that records are formatted straight into that sink's buffer.
    direct: Vec<bool>,
    pub sinks: Vec<Sink>,
    retries: u32,
    fsync: Fsync,
    /// Per record of the current batch: whether some sink failed to take it.
    failed: Vec<bool>,
    /// Errors of the file sinks' background threads, reported at the next batch.
    background_errors: BackgroundErrors,
    /// Turns the records' TSC stamps into wall-clock time.
    clock: Converter,
    /// Deferred records: the call sites seen so far and the message being rendered.
    sites: SiteCache,
    rendered: Vec<u8>,
}

impl Pipeline {
    /// Opens every sink. `path` is the main file sink (if any).
    pub fn open(path: Option<&std::path::Path>, cfg: &Config) -> Result<Pipeline> {
        let mut p = Pipeline {
            formatters: Vec::new(),
            lines: Vec::new(),
            direct: Vec::new(),
            sinks: Vec::new(),
            retries: cfg.write_retries,
            fsync: cfg.fsync,
            failed: Vec::new(),
            background_errors: BackgroundErrors::default(),
            clock: Converter::default(),
            sites: SiteCache::default(),
            rendered: Vec::new(),
        };
        let key = match &cfg.lifecycle.key {
            Some(src) => Some(std::sync::Arc::new(Key::load(src)?)),
            None => None,
        };
        let background_errors = p.background_errors.clone();
        let file = |path: &std::path::Path| {
            FileSink::open(
                path,
                cfg.file_mode,
                &cfg.lifecycle,
                key.as_ref(),
                &background_errors,
            )
            .map(|f| Target::File(Box::new(f)))
        };
        let base = cfg.style();
        let with = |format: Option<_>, pattern: Option<&String>| Style {
            format: format.unwrap_or(base.format),
            pattern: pattern.cloned().or_else(|| base.pattern.clone()),
            json_keys: base.json_keys.clone(),
            color: false,
        };
        if let Some(path) = path {
            p.add(file(path)?, None, base.clone());
        }
        for f in &cfg.files {
            let path = f.path.as_ref().expect("validated");
            p.add(file(path)?, f.level, with(f.format, f.pattern.as_ref()));
        }
        if let Some(stream) = cfg.console {
            let mut style = with(cfg.console_format, None);
            style.color = style.format == Format::Text && cfg.console_color.applies_to(stream);
            p.add(Target::Console(stream), cfg.console_level, style);
        }
        if let Some(path) = &cfg.syslog {
            let ident = cfg
                .syslog_ident
                .clone()
                .unwrap_or_else(crate::sinks::syslog::default_ident);
            let sys = Syslog::open(path, cfg.syslog_facility, &ident).map_err(|e| {
                Error::io(
                    format!("cannot create a socket for syslog at {}", path.display()),
                    e,
                )
            })?;
            let mut style = with(cfg.syslog_format, cfg.syslog_pattern.as_ref());
            if cfg.syslog_pattern.is_none() {
                // The daemon adds the time, the level (as the priority) and the program.
                style.pattern = Some("{msg}{fields}".into());
            }
            p.add(Target::Syslog(Box::new(sys)), cfg.syslog_level, style);
        }
        for c in &cfg.callbacks {
            p.add(
                Target::Callback(c.callback.clone()),
                c.level,
                with(c.format, None),
            );
        }
        for cb in &cfg.batch_callbacks {
            p.add(Target::Batch(cb.clone()), None, base.clone());
        }
        p.direct = (0..p.formatters.len())
            .map(|fi| {
                let mut users = p.sinks.iter().filter(|s| s.formatter == fi);
                matches!((users.next(), users.next()), (Some(s), None) if s.buffers())
            })
            .collect();
        Ok(p)
    }

    fn add(&mut self, target: Target, level: Option<Level>, style: Style) {
        let formatter = match self.formatters.iter().position(|f| *f.style() == style) {
            Some(i) => i,
            None => {
                self.formatters.push(Formatter::new(style));
                self.lines.push((false, Vec::new()));
                self.formatters.len() - 1
            }
        };
        self.sinks.push(Sink {
            target,
            level,
            formatter,
            buf: Vec::new(),
            ends: Vec::new(),
        });
    }

    /// The lowest level any sink takes when the logger's level is `base`: the logger's gate.
    pub fn gate_level(&self, base: Level) -> Level {
        self.sinks
            .iter()
            .map(|s| s.level.unwrap_or(base))
            .min()
            .unwrap_or(base)
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Forgets bytes of a batch that a writer panic interrupted (its records are counted failed).
    pub fn discard_buffers(&mut self) {
        for s in &mut self.sinks {
            s.buf.clear();
            s.ends.clear();
        }
    }

    /// Formats and writes a batch; adds its outcome to the counters.
    pub fn process(
        &mut self,
        batch: &Batch,
        base: Level,
        counters: &Counters,
        errors: &ErrorReporter,
    ) {
        self.failed.clear();
        self.failed.resize(batch.len(), false);
        self.begin_files(counters, errors);
        if batch
            .metas
            .iter()
            .any(|m| matches!(m.stamp, Stamp::Ticks(_)))
        {
            self.clock.refresh();
        }
        for (i, m) in batch.metas.iter().enumerate() {
            self.one(i as u32, m, batch.payload(m), base, counters, errors);
            if self.sinks.iter().any(|s| s.buf.len() > MAX_SINK_BUFFER) {
                self.write_out(counters, errors);
            }
        }
        self.write_out(counters, errors);
        if self.fsync == Fsync::Batch {
            self.sync_files(errors);
        }
        for sink in &mut self.sinks {
            if let Target::File(fs) = &mut sink.target {
                fs.end_batch();
            }
        }
        let failed = self.failed.iter().filter(|f| **f).count() as u64;
        Counters::add(&counters.failed, failed);
        Counters::add(&counters.written, batch.len() as u64 - failed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
    }

    fn one(
        &mut self,
        idx: u32,
        m: &Meta,
        payload: &[u8],
        base: Level,
        counters: &Counters,
        errors: &ErrorReporter,
    ) {
        let level = Level::new(i32::from(m.level)).unwrap_or(Level::FATAL);
        let ts = self.clock.ns(m.stamp);
        let rec = match m.kind {
            Kind::Plain => RecordRef {
                ts,
                level,
                msg: payload,
                source: None,
                fields: None,
            },
            Kind::Structured => match Decoded::parse(payload) {
                Some(d) => RecordRef {
                    ts,
                    level,
                    msg: d.msg,
                    source: d.source,
                    fields: Some(d),
                },
                None => return self.malformed(idx, counters, errors),
            },
            Kind::Deferred => {
                // Both are lent to the record while `emit` borrows the pipeline: moved out and
                // back (a few words each), not cloned.
                let mut text = std::mem::take(&mut self.rendered);
                let mut sites = std::mem::take(&mut self.sites);
                text.clear();
                match deferred::render(payload, &mut sites, &mut text) {
                    Some(site) => {
                        let rec = RecordRef {
                            ts,
                            level,
                            msg: &text,
                            source: Some(site.source()),
                            fields: None,
                        };
                        self.emit(idx, level, &rec, base, counters, errors);
                    }
                    None => self.malformed(idx, counters, errors),
                }
                self.rendered = text;
                self.sites = sites;
                return;
            }
        };
        self.emit(idx, level, &rec, base, counters, errors);
    }

    /// Only a bug could produce a payload that does not decode: encoding is ours. Count it as
    /// failed, never guess.
    #[cold]
    fn malformed(&mut self, idx: u32, counters: &Counters, errors: &ErrorReporter) {
        self.failed[idx as usize] = true;
        counters.write_errors.fetch_add(1, Ordering::Relaxed);
        errors.report(Error::invalid("internal error: malformed record payload"));
    }

    /// Formats a record once per style and appends it to every sink that takes its level. A
    /// style that only one buffering sink uses is formatted straight into that sink's buffer;
    /// a shared style is formatted once and copied to each sink.
    fn emit(
        &mut self,
        idx: u32,
        level: Level,
        rec: &RecordRef<'_>,
        base: Level,
        counters: &Counters,
        errors: &ErrorReporter,
    ) {
        for line in self.lines.iter_mut() {
            line.0 = false;
        }
        for si in 0..self.sinks.len() {
            let fi = self.sinks[si].formatter;
            if level < self.sinks[si].level.unwrap_or(base) {
                continue;
            }
            let sink = &mut self.sinks[si];
            if self.direct[fi] {
                let pending = sink.buf.len();
                self.formatters[fi].format(rec, &mut sink.buf);
                sink.buf.push(b'\n');
                if needs_rotation(sink, pending, sink.buf.len() - pending, rec.ts) {
                    // Rare: the line goes to the next file, after the buffer before it.
                    let line = sink.buf.split_off(pending);
                    self.rotate(si, rec.ts, counters, errors);
                    self.sinks[si].buf.extend_from_slice(&line);
                }
                let sink = &mut self.sinks[si];
                sink.ends.push((sink.buf.len(), idx));
                continue;
            }
            let (done, line) = &mut self.lines[fi];
            if !*done {
                line.clear();
                self.formatters[fi].format(rec, line);
                *done = true;
            }
            if needs_rotation(sink, sink.buf.len(), line.len() + 1, rec.ts) {
                self.rotate(si, rec.ts, counters, errors);
            }
            let sink = &mut self.sinks[si];
            let line = &mut self.lines[fi].1;
            match &mut sink.target {
                Target::Syslog(sys) => {
                    if let Err(e) = sys.send(level, rec.ts, line) {
                        self.failed[idx as usize] = true;
                        counters.write_errors.fetch_add(1, Ordering::Relaxed);
                        let what = format!("sending to syslog at {}", sys.path().display());
                        errors.report(Error::io(what, e));
                    }
                }
                Target::Callback(cb) => {
                    let n = line.len();
                    line.push(0);
                    let ok = catch_unwind(AssertUnwindSafe(|| cb(level, &line[..n]))).is_ok();
                    line.truncate(n);
                    if !ok {
                        self.failed[idx as usize] = true;
                        counters.write_errors.fetch_add(1, Ordering::Relaxed);
                        errors.report(Error::invalid("callback sink panicked"));
                    }
                }
                _ => {
                    sink.buf.extend_from_slice(line);
                    sink.buf.push(b'\n');
                    sink.ends.push((sink.buf.len(), idx));
                }
            }
        }
    }

    /// Writes out sink `si`'s buffer and moves its file on to the next one.
    fn rotate(&mut self, si: usize, ts: i64, counters: &Counters, errors: &ErrorReporter) {
        let sink = &mut self.sinks[si];
        write_sink(sink, self.retries, &mut self.failed, counters, errors);
        if let Target::File(fs) = &mut sink.target {
            match fs.rotate(ts) {
                Ok(()) => Counters::add(&counters.rotations, 1),
                Err(e) => errors.report(e),
            }
        }
    }

    /// Starts a batch on every file sink (lock, reopen check) and reports the background
    /// threads' errors.
    fn begin_files(&mut self, counters: &Counters, errors: &ErrorReporter) {
        let deferred = std::mem::take(&mut *crate::writer::shared::lock(&self.background_errors));
        for e in deferred {
            errors.report(e);
        }
        let requests = counters.reopen_requests.load(Ordering::SeqCst);
        for sink in &mut self.sinks {
            if let Target::File(fs) = &mut sink.target {
                if let Err(e) = fs.begin_batch(requests) {
                    counters.write_errors.fetch_add(1, Ordering::Relaxed);
                    errors.report(e);
                }
            }
        }
    }

    /// Writes every sink's buffer; records whose bytes did not all get out are failed.
    fn write_out(&mut self, counters: &Counters, errors: &ErrorReporter) {
        for sink in &mut self.sinks {
            write_sink(sink, self.retries, &mut self.failed, counters, errors);
        }
    }

    /// fsyncs every file sink.
    pub fn sync_files(&mut self, errors: &ErrorReporter) {
        for sink in &mut self.sinks {
            if let Err(e) = sink.target.sync() {
                errors.report(Error::io(format!("fsync of {}", sink.target.describe()), e));
            }
        }
    }

    /// Closes the sinks, waiting for their queued compressions, and reports what the
    /// background threads ran into since the last batch.
    pub fn close(mut self, errors: &ErrorReporter) {
        self.sinks.clear();
        let deferred = std::mem::take(&mut *crate::writer::shared::lock(&self.background_errors));
        for e in deferred {
            errors.report(e);
        }
    }

    /// Whether `flush()`/`close()` should fsync.
    pub fn fsync_on_flush(&self) -> bool {
        self.fsync != Fsync::Never
    }
}

/// Whether a file sink must rotate before a line of `line` bytes that would follow `pending`
/// buffered bytes.
fn needs_rotation(sink: &mut Sink, pending: usize, line: usize, ts: i64) -> bool {
    match &mut sink.target {
        Target::File(fs) => fs.before_record(pending, line, ts),
        _ => false,
    }
}

/// Writes one sink's buffer; records whose bytes did not all get out are failed.
fn write_sink(
    sink: &mut Sink,
    retries: u32,
    failed: &mut [bool],
    counters: &Counters,
    errors: &ErrorReporter,
) {
    if sink.buf.is_empty() {
        return;
    }
    let (n, err) = sink.target.write_all(&sink.buf, retries, &mut |_| {
        counters.write_errors.fetch_add(1, Ordering::Relaxed);
    });
    Counters::add(&counters.bytes_written, n as u64);
    if let Some(e) = err {
        let lost = sink.ends.iter().filter(|(end, _)| *end > n).count();
        for (_, idx) in sink.ends.iter().filter(|(end, _)| *end > n) {
            failed[*idx as usize] = true;
        }
        let what = sink.target.describe();
        errors.report(Error::io(format!("writing {lost} records to {what}"), e));
    }
    sink.buf.clear();
    sink.ends.clear();
}
