package alog

/*
#include "shim.h"
*/
import "C"

import (
	"log/slog"
	"strconv"
	"strings"
)

// Level is an alog severity: an OpenTelemetry severity number, 1..24. The six named levels
// start each band of four; the numbers between them are finer grades: String
// prints them as log/slog does (INFO+1, ...), the engine's output as OpenTelemetry does (INFO2).
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
// beyond them keep their distance (slog.LevelInfo+2 is LevelInfo+2, 11), clamped to 1..24.
// Level.Level is its inverse.
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

// Level returns the log/slog level of l (LevelInfo+2 is slog.LevelInfo+2), which makes a
// Level a slog.Leveler: slog.HandlerOptions{Level: alog.LevelWarn} works.
func (l Level) Level() slog.Level { return slog.Level(l - LevelInfo) }

var _ slog.Leveler = LevelInfo

// levelNames are the named levels, in order.
var levelNames = [...]struct {
	name  string
	level Level
}{{"TRACE", LevelTrace}, {"DEBUG", LevelDebug}, {"INFO", LevelInfo}, {"WARN", LevelWarn}, {"ERROR", LevelError}, {"FATAL", LevelFatal}}

// String names l as log/slog names its levels: the named level at or below it, plus the
// distance ("INFO", "INFO+2", "FATAL+3"; "TRACE-1" below LevelTrace). The engine's own output
// names the levels between the named ones as OpenTelemetry does ("INFO3").
func (l Level) String() string {
	i := len(levelNames) - 1
	for i > 0 && l < levelNames[i].level {
		i--
	}
	n := levelNames[i]
	if l == n.level {
		return n.name
	}
	d := int(l - n.level)
	if d > 0 {
		return n.name + "+" + strconv.Itoa(d)
	}
	return n.name + strconv.Itoa(d)
}

// number is l's severity number as text.
func (l Level) number() string { return strconv.Itoa(int(l)) }

// MarshalText encodes l as its String.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a level as ParseLevel does (so a Level can be a flag.TextVar or a
// field of a JSON or YAML configuration).
func (l *Level) UnmarshalText(b []byte) error {
	lv, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = lv
	return nil
}

// ParseLevel parses a level: a name in any case (trace, debug, info, warn, error, fatal;
// warning and critical as Python spells them), a name with an offset as String prints it
// (INFO+2, WARN-1), a name with the engine's grade (INFO3 is INFO+2), or a severity number
// 1..24. The result must lie within 1..24; otherwise the error, matching ErrInvalid, names
// what was wrong and what is accepted.
func ParseLevel(s string) (Level, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	lv, ok := Level(0), false
	if n, err := strconv.Atoi(t); err == nil {
		lv, ok = Level(n), true
	} else {
		name, off := t, 0
		if i := strings.IndexAny(t, "+-"); i > 0 {
			d, err := strconv.Atoi(t[i:])
			name, off = t[:i], d
			if err != nil {
				name = "" // an offset that is not a number
			}
		} else if i := strings.IndexFunc(t, func(r rune) bool { return r >= '0' && r <= '9' }); i > 0 {
			g, err := strconv.Atoi(t[i:])
			name, off = t[:i], g-1
			if err != nil || g < 2 || g > 4 {
				name = "" // the engine's grades are 2..4
			}
		}
		switch name {
		case "WARNING":
			name = "WARN"
		case "CRITICAL":
			name = "FATAL"
		}
		for _, n := range levelNames {
			if n.name == name {
				lv, ok = n.level+Level(off), true
			}
		}
	}
	if !ok {
		return 0, &Error{Op: "parse level", Code: ErrInvalid, Detail: strconv.Quote(s) +
			" is not a level: use trace, debug, info, warn, error or fatal, optionally with an offset (INFO+2), or a number 1..24"}
	}
	if uint32(lv-1) >= 24 {
		return 0, &Error{Op: "parse level", Code: ErrInvalid, Detail: strconv.Quote(s) +
			" is level " + lv.number() + ", outside 1..24"}
	}
	return lv, nil
}
