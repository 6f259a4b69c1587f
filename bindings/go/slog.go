//go:build cgo

package alog

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"time"
)

// Handler is a log/slog handler writing to a Logger. Build it with (*Logger).Handler.
//
// Top-level attributes reach the engine as typed fields (string, integer, unsigned,
// float, bool; a Duration as integer nanoseconds, a Time as an RFC 3339 string); groups,
// from slog.Group or WithGroup, reach it as one nested JSON object per top-level group,
// and values of kind Any as their encoding/json form. Levels map with SlogLevel. The
// record's time, level, message and source are the engine's leading members (configure
// their JSON names with WithJSONKeys("time", "level", "msg") to match log/slog).
type Handler struct {
	l    *Logger
	opts slog.HandlerOptions
	// pre holds the typed fields from WithAttrs before any WithGroup, with their bytes.
	pre    []fieldT
	preBuf []byte
	// groups are the open groups of WithGroup; frags[i] the JSON members WithAttrs added
	// inside groups[i] (without braces).
	groups []string
	frags  [][]byte
}

// Handler returns a log/slog handler writing to l. opts may be nil: then records at
// slog.LevelInfo and above are handled, without source. The engine's own level applies as
// well: a record must pass both.
func (l *Logger) Handler(opts *slog.HandlerOptions) slog.Handler {
	h := &Handler{l: l}
	if opts != nil {
		h.opts = *opts
	}
	return h
}

// Enabled reports whether records at level pass both the handler's and the engine's level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return level >= min && h.l.Enabled(SlogLevel(level))
}

// WithAttrs returns a handler that adds attrs to every record, inside the open groups.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	if len(h.groups) == 0 {
		s := &scratch{fields: slices.Clone(h.pre), buf: slices.Clone(h.preBuf)}
		for _, a := range attrs {
			s.slogAttr(h.opts.ReplaceAttr, a)
		}
		h2.pre, h2.preBuf = s.fields, s.buf
		return &h2
	}
	last := len(h.groups) - 1
	e := jsonEnc{buf: slices.Clone(h.frags[last]), groups: slices.Clone(h.groups), rep: h.opts.ReplaceAttr}
	for _, a := range attrs {
		e.attr(a)
	}
	h2.frags = slices.Clone(h.frags)
	h2.frags[last] = e.buf
	return &h2
}

// WithGroup returns a handler that nests the attributes of later calls under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(slices.Clip(h.groups), name)
	h2.frags = append(slices.Clip(h.frags), nil)
	return &h2
}

