# The ALog.jl test suite: real loggers writing real files through libalog
# (ENV["ALOG_LIB"] or the workspace's target/release build).

using ALog
using Dates
using Logging
using LoggingExtras
using Test

const LL = ALog.LibALog
const TS = raw"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"
const HERE = string(@__MODULE__)

"What follows `before`, an RFC 3339 timestamp and `after` at the start of `line`."
function after_timestamp(line::AbstractString, before::AbstractString, after::AbstractString)
    m = match(Regex("^" * before * TS * after * "(.*)\$"), line)
    m === nothing && error("no timestamp at the start of $(repr(line))")
    return String(m.captures[1])
end

"A text line without its leading timestamp and space."
body(line::AbstractString) = after_timestamp(line, "", " ")

"A JSON line without its leading ts member."
json_body(line::AbstractString) = after_timestamp(line, "\\{\"ts\":\"", "\",")

"The exception `f()` throws, or `nothing`."
function thrown(f)
    try
        f()
    catch err
        return err
    end
    return nothing
end

"Asserts the accounting identity of a stats snapshot and returns it."
function consistent(s)
    @test s.submitted == s.written + s.dropped + s.failed + s.pending
    return s
end

const DIR = mktempdir()
newpath(name) = joinpath(DIR, name)

const STDERR_FILES = Ref(0)

"What `f()` prints on stderr (ALog's reports, `[DROPPED]` lines), and its result."
function with_stderr(f)
    STDERR_FILES[] += 1
    path = newpath("stderr-$(STDERR_FILES[]).txt")
    result = open(path, "w") do io
        redirect_stderr(f, io)
    end
    return read(path, String), result
end

"Calls `handle_message` the way a log macro does, with no source location."
log_plain(lg, level, msg; kwargs...) =
    Logging.handle_message(lg, level, msg, nothing, nothing, nothing, nothing, nothing; kwargs...)

"A value whose printing throws."
struct Unprintable end
Base.show(io::IO, ::Unprintable) = error("cannot print")

# The seed's application code, as it stands in its plan (`LoggingSystem.jl`), with stand-ins
# for the two application types it mentions: it must run unchanged on ALog.
struct WarningCapturingLogger end

struct LoggingConfig
    async_channel_size::Int
    async_flush_interval::Float64
    async_flush_count::Int
    async_overflow_policy::Symbol
end

struct LoggerState
    warning_logger::WarningCapturingLogger
    console_logger::Ref{AbstractLogger}
    simplified_logger::Union{Nothing, AsyncFileLogger}  # Now AsyncFileLogger
    full_logger::Union{Nothing, AsyncFileLogger}        # Now AsyncFileLogger
    config::LoggingConfig
    start_time::DateTime
end

const LOGGER_STATE = Ref{Union{Nothing,LoggerState}}(nothing)

function finalize_logging()
    state = LOGGER_STATE[]
    if state === nothing
        return
    end

    # ... existing warning handling ...

    # Close async file loggers with proper shutdown
    if state.simplified_logger !== nothing && isa(state.simplified_logger, AsyncFileLogger)
        close_async_logger(state.simplified_logger)
    end
    if state.full_logger !== nothing && isa(state.full_logger, AsyncFileLogger)
        close_async_logger(state.full_logger)
    end

    # Reset global state
    LOGGER_STATE[] = nothing
    global_logger(ConsoleLogger())
end

@testset "ALog" begin

@testset "library and raw layer" begin
    v = ALog.version()
    @test v == VersionNumber(LL.ALOG_VERSION_MAJOR, LL.ALOG_VERSION_MINOR, LL.ALOG_VERSION_PATCH)
    # The structs have the C layout (x86-64 / aarch64 LP64).
    @test sizeof(LL.alog_field) == 64
    @test sizeof(LL.alog_record) == 120
    @test sizeof(LL.alog_stats) == 21 * 8
    @test fieldoffset(LL.alog_record, 9) == 64    # line
    @test fieldoffset(LL.alog_field, 5) == 24     # i64 after kind and reserved
    @test ALog.result_string(LL.ALOG_ERR_CLOSED) == "logger is closed"
    @test ALog.result_string(99) == "unknown result code"

    # Straight through the raw layer: conf, errors, open, write, close, stats.
    conf = LL.alog_conf_new()
    @test conf != C_NULL
    err = zeros(UInt8, 256)
    @test LL.alog_conf_set(conf, "overflow", "sometimes", err, length(err)) == LL.ALOG_ERR_INVALID
    @test ALog.errstr(err) ==
          "invalid value \"sometimes\" for overflow: expected block|drop_newest|drop_oldest|warn"
    @test LL.alog_conf_set(conf, "format", "json", err, length(err)) == LL.ALOG_OK
    path = newpath("raw.log")
    out = Ref{Ptr{LL.alog_logger}}(C_NULL)
    @test LL.alog_open(path, conf, out, err, length(err)) == LL.ALOG_OK
    LL.alog_conf_free(conf)
    lg = out[]
    @test LL.alog_level_enabled(lg, LL.ALOG_LEVEL_INFO) == 1
    @test LL.alog_level_enabled(lg, LL.ALOG_LEVEL_DEBUG) == 0
    msg = "raw hello"
    @test LL.alog_write(lg, LL.ALOG_LEVEL_WARN, msg, sizeof(msg)) == LL.ALOG_OK
    @test LL.alog_write(lg, Int32(0), msg, sizeof(msg)) == LL.ALOG_ERR_INVALID
    @test LL.alog_flush(lg, UInt32(5000)) == LL.ALOG_OK
    @test LL.alog_close(lg, LL.ALOG_TIMEOUT_INFINITE) == LL.ALOG_OK
    @test LL.alog_close(lg, LL.ALOG_TIMEOUT_INFINITE) == LL.ALOG_ERR_CLOSED
    @test LL.alog_write(lg, LL.ALOG_LEVEL_WARN, msg, sizeof(msg)) == LL.ALOG_ERR_CLOSED
    st = Ref{LL.alog_stats}()
    @test LL.alog_get_stats(lg, st) == LL.ALOG_OK
    @test (st[].submitted, st[].written, st[].pending) == (1, 1, 0)
    @test st[].reserved == ntuple(_ -> UInt64(0), 8)
    buf = zeros(UInt8, 64)
    @test LL.alog_last_error(lg, buf, length(buf)) == LL.ALOG_OK
    @test ALog.errstr(buf) == ""
    lines = readlines(path)
    @test length(lines) == 1
    @test json_body(lines[1]) == "\"level\":\"WARN\",\"msg\":\"raw hello\"}"
