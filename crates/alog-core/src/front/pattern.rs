//! The syntax of text patterns (`{ts} {level} {msg}{fields}`): what a pattern may say, checked
//! when it is configured. Rendering a record through one is `render::format`'s.

/// One piece of a text pattern. An explicit one-byte tag (`repr(u8)`): the writer dispatches on
/// it for every piece of every line, and a tag folded into `String`'s capacity takes longer to
/// decode.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Piece {
    Lit(String),
    Ts,
    Level,
    Msg,
    Fields,
    File,
    Line,
    Func,
    /// The process id when the line is formatted.
    Pid,
    /// The calling thread's id.
    Thread,
    /// The calling thread's name (its id if it has none).
    ThreadName,
    /// The logger's name (`name`).
    Logger,
    /// The timestamp through a strftime format (`%f`: microseconds), in UTC or local time.
    TsFormat {
        fmt: String,
        local: bool,
    },
}

/// A compiled text pattern such as `{ts} {level} {msg}{fields}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub(crate) pieces: Vec<Piece>,
    /// Whether the pattern prints the source itself (then `{fields}` leaves it out).
    pub(crate) shows_source: bool,
}

/// Whether the pattern `s` prints the calling thread (so log calls must capture it).
pub fn shows_thread(s: &str) -> bool {
    Pattern::parse(s).is_ok_and(|p| {
        p.pieces
            .iter()
            .any(|p| matches!(p, Piece::Thread | Piece::ThreadName))
    })
}

pub const DEFAULT_PATTERN: &str = "{ts} {level} {msg}{fields}";

impl Pattern {
    /// Compiles a pattern; `{{` and `}}` are literal braces. Errors name the bad token.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => name.push(ch),
                            None => return Err(format!("unclosed {{{name} in pattern {s:?}")),
                        }
                    }
                    let (name, arg) = match name.split_once(':') {
                        Some((n, a)) => (n, Some(a)),
                        None => (name.as_str(), None),
                    };
                    let piece = match (name, arg) {
                        ("ts" | "localtime", Some("")) => {
                            return Err(format!("empty time format in {{{name}:}} in pattern {s:?}"))
                        }
                        ("ts", Some(f)) => Piece::TsFormat {
                            fmt: f.to_string(),
                            local: false,
                        },
                        ("localtime", f) => Piece::TsFormat {
                            fmt: f.unwrap_or("%Y-%m-%dT%H:%M:%S.%f%z").to_string(),
                            local: true,
                        },
                        (_, Some(_)) => {
                            return Err(format!(
                                "{{{name}}} takes no argument in pattern {s:?} (only {{ts:FORMAT}} and {{localtime:FORMAT}} do)"
                            ))
                        }
                        ("pid", None) => Piece::Pid,
                        ("thread", None) => Piece::Thread,
                        ("thread_name", None) => Piece::ThreadName,
                        ("logger", None) => Piece::Logger,
                        ("ts", None) => Piece::Ts,
                        ("level", None) => Piece::Level,
                        ("msg", None) => Piece::Msg,
                        ("fields", None) => Piece::Fields,
                        ("file", None) => Piece::File,
                        ("line", None) => Piece::Line,
                        ("func", None) => Piece::Func,
                        _ => {
                            return Err(format!(
                                "unknown token {{{name}}} in pattern {s:?}; known: {{ts}} {{ts:FORMAT}} {{localtime}} {{localtime:FORMAT}} {{level}} {{msg}} {{fields}} {{file}} {{line}} {{func}} {{pid}} {{thread}} {{thread_name}} {{logger}}"
                            ))
                        }
                    };
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(piece);
                }
                '}' => {
                    return Err(format!(
                        "unmatched }} in pattern {s:?} (write }}}} for a brace)"
                    ))
                }
                c if c.is_control() => {
                    return Err(format!(
                        "control character {c:?} in pattern {s:?} would split lines"
                    ))
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        let shows_source = pieces
            .iter()
            .any(|p| matches!(p, Piece::File | Piece::Line | Piece::Func));
        Ok(Pattern {
            pieces,
            shows_source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_errors_name_the_problem() {
        assert!(Pattern::parse("{ts} {bogus}")
            .unwrap_err()
            .contains("{bogus}"));
        assert!(Pattern::parse("{ts").unwrap_err().contains("unclosed"));
        assert!(Pattern::parse("a}b").unwrap_err().contains("unmatched"));
        assert!(Pattern::parse("a\nb").unwrap_err().contains("control"));
    }
}
