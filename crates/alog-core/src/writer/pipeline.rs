//! Formatting and writing a batch: each record is formatted once per distinct style and
//! appended to the buffer of every sink that takes its level. File sinks write their buffer
//! in one write, here (they wait for the disk); every other sink gets its buffer through its
//! own [`Lane`], so that a slow one delays only itself. The pipeline is the same for the
//! writer pool and for sync mode.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::front::clock::{Converter, Stamp};
use crate::front::config::{Config, ErrorCallback, Format, Fsync, Style};
use crate::front::error::{Error, Result};
use crate::front::level::Level;
use crate::front::record::Decoded;
use crate::front::stats::{Counters, SinkCounters};
use crate::queue::{Batch, Kind, Meta};
use crate::render::deferred::{self, SiteCache};
use crate::render::format::{Formatter, RecordRef};
use crate::sinks::file::crypt::Key;
use crate::sinks::file::housekeeping::BackgroundErrors;
use crate::sinks::file::rotate::FileSink;
use crate::sinks::syslog::Syslog;
use crate::sinks::target::Target;
use crate::writer::lane::{Lane, Line, Ticket, DROPPED, FAILED};
use crate::writer::shared::Shared;

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

/// Where a sink's bytes go from the pipeline.
#[derive(Debug)]
pub(crate) enum Out {
    /// Written by the pipeline itself (files: they wait for the disk).
    Inline(Target),
    /// Handed to the sink's lane.
    Lane(Arc<Lane>),
}

/// One configured sink with its level, its formatter and its pending batch bytes.
#[derive(Debug)]
pub(crate) struct Sink {
    pub out: Out,
    /// The sink's own minimum level; `None` follows the logger's level.
    pub level: Option<Level>,
    /// Index of the formatter in the pipeline.
    pub formatter: usize,
    /// Bytes of the current batch, and where each record's line ends in it.
    pub buf: Vec<u8>,
    pub lines: Vec<Line>,
    pub counters: Arc<SinkCounters>,
    /// A shared file's batches that found its lock held by another process: they wait, in
    /// order, for the lock (up to [`MAX_HELD`] bytes), holding their batches' tickets.
    held: VecDeque<Held>,
    held_bytes: usize,
}

/// What `backtrace` makes of a record.
enum Backtrace {
    /// Kept in the ring (no sink takes it at the logger's level).
    Kept,
    /// Written after the ring's records, which come with it.
    Show(VecDeque<(Meta, Vec<u8>)>),
    Pass,
}

/// A batch of a file sink waiting for the lock file.
#[derive(Debug)]
struct Held {
    buf: Vec<u8>,
    lines: Vec<Line>,
    ticket: Arc<Ticket>,
}

/// The most bytes a file sink keeps while another process holds its lock file; beyond it the
/// oldest waiting batch is dropped and counted.
const MAX_HELD: usize = 4 << 20;

impl Sink {
    /// Closes a sink taken out of its pipeline: a lane writes what it holds until `deadline`
    /// (false if it still holds records then); a file closes.
    pub fn close(self, deadline: Option<Instant>) -> bool {
        match &self.out {
            Out::Lane(l) => {
                l.close();
                l.wait_idle(deadline)
            }
            Out::Inline(_) => true,
        }
    }

