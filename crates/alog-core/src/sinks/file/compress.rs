//! Compression of a rotated file, atomic: the compressed copy is written to
//! `NAME.gz.tmp.PID` (created new, never through a link, and `flock`ed for as long as the
//! compression runs), fsynced, renamed to `NAME.gz` without replacing anything (and the
//! folder fsynced), and only then is `NAME` removed. A crash, an exit or `kill -9` at any
//! moment leaves every record readable in exactly one complete file, and what is left over
//! is repaired at the next start (see `housekeeping`): before the rename the original is whole
//! and the temporary is junk, after it the compressed copy is whole and the original goes.
//! An encrypted file is decrypted, compressed and encrypted again (compressing ciphertext
//! would gain nothing).
//!
//! Only a file that looks like alog made it is compressed (a regular file of this user with
//! one link, opened without following a link); the copy gets no more permission bits than
//! the original, keeps its modification time (so that `max_age` counts from the records, not
//! from the compression), never replaces a file already at its name, and the original is
//! removed only if the name still holds the file that was read.
//!
//! Who compresses a file: the one that holds the `flock` of the original ([`claim`]; the
//! others leave it to it). Whether a temporary is still being written: the compression holds its `flock` (the
//! kernel drops it when the process ends, however it ends), and the PID in its name says
//! whose it was, so a PID used again (a restarted container) does not keep a leftover alive.
//! In the instant between the creation and the lock, a start-up repair elsewhere may take
//! the temporary for a leftover and remove it: the compression then sees that its name is
//! gone and makes it again.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::front::config::Compress;
use crate::sinks::file::crypt::{Key, Sealer, MAGIC};
use crate::sinks::file::decode::decode_open;
use crate::sinks::file::naming::Codec;
use crate::sinks::file::safe;

/// Plaintext per chunk when re-encrypting a compressed file.
const SEAL_CHUNK: usize = 1 << 20;

/// A temporary of another live process that nobody has locked is taken for abandoned (its
/// writer died and its PID went to another process) once untouched for this long; a younger
/// one may be in the instant between its creation and its lock.
pub(crate) const STALE_TEMPORARY: Duration = Duration::from_secs(60);

/// The compressed bytes' destination: the file, through a sealer when encrypting.
struct Out {
    file: File,
    sealer: Option<Sealer>,
    pending: Vec<u8>,
    sealed: Vec<u8>,
}

