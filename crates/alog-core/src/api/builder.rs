//! The builder of a [`Logger`]: typed setters for the common settings, `set` for any key.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::logger::Logger;
use crate::front::config::{CallbackSpec, Config, Format, Fsync, Overflow, Stream};
use crate::front::error::{Error, Result};
use crate::front::level::Level;

/// Builds a [`Logger`]; every setting defaults as in the table of [`crate::front::config`].
#[derive(Debug, Default)]
pub struct Builder {
    path: Option<PathBuf>,
    config: Config,
}

impl Builder {
    /// The main file sink.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }
    pub fn level(mut self, level: Level) -> Self {
        self.config.level = level;
        self
    }
    pub fn format(mut self, format: Format) -> Self {
        self.config.format = format;
        self
    }
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.config.queue_capacity = n;
        self
    }
    pub fn overflow(mut self, o: Overflow) -> Self {
        self.config.overflow = o;
        self
    }
    pub fn block_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.block_timeout = t;
        self
    }
    pub fn batch_size(mut self, n: usize) -> Self {
        self.config.batch_size = n;
        self
    }
    pub fn batch_timeout(mut self, t: Duration) -> Self {
        self.config.batch_timeout = t;
        self
    }
    pub fn fsync(mut self, f: Fsync) -> Self {
        self.config.fsync = f;
        self
    }
    pub fn console(mut self, s: Stream) -> Self {
        self.config.console = Some(s);
        self
    }
    pub fn sync(mut self, on: bool) -> Self {
        self.config.sync = on;
        self
    }
    /// A callback sink taking records at `level` and above (`None`: the logger's level).
    pub fn callback(
        mut self,
        level: Option<Level>,
        format: Option<Format>,
        f: impl Fn(Level, &[u8]) + Send + Sync + 'static,
    ) -> Self {
        self.config.callbacks.push(CallbackSpec {
            callback: Arc::new(f),
            level,
            format,
        });
        self
    }
    /// A sink taking each batch's formatted lines at once (see [`crate::front::config::BatchCallback`]).
    pub fn batch_callback(
        mut self,
        f: impl Fn(&[u8]) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.config.batch_callbacks.push(Arc::new(f));
        self
    }
    pub fn on_error(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.config.on_error = Some(Arc::new(f));
        self
    }
    /// Sets any key by name, exactly as the C ABI does.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        self.config.set(key, value)?;
        Ok(self)
    }
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }
    pub fn build(self) -> Result<Logger> {
        Logger::open(self.path.as_deref(), self.config)
    }
}