    fn file(&mut self) -> Option<&mut crate::sinks::file::rotate::FileSink> {
        match &mut self.out {
            Out::Inline(Target::File(fs)) => Some(fs),
            _ => None,
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
    /// The batch being processed.
    ticket: Option<Arc<Ticket>>,
    /// Errors of the file sinks' background threads, reported at the next batch.
    background_errors: BackgroundErrors,
    /// Turns the records' TSC stamps into wall-clock time.
    clock: Converter,
    /// Deferred records: the call sites seen so far and the message being rendered.
    sites: SiteCache,
    rendered: Vec<u8>,
    /// The logger's level for the records being processed, and the changes still ahead: from
    /// queue position `.0` on, records were accepted under level `.1`. A record is filtered
    /// by the level in force when it was accepted, never by a later one.
    base: Level,
    level_changes: std::collections::VecDeque<(u64, Level)>,
    /// `backtrace`: records below the level, oldest first, with their payloads.
    backtrace: VecDeque<(Meta, Vec<u8>)>,
    backtrace_cap: usize,
    backtrace_level: Level,
    /// The logger's configuration, which sinks added later start from.
    config: Config,
    /// Callback and batch-callback sinks made so far (their names number them).
    callbacks_made: usize,
    batch_callbacks_made: usize,
}

impl Pipeline {
    /// Opens every sink. `path` is the main file sink (if any).
    pub fn open(path: Option<&std::path::Path>, cfg: &Config) -> Result<Pipeline> {
        let mut p = Pipeline::empty(cfg);
        p.open_sinks(path, cfg)?;
        Ok(p)
    }

    /// A pipeline of `cfg`'s settings without sinks.
    fn empty(cfg: &Config) -> Pipeline {
        Pipeline {
            formatters: Vec::new(),
            lines: Vec::new(),
            direct: Vec::new(),
            sinks: Vec::new(),
            retries: cfg.write_retries,
            fsync: cfg.fsync,
            ticket: None,
            background_errors: BackgroundErrors::default(),
            clock: Converter::default(),
            sites: SiteCache::default(),
            rendered: Vec::new(),
            base: cfg.level,
            level_changes: Default::default(),
            backtrace: VecDeque::new(),
            backtrace_cap: cfg.backtrace,
            backtrace_level: cfg.backtrace_level,
            config: cfg.clone(),
            callbacks_made: 0,
            batch_callbacks_made: 0,
        }
    }

    /// Opens the sinks `cfg` defines (and `path`, the main file) and adds them.
    fn open_sinks(&mut self, path: Option<&std::path::Path>, cfg: &Config) -> Result<()> {
        let p = self;
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
            multiline: base.multiline,
            level_names: base.level_names.clone(),
            rfc5424: false,
            otlp: false,
            local_time: base.local_time,
            logger: base.logger.clone(),
        };
        let stall = cfg.stall_timeout;
        let retries = cfg.write_retries;
        let lane = move |t: Target, lc, name: String| {
            let counters = Arc::new(SinkCounters::new(name, t.describe()));
            Out::Lane(Lane::new(t, lc, stall, retries, counters))
        };
        if let Some(path) = path {
            p.add("file".into(), Out::Inline(file(path)?), None, base.clone());
        }
        for f in &cfg.files {
            let path = f.path.as_ref().expect("validated");
            let style = with(f.format, f.pattern.as_ref());
            p.add(
                format!("file.{}", f.name),
                Out::Inline(file(path)?),
                f.level,
                style,
            );
        }
        if let Some(stream) = cfg.console {
            let mut style = with(cfg.console_format, None);
            style.color = style.format == Format::Text && cfg.console_color.applies_to(stream);
            let out = lane(Target::Console(stream), cfg.console_lane, "console".into());
            p.add("console".into(), out, cfg.console_level, style);
        }
        if let Some(addr) = &cfg.syslog {
            let ident = cfg
                .syslog_ident
                .clone()
                .unwrap_or_else(crate::sinks::syslog::default_ident);
            let sys = Syslog::open(addr, cfg.syslog_facility, &ident, &cfg.syslog_tls)?;
            let mut style = with(cfg.syslog_format, cfg.syslog_pattern.as_ref());
            style.rfc5424 = sys.rfc5424();
            if cfg.syslog_pattern.is_none() {
                // The daemon adds the time, the level (as the priority) and the program; over
                // the network the fields travel as RFC 5424 structured data.
                let pattern = if style.rfc5424 {
                    "{msg}"
                } else {
                    "{msg}{fields}"
                };
                style.pattern = Some(pattern.into());
            }
            let out = lane(
                Target::Syslog(Box::new(sys)),
                cfg.syslog_lane,
                "syslog".into(),
            );
            p.add("syslog".into(), out, cfg.syslog_level, style);
        }
        if let Some(path) = &cfg.sqlite {
            let target = crate::sinks::target::open_sqlite(path, cfg)?;
            let out = lane(target, cfg.sqlite_lane, "sqlite".into());
            // Rows, not lines: the sink stores the record's parts as columns.
            let style = Style {
                format: Format::Row,
                ..with(None, None)
            };
            p.add("sqlite".into(), out, cfg.sqlite_level, style);
        }
        if let Some(addr) = &cfg.otlp {
            let service = cfg
                .otlp_service_name
                .clone()
                .unwrap_or_else(crate::sinks::syslog::default_ident);
            let o = crate::sinks::otlp::Otlp::open(addr, &service)?;
            // Each line is the record's OTLP LogRecord; format and pattern do not apply.
            let mut style = with(Some(Format::Json), None);
            style.pattern = None;
            style.otlp = true;
            let out = lane(Target::Otlp(Box::new(o)), cfg.otlp_lane, "otlp".into());
            p.add("otlp".into(), out, cfg.otlp_level, style);
        }
        for c in &cfg.callbacks {
            let name = format!("callback.{}", p.callbacks_made);
            p.callbacks_made += 1;
            let out = lane(
                Target::Callback(c.callback.clone()),
                cfg.callback_lane,
                name.clone(),
            );
            p.add(name, out, c.level, with(c.format, None));
        }
        for cb in &cfg.batch_callbacks {
            let name = format!("batch_callback.{}", p.batch_callbacks_made);
            p.batch_callbacks_made += 1;
            let out = lane(Target::Batch(cb.clone()), cfg.callback_lane, name.clone());
            p.add(name, out, None, base.clone());
        }
        p.sinks_changed();
        distinct_files(&[], &p.sinks)
    }

    /// After sinks came or went: which formatters write straight into their one sink.
    fn sinks_changed(&mut self) {
        self.direct = (0..self.formatters.len())
            .map(|fi| {
                let mut users = self.sinks.iter().filter(|s| s.formatter == fi);
                matches!((users.next(), users.next()), (Some(_), None))
            })
            .collect();
    }

    /// What a sink added to the open logger is made from: taken under the sinks' lock, used
    /// without it (opening a file or a connection must not stop the writer).
    pub fn template(&self) -> Template {
        Template {
            config: self.config.clone(),
            callbacks_made: self.callbacks_made,
            batch_callbacks_made: self.batch_callbacks_made,
            background_errors: self.background_errors.clone(),
        }
    }

    fn check_new_names(&self, added: &Pipeline) -> Result<()> {
        for s in &added.sinks {
            if self
                .sinks
                .iter()
                .any(|o| o.counters.name == s.counters.name)
            {
                return Err(Error::invalid(format!(
                    "the logger already has a sink named {:?}: remove it first",
                    s.counters.name
                )));
            }
        }
        Ok(())
    }

    /// Adds the sinks of `added` (from [`Template::open`]); returns their names. The
    /// sinks take the records of the batches processed from now on.
    pub fn insert(&mut self, mut added: Pipeline) -> Result<Vec<String>> {
        self.check_new_names(&added)?;
        distinct_files(&self.sinks, &added.sinks)?;
        self.callbacks_made = self.callbacks_made.max(added.callbacks_made);
        self.batch_callbacks_made = self.batch_callbacks_made.max(added.batch_callbacks_made);
        let mut names = Vec::new();
        for mut sink in added.sinks.drain(..) {
            let style = added.formatters[sink.formatter].style().clone();
            sink.formatter = self.formatter_for(style);
            names.push(sink.counters.name.clone());
            self.sinks.push(sink);
        }
        self.sinks_changed();
        Ok(names)
    }

    /// Takes the sink named `name` out (between batches: its buffers are empty); what its
    /// file still keeps for another process's lock fails, counted. The last sink stays.
    pub fn remove(&mut self, name: &str, errors: &ErrorReporter) -> Result<Sink> {
        let Some(i) = self.sinks.iter().position(|s| s.counters.name == name) else {
            let names: Vec<&str> = self.sinks.iter().map(|s| &*s.counters.name).collect();
            return Err(Error::invalid(format!(
                "no sink named {name:?}; the logger's sinks: {}",
                names.join(", ")
            )));
        };
        if self.sinks.len() == 1 {
            return Err(Error::invalid(format!(
                "{name:?} is the logger's last sink: close the logger instead"
            )));
        }
        let mut sink = self.sinks.remove(i);
        fail_held_of(&mut sink, errors);
        self.sinks_changed();
        Ok(sink)
    }

    /// Whether a sink shows records' fields or source (else a binding may leave them out).
    pub fn shows_fields(&self) -> bool {
        self.sinks
            .iter()
            .any(|s| self.formatters[s.formatter].shows_fields())
    }

    /// The level of the records the logger takes now.
    pub fn current_level(&self) -> Level {
        self.level_changes.back().map_or(self.base, |&(_, l)| l)
    }

    /// The formatter of `style`, shared by every sink of that style.
    fn formatter_for(&mut self, style: Style) -> usize {
        match self.formatters.iter().position(|f| *f.style() == style) {
            Some(i) => i,
            None => {
                self.formatters.push(Formatter::new(style));
                self.lines.push((false, Vec::new()));
                self.formatters.len() - 1
            }
        }
    }

    fn add(&mut self, name: String, out: Out, level: Option<Level>, style: Style) {
        let formatter = self.formatter_for(style);
        let counters = match &out {
            Out::Lane(l) => l.counters.clone(),
            Out::Inline(t) => Arc::new(SinkCounters::new(name, t.describe())),
        };
        self.sinks.push(Sink {
            out,
            level,
            formatter,
            buf: Vec::new(),
            lines: Vec::new(),
            counters,
            held: VecDeque::new(),
            held_bytes: 0,
        });
    }

    /// Fails what file sinks still keep for their lock file (the logger closes).
    pub fn fail_held(&mut self, errors: &ErrorReporter) {
        for sink in &mut self.sinks {
            fail_held_of(sink, errors);
        }
    }

    /// Whether a file sink keeps batches waiting for its lock file.
    pub fn has_held(&self) -> bool {
        self.sinks.iter().any(|s| !s.held.is_empty())
    }

    /// Tries again to write what file sinks keep for their lock file (the writer calls it at
    /// its batch timeout while no new records come).
    pub fn retry_held(&mut self, s: &Shared) {
        if !self.has_held() {
            return;
        }
        let (counters, errors) = (&s.counters, &s.errors);
        self.begin_files(counters, errors);
        self.write_out(counters, errors);
        for sink in &mut self.sinks {
            if let Some(fs) = sink.file() {
                fs.end_batch();
            }
        }
    }

    /// Every sink's counters, in configuration order.
    pub fn sink_counters(&self) -> Vec<Arc<SinkCounters>> {
        self.sinks.iter().map(|s| s.counters.clone()).collect()
    }

    /// Waits until every lane has written (or dropped, under its policy) what it holds, or
    /// `deadline` passes; true when all are idle.
    pub fn wait_lanes(&self, deadline: Option<Instant>) -> bool {
        self.sinks.iter().all(|s| match &s.out {
            Out::Lane(l) => l.wait_idle(deadline),
            Out::Inline(_) => true,
        })
    }

    /// The lanes, for waiting on them without the pipeline's lock (a fork takes that lock).
    pub fn lanes(&self) -> Vec<Arc<Lane>> {
        self.sinks
            .iter()
            .filter_map(|s| match &s.out {
                Out::Lane(l) => Some(l.clone()),
                Out::Inline(_) => None,
            })
            .collect()
    }

    /// Whether every `Block` lane has room for another batch (see [`Lane::has_room`]).
    pub fn lanes_have_room(&self) -> bool {
        self.sinks.iter().all(|s| match &s.out {
            Out::Lane(l) => l.has_room(),
            Out::Inline(_) => true,
        })
    }

    /// Whether every lane is empty.
    pub fn lanes_idle(&self) -> bool {
        self.sinks.iter().all(|s| match &s.out {
            Out::Lane(l) => l.is_idle(),
            Out::Inline(_) => true,
        })
    }

    /// In a fork child: the lanes' backlogs are the parent's.
    pub fn reset_in_child(&self) {
        for s in &self.sinks {
            match &s.out {
                Out::Lane(l) => l.reset_in_child(),
                Out::Inline(_) => s.counters.reset_after_fork(),
            }
        }
    }

    /// The logger's level becomes `level` for records from queue position `from` on (`None`:
    /// for every record not yet processed, as in sync mode).
    pub fn level_changed(&mut self, from: Option<u64>, level: Level) {
        match from {
            Some(pos) => self.level_changes.push_back((pos, level)),
            None => {
                self.level_changes.clear();
                self.base = level;
            }
        }
    }

    /// The lowest level any sink takes when the logger's level is `base`: the logger's gate.
    pub fn gate_level(&self, base: Level) -> Level {
        if self.backtrace_cap > 0 {
            // Every record reaches the writer: those below the level wait in the backtrace.
            return Level::TRACE;
        }
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
            s.lines.clear();
        }
        if let Some(t) = self.ticket.take() {
            t.release();
        }
    }