impl Out {
    fn seal(&mut self, last: bool) -> io::Result<()> {
        if let Some(s) = self.sealer.as_mut() {
            self.sealed.clear();
            s.seal(&self.pending, last, &mut self.sealed);
            self.pending.clear();
            self.file.write_all(&self.sealed)?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<File> {
        self.seal(true)?;
        Ok(self.file)
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.sealer.is_none() {
            return self.file.write(buf);
        }
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= SEAL_CHUNK {
            self.seal(false)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Encoder {
    Gzip(flate2::write::GzEncoder<Out>),
    Zstd(zstd::stream::write::Encoder<'static, Out>),
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn codec_of(c: Compress) -> Codec {
    match c {
        Compress::None => Codec::Plain,
        Compress::Gzip => Codec::Gzip,
        Compress::Zstd => Codec::Zstd,
    }
}

/// fsyncs a folder so that a rename in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The error for a file alog leaves alone.
pub(crate) fn left_alone(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is left alone: {why}", path.display()),
    )
}

fn id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

/// `e`, or if it says that `name` is taken, an error saying so and that `src` stays as it is.
fn name_taken(e: io::Error, name: &Path, why: &str, src: &Path) -> io::Error {
    if e.kind() != io::ErrorKind::AlreadyExists {
        return e;
    }
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} {why}: {} stays uncompressed",
            name.display(),
            src.display()
        ),
    )
}

/// Creates the temporary `tmp` (new, never through a link) and locks it for the compression
/// (where the file system has no `flock`, the PID in its name is all that tells).
fn create_temporary(tmp: &Path, mode: u32, src: &Path) -> io::Result<File> {
    for _ in 0..3 {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(tmp)
            .map_err(|e| name_taken(e, tmp, "exists and is no temporary alog can remove", src))?;
        // A start-up repair elsewhere examining it holds its lock for an instant (and may
        // take it for a leftover and remove it): wait for the lock.
        let mut locked = try_flock(&file);
        for _ in 0..200 {
            match &locked {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                    locked = try_flock(&file);
                }
                _ => break,
            }
        }
        if matches!(&locked, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            return Err(io::Error::other(format!(
                "{} stays locked by someone else: {} stays uncompressed",
                tmp.display(),
                src.display()
            )));
        }
        // Still at its name once locked: nobody takes it for a leftover any more.
        let here = std::fs::symlink_metadata(tmp).ok().map(|m| id(&m));
        if here.is_some() && here == file.metadata().ok().map(|m| id(&m)) {
            return Ok(file);
        }
    }
    Err(io::Error::other(format!(
        "{} was removed each time it was made: {} stays uncompressed",
        tmp.display(),
        src.display()
    )))
}

/// `flock(LOCK_EX | LOCK_NB)`: `WouldBlock` when another open file holds it.
fn try_flock(f: &File) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Whether process `pid` exists (this one always does).
fn pid_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence.
    pid == std::process::id()
        || unsafe { libc::kill(p, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// What [`clear_temporary`] found at a temporary's name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Temporary {
    /// A compression is writing it: its original is not to be touched.
    Running,
    /// Left by a compression that will never finish (its process died, or exited without
    /// closing): removed. Its original, if any, is whole.
    Removed,
    /// Nothing there any more.
    Gone,
    /// Something alog did not make (why): left alone.
    NotOurs(String),
}

/// Examines the temporary `path`, named for process `pid`, at start: removes it if the
/// compression writing it is over (its process is gone; or nobody holds its lock and its
/// process is this one, or has not touched it for [`STALE_TEMPORARY`]) and it holds what
/// alog writes there.
/// It is opened without following a link and without waiting for a FIFO; a link, a FIFO, a
/// folder or another user's file at its name is never read, and a link is never followed
/// to delete what it points to.
pub(crate) fn clear_temporary(path: &Path, pid: u32, codec: Codec) -> Temporary {
    let mut f = match safe::open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Temporary::Gone,
        Err(e) => return Temporary::NotOurs(e.to_string()),
    };
    let Ok(meta) = f.metadata() else {
        return Temporary::NotOurs("it cannot be examined".into());
    };
    if let Some(why) = safe::why_foreign(&meta) {
        return Temporary::NotOurs(why);
    }
    // Some: whether a compression holds it; None: the file system cannot tell.
    let locked = match try_flock(&f) {
        Ok(()) => Some(false),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(true),
        Err(_) => None,
    };
    let over = if pid == std::process::id() {
        // Another logger of this process on the same path holds the lock while it writes.
        locked != Some(true)
    } else if !pid_alive(pid) {
        true
    } else {
        // A live process: its writer died and the PID went to another process only if
        // nobody holds the lock, and not in the instant between its creation and its lock.
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok());
        locked == Some(false) && age.is_some_and(|a| a >= STALE_TEMPORARY)
    };
    if !over {
        return Temporary::Running;
    }
    if !starts_like_a_copy(&mut f, codec) {
        return Temporary::NotOurs("it is no temporary file alog made".into());
    }
    // Unlink never follows a link: at worst it removes what was put at the name meanwhile.
    match std::fs::symlink_metadata(path) {
        Ok(m) if id(&m) == id(&meta) => match std::fs::remove_file(path) {
            Ok(()) => Temporary::Removed,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Temporary::Gone,
            Err(e) => Temporary::NotOurs(format!("it cannot be removed: {e}")),
        },
        Ok(_) => Temporary::NotOurs("it was replaced while being examined".into()),
        Err(_) => Temporary::Gone,
    }
}

/// Whether a file could be a copy alog's compressor writes for `codec`: empty (a crash
/// right after it was created) or starting like what it writes (plain, or encrypted).
fn starts_like_a_copy(f: &mut File, codec: Codec) -> bool {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    let head = &head[..n];
    let magic: &[u8] = match codec {
        Codec::Gzip => &[0x1f, 0x8b],
        Codec::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
        Codec::Plain => return false,
    };
    head.is_empty() || magic.starts_with(head) || head.starts_with(magic) || MAGIC.starts_with(head)
}

/// Opens the rotated file `src` and takes the claim on it: its `flock`, held by whoever
/// compresses it or settles it against a copy (the others leave it alone, so that loggers of
/// several processes, or of one, that open the path together do the work once). The claim
/// lasts as long as the returned file (or a clone) is open.
/// Errors: `InvalidInput` for a file alog did not make, `WouldBlock` when another logger
/// holds the claim, `NotFound` when it is gone (compressed meanwhile).
pub(crate) fn claim(src: &Path) -> io::Result<(File, std::fs::Metadata)> {
    let before = std::fs::symlink_metadata(src)?;
    if let Some(why) = safe::why_foreign(&before) {
        return Err(left_alone(src, &why));
    }
    let input = safe::open_read(src)?;
    let meta = input.metadata()?;
    if id(&meta) != id(&before) {
        return Err(left_alone(src, "it was replaced while being opened"));
    }
    match try_flock(&input) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is being compressed by another logger", src.display()),
            ))
        }
        // Without `flock` on this file system, the temporaries' names are all that tell.
        Ok(()) | Err(_) => {}
    }
    // Whoever held it before may have finished meanwhile: the original is gone.
    match std::fs::symlink_metadata(src) {
        Ok(m) if id(&m) == id(&meta) => Ok((input, meta)),
        _ => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} was compressed meanwhile", src.display()),
        )),
    }
}

