//! Severity levels: the OpenTelemetry severity numbers 1..=24.
//!
//! Six named levels sit at the start of each band of four (`TRACE` = 1, `DEBUG` = 5, `INFO` = 9,
//! `WARN` = 13, `ERROR` = 17, `FATAL` = 21); the numbers in between are finer grades of the band
//! below them and print as `INFO2`, `INFO3`, ... exactly as OpenTelemetry names them.

use std::fmt;

/// A severity level, always within `1..=24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

const BAND_NAMES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// Every level's printed name, indexed by `level - 1`.
static NAMES: [&str; 24] = [
    "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4", "INFO", "INFO2",
    "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3", "ERROR4",
    "FATAL", "FATAL2", "FATAL3", "FATAL4",
];

impl Level {
    pub const TRACE: Level = Level(1);
    pub const DEBUG: Level = Level(5);
    pub const INFO: Level = Level(9);
    pub const WARN: Level = Level(13);
    pub const ERROR: Level = Level(17);
    pub const FATAL: Level = Level(21);

    /// The level with severity number `n`, or `None` outside `1..=24`.
    pub const fn new(n: i32) -> Option<Level> {
        if n >= 1 && n <= 24 {
            Some(Level(n as u8))
        } else {
            None
        }
    }

    /// The severity number, `1..=24`.
    pub const fn number(self) -> u8 {
        self.0
    }

    /// The printed name (`INFO`, `INFO2`, ...).
    pub fn name(self) -> &'static str {
        NAMES[usize::from(self.0 - 1)]
    }

    /// Parses a level name (any case, `warning` and `critical` accepted as in Python) or a
    /// severity number.
    pub fn parse(s: &str) -> Option<Level> {
        let t = s.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Level::new(n);
        }
        let upper = t.to_ascii_uppercase();
        match upper.as_str() {
            "WARNING" => return Some(Level::WARN),
            "CRITICAL" => return Some(Level::FATAL),
            _ => {}
        }
        NAMES
            .iter()
            .position(|n| *n == upper)
            .map(|i| Level(i as u8 + 1))
    }

    /// The accepted spellings, for error messages.
    pub fn accepted() -> String {
        let names: Vec<String> = BAND_NAMES.iter().map(|n| n.to_ascii_lowercase()).collect();
        format!("{} or a number 1..24", names.join("|"))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_opentelemetry() {
        assert_eq!(Level::new(9).unwrap().name(), "INFO");
        assert_eq!(Level::new(10).unwrap().name(), "INFO2");
        assert_eq!(Level::new(24).unwrap().name(), "FATAL4");
        assert_eq!(Level::new(1).unwrap().name(), "TRACE");
        assert!(Level::new(0).is_none());
        assert!(Level::new(25).is_none());
    }

    #[test]
    fn parse_accepts_names_numbers_and_python_aliases() {
        assert_eq!(Level::parse("info"), Some(Level::INFO));
        assert_eq!(Level::parse("WARNING"), Some(Level::WARN));
        assert_eq!(Level::parse("critical"), Some(Level::FATAL));
        assert_eq!(Level::parse("error3"), Level::new(19));
        assert_eq!(Level::parse("17"), Some(Level::ERROR));
        assert_eq!(Level::parse("loud"), None);
        assert_eq!(Level::parse("0"), None);
    }
}
