# ALog.Logger: an AbstractLogger whose records go to an alog engine.

using .LibALog: alog_logger, alog_record, alog_stats, ALOG_OK, ALOG_ERR_FULL,
    ALOG_ERR_TIMEOUT, ALOG_TIMEOUT_INFINITE

"Size of the buffers that receive alog's error messages."
const ERRSTR_SIZE = 1024

"""
    ALogError(code, message)

An error reported by libalog: `code` is the `alog_result` (see `LibALog.ALOG_ERR_*`) and
`message` what the engine said (for configuration errors it names the key and the accepted
values).
"""
struct ALogError <: Exception
    code::Int32
    message::String
end

"""`alog_result_str` of a result code, e.g. "invalid argument"."""
result_string(code::Integer) = unsafe_string(LibALog.alog_result_str(Int32(code)))

function Base.showerror(io::IO, e::ALogError)
    print(io, "ALogError: ", e.message, " (code ", e.code, ": ", result_string(e.code), ")")
end

"""Throws an `ALogError` for a result other than `ALOG_OK`, saying what was being done."""
function check(code::Integer, what::AbstractString)
    code == ALOG_OK && return nothing
    throw(ALogError(Int32(code), string(what, ": ", result_string(code))))
end

"""The NUL-terminated message alog wrote into `buf`."""
function errstr(buf::Vector{UInt8})
    n = something(findfirst(==(0x00), buf), length(buf) + 1) - 1
    return String(buf[1:n])
end

"""A timeout in seconds as alog's milliseconds (`Inf`: wait as long as it takes)."""
function timeout_ms(seconds::Real)
    seconds >= 0 || throw(ArgumentError("timeout must be >= 0 seconds, got $(seconds)"))
    isinf(seconds) && return ALOG_TIMEOUT_INFINITE
    return UInt32(min(round(Int64, seconds * 1000), Int64(ALOG_TIMEOUT_INFINITE) - 1))
end

"""
    Logger(path; files=(), config=(), kwargs...) <: AbstractLogger

Opens an alog logger appending to `path` (`nothing`: no main file, then `files` or
`config` must name a sink). Every keyword argument is one engine configuration key with its
value, handed to `alog_conf_set` unchanged except that a `LogLevel` becomes its engine
level and a `Bool` becomes `true`/`false`; the engine validates them and an unknown key or
bad value throws an `ALogError` naming the key and the accepted values. Keys with dots
(`console.level`, `json.msg_key`, ...) go in `config` as pairs; `files` names extra file
sinks: `files = (full = (path = "full.log", level = Logging.Debug, format = "json"),)` sets
`file.full.path`, `file.full.level` and `file.full.format`.

Use it as any Julia logger (`global_logger`, `with_logger`, inside `TeeLogger` or
`EarlyFilteredLogger`). Each log call becomes one record: the message, the level (see
`engine_level`), the keyword arguments as typed fields followed by `_group` and `_id`, the
source file and line, and the module as the record's function name. `maxlog = n` is
honoured as by Julia's own loggers (at most n records per log statement). Call `close` when done
(a finalizer closes a forgotten logger); `flush` waits until everything is written;
`stats` returns the engine's counters.
"""
mutable struct Logger <: AbstractLogger
    handle::Ptr{alog_logger}
    path::Union{String,Nothing}
    closed::Threads.Atomic{Bool}
    min_engine_level::Threads.Atomic{Int32}
    maxlog_remaining::Dict{Any,Int}
    maxlog_lock::ReentrantLock
end

"""Converts a configuration value to the string alog_conf_set takes."""
conf_value(v::LogLevel) = string(engine_level(v))
conf_value(v::Bool) = v ? "true" : "false"
conf_value(v::AbstractString) = String(v)
conf_value(v) = string(v)

"""Sets one key on a conf, throwing the engine's message on failure."""
function conf_set!(conf::Ptr{LibALog.alog_conf}, key::AbstractString, value)
    err = zeros(UInt8, ERRSTR_SIZE)
    code = LibALog.alog_conf_set(conf, String(key), conf_value(value), err, length(err))
    code == ALOG_OK || throw(ALogError(code, errstr(err)))
    return nothing
end

config_pairs(c::NamedTuple) = pairs(c)
config_pairs(c) = c

