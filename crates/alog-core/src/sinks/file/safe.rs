//! Opening the files alog manages without being led astray by what sits at their names.
//!
//! Someone who can write to the log folder may put a symbolic link, a FIFO, a device or a
//! file of another user at a name alog uses. Every file alog opens is opened with
//! `O_NOFOLLOW` (a link at the name is refused, never followed) and, where a FIFO could make
//! `open` wait for a peer, `O_NONBLOCK`; `fstat` then checks that the descriptor is a regular
//! file before a byte is read or written. Rotated files are only compressed, renamed or
//! deleted when they look like alog made them: a regular file of this user with one link.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What a file-type mode names, for messages.
pub fn kind(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        libc::S_IFLNK => "a symbolic link",
        _ => "not a regular file",
    }
}

fn not_regular(path: &Path, mode: u32) -> io::Error {
    let what = kind(mode);
    // The errno a C caller sees (alog_open sets it): what open(2) says for the same thing.
    let errno = match mode & libc::S_IFMT {
        libc::S_IFDIR => libc::EISDIR,
        libc::S_IFLNK => libc::ELOOP,
        _ => libc::ENXIO,
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        crate::front::error::OsCoded {
            errno,
            msg: format!(
                "{} is {what}, not a regular file: alog only writes and reads regular files \
                 (it never follows a link or opens a FIFO or device at a name it manages; \
                 for stdout or stderr use the console sink)",
                path.display()
            ),
        },
    )
}

/// Turns the errors `O_NOFOLLOW` and `O_NONBLOCK` give for a link or a FIFO into errors
/// that name what sits at `path`.
fn explain(path: &Path, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENXIO) | Some(libc::EISDIR) => {
            match std::fs::symlink_metadata(path) {
                Ok(m) if !m.file_type().is_file() => not_regular(path, m.mode()),
                _ => e,
            }
        }
        _ => e,
    }
}

/// Checks that an opened descriptor is a regular file and makes it blocking again.
fn regular(path: &Path, file: File) -> io::Result<File> {
    let m = file.metadata()?;
    if !m.file_type().is_file() {
        return Err(not_regular(path, m.mode()));
    }
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Creates the folders of `path` (`mode`, `dir_mode`'s bits, less the umask).
pub(crate) fn create_parent(path: &Path, mode: u32) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(dir),
        None => Ok(()),
    }
}

/// Opens a log file for appending (`O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC`); a new
/// file gets `mode` (less the umask). Refuses, with an error naming it, a link, a FIFO, a
/// device or a directory at `path`, without waiting for a FIFO's reader.
pub(crate) fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    open_checked(
        OpenOptions::new().append(true).create(true).mode(mode),
        path,
    )
}

/// Opens with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC` added, then a regular file only.
fn open_checked(opts: &mut OpenOptions, path: &Path) -> io::Result<File> {
    let file = opts
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| explain(path, e))?;
    regular(path, file)
}

/// Opens a file alog reads (a rotated file, the active file): `O_NOFOLLOW | O_NONBLOCK`,
/// then a regular file only.
pub fn open_read(path: &Path) -> io::Result<File> {
    open_checked(OpenOptions::new().read(true), path)
}

/// Opens (creating it) the lock file: read-write, `O_NOFOLLOW`, a regular file only.
pub(crate) fn open_lock(path: &Path, mode: u32) -> io::Result<File> {
    open_checked(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(mode),
        path,
    )
}

/// Whether the file `m` describes (from `lstat`) looks like one alog made: a regular file
/// (not a link) owned by this process's user, with a single link. Anything else at a name
/// of the set is a stranger: alog does not read, compress, rename or delete it.
pub(crate) fn looks_ours(m: &std::fs::Metadata) -> bool {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    m.file_type().is_file() && m.uid() == uid && m.nlink() == 1
}

/// Why a file at a managed name is left alone (for the warning), or `None` if it looks ours.
pub(crate) fn why_foreign(m: &std::fs::Metadata) -> Option<String> {
    if looks_ours(m) {
        return None;
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    Some(if !m.file_type().is_file() {
        format!("it is {}", kind(m.mode()))
    } else if m.uid() != uid {
        format!("it belongs to user {}, not {uid}", m.uid())
    } else {
        format!("it has {} hard links", m.nlink())
    })
}

/// The permission bits a file created to replace or accompany one with permissions `old`
/// gets: never more than `old`, never more than `mode`.
pub(crate) fn narrower(mode: u32, old: u32) -> u32 {
    mode & old & 0o7777
}

/// Renames without replacing an existing file (`renameat2(RENAME_NOREPLACE)`; where the file
/// system lacks it, a check and a rename, safe under the lock file).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: two valid NUL-terminated paths.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EINVAL) && e.raw_os_error() != Some(libc::ENOSYS) {
        return Err(e);
    }
    if to.exists() {
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    std::fs::rename(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn links_fifos_devices_and_folders_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fifo(&d.join("fifo"));
        std::os::unix::fs::symlink("/dev/urandom", d.join("urandom")).unwrap();
        std::fs::write(d.join("private"), b"secret").unwrap();
        std::os::unix::fs::symlink(d.join("private"), d.join("link")).unwrap();
        std::fs::create_dir(d.join("dir")).unwrap();
        for (name, what) in [
            ("fifo", "is a FIFO"),
            ("urandom", "is a symbolic link"),
            ("link", "is a symbolic link"),
            ("dir", "is a directory"),
        ] {
            let p = d.join(name);
            for e in [
                open_read(&p).unwrap_err(),
                open_append(&p, 0o600).unwrap_err(),
                open_lock(&p, 0o600).unwrap_err(),
            ] {
                let msg = e.to_string();
                assert!(msg.contains(&format!("{} {what}", p.display())), "{msg}");
            }
        }
        let e = open_read(Path::new("/dev/null")).unwrap_err().to_string();
        assert!(e.contains("is a character device"), "{e}");
        assert_eq!(std::fs::read(d.join("private")).unwrap(), b"secret");
        assert!(open_read(&d.join("private")).is_ok());
    }
}
