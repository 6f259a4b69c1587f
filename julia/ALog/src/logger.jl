# ALog.Logger: an AbstractLogger whose records go to an alog engine.
#
# A log call never throws into the code that logs: `shouldlog`, `min_enabled_level` and
# `handle_message` catch everything. What goes wrong is counted (`stats(logger).errors`)
# and reported on stderr at most once per second, with the record, as Julia's own loggers
# report their failures; a record logged after `close` is dropped and counted
# (`closed_drops`). `scripts/check-julia.py` checks statically that no `throw` is reachable
# from these methods outside a `try`.

using .LibALog: alog_logger, alog_record, alog_stats, ALOG_OK, ALOG_ERR_FULL,
    ALOG_ERR_TIMEOUT, ALOG_ERR_CLOSED, ALOG_TIMEOUT_INFINITE, ALOG_LEVEL_DEBUG

"Size of the buffers that receive alog's error messages."
const ERRSTR_SIZE = 1024

"Shortest time between two failure reports of one logger on stderr, in seconds."
const REPORT_INTERVAL = 1.0

"Longest part of a record quoted in a failure report, in bytes."
const REPORT_BYTES = 1000

# The life of a logger: OPEN accepts records; DRAINING refuses them while the writer still
# writes the queue (after a `close` that timed out, or the finalizer's close); CLOSED: done.
const OPEN = 0
const DRAINING = 1
const CLOSED = 2

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

"""
    StaleLoggerError(path)

The logger was opened in another Julia process, e.g. while a package that stores it in a
global was precompiled: its handle means nothing here. Open loggers in the package's
`__init__` instead.
"""
struct StaleLoggerError <: Exception
    path::Union{String,Nothing}
end

function Base.showerror(io::IO, e::StaleLoggerError)
    print(io, "StaleLoggerError: the ALog.Logger for ", repr(e.path), " was opened in another ",
          "Julia process (during precompilation?); open it in your module's __init__()")
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
honoured as by Julia's own loggers. A log call never throws (see the top of `logger.jl`).
Call `close` when done (a finalizer closes a forgotten logger without waiting); `flush`
waits until everything is written; `stats` returns the counters.

Open a logger at run time, never at precompile time: a package that keeps one in a global
opens it in its `__init__` (a logger from another process is refused with a
`StaleLoggerError`).
"""
mutable struct Logger <: AbstractLogger
    handle::Ptr{alog_logger}
    path::Union{String,Nothing}
    session::UInt64
    state::Threads.Atomic{Int}
    # The lowest engine level any sink accepts as configured (mirrors the engine, read
    # without a C call); below it only JULIA_DEBUG lets a Debug record through.
    floor::Threads.Atomic{Int32}
    # JULIA_DEBUG asked for a record below `floor`: the engine's level was lowered to
    # DEBUG and `floor` is enforced here.
    debug_opened::Threads.Atomic{Bool}
    level_lock::ReentrantLock
    max_bytes::Int
    echo_dropped::Bool
    errors::Threads.Atomic{Int}
    closed_drops::Threads.Atomic{Int}
    suppressed::Threads.Atomic{Int}
    last_report::Threads.Atomic{Float64}
    maxlog_remaining::Dict{Any,Int}
    maxlog_lock::ReentrantLock
    block_lock::ReentrantLock
end

"""
A token of this Julia process, set by `ALog.__init__`: a logger remembers the token it was
opened under, so that one deserialized from a precompiled module is recognised as stale.
"""
const SESSION = Ref{UInt64}(0)

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

Logger(path::Union{AbstractString,Nothing}=nothing; files=(), config=(), kwargs...) =
    open_logger(path, files, config, kwargs; echo_dropped=false)

"""
    open_logger(path, files, config, settings; echo_dropped) -> Logger