function Logger(path::Union{AbstractString,Nothing}=nothing; files=(), config=(), kwargs...)
    conf = LibALog.alog_conf_new()
    conf == C_NULL && throw(OutOfMemoryError())
    handle = try
        for (key, value) in kwargs
            conf_set!(conf, string(key), value)
        end
        for (name, spec) in config_pairs(files)
            for (prop, value) in pairs(spec)
                conf_set!(conf, string("file.", name, ".", prop), value)
            end
        end
        for item in config_pairs(config)
            conf_set!(conf, string(first(item)), last(item))
        end
        open_handle(path, conf)
    finally
        LibALog.alog_conf_free(conf)
    end
    lg = Logger(handle, path === nothing ? nothing : String(path),
                Threads.Atomic{Bool}(false), Threads.Atomic{Int32}(lowest_enabled(handle)),
                Dict{Any,Int}(), ReentrantLock())
    finalizer(finalize_logger, lg)
    return lg
end

function open_handle(path, conf)
    if path !== nothing && occursin('\0', path)
        throw(ArgumentError("log file path contains a NUL byte: $(repr(path))"))
    end
    p = path === nothing ? C_NULL : String(path)
    out = Ref{Ptr{alog_logger}}(C_NULL)
    err = zeros(UInt8, ERRSTR_SIZE)
    code = LibALog.alog_open(p, conf, out, err, length(err))
    code == ALOG_OK || throw(ALogError(code, errstr(err)))
    return out[]
end

"""The lowest engine level (1..24) the logger accepts, 25 if none."""
function lowest_enabled(handle::Ptr{alog_logger})
    for n in Int32(1):Int32(24)
        LibALog.alog_level_enabled(handle, n) != 0 && return n
    end
    return Int32(25)
end

"""The finalizer: closes a logger nobody closed, waiting at most 2 s for its queue."""
function finalize_logger(lg::Logger)
    if !Threads.atomic_xchg!(lg.closed, true)
        LibALog.alog_close(lg.handle, UInt32(2000))
    end
    return nothing
end

function Base.show(io::IO, lg::Logger)
    state = isopen(lg) ? "open" : "closed"
    print(io, "ALog.Logger(", repr(lg.path), ", ", state, ")")
end

Base.isopen(lg::Logger) = !lg.closed[]

Logging.shouldlog(lg::Logger, level, _module, group, id) =
    LibALog.alog_level_enabled(lg.handle, engine_level(level)) != 0

Logging.min_enabled_level(lg::Logger) = julia_level(lg.min_engine_level[])

Logging.catch_exceptions(lg::Logger) = true

"""
    set_level!(logger, level::LogLevel)

Changes the level of the logger and of every sink without a level of its own.
"""
function set_level!(lg::Logger, level::LogLevel)
    check(LibALog.alog_set_level(lg.handle, engine_level(level)), "setting the level")
    lg.min_engine_level[] = lowest_enabled(lg.handle)
    return lg
end

"""
Results of a write that are not errors of the caller: the overflow policy dropped the
record and the engine counted it in `stats(logger).dropped`.
"""
accepted(code::Integer) = code == ALOG_OK || code == ALOG_ERR_FULL || code == ALOG_ERR_TIMEOUT

"""
    within_maxlog(logger, id, maxlog) -> Bool

Julia's `maxlog` keyword: a log statement (`id`) with `maxlog = n` is logged at most `n`
times; every other call passes.
"""
function within_maxlog(lg::Logger, id, maxlog)
    maxlog isa Integer || return true
    return lock(lg.maxlog_lock) do
        remaining = get(lg.maxlog_remaining, id, Int(maxlog))
        lg.maxlog_remaining[id] = remaining - 1
        remaining > 0
    end
end