end

@testset "library path" begin
    @test endswith(LL.default_library_path(), joinpath("target", "release", "libalog." * Base.Libc.Libdl.dlext))
    @test isabspath(LL.default_library_path())
    missing_lib = joinpath(DIR, "no-such-libalog.so")
    e = withenv(() -> thrown(LL.find_library), "ALOG_LIB" => missing_lib)
    @test e isa ErrorException
    @test occursin(missing_lib, e.msg)
    @test occursin("cargo build --release -p alog-ffi", e.msg)
    @test occursin("ALOG_LIB", e.msg)
    # The library in use is a file that exists.
    @test isfile(LL.libalog())
end

@testset "level mapping" begin
    @test ALog.engine_level(Logging.Debug) == LL.ALOG_LEVEL_DEBUG
    @test ALog.engine_level(Logging.Info) == LL.ALOG_LEVEL_INFO
    @test ALog.engine_level(Logging.Warn) == LL.ALOG_LEVEL_WARN
    @test ALog.engine_level(Logging.Error) == LL.ALOG_LEVEL_ERROR
    @test ALog.engine_level(LogLevel(3000)) == LL.ALOG_LEVEL_FATAL
    @test ALog.engine_level(LogLevel(-2000)) == LL.ALOG_LEVEL_TRACE
    @test ALog.engine_level(Logging.BelowMinLevel) == 1
    @test ALog.engine_level(Logging.AboveMaxLevel) == 24
    @test ALog.engine_level(LogLevel(500)) == 11
    @test ALog.engine_level(LogLevel(-1)) == 8
    @test ALog.engine_level(LogLevel(999)) == 12
    @test ALog.engine_level(LogLevel(-1500)) == 3
    @test all(n -> ALog.engine_level(ALog.julia_level(n)) == n, 1:24)
    @test ALog.julia_level(9) == Logging.Info
    @test ALog.julia_level(5) == Logging.Debug
    @test ALog.julia_level(17) == Logging.Error
    levels = -5000:10:5000
    mapped = [ALog.engine_level(LogLevel(l)) for l in levels]
    @test issorted(mapped)
    @test all(l -> ALog.julia_level(ALog.engine_level(LogLevel(l))) <= LogLevel(l), -2000:3750)
end

@testset "round trip: text record with source, module and fields" begin
    path = newpath("text.log")
    lg = ALog.Logger(path; level=Logging.Debug)
    @test isopen(lg)
    Logging.handle_message(lg, Logging.Info, "hello", ALog, :grp, :myid, "file.jl", 42; a=1, who="ann b")
    Logging.handle_message(lg, Logging.Warn, "no source", nothing, nothing, nothing, nothing, nothing)
    Logging.handle_message(lg, Logging.Debug, "line\nbreak", Main, :g, :i, "f.jl", 1)
    ln = Ref(0)
    with_logger(lg) do
        ln[] = @__LINE__() + 1
        @info "macro call" user = "ann" n = 3
    end
    flush(lg)
    lines = readlines(path)
    @test length(lines) == 4
    @test body(lines[1]) == "INFO hello source=file.jl:42 func=ALog a=1 who=\"ann b\" _group=grp _id=myid"
    @test body(lines[2]) == "WARN no source"
    @test body(lines[3]) == "DEBUG line\\nbreak source=f.jl:1 func=Main _group=g _id=i"
    m = match(r"^INFO macro call source=(.+):(\d+) func=(\S+) user=ann n=3 _group=runtests _id=\S+$",
              body(lines[4]))
    @test m !== nothing
    if m !== nothing
        @test endswith(strip(m.captures[1], '"'), "runtests.jl")
        @test parse(Int, m.captures[2]) == ln[]
        @test m.captures[3] == HERE
    end
    close(lg)
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.written, s.dropped, s.failed, s.pending) == (4, 4, 0, 0, 0)
    @test s.bytes_written == filesize(path)
end

@testset "reopen after the file was moved away" begin
    path = newpath("reopen.log")
    lg = ALog.Logger(path)
    with_logger(lg) do
        @info "before"
    end
    flush(lg)
    mv(path, path * ".1")
    ALog.reopen(lg)
    with_logger(lg) do
        @info "after"
    end
    close(lg)
    @test length(readlines(path * ".1")) == 1
    after = readlines(path)
    @test length(after) == 1
    @test occursin("INFO after", after[1])
    @test_throws ALogError ALog.reopen(lg)
end

