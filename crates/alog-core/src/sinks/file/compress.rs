//! Compression of a rotated file, atomic: the compressed copy is written to
//! `NAME.gz.tmp.PID`, fsynced, renamed to `NAME.gz` (and the folder fsynced), and only then
//! is `NAME` removed. A crash at any moment leaves every record readable in exactly one
//! file: before the rename the original is whole and the temporary is junk (removed at the
//! next start), after it the compressed copy is whole and the original is removed at the next
//! start. An encrypted file is decrypted, compressed and encrypted again (compressing
//! ciphertext would gain nothing).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::front::config::Compress;
use crate::read::reader::decode_file;
use crate::sinks::file::crypt::{Key, Sealer};
use crate::sinks::file::naming::Codec;

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

/// Compresses `src` to `src.gz` / `src.zst` atomically and removes `src`. Returns the new path.
pub(crate) fn compress_file(
    src: &Path,
    how: Compress,
    key: Option<&Key>,
    mode: u32,
) -> io::Result<PathBuf> {
    let ext = codec_of(how).extension();
    let dst = PathBuf::from(format!("{}{ext}", src.display()));
    let tmp = PathBuf::from(format!("{}.tmp.{}", dst.display(), std::process::id()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
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
        let report = decode_file(src, key, &mut enc, &mut |_| {})?;
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
        out.finish()?;
        std::fs::rename(&tmp, &dst)?;
        if let Some(dir) = dst.parent() {
            sync_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })?;
        }
        std::fs::remove_file(src)
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
            let r = decode_file(&dst, key, &mut out, &mut |_| {}).unwrap();
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