    /// Formats a batch, writes it to the file sinks and hands it to the lanes. Its outcome
    /// reaches the counters when the last sink is done with it. `end` is the queue position
    /// after the batch.
    pub fn process(&mut self, s: &Shared, batch: &Batch, end: u64) {
        let ticket = Ticket::new(s.arc(), batch.len(), end);
        self.ticket = Some(ticket.clone());
        let (counters, errors) = (&s.counters, &s.errors);
        self.begin_files(counters, errors);
        if batch
            .metas
            .iter()
            .any(|m| matches!(m.stamp, Stamp::Ticks(_)))
        {
            self.clock.refresh();
        }
        let start = end.saturating_sub(batch.len() as u64);
        for (i, m) in batch.metas.iter().enumerate() {
            while let Some(&(from, level)) = self.level_changes.front() {
                if from > start + i as u64 {
                    break;
                }
                self.base = level;
                self.level_changes.pop_front();
            }
            let base = self.base;
            if self.backtrace_cap > 0 {
                match self.backtrace(m, batch.payload(m), base) {
                    Backtrace::Kept => continue,
                    Backtrace::Show(ring) => {
                        // Their lines count toward the record that shows them.
                        for (kept, payload) in &ring {
                            self.one(i as u32, kept, payload, Level::TRACE, counters, errors);
                        }
                    }
                    Backtrace::Pass => {}
                }
            }
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
            if let Some(fs) = sink.file() {
                fs.end_batch();
            }
        }
        counters.batches.fetch_add(1, Ordering::Relaxed);
        self.ticket = None;
        ticket.release();
    }

