//! `durability=mmap` on the caller's side and at open: a call journals its record
//! (`queue::journal`) before it returns, and an open first writes what a crashed process left
//! in the journal.
//!
//! A call on this path: takes the timestamp in nanoseconds (a TSC reading means nothing to
//! another process), claims room in the journal (the overflow policy applies when there is
//! none), encodes the record there, publishes a copy in the in-memory queue, then commits the
//! journal entry with the record's queue position. The writer raises the journal's settled
//! position after each batch (`writer::shared::notify_progress`), which frees the entries.
//! An `ALOG_LOGF` record is formatted on the caller: its call site's id would mean nothing to
//! the next process.
//!
//! Recovered records are written through the pipeline on the opening thread, before the
//! writer starts, so they precede every new record; they count in the new logger's stats as
//! records submitted (and written, or failed) like those of `sync` mode.
//!
//! Exactly once: the process may have died while writing a batch, after `write(2)` put some
//! of its lines in the log and before the journal noted them settled. When the log is
//! line-based (not encrypted, `multiline=escape`), the journal's note of the log's identity
//! and length at the last settled position tells which bytes came after: a torn last line is
//! cut off, and the leading records to replay whose lines are there (checked by their message)
//! are not written again.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::logger::Record;
use crate::api::submit::{on_full, published, request_write, Payload, Wait};
use crate::front::clock::Stamp;
use crate::front::config::Overflow;
use crate::front::config::{Config, Style};
use crate::front::error::{Error, Result};
use crate::front::level::Level;
use crate::front::record::Decoded;
use crate::front::time::now_ns;
use crate::queue::journal::{Entry, Journal, Recovered, Reserve, Settled, Slot};
use crate::queue::{Batch, Fill, Header, Kind, Meta, Push, INLINE};
use crate::render::deferred;
use crate::render::format::{Formatter, RecordRef};
use crate::render::printf::{Arg, MAX_ARGS};
use crate::sinks::file::safe;
use crate::writer::shared::{lock, Shared, SYNC};

/// How long a call waiting for room in the journal sleeps between looks.
const ROOM_POLL: Duration = Duration::from_micros(200);

/// Journals and queues one record; returns when its journal entry is committed.
pub(crate) fn enqueue(
    s: &Arc<Shared>,
    ts: Option<i64>,
    level: Level,
    p: &Payload<'_>,
    wait: &mut Wait<'_>,
) -> Result<()> {
    let Some(j) = s.journal.as_ref() else {
        return Err(Error::invalid("durability=mmap without a journal"));
    };
    let ns = ts.unwrap_or_else(now_ns);
    let Some((id, args)) = p.deferred_parts() else {
        return journaled(s, j, ns, level, p, wait);
    };
    let site = deferred::site(id).ok_or_else(|| Error::invalid("unknown printf call site"))?;
    let mut text = Vec::new();
    let mut buf = [Arg::Int(0); MAX_ARGS];
    let rendered = args
        .values(&mut buf)
        .is_some_and(|args| deferred::render_args(&site, args, &mut text));
    if !rendered {
        return Err(Error::invalid(
            "printf arguments do not match their call site's format",
        ));
    }
    let rec = Record {
        level,
        timestamp_ns: Some(ns),
        msg: &text,
        fields: &[],
        source: site.source(),
    };
    journaled(s, j, ns, level, &Payload::structured(&rec), wait)
}

fn journaled(
    s: &Arc<Shared>,
    j: &Journal,
    ns: i64,
    level: Level,
    p: &Payload<'_>,
    wait: &mut Wait<'_>,
) -> Result<()> {
    let len = p.len();
    let mut slot = reserve(s, j, len, wait)?;
    p.fill(slot.payload());
    slot.stamp(ns, level.number(), p.kind() as u8);
    let mut heap = (len > INLINE).then(|| Box::<[u8]>::from(slot.filled()));
    let tid = crate::api::submit::caller_tid(s, false);
    let mut deadline = None;
    loop {
        let h = Header {
            stamp: Stamp::Ns(ns),
            level: level.number(),
            kind: p.kind(),
            tid,
            len,
        };
        let fill = |d: &mut [u8]| d.copy_from_slice(slot.filled());
        let push = s.queue.try_push(h, &fill, &mut heap);
        match push {
            Push::Ok { queued, pos } => {
                slot.commit(pos);
                published(s, level, queued, false);
                return Ok(());
            }
            // The slot, dropped uncommitted, is marked cancelled.
            Push::Closed => return Err(Error::Closed),
            Push::Full => on_full(s, &mut deadline, wait, false)?,
        }
    }
}

