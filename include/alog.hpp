/*
 * alog.hpp: the C++17 API of alog, header-only over the C ABI of alog.h.
 *
 *     #include <alog.hpp>
 *
 *     alog::Logger log("logs/app.log", {{"format", "json"}, {"level", "debug"}});
 *     log.info("user {} from {} in {:.1f} ms", name, ip, ms);       // source location too
 *     ALOG_LOGGER_WARN(log, "queue at {:>5}%", pct);                 // checked at compile time
 *     log.log_fields(alog::Level::warn, "slow request", {{"user", "ann"}, {"ms", 1250}});
 *
 * alog::Logger is RAII: the destructor closes the logger (draining its queue). A bad option
 * throws alog::Error, whose what() is alog's message naming the key and key() the key.
 *
 * Formatting: `{}` replacement fields with std::format's spec syntax
 * `{:[[fill]align][sign][#][0][width][.precision][type]}` for strings (const char *,
 * std::string, std::string_view), integers, bool, char, float/double and pointers, and
 * `{{` / `}}` for braces. Not supported: positional (`{0}`) and nested (`{:{}}`) fields, the
 * `L` option, `#` with floating point, other argument types (they do not compile).
 *
 * The macros ALOG_LOGGER_<LEVEL>(logger, fmt, args...) and ALOG_<LEVEL>(fmt, args...) (default
 * logger), LEVEL = TRACE, DEBUG, INFO, WARN, ERROR, FATAL:
 *   - check the format against the argument types at compile time (a mismatch is a
 *     static_assert failure);
 *   - compile to nothing below ALOG_ACTIVE_LEVEL (define it before including, e.g.
 *     -DALOG_ACTIVE_LEVEL=ALOG_LEVEL_INFO; default: every level), and evaluate no argument
 *     when the logger's level is above the record's;
 *   - defer formatting to the writer thread when every field maps onto a printf conversion
 *     that alog renders exactly as std::format would (integers without `b`/`c`/`#`, floats
 *     with a precision or an e/f/g type, plain strings and chars, bool): the call then copies
 *     only the raw arguments, as ALOG_LOGF does. Other calls format on the calling thread.
 * The member functions (log.info(...)) check the format when called and format on the caller.
 * Either way the record carries its source location (file, line, function).
 *
 * Default logger and registry: alog::default_logger() (created on first use, writing to
 * stderr, unless alog::set_default_logger installed one), alog::register_logger(name, lg),
 * alog::get(name), alog::drop(name), alog::drop_all().
 */
#ifndef ALOG_HPP
#define ALOG_HPP

#include "alog.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#ifndef ALOG_ACTIVE_LEVEL
#define ALOG_ACTIVE_LEVEL ALOG_LEVEL_TRACE
#endif

namespace alog {

/// Severity levels (OpenTelemetry numbers; any 1..24 is valid through Level(n)).
enum class Level : int32_t {
  trace = ALOG_LEVEL_TRACE,
  debug = ALOG_LEVEL_DEBUG,
  info = ALOG_LEVEL_INFO,
  warn = ALOG_LEVEL_WARN,
  error = ALOG_LEVEL_ERROR,
  fatal = ALOG_LEVEL_FATAL,
};

/// A failed call: the alog_result code, alog's message and, for a configuration error, the key.
class Error : public std::runtime_error {
 public:
  Error(alog_result code, const std::string &message, std::string key = {})
      : std::runtime_error(message), code_(code), key_(std::move(key)) {}
  alog_result code() const noexcept { return code_; }
  const char *name() const noexcept { return alog_result_name(code_); }
  const std::string &key() const noexcept { return key_; }

 private:
  alog_result code_;
  std::string key_;
};

/// A source location; Source::current() as a default argument is the caller's.
struct Source {
  const char *file = nullptr;
  const char *func = nullptr;
  uint32_t line = 0;
  static constexpr Source current(const char *file = __builtin_FILE(),
                                  const char *func = __builtin_FUNCTION(),
                                  uint32_t line = __builtin_LINE()) noexcept {
    return Source{file, func, line};
  }
};

/// One structured field: a key and a string, integer, floating point or boolean value.
class Field {
 public:
  Field(std::string_view key, std::string_view v) : Field(key, KindTag{ALOG_FIELD_STRING}) { set_str(v); }
  Field(std::string_view key, const char *v) : Field(key, KindTag{ALOG_FIELD_STRING}) {
    set_str(v ? std::string_view(v) : std::string_view());
  }
  Field(std::string_view key, const std::string &v) : Field(key, KindTag{ALOG_FIELD_STRING}) { set_str(v); }
  Field(std::string_view key, bool v) : Field(key, KindTag{ALOG_FIELD_BOOL}) { f_.i64 = v ? 1 : 0; }
  Field(std::string_view key, double v) : Field(key, KindTag{ALOG_FIELD_FLOAT}) { f_.f64 = v; }
  Field(std::string_view key, float v) : Field(key, KindTag{ALOG_FIELD_FLOAT}) { f_.f64 = static_cast<double>(v); }
  template <typename T, typename std::enable_if<std::is_integral<T>::value && !std::is_same<T, bool>::value &&
                                                    std::is_signed<T>::value, int>::type = 0>
  Field(std::string_view key, T v) : Field(key, KindTag{ALOG_FIELD_INT}) { f_.i64 = static_cast<int64_t>(v); }
  template <typename T, typename std::enable_if<std::is_integral<T>::value && !std::is_same<T, bool>::value &&
                                                    std::is_unsigned<T>::value, int>::type = 0>
  Field(std::string_view key, T v) : Field(key, KindTag{ALOG_FIELD_UINT}) { f_.u64 = static_cast<uint64_t>(v); }
  /// A pre-encoded JSON value (ALOG_FIELD_JSON).
  static Field json(std::string_view key, std::string_view encoded) {
    Field f(key, KindTag{ALOG_FIELD_JSON});
    f.set_str(encoded);
    return f;
  }
  const alog_field &c() const noexcept { return f_; }

