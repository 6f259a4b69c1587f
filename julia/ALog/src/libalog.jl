"""
    ALog.LibALog

The raw layer over `include/alog.h`: the header's constants, its structs with the same
field names, order and types, and one function per C function holding that function's only
`ccall`. Arguments and results are exactly the C ones (result codes are `Int32`, strings
are pointers); the Julian layer in `logger.jl` builds on this module.

`scripts/check-julia.py` checks this file against the header: every C function is called
here exactly once, with the same number of arguments and matching types, every struct has
the header's fields and every constant the header's value; the calls that can block
(`alog_write`, `alog_write_record`, `alog_flush`, `alog_close`) run through `@gcsafe`.

None of these functions calls back into Julia. `alog_conf_add_callback` and
`alog_conf_set_error_callback` take C function pointers that alog calls on its own writer
thread: pass only C functions that never enter Julia (never a `@cfunction` of a Julia
function).
"""
module LibALog

# ---------------------------------------------------------------------------------------
# Constants (values as in include/alog.h)

const ALOG_VERSION_MAJOR = 0
const ALOG_VERSION_MINOR = 1
const ALOG_VERSION_PATCH = 0

const ALOG_LEVEL_TRACE = Int32(1)
const ALOG_LEVEL_DEBUG = Int32(5)
const ALOG_LEVEL_INFO = Int32(9)
const ALOG_LEVEL_WARN = Int32(13)
const ALOG_LEVEL_ERROR = Int32(17)
const ALOG_LEVEL_FATAL = Int32(21)

const ALOG_TIMEOUT_INFINITE = typemax(UInt32)

"""`alog_record.timestamp_ns` of a record written without a timestamp."""
const ALOG_TIMESTAMP_NONE = typemin(Int64)

const ALOG_FIELD_STRING = Int32(1)
const ALOG_FIELD_INT = Int32(2)
const ALOG_FIELD_UINT = Int32(3)
const ALOG_FIELD_FLOAT = Int32(4)
const ALOG_FIELD_BOOL = Int32(5)
const ALOG_FIELD_JSON = Int32(6)

const ALOG_OK = Int32(0)
const ALOG_ERR_NULL = Int32(1)
const ALOG_ERR_INVALID = Int32(2)
const ALOG_ERR_FULL = Int32(3)
const ALOG_ERR_TIMEOUT = Int32(4)
const ALOG_ERR_CLOSED = Int32(5)
const ALOG_ERR_IO = Int32(6)
const ALOG_ERR_PANIC = Int32(7)
const ALOG_ERR_TOO_LARGE = Int32(8)

# ---------------------------------------------------------------------------------------
# Types

"""Opaque configuration handle (`alog_conf *`); only ever used behind a `Ptr`."""
mutable struct alog_conf end

"""Opaque logger handle (`alog_logger *`); only ever used behind a `Ptr`."""
mutable struct alog_logger end

"""One key/value field of a structured record (`alog_field`)."""
struct alog_field
    key::Ptr{UInt8}
    key_len::Csize_t
    kind::Int32
    reserved::UInt32
    i64::Int64
    u64::UInt64
    f64::Float64
    str::Ptr{UInt8}
    str_len::Csize_t
end

"""A structured record for `alog_write_record` (`alog_record`)."""
struct alog_record
    level::Int32
    timestamp_ns::Int64
    msg::Ptr{UInt8}
    msg_len::Csize_t
    fields::Ptr{alog_field}
    n_fields::Csize_t
    file::Ptr{UInt8}
    file_len::Csize_t
    line::UInt32
    func::Ptr{UInt8}
    func_len::Csize_t
    reserved::NTuple{4,UInt64}
end

"""The counters of a logger (`alog_stats`)."""
struct alog_stats
    submitted::UInt64
    written::UInt64
    dropped::UInt64
    failed::UInt64
    pending::UInt64
    queue_len::UInt64
    queue_capacity::UInt64
    queue_peak::UInt64
    batches::UInt64
    bytes_written::UInt64
    write_errors::UInt64
    rotations::UInt64
    writer_restarts::UInt64
    reserved::NTuple{8,UInt64}
end

"""One sink's counters (`alog_sink_stats`)."""
struct alog_sink_stats
    name::NTuple{64,Cchar}
    target::NTuple{256,Cchar}
    taken::UInt64
    written::UInt64
    dropped::UInt64
    failed::UInt64
    write_errors::UInt64
    bytes_written::UInt64
    backlog::UInt64
    backlog_peak::UInt64
    last_error::NTuple{256,Cchar}
    reserved::NTuple{8,UInt64}