What `Logger` does; `echo_dropped = true` prints every record the overflow policy drops on
stderr (the `:stderr` policy of `AsyncFileLogger`).
"""
function open_logger(path, files, config, settings; echo_dropped::Bool)
    conf = LibALog.alog_conf_new()
    conf == C_NULL && throw(OutOfMemoryError())
    max_bytes = DEFAULT_MAX_MESSAGE_BYTES
    handle = try
        for (key, value) in settings
            conf_set!(conf, string(key), value)
            key === :max_message_bytes && (max_bytes = limit_setting(value))
        end
        for (name, spec) in config_pairs(files)
            for (prop, value) in pairs(spec)
                conf_set!(conf, string("file.", name, ".", prop), value)
            end
        end
        for item in config_pairs(config)
            conf_set!(conf, string(first(item)), last(item))
            string(first(item)) == "max_message_bytes" && (max_bytes = limit_setting(last(item)))
        end
        open_handle(path, conf)
    finally
        LibALog.alog_conf_free(conf)
    end
    lg = Logger(handle, path === nothing ? nothing : String(path), SESSION[],
                Threads.Atomic{Int}(OPEN), Threads.Atomic{Int32}(lowest_enabled(handle)),
                Threads.Atomic{Bool}(false), ReentrantLock(), max_bytes, echo_dropped,
                Threads.Atomic{Int}(0), Threads.Atomic{Int}(0), Threads.Atomic{Int}(0),
                Threads.Atomic{Float64}(-Inf), Dict{Any,Int}(), ReentrantLock(), ReentrantLock())
    finalizer(finalize_logger, lg)
    return lg
end

"The `max_message_bytes` value the engine accepted, as a number (the engine checked it)."
limit_setting(value) = something(tryparse(Int, strip(conf_value(value))), DEFAULT_MAX_MESSAGE_BYTES)

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

"""Whether the logger's handle belongs to this process (see `SESSION`)."""
live(lg::Logger) = lg.session == SESSION[] && lg.handle != C_NULL

"""Throws `StaleLoggerError` for a logger of another process."""
function check_live(lg::Logger)
    live(lg) || throw(StaleLoggerError(lg.path))
    return nothing
end

"""Whether the logger takes records now (open, and of this process)."""
accepting(lg::Logger) = lg.state[] == OPEN && live(lg)

"Milliseconds the finalizer waits for a forgotten logger's queue to drain."
const FINALIZER_WAIT_MS = UInt32(2000)

"""
The finalizer: closes a logger nobody closed, waiting at most `FINALIZER_WAIT_MS` in a
GC-safe region (the garbage collector of other threads is not held up meanwhile); past
that the writer finishes in the background (`state` is `:draining`). Never throws.
"""
function finalize_logger(lg::Logger)
    try
        if live(lg) && Threads.atomic_cas!(lg.state, OPEN, DRAINING) == OPEN
            code = LibALog.alog_close(lg.handle, FINALIZER_WAIT_MS)
            if code == ALOG_OK || code == ALOG_ERR_CLOSED
                lg.state[] = CLOSED
            end
        end
    catch
    end
    return nothing
end

"""
    ALog.state(logger) -> Symbol

`:open` (takes records), `:draining` (closed to new records; after a `close` that timed
out, or the finalizer's, the writer still writes the queue) or `:closed` (everything
written, files closed, writer joined; a logger of another process is `:closed` too).
"""
function state(lg::Logger)
    s = lg.state[]
    if s == DRAINING && live(lg)
        # A close that returns at once: ALOG_ERR_CLOSED once the writer is done,
        # ALOG_ERR_TIMEOUT while it still drains.
        code = LibALog.alog_close(lg.handle, UInt32(0))
        if code == ALOG_OK || code == ALOG_ERR_CLOSED
            lg.state[] = CLOSED
            s = CLOSED
        end
    end
    live(lg) || return :closed
    return s == OPEN ? :open : s == DRAINING ? :draining : :closed
end

function Base.show(io::IO, lg::Logger)
    print(io, "ALog.Logger(", repr(lg.path), ", ", state(lg), ")")
end

"""
    isopen(logger) -> Bool

`true` until the logger is completely closed: also while its writer still drains the queue
after a `close` that timed out (`ALog.state(logger) == :draining`). A logger takes records
only while `ALog.state(logger) == :open`.
"""
Base.isopen(lg::Logger) = state(lg) !== :closed

