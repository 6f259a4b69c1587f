package alog

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"math"
	"time"
)

// attrKind says which member of an Attr holds its value.
type attrKind int32

const (
	kindString   attrKind = C.ALOG_FIELD_STRING
	kindInt      attrKind = C.ALOG_FIELD_INT
	kindUint     attrKind = C.ALOG_FIELD_UINT
	kindFloat    attrKind = C.ALOG_FIELD_FLOAT
	kindBool     attrKind = C.ALOG_FIELD_BOOL
	kindJSON     attrKind = C.ALOG_FIELD_JSON
	kindTime     attrKind = 100 // num holds Unix nanoseconds; sent as an RFC 3339 string
	kindDuration attrKind = 101 // num holds nanoseconds; sent as an integer
)

// Attr is one typed key/value field of a record for the direct API (Info, Log, ...). Build
// it with String, Int, Int64, Uint64, Float64, Bool, Duration, Time, Err or Any. An Attr
// holds its value as is: nothing is formatted until the engine's writer thread does it. The
// zero Attr is ignored, so an optional field can be left as Attr{}.
type Attr struct {
	Key  string
	kind attrKind
	num  uint64
	str  string
}

// String is a string field.
func String(key, value string) Attr { return Attr{Key: key, kind: kindString, str: value} }

// Int is a signed integer field.
func Int(key string, value int) Attr { return Attr{Key: key, kind: kindInt, num: uint64(value)} }

// Int64 is a signed integer field.
func Int64(key string, value int64) Attr {
	return Attr{Key: key, kind: kindInt, num: uint64(value)}
}

// Uint64 is an unsigned integer field.
func Uint64(key string, value uint64) Attr { return Attr{Key: key, kind: kindUint, num: value} }

// Float64 is a floating-point field (NaN and infinities print as "NaN", "+Inf", "-Inf").
func Float64(key string, value float64) Attr {
	return Attr{Key: key, kind: kindFloat, num: math.Float64bits(value)}
}

// Bool is a boolean field.
func Bool(key string, value bool) Attr { return Attr{Key: key, kind: kindBool, num: boolBits(value)} }

func boolBits(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Duration is a field holding a duration as integer nanoseconds (as slog's JSON handler).
func Duration(key string, value time.Duration) Attr {
	return Attr{Key: key, kind: kindDuration, num: uint64(value)}
}

// Time is a field holding an instant (between the years 1678 and 2262, the range of
// UnixNano), written as an RFC 3339 UTC string with nanoseconds.
func Time(key string, value time.Time) Attr {
	return Attr{Key: key, kind: kindTime, num: uint64(value.UnixNano())}
}

// Err is a field "error" holding err.Error() (or null for a nil error).
func Err(err error) Attr {
	if err == nil {
		return Attr{Key: "error", kind: kindJSON, str: "null"}
	}
	return String("error", err.Error())
}

// Any is a field holding v encoded with encoding/json (nested objects stay objects in JSON
// output). It allocates; prefer the typed constructors on hot paths. A value that
// encoding/json refuses is written as the string of the error.
func Any(key string, v any) Attr {
	switch x := v.(type) {
	case string:
		return String(key, x)
	case int:
		return Int(key, x)
	case int64:
		return Int64(key, x)
	case uint64:
		return Uint64(key, x)
	case float64:
		return Float64(key, x)
	case bool:
		return Bool(key, x)
	case time.Duration:
		return Duration(key, x)
	case time.Time:
		return Time(key, x)
	case error:
		return String(key, x.Error())
	}
	b, err := json.Marshal(v)
	if err != nil {
		return String(key, "!ERROR:"+err.Error())
	}
	return Attr{Key: key, kind: kindJSON, str: string(b)}
}
