# The interface of the AsyncFileLogger that ALog replaces, so that an application switches
# by changing one `using`. The channel, writer task, periodic flush and drain of the old
# logger are alog's queue, writer thread, batches and close; its settings become engine
# configuration:
#
#   channel_size                   queue_capacity
#   flush every 1 s or 100 msgs    batch_size = 100, batch_timeout_ms = 1000
#   overflow :block (10 ms wait)   overflow = block, block_timeout_ms = 10 (then dropped, counted)
#   overflow :drop                 overflow = drop_newest
#   overflow :stderr               overflow = warn (dropped, counted, notice on stderr)
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
or `id` that is not a `Symbol` is converted with `Symbol(...)`.
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

The old logger's type, now a thin wrapper of an `ALog.Logger`: `filepath`, `min_level`,
`formatter` and `channel_size` as before, `logger` the engine logger.
"""
struct AsyncFileLogger <: AbstractLogger
    filepath::String
    min_level::LogLevel
    formatter::Function
    channel_size::Int
    logger::Logger
end

const OVERFLOW_POLICIES = Dict(:block => "block", :drop => "drop_newest", :stderr => "warn")

"""
    create_async_file_logger(filepath, min_level; formatter=default_formatter,
                             channel_size=DEFAULT_CHANNEL_SIZE, overflow_policy=:block,
                             kwargs...) -> AsyncFileLogger

Opens `filepath` for appending through alog: records at `min_level` and above, a queue of
`channel_size` records, written every `FLUSH_MESSAGE_COUNT` records or `FLUSH_INTERVAL`
seconds. A custom `formatter(msg::LogMessage)::String` runs on the calling task and its
result is the whole line in the file (alog escapes newlines: one call is one line).
`overflow_policy` is the old `:block` (wait up to 10 ms, then drop), `:drop` or `:stderr`;
further keyword arguments are engine configuration keys as for `ALog.Logger`.
"""
function create_async_file_logger(filepath::AbstractString, min_level::LogLevel;
                                  formatter::Function=default_formatter,
                                  channel_size::Integer=DEFAULT_CHANNEL_SIZE,
                                  overflow_policy::Symbol=:block, kwargs...)
    overflow = get(OVERFLOW_POLICIES, overflow_policy, nothing)
    if overflow === nothing
        throw(ArgumentError("overflow_policy must be :block, :drop or :stderr, got " *
                            repr(overflow_policy)))
    end
    seed = (level = min_level, queue_capacity = channel_size, batch_size = FLUSH_MESSAGE_COUNT,
            batch_timeout_ms = round(Int, FLUSH_INTERVAL * 1000), overflow = overflow)
    if overflow_policy === :block
        seed = merge(seed, (block_timeout_ms = 10,))
    end
    if formatter !== default_formatter
        seed = merge(seed, (pattern = "{msg}",))
    end
    lg = Logger(filepath; seed..., kwargs...)
    return AsyncFileLogger(String(filepath), min_level, formatter, Int(channel_size), lg)
end

Logging.shouldlog(a::AsyncFileLogger, level, _module, group, id) =
    level >= a.min_level && Logging.shouldlog(a.logger, level, _module, group, id)

Logging.min_enabled_level(a::AsyncFileLogger) =
    max(a.min_level, Logging.min_enabled_level(a.logger))

Logging.catch_exceptions(a::AsyncFileLogger) = true

function Logging.handle_message(a::AsyncFileLogger, level, message, _module, group, id,
                                file, line; kwargs...)
    if a.formatter === default_formatter
        return Logging.handle_message(a.logger, level, message, _module, group, id, file, line;
                                      kwargs...)
    end
    within_maxlog(a.logger, id, get(kwargs, :maxlog, nothing)) || return nothing
    msg = LogMessage(level, string(message), _module === nothing ? Main : _module,
                     message_symbol(group), message_symbol(id),
                     file === nothing ? "" : string(file),
                     line isa Integer ? Int(line) : 0,
                     Dict{Symbol,Any}(kwargs), now())
    write_line(a.logger, level, string(a.formatter(msg)))
    return nothing
end

message_symbol(s::Symbol) = s
message_symbol(::Nothing) = Symbol("")
message_symbol(s) = Symbol(s)

Base.flush(a::AsyncFileLogger; timeout::Real=Inf) = flush(a.logger; timeout=timeout)
Base.close(a::AsyncFileLogger; timeout::Real=Inf) = close(a.logger; timeout=timeout)
Base.isopen(a::AsyncFileLogger) = isopen(a.logger)
stats(a::AsyncFileLogger) = stats(a.logger)

"""
    close_async_logger(logger; timeout=5.0) -> Bool

Closes the logger, waiting at most `timeout` seconds for its queue to drain (the old
logger's shutdown). Returns `false` and prints a warning on stderr when the time ran out
(the writer then finishes in the background). Closing twice does nothing.
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

The old logger's fields (`channel_size`, `messages_queued`, `is_active`, `task_state`,
`file_open`) followed by the engine's counters (see `ALog.stats`).
"""
function get_logger_stats(a::AsyncFileLogger)
    s = stats(a.logger)
    active = isopen(a.logger)
    return merge((channel_size = a.channel_size, messages_queued = s.queue_len,
                  is_active = active, task_state = active ? :runnable : :done,
                  file_open = active), s)
end