"""
Whether `JULIA_DEBUG` asks for Debug records of this group or module, as Julia decides it
for `ConsoleLogger`.
"""
function env_debug(group, _module)
    haskey(ENV, "JULIA_DEBUG") || return false
    isdefined(Base.CoreLogging, :env_override_minlevel) || return false
    return Base.CoreLogging.env_override_minlevel(group, _module) === true
end

"""
    admit(logger, n, group, _module) -> Bool

Whether a record at engine level `n` is logged: at or above the configured floor, or a
Debug record that `JULIA_DEBUG` names (then the engine's level is lowered to DEBUG once,
and the floor is kept here).
"""
function admit(lg::Logger, n::Int32, group, _module)
    n >= lg.floor[] && return true
    (n >= ALOG_LEVEL_DEBUG && env_debug(group, _module)) || return false
    lg.debug_opened[] || open_debug!(lg)
    return true
end

function open_debug!(lg::Logger)
    lock(lg.level_lock) do
        if !lg.debug_opened[]
            lg.debug_opened[] = true
            if lg.floor[] > ALOG_LEVEL_DEBUG
                check(LibALog.alog_set_level(lg.handle, ALOG_LEVEL_DEBUG), "opening the level for JULIA_DEBUG")
            end
        end
    end
    return nothing
end

function Logging.shouldlog(lg::Logger, level, _module, group, id)
    try
        accepting(lg) || return false
        n = engine_level(level)
        n >= lg.floor[] && return true
        return n >= ALOG_LEVEL_DEBUG && env_debug(group, _module)
    catch
        return false
    end
end

"""
`min_enabled_level` is at most `Logging.Debug`: Julia caches it when a logger is installed
(`global_logger`, `with_logger`), so a lower bound lets `set_level!` open an installed
logger down to Debug; `shouldlog` applies the real level. Below Debug, re-install the
logger after `set_level!` (and see `Logging.disable_logging`).
"""
function Logging.min_enabled_level(lg::Logger)
    try
        return min(julia_level(lg.floor[]), Logging.Debug)
    catch
        return Logging.Debug
    end
end

Logging.catch_exceptions(lg::Logger) = true

"""
    set_level!(logger, level::LogLevel)

Changes the level of the logger and of every sink without a level of its own; takes effect
at once, also for a logger already installed with `global_logger` or `with_logger` (down to
`Logging.Debug`, see `min_enabled_level`).
"""
function set_level!(lg::Logger, level::LogLevel)
    check_live(lg)
    lock(lg.level_lock) do
        check(LibALog.alog_set_level(lg.handle, engine_level(level)), "setting the level")
        lg.floor[] = lowest_enabled(lg.handle)
        if lg.debug_opened[] && lg.floor[] > ALOG_LEVEL_DEBUG
            check(LibALog.alog_set_level(lg.handle, ALOG_LEVEL_DEBUG), "opening the level for JULIA_DEBUG")
        end
    end
    return lg
end

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

"""The engine's name of a level 1..24: `INFO`, `INFO3`, `FATAL4`."""
function level_name(n::Integer)
    names = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    k = clamp(Int(n), 1, 24) - 1
    grade = k % 4
    return grade == 0 ? names[k ÷ 4 + 1] : string(names[k ÷ 4 + 1], grade + 1)
end

"""A record as one plain text line (for stderr): level, message, then `key=value` fields."""
function plain_text(n::Int32, p::RecordParts)
    io = IOBuffer()
    print(io, level_name(n), " ", p.msg)
    for f in p.fields
        print(io, " ", f.key, "=")
        if f.kind == LibALog.ALOG_FIELD_STRING
            print(io, f.str)
        elseif f.kind == LibALog.ALOG_FIELD_INT
            print(io, f.i64)
        elseif f.kind == LibALog.ALOG_FIELD_UINT
            print(io, f.u64)
        elseif f.kind == LibALog.ALOG_FIELD_FLOAT
            print(io, f.f64)
        else
            print(io, f.i64 != 0)
        end
    end
    return String(take!(io))
end