// Handle submits r. It returns the engine's error when the overflow policy dropped the
// record (ErrFull, ErrTimeout) or the logger is closed.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.l == nil || h.l.e == nil {
		return errNotOpen
	}
	rep := h.opts.ReplaceAttr
	level, msg := r.Level, r.Message
	ts := noTimestamp // slog: a zero time is not written
	if !r.Time.IsZero() {
		ts = r.Time.UnixNano()
	}
	var cattrs []Attr
	if ctx != nil {
		cattrs, _ = ctx.Value(ctxKey{}).([]Attr)
	}
	if rep == nil && len(h.pre) == 0 && len(h.groups) == 0 && r.NumAttrs() == 0 && len(cattrs) == 0 && (!h.opts.AddSource || r.PC == 0) {
		var none scratch // a record without fields needs no working memory
		return codeErr(none.write(h.l.e, SlogLevel(level), ts, msg, nil))
	}
	if rep == nil && len(h.pre) == 0 && len(h.groups) == 0 && len(cattrs) == 0 &&
		(!h.opts.AddSource || r.PC == 0) && r.NumAttrs() <= inlineFields {
		// Scalar attributes only: they travel by value, as the direct API's do.
		var fs C.alog_go_fields8
		n, ok := 0, true
		r.Attrs(func(a slog.Attr) bool {
			ok = slogPut(&fs.f[n], a.Key, a.Value)
			n++
			return ok
		})
		if ok {
			return codeErr(sendFields(h.l.e, SlogLevel(level), ts, msg, nil, n, &fs))
		}
	}
	s := getScratch()
	defer putScratch(s)
	s.fields = append(s.fields, h.pre...)
	s.buf = append(s.buf, h.preBuf...)
	if rep != nil {
		// Built-in attributes, as log/slog documents them: a replacement under the same key
		// and of the same kind changes the engine's leading member; the time and the source
		// are removed by an empty attribute and, renamed or retyped, written as ordinary
		// fields; a level or message renamed or retyped is written as an ordinary field too
		// (the engine's member stays: rename it for every record with WithJSONKeys).
		if ts != noTimestamp {
			a := builtin(rep, slog.Time(slog.TimeKey, r.Time))
			if a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
				ts = noTimestamp
				if t := a.Value.Time(); !t.IsZero() {
					ts = t.UnixNano()
				}
			} else {
				ts = noTimestamp
				s.slogAttr(nil, a)
			}
		}
		a := builtin(rep, slog.Any(slog.LevelKey, level))
		if lv, ok := a.Value.Any().(slog.Level); ok && a.Key == slog.LevelKey {
			level = lv
		} else if a.Key != slog.LevelKey {
			s.slogAttr(nil, a)
		}
		a = builtin(rep, slog.String(slog.MessageKey, msg))
		if a.Key == slog.MessageKey && a.Value.Kind() == slog.KindString {
			msg = a.Value.String()
		} else if a.Key != slog.MessageKey {
			msg = ""
			s.slogAttr(nil, a)
		}
	}
	var src *source
	if h.opts.AddSource && r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		src = &source{file: f.File, line: f.Line, function: f.Function}
		if rep != nil {
			a := builtin(rep, slog.Any(slog.SourceKey, &slog.Source{Function: f.Function, File: f.File, Line: f.Line}))
			if ss, ok := a.Value.Any().(*slog.Source); ok && ss != nil && a.Key == slog.SourceKey {
				src = &source{file: ss.File, line: ss.Line, function: ss.Function}
			} else {
				src = nil
				s.slogAttr(nil, a)
			}
		}
	}
	for i := range cattrs {
		s.attr(&cattrs[i])
	}
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool {
			// The common case first, without a call: no ReplaceAttr, a scalar value.
			if rep != nil || !s.slogScalar(a.Key, a.Value) {
				s.slogAttr(rep, a)
			}
			return true
		})
	} else {
		h.groupField(s, r)
	}
	return codeErr(s.write(h.l.e, SlogLevel(level), ts, msg, src))
}

// builtin applies ReplaceAttr to a built-in attribute.
func builtin(rep func([]string, slog.Attr) slog.Attr, a slog.Attr) slog.Attr {
	a = rep(nil, a)
	a.Value = a.Value.Resolve()
	return a
}

// groupField appends the field of the outermost open group: the members WithAttrs added at
// each level, nested, with the record's attributes innermost. Groups left without members
// are omitted, and so is the field when nothing remains.
func (h *Handler) groupField(s *scratch, r slog.Record) {
	koff, voff := s.startBytes(h.groups[0])
	ends := make([]int, 0, 8)
	for i, g := range h.groups {
		if i > 0 {
			if s.buf[len(s.buf)-1] != '{' {
				s.buf = append(s.buf, ',')
			}
			s.buf = appendJSONString(s.buf, g)
			s.buf = append(s.buf, ':')
		}
		s.buf = append(s.buf, '{')
		s.buf = append(s.buf, h.frags[i]...)
		ends = append(ends, len(s.buf))
	}
	mark := len(s.buf)
	e := jsonEnc{buf: s.buf, groups: append(s.groups[:0], h.groups...), rep: h.opts.ReplaceAttr}
	r.Attrs(func(a slog.Attr) bool {
		e.attr(a)
		return true
	})
	s.buf, s.groups = e.buf, e.groups
	depth := len(h.groups)
	if len(s.buf) == mark {
		depth = 0
		for i := range h.frags {
			if len(h.frags[i]) > 0 {
				depth = i + 1
			}
		}
		if depth == 0 {
			s.buf = s.buf[:koff]
			return
		}
		s.buf = s.buf[:ends[depth-1]]
	}
	for range depth {
		s.buf = append(s.buf, '}')
	}
	s.endBytes(kindJSON, h.groups[0], koff, voff)
}