/// Claims room in the journal, applying the overflow policy while there is none.
fn reserve<'j>(s: &Shared, j: &'j Journal, len: usize, wait: &mut Wait<'_>) -> Result<Slot<'j>> {
    let mut deadline = None;
    loop {
        match j.reserve(len) {
            Reserve::Slot(slot) => return Ok(slot),
            Reserve::TooLarge(max) => return Err(Error::TooLarge { len, max }),
            Reserve::Full => {}
        }
        j.reclaim(s.done_pos.load(Ordering::SeqCst));
        if let Reserve::Slot(slot) = j.reserve(len) {
            return Ok(slot);
        }
        journal_full(s, &mut deadline, wait)?;
    }
}

/// The overflow policy when the journal is full (the records it holds are not yet written):
/// `block` waits for the writer (up to `block_timeout_ms`), the others drop the new record
/// and count it. `Ok` means "try again".
#[cold]
fn journal_full(s: &Shared, deadline: &mut Option<Instant>, wait: &mut Wait<'_>) -> Result<()> {
    if s.gate.load(Ordering::Acquire) & SYNC != 0 {
        // The writer is gone (sync fallback): write what is queued here.
        s.drain_sync(true);
        return Ok(());
    }
    let refuse = |e: Error| {
        s.counters.refused.fetch_add(1, Ordering::Relaxed);
        Err(e)
    };
    match s.overflow {
        Overflow::Block => {}
        Overflow::Warn => {
            s.warn_pending.fetch_add(1, Ordering::Relaxed);
            return refuse(Error::Full);
        }
        Overflow::DropNewest | Overflow::DropOldest => return refuse(Error::Full),
    }
    if matches!(wait, Wait::Never) {
        return Err(Error::Full);
    }
    if s.called_from_own_sink() {
        // The writer would wait for itself to make room.
        return refuse(Error::Full);
    }
    let d = *deadline.get_or_insert_with(|| match s.block_timeout {
        Some(t) => Instant::now() + t,
        None => Instant::now() + Duration::from_secs(u64::MAX / 4),
    });
    // The writer writes what is queued now rather than at its batch timeout.
    request_write(s);
    std::thread::sleep(ROOM_POLL);
    if let Wait::Interruptible { keep_waiting, .. } = wait {
        if !keep_waiting() {
            return refuse(Error::Timeout);
        }
    }
    if Instant::now() >= d {
        return refuse(Error::Timeout);
    }
    Ok(())
}

/// What an open found, to be written once the logger exists.
#[derive(Debug)]
pub(crate) struct Pending {
    rec: Recovered,
    /// Leading records the log already holds.
    written: usize,
    /// What the look at the log's end found to report.
    notes: Vec<String>,
}

/// The main log file, when it is line-based: one record per line.
#[derive(Debug)]
struct Tail {
    path: std::path::PathBuf,
    mode: u32,
    level: Level,
    /// How the file sink renders a record.
    style: Style,
}

/// `durability=mmap`: opens the journal beside the log file at `path` and, before the file
/// sink opens the log, looks at the log's end (see [`written_tail`]).
pub(crate) fn open(
    path: Option<&std::path::Path>,
    config: &Config,
) -> Result<(Option<Journal>, Option<Pending>)> {
    let Some(bytes) = config.durability else {
        return Ok((None, None));
    };
    let Some(path) = path else {
        return Err(Error::invalid(
            "durability=mmap needs the log file's path: its journal lives beside it",
        ));
    };
    let context = || format!("durability=mmap: the journal of {}", path.display());
    safe::create_parent(path, config.lifecycle.dir_mode).map_err(|e| Error::io(context(), e))?;
    let (j, rec) =
        Journal::open(path, bytes, config.file_mode).map_err(|e| Error::io(context(), e))?;
    let mut notes = Vec::new();
    let written = if config.lifecycle.key.is_none() && !config.multiline && !rec.records.is_empty()
    {
        let t = Tail {
            path: path.to_path_buf(),
            mode: config.file_mode,
            level: config.level,
            style: config.style(),
        };
        written_tail(&t, rec.settled, &rec.records, &mut notes)
    } else {
        0
    };
    Ok((
        Some(j),
        Some(Pending {
            rec,
            written,
            notes,
        }),
    ))
}

/// The most of the log's end read back to find the lines of a batch a process died writing.
const MAX_TAIL: u64 = 64 << 20;