function Logging.handle_message(lg::Logger, level, message, _module, group, id, file, line;
                                kwargs...)
    within_maxlog(lg, id, get(kwargs, :maxlog, nothing)) || return nothing
    n = engine_level(level)
    buf = FieldBuffer()
    for (key, value) in kwargs
        key === :maxlog || push_field!(buf, key, value)
    end
    group === nothing || push_field!(buf, :_group, group)
    id === nothing || push_field!(buf, :_id, id)
    msg = message isa AbstractString ? String(message) : string(message)
    src = file === nothing ? nothing : string(file)
    func = _module === nothing ? "" : string(_module)
    lineno = line isa Integer ? UInt32(clamp(line, 0, typemax(UInt32))) : UInt32(0)
    fields = buf.fields
    strings = buf.strings
    code = GC.@preserve fields strings msg src func begin
        rec = Ref(alog_record(n, 0, pointer(msg), sizeof(msg), pointer(fields), length(fields),
                              src === nothing ? C_NULL : pointer(src),
                              src === nothing ? 0 : sizeof(src),
                              lineno, pointer(func), sizeof(func), (0, 0, 0, 0)))
        LibALog.alog_write_record(lg.handle, rec)
    end
    accepted(code) || check(code, "logging a record")
    return nothing
end

"""
    write_line(logger, level, line)

Logs a preformatted message (`alog_write`): no fields, no source location. The custom
formatters of `AsyncFileLogger` use it.
"""
function write_line(lg::Logger, level, line::AbstractString)
    s = String(line)
    code = LibALog.alog_write(lg.handle, engine_level(level), s, sizeof(s))
    accepted(code) || check(code, "logging a message")
    return nothing
end

"""
    flush(logger; timeout=Inf)

Waits until every record logged before the call is written, at most `timeout` seconds
(then throws an `ALogError` with code `ALOG_ERR_TIMEOUT`; nothing is lost). Blocks the
calling thread inside libalog.
"""
function Base.flush(lg::Logger; timeout::Real=Inf)
    check(LibALog.alog_flush(lg.handle, timeout_ms(timeout)), "flushing the logger")
    return nothing
end

"""
    close(logger; timeout=Inf)

Stops accepting records, drains the queue, flushes and closes the files and joins the
writer thread. A second `close` does nothing. When `timeout` seconds pass first it throws
an `ALogError` with code `ALOG_ERR_TIMEOUT`: the logger is closed and its writer finishes
draining in the background. After `close`, `stats` still answers; logging throws.
"""
function Base.close(lg::Logger; timeout::Real=Inf)
    ms = timeout_ms(timeout)
    Threads.atomic_xchg!(lg.closed, true) && return nothing
    check(LibALog.alog_close(lg.handle, ms), "closing the logger")
    return nothing
end

"""
    reopen(logger)

Asks the writer to close and reopen the logger's files before its next batch, after an
external tool (logrotate without `copytruncate`) moved them. alog also notices a moved or
deleted file by itself, once per batch.
"""
function reopen(lg::Logger)
    check(LibALog.alog_reopen(lg.handle), "reopening the files")
    return nothing
end

"""
    last_error(logger) -> String

The engine's last I/O or sink error message ("" if none).
"""
function last_error(lg::Logger)
    buf = zeros(UInt8, ERRSTR_SIZE)
    check(LibALog.alog_last_error(lg.handle, buf, length(buf)), "reading the last error")
    return errstr(buf)
end

"""
    stats(logger) -> NamedTuple

A snapshot of the engine's counters: `submitted`, `written`, `dropped`, `failed`,
`pending`, `queue_len`, `queue_capacity`, `queue_peak`, `batches`, `bytes_written`,
`write_errors`, `rotations`, `writer_restarts` (all `Int`). At every moment
`submitted == written + dropped + failed + pending`; after `close`, `pending == 0`.
"""
function stats(lg::Logger)
    out = Ref{alog_stats}()
    check(LibALog.alog_get_stats(lg.handle, out), "reading the stats")
    s = out[]
    return (submitted = Int(s.submitted), written = Int(s.written), dropped = Int(s.dropped),
            failed = Int(s.failed), pending = Int(s.pending), queue_len = Int(s.queue_len),
            queue_capacity = Int(s.queue_capacity), queue_peak = Int(s.queue_peak),
            batches = Int(s.batches), bytes_written = Int(s.bytes_written),
            write_errors = Int(s.write_errors), rotations = Int(s.rotations),
            writer_restarts = Int(s.writer_restarts))
end

"""
    version() -> VersionNumber

The version of the loaded libalog.
"""
version() = VersionNumber(unsafe_string(LibALog.alog_version()))
