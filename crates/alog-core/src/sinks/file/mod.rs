//! Files alog manages: opening, size and time rotation, the naming scheme of rotated files,
//! retention, compression and encryption on the `alog-files` thread, the multi-process lock
//! and recovery at start-up.

pub(crate) mod compress;
pub mod crypt;
pub mod decode;
pub(crate) mod housekeeping;
pub(crate) mod lockfile;
pub mod naming;
pub(crate) mod retention;
pub(crate) mod rotate;
pub mod safe;

// The lead's writer rework removes `sinks::target::open_file`: file sinks open through
// `safe::open_append` (O_NOFOLLOW, regular files only). Until then it is kept referenced.
const _: fn(&std::path::Path, u32) -> crate::front::error::Result<std::fs::File> =
    crate::sinks::target::open_file;