 private:
  struct KindTag {
    int32_t kind;
  };
  Field(std::string_view key, KindTag tag) : f_() {
    f_.key = key.data();
    f_.key_len = key.size();
    f_.kind = tag.kind;
  }
  void set_str(std::string_view v) {
    f_.str = v.data();
    f_.str_len = v.size();
  }
  alog_field f_;
};

namespace detail {

// ------------------------------------------------------------------ format specs

enum class Kind : uint8_t { none, sint, uint, boolean, chr, flt, str, ptr };

struct Spec {
  char fill = ' ';
  char align = 0;  // 0, '<', '>', '^'
  char sign = 0;   // 0, '+', '-', ' '
  bool alt = false;
  bool zero = false;
  int width = -1;
  int prec = -1;
  char type = 0;
};

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Parses a replacement field whose '{' is at f[i - 1]; returns the index after its '}', or
/// -1 for a malformed or unsupported field.
constexpr int parse_field(std::string_view f, int i, Spec &s) {
  const int n = static_cast<int>(f.size());
  if (i < n && f[static_cast<size_t>(i)] == '}') return i + 1;
  if (i >= n || f[static_cast<size_t>(i)] != ':') return -1;  // positional or nested: unsupported
  ++i;
  auto at = [&](int k) { return k < n ? f[static_cast<size_t>(k)] : '\0'; };
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^'; };
  if (is_align(at(i + 1)) && at(i) != '{' && at(i) != '}' && at(i) != '\0') {
    s.fill = at(i);
    s.align = at(i + 1);
    i += 2;
  } else if (is_align(at(i))) {
    s.align = at(i);
    ++i;
  }
  if (at(i) == '+' || at(i) == '-' || at(i) == ' ') s.sign = at(i++);
  if (at(i) == '#') s.alt = true, ++i;
  if (at(i) == '0') s.zero = true, ++i;
  if (is_digit(at(i))) {
    int w = 0;
    while (is_digit(at(i))) {
      w = w * 10 + (at(i++) - '0');
      if (w > 100000) return -1;
    }
    s.width = w;
  }
  if (at(i) == '.') {
    ++i;
    if (!is_digit(at(i))) return -1;
    int p = 0;
    while (is_digit(at(i))) {
      p = p * 10 + (at(i++) - '0');
      if (p > 100000) return -1;
    }
    s.prec = p;
  }
  const char t = at(i);
  for (char c : std::string_view("bBcdoxXaAeEfFgGsp")) {
    if (t == c) {
      s.type = t;
      ++i;
      break;
    }
  }
  return at(i) == '}' ? i + 1 : -1;
}

constexpr bool type_in(char t, std::string_view allowed) {
  for (char c : allowed)
    if (c == t) return true;
  return false;
}

/// Whether a spec suits an argument kind (as std::format would accept it).
constexpr bool spec_fits(Kind k, const Spec &s) {
  switch (k) {
    case Kind::sint:
    case Kind::uint:
      return s.prec < 0 && (s.type == 0 || type_in(s.type, "bBcdoxX"));
    case Kind::boolean:
      return s.prec < 0 && (s.type == 0 || type_in(s.type, "sbBdoxX"));
    case Kind::chr:
      return s.prec < 0 && (s.type == 0 || type_in(s.type, "cbBdoxX")) &&
             ((s.type == 0 || s.type == 'c') ? (s.sign == 0 && !s.alt && !s.zero) : true);
    case Kind::flt:
      return !s.alt && (s.type == 0 || type_in(s.type, "aAeEfFgG"));
    case Kind::str:
      return (s.type == 0 || s.type == 's') && s.sign == 0 && !s.alt && !s.zero;
    case Kind::ptr:
      return s.prec < 0 && (s.type == 0 || s.type == 'p') && s.sign == 0 && !s.alt;
    case Kind::none:
      return false;
  }
  return false;
}

template <typename T>
struct kind_of {
  using D = typename std::decay<T>::type;
  static constexpr Kind value =
      std::is_same<D, bool>::value                                  ? Kind::boolean
      : std::is_same<D, char>::value                                ? Kind::chr
      : std::is_integral<D>::value && std::is_signed<D>::value      ? Kind::sint
      : std::is_integral<D>::value                                  ? Kind::uint
      : std::is_floating_point<D>::value                            ? Kind::flt
      : std::is_same<D, const char *>::value || std::is_same<D, char *>::value ||
              std::is_same<D, std::string>::value || std::is_same<D, std::string_view>::value
          ? Kind::str
      : std::is_pointer<D>::value || std::is_same<D, std::nullptr_t>::value ? Kind::ptr
                                                                            : Kind::none;
};

template <typename... A>
struct types {};

/// Whether an argument's value can be packed for the writer (string_view need not end in
/// NUL, and pointers print differently through printf).
template <typename T>
struct can_defer {
  using D = typename std::decay<T>::type;
  static constexpr bool value = kind_of<T>::value != Kind::none && kind_of<T>::value != Kind::ptr &&
                                !std::is_same<D, std::string_view>::value;
};

/// Declared only: decltype(arg_types(args...)) names the argument types without evaluating.
template <typename F, typename... A>
types<A...> arg_types(F &&, A &&...);

/// Checks a format against argument kinds: every field well-formed and suited to its
/// argument, `{{`/`}}` paired, and as many fields as arguments. Returns "" or what is wrong.
constexpr const char *check(std::string_view f, const Kind *kinds, size_t n) {
  size_t arg = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        ++i;
        continue;
      }
      return "a single '}' (write '}}')";
    }
    if (f[i] != '{') continue;
    if (i + 1 < f.size() && f[i + 1] == '{') {
      ++i;
      continue;
    }
    Spec s{};
    const int end = parse_field(f, static_cast<int>(i + 1), s);
    if (end < 0) return "a malformed or unsupported replacement field";
    if (arg >= n) return "more replacement fields than arguments";
    if (kinds[arg] == Kind::none) return "an argument of a type alog cannot format";
    if (!spec_fits(kinds[arg], s)) return "a format spec that does not suit its argument's type";
    ++arg;
    i = static_cast<size_t>(end) - 1;
  }
  return arg == n ? "" : "more arguments than replacement fields";
}

