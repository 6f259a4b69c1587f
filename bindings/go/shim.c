/* C glue between the Go package and include/alog.h (see shim.h). */
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

/* Records with at most this many fields build their alog_field array on the C stack. */
#define STACK_FIELDS 32

alog_result alog_go_write_msg(uintptr_t lg, int32_t level, const char *msg, size_t len)
{
    return alog_write((alog_logger *)lg, level, msg, len);
}

/* Submits a record whose fields are already alog_fields (alog_go_write builds them from the
 * Go layout; alog_go_write4 and alog_go_write8 get them by value). ts_ns 0 is "now". */
static alog_result write_record(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                                size_t msg_len, const char *file, size_t file_len,
                                uint32_t line, const char *func, size_t func_len,
                                const alog_field *fields, size_t n_fields)
{
    alog_record rec = {
        .level = level,
        .timestamp_ns = ts_ns,
        .msg = msg,
        .msg_len = msg_len,
        .fields = fields,
        .n_fields = n_fields,
        .file = file,
        .file_len = file_len,
        .line = line,
        .func = func,
        .func_len = func_len,
    };
    return alog_write_record((alog_logger *)lg, &rec);
}

alog_result alog_go_write(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                          size_t msg_len, const alog_go_field *fields, size_t n_fields,
                          const char *bytes, const char *file, size_t file_len, uint32_t line,
                          const char *func, size_t func_len)
{
    alog_field stack[STACK_FIELDS];
    alog_field *f = stack;
    if (n_fields > STACK_FIELDS) {
        f = malloc(n_fields * sizeof *f);
        if (f == NULL)
            return ALOG_ERR_TOO_LARGE; /* no memory to describe so many fields */
    }
    for (size_t i = 0; i < n_fields; i++) {
        const alog_go_field *g = &fields[i];
        f[i].key = bytes + g->key_off;
        f[i].key_len = g->key_len;
        f[i].kind = g->kind;
        f[i].reserved = 0;
        f[i].i64 = (int64_t)g->num;
        f[i].u64 = g->num;
        memcpy(&f[i].f64, &g->num, sizeof f[i].f64);
        f[i].str = bytes + g->str_off;
        f[i].str_len = (size_t)g->str_len;
    }
    alog_result r = write_record(lg, level, ts_ns, msg, msg_len, file, file_len, line, func,
                                 func_len, f, n_fields);
    if (f != stack)
        free(f);
    return r;
}

alog_result alog_go_write4(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                           size_t msg_len, const char *file, size_t file_len, uint32_t line,
                           const char *func, size_t func_len, size_t n_fields,
                           alog_go_fields4 fields)
{
    return write_record(lg, level, ts_ns, msg, msg_len, file, file_len, line, func, func_len,
                        fields.f, n_fields);
}

alog_result alog_go_write8(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                           size_t msg_len, const char *file, size_t file_len, uint32_t line,
                           const char *func, size_t func_len, size_t n_fields,
                           alog_go_fields8 fields)
{
    return write_record(lg, level, ts_ns, msg, msg_len, file, file_len, line, func, func_len,
                        fields.f, n_fields);
}

static void go_sink(void *userdata, int32_t level, const char *line, size_t len)
{
    alogGoSink((uintptr_t)userdata, level, (char *)line, len);
}

static void go_error(void *userdata, alog_result code, const char *message)
{
    alogGoError((uintptr_t)userdata, code, (char *)message);
}

alog_result alog_go_add_callback(alog_conf *conf, uintptr_t handle, int32_t min_level,
                                 const char *format, char *errstr, size_t errstr_size)
{
    return alog_conf_add_callback(conf, go_sink, (void *)handle, min_level, format, errstr,
                                  errstr_size);
}

alog_result alog_go_set_error_callback(alog_conf *conf, uintptr_t handle)
{
    return alog_conf_set_error_callback(conf, go_error, (void *)handle);
}
