# Keyword arguments of a log call -> typed alog_field values, and the size limits.
#
# Julia values keep their type where alog has one: Bool -> BOOL, signed integers -> INT,
# unsigned integers -> UINT (both when they fit 64 bits), floats -> FLOAT; strings, symbols
# and characters are STRING; an exception, Julia's `exception = (err, backtrace)` pair and
# `current_exceptions()` are what `showerror` prints, backtrace included, as `ConsoleLogger`
# shows them; every other value is printed with `:limit => true` (a large array shows its
# first and last elements). No text is longer than `VALUE_BYTES`, and `fit!` shortens a
# record's strings so that the whole record never passes the engine's `max_message_bytes`.
# The engine formats and escapes them (text `key=value`, JSON typed members).

using .LibALog: alog_field, ALOG_FIELD_STRING, ALOG_FIELD_INT, ALOG_FIELD_UINT,
    ALOG_FIELD_FLOAT, ALOG_FIELD_BOOL

"Longest text of one keyword value or non-string message, in bytes, before `fit!`."
const VALUE_BYTES = 32 * 1024

"The engine's default `max_message_bytes` (the C ABI has no call that reads a setting back)."
const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20

"What ends a shortened text."
const ELLIPSIS = "…"

"""
    Field(key, kind, i64, u64, f64, str)

One field of a record under construction; `str` is the value of a STRING field and `""`
for numbers. The `String`s stay referenced here, so keeping the vector alive
(`GC.@preserve`) keeps every pointer of `alog_field` valid.
"""
struct Field
    key::String
    kind::Int32
    i64::Int64
    u64::UInt64
    f64::Float64
    str::String
end

number_field(key, kind, i::Int64, u::UInt64, f::Float64) = Field(key, kind, i, u, f, "")
string_field(key, s::String) = Field(key, ALOG_FIELD_STRING, 0, 0, 0.0, s)

"The C view of a field; valid while `f` is preserved."
c_field(f::Field) = alog_field(pointer(f.key), sizeof(f.key), f.kind, 0, f.i64, f.u64, f.f64,
                               f.kind == ALOG_FIELD_STRING ? pointer(f.str) : C_NULL,
                               f.kind == ALOG_FIELD_STRING ? sizeof(f.str) : 0)

"""
    truncate_text(s, n) -> String

`s` when it has at most `n` bytes, else its longest prefix of whole characters that leaves
room for `ELLIPSIS`, followed by `ELLIPSIS` (at most `n` bytes in all).
"""
function truncate_text(s::AbstractString, n::Integer)
    str = String(s)
    sizeof(str) <= n && return str
    n <= 0 && return ""
    room = n - sizeof(ELLIPSIS)
    room < 0 && return ""
    i = thisind(str, room + 1)      # the character that does not fit any more
    return string(SubString(str, 1, prevind(str, i)), ELLIPSIS)
end

"How a value is printed as text (see the top of this file)."
print_value(io::IO, v) = print(io, v)
print_value(io::IO, v::Exception) = showerror(io, v)
print_value(io::IO, v::Tuple{Exception,Any}) = showerror(io, v[1], v[2]; backtrace = v[2] !== nothing)
print_value(io::IO, v::Base.ExceptionStack) = show(io, MIME"text/plain"(), v)

"""
    value_text(v, limit=VALUE_BYTES) -> String

`v` as text of at most `limit` bytes, printed with `:limit => true` into a buffer that
stops growing at the limit (a huge value never builds a huge string). A value whose
printing throws becomes a note naming its type and the error: it never throws.
"""
function value_text(v, limit::Integer=VALUE_BYTES)
    v isa AbstractString && return truncate_text(v, limit)
    buf = IOBuffer(; maxsize = limit + sizeof(ELLIPSIS) + 1, sizehint = 64)
    try
        print_value(IOContext(buf, :limit => true, :displaysize => (24, 80)), v)
    catch err
        return truncate_text(string("#= error printing a value of type ", typeof(v), ": ",
                                    typeof(err), " =#"), limit)
    end
    return truncate_text(String(take!(buf)), limit)
end

