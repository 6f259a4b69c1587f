# Keyword arguments of a log call -> typed alog_field values.
#
# Julia values keep their type where alog has one: Bool -> BOOL, signed integers -> INT,
# unsigned integers -> UINT (both when they fit 64 bits), floats -> FLOAT; strings, symbols
# and characters are STRING; an exception (or Julia's `exception=(err, backtrace)` pair) is
# the text `showerror` prints; every other value is `string(value)`. The engine formats and
# escapes them (text `key=value`, JSON typed members).

using .LibALog: alog_field, ALOG_FIELD_STRING, ALOG_FIELD_INT, ALOG_FIELD_UINT,
    ALOG_FIELD_FLOAT, ALOG_FIELD_BOOL

"""
    FieldBuffer()

The fields of one record under construction. `strings` holds every `String` whose bytes a
field points to: keep the buffer alive with `GC.@preserve` until the C call returns.
"""
struct FieldBuffer
    fields::Vector{alog_field}
    strings::Vector{String}
end

FieldBuffer() = FieldBuffer(alog_field[], String[])

"""Pins `s` in the buffer and returns it as a `String` whose pointer stays valid."""
function pin!(buf::FieldBuffer, s::AbstractString)
    str = String(s)
    push!(buf.strings, str)
    return str
end

function push_number!(buf::FieldBuffer, key::String, kind::Int32, i::Int64, u::UInt64, f::Float64)
    push!(buf.fields, alog_field(pointer(key), sizeof(key), kind, 0, i, u, f, C_NULL, 0))
    return buf
end

function push_string!(buf::FieldBuffer, key::String, value::AbstractString)
    v = pin!(buf, value)
    push!(buf.fields, alog_field(pointer(key), sizeof(key), ALOG_FIELD_STRING, 0, 0, 0, 0.0,
                                 pointer(v), sizeof(v)))
    return buf
end

"""
    push_field!(buf, key, value)

Appends one typed field; `key` is a `Symbol` or a string.
"""
push_field!(buf::FieldBuffer, key, value) = push_value!(buf, pin!(buf, string(key)), value)

push_value!(buf::FieldBuffer, key::String, v::Bool) =
    push_number!(buf, key, ALOG_FIELD_BOOL, Int64(v), UInt64(0), 0.0)

function push_value!(buf::FieldBuffer, key::String, v::Signed)
    if typemin(Int64) <= v <= typemax(Int64)
        return push_number!(buf, key, ALOG_FIELD_INT, Int64(v), UInt64(0), 0.0)
    end
    return push_string!(buf, key, string(v))
end

function push_value!(buf::FieldBuffer, key::String, v::Unsigned)
    if v <= typemax(UInt64)
        return push_number!(buf, key, ALOG_FIELD_UINT, Int64(0), UInt64(v), 0.0)
    end
    return push_string!(buf, key, string(v))
end

push_value!(buf::FieldBuffer, key::String, v::AbstractFloat) =
    push_number!(buf, key, ALOG_FIELD_FLOAT, Int64(0), UInt64(0), Float64(v))

push_value!(buf::FieldBuffer, key::String, v::AbstractString) = push_string!(buf, key, v)
push_value!(buf::FieldBuffer, key::String, v::Union{Symbol,AbstractChar}) =
    push_string!(buf, key, string(v))
push_value!(buf::FieldBuffer, key::String, v::Exception) =
    push_string!(buf, key, sprint(showerror, v))
push_value!(buf::FieldBuffer, key::String, v::Tuple{Exception,Any}) =
    push_string!(buf, key, sprint(showerror, v[1], v[2]))
push_value!(buf::FieldBuffer, key::String, v) = push_string!(buf, key, string(v))
