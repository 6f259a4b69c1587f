//! Deferred formatting: a call site's printf format is registered once, each call copies only
//! its raw arguments into the queue, and the writer renders the text.
//!
//! Payload of a deferred record (integers little-endian):
//!
//! ```text
//! u32 site id | u8 n | n x u8 class | n x u64 word | the strings' bytes, in argument order
//!   word: Int the value | Float its bits | Ptr the address | Str the length (u64::MAX = NULL)
//! ```
//!
//! A fixed header and one word per argument, so that a call's encoding is a few stores and
//! no per-argument length arithmetic beyond its strings.
//!
//! The writer checks every argument's class against the site's format before rendering, so a
//! payload that does not match its site is counted as failed, never rendered wrong.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use crate::front::record::Source;
use crate::render::format::CachedSource;
use crate::render::printf::{self, Arg, Class, Format, Unsupported, MAX_ARGS};

/// A registered call site.
#[derive(Debug)]
pub struct Site {
    pub format: Format,
    pub file: Vec<u8>,
    pub line: u32,
    pub func: Vec<u8>,
    /// The location as text and JSON lines print it, rendered once (empty without a
    /// location).
    pub source_cached: CachedSource,
}

impl Site {
    /// The site's location; `None` for a site registered without one (no file, line or
    /// function: a binding's format, such as Python's `%`-strings, whose records carry no
    /// location).
    pub fn source(&self) -> Option<Source<'_>> {
        if self.file.is_empty() && self.line == 0 && self.func.is_empty() {
            return None;
        }
        Some(Source {
            file: &self.file,
            line: self.line,
            func: &self.func,
        })
    }

    /// The wire tags of the site's arguments for [`Args::Words`], when every one is an integer,
    /// a double or a pointer; `None` when one is a string.
    pub fn word_tags(&self) -> Option<[u8; MAX_ARGS]> {
        let mut tags = [0u8; MAX_ARGS];
        for (t, f) in tags.iter_mut().zip(&self.format.fetch) {
            *t = match f.class() {
                Class::Str => return None,
                c => class_tag(c),
            };
        }
        Some(tags)
    }
}

/// Registered sites never go away: ids index this list for the life of the process.
static SITES: RwLock<Vec<Arc<Site>>> = RwLock::new(Vec::new());
static REGISTERED: AtomicU32 = AtomicU32::new(0);

/// More sites than any program has call sites; a guard against registering in a loop.
const MAX_SITES: usize = 1 << 20;

/// Adds a call site to the registry; its id goes with every record logged from it. Formats
/// that cannot be deferred are `Unsupported` (format on the caller's thread instead). Callers
/// go through [`crate::register_site`], which also makes the registry safe across `fork`.
pub(crate) fn register(
    fmt: &[u8],
    file: &[u8],
    line: u32,
    func: &[u8],
) -> Result<u32, Unsupported> {
    let format = printf::parse(fmt)?;
    let mut sites = SITES.write().unwrap_or_else(|e| e.into_inner());
    if sites.len() >= MAX_SITES {
        return Err(Unsupported(format!("more than {MAX_SITES} call sites")));
    }
    let mut site = Site {
        format,
        file: file.to_vec(),
        line,
        func: func.to_vec(),
        source_cached: CachedSource::default(),
    };
    if let Some(s) = site.source() {
        site.source_cached = CachedSource::new(&s);
    }
    sites.push(Arc::new(site));
    let id = sites.len() as u32 - 1;
    REGISTERED.store(id + 1, Ordering::Release);
    Ok(id)
}

/// The registry's write lock, taken by the fork handler after every logger's locks (the
/// writer reads the registry while holding its logger's lock) so that no thread holds it in
/// the child.
pub(crate) fn lock_for_fork() -> std::sync::RwLockWriteGuard<'static, Vec<Arc<Site>>> {
    SITES.write().unwrap_or_else(|e| e.into_inner())
}

/// The site registered as `id`.
pub fn site(id: u32) -> Option<Arc<Site>> {
    let sites = SITES.read().unwrap_or_else(|e| e.into_inner());
    sites.get(id as usize).cloned()
}

/// Whether `id` names a registered site (one atomic load: the hot path's check).
#[inline]
pub fn is_registered(id: u32) -> bool {
    id < REGISTERED.load(Ordering::Acquire)
}

/// A writer's copy of the registry, refreshed only when it meets an id it has not seen.
#[derive(Debug, Default)]
pub(crate) struct SiteCache {
    sites: Vec<Arc<Site>>,
}