"""
    make_field(key, value) -> Field

One typed field; `key` is a `Symbol` or a string.
"""
make_field(key, value) = typed_field(truncate_text(string(key), VALUE_BYTES), value)

typed_field(key::String, v::Bool) = number_field(key, ALOG_FIELD_BOOL, Int64(v), UInt64(0), 0.0)

function typed_field(key::String, v::Signed)
    if typemin(Int64) <= v <= typemax(Int64)
        return number_field(key, ALOG_FIELD_INT, Int64(v), UInt64(0), 0.0)
    end
    return string_field(key, value_text(v))
end

function typed_field(key::String, v::Unsigned)
    if v <= typemax(UInt64)
        return number_field(key, ALOG_FIELD_UINT, Int64(0), UInt64(v), 0.0)
    end
    return string_field(key, value_text(v))
end

typed_field(key::String, v::Union{Float16,Float32,Float64}) =
    number_field(key, ALOG_FIELD_FLOAT, Int64(0), UInt64(0), Float64(v))
typed_field(key::String, v::Union{Symbol,AbstractChar}) = string_field(key, value_text(string(v)))
typed_field(key::String, v) = string_field(key, value_text(v))

"""
    record_bytes(msg, fields, src, func) -> Int

The size the engine gives a structured record when it checks `max_message_bytes` (the
encoding of `alog_write_record`: message, source, then each field's key and value with
their length prefixes). A plain message counts only its bytes there, so this is never less
than the engine's count.
"""
function record_bytes(msg::String, fields::AbstractVector, src::Union{String,Nothing}, func::String)
    n = 9 + sizeof(msg)
    src === nothing || (n += 12 + sizeof(src) + sizeof(func))
    for f in fields
        n += 5 + sizeof(f.key) + field_value_bytes(f)
    end
    return n
end

function field_value_bytes(f::Field)
    f.kind == ALOG_FIELD_STRING && return sizeof(f.str) + 4
    f.kind == ALOG_FIELD_BOOL && return 1
    return 8
end

"""
    RecordParts(msg, fields, src, line, func)

A record before it goes to the engine: message, fields, source file (`nothing`: no source
location), line and module name.
"""
mutable struct RecordParts
    msg::String
    fields::Vector{Field}
    src::Union{String,Nothing}
    line::UInt32
    func::String
end

"""
    fit!(parts::RecordParts, max_bytes) -> Bool

Shortens a record so that `record_bytes` is at most `max_bytes`: first the longest texts
(the message and string values), each cut to one common length so that short texts stay
whole; when the keys and numbers alone do not fit, fields are removed from the end, then
the source location. Returns whether anything was shortened.
"""
function fit!(p::RecordParts, max_bytes::Integer)
    record_bytes(p.msg, p.fields, p.src, p.func) <= max_bytes && return false
    fixed() = record_bytes("", Field[f.kind == ALOG_FIELD_STRING ? string_field(f.key, "") : f for f in p.fields],
                           p.src, p.func)
    while !isempty(p.fields) && fixed() > max_bytes
        pop!(p.fields)
    end
    if fixed() > max_bytes && p.src !== nothing
        p.src = nothing
        p.func = ""
    end
    budget = max(0, max_bytes - fixed())
    lens = Int[sizeof(p.msg)]
    for f in p.fields
        f.kind == ALOG_FIELD_STRING && push!(lens, sizeof(f.str))
    end
    cap = common_cap(lens, budget)
    p.msg = truncate_text(p.msg, cap)
    for (i, f) in enumerate(p.fields)
        if f.kind == ALOG_FIELD_STRING && sizeof(f.str) > cap
            p.fields[i] = string_field(f.key, truncate_text(f.str, cap))
        end
    end
    return true
end

"""
    common_cap(lens, budget) -> Int

The largest length `c` with `sum(min(l, c) for l in lens) <= budget`: texts shorter than
`c` stay whole and the longer ones share what is left equally.
"""
function common_cap(lens::Vector{Int}, budget::Int)
    sum(lens) <= budget && return typemax(Int)
    remaining = budget
    sorted = sort(lens)
    n = length(sorted)
    for (i, l) in enumerate(sorted)
        share = remaining ÷ (n - i + 1)
        l > share && return share
        remaining -= l
    end
    return remaining
end