@testset "maxlog limits a log statement, as in Julia's own loggers" begin
    path = newpath("maxlog.log")
    lg = ALog.Logger(path)
    with_logger(lg) do
        for i in 1:5
            @info "at most twice" i maxlog = 2
            @info "every time" i
        end
    end
    close(lg)
    lines = [first(split(body(l), " source=")) * " " * split(body(l), " func=$(HERE) ")[2] for l in readlines(path)]
    @test length(lines) == 7
    @test count(l -> startswith(l, "INFO at most twice"), lines) == 2
    @test count(l -> startswith(l, "INFO every time"), lines) == 5
    @test !any(l -> occursin("maxlog", l), lines)
    @test startswith(lines[1], "INFO at most twice i=1 _group=runtests")
end

@testset "typed fields in JSON" begin
    path = newpath("typed.json")
    lg = ALog.Logger(path; format="json")
    Logging.handle_message(lg, Logging.Error, "typed", Main, :g, :i, "f.jl", 7;
                           i=-5, u=UInt8(7), f=1.5, b=true, s="quo\"te", sym=:abc, c='x',
                           v=[1, 2], n=nothing, big=big(2)^70, ex=ErrorException("boom"),
                           nan=NaN)
    close(lg)
    lines = readlines(path)
    @test length(lines) == 1
    @test json_body(lines[1]) ==
          "\"level\":\"ERROR\",\"msg\":\"typed\"," *
          "\"source\":{\"file\":\"f.jl\",\"line\":7,\"function\":\"Main\"}," *
          "\"i\":-5,\"u\":7,\"f\":1.5,\"b\":true,\"s\":\"quo\\\"te\",\"sym\":\"abc\",\"c\":\"x\"," *
          "\"v\":\"[1, 2]\",\"n\":\"nothing\",\"big\":\"1180591620717411303424\",\"ex\":\"boom\"," *
          "\"nan\":\"NaN\",\"_group\":\"g\",\"_id\":\"i\"}"
end

@testset "exception with backtrace as a field" begin
    path = newpath("exception.log")
    lg = ALog.Logger(path)
    try
        error("kaput")
    catch err
        with_logger(lg) do
            @error "failed" exception = (err, catch_backtrace())
        end
    end
    close(lg)
    lines = readlines(path)
    @test length(lines) == 1
    @test occursin(r"^ERROR failed source=.* exception=\"kaput\\nStacktrace:", body(lines[1]))
end

@testset "levels reach the engine" begin
    path = newpath("levels.log")
    lg = ALog.Logger(path; level=Logging.BelowMinLevel)
    for l in (Logging.Debug, Logging.Info, Logging.Warn, Logging.Error, LogLevel(500),
              LogLevel(-1500), LogLevel(3000), LogLevel(-2000))
        Logging.handle_message(lg, l, "at $(l.level)", nothing, nothing, nothing, nothing, nothing)
    end
    close(lg)
    @test body.(readlines(path)) == ["DEBUG at -1000", "INFO at 0", "WARN at 1000",
                                     "ERROR at 2000", "INFO3 at 500", "TRACE3 at -1500",
                                     "FATAL at 3000", "TRACE at -2000"]
end

@testset "shouldlog, min_enabled_level, set_level!" begin
    path = newpath("filter.log")
    lg = ALog.Logger(path; level=Logging.Info)
    # At most Debug: Julia caches it at install time, set_level! must still open the logger.
    @test Logging.min_enabled_level(lg) == Logging.Debug
    @test !Logging.shouldlog(lg, Logging.Debug, Main, :g, :i)
    @test Logging.shouldlog(lg, Logging.Info, Main, :g, :i)
    @test Logging.catch_exceptions(lg)
    with_logger(lg) do
        @debug "dropped before the engine"
        @info "kept"
    end
    ALog.set_level!(lg, Logging.Debug)
    @test Logging.min_enabled_level(lg) == Logging.Debug
    @test Logging.shouldlog(lg, Logging.Debug, Main, :g, :i)
    with_logger(lg) do
        @debug "now kept"
    end
    ALog.set_level!(lg, Logging.Error)
    @test Logging.min_enabled_level(lg) == Logging.Debug
    @test !Logging.shouldlog(lg, Logging.Warn, Main, :g, :i)
    with_logger(lg) do
        @warn "below error"
    end
    close(lg)
    @test [first(split(body(l), " source=")) for l in readlines(path)] == ["INFO kept", "DEBUG now kept"]
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.written) == (2, 2)

    # A file sink with a lower level opens the logger to that level.
    lg2 = ALog.Logger(newpath("filter-main.log"); level=Logging.Warn,
                      files=(detail=(path=newpath("filter-detail.log"), level=Logging.Debug),))
    @test Logging.min_enabled_level(lg2) == Logging.Debug
    @test Logging.shouldlog(lg2, Logging.Debug, Main, :g, :i)
    close(lg2)
end

@testset "configuration errors name the key" begin
    e = thrown(() -> ALog.Logger(newpath("bad.log"); overflow="sometimes"))
    @test e isa ALogError
    @test e.code == LL.ALOG_ERR_INVALID
    @test e.message == "invalid value \"sometimes\" for overflow: expected block|drop_newest|drop_oldest|warn"
    @test occursin("invalid argument or configuration", sprint(showerror, e))

    e = thrown(() -> ALog.Logger(newpath("bad.log"); colour="red"))
    @test e isa ALogError && occursin("unknown configuration key \"colour\"", e.message)

    e = thrown(() -> ALog.Logger(newpath("bad.log"); config=["console.level" => "loud"]))
    @test e isa ALogError && occursin("console.level", e.message)

    e = thrown(() -> ALog.Logger(newpath("bad.log"); files=(x=(level="info",),)))
    @test e isa ALogError && occursin("file.x.path is required", e.message)

    notadir = newpath("regular-file")
    write(notadir, "x")
    e = thrown(() -> ALog.Logger(joinpath(notadir, "app.log")))
    @test e isa ALogError && e.code == LL.ALOG_ERR_IO

    @test_throws ArgumentError ALog.Logger(newpath("nul\0.log"))
    @test !isfile(newpath("bad.log"))