end

# ---------------------------------------------------------------------------------------
# Where the library is

const _LIBPATH = Ref{String}("")

"""
    default_library_path() -> String

`target/release/libalog.<ext>` of the workspace this package sits in (`julia/ALog` inside
the alog repository).
"""
function default_library_path()
    root = normpath(joinpath(@__DIR__, "..", "..", ".."))
    name = Sys.iswindows() ? "alog.dll" : "libalog." * Base.Libc.Libdl.dlext
    return joinpath(root, "target", "release", name)
end

"""
    find_library() -> String

The path of libalog: `ENV["ALOG_LIB"]` when set, else the workspace's release build. Throws
an error that says how to build the library when the file does not exist.
"""
function find_library()
    fromenv = get(ENV, "ALOG_LIB", "")
    path = isempty(fromenv) ? default_library_path() : fromenv
    if !isfile(path)
        where = isempty(fromenv) ? "the workspace's release build folder" : "ALOG_LIB"
        error("ALog: libalog not found at $(path) ($(where)). Build it with " *
              "`cargo build --release -p alog-ffi` in the alog repository, or set " *
              "ENV[\"ALOG_LIB\"] to the path of libalog before the first call.")
    end
    return path
end

"""
    libalog() -> String

The library path every `ccall` below loads from, found once (see `find_library`).
"""
function libalog()
    path = _LIBPATH[]
    if isempty(path)
        path = find_library()
        _LIBPATH[] = path
    end
    return path
end

# ---------------------------------------------------------------------------------------
# Blocking calls in a GC-safe region

"""
Whether this Julia's `@ccall` takes `gc_safe = true` (Julia 1.12 and later, and the 1.13
development versions that have it).
"""
const CCALL_GC_SAFE = VERSION >= v"1.13.0-DEV.70" || v"1.12-DEV.2029" <= VERSION < v"1.13-"

"`Ref{T}` as the pointer type a converted argument has (`Ptr{T}`); other types unchanged."
as_pointer_type(t) = Meta.isexpr(t, :curly) && t.args[1] === :Ref ? Expr(:curly, :Ptr, t.args[2:end]...) : t

"""
    @gcsafe ccall((:name, lib), ReturnType, (ArgTypes...,), args...)

Runs a `ccall` that may block (a flush, a close, a write waiting for room in the queue) in
a GC-safe region: while the thread waits inside libalog, Julia's garbage collector may run
on the other threads instead of waiting for this one to reach a safepoint. Valid only for C
functions that never call back into Julia, which holds for all of libalog.

On Julia 1.12 and later this is `@ccall gc_safe = true`. On older versions the arguments are
converted first (conversion may allocate, which a GC-safe thread must not), then the call
runs between `jl_gc_safe_enter` and `jl_gc_safe_leave` with the converted values kept alive.
"""
macro gcsafe(ex)
    if !(Meta.isexpr(ex, :call) && ex.args[1] === :ccall && length(ex.args) >= 4 &&
         Meta.isexpr(ex.args[4], :tuple) && length(ex.args[4].args) == length(ex.args) - 4)
        throw(ArgumentError("@gcsafe takes ccall((:name, lib), ReturnType, (ArgTypes...,), args...)"))
    end
    target, rettype, argtypes = ex.args[2], ex.args[3], ex.args[4].args
    values = ex.args[5:end]
    if CCALL_GC_SAFE
        if !(Meta.isexpr(target, :tuple) && length(target.args) == 2 && target.args[1] isa QuoteNode)
            throw(ArgumentError("@gcsafe needs a (:name, library) target"))
        end
        fname, lib = target.args[1].value, target.args[2]
        typed = [Expr(:(::), v, t) for (v, t) in zip(values, argtypes)]
        call = Expr(:(::), Expr(:call, Expr(:., lib, QuoteNode(fname)), typed...), rettype)
        return esc(Expr(:macrocall, Symbol("@ccall"), __source__, Expr(:(=), :gc_safe, true), call))
    end
    kept = [gensym("kept") for _ in values]
    raw = [gensym("arg") for _ in values]
    body = Expr(:block)
    for (k, t, v) in zip(kept, argtypes, values)
        push!(body.args, :($k = Base.cconvert($t, $v)))
    end
    for (r, t, k) in zip(raw, argtypes, kept)
        push!(body.args, :($r = Base.unsafe_convert($t, $k)))
    end
    inner = Expr(:call, :ccall, target, rettype, Expr(:tuple, map(as_pointer_type, argtypes)...), raw...)
    state, result = gensym("gc_state"), gensym("result")
    push!(body.args, Expr(:macrocall, Expr(:., :GC, QuoteNode(Symbol("@preserve"))), __source__, kept...,
                          quote
                              $state = ccall(:jl_gc_safe_enter, Int8, ())
                              $result = $inner
                              ccall(:jl_gc_safe_leave, Cvoid, (Int8,), $state)
                              $result
                          end))
    return esc(body)