template <typename... A>
constexpr const char *check_types(std::string_view f, types<A...>) {
  constexpr Kind kinds[sizeof...(A) + 1] = {kind_of<A>::value..., Kind::none};
  return check(f, kinds, sizeof...(A));
}

constexpr bool ok(const char *why) { return why[0] == '\0'; }

// ------------------------------------------------------------------ deferral to printf

/// Appends to `out` the printf conversion alog renders exactly as std::format renders spec
/// `s` for kind `k`; false when there is none (the call then formats on the caller).
template <size_t N>
constexpr bool printf_conv(Kind k, const Spec &s, char (&out)[N], size_t &o) {
  auto put = [&](char c) { out[o++] = c; };
  auto put_num = [&](int v) {
    char d[8] = {};
    int m = 0;
    do {
      d[m++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0);
    while (m > 0) put(d[--m]);
  };
  if (s.align == '^' || (s.fill != ' ' && s.align != 0)) return false;
  const bool left_default = k == Kind::str || k == Kind::boolean || k == Kind::chr;
  switch (k) {
    case Kind::sint:
    case Kind::uint:
      if (s.alt || (s.type != 0 && !type_in(s.type, "doxX"))) return false;
      if (k == Kind::sint && s.type != 0 && s.type != 'd') return false;  // printf's %x of a negative differs
      break;
    case Kind::flt:
      if (s.type == 0 ? s.prec < 0 : !type_in(s.type, "eEfFgG")) return false;
      break;
    case Kind::str:
    case Kind::boolean:
    case Kind::chr:
      // Widths count bytes in printf and characters in std::format: only plain fields defer.
      if (s.width >= 0 || s.prec >= 0 || (s.type != 0 && s.type != 's' && s.type != 'c')) return false;
      break;
    default:
      return false;
  }
  put('%');
  if (s.align == '<' || (s.align == 0 && left_default && s.width >= 0)) put('-');
  if (s.sign == '+' || s.sign == ' ') put(s.sign);
  if (s.zero && s.align == 0) put('0');
  if (s.width >= 0) put_num(s.width);
  if (s.prec >= 0) {
    put('.');
    put_num(s.prec);
  }
  switch (k) {
    case Kind::sint:
      put('l'), put('l'), put('d');
      break;
    case Kind::uint:
      put('l'), put('l'), put(s.type == 0 || s.type == 'd' ? 'u' : s.type);
      break;
    case Kind::flt:
      put(s.type == 0 ? 'g' : s.type);
      break;
    case Kind::chr:
      put('c');
      break;
    default:
      put('s');
      break;
  }
  return true;
}

/// A `{}` format as a printf format alog can defer, or deferrable == false.
template <size_t N>
struct Printf {
  char fmt[N * 4 + 8] = {};
  bool deferrable = false;
};

template <size_t N, typename... A>
constexpr Printf<N> to_printf(const char (&f)[N], types<A...>) {
  constexpr Kind kinds[sizeof...(A) + 1] = {kind_of<A>::value..., Kind::none};
  constexpr bool packable[sizeof...(A) + 1] = {can_defer<A>::value..., true};
  Printf<N> p{};
  size_t o = 0, arg = 0;
  const std::string_view v(f, N - 1);
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if ((c == '{' || c == '}') && i + 1 < v.size() && v[i + 1] == c) {
      p.fmt[o++] = c;
      ++i;
      continue;
    }
    if (c == '%') {
      p.fmt[o++] = '%';
      p.fmt[o++] = '%';
      continue;
    }
    if (c != '{') {
      p.fmt[o++] = c;
      continue;
    }
    Spec s{};
    const int end = parse_field(v, static_cast<int>(i + 1), s);
    if (end < 0 || arg >= sizeof...(A) || !packable[arg] || !printf_conv(kinds[arg], s, p.fmt, o))
      return Printf<N>{};
    ++arg;
    i = static_cast<size_t>(end) - 1;
  }
  p.deferrable = arg == sizeof...(A) && arg <= ALOG_LOGF_MAX_ARGS;
  return p;
}

