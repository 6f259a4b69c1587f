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
    @test Logging.min_enabled_level(lg) == Logging.Info
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
    @test Logging.min_enabled_level(lg) == Logging.Error
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
    e = thrown(() -> Logging.handle_message(lg, Logging.Info, "x"^200, nothing, nothing, nothing, nothing, nothing))
    @test e isa ALogError && e.code == LL.ALOG_ERR_TOO_LARGE
    close(lg)
    @test readlines(path) == ["INFO|immediate"]
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
    e = thrown(() -> Logging.handle_message(lg, Logging.Info, "late", nothing, nothing, nothing, nothing, nothing))
    @test e isa ALogError && e.code == LL.ALOG_ERR_CLOSED
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
        @warn "two\nlines"
    end
    @test close_async_logger(logger)
    @test close_async_logger(logger)               # twice: nothing to do
    lines = readlines(path)
    @test length(lines) == 2
    @test occursin(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] hello$", lines[1])
    @test endswith(lines[2], "] two\\nlines")      # one call is one line
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

end # @testset "ALog"
