/* C glue between the Go package and include/alog.h. Part of the Go binding only. */
#ifndef ALOG_GO_SHIM_H
#define ALOG_GO_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "alog.h"

/* One field as Go prepares it: no pointers, so that Go memory holding an array of them may be
 * passed to C under the cgo rules. Keys and string/JSON values are offsets into one byte
 * buffer passed beside the array. */
typedef struct alog_go_field {
    int32_t kind;   /* ALOG_FIELD_* */
    uint32_t key_len;
    uint64_t key_off;
    uint64_t num;   /* int64, uint64, double or bool bits, by kind */
    uint64_t str_off;
    uint64_t str_len;
} alog_go_field;

/* The two logging calls take the logger handle as an integer: cgo checks at every call
 * whether an argument of an opaque pointer type points into Go memory (it never does here),
 * a cost paid per record otherwise. */

/* alog_write. */
alog_result alog_go_write_msg(uintptr_t lg, int32_t level, const char *msg, size_t len);

/* Builds an alog_record from Go's flat fields (pointers into `bytes`) and calls
 * alog_write_record. Every pointer is borrowed for the call only; nothing is retained. */
alog_result alog_go_write(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                          size_t msg_len, const alog_go_field *fields, size_t n_fields,
                          const char *bytes, const char *file, size_t file_len, uint32_t line,
                          const char *func, size_t func_len);

/* Up to 4 or 8 fields passed by value, for the direct API: the keys and string values point
 * at the Go strings themselves (string bytes hold no Go pointers, which the cgo rules allow
 * for the duration of the call), so that the call needs no working memory and copies no
 * bytes before the engine's own copy into its queue. Passed by value on purpose: cgo's
 * wrapper hands them to the (not inlined) function below, which receives its own copy on the
 * C stack, where nothing moves them; a Go callback running during the call (a callback sink
 * in sync mode) may move the goroutine's stack, and the Go arguments with it. */
typedef struct alog_go_fields4 {
    alog_field f[4];
} alog_go_fields4;
typedef struct alog_go_fields8 {
    alog_field f[8];
} alog_go_fields8;

/* alog_write_record with the first n_fields of `fields` (n_fields <= 4, or 8). ts_ns as
 * alog_record's timestamp_ns (0: now). `file` NULL: no source location. */
alog_result alog_go_write4(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                           size_t msg_len, const char *file, size_t file_len, uint32_t line,
                           const char *func, size_t func_len, size_t n_fields,
                           alog_go_fields4 fields);
alog_result alog_go_write8(uintptr_t lg, int32_t level, int64_t ts_ns, const char *msg,
                           size_t msg_len, const char *file, size_t file_len, uint32_t line,
                           const char *func, size_t func_len, size_t n_fields,
                           alog_go_fields8 fields);

/* alog_conf_add_callback with a Go callback identified by a cgo.Handle. */
alog_result alog_go_add_callback(alog_conf *conf, uintptr_t handle, int32_t min_level,
                                 const char *format, char *errstr, size_t errstr_size);

/* alog_conf_set_error_callback with a Go callback identified by a cgo.Handle. */
alog_result alog_go_set_error_callback(alog_conf *conf, uintptr_t handle);

#endif
