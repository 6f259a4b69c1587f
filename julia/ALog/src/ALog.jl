"""
    ALog

Julia's logging through alog, an asynchronous logging engine: a log call copies the record
into alog's queue and returns; alog's writer thread formats it (text or JSON) and writes it
in batches to its files, with size/date rotation, retention and exact counters.

- `ALog.Logger(path; kwargs...)`: an `AbstractLogger`; keyword arguments are engine keys.
- `AsyncFileLogger`, `create_async_file_logger`, `close_async_logger`, `get_logger_stats`,
  `LogMessage`, `create_simplified_logger`, `create_full_logger`: the interface of the
  hand-written logger this package replaces.
- `ALog.LibALog`: the raw `ccall` layer over `include/alog.h`.

The library is `ENV["ALOG_LIB"]` when set, else `target/release/libalog.so` of the alog
workspace this package lives in (`cargo build --release -p alog-ffi`). alog's threads never
call into Julia.
"""
module ALog

using Dates
using Logging

export AsyncFileLogger, LogMessage, create_async_file_logger, close_async_logger,
    get_logger_stats, create_simplified_logger, create_full_logger, ALogError,
    StaleLoggerError

include("libalog.jl")
include("levels.jl")
include("fields.jl")
include("logger.jl")
include("seed.jl")

"""
Runs when ALog is loaded: a new `SESSION` token, so that a logger opened in another process
(stored in a precompiled global) is refused instead of handing libalog a stale pointer.
"""
function __init__()
    SESSION[] = time_ns() | 0x1
    return nothing
end

end # module ALog