end

@testset "engine keys as keyword arguments" begin
    path = newpath("sync.log")
    lg = ALog.Logger(path; sync=true, pattern="{level}|{msg}{fields}", max_message_bytes=80)
    Logging.handle_message(lg, Logging.Info, "immediate", nothing, nothing, nothing, nothing, nothing)
    @test ALog.stats(lg).written == 1            # sync mode: written by the call itself
    @test readlines(path) == ["INFO|immediate"]
    # Longer than max_message_bytes: shortened to fit (9 bytes of record overhead), never thrown.
    @test thrown(() -> log_plain(lg, Logging.Info, "x"^200)) === nothing
    close(lg)
    @test readlines(path) == ["INFO|immediate", "INFO|" * "x"^68 * "…"]
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.written, s.errors) == (2, 2, 0)
end

@testset "close is idempotent; stats after close; writing after close throws" begin
    path = newpath("close.log")
    lg = ALog.Logger(path)
    with_logger(lg) do
        for i in 1:100
            @info "record" i
        end
    end
    close(lg)
    @test !isopen(lg)
    close(lg)                      # second close: no error
    close(lg; timeout=1)
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.written, s.pending) == (100, 100, 0)
    @test length(readlines(path)) == 100
    # Logging after close: no exception, shouldlog says no, the call is counted.
    @test !Logging.shouldlog(lg, Logging.Error, Main, :g, :i)
    @test thrown(() -> log_plain(lg, Logging.Info, "late")) === nothing
    with_logger(lg) do
        @error "filtered by shouldlog"
    end
    s = ALog.stats(lg)
    @test (s.closed_drops, s.errors, s.submitted, s.state) == (1, 0, 100, :closed)
    @test length(readlines(path)) == 100
    @test_throws ALogError flush(lg)
    @test_throws ArgumentError close(ALog.Logger(newpath("t.log")); timeout=-1)
    @test ALog.last_error(lg) == ""
    @test occursin("closed", sprint(show, lg))
end

@testset "finalizer closes a forgotten logger" begin
    path = newpath("finalized.log")
    lg = ALog.Logger(path)
    Logging.handle_message(lg, Logging.Info, "not closed by hand", nothing, nothing, nothing, nothing, nothing)
    finalize(lg)                    # what the GC does with an unreachable logger
    @test ALog.state(lg) in (:draining, :closed)
    close(lg)                       # waits for a drain the finalizer left running
    @test !isopen(lg)
    @test body.(readlines(path)) == ["INFO not closed by hand"]
    close(lg)                       # still idempotent
end

@testset "seed's two loggers as one alog logger with two file sinks" begin
    simplified = newpath("simplified.log")
    full = newpath("full.json")
    lg = ALog.Logger(simplified; level=Logging.Info, pattern="[{ts}] {msg}",
                     batch_size=100, batch_timeout_ms=1000,
                     files=(full=(path=full, level=Logging.Debug, format="json"),))
    with_logger(lg) do
        @debug "debug detail" k = 1
        @info "user message"
        @warn "careful" n = 2
    end
    close(lg)
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.written) == (3, 3)
    simple = readlines(simplified)
    @test length(simple) == 2
    @test occursin(Regex("^\\[" * TS * "\\] user message\$"), simple[1])
    @test occursin(Regex("^\\[" * TS * "\\] careful\$"), simple[2])
    detail = json_body.(readlines(full))
    @test length(detail) == 3
    @test startswith(detail[1], "\"level\":\"DEBUG\",\"msg\":\"debug detail\",\"source\":{\"file\":")
    @test occursin("\"function\":\"$(HERE)\"},\"k\":1,\"_group\":\"runtests\",\"_id\":", detail[1])
    @test startswith(detail[2], "\"level\":\"INFO\",\"msg\":\"user message\"")
    @test startswith(detail[3], "\"level\":\"WARN\",\"msg\":\"careful\"")
    @test occursin("\"n\":2,", detail[3])
end

@testset "seed interface: AsyncFileLogger" begin
    # The seed's own unit tests.
    path = newpath("test.log")
    logger = create_async_file_logger(path, Logging.Info)
    @test logger isa AsyncFileLogger
    @test logger isa AbstractLogger
    Logging.handle_message(logger, Logging.Info, "Test message", @__MODULE__, :test, :id, "file.jl", 1)
    @test close_async_logger(logger)
    @test occursin("Test message", read(path, String))
    @test body(only(readlines(path))) == "INFO Test message source=file.jl:1 func=$(HERE) _group=test _id=id"

    path2 = newpath("test2.log")
    logger = create_async_file_logger(path2, Logging.Debug)
    for i in 1:10000
        Logging.handle_message(logger, Logging.Info, "Message $i", @__MODULE__, :test, :id, "file.jl", i)
    end
    @test close_async_logger(logger)
    lines = readlines(path2)
    @test length(lines) == 10000
    @test count(l -> occursin("Message", l), lines) == 10000
    @test all(i -> occursin("Message $i source=file.jl:$i ", lines[i]), 1:10000)
    st = get_logger_stats(logger)
    @test (st.submitted, st.written, st.dropped) == (10000, 10000, 0)

    path3 = newpath("test3.log")
    logger = create_async_file_logger(path3, Logging.Info; channel_size=10, overflow_policy=:drop)
    for i in 1:100
        Logging.handle_message(logger, Logging.Info, "Flood $i", @__MODULE__, :test, :id, "file.jl", i)
    end
    @test close_async_logger(logger)
    st = consistent(get_logger_stats(logger))
    @test st.channel_size == 10 && st.queue_capacity == 10
    @test st.written + st.dropped == 100
    @test length(readlines(path3)) == st.written
    @test_throws ArgumentError create_async_file_logger(newpath("x.log"), Logging.Info; overflow_policy=:sometimes)
