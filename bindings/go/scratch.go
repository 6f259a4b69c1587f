package alog

/*
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// scratch is the per-call working memory of a structured write: the fields in the flat,
// pointer-free form shim.h describes, and one byte buffer holding their keys and strings.
// Both are Go memory without Go pointers, so the cgo rules allow passing them to C for the
// duration of the call. They come from a pool: a warm logging call allocates nothing.
type scratch struct {
	fields []fieldT
	buf    []byte
	groups []string // the group path handed to ReplaceAttr while encoding groups
}

// fieldT is one flat field (alog_go_field in shim.h).
type fieldT = C.alog_go_field

var scratchPool = sync.Pool{New: func() any {
	return &scratch{fields: make([]fieldT, 0, 16), buf: make([]byte, 0, 1024)}
}}

// Buffers that grew beyond this are not kept in the pool.
const maxPooledBytes = 64 << 10

func getScratch() *scratch {
	s := scratchPool.Get().(*scratch)
	s.fields = s.fields[:0]
	s.buf = s.buf[:0]
	return s
}

func putScratch(s *scratch) {
	if cap(s.buf) > maxPooledBytes || cap(s.fields) > 1024 {
		return
	}
	scratchPool.Put(s)
}

// next appends a field to s.fields and returns it for the caller to fill in place. Filling
// the element member by member, rather than appending a composite value, spares the CPU a
// copy it cannot forward from the stores that built the value (a stall on every field).
func (s *scratch) next() *fieldT {
	n := len(s.fields)
	if n == cap(s.fields) {
		s.fields = append(s.fields, fieldT{})
	} else {
		s.fields = s.fields[:n+1]
	}
	return &s.fields[n]
}

// key appends a field's key to s.buf and starts its field.
func (s *scratch) key(key string, kind attrKind) *fieldT {
	koff := len(s.buf)
	s.buf = append(s.buf, key...)
	f := s.next()
	f.kind = C.int32_t(kind)
	f.key_len = C.uint32_t(len(key))
	f.key_off = C.uint64_t(koff)
	return f
}

// bytesField appends a field whose value is bytes (a string or pre-encoded JSON).
func (s *scratch) bytesField(key string, kind attrKind, value string) {
	f := s.key(key, kind)
	voff := len(s.buf)
	s.buf = append(s.buf, value...)
	f.num = 0
	f.str_off = C.uint64_t(voff)
	f.str_len = C.uint64_t(len(value))
}

// numField appends a field whose value is 8 bytes (int, uint, float bits or bool).
func (s *scratch) numField(key string, kind attrKind, num uint64) {
	f := s.key(key, kind)
	f.num = C.uint64_t(num)
	f.str_off = 0
	f.str_len = 0
}

// startBytes begins a field whose value the caller appends to s.buf next; endBytes ends it.
func (s *scratch) startBytes(key string) (koff, voff int) {
	koff = len(s.buf)
	s.buf = append(s.buf, key...)
	return koff, len(s.buf)
}

func (s *scratch) endBytes(kind attrKind, key string, koff, voff int) {
	f := s.next()
	f.kind = C.int32_t(kind)
	f.key_len = C.uint32_t(len(key))
	f.key_off = C.uint64_t(koff)
	f.num = 0
	f.str_off = C.uint64_t(voff)
	f.str_len = C.uint64_t(len(s.buf) - voff)
}

// attr appends one Attr of the direct API.
func (s *scratch) attr(a *Attr) {
	switch a.kind {
	case 0: // the zero Attr: no field
	case kindString, kindJSON:
		s.bytesField(a.Key, a.kind, a.str)
	case kindTime:
		koff, voff := s.startBytes(a.Key)
		s.buf = time.Unix(0, int64(a.num)).UTC().AppendFormat(s.buf, time.RFC3339Nano)
		s.endBytes(kindString, a.Key, koff, voff)
	case kindDuration:
		s.numField(a.Key, kindInt, a.num)
	default:
		s.numField(a.Key, a.kind, a.num)
	}
}

// source is a record's source location for write.
type source struct {
	file, function string
	line           int
}

// c is the location as the C shims take it; a nil source is none (a NULL file), and an empty
// file gets a valid pointer, since the engine tells "no source" by a NULL file.
func (src *source) c() (file *C.char, fileLen int, fn *C.char, fnLen int, line int) {
	if src == nil {
		return nil, 0, nil, 0, 0
	}
	file = strPtr(src.file)
	if file == nil {
		file = (*C.char)(unsafe.Pointer(&zeroByte))
	}
	return file, len(src.file), strPtr(src.function), len(src.function), src.line
}

// write submits the record built in s. ts is Unix nanoseconds, 0 for "now".
func (s *scratch) write(e *engine, level Level, ts int64, msg string, src *source) C.alog_result {
	var fields *C.alog_go_field
	if len(s.fields) > 0 {
		fields = &s.fields[0]
	}
	file, fileLen, fn, fnLen, line := src.c()
	r := C.alog_go_write(e.h, C.int32_t(level), C.int64_t(ts), strPtr(msg), C.size_t(len(msg)),
		fields, C.size_t(len(s.fields)), (*C.char)(unsafe.Pointer(unsafe.SliceData(s.buf))),
		file, C.size_t(fileLen), C.uint32_t(line), fn, C.size_t(fnLen))
	runtime.KeepAlive(e)
	runtime.KeepAlive(s)
	return r
}

var zeroByte byte

// strPtr is the address of a string's bytes for a call into C that only reads them during
// the call (nil for an empty string).
func strPtr(s string) *C.char {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}
