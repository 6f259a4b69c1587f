# The interface of the AsyncFileLogger that ALog replaces, so that an application switches
# by changing one `using`: `AsyncFileLogger`, `LogMessage`, `create_async_file_logger`,
# `close_async_logger`, `get_logger_stats`, and the application's two loggers
# `create_simplified_logger` and `create_full_logger` with their formats. The channel,
# writer task, periodic flush and drain of the old logger are alog's queue, writer thread,
# batches and close; its settings become engine configuration:
#
#   channel_size                   queue_capacity
#   flush every 1 s or 100 msgs    batch_size = 100, batch_timeout_ms = 1000
#   overflow :block (10 ms wait)   overflow = block, block_timeout_ms = 10 (then dropped, counted)
#   overflow :drop                 overflow = drop_newest
#   overflow :stderr               overflow = drop_newest, and the dropped record on stderr
#   close with a 5 s timeout       alog_close(5000 ms)

"Queue capacity when `channel_size` is not given (the old logger's channel size)."
const DEFAULT_CHANNEL_SIZE = 10000
"Seconds after which queued records are written even if fewer than FLUSH_MESSAGE_COUNT."
const FLUSH_INTERVAL = 1.0
"Queued records that wake the writer."
const FLUSH_MESSAGE_COUNT = 100

"""
    LogMessage

One log call, as a custom formatter of `AsyncFileLogger` receives it (the old logger's
fields). `file` is `""` and `line` is `0` when the call has no source location; a `group`
or `id` that is not a `Symbol` is converted with `Symbol(...)`; `timestamp` is the local
time of the call (`now()`).
"""
struct LogMessage
    level::LogLevel
    message::String
    _module::Module
    _group::Symbol
    id::Symbol
    file::String
    line::Int
    kwargs::Dict{Symbol,Any}
    timestamp::DateTime
end

"""
    default_formatter(msg::LogMessage) -> String

The marker for "let alog format": with it (the default) `AsyncFileLogger` sends structured
records and the engine writes its text or JSON lines with timestamp, level, message,
fields and source. Called directly it returns the message.
"""
default_formatter(msg::LogMessage) = msg.message

"""
    AsyncFileLogger <: AbstractLogger

The old logger's type, now a thin wrapper of an `ALog.Logger` (`logger`): `filepath`,
`formatter`, `channel_size` and `overflow_policy` as given; `min_level(a)` the level (see
`set_level!`). `user_messages`: records below the level still pass when they carry
`is_user_message = true` (the simplified logger).
"""
struct AsyncFileLogger <: AbstractLogger
    filepath::String
    level::Threads.Atomic{Int32}
    formatter::Function
    channel_size::Int
    overflow_policy::Symbol
    user_messages::Bool
    logger::Logger
end

"The logger's minimum level."
min_level(a::AsyncFileLogger) = LogLevel(a.level[])

"""
    set_level!(logger::AsyncFileLogger, level::LogLevel)

Changes the minimum level; takes effect at once, also for an installed logger (down to
`Logging.Debug`, as for `ALog.Logger`).
"""
function set_level!(a::AsyncFileLogger, level::LogLevel)
    a.user_messages || set_level!(a.logger, level)
    a.level[] = Int32(clamp(level.level, typemin(Int32), typemax(Int32)))
    return a
end

const OVERFLOW_POLICIES = Dict(:block => "block", :drop => "drop_newest", :stderr => "drop_newest")

"""
    create_async_file_logger(filepath, min_level; formatter=default_formatter,
                             channel_size=DEFAULT_CHANNEL_SIZE, overflow_policy=:block,
                             kwargs...) -> AsyncFileLogger

Opens `filepath` for appending through alog: records at `min_level` and above, a queue of
`channel_size` records, written every `FLUSH_MESSAGE_COUNT` records or `FLUSH_INTERVAL`
seconds. A custom `formatter(msg::LogMessage)::String` runs on the calling task; each line
of its result is one line in the file, the lines of one call kept together (control
characters other than the newline are escaped). When the formatter throws, the record is
written as `yyyy-mm-dd HH:MM:SS Level message` and the error counted and reported on
stderr. `overflow_policy` is the old `:block` (wait up to 10 ms, then drop), `:drop` or
`:stderr` (drop, and print the dropped record on stderr as `[DROPPED] line`); further
keyword arguments are engine configuration keys as for `ALog.Logger` (they win over the
settings above).
"""
function create_async_file_logger(filepath::AbstractString, min_level::LogLevel;
                                  formatter::Function=default_formatter,
                                  channel_size::Integer=DEFAULT_CHANNEL_SIZE,
                                  overflow_policy::Symbol=:block, kwargs...)
    return open_seed_logger(filepath, min_level, formatter, channel_size, overflow_policy,
                            false, FLUSH_INTERVAL, FLUSH_MESSAGE_COUNT, values(kwargs))
end

