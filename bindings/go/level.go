package alog

/*
#include "shim.h"
*/
import "C"

import "log/slog"

// Level is an alog severity: an OpenTelemetry severity number, 1..24. The six named levels
// start each band of four; the numbers between them are finer grades (printed INFO2, ...).
type Level int32

// The named levels (ALOG_LEVEL_* in include/alog.h).
const (
	LevelTrace Level = C.ALOG_LEVEL_TRACE
	LevelDebug Level = C.ALOG_LEVEL_DEBUG
	LevelInfo  Level = C.ALOG_LEVEL_INFO
	LevelWarn  Level = C.ALOG_LEVEL_WARN
	LevelError Level = C.ALOG_LEVEL_ERROR
	LevelFatal Level = C.ALOG_LEVEL_FATAL
)

// SlogLevel maps a log/slog level to alog's: slog.LevelDebug, Info, Warn and Error (-4, 0,
// 4, 8) become LevelDebug, Info, Warn and Error (5, 9, 13, 17), and the levels between and
// beyond them keep their distance (slog.LevelInfo+2 is 11, printed INFO3), clamped to 1..24.
func SlogLevel(l slog.Level) Level {
	n := int(l) + int(LevelInfo)
	switch {
	case n < int(LevelTrace):
		return LevelTrace
	case n > 24:
		return 24
	}
	return Level(n)
}