end

@testset "seed interface: formatters, LogMessage, min_level, stats" begin
    path = newpath("formatted.log")
    fmt = msg -> "[$(Dates.format(msg.timestamp, "yyyy-mm-dd HH:MM:SS"))] $(msg.message)"
    logger = create_async_file_logger(path, Logging.Info; formatter=fmt, channel_size=10000)
    st = get_logger_stats(logger)
    @test st.channel_size == 10000
    @test st.is_active && st.file_open && st.task_state === :runnable
    with_logger(logger) do
        @debug "below min level"
        @info "hello"
        @warn "two\nlines\ttab"
    end
    @test close_async_logger(logger)
    @test close_async_logger(logger)               # twice: nothing to do
    lines = readlines(path)
    @test length(lines) == 3
    @test occursin(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] hello$", lines[1])
    # Each line of the formatter's text is a line of the file; other control characters
    # are escaped.
    @test occursin(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] two$", lines[2])
    @test lines[3] == "lines\\ttab"
    st = get_logger_stats(logger)
    @test !st.is_active && !st.file_open && st.task_state === :done
    @test st.messages_queued == 0 && st.pending == 0

    # Every LogMessage field reaches the formatter.
    path = newpath("fields.log")
    seen = LogMessage[]
    fields = function (msg::LogMessage)
        push!(seen, msg)
        return join([string(msg.level), string(msg._module), string(msg._group), string(msg.id),
                     msg.file, string(msg.line), string(msg.kwargs[:k])], "|")
    end
    logger = create_async_file_logger(path, Logging.Debug; formatter=fields)
    Logging.handle_message(logger, Logging.Warn, "m", Main, :test, :myid, "file.jl", 12; k=42)
    Logging.handle_message(logger, Logging.Info, "m", nothing, nothing, nothing, nothing, nothing; k=0)
    close_async_logger(logger)
    @test readlines(path) == ["Warn|Main|test|myid|file.jl|12|42", "Info|Main||||0|0"]
    @test length(seen) == 2
    @test seen[1].message == "m" && seen[1].timestamp isa DateTime
    @test abs(Dates.value(now() - seen[1].timestamp)) < 60_000
    @test fieldnames(LogMessage) == (:level, :message, :_module, :_group, :id, :file, :line, :kwargs, :timestamp)
    @test ALog.default_formatter(seen[1]) == "m"

    # min_level is honoured exactly, also between the engine's grades.
    logger = create_async_file_logger(newpath("minlevel.log"), LogLevel(-1100))
    @test !Logging.shouldlog(logger, LogLevel(-1200), Main, :g, :i)
    @test Logging.shouldlog(logger, LogLevel(-1100), Main, :g, :i)
    @test Logging.min_enabled_level(logger) == LogLevel(-1100)
    close(logger)
    @test !isopen(logger)
    @test !Logging.shouldlog(logger, Logging.Error, Main, :g, :i)
end

@testset "TeeLogger, EarlyFilteredLogger, with_logger" begin
    a, b = newpath("tee-a.log"), newpath("tee-b.log")
    la = ALog.Logger(a)
    lb = ALog.Logger(b; level=Logging.Warn)
    tee = TeeLogger(la, EarlyFilteredLogger(log -> log.group !== :skip, lb))
    with_logger(tee) do
        @info "info to a only"
        @warn "warn to both"
        @error "error to a only" _group = :skip
    end
    close(la)
    close(lb)
    @test [first(split(body(l), " source=")) for l in readlines(a)] ==
          ["INFO info to a only", "WARN warn to both", "ERROR error to a only"]
    @test [first(split(body(l), " source=")) for l in readlines(b)] == ["WARN warn to both"]
end

@testset "several Julia threads log at once" begin
    path = newpath("threads.log")
    lg = ALog.Logger(path; format="json")
    n = 4000
    with_logger(lg) do
        Threads.@threads for i in 1:n
            @info "from thread" i tid = Threads.threadid()
        end
    end
    tasks = [Threads.@spawn Logging.handle_message(lg, Logging.Info, "spawned", Main, :g, :i, "t.jl", k) for k in 1:200]
    foreach(wait, tasks)
    close(lg)
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.written, s.dropped) == (n + 200, n + 200, 0)
    lines = readlines(path)
    @test length(lines) == n + 200
    got = Int[]
    for l in lines
        m = match(r"\"msg\":\"from thread\".*\"i\":(\d+),", l)
        m === nothing || push!(got, parse(Int, m.captures[1]))
    end
    @test sort(got) == collect(1:n)
    @test count(l -> occursin("\"msg\":\"spawned\"", l), lines) == 200
end


