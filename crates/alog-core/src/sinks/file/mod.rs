//! Files alog manages: opening, size and time rotation, the naming scheme of rotated files,
//! retention, compression and encryption on the `alog-files` thread, the multi-process lock
//! and recovery at start-up.

pub(crate) mod compress;
pub mod crypt;
pub(crate) mod housekeeping;
pub(crate) mod lockfile;
pub mod naming;
pub(crate) mod retention;
pub(crate) mod rotate;