function open_seed_logger(filepath, min_level::LogLevel, formatter::Function, channel_size::Integer,
                          overflow_policy::Symbol, user_messages::Bool, flush_interval::Real,
                          flush_count::Integer, settings::NamedTuple)
    overflow = get(OVERFLOW_POLICIES, overflow_policy, nothing)
    if overflow === nothing
        throw(ArgumentError("overflow_policy must be :block, :drop or :stderr, got " *
                            repr(overflow_policy)))
    end
    # The simplified logger takes user messages below its level: the engine lets every
    # level through and the level is applied here.
    seed = (level = user_messages ? Logging.BelowMinLevel : min_level, queue_capacity = channel_size,
            batch_size = min(flush_count, channel_size),
            batch_timeout_ms = round(Int, flush_interval * 1000), overflow = overflow)
    if overflow_policy === :block
        seed = merge(seed, (block_timeout_ms = 10,))
    end
    if formatter !== default_formatter
        seed = merge(seed, (pattern = "{msg}",))
    end
    lg = open_logger(filepath, (), (), pairs(merge(seed, settings));
                     echo_dropped = overflow_policy === :stderr)
    level = Threads.Atomic{Int32}(Int32(clamp(min_level.level, typemin(Int32), typemax(Int32))))
    return AsyncFileLogger(String(filepath), level, formatter, Int(channel_size), overflow_policy,
                           user_messages, lg)
end

"Whether a log call carries `is_user_message = true`."
is_user_message(kwargs) = get(kwargs, :is_user_message, false) === true

function Logging.shouldlog(a::AsyncFileLogger, level, _module, group, id)
    try
        Logging.shouldlog(a.logger, level, _module, group, id) || return false
        return a.user_messages || convert(LogLevel, level) >= min_level(a) ||
               env_debug(group, _module)
    catch
        return false
    end
end

function Logging.min_enabled_level(a::AsyncFileLogger)
    try
        return min(min_level(a), Logging.Debug)
    catch
        return Logging.Debug
    end
end

Logging.catch_exceptions(a::AsyncFileLogger) = true

function Logging.handle_message(a::AsyncFileLogger, level, message, _module, group, id,
                                file, line; kwargs...)
    try
        log_seed_record(a, level, message, _module, group, id, file, line, kwargs)
    catch err
        failed(a.logger, err, level, message)
    end
    return nothing
end

"""
The body of `handle_message` for `AsyncFileLogger` (which catches what this throws): the
level and user-message filter, then the engine's formatting or the formatter's lines.
"""
function log_seed_record(a::AsyncFileLogger, level, message, _module, group, id, file, line, kwargs)
    lg = a.logger
    lvl = convert(LogLevel, level)
    if !(lvl >= min_level(a) || (a.user_messages && is_user_message(kwargs)) ||
         env_debug(group, _module))
        return nothing
    end
    if a.formatter === default_formatter
        log_record(lg, lvl, message, _module, group, id, file, line, kwargs)
        return nothing
    end
    n = engine_level(lvl)
    takes(lg, n, group, _module, id, kwargs) || return nothing
    msg = LogMessage(lvl, value_text(message, lg.max_bytes), _module isa Module ? _module : Main,
                     message_symbol(group), message_symbol(id),
                     file === nothing ? "" : string(file),
                     line isa Integer ? Int(line) : 0,
                     Dict{Symbol,Any}(k => v for (k, v) in kwargs if k !== :maxlog), now())
    text = try
        string(a.formatter(msg))
    catch err
        Threads.atomic_add!(lg.errors, 1)
        report(lg, "a formatter failed", err, string("written as: ", fallback_format(msg)))
        fallback_format(msg)
    end
    write_text(lg, n, text)
    return nothing
end

"The line written for a record whose formatter threw."
fallback_format(msg::LogMessage) =
    string(Dates.format(msg.timestamp, "yyyy-mm-dd HH:MM:SS"), " ", msg.level, " ", msg.message)

message_symbol(s::Symbol) = s
message_symbol(::Nothing) = Symbol("")
message_symbol(s) = Symbol(s)

Base.flush(a::AsyncFileLogger; timeout::Real=Inf) = flush(a.logger; timeout=timeout)
Base.close(a::AsyncFileLogger; timeout::Real=Inf) = close(a.logger; timeout=timeout)
Base.isopen(a::AsyncFileLogger) = isopen(a.logger)
stats(a::AsyncFileLogger) = stats(a.logger)
state(a::AsyncFileLogger) = state(a.logger)

"""
    close_async_logger(logger; timeout=5.0) -> Bool

Closes the logger, waiting at most `timeout` seconds for its queue to drain (the old
logger's shutdown). Returns `false` and prints a warning on stderr when the time ran out
(the writer then finishes in the background: `ALog.state(logger) == :draining`; calling
`close_async_logger` again waits for it again). Once closed, closing again returns `true`.
"""
function close_async_logger(a::AsyncFileLogger; timeout::Real=5.0)
    try
        close(a.logger; timeout=timeout)
    catch e
        e isa ALogError && e.code == ALOG_ERR_TIMEOUT || rethrow()
        println(stderr, "Warning: async logger shutdown timeout: ", a.filepath,
                " is still being written in the background")
        return false
    end
    return true