/// Compresses `src` to `src.gz` / `src.zst` atomically and removes `src`. Returns the new path.
/// Errors: `InvalidInput` for a file alog did not make, `AlreadyExists` when something else
/// is at the compressed name, `InvalidData` for a file that does not decode, `WouldBlock`
/// when another logger is compressing it, `NotFound` when it is gone (compressed meanwhile).
pub(crate) fn compress_file(
    src: &Path,
    how: Compress,
    key: Option<&Key>,
    mode: u32,
) -> io::Result<PathBuf> {
    let ext = codec_of(how).extension();
    let dst = PathBuf::from(format!("{}{ext}", src.display()));
    let tmp = PathBuf::from(format!("{}.tmp.{}", dst.display(), std::process::id()));
    let (input, meta) = claim(src)?;
    // The claim lasts as long as one descriptor of the original is open.
    let claim = input.try_clone()?;
    if std::fs::symlink_metadata(&dst).is_ok() {
        let taken = io::Error::from(io::ErrorKind::AlreadyExists);
        return Err(name_taken(
            taken,
            &dst,
            "exists and is not a copy alog finished",
            src,
        ));
    }
    let file = create_temporary(&tmp, safe::narrower(mode, meta.mode()), src)?;
    let out = Out {
        file,
        sealer: key.map(Sealer::new),
        pending: Vec::new(),
        sealed: Vec::new(),
    };
    let result = (|| {
        let mut enc = match how {
            Compress::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            _ => Encoder::Zstd(zstd::stream::write::Encoder::new(out, 3)?),
        };
        let report = decode_open(input, src, key, &mut enc, &mut |_| {})?;
        if let Some(p) = report.problems.first().filter(|_| report.undecodable) {
            // Undecodable bytes stay where they are: never replace a file by a partial copy.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {p}", src.display()),
            ));
        }
        let out = match enc {
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Zstd(e) => e.finish()?,
        };
        let file = out.finish()?;
        // The copy keeps the original's times: retention's max_age counts from the records.
        let times = std::fs::FileTimes::new()
            .set_accessed(meta.accessed()?)
            .set_modified(meta.modified()?);
        file.set_times(times)?;
        // Every byte (and the times) on disk before the name says the copy is complete.
        file.sync_all()?;
        safe::rename_noreplace(&tmp, &dst).map_err(|e| match e.kind() {
            // Not the original that is gone (that is no error): the temporary.
            io::ErrorKind::NotFound => io::Error::other(format!(
                "{} was removed during the compression: {} stays uncompressed",
                tmp.display(),
                src.display()
            )),
            _ => name_taken(e, &dst, "appeared meanwhile", src),
        })?;
        if let Some(dir) = dst.parent() {
            sync_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })?;
        }
        // Remove the original only if its name still holds the file that was compressed.
        let removed = match std::fs::symlink_metadata(src) {
            Ok(m) if id(&m) == id(&meta) => std::fs::remove_file(src),
            _ => Ok(()),
        };
        // The locks are released only now, with their descriptors: the names are settled.
        drop(file);
        drop(claim);
        removed
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_copy_replaces_the_original_and_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"2026-11-23T00:00:00.000000Z INFO hello\n".repeat(1000);
        let key = Key::from_bytes([9; 32]);
        for (how, key) in [
            (Compress::Gzip, None),
            (Compress::Zstd, None),
            (Compress::Zstd, Some(&key)),
        ] {
            let src = dir.path().join("a.log.1");
            match key {
                Some(k) => {
                    let mut s = Sealer::new(k);
                    let mut sealed = Vec::new();
                    s.seal(&text, false, &mut sealed);
                    std::fs::write(&src, sealed).unwrap();
                }
                None => std::fs::write(&src, &text).unwrap(),
            }
            let dst = compress_file(&src, how, key, 0o600).unwrap();
            assert!(!src.exists());
            let mut out = Vec::new();
            let r =
                crate::sinks::file::decode::decode_file(&dst, key, &mut out, &mut |_| {}).unwrap();
            assert_eq!(out, text);
            assert_eq!(r.codec, Some(codec_of(how)));
            assert_eq!(r.encrypted, key.is_some());
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                1,
                "no temporary left"
            );
            std::fs::remove_file(dst).unwrap();
        }
    }
}

