/* Logs three records into the file named by argv[1]: a plain message, a printf-style one and
 * a structured one. Exit status 0 when alog accepted and wrote all three. */
#include <alog.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char err[256];
    alog_conf *conf;
    alog_logger *lg;
    alog_stats st;
    alog_field fields[2];
    alog_record rec;
    if (argc != 2) {
        fprintf(stderr, "usage: %s LOGFILE\n", argv[0]);
        return 2;
    }
    conf = alog_conf_new();
    if (alog_conf_set(conf, "pattern", "{level} {msg}{fields}", err, sizeof err) != ALOG_OK ||
        alog_open(argv[1], conf, &lg, err, sizeof err) != ALOG_OK) {
        fprintf(stderr, "alog: %s\n", err);
        return 1;
    }
    alog_conf_free(conf);
    alog_write(lg, ALOG_LEVEL_INFO, "hello from C", 12);
    ALOG_LOGF(lg, ALOG_LEVEL_WARN, "%d%% of %s", 100, "requests");
    memset(fields, 0, sizeof fields);
    fields[0].key = "user";
    fields[0].key_len = 4;
    fields[0].kind = ALOG_FIELD_STRING;
    fields[0].str = "ann";
    fields[0].str_len = 3;
    fields[1].key = "ms";
    fields[1].key_len = 2;
    fields[1].kind = ALOG_FIELD_INT;
    fields[1].i64 = 1250;
    memset(&rec, 0, sizeof rec);
    rec.level = ALOG_LEVEL_ERROR;
    rec.msg = "slow request";
    rec.msg_len = 12;
    rec.fields = fields;
    rec.n_fields = 2;
    alog_write_record(lg, &rec);
    if (alog_close(lg, ALOG_TIMEOUT_INFINITE) != ALOG_OK || alog_get_stats(lg, &st) != ALOG_OK)
        return 1;
    return st.written == 3 ? 0 : 1;
}