    /// `backtrace`: keeps a record that no sink takes at `base` (it counts as written: the
    /// ring is where it went) and says so; before a record at `backtrace.level` or above,
    /// hands over what the ring keeps, to be written first (each sink by its own level).
    fn backtrace(&mut self, m: &Meta, payload: &[u8], base: Level) -> Backtrace {
        let level = Level::new(i32::from(m.level)).unwrap_or(Level::FATAL);
        if self.sinks.iter().all(|s| level < s.level.unwrap_or(base)) {
            if self.backtrace.len() == self.backtrace_cap {
                self.backtrace.pop_front();
            }
            let stamp = Stamp::Ns(self.clock.ns(m.stamp));
            let kept = Meta {
                stamp,
                start: 0,
                ..*m
            };
            self.backtrace.push_back((kept, payload.to_vec()));
            return Backtrace::Kept;
        }
        if level >= self.backtrace_level && !self.backtrace.is_empty() {
            return Backtrace::Show(std::mem::take(&mut self.backtrace));
        }
        Backtrace::Pass
    }

    fn mark_failed(&self, idx: u32) {
        if let Some(t) = &self.ticket {
            t.mark_idx(idx as usize, FAILED);
        }
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
                tid: m.tid,
                msg: payload,
                source: None,
                source_cached: None,
                fields: None,
            },
            Kind::Structured => match Decoded::parse(payload) {
                Some(d) => RecordRef {
                    ts,
                    level,
                    tid: m.tid,
                    msg: d.msg,
                    source: d.source,
                    source_cached: None,
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
                            tid: m.tid,
                            msg: &text,
                            source: site.source(),
                            source_cached: Some(&site.source_cached),
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
        self.mark_failed(idx);
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
            let at = |end| Line {
                end,
                idx,
                level,
                ts: rec.ts,
            };
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
                sink.lines.push(at(sink.buf.len()));
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
            sink.buf.extend_from_slice(&self.lines[fi].1);
            sink.buf.push(b'\n');
            sink.lines.push(at(sink.buf.len()));
        }
    }