/// One argument as the raw word its printf conversion reads.
template <typename T>
alog_arg pack(const T &v) {
  alog_arg a;
  a.i = 0;
  using D = typename std::decay<T>::type;
  if constexpr (std::is_same<D, bool>::value) {
    a.p = v ? "true" : "false";
  } else if constexpr (std::is_floating_point<D>::value) {
    a.d = static_cast<double>(v);
  } else if constexpr (std::is_integral<D>::value && std::is_signed<D>::value) {
    a.i = static_cast<int64_t>(v);
  } else if constexpr (std::is_integral<D>::value) {
    a.i = static_cast<int64_t>(static_cast<uint64_t>(v));
  } else if constexpr (std::is_same<D, std::string>::value) {
    a.p = v.c_str();
  } else if constexpr (std::is_same<D, const char *>::value || std::is_same<D, char *>::value) {
    a.p = v;
  } else {
    (void)v;  // never deferred (see can_defer)
  }
  return a;
}

// ------------------------------------------------------------------ runtime formatting

/// Characters (UTF-8 code points) in `s`: std::format's width for these strings.
inline size_t chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

inline void pad(std::string &out, std::string_view body, const Spec &s, char default_align) {
  const size_t len = chars(body);
  const size_t w = s.width > 0 ? static_cast<size_t>(s.width) : 0;
  if (len >= w) {
    out.append(body);
    return;
  }
  const size_t fill = w - len;
  const char align = s.align ? s.align : default_align;
  const size_t before = align == '>' ? fill : align == '^' ? fill / 2 : 0;
  out.append(before, s.fill);
  out.append(body);
  out.append(fill - before, s.fill);
}

/// Sign or prefix, then digits: zero padding goes between them, else the fill around all.
inline void pad_number(std::string &out, std::string_view prefix, std::string_view digits, const Spec &s,
                       bool finite = true) {
  if (s.zero && s.align == 0 && finite) {
    out.append(prefix);
    const size_t len = prefix.size() + digits.size();
    if (s.width > 0 && len < static_cast<size_t>(s.width)) out.append(static_cast<size_t>(s.width) - len, '0');
    out.append(digits);
    return;
  }
  std::string all(prefix);
  all.append(digits);
  pad(out, all, s, '>');
}

inline void format_int(std::string &out, bool negative, uint64_t magnitude, const Spec &s) {
  if (s.type == 'c') {
    const char c = static_cast<char>(magnitude);
    pad(out, std::string_view(&c, 1), s, '<');
    return;
  }
  int base = 10;
  const char *alt = "";
  switch (s.type) {
    case 'b': base = 2, alt = "0b"; break;
    case 'B': base = 2, alt = "0B"; break;
    case 'o': base = 8, alt = magnitude ? "0" : ""; break;
    case 'x': base = 16, alt = "0x"; break;
    case 'X': base = 16, alt = "0X"; break;
    default: break;
  }
  char digits[72];
  const auto r = std::to_chars(digits, digits + sizeof digits, magnitude, base);
  if (s.type == 'X')
    for (char *p = digits; p != r.ptr; ++p)
      if (*p >= 'a' && *p <= 'f') *p = static_cast<char>(*p - 'a' + 'A');
  std::string prefix;
  if (negative) prefix += '-';
  else if (s.sign == '+' || s.sign == ' ') prefix += s.sign;
  if (s.alt) prefix += alt;
  pad_number(out, prefix, std::string_view(digits, static_cast<size_t>(r.ptr - digits)), s);
}

inline void format_float(std::string &out, double v, const Spec &s) {
  char buf[1100];
  std::to_chars_result r{};
  const bool neg = std::signbit(v);
  const double mag = neg ? -v : v;
  const bool finite = mag - mag == 0;
  switch (s.type) {
    case 'e': case 'E':
      r = std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::scientific, s.prec < 0 ? 6 : s.prec);
      break;
    case 'f': case 'F':
      r = std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::fixed, s.prec < 0 ? 6 : s.prec);
      break;
    case 'g': case 'G':
      r = std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::general, s.prec < 0 ? 6 : s.prec);
      break;
    case 'a': case 'A':
      r = s.prec < 0 ? std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::hex)
                     : std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::hex, s.prec);
      break;
    default:
      r = s.prec < 0 ? std::to_chars(buf, buf + sizeof buf, mag)
                     : std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::general, s.prec);
      break;
  }
  if (r.ec != std::errc()) r.ptr = buf;
  if (s.type == 'E' || s.type == 'F' || s.type == 'G' || s.type == 'A')
    for (char *p = buf; p != r.ptr; ++p)
      if (*p >= 'a' && *p <= 'z') *p = static_cast<char>(*p - 'a' + 'A');
  std::string prefix;
  if (neg) prefix += '-';
  else if (s.sign == '+' || s.sign == ' ') prefix += s.sign;
  pad_number(out, prefix, std::string_view(buf, static_cast<size_t>(r.ptr - buf)), s, finite);
}

