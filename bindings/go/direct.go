package alog

/*
#include "shim.h"
*/
import "C"

import (
	"math"
	"runtime"
	"unsafe"
)

// The direct API passes a record of up to 8 fields by value in the call into C (see
// alog_go_write4 in shim.h): its keys and strings are the caller's own, nothing is copied
// into working memory first. Records with more fields or with a Time field (formatted into
// bytes first) take the scratch path.

// inlineFields is the most fields a record may have to travel by value.
const inlineFields = 8

// put fills f from a (a zeroed field); false for a kind that needs working memory.
func (a *Attr) put(f *C.alog_field) bool {
	kind := a.kind
	switch kind {
	case kindString, kindJSON:
		f.str = strPtr(a.str)
		f.str_len = C.size_t(len(a.str))
	case kindInt, kindBool:
		f.i64 = C.int64_t(a.num)
	case kindDuration:
		kind = kindInt
		f.i64 = C.int64_t(a.num)
	case kindUint:
		f.u64 = C.uint64_t(a.num)
	case kindFloat:
		f.f64 = C.double(math.Float64frombits(a.num))
	default: // kindTime
		return false
	}
	f.key = strPtr(a.Key)
	f.key_len = C.size_t(len(a.Key))
	f.kind = C.int32_t(kind)
	return true
}

// putAll fills dst from the attributes of lists in order, skipping zero Attrs; it returns
// how many fields it filled, and false if one needs working memory.
func putAll(dst []C.alog_field, lists *[3][]Attr) (int, bool) {
	n := 0
	for _, list := range lists {
		for i := range list {
			a := &list[i]
			if a.kind == 0 {
				continue
			}
			if !a.put(&dst[n]) {
				return 0, false
			}
			n++
		}
	}
	return n, true
}

// writeInline submits a record whose fields, the attributes of with, ctx and call in this
// order, can travel by value (at most inlineFields in all, none a Time); ok is false when
// they cannot and nothing was submitted.
func writeInline(e *engine, level Level, msg string, src *source, with, ctx, call []Attr) (r C.alog_result, ok bool) {
	if len(with)+len(ctx)+len(call) > inlineFields {
		return 0, false
	}
	var fs C.alog_go_fields8
	n, ok := putAll(fs.f[:], &[3][]Attr{with, ctx, call})
	if !ok {
		return 0, false
	}
	return sendFields(e, level, 0, msg, src, n, &fs), true
}

// sendFields submits a record whose first n fields (n <= inlineFields) are in fs: the
// smaller by-value array when they fit in it. ts is Unix nanoseconds, 0 for "now".
func sendFields(e *engine, level Level, ts int64, msg string, src *source, n int, fs *C.alog_go_fields8) (r C.alog_result) {
	file, fileLen, fn, fnLen, line := src.c()
	if n <= 4 {
		// The first four fields of fs, which has the layout of alog_go_fields4 and more.
		f4 := (*C.alog_go_fields4)(unsafe.Pointer(fs))
		r = C.alog_go_write4(e.h, C.int32_t(level), C.int64_t(ts), strPtr(msg), C.size_t(len(msg)),
			file, C.size_t(fileLen), C.uint32_t(line), fn, C.size_t(fnLen), C.size_t(n), *f4)
	} else {
		r = C.alog_go_write8(e.h, C.int32_t(level), C.int64_t(ts), strPtr(msg), C.size_t(len(msg)),
			file, C.size_t(fileLen), C.uint32_t(line), fn, C.size_t(fnLen), C.size_t(n), *fs)
	}
	runtime.KeepAlive(e)
	return r
}

// packOnly fills up to 4 fields by value as writeInline does, without the call into C, and
// returns how many it filled (BenchmarkOverhead measures it).
func packOnly(attrs []Attr) int {
	var fs C.alog_go_fields4
	n, _ := putAll(fs.f[:], &[3][]Attr{nil, nil, attrs})
	return n
}