    /// Writes out sink `si`'s buffer and moves its file on to the next one.
    fn rotate(&mut self, si: usize, ts: i64, counters: &Counters, errors: &ErrorReporter) {
        let ticket = self.ticket.clone();
        let sink = &mut self.sinks[si];
        write_sink(sink, self.retries, ticket.as_ref(), counters, errors);
        if let Some(fs) = sink.file() {
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
            if let Some(fs) = sink.file() {
                if let Err(e) = fs.begin_batch(requests) {
                    counters.write_errors.fetch_add(1, Ordering::Relaxed);
                    errors.report(e);
                }
            }
        }
    }

    /// Writes every sink's buffer; records whose bytes did not all get out are failed.
    fn write_out(&mut self, counters: &Counters, errors: &ErrorReporter) {
        let ticket = self.ticket.clone();
        for sink in &mut self.sinks {
            write_sink(sink, self.retries, ticket.as_ref(), counters, errors);
        }
    }

    /// fsyncs every file sink.
    pub fn sync_files(&mut self, errors: &ErrorReporter) {
        for sink in &mut self.sinks {
            if let Out::Inline(t) = &mut sink.out {
                if let Err(e) = t.sync() {
                    errors.report(Error::io(format!("fsync of {}", t.describe()), e));
                }
            }
        }
    }