@testset "a log call never throws: failures are counted and reported on stderr" begin
    # A logger from another process (a global of a precompiled package): refused, reported.
    path = newpath("stale.log")
    lg = ALog.Logger(path)
    own = lg.session
    lg.session = own + 1
    @test !Logging.shouldlog(lg, Logging.Error, Main, :g, :i)
    err, _ = with_stderr() do
        for i in 1:50
            log_plain(lg, Logging.Info, "stale $i")
        end
    end
    # Rate limited: one report for 50 failures, naming the problem and the record.
    @test count("ALog: a record could not be logged (\"$(path)\"): StaleLoggerError", err) == 1
    @test occursin("StaleLoggerError", err) && occursin("__init__", err)
    @test occursin("the record: INFO stale 1", err)
    @test lg.errors[] == 50
    @test_throws StaleLoggerError flush(lg)
    @test_throws StaleLoggerError ALog.stats(lg)
    sleep(1.1)
    err, _ = with_stderr(() -> log_plain(lg, Logging.Warn, "stale again"))
    @test occursin("the record: WARN stale again", err)
    @test occursin("(49 more failures since the last report)", err)
    lg.session = own
    close(lg)
    s = consistent(ALog.stats(lg))
    @test (s.submitted, s.errors, s.closed_drops) == (0, 51, 0)
    @test !isfile(path) || isempty(readlines(path))

    # A formatter that throws: the record is still written (fallback line), the error counted.
    # Inside a TeeLogger, the logger after it still gets the record.
    path = newpath("bad-formatter.log")
    bad = create_async_file_logger(path, Logging.Info; formatter = msg -> error("formatter bug"))
    after = ALog.Logger(newpath("after-bad-formatter.log"))
    err, _ = with_stderr() do
        with_logger(TeeLogger(bad, after)) do
            @info "survives" k = 1
        end
    end
    close(after)
    @test occursin(r"^INFO survives source=\S+ func=\S+ k=1 ", body(only(readlines(newpath("after-bad-formatter.log")))))
    @test occursin("ALog: a formatter failed (\"$(path)\"): formatter bug", err)
    @test occursin(r"the record: written as: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} Info survives", err)
    @test close_async_logger(bad)
    lines = readlines(path)
    @test length(lines) == 1
    @test occursin(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} Info survives$", lines[1])
    @test get_logger_stats(bad).errors == 1

    # A value whose printing throws becomes a note; the record is written.
    path = newpath("unprintable.log")
    lg = ALog.Logger(path)
    log_plain(lg, Logging.Info, "odd value"; v = Unprintable())
    close(lg)
    @test occursin(r"^INFO odd value v=\"#= error printing a value of type .*Unprintable: ErrorException =#\"$",
                   body(only(readlines(path))))

    # Inside a TeeLogger the loggers after a closed one still get every record.
    a, b = newpath("tee-closed-a.log"), newpath("tee-closed-b.log")
    la, lb = ALog.Logger(a), ALog.Logger(b)
    close(la)
    with_logger(TeeLogger(la, lb)) do
        @info "only b"
    end
    close(lb)
    @test !isfile(a) || isempty(readlines(a))
    @test [first(split(body(l), " source=")) for l in readlines(b)] == ["INFO only b"]

    # Installed as the global logger and closed: log calls are silently dropped.
    old = global_logger(ALog.Logger(newpath("global-closed.log")))
    try
        close(global_logger())
        @test thrown(() -> @error "after close") === nothing
    finally
        global_logger(old)
    end
end

@testset "set_level! and JULIA_DEBUG reach installed loggers" begin
    path = newpath("installed.log")
    lg = ALog.Logger(path; level = Logging.Info)
    with_logger(lg) do
        @debug "hidden"
        ALog.set_level!(lg, Logging.Debug)      # after with_logger cached min_enabled_level
        @debug "shown"
        ALog.set_level!(lg, Logging.Warn)
        @info "hidden too"
        @warn "warned"
    end
    old = global_logger(lg)
    try
        ALog.set_level!(lg, Logging.Debug)
        @debug "global debug"
    finally
        global_logger(old)
    end
    close(lg)
    @test [first(split(body(l), " source=")) for l in readlines(path)] ==
          ["DEBUG shown", "WARN warned", "DEBUG global debug"]

    # JULIA_DEBUG names a group: its Debug records pass an Info logger, others do not.
    path = newpath("julia-debug.log")
    lg = ALog.Logger(path; level = Logging.Info)
    withenv("JULIA_DEBUG" => "alogdebug") do
        with_logger(lg) do
            @debug "named" _group = :alogdebug k = 1
            @debug "not named"
            @info "info"
        end
        @test Logging.shouldlog(lg, Logging.Debug, Main, :alogdebug, :i)
        @test !Logging.shouldlog(lg, Logging.Debug, Main, :other, :i)
    end
    @test !Logging.shouldlog(lg, Logging.Debug, Main, :alogdebug, :i)
    log_plain(lg, Logging.Debug, "direct debug, not named")
    close(lg)
    lines = [first(split(body(l), " source=")) for l in readlines(path)]
    @test lines == ["DEBUG named", "INFO info"]
    @test occursin(" k=1 _group=alogdebug ", body(readlines(path)[1]))
    @test ALog.stats(lg).submitted == 2

    # The seed's logger: set_level! too.
    path = newpath("seed-level.log")
    a = create_async_file_logger(path, Logging.Warn; formatter = msg -> msg.message)
    with_logger(a) do
        @info "no"
        ALog.set_level!(a, Logging.Info)
        @info "yes"
    end
    close_async_logger(a)
    @test readlines(path) == ["yes"]
end

