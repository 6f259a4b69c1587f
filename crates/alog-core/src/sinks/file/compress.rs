//! Compression of a rotated file, atomic: the compressed copy is written to
//! `NAME.gz.tmp.PID`, fsynced, renamed to `NAME.gz` (and the folder fsynced), and only then
//! is `NAME` removed. A crash at any moment leaves every record readable in exactly one
//! file: before the rename the original is whole and the temporary is junk (removed at the
//! next start), after it the compressed copy is whole and the original is removed at the next
//! start. An encrypted file is decrypted, compressed and encrypted again (compressing
//! ciphertext would gain nothing).
//!
//! Only a file that looks like alog made it is compressed (a regular file of this user with
//! one link, opened without following a link); the copy gets no more permission bits than
//! the original, keeps its modification time (so that `max_age` counts from the records, not
//! from the compression), never replaces a file already at its name, and the original is
//! removed only if the name still holds the file that was read.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::front::config::Compress;
use crate::read::reader::decode_open;
use crate::sinks::file::crypt::{Key, Sealer};
use crate::sinks::file::naming::Codec;
use crate::sinks::file::safe;

/// Plaintext per chunk when re-encrypting a compressed file.
const SEAL_CHUNK: usize = 1 << 20;

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
        self.file.sync_all()?;
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

/// Compresses `src` to `src.gz` / `src.zst` atomically and removes `src`. Returns the new path.
/// Errors: `InvalidInput` for a file alog did not make, `AlreadyExists` when something else
/// is at the compressed name, `InvalidData` for a file that does not decode.
pub(crate) fn compress_file(
    src: &Path,
    how: Compress,
    key: Option<&Key>,
    mode: u32,
) -> io::Result<PathBuf> {
    let ext = codec_of(how).extension();
    let dst = PathBuf::from(format!("{}{ext}", src.display()));
    let tmp = PathBuf::from(format!("{}.tmp.{}", dst.display(), std::process::id()));
    let before = std::fs::symlink_metadata(src)?;
    if let Some(why) = safe::why_foreign(&before) {
        return Err(left_alone(src, &why));
    }
    let input = safe::open_read(src)?;
    let meta = input.metadata()?;
    if id(&meta) != id(&before) {
        return Err(left_alone(src, "it was replaced while being opened"));
    }
    if std::fs::symlink_metadata(&dst).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a copy alog finished: {} stays uncompressed",
                dst.display(),
                src.display()
            ),
        ));
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(safe::narrower(mode, meta.mode()))
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(&tmp)?;
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
        safe::rename_noreplace(&tmp, &dst).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} appeared meanwhile: {} stays uncompressed",
                        dst.display(),
                        src.display()
                    ),
                )
            } else {
                e
            }
        })?;
        if let Some(dir) = dst.parent() {
            sync_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })?;
        }
        // Remove the original only if its name still holds the file that was compressed.
        match std::fs::symlink_metadata(src) {
            Ok(m) if id(&m) == id(&meta) => std::fs::remove_file(src),
            _ => Ok(()),
        }
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
            let r = crate::read::reader::decode_file(&dst, key, &mut out, &mut |_| {}).unwrap();
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