    /// Closes the sinks, waiting for their queued compressions, and reports what the
    /// background threads ran into since the last batch.
    pub fn close(mut self, errors: &ErrorReporter) {
        self.fail_held(errors);
        for s in &self.sinks {
            if let Out::Lane(l) = &s.out {
                l.close();
            }
        }
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
    match sink.file() {
        Some(fs) => fs.before_record(pending, line, ts),
        None => false,
    }
}

/// Writes one inline sink's buffer (records whose bytes did not all get out are failed), or
/// hands a lane its part of the batch. A shared file whose lock another process holds keeps
/// the batch, after those it already keeps, for a later try.
fn write_sink(
    sink: &mut Sink,
    retries: u32,
    ticket: Option<&Arc<Ticket>>,
    counters: &Counters,
    errors: &ErrorReporter,
) {
    if let Out::Lane(lane) = &mut sink.out {
        if !sink.lines.is_empty() {
            if let Some(t) = ticket {
                lane.push(
                    std::mem::take(&mut sink.buf),
                    std::mem::take(&mut sink.lines),
                    t,
                );
            }
        }
        sink.buf.clear();
        sink.lines.clear();
        return;
    }
    // What waits for the lock goes first, in order.
    while let Some(h) = sink.held.pop_front() {
        match write_lines(
            sink,
            &h.buf,
            &h.lines,
            retries,
            Some(&h.ticket),
            counters,
            errors,
        ) {
            Some(()) => {
                sink.held_bytes -= h.buf.len();
                h.ticket.release();
            }
            None => {
                sink.held.push_front(h);
                break;
            }
        }
    }
    if sink.lines.is_empty() {
        return;
    }
    Counters::add(&sink.counters.taken, sink.lines.len() as u64);
    let (buf, lines) = (
        std::mem::take(&mut sink.buf),
        std::mem::take(&mut sink.lines),
    );
    let wrote = if sink.held.is_empty() {
        write_lines(sink, &buf, &lines, retries, ticket, counters, errors)
    } else {
        None
    };
    if wrote.is_none() {
        match ticket {
            Some(t) => hold(sink, buf, lines, t),
            None => fail_lines(sink, &lines, "no batch to keep them for"),
        }
    } else {
        // Keep the buffers' capacity for the next batch.
        (sink.buf, sink.lines) = (buf, lines);
        sink.buf.clear();
        sink.lines.clear();
    }
}

/// Writes `buf` (whose records end as `lines` say) to an inline sink. `None`: nothing was
/// written because another process holds the file's lock (the caller keeps the batch);
/// otherwise records whose bytes did not all get out are failed.
fn write_lines(
    sink: &mut Sink,
    buf: &[u8],
    lines: &[Line],
    retries: u32,
    ticket: Option<&Arc<Ticket>>,
    counters: &Counters,
    errors: &ErrorReporter,
) -> Option<()> {
    let Out::Inline(target) = &mut sink.out else {
        return Some(());
    };
    let c = &sink.counters;
    let (n, err) = target.write_all(buf, retries, &mut |_| {
        counters.write_errors.fetch_add(1, Ordering::Relaxed);
        c.write_errors.fetch_add(1, Ordering::Relaxed);
    });
    if n == 0 && err.as_ref().is_some_and(FileSink::is_lock_busy) {
        let e = err.expect("checked");
        let what = target.describe();
        let e = Error::io(
            format!("{} records for {what} wait for the lock", lines.len()),
            e,
        );
        c.set_error(&e.to_string());
        errors.report(e);
        return None;
    }
    Counters::add(&counters.bytes_written, n as u64);
    Counters::add(&c.bytes_written, n as u64);
    let ok = lines.partition_point(|l| l.end <= n);
    Counters::add(&c.written, ok as u64);
    if let Some(e) = err {
        let lost = &lines[ok..];
        Counters::add(&c.failed, lost.len() as u64);
        if let Some(t) = ticket {
            t.mark(lost, FAILED);
        }
        let what = target.describe();
        let e = Error::io(format!("writing {} records to {what}", lost.len()), e);
        c.set_error(&e.to_string());
        errors.report(e);
    }
    Some(())
}

/// Keeps a batch for the lock file; beyond [`MAX_HELD`] the oldest kept batches are dropped
/// and counted.
fn hold(sink: &mut Sink, buf: Vec<u8>, lines: Vec<Line>, ticket: &Arc<Ticket>) {
    ticket.hold();
    sink.held_bytes += buf.len();
    sink.held.push_back(Held {
        buf,
        lines,
        ticket: ticket.clone(),
    });
    while sink.held_bytes > MAX_HELD && sink.held.len() > 1 {
        let h = sink.held.pop_front().expect("more than one");
        sink.held_bytes -= h.buf.len();
        Counters::add(&sink.counters.dropped, h.lines.len() as u64);
        h.ticket.mark(&h.lines, DROPPED);
        sink.counters.set_error(&format!(
            "dropped {} records: another process has held the lock for more than {} MiB of them",
            h.lines.len(),
            MAX_HELD >> 20
        ));
        h.ticket.release();
    }
}

/// Fails `lines` of an inline sink with `why`.
fn fail_lines(sink: &mut Sink, lines: &[Line], why: &str) {
    Counters::add(&sink.counters.failed, lines.len() as u64);
    sink.counters.set_error(why);
    sink.buf.clear();
    sink.lines.clear();
}

/// See [`Pipeline::template`].
pub(crate) struct Template {
    config: Config,
    callbacks_made: usize,
    batch_callbacks_made: usize,
    background_errors: BackgroundErrors,
}

impl Template {
    /// Opens the one sink `spec` defines (see [`Config::sink_keys`]) in a pipeline of its own,
    /// which [`Pipeline::insert`] adds to the logger's. Also says whether it prints threads.
    pub fn open(self, spec: &Config) -> Result<(Pipeline, bool)> {
        let cfg = self.config.sink_keys(spec)?;
        let mut p = Pipeline::empty(&cfg);
        // Its files' background threads report to the logger's pipeline.
        p.background_errors = self.background_errors;
        p.callbacks_made = self.callbacks_made;
        p.batch_callbacks_made = self.batch_callbacks_made;
        p.open_sinks(None, &cfg)?;
        Ok((p, cfg.shows_thread()))
    }
}

/// Two file sinks on one file would write every line twice: `new` sinks are refused, naming
/// both, when one of them writes where an `old` or an earlier `new` one does.
fn distinct_files(old: &[Sink], new: &[Sink]) -> Result<()> {
    let id = |s: &Sink| match &s.out {
        Out::Inline(Target::File(f)) => {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(f.path()).ok().map(|m| (m.dev(), m.ino()))
        }
        _ => None,
    };
    for (i, n) in new.iter().enumerate() {
        let Some(nid) = id(n) else { continue };
        if let Some(o) = old.iter().chain(&new[..i]).find(|o| id(o) == Some(nid)) {
            return Err(Error::invalid(format!(
                "sink {:?} would write to the same file as sink {:?} ({}): give each file one \
                 sink",
                n.counters.name, o.counters.name, n.counters.target
            )));
        }
    }
    Ok(())
}

/// Fails what a file sink keeps for its lock file (its logger closes, or the sink goes).
fn fail_held_of(sink: &mut Sink, errors: &ErrorReporter) {
    let what = match &sink.out {
        Out::Inline(t) => t.describe(),
        Out::Lane(_) => return,
    };
    while let Some(h) = sink.held.pop_front() {
        sink.held_bytes -= h.buf.len();
        Counters::add(&sink.counters.failed, h.lines.len() as u64);
        h.ticket.mark(&h.lines, FAILED);
        let e = Error::invalid(format!(
            "{} records for {what} failed: another process still held the lock when the sink \
             closed",
            h.lines.len()
        ));
        sink.counters.set_error(&e.to_string());
        errors.report(e);
        h.ticket.release();
    }
}
