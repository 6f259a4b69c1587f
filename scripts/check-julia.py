#!/usr/bin/env python3
"""Static checks of the Julia package against the C ABI, for machines without Julia.

1. Every .jl file under the Julia folder parses with tree-sitter's Julia grammar: no ERROR
   and no MISSING node.
2. Every `ccall` (and `@ccall`) names a function that include/alog.h declares, with the
   header's number of arguments, and Julia argument and return types that match the C types
   (int32_t -> Int32/Cint, uint32_t -> UInt32/Cuint, size_t -> Csize_t, const char * ->
   Cstring or Ptr{UInt8}/Ptr{Cchar}, struct pointers -> Ptr{S} or Ref{S}, function pointers
   and void * -> Ptr{Cvoid}, void -> Cvoid; typedefs are resolved).
3. The raw layer (src/libalog.jl) holds exactly one ccall per function of the header, and no
   other file calls ccall.
4. Julia structs named like a header struct have its fields, in order, with matching types;
   Julia constants named like a header #define have its value; every numeric #define of the
   header has its Julia constant.
5. The C functions that can block (a write waiting for room, flush, close, adding and
   removing a sink) are called inside
   `@gcsafe`, so that Julia's garbage collector can run while they wait; the only other
   ccalls allowed are the Julia runtime's `jl_gc_safe_enter` / `jl_gc_safe_leave` that
   `@gcsafe` uses, in the raw layer.
6. A log call never throws: no `throw`, `rethrow`, `error(...)` or `@assert` is reachable
   outside a `try ... catch` from the package's `handle_message`, `shouldlog`,
   `min_enabled_level` and `catch_exceptions` methods or from a function registered with
   `finalizer` (calls are followed through the package's own functions, by name).
7. Every name of the seed's AsyncFileLogger interface is defined and exported, and
   `LogMessage` has the seed's fields in the seed's order.

Exit status 0 when everything holds, 1 with one line per problem (file:line: message)
otherwise, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tree_sitter_julia
    from tree_sitter import Language, Parser
except ImportError as exc:  # pragma: no cover - reported to the user
    sys.exit(f"check-julia: {exc}; install with: python3 -m pip install tree-sitter tree-sitter-julia")


# --------------------------------------------------------------------------------------
# The C header


@dataclass(frozen=True)
class CType:
    """A C type reduced to what the mapping needs: base name, const-ness of the pointee and
    pointer depth; `array` is the length of a fixed array field (0 when not an array)."""

    base: str
    ptr: int = 0
    const: bool = False
    array: int = 0

    def __str__(self) -> str:
        s = ("const " if self.const else "") + self.base + " " + "*" * self.ptr
        return s.strip() + (f"[{self.array}]" if self.array else "")


@dataclass
class CFunction:
    name: str
    ret: CType
    params: list[tuple[str, CType]]


@dataclass
class Header:
    functions: dict[str, CFunction] = field(default_factory=dict)
    structs: dict[str, list[tuple[str, CType]]] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)
    aliases: dict[str, CType] = field(default_factory=dict)
    fnptrs: set[str] = field(default_factory=set)
    defines: dict[str, object] = field(default_factory=dict)


class HeaderError(Exception):
    pass


# The machinery behind the C macro ALOG_LOGF (deferred printf formatting of C varargs). It has
# no Julia counterpart: Julia messages are formatted by Julia. The raw layer need not wrap it.
C_ONLY_FUNCTIONS = {"alog_site_prepare", "alog_logf_args"}
C_ONLY_CONSTANT = re.compile(r"ALOG_(SITE|ARG)_\w+|ALOG_LOGF_MAX_ARGS")

# The C functions that may block the calling thread: under overflow=block a write waits for
# room in the queue; flush and close wait for the writer.
BLOCKING_FUNCTIONS = {
    "alog_write",
    "alog_write_record",
    "alog_flush",
    "alog_close",
    "alog_add_sink",
    "alog_remove_sink",
}

# Julia runtime functions the raw layer may call (no library): return type and argument types.
JULIA_RUNTIME = {"jl_gc_safe_enter": ("Int8", []), "jl_gc_safe_leave": ("Cvoid", ["Int8"])}

# Methods Julia's logging calls on a log call: they must never throw into the caller.
NOTHROW_METHODS = {"handle_message", "shouldlog", "min_enabled_level", "catch_exceptions"}
THROWING_CALLS = {"throw", "rethrow", "error"}
THROWING_MACROS = {"@assert"}

# The interface of the seed's AsyncFileLogger (its application code uses these names), and
# the fields of its LogMessage in order, which custom formatters read.
SEED_NAMES = ["AsyncFileLogger", "LogMessage", "create_async_file_logger", "close_async_logger",
              "get_logger_stats", "create_simplified_logger", "create_full_logger"]
SEED_LOGMESSAGE_FIELDS = ["level", "message", "_module", "_group", "id", "file", "line", "kwargs",
                          "timestamp"]

C_QUALIFIERS = {"const", "volatile", "restrict", "struct", "enum", "unsigned", "signed"}


def parse_ctype(text: str, *, named: bool) -> tuple[str, CType]:
    """Parses `const struct alog_conf *conf` (named) or `const char *` (unnamed)."""
    t = " ".join(text.replace("*", " * ").split())
    array = 0
    m = re.search(r"\[\s*(\d+)\s*\]\s*$", t)
    if m:
        array = int(m.group(1))
        t = t[: m.start()].strip()
    tokens = t.split()
    name = ""
    if named:
        if len(tokens) < 2 or not re.fullmatch(r"[A-Za-z_]\w*", tokens[-1]):
            raise HeaderError(f"cannot read declaration {text!r}")
        name = tokens.pop()
    ptr = tokens.count("*")
    const = "const" in tokens[: next((i for i, x in enumerate(tokens) if x == "*"), len(tokens))]
    words = [x for x in tokens if x != "*" and x not in C_QUALIFIERS]
    unsigned = "unsigned" in tokens
    if not words:
        words = ["int"]
    base = " ".join(words)
    if unsigned and base in ("int", "char", "long", "short", "long long"):
        base = "unsigned " + base
    return name, CType(base, ptr, const, array)


def split_params(text: str) -> list[str]:
    text = text.strip()
    if text in ("", "void"):
        return []
    return [p.strip() for p in text.split(",")]


def drop_function_bodies(code: str) -> str:
    """Replaces every `{ ... }` that follows a `)` (a function body) by `;`."""
    out, i = [], 0
    while i < len(code):
        c = code[i]
        if c == "{" and "".join(out).rstrip().endswith(")"):
            depth = 0
            while i < len(code):
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
                if depth == 0:
                    break
            out.append(";")
            continue
        out.append(c)
        i += 1
    return "".join(out)


def c_view(src: str) -> str:
    """The header as a C compiler reads it: the lines of `#ifdef __cplusplus` branches are
    dropped (their `#else` branches kept), so C++-only helpers are not taken for C functions."""
    out, stack = [], []  # per open #if: [is it `#ifdef __cplusplus`, is its branch skipped]
    for line in src.splitlines(keepends=True):
        d = line.strip()
        if re.match(r"#\s*if", d):
            cpp = re.fullmatch(r"#\s*ifdef\s+__cplusplus\b.*", d) is not None
            stack.append([cpp, cpp])
        elif re.match(r"#\s*else\b", d) and stack and stack[-1][0]:
            stack[-1][1] = not stack[-1][1]
        elif re.match(r"#\s*endif\b", d) and stack:
            stack.pop()
            continue
        if not any(skip for _, skip in stack):
            out.append(line)
    return "".join(out)


def parse_header(path: Path) -> Header:
    src = c_view(path.read_text())
    h = Header()
    for m in re.finditer(r"^\s*#\s*define\s+(ALOG_\w+)\s+(.+?)\s*$", src, re.M):
        name, value = m.group(1), m.group(2)
        if name == "ALOG_H":
            continue
        if re.fullmatch(r"-?\d+", value):
            h.defines[name] = int(value)
        elif value == "UINT32_MAX":
            h.defines[name] = 2**32 - 1
        elif value == "INT64_MIN":
            h.defines[name] = -(2**63)
        elif re.fullmatch(r'"[^"]*"', value):
            h.defines[name] = value[1:-1]
    # Drop comments and preprocessor lines (with their continuations) and the bodies of
    # inline functions, then read declarations one `;` at a time.
    code = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    code = re.sub(r"//[^\n]*", " ", code)
    code = re.sub(r"\\\n", " ", code)
    code = re.sub(r"^\s*#[^\n]*", " ", code, flags=re.M)
    code = drop_function_bodies(code)
    code = re.sub(r"typedef\s+enum\s*\w*\s*\{[^}]*\}\s*(\w+)\s*;", r"typedef int \1;", code)
    code = re.sub(r'extern\s+"C"\s*\{', " ", code)
    # Array sizes given by a constant of the header.
    code = re.sub(r"\[\s*(ALOG_\w+)\s*\]", lambda m: f"[{h.defines.get(m.group(1), m.group(1))}]", code)
    # Unions (the ALOG_LOGF argument slot) are read like structs: no Julia layer mirrors them.
    code = re.sub(r"typedef\s+union\s+(\w+)\s*\{.*?\}\s*(\w+)\s*;", r"typedef struct \1 \2;", code, flags=re.S)
    code = re.sub(r"^\s*\}\s*$", " ", code, flags=re.M)  # closing brace of extern "C"
    # Struct definitions with a body.
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", code, re.S):
        tag, body, alias = m.groups()
        fields = [parse_ctype(d, named=True) for d in body.split(";") if d.strip()]
        h.structs[tag] = fields
        h.aliases[alias] = CType(tag)
    code = re.sub(r"typedef\s+struct\s+\w+\s*\{.*?\}\s*\w+\s*;", " ", code, flags=re.S)
    for stmt in code.split(";"):
        s = " ".join(stmt.split())
        if not s:
            continue
        if s.startswith("typedef "):
            body = s[len("typedef "):]
            m = re.fullmatch(r"(.+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)", body)
            if m:
                h.fnptrs.add(m.group(2))
                continue
            m = re.fullmatch(r"struct\s+(\w+)\s+(\w+)", body)
            if m and m.group(1) not in h.structs:
                h.opaque.add(m.group(1))
                h.aliases[m.group(2)] = CType(m.group(1))
                continue
            name, ctype = parse_ctype(body, named=True)
            h.aliases[name] = ctype
            continue
        if s.startswith("static "):
            continue  # an inline helper of the header, not a function of the library
        s = s.removeprefix("extern ")
        m = re.fullmatch(r"(.+?)\b(\w+)\s*\((.*)\)", s)
        if not m:
            raise HeaderError(f"{path}: cannot read declaration {s!r}")
        _, ret = parse_ctype(m.group(1), named=False)
        params = [parse_ctype(p, named=True) for p in split_params(m.group(3))]
        h.functions[m.group(2)] = CFunction(m.group(2), ret, params)
    if not h.functions:
        raise HeaderError(f"{path}: no function declarations found")
    return h


# --------------------------------------------------------------------------------------
# C types -> accepted Julia types

SCALARS = {
    "int8_t": {"Int8"},
    "uint8_t": {"UInt8"},
    "int16_t": {"Int16", "Cshort"},
    "uint16_t": {"UInt16", "Cushort"},
    "int32_t": {"Int32", "Cint"},
    "uint32_t": {"UInt32", "Cuint"},
    "int64_t": {"Int64", "Clonglong"},
    "uint64_t": {"UInt64", "Culonglong"},
    "int": {"Cint", "Int32"},
    "unsigned int": {"Cuint", "UInt32"},
    "size_t": {"Csize_t"},
    "ssize_t": {"Cssize_t"},
    "double": {"Float64", "Cdouble"},
    "float": {"Float32", "Cfloat"},
    "char": {"Cchar"},
    "bool": {"Bool"},
    "void": {"Cvoid", "Nothing"},
}
CHAR_POINTERS = {"Ptr{UInt8}", "Ptr{Cchar}", "Ptr{Int8}", "Ptr{Cuchar}"}


def resolve(h: Header, t: CType) -> CType:
    """Follows typedefs: `alog_result` -> `int32_t`, `alog_conf` -> `struct alog_conf`."""
    seen = set()
    while t.base in h.aliases and t.base not in seen:
        seen.add(t.base)
        a = h.aliases[t.base]
        t = CType(a.base, t.ptr + a.ptr, t.const or a.const, t.array or a.array)
    return t


def julia_types(h: Header, t: CType, *, role: str) -> set[str]:
    """The Julia spellings accepted for C type `t` as an argument, a return value or a
    struct field (role = "arg" | "ret" | "field")."""
    if t.base in h.fnptrs and t.ptr == 0:
        return {"Ptr{Cvoid}", "Ptr{Nothing}"}
    t = resolve(h, t)
    if t.array:
        inner = julia_types(h, CType(t.base, t.ptr, t.const), role="field")
        return {f"NTuple{{{t.array},{j}}}" for j in inner}
    if t.ptr == 0:
        if t.base in h.structs or t.base in h.opaque:
            return {t.base}
        if t.base == "void" and role != "ret":
            return set()
        return set(SCALARS.get(t.base, set()))
    if t.ptr == 1 and t.base == "char":
        return (CHAR_POINTERS | {"Cstring"}) if t.const or role == "field" else set(CHAR_POINTERS)
    if t.ptr == 1 and t.base == "void":
        return {"Ptr{Cvoid}", "Ptr{Nothing}"}
    inner = julia_types(h, CType(t.base, t.ptr - 1, t.const), role="field")
    if t.base == "void" and t.ptr - 1 == 0:
        inner = {"Cvoid", "Nothing"}
    out = {f"Ptr{{{j}}}" for j in inner}
    # Ref{T} passes a pointer to a Julia value of T: right for scalars, pointers and structs
    # with the header's layout, wrong for an opaque handle (Ref would point at a Julia object).
    if role == "arg" and not (t.ptr == 1 and t.base in h.opaque):
        out |= {f"Ref{{{j}}}" for j in inner}
    return out


# --------------------------------------------------------------------------------------
# The Julia side


@dataclass
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def jl_parser() -> Parser:
    return Parser(Language(tree_sitter_julia.language()))


def text(node) -> str:
    return node.text.decode("utf-8", "replace")


def norm_type(node) -> str:
    """A Julia type expression without spaces and module qualifiers:
    `Ptr{LibALog.alog_logger}` -> `Ptr{alog_logger}`."""
    s = re.sub(r"\s+", "", text(node))
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", s)


def named(node) -> list:
    return [c for c in node.named_children if c.type not in ("comment", "line_comment", "block_comment")]


def walk(node):
    yield node
    for c in node.children:
        yield from walk(c)


def nodes(tree, kind: str):
    """Every node of the given type, in source order."""
    return (n for n in walk(tree.root_node) if n.type == kind)


def child(node, kind: str):
    """The first named child of the given type, or None."""
    return next((c for c in named(node) if c.type == kind), None)


def syntax_problems(path: Path, tree) -> list[Problem]:
    out = []
    for n in walk(tree.root_node):
        if n.is_missing:
            out.append(Problem(path, n.start_point[0] + 1,
                               f"syntax error: missing {n.type!r} at column {n.start_point[1] + 1}"))
        elif n.is_error:
            snippet = text(n).strip().splitlines()[0][:60] if text(n).strip() else ""
            out.append(Problem(path, n.start_point[0] + 1,
                               f"syntax error at column {n.start_point[1] + 1} near {snippet!r}"))
    if tree.root_node.has_error and not out:
        out.append(Problem(path, 1, "syntax error (tree-sitter reports an error)"))
    return out


@dataclass
class CCall:
    path: Path
    line: int
    name: str | None
    ret: str | None
    argtypes: list[str] | None
    nargs: int
    problem: str | None = None
    lib: bool = True
    node: object = None


def read_ccall(path: Path, node) -> CCall:
    """Reads `ccall((:name, lib), Ret, (T1, T2), a1, a2)`."""
    line = node.start_point[0] + 1
    args = [c for c in named(node.child_by_field_name("arguments") or node.children[-1])]
    if len(args) < 3:
        return CCall(path, line, None, None, None, 0, "ccall needs (name, lib), a return type and an argument type tuple")
    spec, ret, types, values = args[0], args[1], args[2], args[3:]
    name = None
    target = spec
    lib = spec.type == "tuple_expression"
    if lib:
        parts = named(spec)
        target = parts[0] if parts else spec
    if target.type == "quote_expression":
        name = text(target).lstrip(":")
    elif target.type == "string_literal":
        name = text(target).strip('"')
    if name is None:
        return CCall(path, line, None, None, None, 0,
                     f"ccall target {text(spec)!r} is not a literal (:name, library) pair")
    if types.type != "tuple_expression":
        return CCall(path, line, name, norm_type(ret), None, len(values),
                     f"ccall of {name}: argument types {text(types)!r} are not a tuple "
                     "(a single type needs a trailing comma: (T,))")
    return CCall(path, line, name, norm_type(ret), [norm_type(t) for t in named(types)], len(values),
                 lib=lib)


def read_macro_ccall(path: Path, node) -> CCall:
    """Reads `@ccall lib.name(a::T, b::U)::R`."""
    line = node.start_point[0] + 1
    margs = child(node, "macro_argument_list")
    body = named(margs)[0] if margs is not None and named(margs) else None
    if body is None or body.type != "typed_expression":
        return CCall(path, line, None, None, None, 0, "@ccall needs the form lib.name(args...)::ReturnType")
    call, ret = named(body)[0], named(body)[-1]
    if call.type != "call_expression":
        return CCall(path, line, None, None, None, 0, "@ccall needs the form lib.name(args...)::ReturnType")
    fn = named(call)[0]
    name = text(named(fn)[-1]) if fn.type == "field_expression" else text(fn)
    arglist = child(call, "argument_list")
    types, count = [], 0
    for a in named(arglist) if arglist is not None else []:
        count += 1
        if a.type != "typed_expression":
            return CCall(path, line, name, norm_type(ret), None, count,
                         f"@ccall of {name}: argument {text(a)!r} has no ::Type")
        types.append(norm_type(named(a)[-1]))
    return CCall(path, line, name, norm_type(ret), types, count)


def find_ccalls(path: Path, tree) -> list[CCall]:
    out = []
    for n in walk(tree.root_node):
        if n.type == "call_expression" and n.named_children and text(n.named_children[0]) == "ccall":
            out.append(read_ccall(path, n))
        elif n.type == "macrocall_expression" and n.named_children and text(n.named_children[0]) == "@ccall":
            out.append(read_macro_ccall(path, n))
        else:
            continue
        out[-1].node = n
    return out


def macro_name(node) -> str | None:
    """`@gcsafe` for a macrocall node, else None."""
    if node is None or node.type != "macrocall_expression" or not node.named_children:
        return None
    return text(node.named_children[0])


def in_gcsafe(node) -> bool:
    """Whether a ccall node is the argument of `@gcsafe` (possibly after `return`)."""
    p = node.parent
    if p is not None and p.type == "macro_argument_list":
        return macro_name(p.parent) == "@gcsafe"
    return False


def check_runtime_ccall(c: CCall) -> list[Problem]:
    """A ccall of a Julia runtime function (no library), as `@gcsafe` makes them."""
    ret, args = JULIA_RUNTIME[c.name]
    if c.lib:
        return [Problem(c.path, c.line, f"ccall of {c.name}: a Julia runtime function takes no library")]
    if c.problem:
        return [Problem(c.path, c.line, c.problem)]
    if c.ret != ret or c.argtypes != args or c.nargs != len(args):
        return [Problem(c.path, c.line, f"ccall of {c.name}: must be ccall(:{c.name}, {ret}, ({', '.join(args)}"
                        f"{',' if len(args) == 1 else ''}){''.join(', x' for _ in args)})")]
    return []


def check_ccall(h: Header, c: CCall) -> list[Problem]:
    if c.problem:
        return [Problem(c.path, c.line, c.problem)]
    f = h.functions.get(c.name)
    if f is None:
        return [Problem(c.path, c.line, f"ccall of {c.name}: include/alog.h declares no such function")]
    out = []
    want = len(f.params)
    if len(c.argtypes) != want:
        out.append(Problem(c.path, c.line,
                           f"ccall of {c.name}: {len(c.argtypes)} argument types, the header declares {want} "
                           f"({', '.join(str(t) for _, t in f.params) or 'void'})"))
    if c.nargs != len(c.argtypes):
        out.append(Problem(c.path, c.line,
                           f"ccall of {c.name}: {c.nargs} arguments passed for {len(c.argtypes)} argument types"))
    for i, ((pname, ctype), jtype) in enumerate(zip(f.params, c.argtypes), start=1):
        ok = julia_types(h, ctype, role="arg")
        if jtype not in ok:
            out.append(Problem(c.path, c.line,
                               f"ccall of {c.name}: argument {i} ({pname}) is {jtype}, but the header's "
                               f"type is {ctype}: use {' or '.join(sorted(ok))}"))
    ok = julia_types(h, f.ret, role="ret")
    if c.ret not in ok:
        out.append(Problem(c.path, c.line,
                           f"ccall of {c.name}: returns {c.ret}, but the header returns {f.ret}: "
                           f"use {' or '.join(sorted(ok))}"))
    return out


def check_structs(h: Header, path: Path, tree) -> list[Problem]:
    out = []
    for n in nodes(tree, "struct_definition"):
        head = child(n, "type_head")
        if head is None:
            continue
        name = norm_type(head)
        line = n.start_point[0] + 1
        fields = [c for c in named(n) if c.type in ("typed_expression", "identifier")]
        if name in h.opaque:
            if fields:
                out.append(Problem(path, line, f"struct {name} is opaque in the header: it must have no fields"))
            continue
        if name not in h.structs:
            continue
        cfields = h.structs[name]
        if len(fields) != len(cfields):
            out.append(Problem(path, line, f"struct {name} has {len(fields)} fields, the header's has {len(cfields)}"))
        for i, (jf, (cname, ctype)) in enumerate(zip(fields, cfields), start=1):
            if jf.type != "typed_expression":
                out.append(Problem(path, jf.start_point[0] + 1,
                                   f"struct {name}: field {i} ({text(jf)}) needs a type ({ctype})"))
                continue
            jname, jtype = text(named(jf)[0]), norm_type(named(jf)[-1])
            if jname != cname:
                out.append(Problem(path, jf.start_point[0] + 1,
                                   f"struct {name}: field {i} is {jname}, the header's is {cname}"))
            ok = julia_types(h, ctype, role="field")
            if jtype not in ok:
                out.append(Problem(path, jf.start_point[0] + 1,
                                   f"struct {name}: field {jname} is {jtype}, the header's is {ctype}: "
                                   f"use {' or '.join(sorted(ok))}"))
    return out


def julia_const_value(node):
    """The value of `Int32(5)`, `5`, `typemax(UInt32)`, `"0.1.0"`; None when not literal."""
    t = re.sub(r"\s+", "", text(node))
    m = re.fullmatch(r"(?:U?Int(?:8|16|32|64)|Cu?int)?\(?(-?\d+)\)?", t)
    if m:
        return int(m.group(1))
    limits = {"typemax(UInt32)": 2**32 - 1, "typemax(Int32)": 2**31 - 1, "typemax(UInt64)": 2**64 - 1,
              "typemin(Int64)": -(2**63)}
    if t in limits:
        return limits[t]
    if node.type == "string_literal":
        return t.strip('"')
    return None


def check_constants(h: Header, path: Path, tree) -> tuple[list[Problem], set[str]]:
    out, seen = [], set()
    for n in nodes(tree, "const_statement"):
        assign = child(n, "assignment")
        if assign is None:
            continue
        lhs, rhs = named(assign)[0], named(assign)[-1]
        name = text(lhs)
        if name not in h.defines:
            continue
        seen.add(name)
        value = julia_const_value(rhs)
        if value != h.defines[name]:
            out.append(Problem(path, n.start_point[0] + 1,
                               f"constant {name} = {text(rhs)}, but the header defines {h.defines[name]!r}"))
    return out, seen


# --------------------------------------------------------------------------------------
# Log calls that never throw


@dataclass
class FunctionDef:
    name: str
    path: Path
    line: int
    node: object  # the definition; its signature is skipped when reading the body


def callee_name(call) -> str | None:
    """`f` for `f(x)`, `Logging.f(x)` and `f{T}(x)`; None for anything else."""
    parts = named(call)
    if not parts:
        return None
    f = parts[0]
    if f.type == "parametrized_type_expression":
        f = named(f)[0]
    if f.type == "field_expression":
        f = named(f)[-1]
    return text(f) if f.type == "identifier" else None


def signature_call(node):
    """The call_expression of a definition's signature, under `where` and `::T`."""
    while node is not None and node.type in ("where_expression", "typed_expression", "signature"):
        node = named(node)[0] if named(node) else None
    return node if node is not None and node.type == "call_expression" else None