"""Prints a record the overflow policy dropped on stderr (overflow `:stderr`). Never throws."""
function echo_dropped(text::AbstractString)
    try
        println(stderr, "[DROPPED] ", text)
    catch
    end
    return nothing
end

"""
    failed(logger, err, level, message)

Counts a record the binding could not log (`stats(logger).errors`) and reports it on
stderr, at most once per `REPORT_INTERVAL` (the next report says how many were not
shown). Never throws.
"""
function failed(lg::Logger, err, level, message)
    try
        Threads.atomic_add!(lg.errors, 1)
        report(lg, "a record could not be logged", err,
               string(level_text(level), " ", value_text(message, REPORT_BYTES)))
    catch
    end
    return nothing
end

level_text(level) = try
    level_name(engine_level(level))
catch
    "?"
end

"""
    report(logger, what, err, record)

Prints `ALog: <what> (<path>): <err>` and the record on stderr, unless a report of this
logger was printed less than `REPORT_INTERVAL` ago (then it is only counted, and the next
report says how many were not shown).
"""
function report(lg::Logger, what::AbstractString, err, record::AbstractString)
    t = time()
    last = lg.last_report[]
    if t - last < REPORT_INTERVAL || Threads.atomic_cas!(lg.last_report, last, t) !== last
        Threads.atomic_add!(lg.suppressed, 1)
        return nothing
    end
    quiet = Threads.atomic_xchg!(lg.suppressed, 0)
    text = string("ALog: ", what, " (", repr(lg.path), "): ",
                  value_text(err, REPORT_BYTES), "\n  the record: ", record,
                  quiet > 0 ? string("\n  (", quiet, " more failures since the last report)") : "",
                  "\n")
    print(stderr, text)
    return nothing
end

"""
    record_parts(logger, message, _module, group, id, file, line, kwargs) -> RecordParts

The record of one log call: the message and values as text within the limits of
`fields.jl`, `maxlog` left out, `_group` and `_id` after the keyword arguments.
"""
function record_parts(lg::Logger, message, _module, group, id, file, line, kwargs)
    fields = Field[]
    for (key, value) in kwargs
        key === :maxlog || push!(fields, make_field(key, value))
    end
    group === nothing || push!(fields, make_field(:_group, group))
    id === nothing || push!(fields, make_field(:_id, id))
    msg = value_text(message, lg.max_bytes)
    src = file === nothing ? nothing : truncate_text(string(file), VALUE_BYTES)
    func = _module === nothing ? "" : truncate_text(string(_module), VALUE_BYTES)
    lineno = line isa Integer ? UInt32(clamp(line, 0, typemax(UInt32))) : UInt32(0)
    return RecordParts(msg, fields, src, lineno, func)
end

function Logging.handle_message(lg::Logger, level, message, _module, group, id, file, line;
                                kwargs...)
    try
        log_record(lg, level, message, _module, group, id, file, line, kwargs)
    catch err
        failed(lg, err, level, message)
    end
    return nothing
end

"""
The body of `handle_message` (which catches what this throws): filters, builds the record,
fits it into `max_message_bytes` and submits it.
"""
function log_record(lg::Logger, level, message, _module, group, id, file, line, kwargs)
    n = engine_level(level)
    takes(lg, n, group, _module, id, kwargs) || return nothing
    p = record_parts(lg, message, _module, group, id, file, line, kwargs)
    submit(lg, n, p)
    return nothing
end

"""
    takes(logger, n, group, _module, id, kwargs) -> Bool

What every log call checks before its record is built: the logger is of this process
(else `StaleLoggerError`), open (else the call is counted in `closed_drops`), the level is
admitted (`admit`) and `maxlog` allows it.
"""
function takes(lg::Logger, n::Int32, group, _module, id, kwargs)
    live(lg) || throw(StaleLoggerError(lg.path))
    if lg.state[] != OPEN
        Threads.atomic_add!(lg.closed_drops, 1)
        return false
    end
    admit(lg, n, group, _module) || return false
    return within_maxlog(lg, id, get(kwargs, :maxlog, nothing))
end