inline void format_str(std::string &out, std::string_view v, const Spec &s) {
  if (s.prec >= 0) {  // at most prec characters
    size_t i = 0, n = 0;
    while (i < v.size()) {
      if ((static_cast<unsigned char>(v[i]) & 0xC0) != 0x80 && n++ == static_cast<size_t>(s.prec)) break;
      ++i;
    }
    v = v.substr(0, i);
  }
  pad(out, v, s, '<');
}

template <typename T>
void format_arg(std::string &out, const T &v, const Spec &s) {
  using D = typename std::decay<T>::type;
  if constexpr (std::is_same<D, bool>::value) {
    if (s.type == 0 || s.type == 's') format_str(out, v ? "true" : "false", s);
    else format_int(out, false, v ? 1 : 0, s);
  } else if constexpr (std::is_same<D, char>::value) {
    if (s.type == 0 || s.type == 'c') pad(out, std::string_view(&v, 1), s, '<');
    else format_int(out, false, static_cast<unsigned char>(v), s);
  } else if constexpr (std::is_integral<D>::value && std::is_signed<D>::value) {
    const bool neg = v < 0;
    const uint64_t mag = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    format_int(out, neg, mag, s);
  } else if constexpr (std::is_integral<D>::value) {
    format_int(out, false, static_cast<uint64_t>(v), s);
  } else if constexpr (std::is_floating_point<D>::value) {
    format_float(out, static_cast<double>(v), s);
  } else if constexpr (std::is_same<D, std::string>::value || std::is_same<D, std::string_view>::value) {
    format_str(out, v, s);
  } else if constexpr (std::is_same<D, const char *>::value || std::is_same<D, char *>::value) {
    const char *p = v;
    format_str(out, p ? std::string_view(p) : std::string_view("(null)"), s);
  } else if constexpr (std::is_pointer<D>::value || std::is_same<D, std::nullptr_t>::value) {
    Spec hex = s;
    hex.type = 'x';
    hex.alt = true;
    format_int(out, false, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(static_cast<const volatile void *>(v))), hex);
  } else {
    static_assert(sizeof(D) == 0, "alog: an argument of a type alog cannot format");
  }
}

/// Formats `f` with `args` (already checked) into `out`.
template <typename... A>
void format_to(std::string &out, std::string_view f, const A &...args) {
  size_t i = 0;
  auto next = [&](const auto &arg) {
    for (; i < f.size(); ++i) {
      const char c = f[i];
      if ((c == '{' || c == '}') && i + 1 < f.size() && f[i + 1] == c) {
        out += c;
        ++i;
        continue;
      }
      if (c != '{') {
        out += c;
        continue;
      }
      Spec s{};
      const int end = parse_field(f, static_cast<int>(i + 1), s);
      i = static_cast<size_t>(end);
      format_arg(out, arg, s);
      return;
    }
  };
  (next(args), ...);
  for (; i < f.size(); ++i) {
    out += f[i];
    if ((f[i] == '{' || f[i] == '}') && i + 1 < f.size() && f[i + 1] == f[i]) ++i;
  }
}

}  // namespace detail

/// Formats like the logging calls do (for tests and for building messages elsewhere). Throws
/// alog::Error(ALOG_ERR_INVALID) when the format does not suit the arguments.
template <typename... A>
std::string format(std::string_view f, const A &...args) {
  constexpr detail::Kind kinds[sizeof...(A) + 1] = {detail::kind_of<A>::value..., detail::Kind::none};
  const char *why = detail::check(f, kinds, sizeof...(A));
  if (!detail::ok(why)) throw Error(ALOG_ERR_INVALID, std::string("alog format \"") + std::string(f) + "\": " + why);
  std::string out;
  detail::format_to(out, f, args...);
  return out;
}

/// Counters of a logger (alog_stats).
using Stats = alog_stats;

/// The format of a member call (log.info("...", ...)) and the caller's source location.
struct Fmt {
  std::string_view text;
  Source src;
  template <typename S, typename = typename std::enable_if<std::is_convertible<const S &, std::string_view>::value>::type>
  Fmt(const S &s, Source loc = Source::current()) : text(s), src(loc) {}  // NOLINT: implicit on purpose
};