def function_defs(path: Path, tree) -> list[FunctionDef]:
    """Every `function f(...) ... end` and `f(...) = ...` of a file."""
    out = []
    for n in walk(tree.root_node):
        call = None
        if n.type == "function_definition":
            call = signature_call(child(n, "signature"))
        elif n.type == "assignment" and named(n):
            call = signature_call(named(n)[0])
        if call is not None and callee_name(call):
            out.append(FunctionDef(callee_name(call), path, n.start_point[0] + 1, n))
    return out


def body_nodes(d: FunctionDef):
    """The parts of a definition that run when it is called (not its signature)."""
    if d.node.type == "function_definition":
        return [c for c in named(d.node) if c.type != "signature"]
    return [named(d.node)[-1]]


def unprotected(node):
    """Yields the nodes of `node` that run outside the protection of a `try ... catch`: the
    body of a try with a catch clause is skipped, its catch and finally clauses are not;
    quoted code and nested definitions do not run here."""
    if node.type in ("quote_expression", "macro_definition", "function_definition"):
        return
    yield node
    kids = named(node)
    if node.type == "try_statement" and any(k.type == "catch_clause" for k in kids):
        kids = [k for k in kids if k.type in ("catch_clause", "finally_clause")]
    for k in kids:
        yield from unprotected(k)


