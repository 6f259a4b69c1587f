//! What callers use: [`Logger`](crate::Logger) and its [`Builder`](crate::Builder), and the
//! submit path that applies the level gate and the overflow policy before a record enters the
//! queue. This is the top layer; it may use every layer below it.

pub(crate) mod builder;
pub(crate) mod durable;
pub(crate) mod logger;
pub(crate) mod submit;
