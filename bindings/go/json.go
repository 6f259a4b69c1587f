//go:build cgo

package alog

// JSON encoding of slog values that the engine cannot take as typed fields: the members of
// groups (nested objects) and values of kind Any. Top-level scalars travel typed; the engine
// formats them. A nested group reaches the engine as one ALOG_FIELD_JSON value.

import (
	"encoding/json"
	"log/slog"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonEnc appends JSON object members for slog attributes, calling ReplaceAttr with the
// path of enclosing groups as log/slog documents.
type jsonEnc struct {
	buf    []byte
	groups []string
	rep    func([]string, slog.Attr) slog.Attr
}

// prepare resolves a and applies ReplaceAttr (not to groups); false if a is to be ignored.
func prepare(rep func([]string, slog.Attr) slog.Attr, groups []string, a slog.Attr) (slog.Attr, bool) {
	a.Value = a.Value.Resolve()
	if rep != nil && a.Value.Kind() != slog.KindGroup {
		a = rep(groups, a)
		a.Value = a.Value.Resolve()
	}
	if a.Equal(slog.Attr{}) {
		return a, false
	}
	if a.Value.Kind() == slog.KindGroup && len(a.Value.Group()) == 0 {
		return a, false
	}
	return a, true
}

// comma separates a member from the previous one inside an object.
func (e *jsonEnc) comma() {
	if n := len(e.buf); n > 0 && e.buf[n-1] != '{' {
		e.buf = append(e.buf, ',')
	}
}

// attr appends a as a member ("key":value); groups become nested objects, groups with an
// empty key are inlined and groups left without members are omitted.
func (e *jsonEnc) attr(a slog.Attr) {
	a, ok := prepare(e.rep, e.groups, a)
	if !ok {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key == "" {
			for _, m := range a.Value.Group() {
				e.attr(m)
			}
			return
		}
		undo := len(e.buf)
		e.comma()
		e.buf = appendJSONString(e.buf, a.Key)
		e.buf = append(e.buf, ':', '{')
		open := len(e.buf)
		e.groups = append(e.groups, a.Key)
		for _, m := range a.Value.Group() {
			e.attr(m)
		}
		e.groups = e.groups[:len(e.groups)-1]
		if len(e.buf) == open {
			e.buf = e.buf[:undo]
			return
		}
		e.buf = append(e.buf, '}')
		return
	}
	e.comma()
	e.buf = appendJSONString(e.buf, a.Key)
	e.buf = append(e.buf, ':')
	e.buf = appendJSONValue(e.buf, a.Value)
}

// appendJSONValue appends a resolved, non-group value.
func appendJSONValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendJSONString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendJSONFloat(b, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		b = append(b, '"')
		b = v.Time().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	default:
		return appendJSONAny(b, v.Any())
	}
}

// appendJSONFloat writes finite numbers as JSON numbers and NaN and the infinities as the
// strings the engine uses for them.
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendJSONAny writes an error as its message and anything else as encoding/json does
// (a value it refuses becomes a string naming the error), as slog's JSON handler does.
func appendJSONAny(b []byte, v any) []byte {
	if err, ok := v.(error); ok {
		if _, marshals := v.(json.Marshaler); !marshals {
			return appendJSONString(b, err.Error())
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return appendJSONString(b, "!ERROR:"+err.Error())
	}
	return append(b, j...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