/// An open logger. Closed (queue drained, files flushed) by the destructor or close().
/// Thread-safe: share it by reference or through std::shared_ptr.
class Logger {
 public:
  /// Opens a logger appending to `path` (empty: no main file, then an option must name a
  /// sink, e.g. {"console", "stderr"}) with configuration keys and values (see alog.h).
  /// Throws alog::Error: for a bad option, key() is the key and what() alog's message.
  Logger(const std::string &path, std::initializer_list<std::pair<std::string_view, std::string_view>> options = {}) {
    Conf conf(options);
    char err[512] = "";
    const alog_result r = alog_open(path.empty() ? nullptr : path.c_str(), conf.get(), &lg_, err, sizeof err);
    if (r != ALOG_OK) throw Error(r, err);
  }
  ~Logger() { close(); }
  Logger(const Logger &) = delete;
  Logger &operator=(const Logger &) = delete;
  Logger(Logger &&o) noexcept : lg_(std::exchange(o.lg_, nullptr)) {}
  Logger &operator=(Logger &&o) noexcept {
    if (this != &o) {
      close();
      lg_ = std::exchange(o.lg_, nullptr);
    }
    return *this;
  }

  /// The C handle (valid until close()).
  alog_logger *handle() const noexcept { return lg_; }
  bool enabled(Level l) const noexcept { return alog_level_enabled(lg_, static_cast<int32_t>(l)) != 0; }
  void set_level(Level l) { check(alog_set_level(lg_, static_cast<int32_t>(l)), "alog_set_level"); }
  /// Adds one sink to the open logger from its keys, e.g. {{"file.audit.path", "audit.log"},
  /// {"file.audit.level", "warn"}} or {{"console", "stderr"}}, and returns its name (for
  /// remove_sink). Everything else (the style, rotation) is the logger's. Throws alog::Error.
  std::string add_sink(std::initializer_list<std::pair<std::string_view, std::string_view>> keys) {
    Conf conf(keys);
    char name[64] = "", err[512] = "";
    const alog_result r = alog_add_sink(lg_, conf.get(), name, sizeof name, err, sizeof err);
    if (r != ALOG_OK) throw Error(r, err);
    return name;
  }
  /// Writes to the sink `name` what was logged before the call, then removes and closes it.
  /// Throws alog::Error (an unknown name, the last sink, a timeout).
  void remove_sink(const std::string &name, uint32_t timeout_ms = ALOG_TIMEOUT_INFINITE) {
    char err[512] = "";
    const alog_result r = alog_remove_sink(lg_, name.c_str(), timeout_ms, err, sizeof err);
    if (r != ALOG_OK) throw Error(r, err);
  }
  /// Waits until everything logged so far is written (timeout_ms: ALOG_TIMEOUT_INFINITE).
  alog_result flush(uint32_t timeout_ms = ALOG_TIMEOUT_INFINITE) noexcept { return alog_flush(lg_, timeout_ms); }
  /// Drains and closes; later calls return ALOG_ERR_CLOSED. Idempotent.
  alog_result close(uint32_t timeout_ms = ALOG_TIMEOUT_INFINITE) noexcept {
    return lg_ ? alog_close(lg_, timeout_ms) : ALOG_OK;
  }
  Stats stats() const {
    Stats s{};
    check(alog_get_stats(lg_, &s), "alog_get_stats");
    return s;
  }

  /// A preformatted message.
  alog_result write(Level l, std::string_view msg, Source src = Source::current()) noexcept {
    return write_record(l, msg, nullptr, 0, src);
  }
  /// A message with structured fields.
  alog_result log_fields(Level l, std::string_view msg, std::initializer_list<Field> fields,
                         Source src = Source::current()) noexcept {
    alog_field small[16];
    if (fields.size() > 16) {
      try {
        std::vector<alog_field> many;
        many.reserve(fields.size());
        for (const Field &f : fields) many.push_back(f.c());
        return write_record(l, msg, many.data(), many.size(), src);
      } catch (...) {
        return ALOG_ERR_TOO_LARGE;  // no memory to describe so many fields
      }
    }
    size_t n = 0;
    for (const Field &f : fields) small[n++] = f.c();
    return write_record(l, msg, small, n, src);
  }

  /// `{}`-formatted records; the format is checked when called (ALOG_ERR_INVALID, nothing
  /// logged, when it does not suit the arguments). The macros check at compile time.
  template <typename... A>
  alog_result log(Level l, Fmt f, const A &...args) noexcept {
    return log_at(l, f.src, f.text, args...);
  }
  template <typename... A>
  alog_result trace(Fmt f, const A &...args) noexcept { return log_at(Level::trace, f.src, f.text, args...); }
  template <typename... A>
  alog_result debug(Fmt f, const A &...args) noexcept { return log_at(Level::debug, f.src, f.text, args...); }
  template <typename... A>
  alog_result info(Fmt f, const A &...args) noexcept { return log_at(Level::info, f.src, f.text, args...); }
  template <typename... A>
  alog_result warn(Fmt f, const A &...args) noexcept { return log_at(Level::warn, f.src, f.text, args...); }
  template <typename... A>
  alog_result error(Fmt f, const A &...args) noexcept { return log_at(Level::error, f.src, f.text, args...); }
  template <typename... A>
  alog_result fatal(Fmt f, const A &...args) noexcept { return log_at(Level::fatal, f.src, f.text, args...); }