/// How many of the leading `records` the log already holds, past what the journal noted as
/// settled; cuts a torn last line off. Errs towards writing a record twice, never towards
/// losing one: it stops at the first line that is not, byte for byte, the next record's line
/// as the file sink renders it.
fn written_tail(t: &Tail, st: Settled, records: &[Entry], notes: &mut Vec<String>) -> usize {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let Ok(f) = safe::open_lock(&t.path, t.mode) else {
        return 0;
    };
    let Ok(m) = f.metadata() else {
        return 0;
    };
    // Another file at the path than the noted one: it was made after the last settled batch.
    let from = if (m.dev(), m.ino()) == (st.dev, st.ino) {
        st.len
    } else {
        0
    };
    if m.len() <= from || m.len() - from > MAX_TAIL {
        return 0;
    }
    let mut tail = vec![0u8; (m.len() - from) as usize];
    if f.read_exact_at(&mut tail, from).is_err() {
        return 0;
    }
    let end = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if end < tail.len() {
        let cut = f.set_len(from + end as u64);
        notes.push(format!(
            "durability=mmap: {} bytes of a line torn by the crash were {} the end of {}",
            tail.len() - end,
            if cut.is_ok() { "cut off" } else { "left at" },
            t.path.display()
        ));
    }
    if end == 0 {
        return 0;
    }
    let mut fmt = Formatter::new(t.style.clone());
    let mut want = Vec::new();
    let (mut next, mut skip) = (0, 0);
    for line in tail[..end - 1].split(|&b| b == b'\n') {
        // The next record the main file takes (by its level).
        while next < records.len() && records[next].level < t.level.number() {
            next += 1;
        }
        let Some(r) = records.get(next) else {
            break;
        };
        let level = Level::new(i32::from(r.level)).unwrap_or(Level::FATAL);
        let rec = match r.kind {
            0 => Some(RecordRef {
                ts: r.ts,
                level,
                tid: 0,
                msg: &r.payload,
                source: None,
                source_cached: None,
                fields: None,
            }),
            _ => Decoded::parse(&r.payload).map(|d| RecordRef {
                ts: r.ts,
                level,
                tid: 0,
                msg: d.msg,
                source: d.source,
                source_cached: None,
                fields: Some(d),
            }),
        };
        let Some(rec) = rec else {
            break;
        };
        want.clear();
        fmt.format(&rec, &mut want);
        if want != line {
            break;
        }
        next += 1;
        skip = next;
    }
    skip
}

/// At open, before the writer starts: writes the records a previous process left in the
/// journal (those it had not written), reports what was skipped, and empties the journal.
pub(crate) fn recover(s: &Arc<Shared>, pending: Pending) {
    let Some(j) = s.journal.as_ref() else {
        return;
    };
    let Pending {
        mut rec,
        written,
        notes,
    } = pending;
    for n in notes {
        s.errors.report(Error::invalid(n));
    }
    rec.records.drain(..written);
    let what = j.path().display();
    if let Some(why) = &rec.discarded {
        s.errors.report(Error::invalid(format!(
            "durability=mmap: the journal {what} was discarded ({why}); what it held is lost"
        )));
    }
    let mut batch = Batch::default();
    let mut foreign = 0u64;
    for e in &rec.records {
        let kind = match e.kind {
            k if k == Kind::Plain as u8 => Kind::Plain,
            k if k == Kind::Structured as u8 => Kind::Structured,
            _ => {
                foreign += 1;
                continue;
            }
        };
        let start = batch.arena.len();
        batch.arena.extend_from_slice(&e.payload);
        batch.metas.push(Meta {
            stamp: Stamp::Ns(e.ts),
            level: e.level,
            kind,
            // The journal keeps no thread id: a recovered record shows 0 for `{thread}`.
            tid: 0,
            start,
            len: e.payload.len(),
        });
    }
    let skipped = rec.torn + foreign;
    if skipped > 0 {
        s.errors.report(Error::invalid(format!(
            "durability=mmap: {skipped} incomplete entries in the journal {what} were skipped \
             (calls that had not returned when the process died)"
        )));
    }
    if !batch.is_empty() {
        s.counters
            .sync_submitted
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        let mut guard = lock(&s.core);
        if let Some(p) = guard.pipeline.as_mut() {
            s.in_sinks(|| p.process(s, &batch, 0));
            if p.fsync_on_flush() {
                p.sync_files(&s.errors);
            }
            let lanes = p.lanes();
            drop(guard);
            for l in lanes {
                l.wait_idle(None);
            }
        }
    }
    j.reset();
}