end

# ---------------------------------------------------------------------------------------
# Functions: one ccall per function of include/alog.h, in the header's order.

"""`const char *alog_version(void)`: a static string."""
function alog_version()
    return ccall((:alog_version, libalog()), Cstring, ())
end

"""`alog_conf *alog_conf_new(void)`: `C_NULL` only when memory is exhausted."""
function alog_conf_new()
    return ccall((:alog_conf_new, libalog()), Ptr{alog_conf}, ())
end

"""`alog_result alog_conf_set(conf, key, value, errstr, errstr_size)`."""
function alog_conf_set(conf, key, value, errstr, errstr_size)
    return ccall((:alog_conf_set, libalog()), Int32,
                 (Ptr{alog_conf}, Cstring, Cstring, Ptr{UInt8}, Csize_t),
                 conf, key, value, errstr, errstr_size)
end

"""
`alog_result alog_conf_add_callback(conf, callback, userdata, min_level, format, errstr,
errstr_size)`. `callback` is a C function pointer called on alog's writer thread: never a
`@cfunction` of Julia code. `format` may be `C_NULL`.
"""
function alog_conf_add_callback(conf, callback, userdata, min_level, format, errstr, errstr_size)
    return ccall((:alog_conf_add_callback, libalog()), Int32,
                 (Ptr{alog_conf}, Ptr{Cvoid}, Ptr{Cvoid}, Int32, Ptr{UInt8}, Ptr{UInt8}, Csize_t),
                 conf, callback, userdata, min_level, format, errstr, errstr_size)
end

"""
`alog_result alog_conf_set_error_callback(conf, callback, userdata)`: as
`alog_conf_add_callback`, a C function pointer only (`C_NULL` removes it).
"""
function alog_conf_set_error_callback(conf, callback, userdata)
    return ccall((:alog_conf_set_error_callback, libalog()), Int32,
                 (Ptr{alog_conf}, Ptr{Cvoid}, Ptr{Cvoid}),
                 conf, callback, userdata)
end

"""`void alog_conf_free(alog_conf *conf)`: `C_NULL` is a no-op."""
function alog_conf_free(conf)
    return ccall((:alog_conf_free, libalog()), Cvoid, (Ptr{alog_conf},), conf)
end

"""
`alog_result alog_open(path, conf, out, errstr, errstr_size)`. `path` is a `String` or
`C_NULL` (no main file); `out` a `Ref{Ptr{alog_logger}}`.
"""
function alog_open(path, conf, out, errstr, errstr_size)
    return ccall((:alog_open, libalog()), Int32,
                 (Ptr{UInt8}, Ptr{alog_conf}, Ref{Ptr{alog_logger}}, Ptr{UInt8}, Csize_t),
                 path, conf, out, errstr, errstr_size)
end

"""
`alog_result alog_write(lg, level, msg, len)`: `len` bytes at `msg` are copied. Waits for
room under `overflow=block`, GC-safe.
"""
function alog_write(lg, level, msg, len)
    return @gcsafe ccall((:alog_write, libalog()), Int32,
                 (Ptr{alog_logger}, Int32, Ptr{UInt8}, Csize_t),
                 lg, level, msg, len)
end

"""
`alog_result alog_write_record(lg, rec)`: `rec` is a `Ref{alog_record}` whose pointers the
caller keeps valid (`GC.@preserve`) during the call. Waits for room under `overflow=block`,
GC-safe.
"""
function alog_write_record(lg, rec)
    return @gcsafe ccall((:alog_write_record, libalog()), Int32,
                 (Ptr{alog_logger}, Ref{alog_record}),
                 lg, rec)
end

"""`alog_result alog_flush(lg, timeout_ms)`: blocks the calling thread, GC-safe."""
function alog_flush(lg, timeout_ms)
    return @gcsafe ccall((:alog_flush, libalog()), Int32, (Ptr{alog_logger}, UInt32), lg, timeout_ms)
