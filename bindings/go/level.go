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
	LevelTrace Level = 1
	LevelDebug Level = 5
	LevelInfo  Level = 9
	LevelWarn  Level = 13
	LevelError Level = 17
	LevelFatal Level = 21
)

// The levels are the header's: these lines stop compiling if one of them drifts.
var (
	_ = [1]struct{}{}[LevelTrace-C.ALOG_LEVEL_TRACE]
	_ = [1]struct{}{}[LevelDebug-C.ALOG_LEVEL_DEBUG]
	_ = [1]struct{}{}[LevelInfo-C.ALOG_LEVEL_INFO]
	_ = [1]struct{}{}[LevelWarn-C.ALOG_LEVEL_WARN]
	_ = [1]struct{}{}[LevelError-C.ALOG_LEVEL_ERROR]
	_ = [1]struct{}{}[LevelFatal-C.ALOG_LEVEL_FATAL]
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