def finalizer_names(tree) -> set[str]:
    """Functions registered with `finalizer(f, x)`."""
    out = set()
    for n in nodes(tree, "call_expression"):
        if callee_name(n) == "finalizer":
            args = named(child(n, "argument_list") or n)
            if args and args[0].type == "identifier":
                out.add(text(args[0]))
    return out


def check_nothrow(defs: list[FunctionDef], roots: set[str]) -> list[Problem]:
    """A problem for each root method from which a throw is reachable outside a try."""
    by_name: dict[str, list[FunctionDef]] = {}
    for d in defs:
        by_name.setdefault(d.name, []).append(d)
    out = []
    for root in (d for d in defs if d.name in roots):
        chain = find_throw(root, by_name, [root.name], {root.name})
        if chain is not None:
            names, where = chain
            into = "into the log call" if root.name in NOTHROW_METHODS else "out of a finalizer"
            out.append(Problem(root.path, root.line,
                               f"{root.name} can throw {into}: {' -> '.join(names)} "
                               f"at {where} is outside a try/catch"))
    return out


def find_throw(d: FunctionDef, by_name, chain: list[str], seen: set[str]):
    for part in body_nodes(d):
        for n in unprotected(part):
            if n.type == "macrocall_expression" and macro_name(n) in THROWING_MACROS:
                return chain + [macro_name(n)], f"{d.path.name}:{n.start_point[0] + 1}"
            if n.type != "call_expression":
                continue
            name = callee_name(n)
            if name in THROWING_CALLS:
                return chain + [name], f"{d.path.name}:{n.start_point[0] + 1}"
            if name in by_name and name not in seen:
                seen.add(name)
                for callee in by_name[name]:
                    found = find_throw(callee, by_name, chain + [name], seen)
                    if found is not None:
                        return found
    return None


