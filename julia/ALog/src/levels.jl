# Julia's log levels and alog's levels.
#
# alog's levels are the OpenTelemetry severity numbers 1..24: TRACE 1, DEBUG 5, INFO 9,
# WARN 13, ERROR 17, FATAL 21, with three finer grades between two named levels. Julia's
# named levels are 1000 apart (Debug -1000, Info 0, Warn 1000, Error 2000), so one engine
# grade is 250 Julia units: engine = 9 + fld(julia, 250), clamped to 1..24.
#
#   Julia level                         engine level
#   BelowMinLevel .. LogLevel(-1751)    1 TRACE (e.g. the seed's LogLevel(-2000))
#   LogLevel(-1750) .. LogLevel(-1001)  2..4 TRACE2..TRACE4
#   Debug (-1000) .. LogLevel(-1)       5 DEBUG .. 8 DEBUG4
#   Info (0) .. LogLevel(999)           9 INFO .. 12 INFO4
#   Warn (1000) .. LogLevel(1999)       13 WARN .. 16 WARN4
#   Error (2000) .. LogLevel(2999)      17 ERROR .. 20 ERROR4
#   LogLevel(3000) .. AboveMaxLevel     21 FATAL .. 24 FATAL4
#
# The mapping is monotonic, so "level >= minimum" means the same on both sides, and
# julia_level(engine_level(l)) <= l with equality at every multiple of 250.

"Julia log-level units per alog level grade."
const LEVEL_STEP = 250

"""
    engine_level(level) -> Int32

The alog level (1..24) of a Julia `LogLevel` (or its integer value); see the table in
`levels.jl` and the README.
"""
engine_level(level::LogLevel) = engine_level(level.level)
engine_level(level::Integer) = Int32(clamp(9 + fld(Int64(level), LEVEL_STEP), 1, 24))
engine_level(level) = engine_level(convert(LogLevel, level))

"""
    julia_level(n) -> LogLevel

The lowest Julia `LogLevel` that maps to alog level `n`: `julia_level(9) == Logging.Info`.
"""
julia_level(n::Integer) = LogLevel((Int64(n) - 9) * LEVEL_STEP)