impl SiteCache {
    fn get(&mut self, id: u32) -> Option<&Arc<Site>> {
        if id as usize >= self.sites.len() {
            let all = SITES.read().unwrap_or_else(|e| e.into_inner());
            self.sites.extend(all[self.sites.len()..].iter().cloned());
        }
        self.sites.get(id as usize)
    }
}

fn class_tag(c: Class) -> u8 {
    match c {
        Class::Int => 1,
        Class::Float => 2,
        Class::Str => 3,
        Class::Ptr => 4,
    }
}

/// A deferred call's arguments as the caller hands them over.
#[derive(Clone, Copy, Debug)]
pub enum Args<'a> {
    /// Captured values.
    Values(&'a [Arg<'a>]),
    /// Integers, doubles and pointers as C passes them (`union alog_arg`): each one's 8 bytes
    /// read as a `u64`, and the site's [`Site::word_tags`] (as many as there are words).
    /// Encoding copies both as they are; tags that do not match the site's format make a
    /// record the writer counts as failed, never one printed wrong.
    Words { tags: &'a [u8], words: &'a [u64] },
}

/// Copies `words` into `out` (`8 * words.len()` bytes) little-endian: their bytes as they
/// are where that is the machine's own order.
#[inline(always)]
fn copy_le_words(words: &[u64], out: &mut [u8]) {
    #[cfg(target_endian = "little")]
    {
        let n = 8 * words.len();
        assert_eq!(out.len(), n, "room for the words");
        // SAFETY: `n` bytes of initialised `u64`s (any byte of which may be read) into `out`,
        // `n` bytes long (checked); a `&mut` cannot overlap the shared `words`.
        unsafe { crate::front::copy::copy_small(words.as_ptr().cast(), out.as_mut_ptr(), n) };
    }
    #[cfg(not(target_endian = "little"))]
    for (word, v) in out.chunks_exact_mut(8).zip(words) {
        word.copy_from_slice(&v.to_le_bytes());
    }
}