end

"""
`alog_result alog_close(lg, timeout_ms)`: drains, then the handle answers only stats; blocks
the calling thread (timeout 0: returns at once, the writer drains in the background), GC-safe.
"""
function alog_close(lg, timeout_ms)
    return @gcsafe ccall((:alog_close, libalog()), Int32, (Ptr{alog_logger}, UInt32), lg, timeout_ms)
end

"""`alog_result alog_get_stats(lg, out)`: `out` is a `Ref{alog_stats}`."""
function alog_get_stats(lg, out)
    return ccall((:alog_get_stats, libalog()), Int32,
                 (Ptr{alog_logger}, Ref{alog_stats}),
                 lg, out)
end

"""`alog_result alog_reopen(lg)`: reopen the files before the next batch (after logrotate)."""
function alog_reopen(lg)
    return ccall((:alog_reopen, libalog()), Int32, (Ptr{alog_logger},), lg)
end

"""`alog_result alog_set_level(lg, level)`."""
function alog_set_level(lg, level)
    return ccall((:alog_set_level, libalog()), Int32, (Ptr{alog_logger}, Int32), lg, level)
end

"""`int alog_level_enabled(lg, level)`: 1 or 0, one atomic load."""
function alog_level_enabled(lg, level)
    return ccall((:alog_level_enabled, libalog()), Cint, (Ptr{alog_logger}, Int32), lg, level)
end

"""`alog_result alog_last_error(lg, buf, size)`."""
function alog_last_error(lg, buf, size)
    return ccall((:alog_last_error, libalog()), Int32,
                 (Ptr{alog_logger}, Ptr{UInt8}, Csize_t),
                 lg, buf, size)
end

"""`const char *alog_result_str(alog_result r)`: a static string, never NULL."""
function alog_result_str(r)
    return ccall((:alog_result_str, libalog()), Cstring, (Int32,), r)
end

"""`const char *alog_result_name(alog_result r)`: "ALOG_OK", "ALOG_ERR_NULL", ...; never NULL."""
function alog_result_name(r)
    return ccall((:alog_result_name, libalog()), Cstring, (Int32,), r)
end

"""`alog_result alog_sink_count(lg, out)`: `out` is a `Ref{Csize_t}`."""
function alog_sink_count(lg, out)
    return ccall((:alog_sink_count, libalog()), Int32, (Ptr{alog_logger}, Ref{Csize_t}), lg, out)
end

"""`alog_result alog_get_sink_stats(lg, index, out)`: `out` is a `Ref{alog_sink_stats}`."""
function alog_get_sink_stats(lg, index, out)
    return ccall((:alog_get_sink_stats, libalog()), Int32,
                 (Ptr{alog_logger}, Csize_t, Ref{alog_sink_stats}),
                 lg, index, out)
end

"""
`alog_result alog_add_sink(lg, sink, name, name_size, errstr, errstr_size)`: adds the one sink
`sink` (an `alog_conf`) defines; its name goes to `name` (may be `C_NULL`). Opens a file or a
connection: runs `@gcsafe`.
"""
function alog_add_sink(lg, sink, name, name_size, errstr, errstr_size)
    return @gcsafe ccall((:alog_add_sink, libalog()), Int32,
                         (Ptr{alog_logger}, Ptr{alog_conf}, Ptr{UInt8}, Csize_t, Ptr{UInt8}, Csize_t),
                         lg, sink, name, name_size, errstr, errstr_size)
end

"""
`alog_result alog_remove_sink(lg, name, timeout_ms, errstr, errstr_size)`: writes to the sink
what came before, then removes and closes it; blocks like `alog_flush`.
"""
function alog_remove_sink(lg, name, timeout_ms, errstr, errstr_size)
    return @gcsafe ccall((:alog_remove_sink, libalog()), Int32,
                         (Ptr{alog_logger}, Cstring, UInt32, Ptr{UInt8}, Csize_t),
                         lg, name, timeout_ms, errstr, errstr_size)
end

"""`void alog_sink_fail(reason)`: inside a callback sink, fail the record it is writing."""
function alog_sink_fail(reason)
    return ccall((:alog_sink_fail, libalog()), Cvoid, (Cstring,), reason)
end

"""`alog_result alog_set_writer_threads(n)`: the most writer threads of the process (1..16)."""
function alog_set_writer_threads(n)
    return ccall((:alog_set_writer_threads, libalog()), Int32, (UInt32,), n)
end

end # module LibALog