"""Writes a record with `alog_write_record`; see `outcome` for the result."""
function submit(lg::Logger, n::Int32, p::RecordParts)
    fit!(p, lg.max_bytes)
    msg, fields, src, func = p.msg, p.fields, p.src, p.func
    cfields = LibALog.alog_field[c_field(f) for f in fields]
    code = GC.@preserve msg fields cfields src func begin
        rec = Ref(alog_record(n, 0, pointer(msg), sizeof(msg),
                              isempty(cfields) ? C_NULL : pointer(cfields), length(cfields),
                              src === nothing ? C_NULL : pointer(src),
                              src === nothing ? 0 : sizeof(src),
                              p.line, pointer(func), sizeof(func), (0, 0, 0, 0)))
        LibALog.alog_write_record(lg.handle, rec)
    end
    if lg.echo_dropped && (code == ALOG_ERR_FULL || code == ALOG_ERR_TIMEOUT)
        echo_dropped(plain_text(n, p))
    end
    outcome(lg, code)
    return nothing
end

"""
The result of a write: `ALOG_OK`; dropped by the overflow policy (`ALOG_ERR_FULL`,
`ALOG_ERR_TIMEOUT`: counted by the engine in `dropped`); closed meanwhile (counted in
`closed_drops`); anything else throws an `ALogError` for `handle_message` to report.
"""
function outcome(lg::Logger, code::Integer)
    (code == ALOG_OK || code == ALOG_ERR_FULL || code == ALOG_ERR_TIMEOUT) && return nothing
    if code == ALOG_ERR_CLOSED
        Threads.atomic_add!(lg.closed_drops, 1)
        return nothing
    end
    throw(ALogError(Int32(code), string("logging a record: ", result_string(code))))
end

"""
    write_text(logger, n, text)

Logs preformatted text at engine level `n` with `alog_write`: each line of `text` is one
record (so a multi-line block keeps its lines), queued together under the logger's lock so
that no other record comes between them. The custom formatters of `AsyncFileLogger` use it.
Throws like `outcome`; its callers catch.
"""
function write_text(lg::Logger, n::Int32, text::AbstractString)
    if !occursin('\n', text)
        write_piece(lg, n, text)
        return nothing
    end
    lock(lg.block_lock) do
        for piece in split(text, '\n')
            write_piece(lg, n, piece)
        end
    end
    return nothing
end

function write_piece(lg::Logger, n::Int32, piece::AbstractString)
    s = truncate_text(piece, lg.max_bytes)
    code = LibALog.alog_write(lg.handle, n, s, sizeof(s))
    if lg.echo_dropped && (code == ALOG_ERR_FULL || code == ALOG_ERR_TIMEOUT)
        echo_dropped(s)
    end
    outcome(lg, code)
    return nothing
end

"""
    flush(logger; timeout=Inf)

Waits until every record logged before the call is written, at most `timeout` seconds
(then throws an `ALogError` with code `ALOG_ERR_TIMEOUT`; nothing is lost). Blocks the
calling thread inside libalog in a GC-safe region (the garbage collector may run meanwhile).
"""
function Base.flush(lg::Logger; timeout::Real=Inf)
    ms = timeout_ms(timeout)
    check_live(lg)
    check(LibALog.alog_flush(lg.handle, ms), "flushing the logger")
    return nothing
end

"""
    close(logger; timeout=Inf)

Stops accepting records, drains the queue, flushes and closes the files and joins the
writer thread (GC-safe, as `flush`). When `timeout` seconds pass first it throws an
`ALogError` with code `ALOG_ERR_TIMEOUT`: the logger takes no more records and its writer
goes on draining in the background (`ALog.state(logger) == :draining`, `isopen` stays
`true`); a later `close` waits for it again, as long as its own timeout allows. A `close`
after a completed one does nothing. After `close`, `stats` still answers; log calls are
dropped and counted in `closed_drops`.
"""
function Base.close(lg::Logger; timeout::Real=Inf)
    ms = timeout_ms(timeout)
    if !live(lg)
        lg.state[] = CLOSED
        return nothing
    end
    lg.state[] == CLOSED && return nothing
    Threads.atomic_cas!(lg.state, OPEN, DRAINING)
    code = LibALog.alog_close(lg.handle, ms)
    if code == ALOG_OK || code == ALOG_ERR_CLOSED
        lg.state[] = CLOSED
        return nothing
    end
    if code == ALOG_ERR_TIMEOUT
        throw(ALogError(code, "closing the logger: the timeout passed; the writer goes on " *
                              "writing the queue in the background (close again to wait for it)"))
    end
    lg.state[] = CLOSED
    check(code, "closing the logger")
    return nothing