@testset "values are shown limited and records fit max_message_bytes" begin
    path = newpath("limits.json")
    lg = ALog.Logger(path; format = "json")
    log_plain(lg, Logging.Info, "big values"; v = collect(1:100_000), s = "x"^100_000,
              d = Dict(i => i for i in 1:10_000))
    close(lg)
    line = only(readlines(path))
    @test sizeof(line) < ALog.VALUE_BYTES + 4000
    m = match(r"\"v\":\"(\[1, 2, 3.*)\",\"s\"", line)
    @test m !== nothing && occursin("…", m.captures[1]) && occursin("100000]", m.captures[1])
    m = match(r"\"s\":\"(x*)…\"", line)
    @test m !== nothing && length(m.captures[1]) == ALog.VALUE_BYTES - 3
    @test ALog.stats(lg).written == 1

    # The whole record fits the engine's limit: the long texts share what is left equally.
    path = newpath("fit.json")
    lg = ALog.Logger(path; format = "json", max_message_bytes = 200)
    log_plain(lg, Logging.Info, "m"^300; a = "y"^300, b = 1)
    close(lg)
    @test json_body(only(readlines(path))) ==
          "\"level\":\"INFO\",\"msg\":\"" * "m"^80 * "…\",\"a\":\"" * "y"^80 * "…\",\"b\":1}"
    s = consistent(ALog.stats(lg))
    @test (s.written, s.errors) == (1, 0)

    # Without a max_message_bytes setting the engine's default applies: a 2 MiB message is
    # cut to it, and the engine accepts it (a mismatch would be counted in errors).
    path = newpath("default-limit.log")
    lg = ALog.Logger(path; pattern = "{msg}")
    log_plain(lg, Logging.Info, "z"^(2 << 20))
    close(lg)
    @test ALog.stats(lg).errors == 0
    @test sizeof(only(readlines(path))) == ALog.DEFAULT_MAX_MESSAGE_BYTES - 9

    # ALog.truncate_text keeps whole characters.
    @test ALog.truncate_text("ééé", 6) == "ééé"
    @test ALog.truncate_text("éééé", 6) == "é…"
    @test ALog.truncate_text("abc", 2) == ""
    @test ALog.common_cap([10, 300, 300], 200) == 95
end

@testset "the seed's two loggers" begin
    simplified, full = newpath("seed-simplified.txt"), newpath("seed-full.txt")
    simp = create_simplified_logger(simplified)
    fl = create_full_logger(full)
    @test simp isa AsyncFileLogger && fl isa AsyncFileLogger
    @test get_logger_stats(simp).channel_size == 10000
    @test get_logger_stats(fl).channel_size == 50000
    ln = Ref(0)
    with_logger(TeeLogger(simp, fl)) do
        ln[] = @__LINE__() + 1
        @debug "debug detail" k = 1
        @info "Search started" files = 3 progress_active = true
        @debug "note for the user" is_user_message = true
        @warn "two\nlines"
    end
    @test close_async_logger(simp) && close_async_logger(fl)

    stamp = raw"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\]"
    s = readlines(simplified)
    @test length(s) == 4
    @test occursin(Regex("^" * stamp * " Search started\$"), s[1])
    @test occursin(Regex("^" * stamp * " note for the user\$"), s[2])
    @test occursin(Regex("^" * stamp * " two\$"), s[3])
    @test s[4] == "    lines"

    f = readlines(full)
    head(level, n) = Regex("^\\[\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}\\] \\[" * level *
                           "\\] \\[" * HERE * "\\] \\[runtests\\.jl:" * string(ln[] + n) * "\\]\$")
    rule = "  " * "-"^60
    @test length(f) == 21
    @test occursin(head("Debug", 0), f[1])
    @test f[2:6] == ["  Message: debug detail", "  Context:", "    k: 1", rule, ""]
    @test occursin(head("Info", 1), f[7])
    @test f[8:12] == ["  Message: Search started", "  Context:", "    files: 3", rule, ""]
    @test occursin(head("Debug", 2), f[13])
    @test f[14:16] == ["  Message: note for the user", rule, ""]
    @test occursin(head("Warn", 3), f[17])
    @test f[18:21] == ["  Message: two", "    lines", rule, ""]

    # The seed's LoggingConfig settings and its LoggerState / finalize_logging code.
    config = LoggingConfig(123, 0.5, 7, :drop)
    st = LoggerState(WarningCapturingLogger(), Ref{AbstractLogger}(ConsoleLogger()),
                     create_simplified_logger(newpath("state-simplified.txt"), config),
                     create_full_logger(newpath("state-full.txt"), config), config, now())
    @test get_logger_stats(st.simplified_logger).channel_size == 123
    @test st.full_logger.overflow_policy === :drop
    LOGGER_STATE[] = st
    with_logger(TeeLogger(st.simplified_logger, st.full_logger)) do
        @info "from the application"
    end
    finalize_logging()
    @test LOGGER_STATE[] === nothing
    @test !isopen(st.simplified_logger) && !isopen(st.full_logger)
    @test occursin(Regex("^" * stamp * " from the application\$"),
                   only(readlines(newpath("state-simplified.txt"))))
    @test readlines(newpath("state-full.txt"))[2] == "  Message: from the application"
end

"Logs `Flood 1` .. `Flood n` to `a` and closes it: what stderr got, and the final stats."
function flood(a, n)
    err, _ = with_stderr() do
        for i in 1:n
            Logging.handle_message(a, Logging.Info, "Flood $i", Main, :g, :id, "f.jl", i)
        end
        close_async_logger(a)
    end
    return err, consistent(get_logger_stats(a))
end