// slogAttr appends a top-level attribute as a typed field (groups as JSON objects, groups
// with an empty key inlined).
func (s *scratch) slogAttr(rep func([]string, slog.Attr) slog.Attr, a slog.Attr) {
	// Without ReplaceAttr, a scalar needs neither Resolve nor the empty-attribute check (only
	// a value of kind Any can be empty), so the common kinds go straight to their field.
	if rep == nil && s.slogScalar(a.Key, a.Value) {
		return
	}
	a, ok := prepare(rep, nil, a)
	if !ok || s.slogScalar(a.Key, a.Value) {
		return
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		if a.Key == "" {
			for _, m := range v.Group() {
				s.slogAttr(rep, m)
			}
			return
		}
		koff, voff := s.startBytes(a.Key)
		s.buf = append(s.buf, '{')
		e := jsonEnc{buf: s.buf, groups: append(s.groups[:0], a.Key), rep: rep}
		for _, m := range v.Group() {
			e.attr(m)
		}
		s.buf, s.groups = e.buf, e.groups
		if len(s.buf) == voff+1 {
			s.buf = s.buf[:koff]
			return
		}
		s.buf = append(s.buf, '}')
		s.endBytes(kindJSON, a.Key, koff, voff)
	default:
		if err, isErr := v.Any().(error); isErr {
			s.bytesField(a.Key, kindString, err.Error())
			return
		}
		koff, voff := s.startBytes(a.Key)
		s.buf = appendJSONAny(s.buf, v.Any())
		s.endBytes(kindJSON, a.Key, koff, voff)
	}
}

// slogScalar appends a value of a scalar kind (string, integer, unsigned, float, bool,
// duration, time) as a typed field; false for the other kinds.
// slogPut fills f (a zeroed field) with a scalar attribute as it travels by value; false
// for a value that needs working memory or more (a time, a group, any other kind).
func slogPut(f *C.alog_field, key string, v slog.Value) bool {
	kind := kindInt
	switch v.Kind() {
	case slog.KindString:
		str := v.String()
		kind = kindString
		f.str = strPtr(str)
		f.str_len = C.size_t(len(str))
	case slog.KindInt64:
		f.i64 = C.int64_t(v.Int64())
	case slog.KindUint64:
		kind = kindUint
		f.u64 = C.uint64_t(v.Uint64())
	case slog.KindFloat64:
		kind = kindFloat
		f.f64 = C.double(v.Float64())
	case slog.KindBool:
		kind = kindBool
		f.i64 = C.int64_t(boolBits(v.Bool()))
	case slog.KindDuration:
		f.i64 = C.int64_t(v.Duration())
	default:
		return false
	}
	f.key = strPtr(key)
	f.key_len = C.size_t(len(key))
	f.kind = C.int32_t(kind)
	return true
}

func (s *scratch) slogScalar(key string, v slog.Value) bool {
	switch v.Kind() {
	case slog.KindString:
		s.bytesField(key, kindString, v.String())
	case slog.KindInt64:
		s.numField(key, kindInt, uint64(v.Int64()))
	case slog.KindUint64:
		s.numField(key, kindUint, v.Uint64())
	case slog.KindFloat64:
		s.numField(key, kindFloat, math.Float64bits(v.Float64()))
	case slog.KindBool:
		s.numField(key, kindBool, boolBits(v.Bool()))
	case slog.KindDuration:
		s.numField(key, kindInt, uint64(v.Duration()))
	case slog.KindTime:
		koff, voff := s.startBytes(key)
		s.buf = v.Time().AppendFormat(s.buf, time.RFC3339Nano)
		s.endBytes(kindString, key, koff, voff)
	default:
		return false
	}
	return true
}