end

"""
    reopen(logger)

Asks the writer to close and reopen the logger's files before its next batch, after an
external tool (logrotate without `copytruncate`) moved them. alog also notices a moved or
deleted file by itself, once per batch.
"""
function reopen(lg::Logger)
    check_live(lg)
    check(LibALog.alog_reopen(lg.handle), "reopening the files")
    return nothing
end

"""
    last_error(logger) -> String

The engine's last I/O or sink error message ("" if none).
"""
function last_error(lg::Logger)
    check_live(lg)
    buf = zeros(UInt8, ERRSTR_SIZE)
    check(LibALog.alog_last_error(lg.handle, buf, length(buf)), "reading the last error")
    return errstr(buf)
end

"""
    stats(logger) -> NamedTuple

A snapshot of the counters. The engine's: `submitted`, `written`, `dropped`, `failed`,
`pending`, `queue_len`, `queue_capacity`, `queue_peak`, `batches`, `bytes_written`,
`write_errors`, `rotations`, `writer_restarts`, with
`submitted == written + dropped + failed + pending` at every moment and `pending == 0` once
`state == :closed`. The binding's, for records that never reached the engine: `errors`
(a record that could not be built or was refused, each reported on stderr as rate limits
allow) and `closed_drops` (log calls after `close`). Then `state` (see `ALog.state`).
"""
_cstr(t::NTuple{N,Cchar}) where {N} = String(UInt8[reinterpret(UInt8, c) for c in Iterators.takewhile(!iszero, t)])

"""
    sink_stats(lg) -> Vector{NamedTuple}

Each sink's counters, in configuration order: `name`, `target`, `taken`, `written`,
`dropped`, `failed`, `write_errors`, `bytes_written`, `backlog`, `backlog_peak`, `last_error`.
"""
function sink_stats(lg::Logger)
    check_live(lg)
    n = Ref{Csize_t}(0)
    check(LibALog.alog_sink_count(lg.handle, n), "counting the sinks")
    out = Ref{LibALog.alog_sink_stats}()
    return map(0:Int(n[])-1) do i
        check(LibALog.alog_get_sink_stats(lg.handle, i, out), "reading a sink's stats")
        s = out[]
        (name = _cstr(s.name), target = _cstr(s.target), taken = Int(s.taken),
         written = Int(s.written), dropped = Int(s.dropped), failed = Int(s.failed),
         write_errors = Int(s.write_errors), bytes_written = Int(s.bytes_written),
         backlog = Int(s.backlog), backlog_peak = Int(s.backlog_peak),
         last_error = _cstr(s.last_error))
    end
end

function stats(lg::Logger)
    check_live(lg)
    st = state(lg)
    out = Ref{alog_stats}()
    check(LibALog.alog_get_stats(lg.handle, out), "reading the stats")
    s = out[]
    return (submitted = Int(s.submitted), written = Int(s.written), dropped = Int(s.dropped),
            failed = Int(s.failed), pending = Int(s.pending), queue_len = Int(s.queue_len),
            queue_capacity = Int(s.queue_capacity), queue_peak = Int(s.queue_peak),
            batches = Int(s.batches), bytes_written = Int(s.bytes_written),
            write_errors = Int(s.write_errors), rotations = Int(s.rotations),
            writer_restarts = Int(s.writer_restarts), errors = lg.errors[],
            closed_drops = lg.closed_drops[], state = st)
end

"""
    version() -> VersionNumber

The version of the loaded libalog.
"""
version() = VersionNumber(unsafe_string(LibALog.alog_version()))
