//! `alog`: read what alog wrote. `cat` prints a whole rotated set in order, `tail` prints
//! the end of the active file and with `-f` follows it across rotations, `verify` checks
//! that every file decodes. Plain, gzip, zstd and encrypted files are recognised by their
//! first bytes; decoding is alog-core's (`alog_core::reader`), this file only drives it.
//!
//! Every file is streamed (memory stays bounded whatever its decoded size). Files at names of
//! the set that alog did not make (links, FIFOs, devices, other users' files) are skipped
//! with a warning, as is a file that disappears while it is read (retention); both make the
//! exit status 1. A closed output pipe ends the command quietly, as it ends `cat`.

use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use alog_core::config::KeySource;
use alog_core::crypt::Key;
use alog_core::naming::{Naming, Rotated};
use alog_core::reader::{decode_file, open_read, set_files_checked, Decoder, FileReport};

const USAGE: &str = "\
usage: alog cat    [KEY] PATH     print every file of PATH's rotated set, oldest first
       alog tail   [KEY] [-n N] [-f] PATH
                                  print the last N (10) lines of PATH; -f follows it
                                  across rotations until interrupted
       alog verify [KEY] PATH     check that every file of the set decodes; exit 1 if not
KEY:   --key-file FILE | --key-env VAR   the key of encrypted files
PATH is the active file (logs/app.log); its rotated files app.log.N[.gz|.zst] and
app.log.PERIOD.N[.gz|.zst] are found in its folder. A single file may be given too.";

struct Args {
    cmd: String,
    key: Option<Key>,
    lines: usize,
    follow: bool,
    path: PathBuf,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let cmd = argv.next().ok_or("a command is required")?;
    if !["cat", "tail", "verify"].contains(&cmd.as_str()) {
        return Err(format!(
            "unknown command {cmd:?}: expected cat, tail or verify"
        ));
    }
    let mut key = None;
    let mut lines = 10;
    let mut follow = false;
    let mut path = None;
    while let Some(a) = argv.next() {
        let mut value = |what: &str| argv.next().ok_or(format!("{a} needs {what}"));
        match a.as_str() {
            "--key-file" => {
                let f = value("a file")?;
                key = Some(Key::load(&KeySource::File(f.into())).map_err(|e| e.to_string())?);
            }
            "--key-env" => {
                let v = value("a variable name")?;
                key = Some(Key::load(&KeySource::Env(v)).map_err(|e| e.to_string())?);
            }
            "-n" if cmd == "tail" => {
                let n = value("a number")?;
                lines = n
                    .parse()
                    .map_err(|_| format!("-n: {n:?} is not a number of lines"))?;
            }
            "-f" | "--follow" if cmd == "tail" => follow = true,
            s if s.starts_with('-') => return Err(format!("unknown option {s:?} for {cmd}")),
            _ if path.is_some() => return Err(format!("one PATH only (extra: {a:?})")),
            _ => path = Some(PathBuf::from(a)),
        }
    }
    let mut path: PathBuf = path.ok_or("PATH is required")?;
    // PATH itself may be a link the user chose: its set is in the folder of what it names.
    // (Inside the set, links are never followed.)
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        path = std::fs::canonicalize(&path)
            .map_err(|e| format!("{}: cannot resolve the link: {e}", path.display()))?;
    }
    Ok(Args {
        cmd,
        key,
        lines,
        follow,
        path,
    })
}

/// Progress on stderr when it is a terminal: at most 10 updates a second.
struct Progress {
    on: bool,
    last: Option<Instant>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            on: io::stderr().is_terminal(),
            last: None,
        }
    }
    fn show(&mut self, i: usize, n: usize, path: &Path, bytes: u64) {
        if !self.on
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        eprint!(
            "\r\x1b[Kalog: file {}/{n} {name} {:.1} MiB",
            i + 1,
            bytes as f64 / 1048576.0
        );
    }
    fn clear(&self) {
        if self.on && self.last.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}

/// The files of PATH's set in rotation order, with the skipped ones reported on stderr.
struct Set {
    files: Vec<PathBuf>,
    /// The last of `files` is the active file.
    has_active: bool,
    /// Files were skipped (not alog's).
    skipped: bool,
}