#[cfg(test)]
mod hostile_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn links_fifos_and_devices_at_a_rotated_name_are_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let private = d.join("private");
        std::fs::write(&private, b"secret\n").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&private, d.join("a.log.1")).unwrap();
        std::os::unix::fs::symlink("/dev/urandom", d.join("a.log.2")).unwrap();
        let fifo = std::ffi::CString::new(d.join("a.log.3").into_os_string().into_encoded_bytes())
            .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        for (name, what) in [
            ("a.log.1", "a symbolic link"),
            ("a.log.2", "a symbolic link"),
            ("a.log.3", "a FIFO"),
        ] {
            let e = compress_file(&d.join(name), Compress::Gzip, None, 0o640).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("is left alone: it is {what}")),
                "{e}"
            );
            assert!(!d.join(format!("{name}.gz")).exists());
        }
        assert_eq!(std::fs::read(&private).unwrap(), b"secret\n");
    }

    #[test]
    fn the_copy_is_no_more_readable_and_keeps_the_time_and_replaces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let src = d.join("a.log.1");
        std::fs::write(&src, b"line\n").unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o600)).unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let dst = compress_file(&src, Compress::Zstd, None, 0o640).unwrap();
        let m = std::fs::metadata(&dst).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
        assert_eq!(m.modified().unwrap(), old);
        // Something already at the compressed name: neither replaced nor the original removed.
        let src = d.join("a.log.2");
        std::fs::write(&src, b"real\n").unwrap();
        std::fs::write(d.join("a.log.2.zst"), b"bogus").unwrap();
        let e = compress_file(&src, Compress::Zstd, None, 0o640).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(std::fs::read(&src).unwrap(), b"real\n");
        assert_eq!(std::fs::read(d.join("a.log.2.zst")).unwrap(), b"bogus");
    }
}
