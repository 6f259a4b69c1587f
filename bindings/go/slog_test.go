package alog

import "log/slog"
import "time"

func slogRecord(msg string) slog.Record { return slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0) }