impl Set {
    fn is_rotated(&self, i: usize) -> bool {
        !(self.has_active && i + 1 == self.files.len())
    }
}

fn files_of(path: &Path) -> Result<Set, String> {
    let set =
        set_files_checked(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
    for (p, why) in &set.skipped {
        eprintln!(
            "alog: skipped {}: {why} (not a file alog made)",
            p.display()
        );
    }
    if set.files.is_empty() {
        return Err(format!(
            "{}: no such file, and no rotated files of it",
            path.display()
        ));
    }
    Ok(Set {
        files: set.files,
        has_active: set.has_active,
        skipped: !set.skipped.is_empty(),
    })
}

/// Decodes one file of the set. A file that vanished since the listing is looked for under
/// its other name (compressed meanwhile); `None` if it is gone (deleted by retention).
fn decode_member(
    active: &Path,
    path: &Path,
    key: Option<&Key>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<FileReport>, String> {
    let naming = Naming::new(active);
    let seq = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| naming.parse(n))
        .map(|r| r.seq);
    let mut path = path.to_path_buf();
    for _ in 0..100 {
        match decode_file(&path, key, out, progress) {
            Ok(r) => return Ok(Some(r)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some(seq) = seq else { return Ok(None) };
                match rotated_after(active, seq - 1)
                    .into_iter()
                    .find(|n| n.seq == seq)
                {
                    Some(n) if n.path != path => path = n.path,
                    _ => return Ok(None),
                }
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(None)
}

fn vanished(path: &Path) {
    eprintln!(
        "alog: {}: disappeared while being read (deleted by retention?): skipped",
        path.display()
    );
}

fn describe(r: &FileReport) -> String {
    let mut what = Vec::new();
    if r.encrypted {
        what.push("encrypted".to_string());
    }
    if let Some(c) = r.codec {
        what.push(format!("{c:?}").to_lowercase());
    }
    what.push(format!("{} lines", r.lines));
    what.join(", ")
}

/// A file's problems, at most `SHOWN` of them and a count of the rest (a wrong key fails
/// every chunk).
const SHOWN: usize = 5;

/// `rotated`: the file was rotated, so every encrypted stream in it must have ended.
fn problems(r: &FileReport, rotated: bool) -> Vec<String> {
    let mut p: Vec<String> = r.problems.iter().take(SHOWN).cloned().collect();
    if r.problems.len() > SHOWN {
        p.push(format!("and {} more problems", r.problems.len() - SHOWN));
    }
    if rotated && r.open_streams > 0 {
        p.push(format!(
            "{} encrypted stream(s) without their last chunk (the file was cut short, or a \
             writer crashed)",
            r.open_streams
        ));
    }
    if r.torn_tail > 0 {
        p.push(format!(
            "the last {} bytes are a line without its end (torn write)",
            r.torn_tail
        ));
    }
    if r.nul_bytes > 0 {
        p.push(format!(
            "{} NUL bytes (a truncation without O_APPEND?)",
            r.nul_bytes
        ));
    }
    p
}

fn cat(args: &Args) -> Result<bool, String> {
    let set = files_of(&args.path)?;
    let files = &set.files;
    let mut progress = Progress::new();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut ok = !set.skipped;
    for (i, f) in files.iter().enumerate() {
        let r = decode_member(&args.path, f, args.key.as_ref(), &mut out, &mut |b| {
            progress.show(i, files.len(), f, b)
        })?;
        let Some(r) = r else {
            progress.clear();
            vanished(f);
            ok = false;
            continue;
        };
        for p in problems(&r, set.is_rotated(i)) {
            ok = false;
            progress.clear();
            eprintln!("alog: {}: {p}", f.display());
        }
    }
    out.flush().map_err(|e| format!("writing stdout: {e}"))?;
    progress.clear();
    Ok(ok)
}

fn verify(args: &Args) -> Result<bool, String> {
    let set = files_of(&args.path)?;
    let files = &set.files;
    let mut progress = Progress::new();
    let mut ok = !set.skipped;
    let (mut lines, mut bad) = (0u64, 0usize);
    for (i, f) in files.iter().enumerate() {
        let r = decode_member(
            &args.path,
            f,
            args.key.as_ref(),
            &mut io::sink(),
            &mut |b| progress.show(i, files.len(), f, b),
        )?;
        progress.clear();
        let Some(r) = r else {
            vanished(f);
            ok = false;
            continue;
        };
        let p = problems(&r, set.is_rotated(i));
        lines += r.lines;
        if p.is_empty() {
            println!("ok       {} ({})", f.display(), describe(&r));
        } else {
            ok = false;
            bad += 1;
            println!(
                "DAMAGED  {} ({}): {}",
                f.display(),
                describe(&r),
                p.join("; ")
            );
        }
    }
    println!("{} files, {lines} lines, {bad} damaged", files.len());
    Ok(ok)
}

/// The identity of what a path names now, if anything.
fn id_of(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Rotated files numbered above `after`, oldest first, one path per number (the compressed
/// copy when a compression is finishing). Files alog did not make are left out, each with a
/// warning the first time it is seen.
fn rotated_after(active: &Path, after: u64) -> Vec<Rotated> {
    static WARNED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut out: Vec<Rotated> = Vec::new();
    for r in Naming::new(active).scan().unwrap_or_default() {
        if let Some(why) = &r.foreign {
            let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
            if r.seq > after && !warned.contains(&r.path) {
                eprintln!(
                    "alog: skipped {}: {why} (not a file alog made)",
                    r.path.display()
                );
                warned.push(r.path.clone());
            }
            continue;
        }
        if r.tmp_pid.is_some() || r.seq <= after {
            continue;
        }
        if out.last().is_some_and(|l| l.seq == r.seq) {
            out.pop();
        }
        out.push(r);
    }
    out
}

/// The file `tail -f` reads and what it knows of the set.
struct Followed {
    file: std::fs::File,
    id: (u64, u64),
    /// Every rotated file numbered up to this one has been printed (or predates the start).
    last_seq: u64,
}

/// Opens the active file (with `wait`, waits for it to appear). With `emit`, first prints every rotated file numbered above
/// `last_seq` (rotations `tail` did not see while they happened), stopping at the one it
/// opened if that was rotated meanwhile.
fn open_active(
    path: &Path,
    mut last_seq: u64,
    emit: bool,
    wait: bool,
    key: Option<&Key>,
    out: &mut dyn Write,
) -> Result<Followed, String> {
    loop {
        let file = match open_read(path) {
            Ok(f) => f,
            // Between a rotation and the logger's next file: wait for it.
            Err(e) if e.kind() == io::ErrorKind::NotFound && wait => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let m = file.metadata().map_err(|e| e.to_string())?;
        let id = (m.dev(), m.ino());
        let mut is_rotated = false;
        for r in rotated_after(path, last_seq) {
            if id_of(&r.path) == Some(id) {
                // The file just opened was rotated already: follow it, it is next in order.
                is_rotated = true;
                break;
            }
            if emit {
                print_rotated(path, r.clone(), key, out)?;
            }
            last_seq = r.seq;
        }
        if is_rotated || id_of(path) == Some(id) {
            return Ok(Followed { file, id, last_seq });
        }
        // Rotated and compressed between the open and the scan: the next scan prints it.
    }
}

/// Prints one rotated file; if its compression finished meanwhile, the compressed copy; if
/// retention deleted it first, says so.
fn print_rotated(
    active: &Path,
    r: Rotated,
    key: Option<&Key>,
    out: &mut dyn Write,
) -> Result<(), String> {
    match decode_member(active, &r.path, key, out, &mut |_| {})? {
        Some(rep) => {
            for p in problems(&rep, true) {
                eprintln!("alog: {}: {p}", r.path.display());
            }
        }
        None => vanished(&r.path),
    }
    Ok(())
}

/// Keeps the last `n` lines written to it (and a line in progress), nothing more.
struct LastLines {
    n: usize,
    lines: std::collections::VecDeque<Vec<u8>>,
    partial: Vec<u8>,
}

impl LastLines {
    fn new(n: usize) -> LastLines {
        LastLines {
            n,
            lines: std::collections::VecDeque::new(),
            partial: Vec::new(),
        }
    }
    fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        for l in &self.lines {
            out.write_all(l)?;
        }
        out.write_all(&self.partial)
    }
}

impl Write for LastLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..=i]);
            rest = &rest[i + 1..];
            if self.n > 0 {
                if self.lines.len() == self.n {
                    self.lines.pop_front();
                }
                self.lines.push_back(std::mem::take(&mut self.partial));
            } else {
                self.partial.clear();
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Prints the problems the decoder found since the last call.
fn report_new(path: &Path, dec: &mut Decoder) {
    for p in dec.take_new_problems().into_iter().take(SHOWN) {
        eprintln!("alog: {}: {p}", path.display());
    }
}

fn tail(args: &Args) -> Result<bool, String> {
    let path = &args.path;
    let key = args.key.as_ref();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // The end of the active file: decode it, keep only the last N lines.
    let mut cur = open_active(path, 0, false, false, key, &mut out)?;
    let mut dec = Decoder::new(path, key);
    let mut last = LastLines::new(args.lines);
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    let read = |f: &mut std::fs::File, buf: &mut [u8]| {
        f.read(buf).map_err(|e| format!("{}: {e}", path.display()))
    };
    loop {
        let n = read(&mut cur.file, &mut buf)?;
        if n == 0 {
            break;
        }
        pos += n as u64;
        dec.feed(&buf[..n], &mut last).map_err(|e| e.to_string())?;
    }
    report_new(path, &mut dec);
    last.write_to(&mut out).map_err(|e| e.to_string())?;
    drop(last);
    out.flush().map_err(|e| e.to_string())?;
    if !args.follow {
        return Ok(true);
    }
    loop {
        let n = read(&mut cur.file, &mut buf)?;
        if n > 0 {
            pos += n as u64;
            dec.feed(&buf[..n], &mut out).map_err(|e| e.to_string())?;
            report_new(path, &mut dec);
            out.flush().map_err(|e| e.to_string())?;
            continue;
        }
        // Nothing new. Truncated (copytruncate)? Start over at its beginning.
        let meta = cur.file.metadata().map_err(|e| e.to_string())?;
        if meta.len() < pos {
            use std::io::Seek;
            cur.file
                .seek(io::SeekFrom::Start(0))
                .map_err(|e| e.to_string())?;
            pos = 0;
            dec = Decoder::new(path, key);
            continue;
        }
        if id_of(path) == Some(cur.id) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        // Moved away: print what reached it before the move, then the rotated files after it.
        loop {
            let n = read(&mut cur.file, &mut buf)?;
            if n == 0 {
                break;
            }
            dec.feed(&buf[..n], &mut out).map_err(|e| e.to_string())?;
        }
        let later = rotated_after(path, cur.last_seq);
        // Its number: the rotated file with its identity, or (deleted after compression)
        // the first number after what was printed. Moved elsewhere (an external tool):
        // none, and only the new active file follows.
        // (The scan comes before the link count: a file not in the set then was deleted.)
        let all = Naming::new(path).scan().unwrap_or_default();
        let own = all
            .iter()
            .find(|r| r.tmp_pid.is_none() && id_of(&r.path) == Some(cur.id))
            .map(|r| r.seq);
        let unlinked = cur.file.metadata().is_ok_and(|m| m.nlink() == 0);
        let own = own.or_else(|| unlinked.then(|| later.first().map(|r| r.seq)).flatten());
        let emit = own.is_some();
        let last = own.unwrap_or_else(|| later.last().map_or(cur.last_seq, |r| r.seq));
        cur = open_active(path, last, emit, true, key, &mut out)?;
        pos = 0;
        dec = Decoder::new(path, key);
        out.flush().map_err(|e| e.to_string())?;
    }
}

fn main() -> ExitCode {
    // A closed output pipe (`alog cat ... | head`) ends the command as it ends `cat`, by
    // SIGPIPE, instead of a panic on the next print.
    // SAFETY: restoring the default action of a signal, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version") => {
            println!("alog {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let args = match parse_args(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("alog: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let r = match args.cmd.as_str() {
        "cat" => cat(&args),
        "tail" => tail(&args),
        _ => verify(&args),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("alog: {e}");
            ExitCode::from(2)
        }
    }
}