  /// Formats on the calling thread and logs with `src` (the member calls and the macros' non-
  /// deferred path).
  template <typename... A>
  alog_result log_at(Level l, Source src, std::string_view f, const A &...args) noexcept {
    if (!enabled(l)) return lg_ ? ALOG_OK : ALOG_ERR_NULL;
    constexpr detail::Kind kinds[sizeof...(A) + 1] = {detail::kind_of<A>::value..., detail::Kind::none};
    if (!detail::ok(detail::check(f, kinds, sizeof...(A)))) return ALOG_ERR_INVALID;
    try {
      std::string msg;
      detail::format_to(msg, f, args...);
      return write_record(l, msg, nullptr, 0, src);
    } catch (...) {
      return ALOG_ERR_TOO_LARGE;  // out of memory for the message
    }
  }

  /// The macros' deferred path: `site` holds the printf form of the format.
  template <typename... A>
  alog_result log_deferred(Level l, alog_site *site, Source src, std::string_view f, const A &...args) noexcept {
    uint32_t state = __atomic_load_n(&site->state, __ATOMIC_ACQUIRE);
    if (state == ALOG_SITE_NEW) state = alog_site_prepare(site);
    if (state != ALOG_SITE_DEFERRED) return log_at(l, src, f, args...);
    const alog_arg packed[sizeof...(A) + 1] = {detail::pack(args)..., alog_arg()};
    return alog_logf_args(lg_, site, static_cast<int32_t>(l), packed, static_cast<uint32_t>(sizeof...(A)));
  }

 private:
  alog_result write_record(Level l, std::string_view msg, const alog_field *fields, size_t n, Source src) noexcept {
    alog_record rec;
    std::memset(&rec, 0, sizeof rec);
    rec.level = static_cast<int32_t>(l);
    rec.msg = msg.data();
    rec.msg_len = msg.size();
    rec.fields = fields;
    rec.n_fields = n;
    if (src.file) {
      rec.file = src.file;
      rec.file_len = std::strlen(src.file);
      rec.line = src.line;
      rec.func = src.func;
      rec.func_len = src.func ? std::strlen(src.func) : 0;
    }
    return alog_write_record(lg_, &rec);
  }
  /// A configuration built from keys and values; throws alog::Error naming a bad key.
  class Conf {
   public:
    explicit Conf(std::initializer_list<std::pair<std::string_view, std::string_view>> options)
        : conf_(alog_conf_new()) {
      if (!conf_) throw Error(ALOG_ERR_IO, "alog_conf_new: out of memory");
      char err[512] = "";
      for (const auto &kv : options) {
        const std::string key(kv.first), value(kv.second);
        const alog_result r = alog_conf_set(conf_, key.c_str(), value.c_str(), err, sizeof err);
        if (r != ALOG_OK) {
          alog_conf_free(conf_);
          throw Error(r, err, key);
        }
      }
    }
    ~Conf() { alog_conf_free(conf_); }
    Conf(const Conf &) = delete;
    Conf &operator=(const Conf &) = delete;
    const alog_conf *get() const noexcept { return conf_; }

   private:
    alog_conf *conf_;
  };

  void check(alog_result r, const char *what) const {
    if (r != ALOG_OK) throw Error(r, std::string(what) + ": " + alog_result_str(r));
  }

  alog_logger *lg_ = nullptr;
};

// ------------------------------------------------------------------ default logger, registry

namespace detail {
struct Registry {
  std::mutex mu;
  std::shared_ptr<Logger> fallback;
  std::map<std::string, std::shared_ptr<Logger>, std::less<>> named;
};
/// Bumped by set_default_logger: threads refresh their cached default logger when it moves.
inline std::atomic<uint64_t> &default_generation() {
  static std::atomic<uint64_t> g{1};
  return g;
}
inline Registry &registry() {
  static Registry r;  // destroyed at exit, closing (draining) the loggers nobody else holds
  return r;
}
}  // namespace detail

/// Installs the logger the ALOG_<LEVEL> macros use (nullptr: back to the stderr default).
inline void set_default_logger(std::shared_ptr<Logger> lg) {
  auto &r = detail::registry();
  std::lock_guard<std::mutex> g(r.mu);
  r.fallback = std::move(lg);
  detail::default_generation().fetch_add(1, std::memory_order_release);
}
/// The default logger: the one installed, else one created on first use that writes text
/// lines to stderr.
inline std::shared_ptr<Logger> default_logger() {
  auto &r = detail::registry();
  std::lock_guard<std::mutex> g(r.mu);
  if (!r.fallback) r.fallback = std::make_shared<Logger>(std::string(), std::initializer_list<std::pair<std::string_view, std::string_view>>{{"console", "stderr"}});
  return r.fallback;
}
namespace detail {
/// The default logger as the ALOG_<LEVEL> macros take it: a per-thread copy, refreshed when
/// set_default_logger installs another (no lock on the logging path). A replaced logger stays
/// open until every thread that used it logs again or exits.
inline const std::shared_ptr<Logger> &default_logger_cached() {
  thread_local std::shared_ptr<Logger> cached;
  thread_local uint64_t generation = 0;
  const uint64_t now = default_generation().load(std::memory_order_acquire);
  if (generation != now || !cached) {
    cached = default_logger();
    generation = now;
  }
  return cached;
}
}  // namespace detail