end

"""
    get_logger_stats(logger) -> NamedTuple

The old logger's fields, followed by the counters of `ALog.stats`:
`channel_size`; `messages_queued` (records in the queue); `is_active` (takes records);
`task_state` (`:runnable` while the writer still has work for this logger, also while it
drains after a timed-out close, `:done` once closed); `file_open` (`isopen`).
"""
function get_logger_stats(a::AsyncFileLogger)
    s = stats(a.logger)
    return merge((channel_size = a.channel_size, messages_queued = s.queue_len,
                  is_active = s.state === :open,
                  task_state = s.state === :closed ? :done : :runnable,
                  file_open = s.state !== :closed), s)
end

# ---------------------------------------------------------------------------------------
# The application's two loggers

"Keyword arguments of a log call that the full format leaves out of its context."
const FULL_EXCLUDED = (:is_user_message, :progress_active)

"Continuation lines of a message or value are indented, so that only a block starts a line."
indent_lines(s::AbstractString) = replace(s, '\n' => "\n    ")

"""
    simplified_format(msg::LogMessage) -> String

`[yyyy-mm-dd HH:MM:SS] message`, the local time of the call.
"""
simplified_format(msg::LogMessage) =
    string("[", Dates.format(msg.timestamp, "yyyy-mm-dd HH:MM:SS"), "] ", indent_lines(msg.message))

"""
    full_format(msg::LogMessage) -> String

The full logger's block, a header with local time to the millisecond, level, module and
source, then the message, the context (keyword arguments other than `is_user_message` and
`progress_active`; none: no `Context:` line) and a rule; it ends with a newline, so blocks
are separated by an empty line:

    [2026-12-03 04:05:06.789] [Info] [Main] [app.jl:12]
      Message: Search started
      Context:
        files: 3
      ------------------------------------------------------------

"""
function full_format(msg::LogMessage)
    io = IOBuffer()
    println(io, "[", Dates.format(msg.timestamp, "yyyy-mm-dd HH:MM:SS.sss"), "] [", msg.level,
            "] [", msg._module, "] [", basename(msg.file), ":", msg.line, "]")
    println(io, "  Message: ", indent_lines(msg.message))
    context = [(k, v) for (k, v) in msg.kwargs if !(k in FULL_EXCLUDED)]
    if !isempty(context)
        println(io, "  Context:")
        for (k, v) in context
            println(io, "    ", k, ": ", indent_lines(value_text(v)))
        end
    end
    println(io, "  ", "-"^60)
    return String(take!(io))
end

"""
The old application's `LoggingConfig` settings for its async loggers, read from `config`
when it has them (`async_channel_size`, `async_flush_interval`, `async_flush_count`,
`async_overflow_policy`), else the defaults.
"""
function seed_settings(config, channel_size::Int)
    get_setting(name, default) =
        config !== nothing && hasproperty(config, name) ? getproperty(config, name) : default
    return (channel_size = get_setting(:async_channel_size, channel_size),
            flush_interval = get_setting(:async_flush_interval, FLUSH_INTERVAL),
            flush_count = get_setting(:async_flush_count, FLUSH_MESSAGE_COUNT),
            overflow_policy = get_setting(:async_overflow_policy, :block))
end

"""
    create_simplified_logger(filepath, config=nothing; kwargs...) -> AsyncFileLogger

The application's "simplified" log: records at `Info` and above, and records below `Info`
that carry `is_user_message = true`, as `[yyyy-mm-dd HH:MM:SS] message` lines (local time);
a queue of 10000 records. `config` is the old `LoggingConfig` (its `async_*` settings are
used when present) and may be left out; `kwargs` are engine keys.
"""
function create_simplified_logger(filepath::AbstractString, config=nothing; kwargs...)
    s = seed_settings(config, 10000)
    return open_seed_logger(filepath, Logging.Info, simplified_format, s.channel_size,
                            s.overflow_policy, true, s.flush_interval, s.flush_count,
                            values(kwargs))
end

"""
    create_full_logger(filepath, config=nothing; kwargs...) -> AsyncFileLogger

The application's "full" log: every record from `LogLevel(-2000)` up, as the multi-line
block of `full_format`; a queue of 50000 records. `config` and `kwargs` as for
`create_simplified_logger`.
"""
function create_full_logger(filepath::AbstractString, config=nothing; kwargs...)
    s = seed_settings(config, 50000)
    return open_seed_logger(filepath, LogLevel(-2000), full_format, s.channel_size,
                            s.overflow_policy, false, s.flush_interval, s.flush_count,
                            values(kwargs))
end