def check_seed(trees: dict[Path, object], module_file: Path) -> list[Problem]:
    """The seed's names are defined and exported; LogMessage has the seed's fields."""
    defined: dict[str, list[str] | None] = {}
    for tree in trees.values():
        for n in nodes(tree, "struct_definition"):
            head = child(n, "type_head")
            if head is not None:
                name = re.split(r"[<{(\s]", text(head).strip())[0]
                fields = [text(named(c)[0]) if c.type == "typed_expression" else text(c)
                          for c in named(n) if c.type in ("typed_expression", "identifier")]
                defined[name] = fields
    for d in (d for f, t in trees.items() for d in function_defs(f, t)):
        defined.setdefault(d.name, None)
    exported: set[str] = set()
    if module_file in trees:
        for n in nodes(trees[module_file], "export_statement"):
            exported |= {text(c) for c in named(n) if c.type == "identifier"}
    out = []
    for name in SEED_NAMES:
        if name not in defined:
            out.append(Problem(module_file, 1, f"the seed's {name} is not defined: its application code uses it"))
        elif name not in exported:
            out.append(Problem(module_file, 1, f"the seed's {name} is not exported: `using ALog` must bring it"))
    fields = defined.get("LogMessage")
    if fields is not None and fields != SEED_LOGMESSAGE_FIELDS:
        out.append(Problem(module_file, 1, f"LogMessage has fields {fields}, the seed's formatters read "
                           f"{SEED_LOGMESSAGE_FIELDS}"))
    return out


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--header", type=Path, default=root / "include" / "alog.h")
    ap.add_argument("--julia-dir", type=Path, default=root / "julia",
                    help="folder whose .jl files are checked (default: julia/)")
    ap.add_argument("--raw", type=Path, default=None,
                    help="the raw layer file (default: <julia-dir>/ALog/src/libalog.jl)")
    args = ap.parse_args(argv)
    raw = args.raw or args.julia_dir / "ALog" / "src" / "libalog.jl"

    try:
        h = parse_header(args.header)
    except (OSError, HeaderError) as e:
        print(f"check-julia: cannot read the header: {e}", file=sys.stderr)
        return 2
    files = sorted(args.julia_dir.rglob("*.jl"))
    if not files:
        print(f"check-julia: no .jl files under {args.julia_dir}", file=sys.stderr)
        return 2
    if not raw.is_file():
        print(f"check-julia: raw layer {raw} not found", file=sys.stderr)
        return 2

    parser = jl_parser()
    problems: list[Problem] = []
    ccalls: list[CCall] = []
    src_dir = raw.parent
    src_trees: dict[Path, object] = {}
    for f in files:
        tree = parser.parse(f.read_bytes())
        if f.resolve().parent == src_dir.resolve():
            src_trees[f] = tree
        problems += syntax_problems(f, tree)
        found = find_ccalls(f, tree)
        ccalls += found
        for c in found:
            if c.name in JULIA_RUNTIME:
                problems += check_runtime_ccall(c)
            else:
                problems += check_ccall(h, c)
            if c.name in BLOCKING_FUNCTIONS and not in_gcsafe(c.node):
                problems.append(Problem(f, c.line, f"ccall of {c.name} can block: call it as @gcsafe ccall(...) "
                                        "so that the garbage collector can run while it waits"))
            if f.resolve() != raw.resolve():
                problems.append(Problem(f, c.line, f"ccall of {c.name} outside the raw layer {raw.name}: "
                                        "call the LibALog function instead"))
        problems += check_structs(h, f, tree)
        if f.resolve() == raw.resolve():
            p, seen = check_constants(h, f, tree)
            problems += p
            for name, value in sorted(h.defines.items()):
                if isinstance(value, int) and name not in seen and not C_ONLY_CONSTANT.fullmatch(name):
                    problems.append(Problem(f, 1, f"constant {name} of the header ({value}) is missing"))

    raw_calls: dict[str, list[CCall]] = {}
    for c in ccalls:
        if c.name and Path(c.path).resolve() == raw.resolve():
            raw_calls.setdefault(c.name, []).append(c)
    for name in h.functions:
        calls = raw_calls.get(name, [])
        if not calls and name not in C_ONLY_FUNCTIONS:
            problems.append(Problem(raw, 1, f"no ccall of {name}, which include/alog.h declares: add its wrapper"))
        for extra in calls[1:]:
            problems.append(Problem(raw, extra.line, f"second ccall of {name} (first at line {calls[0].line}): "
                                    "one ccall per C function"))

    defs = [d for f, t in src_trees.items() for d in function_defs(f, t)]
    roots = set(NOTHROW_METHODS)
    for t in src_trees.values():
        roots |= finalizer_names(t)
    problems += check_nothrow(defs, roots)
    module_file = src_dir / "ALog.jl"
    problems += check_seed(src_trees, module_file)

    for p in problems:
        print(p)
    nfiles, ncalls = len(files), len(ccalls)
    if problems:
        print(f"check-julia: {len(problems)} problem(s) in {nfiles} files, {ncalls} ccalls", file=sys.stderr)
        return 1
    print(f"check-julia: {nfiles} .jl files parse; {ncalls} ccalls match include/alog.h "
          f"({len(h.functions)} functions, {len(h.structs)} structs, {len(h.defines)} constants); "
          f"blocking calls GC-safe; no throw reachable from {len([d for d in defs if d.name in roots])} "
          f"logging methods and finalizers; the seed's {len(SEED_NAMES)} names exported")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