impl<'a> Args<'a> {
    /// How many arguments.
    #[inline(always)]
    pub fn len(&self) -> usize {
        match self {
            Args::Values(a) => a.len(),
            Args::Words { words, .. } => words.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the caller gave, which `max_message_bytes` limits: each string argument's
    /// bytes and 8 for any other argument.
    #[inline(always)]
    pub fn caller_len(&self) -> usize {
        match self {
            Args::Values(args) => args.iter().fold(0usize, |n, a| match a {
                Arg::Str(Some(b)) => n.saturating_add(b.len()),
                _ => n.saturating_add(8),
            }),
            Args::Words { words, .. } => 8 * words.len(),
        }
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    #[inline(always)]
    pub fn encoded_len(&self) -> usize {
        let strings = match self {
            Args::Values(args) => args.iter().fold(0usize, |n, a| match a {
                Arg::Str(Some(b)) => n.saturating_add(b.len()),
                _ => n,
            }),
            Args::Words { .. } => 0,
        };
        strings.saturating_add(5 + 9 * self.len())
    }

    /// Encodes into `out`, which must be exactly `encoded_len()` bytes long; at most
    /// `MAX_ARGS` arguments (and, for `Words`, as many tags as words).
    #[inline(always)]
    pub fn encode(&self, out: &mut [u8], site: u32) {
        let n = self.len();
        debug_assert!(n <= MAX_ARGS && out.len() == self.encoded_len());
        let (head, rest) = out.split_at_mut(5 + n);
        let (words, mut tail) = rest.split_at_mut(8 * n);
        head[..4].copy_from_slice(&site.to_le_bytes());
        head[4] = n as u8;
        let args = match *self {
            Args::Values(args) => args,
            Args::Words { tags, words: w } => {
                let tag_room = &mut head[5..];
                assert_eq!(tag_room.len(), tags.len(), "a tag per word");
                // SAFETY: `tags.len()` bytes into as many (checked), separate borrows.
                unsafe {
                    crate::front::copy::copy_small(tags.as_ptr(), tag_room.as_mut_ptr(), tags.len())
                };
                copy_le_words(w, words);
                return;
            }
        };
        for ((tag, word), a) in head[5..]
            .iter_mut()
            .zip(words.chunks_exact_mut(8))
            .zip(args)
        {
            *tag = class_tag(a.class());
            let w = match *a {
                Arg::Int(v) => v as u64,
                Arg::Float(v) => v.to_bits(),
                Arg::Ptr(v) => v,
                Arg::Str(None) => u64::MAX,
                Arg::Str(Some(b)) => {
                    let (bytes, more) = std::mem::take(&mut tail).split_at_mut(b.len());
                    bytes.copy_from_slice(b);
                    tail = more;
                    b.len() as u64
                }
            };
            word.copy_from_slice(&w.to_le_bytes());
        }
    }

    /// The arguments as values, in `buf`; `None` when a word's tag is not a scalar's.
    pub fn values<'b>(&self, buf: &'b mut [Arg<'a>; MAX_ARGS]) -> Option<&'b [Arg<'a>]> {
        match *self {
            Args::Values(args) => {
                buf.get_mut(..args.len())?.copy_from_slice(args);
                Some(&buf[..args.len()])
            }
            Args::Words { tags, words } => {
                for ((slot, &tag), &w) in buf.iter_mut().zip(tags).zip(words) {
                    *slot = scalar(tag, w)?;
                }
                buf.get(..words.len())
            }
        }
    }
}

/// The value of a scalar's word, by its wire tag.
fn scalar<'a>(tag: u8, w: u64) -> Option<Arg<'a>> {
    Some(match tag {
        1 => Arg::Int(w as i64),
        2 => Arg::Float(f64::from_bits(w)),
        4 => Arg::Ptr(w),
        _ => return None,
    })
}

fn decode<'a>(p: &'a [u8], out: &mut [Arg<'a>; MAX_ARGS]) -> Option<(u32, usize)> {
    let id = u32::from_le_bytes(p.get(..4)?.try_into().ok()?);
    let n = usize::from(*p.get(4)?);
    if n > MAX_ARGS {
        return None;
    }
    let tags = p.get(5..5 + n)?;
    let words = p.get(5 + n..5 + 9 * n)?;
    let mut tail = &p[5 + 9 * n..];
    for ((slot, &tag), word) in out.iter_mut().zip(tags).zip(words.chunks_exact(8)) {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        *slot = match tag {
            3 if w == u64::MAX => Arg::Str(None),
            3 => {
                let (b, more) = tail.split_at_checked(usize::try_from(w).ok()?)?;
                tail = more;
                Arg::Str(Some(b))
            }
            _ => scalar(tag, w)?,
        };
    }
    tail.is_empty().then_some((id, n))
}

/// Renders a deferred payload's message into `out` and returns its site, or `None` when the
/// payload is malformed or does not match its site's format.
pub(crate) fn render<'c>(
    payload: &[u8],
    cache: &'c mut SiteCache,
    out: &mut Vec<u8>,
) -> Option<&'c Site> {
    let id = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?);
    let site = cache.get(id)?;
    if site.format.integers_only() {
        // Integers only: rendered from the words where they lie, once the tags say that
        // every argument is one and nothing follows the words.
        let n = site.format.fetch.len();
        let tags = payload.get(5..5 + n)?;
        if payload.get(4) == Some(&(n as u8))
            && payload.len() == 5 + 9 * n
            && tags.iter().all(|&t| t == class_tag(Class::Int))
        {
            return site
                .format
                .render_words(&payload[5 + n..], out)
                .then_some(site);
        }
    }
    let mut args = [Arg::Int(0); MAX_ARGS];
    let (_, n) = decode(payload, &mut args)?;
    render_args(site, &args[..n], out).then_some(site)
}

/// Renders `args` with `site`'s format into `out`; false (nothing rendered) when they do not
/// match the format's conversions.
pub(crate) fn render_args(site: &Site, args: &[Arg<'_>], out: &mut Vec<u8>) -> bool {
    let fetch = &site.format.fetch;
    if fetch.len() != args.len() || fetch.iter().zip(args).any(|(f, a)| f.class() != a.class()) {
        return false;
    }
    site.format.render(args, out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_roundtrip_renders_like_printf() {
        let id = register(b"%s=%d (%.1f) %s %p", b"a.c", 7, b"main").unwrap();
        let args = [
            Arg::Str(Some(b"x")),
            Arg::Int(-3),
            Arg::Float(0.25),
            Arg::Str(None),
            Arg::Ptr(0x10),
        ];
        let args = Args::Values(&args);
        let mut buf = vec![0u8; args.encoded_len()];
        args.encode(&mut buf, id);
        let mut cache = SiteCache::default();
        let mut out = Vec::new();
        let site = render(&buf, &mut cache, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "x=-3 (0.2) (null) 0x10");
        assert_eq!((site.line, &site.file[..]), (7, &b"a.c"[..]));
    }

    #[test]
    fn words_encode_as_their_values_do() {
        let id = register(b"%d %u %.2f %p %ld", b"w.c", 3, b"f").unwrap();
        let site = site(id).unwrap();
        let tags = site.word_tags().expect("no string argument");
        let values = [
            Arg::Int(-7),
            Arg::Int(42),
            Arg::Float(1.5),
            Arg::Ptr(0xbeef),
            Arg::Int(i64::MIN),
        ];
        let words = [-7i64 as u64, 42, 1.5f64.to_bits(), 0xbeef, i64::MIN as u64];
        let (by_value, by_word) = (
            Args::Values(&values),
            Args::Words {
                tags: &tags[..5],
                words: &words,
            },
        );
        assert_eq!(by_word.encoded_len(), by_value.encoded_len());
        assert_eq!(by_word.caller_len(), by_value.caller_len());
        let (mut a, mut b) = (
            vec![0u8; by_value.encoded_len()],
            vec![0u8; by_word.encoded_len()],
        );
        by_value.encode(&mut a, id);
        by_word.encode(&mut b, id);
        assert_eq!(a, b, "the same payload bytes");
        let mut buf = [Arg::Int(0); MAX_ARGS];
        assert_eq!(by_word.values(&mut buf), Some(&values[..]));
        let mut out = Vec::new();
        render(&b, &mut SiteCache::default(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("-7 42 1.50 0xbeef {}", i64::MIN)
        );

        // Tags that are not the site's: refused by the writer, never printed as something else.
        let wrong = [2u8, 1, 1, 4, 1];
        let bad = Args::Words {
            tags: &wrong,
            words: &words,
        };
        let mut c = vec![0u8; bad.encoded_len()];
        bad.encode(&mut c, id);
        assert!(render(&c, &mut SiteCache::default(), &mut Vec::new()).is_none());
        let junk = [9u8, 1, 2, 4, 1];
        let bad = Args::Words {
            tags: &junk,
            words: &words,
        };
        assert_eq!(bad.values(&mut buf), None);

        // A site with a string argument has no word tags.
        let with_str = register(b"%s %d", b"", 0, b"").unwrap();
        assert_eq!(self::site(with_str).unwrap().word_tags(), None);
    }

    #[test]
    fn mismatched_or_truncated_payloads_are_refused() {
        let id = register(b"%d %s", b"", 0, b"").unwrap();
        let mut cache = SiteCache::default();
        let good = [Arg::Int(1), Arg::Str(Some(b"ab"))];
        let good = Args::Values(&good);
        let mut buf = vec![0u8; good.encoded_len()];
        good.encode(&mut buf, id);
        for cut in 0..buf.len() {
            assert!(
                render(&buf[..cut], &mut cache, &mut Vec::new()).is_none(),
                "cut {cut}"
            );
        }
        let swapped = [Arg::Str(Some(b"ab")), Arg::Int(1)];
        let swapped = Args::Values(&swapped);
        let mut buf = vec![0u8; swapped.encoded_len()];
        swapped.encode(&mut buf, id);
        assert!(render(&buf, &mut cache, &mut Vec::new()).is_none());
        let mut buf = vec![0u8; good.encoded_len()];
        good.encode(&mut buf, u32::MAX);
        assert!(render(&buf, &mut cache, &mut Vec::new()).is_none());
    }

    /// A site whose conversions are all plain integers renders from the payload's words; a
    /// payload that is not exactly one integer word per argument is refused as before.
    #[test]
    fn an_integers_only_site_renders_from_its_words_and_refuses_any_other_payload() {
        let id = register(b"%d items, %u left of %ld", b"i.c", 9, b"f").unwrap();
        let site = self::site(id).unwrap();
        assert!(site.format.integers_only());
        let mut cache = SiteCache::default();
        let args = [Arg::Int(-3), Arg::Int(-1), Arg::Int(i64::MIN)];
        let good = Args::Values(&args);
        let mut buf = vec![0u8; good.encoded_len()];
        good.encode(&mut buf, id);
        let mut out = b"x".to_vec();
        let site = render(&buf, &mut cache, &mut out).expect("renders");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x-3 items, 4294967295 left of -9223372036854775808"
        );
        assert_eq!(site.line, 9);
        for cut in 0..buf.len() {
            assert!(
                render(&buf[..cut], &mut cache, &mut Vec::new()).is_none(),
                "cut {cut}"
            );
        }
        let mut longer = buf.clone();
        longer.push(0);
        assert!(
            render(&longer, &mut cache, &mut Vec::new()).is_none(),
            "a byte after the words"
        );
        for (at, byte) in [(4, 2u8), (5, 2), (7, 4), (6, 3)] {
            let mut bad = buf.clone();
            bad[at] = byte;
            assert!(
                render(&bad, &mut cache, &mut Vec::new()).is_none(),
                "byte {at} = {byte}"
            );
        }
        let float = [Arg::Int(1), Arg::Float(2.0), Arg::Int(3)];
        let float = Args::Values(&float);
        let mut buf = vec![0u8; float.encoded_len()];
        float.encode(&mut buf, id);
        assert!(
            render(&buf, &mut cache, &mut Vec::new()).is_none(),
            "a float for %u"
        );
    }
}