@testset "overflow :stderr prints each dropped record" begin
    n = 20_000
    path = newpath("stderr-policy.log")
    a = create_async_file_logger(path, Logging.Info; channel_size = 1, overflow_policy = :stderr)
    err, st = flood(a, n)
    @test st.dropped > 0
    @test st.written + st.dropped == n
    dropped = [parse(Int, m.captures[1]) for m in eachmatch(r"^\[DROPPED\] INFO Flood (\d+) _group=g _id=id$"m, err)]
    @test length(dropped) == st.dropped
    written = [parse(Int, match(r"INFO Flood (\d+) ", l).captures[1]) for l in readlines(path)]
    @test length(written) == st.written
    @test sort(vcat(dropped, written)) == collect(1:n)

    # With a formatter, the formatted line is what stderr gets.
    path = newpath("stderr-policy-fmt.log")
    a = create_async_file_logger(path, Logging.Info; channel_size = 1, overflow_policy = :stderr,
                                 formatter = msg -> "F " * msg.message)
    err, st = flood(a, n)
    @test count("[DROPPED] F Flood ", err) == st.dropped
    @test length(readlines(path)) == st.written
end

@testset "a close that timed out: draining, then closed by a later close" begin
    n = 50_000
    path = newpath("timeout-close.log")
    lg = ALog.Logger(path; queue_capacity = 1024)
    for i in 1:n
        log_plain(lg, Logging.Info, "record $i")
    end
    # The queue is full (overflow=block kept it so): no writer drains 1024 records in 0 ms.
    e = thrown(() -> close(lg; timeout = 0))
    @test e isa ALogError && e.code == LL.ALOG_ERR_TIMEOUT
    st = ALog.state(lg)
    @test st in (:draining, :closed)
    @test isopen(lg) == (st === :draining)
    @test !Logging.shouldlog(lg, Logging.Error, Main, :g, :i)
    log_plain(lg, Logging.Info, "refused")
    g = get_logger_stats(create_async_file_logger(newpath("unused.log"), Logging.Info))
    @test g.is_active && g.task_state === :runnable && g.file_open
    s = consistent(ALog.stats(lg))
    @test s.closed_drops == 1
    @test s.state !== :closed || s.pending == 0
    close(lg)                                   # waits for the drain
    s = consistent(ALog.stats(lg))
    @test (s.state, s.pending, s.written, s.submitted) == (:closed, 0, n, n)
    @test !isopen(lg)
    @test length(readlines(path)) == n
    close(lg; timeout = 0)                      # closed: nothing to do, no error
end

@testset "a logger stored in a precompiled global is refused, not used" begin
    # A package whose top level opens a logger: precompiled in one process, loaded in another.
    pkgs = mktempdir()
    mkpath(joinpath(pkgs, "StaleDemo", "src"))
    write(joinpath(pkgs, "StaleDemo", "Project.toml"), """
        name = "StaleDemo"
        uuid = "6f1e2d3c-4b5a-4968-8776-655443322110"
        [deps]
        ALog = "$(Base.PkgId(ALog).uuid)"
        """)
    write(joinpath(pkgs, "StaleDemo", "src", "StaleDemo.jl"), """
        module StaleDemo
        using ALog
        const LOG = ALog.Logger(ENV["STALE_LOG"])
        end
        """)
    logpath = newpath("stale-global.log")
    script = """
        using StaleDemo, ALog, Logging
        with_logger(StaleDemo.LOG) do
            @info "through the macro"
        end
        Logging.handle_message(StaleDemo.LOG, Logging.Info, "direct", Main, :g, :i, "f.jl", 1)
        print(StaleDemo.LOG.errors[], " ", ALog.state(StaleDemo.LOG))
        """
    # The folder holding ALog/ (julia/ of the repository) serves ALog itself.
    load_path = join([pkgs, dirname(dirname(dirname(pathof(ALog)))), "@stdlib"], ":")
    cmd = addenv(`$(Base.julia_cmd()) --startup-file=no -e $script`,
                 "JULIA_LOAD_PATH" => load_path, "STALE_LOG" => logpath,
                 "ALOG_LIB" => LL.libalog(), "JULIA_PROJECT" => nothing)
    errpath = newpath("stale-global-stderr.txt")
    out = read(pipeline(cmd; stderr = errpath), String)
    stderr_text = read(errpath, String)
    @test out == "1 closed"
    @test occursin("StaleLoggerError", stderr_text) && occursin("__init__", stderr_text)
    @test !isfile(logpath) || isempty(readlines(logpath))
end

@testset "blocking calls are GC-safe" begin
    # (Parsed from a string: only the raw layer spells out ccalls.)
    call = "@gcsafe ccall((:alog_flush, libalog()), Int32, (Ptr{alog_logger}, UInt32), C_NULL, UInt32(0))"
    text = string(macroexpand(LL, Meta.parse(call); recursive = false))
    @test LL.CCALL_GC_SAFE ? occursin("gc_safe", text) : occursin("jl_gc_safe_enter", text)
    # A NULL handle through the GC-safe path: the C boundary answers, nothing crashes.
    @test LL.alog_flush(C_NULL, UInt32(0)) == LL.ALOG_ERR_NULL
    @test LL.alog_close(C_NULL, UInt32(0)) == LL.ALOG_OK
    # Another thread collecting garbage while this one waits in close.
    path = newpath("gcsafe.log")
    lg = ALog.Logger(path)
    for i in 1:10_000
        log_plain(lg, Logging.Info, "r $i")
    end
    t = Threads.@spawn (GC.gc(); true)
    close(lg)
    @test fetch(t)
    @test length(readlines(path)) == 10_000
end

end # @testset "ALog"
