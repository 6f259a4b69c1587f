//! Reading a set of log files back (plain, gzip, zstd, encrypted, in rotation order) for the
//! `alog` command and the bindings' readers. It depends on `sinks::file` for the naming
//! scheme and the encryption format, and on nothing above it.

pub mod reader;