/// Registers a logger under a name (replacing any of that name).
inline void register_logger(std::string name, std::shared_ptr<Logger> lg) {
  auto &r = detail::registry();
  std::lock_guard<std::mutex> g(r.mu);
  r.named[std::move(name)] = std::move(lg);
}
/// The logger registered under `name`, or nullptr.
inline std::shared_ptr<Logger> get(std::string_view name) {
  auto &r = detail::registry();
  std::lock_guard<std::mutex> g(r.mu);
  auto it = r.named.find(name);
  return it == r.named.end() ? nullptr : it->second;
}
/// Forgets a name (the logger closes when its last shared_ptr goes).
inline void drop(std::string_view name) {
  auto &r = detail::registry();
  std::lock_guard<std::mutex> g(r.mu);
  auto it = r.named.find(name);
  if (it != r.named.end()) r.named.erase(it);
}
inline void drop_all() {
  auto &r = detail::registry();
  std::lock_guard<std::mutex> g(r.mu);
  r.named.clear();
}

namespace detail {
inline Logger &deref(Logger &l) { return l; }
inline Logger &deref(const std::shared_ptr<Logger> &l) { return *l; }
inline Logger &deref(const std::unique_ptr<Logger> &l) { return *l; }
}  // namespace detail

}  // namespace alog

// ------------------------------------------------------------------ macros

#define ALOG_HPP_FIRST_(...) ALOG_HPP_FIRST2_(__VA_ARGS__, ~)
#define ALOG_HPP_FIRST2_(f, ...) f

/* ALOG_LOGGER_LOG(logger, level, fmt, args...): level is an ALOG_LEVEL_* constant. */
#define ALOG_LOGGER_LOG(logger, level, ...)                                                            \
  do {                                                                                                 \
    if constexpr ((level) >= ALOG_ACTIVE_LEVEL) {                                                      \
      static_assert(::alog::detail::ok(::alog::detail::check_types(                                    \
                        ALOG_HPP_FIRST_(__VA_ARGS__), decltype(::alog::detail::arg_types(__VA_ARGS__)){})), \
                    "alog: the format does not suit its arguments (see alog::format)");               \
      auto &&alog_hold_ = (logger);                                                                    \
      ::alog::Logger &alog_lg_ = ::alog::detail::deref(alog_hold_);                                    \
      if (alog_lg_.enabled(static_cast<::alog::Level>(level))) {                                       \
        static constexpr auto alog_pf_ = ::alog::detail::to_printf(                                    \
            ALOG_HPP_FIRST_(__VA_ARGS__), decltype(::alog::detail::arg_types(__VA_ARGS__)){});         \
        constexpr ::alog::Source alog_src_{__FILE__, __func__, static_cast<uint32_t>(__LINE__)};       \
        if constexpr (alog_pf_.deferrable) {                                                           \
          static alog_site alog_site_ = {alog_pf_.fmt, __FILE__, __func__, static_cast<uint32_t>(__LINE__), \
                                         0, 0, 0, {0}, {0}, {0}};                                      \
          alog_lg_.log_deferred(static_cast<::alog::Level>(level), &alog_site_, alog_src_, __VA_ARGS__); \
        } else {                                                                                       \
          alog_lg_.log_at(static_cast<::alog::Level>(level), alog_src_, __VA_ARGS__);                  \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  } while (0)

#define ALOG_LOGGER_TRACE(logger, ...) ALOG_LOGGER_LOG(logger, ALOG_LEVEL_TRACE, __VA_ARGS__)
#define ALOG_LOGGER_DEBUG(logger, ...) ALOG_LOGGER_LOG(logger, ALOG_LEVEL_DEBUG, __VA_ARGS__)
#define ALOG_LOGGER_INFO(logger, ...) ALOG_LOGGER_LOG(logger, ALOG_LEVEL_INFO, __VA_ARGS__)
#define ALOG_LOGGER_WARN(logger, ...) ALOG_LOGGER_LOG(logger, ALOG_LEVEL_WARN, __VA_ARGS__)
#define ALOG_LOGGER_ERROR(logger, ...) ALOG_LOGGER_LOG(logger, ALOG_LEVEL_ERROR, __VA_ARGS__)
#define ALOG_LOGGER_FATAL(logger, ...) ALOG_LOGGER_LOG(logger, ALOG_LEVEL_FATAL, __VA_ARGS__)

#define ALOG_TRACE(...) ALOG_LOGGER_LOG(::alog::detail::default_logger_cached(), ALOG_LEVEL_TRACE, __VA_ARGS__)
#define ALOG_DEBUG(...) ALOG_LOGGER_LOG(::alog::detail::default_logger_cached(), ALOG_LEVEL_DEBUG, __VA_ARGS__)
#define ALOG_INFO(...) ALOG_LOGGER_LOG(::alog::detail::default_logger_cached(), ALOG_LEVEL_INFO, __VA_ARGS__)
#define ALOG_WARN(...) ALOG_LOGGER_LOG(::alog::detail::default_logger_cached(), ALOG_LEVEL_WARN, __VA_ARGS__)
#define ALOG_ERROR(...) ALOG_LOGGER_LOG(::alog::detail::default_logger_cached(), ALOG_LEVEL_ERROR, __VA_ARGS__)
#define ALOG_FATAL(...) ALOG_LOGGER_LOG(::alog::detail::default_logger_cached(), ALOG_LEVEL_FATAL, __VA_ARGS__)

#endif /* ALOG_HPP */
