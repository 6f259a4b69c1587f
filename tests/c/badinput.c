/* Misuse of the C ABI: NULL pointers, bad keys and values, truncated error
 * strings, impossible paths, bad levels, hostile message bytes, size limits,
 * use after close. Nothing may crash; every case has a defined result. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>

static void dummy_sink(void *ud, int32_t level, const char *line, size_t len)
{
    (void)ud;
    (void)level;
    (void)line;
    (void)len;
}

static void dummy_error(void *ud, alog_result code, const char *message)
{
    (void)ud;
    (void)code;
    (void)message;
}

static alog_conf *quiet_conf(void)
{
    alog_conf *conf = alog_conf_new();
    CHECK(conf != NULL, "alog_conf_new returned NULL");
    conf_set_ok(conf, "console", "none");
    return conf;
}

static alog_record simple_record(const char *msg)
{
    alog_record rec;
    memset(&rec, 0, sizeof rec);
    rec.level = ALOG_LEVEL_INFO;
    rec.msg = msg;
    rec.msg_len = strlen(msg);
    return rec;
}

static void test_result_str(void)
{
    const char *s[9];
    for (int i = 0; i <= 8; i++) {
        s[i] = alog_result_str(i);
        CHECK(s[i] != NULL && s[i][0] != '\0', "alog_result_str(%d) is empty", i);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(s[i], s[j]) != 0, "alog_result_str(%d) == alog_result_str(%d) "
                  "== \"%s\"", i, j, s[i]);
    }
    CHECK(alog_result_str(999) != NULL, "alog_result_str(999) is NULL");
    CHECK(alog_result_str(-1) != NULL, "alog_result_str(-1) is NULL");
    CHECK(alog_version() != NULL, "alog_version() is NULL");
}

static void test_null_args(const char *dir)
{
    char err[256] = "";
    char *path = path_join(dir, "null.log");
    alog_conf *conf = quiet_conf();
    alog_logger *lg = NULL;
    alog_stats st;
    alog_field fld;
    alog_record rec = simple_record("m");

    CHECK_RC(alog_conf_set(NULL, "level", "info", err, sizeof err), ALOG_ERR_NULL);
    CHECK_RC(alog_conf_set(conf, NULL, "info", err, sizeof err), ALOG_ERR_NULL);
    CHECK_RC(alog_conf_set(conf, "level", NULL, err, sizeof err), ALOG_ERR_NULL);
    CHECK_RC(alog_conf_add_callback(NULL, dummy_sink, NULL, ALOG_LEVEL_INFO, NULL,
                                    err, sizeof err), ALOG_ERR_NULL);
    CHECK_RC(alog_conf_add_callback(conf, NULL, NULL, ALOG_LEVEL_INFO, NULL, err,
                                    sizeof err), ALOG_ERR_NULL);
    CHECK_RC(alog_conf_set_error_callback(NULL, dummy_error, NULL), ALOG_ERR_NULL);
    alog_conf_free(NULL);
    CHECK_RC(alog_open(path, conf, NULL, err, sizeof err), ALOG_ERR_NULL);
    /* No sink at all: nothing to log to. */
    err[0] = '\0';
    errno = EINTR;
    CHECK_RC(alog_open(NULL, NULL, &lg, err, sizeof err), ALOG_ERR_INVALID);
    CHECK(errno == 0, "errno %d after ALOG_ERR_INVALID, want 0", errno);
    CHECK(err[0] != '\0', "no message for a logger without sinks");
    /* conf NULL means defaults. */
    char *dflt = path_join(dir, "defaults.log");
    lg = open_ok(dflt, NULL);
    CHECK_RC(write_str(lg, ALOG_LEVEL_DEBUG, "below the default level"), ALOG_OK);
    CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "default conf"), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    CHECK_U64(stats_of(lg).written, 1);
    free(dflt);

    lg = open_ok(path, conf);
    alog_conf_free(conf);

    CHECK_RC(alog_write(NULL, ALOG_LEVEL_INFO, "x", 1), ALOG_ERR_NULL);
    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, NULL, 5), ALOG_ERR_NULL);
    CHECK_RC(alog_write_record(NULL, &rec), ALOG_ERR_NULL);
    CHECK_RC(alog_write_record(lg, NULL), ALOG_ERR_NULL);
    rec.msg = NULL;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_NULL); /* msg_len 1 */
    rec = simple_record("m");
    rec.n_fields = 2; /* fields == NULL */
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_NULL);
    memset(&fld, 0, sizeof fld);
    fld.key = NULL;
    fld.key_len = 1;
    fld.kind = ALOG_FIELD_INT;
    rec.fields = &fld;
    rec.n_fields = 1;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_NULL); /* key NULL */
    fld.key = "k";
    fld.kind = ALOG_FIELD_STRING;
    fld.str = NULL;
    fld.str_len = 3;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_NULL); /* str NULL */
    fld.kind = 99;
    fld.str = "abc";
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_INVALID); /* unknown kind */
    CHECK_RC(alog_flush(NULL, 10), ALOG_ERR_NULL);
    CHECK_RC(alog_get_stats(NULL, &st), ALOG_ERR_NULL);
    CHECK_RC(alog_get_stats(lg, NULL), ALOG_ERR_NULL);
    CHECK_RC(alog_set_level(NULL, ALOG_LEVEL_INFO), ALOG_ERR_NULL);
    CHECK(alog_level_enabled(NULL, ALOG_LEVEL_INFO) == 0,
          "alog_level_enabled(NULL) is true");
    CHECK_RC(alog_last_error(NULL, err, sizeof err), ALOG_ERR_NULL);
    CHECK_RC(alog_last_error(lg, NULL, 10), ALOG_ERR_NULL);
    CHECK_RC(alog_close(NULL, 10), ALOG_OK);

    /* NULL with length 0 is an empty message. */
    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, NULL, 0), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    st = stats_of(lg);
    CHECK_U64(st.submitted, 1); /* none of the refused records counted */
    CHECK_U64(st.written, 1);

    lines ls = read_lines(path);
    CHECK_LINES(ls, 1);
    CHECK(is_ts(ls.v[0]), "no timestamp: [%s]", ls.v[0]);
    CHECK(strcmp(ls.v[0] + TS_LEN, " INFO") == 0 ||
              strcmp(ls.v[0] + TS_LEN, " INFO ") == 0,
          "empty message line is [%s]", ls.v[0]);
    free_lines(&ls);
    free(path);
}

/* A failed alog_conf_set must name the key and list the accepted values. */
static void expect_invalid(alog_conf *conf, const char *key, const char *value,
                           const char *const *mentions)
{
    char err[512] = "";
    alog_result rc = alog_conf_set(conf, key, value, err, sizeof err);
    CHECK(rc == ALOG_ERR_INVALID, "%s=%s returned %d (%s), expected ALOG_ERR_INVALID",
          key, value, (int)rc, alog_result_str(rc));
    for (; *mentions; mentions++)
        CHECK(strstr(err, *mentions) != NULL,
              "error for %s=%s does not mention \"%s\": [%s]", key, value,
              *mentions, err);
}

#define MENTIONS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_sink_stats_and_pool_args(const char *dir)
{
    char *path = path_join(dir, "sinks.log");
    alog_conf *conf = quiet_conf();
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);
    free(path);
    size_t n = 0;
    alog_sink_stats ss;
    CHECK_RC(alog_sink_count(NULL, &n), ALOG_ERR_NULL);
    CHECK_RC(alog_sink_count(lg, NULL), ALOG_ERR_NULL);
    CHECK_RC(alog_get_sink_stats(NULL, 0, &ss), ALOG_ERR_NULL);
    CHECK_RC(alog_get_sink_stats(lg, 0, NULL), ALOG_ERR_NULL);
    CHECK_RC(alog_get_sink_stats(lg, SIZE_MAX, &ss), ALOG_ERR_INVALID);
    CHECK_RC(alog_sink_count(lg, &n), ALOG_OK);
    CHECK_U64(n, 1);
    CHECK_RC(alog_get_sink_stats(lg, 0, &ss), ALOG_OK);
    CHECK(strcmp(ss.name, "file") == 0, "the main file sink is named %s", ss.name);
    CHECK_RC(alog_set_writer_threads(0), ALOG_ERR_INVALID);
    CHECK_RC(alog_set_writer_threads(17), ALOG_ERR_INVALID);
    CHECK_RC(alog_set_writer_threads(4), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    /* The counters stay readable after close. */
    CHECK_RC(alog_get_sink_stats(lg, 0, &ss), ALOG_OK);
}

static void test_bad_conf(void)
{
    char err[512] = "";
    alog_conf *conf = quiet_conf();

    expect_invalid(conf, "colour", "red", MENTIONS("colour"));
    expect_invalid(conf, "file.x.bogus", "1", MENTIONS("bogus"));
    expect_invalid(conf, "overflow", "sometimes",
                   MENTIONS("overflow", "block", "drop_newest", "drop_oldest", "warn"));
    expect_invalid(conf, "level", "loud",
                   MENTIONS("level", "trace", "debug", "info", "warn", "error", "fatal"));
    expect_invalid(conf, "level", "0", MENTIONS("level"));
    expect_invalid(conf, "level", "25", MENTIONS("level"));
    expect_invalid(conf, "queue_capacity", "-1", MENTIONS("queue_capacity"));
    expect_invalid(conf, "queue_capacity", "abc", MENTIONS("queue_capacity"));
    expect_invalid(conf, "queue_capacity", "99999999999999999999999",
                   MENTIONS("queue_capacity"));
    expect_invalid(conf, "batch_size", "many", MENTIONS("batch_size"));
    expect_invalid(conf, "format", "xml", MENTIONS("format", "text", "json"));
    expect_invalid(conf, "console", "printer",
                   MENTIONS("console", "none", "stdout", "stderr"));
    expect_invalid(conf, "console.level", "loud", MENTIONS("console.level", "info"));
    expect_invalid(conf, "fsync", "sometimes",
                   MENTIONS("fsync", "never", "batch", "interval", "close"));
    expect_invalid(conf, "sync", "maybe", MENTIONS("sync", "true", "false"));
    expect_invalid(conf, "file_mode", "999", MENTIONS("file_mode"));
    expect_invalid(conf, "file.x.format", "yaml", MENTIONS("format", "text", "json"));

    CHECK_RC(alog_conf_add_callback(conf, dummy_sink, NULL, ALOG_LEVEL_INFO, "xml",
                                    err, sizeof err), ALOG_ERR_INVALID);
    CHECK(strstr(err, "text") && strstr(err, "json"),
          "callback format error does not list text and json: [%s]", err);
    CHECK_RC(alog_conf_add_callback(conf, dummy_sink, NULL, -1, NULL, err, sizeof err),
             ALOG_ERR_INVALID);
    CHECK_RC(alog_conf_add_callback(conf, dummy_sink, NULL, 25, NULL, err, sizeof err),
             ALOG_ERR_INVALID);

    /* Numeric levels 1..24 and names are accepted. */
    conf_set_ok(conf, "level", "1");
    conf_set_ok(conf, "level", "24");
    conf_set_ok(conf, "level", "warn");
    alog_conf_free(conf);
}

/* errstr is always NUL-terminated within errstr_size and never overrun. */
static void test_errstr_truncation(void)
{
    char full[512] = "", buf[64];
    alog_conf *conf = quiet_conf();
    CHECK_RC(alog_conf_set(conf, "colour", "red", full, sizeof full), ALOG_ERR_INVALID);
    CHECK(strlen(full) > 8, "error message too short to test truncation: [%s]", full);

    memset(buf, '#', sizeof buf);
    CHECK_RC(alog_conf_set(conf, "colour", "red", buf, 0), ALOG_ERR_INVALID);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == '#', "errstr_size 0: byte %zu written", i);

    memset(buf, '#', sizeof buf);
    CHECK_RC(alog_conf_set(conf, "colour", "red", buf, 1), ALOG_ERR_INVALID);
    CHECK(buf[0] == '\0', "errstr_size 1: not an empty string");
    for (size_t i = 1; i < sizeof buf; i++)
        CHECK(buf[i] == '#', "errstr_size 1: byte %zu written", i);

    memset(buf, '#', sizeof buf);
    CHECK_RC(alog_conf_set(conf, "colour", "red", buf, 8), ALOG_ERR_INVALID);
    CHECK(buf[7] == '\0' && strlen(buf) == 7, "errstr_size 8: length %zu",
          strnlen(buf, sizeof buf));
    CHECK(memcmp(buf, full, 7) == 0, "errstr_size 8: [%s] is not a prefix of [%s]",
          buf, full);
    for (size_t i = 8; i < sizeof buf; i++)
        CHECK(buf[i] == '#', "errstr_size 8: byte %zu written", i);

    CHECK_RC(alog_conf_set(conf, "colour", "red", NULL, 100), ALOG_ERR_INVALID);
    CHECK_RC(alog_conf_set(conf, "colour", "red", NULL, 0), ALOG_ERR_INVALID);
    alog_conf_free(conf);
}

static void test_bad_paths(const char *dir)
{
    char err[512];
    char *blocker = path_join(dir, "file.txt");
    char *bad = path_join(dir, "file.txt/sub/x.log");
    alog_conf *conf = quiet_conf();
    alog_logger *lg;
    FILE *f = fopen(blocker, "w");
    CHECK_SYS(f != NULL);
    fputs("a regular file\n", f);
    fclose(f);

    /* Main file under a regular file. */
    err[0] = '\0';
    lg = (alog_logger *)&err; /* the header: *out is left untouched on failure */
    errno = 0;
    CHECK_RC(alog_open(bad, conf, &lg, err, sizeof err), ALOG_ERR_IO);
    CHECK(errno == ENOTDIR, "errno %d after an ALOG_ERR_IO for a path under a file, want ENOTDIR", errno);
    CHECK(lg == (alog_logger *)&err, "*out written on failure");
    CHECK(err[0] != '\0', "no error message for an impossible path");
    CHECK_CONTAINS(err, "file.txt");

    /* Truncated message for the same error. */
    memset(err, '#', sizeof err);
    CHECK_RC(alog_open(bad, conf, &lg, err, 8), ALOG_ERR_IO);
    CHECK(strnlen(err, 8) == 7 && err[8] == '#', "errstr_size 8 not respected");
    CHECK_RC(alog_open(bad, conf, &lg, NULL, 0), ALOG_ERR_IO);

    /* The path is a directory. */
    err[0] = '\0';
    errno = 0;
    CHECK_RC(alog_open(dir, conf, &lg, err, sizeof err), ALOG_ERR_IO);
    CHECK(errno == EISDIR, "errno %d after an ALOG_ERR_IO for a directory path, want EISDIR", errno);
    CHECK(err[0] != '\0', "no error message for a directory path");

    /* An extra sink with an impossible path fails the open too. */
    char *ok = path_join(dir, "fine.log");
    conf_set_ok(conf, "file.x.path", bad);
    err[0] = '\0';
    CHECK_RC(alog_open(ok, conf, &lg, err, sizeof err), ALOG_ERR_IO);
    CHECK(err[0] != '\0', "no error message for an impossible extra sink path");
    alog_conf_free(conf);
    free(ok);
    free(bad);
    free(blocker);
}

static void test_bad_levels(const char *dir)
{
    char *path = path_join(dir, "levels.log");
    alog_conf *conf = quiet_conf();
    conf_set_ok(conf, "level", "trace");
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);
    alog_record rec = simple_record("bad level");

    CHECK_RC(write_str(lg, 0, "level 0"), ALOG_ERR_INVALID);
    CHECK_RC(write_str(lg, 25, "level 25"), ALOG_ERR_INVALID);
    CHECK_RC(write_str(lg, -1, "level -1"), ALOG_ERR_INVALID);
    rec.level = 0;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_INVALID);
    rec.level = 25;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_INVALID);
    CHECK_RC(alog_set_level(lg, 0), ALOG_ERR_INVALID);
    CHECK_RC(alog_set_level(lg, 25), ALOG_ERR_INVALID);
    CHECK_RC(write_str(lg, 1, "level 1"), ALOG_OK);
    CHECK_RC(write_str(lg, 24, "level 24"), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, 2);
    lines ls = read_lines(path);
    CHECK_LINES(ls, 2);
    CHECK(strstr(ls.v[0], "level 1") && strstr(ls.v[1], "level 24"),
          "wrong records: [%s] [%s]", ls.v[0], ls.v[1]);
    free_lines(&ls);
    free(path);
}

/* 1 if the line is valid UTF-8 without control characters. */
static int clean_text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    while (p < e) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        size_t n = utf8_seq(p, e);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

static int contains_any(const char *hay, const char *const *needles)
{
    for (; *needles; needles++)
        if (strstr(hay, *needles))
            return 1;
    return 0;
}

#define LIT(s) s, sizeof(s) - 1

struct hostile {
    const char *msg;
    size_t len;
    const char *const *text; /* text line contains one of these */
    const char *const *json; /* json line contains one of these */
};

static void test_hostile_bytes(const char *dir)
{
    const struct hostile cases[] = {
        {LIT("bad \xff\xfe utf8"), MENTIONS("bad \\xff\\xfe utf8", "bad \\xFF\\xFE utf8"),
         MENTIONS("bad \xef\xbf\xbd\xef\xbf\xbd utf8", "bad \\ufffd\\ufffd utf8",
                  "bad \\uFFFD\\uFFFD utf8")},
        {LIT("line1\nline2"), MENTIONS("line1\\nline2"), MENTIONS("line1\\nline2")},
        {LIT("cr\rhere"), MENTIONS("cr\\rhere"), MENTIONS("cr\\rhere")},
        {LIT("nul\0byte"), MENTIONS("nul\\x00byte", "nul\\0byte", "nul\\u0000byte"),
         MENTIONS("nul\\u0000byte")},
        {LIT("tab\there"), MENTIONS("tab\\there"), MENTIONS("tab\\there")},
        {LIT("esc\x1b[31m"), MENTIONS("esc\\x1b[31m", "esc\\x1B[31m", "esc\\u001b[31m",
                                    "esc\\e[31m"),
         MENTIONS("esc\\u001b[31m", "esc\\u001B[31m")},
        {LIT("surrogate \xed\xa0\x80 cut \xe2\x82"), MENTIONS("surrogate \\x"),
         MENTIONS("surrogate \xef\xbf\xbd", "surrogate \\ufffd", "surrogate \\uFFFD")},
        {LIT("caf\xc3\xa9 \xf0\x9f\x98\x80"), MENTIONS("caf\xc3\xa9 \xf0\x9f\x98\x80"),
         MENTIONS("caf\xc3\xa9 \xf0\x9f\x98\x80")},
    };
    const size_t n = sizeof cases / sizeof cases[0];
    char *text = path_join(dir, "hostile.log");
    char *json = path_join(dir, "hostile.json");
    alog_conf *conf = quiet_conf();
    conf_set_ok(conf, "file.j.path", json);
    conf_set_ok(conf, "file.j.format", "json");
    alog_logger *lg = open_ok(text, conf);
    alog_conf_free(conf);

    for (size_t i = 0; i < n; i++)
        CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, cases[i].msg, cases[i].len), ALOG_OK);

    /* Hostile fields: odd key, bad bytes, non-finite floats, bad raw JSON. */
    alog_field fs[5];
    memset(fs, 0, sizeof fs);
    fs[0].key = "we\"ird\nkey";
    fs[0].key_len = strlen(fs[0].key);
    fs[0].kind = ALOG_FIELD_STRING;
    fs[0].str = "x\n\xff\0y";
    fs[0].str_len = 5;
    fs[1].key = "nan";
    fs[1].key_len = 3;
    fs[1].kind = ALOG_FIELD_FLOAT;
    fs[1].f64 = __builtin_nan("");
    fs[2].key = "inf";
    fs[2].key_len = 3;
    fs[2].kind = ALOG_FIELD_FLOAT;
    fs[2].f64 = -__builtin_inf();
    fs[3].key = "bool2";
    fs[3].key_len = 5;
    fs[3].kind = ALOG_FIELD_BOOL;
    fs[3].i64 = 0;
    fs[4].key = "raw";
    fs[4].key_len = 3;
    fs[4].kind = ALOG_FIELD_JSON;
    fs[4].str = "{not json";
    fs[4].str_len = 9;
    alog_record rec = simple_record("fields");
    rec.fields = fs;
    rec.n_fields = 4;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_OK);
    /* Invalid pre-encoded JSON: refused, or written so the line stays valid. */
    rec.n_fields = 5;
    alog_result raw_rc = alog_write_record(lg, &rec);
    CHECK(raw_rc == ALOG_OK || raw_rc == ALOG_ERR_INVALID,
          "invalid JSON field returned %d (%s)", (int)raw_rc, alog_result_str(raw_rc));
    size_t records = n + 1 + (raw_rc == ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);

    lines lt = read_lines(text), lj = read_lines(json);
    CHECK_LINES(lt, records);
    CHECK_LINES(lj, records);
    for (size_t i = 0; i < records; i++) {
        CHECK(clean_text(lt.v[i], lt.len[i]),
              "text line %zu has raw control characters or invalid UTF-8: [%s]", i,
              lt.v[i]);
        CHECK_JSON(lj.v[i], lj.len[i]);
    }
    for (size_t i = 0; i < n; i++) {
        CHECK(contains_any(lt.v[i], cases[i].text), "text line %zu not escaped as "
              "expected (e.g. [%s]): [%s]", i, cases[i].text[0], lt.v[i]);
        CHECK(contains_any(lj.v[i], cases[i].json), "json line %zu not escaped as "
              "expected (e.g. [%s]): [%s]", i, cases[i].json[0], lj.v[i]);
    }
    CHECK_CONTAINS(lj.v[n], "\"bool2\":false");
    free_lines(&lt);
    free_lines(&lj);
    free(text);
    free(json);
}

static void test_sizes(const char *dir)
{
    const size_t mib = 1048576;
    char *path = path_join(dir, "big.log");
    char *msg = malloc(mib + 1);
    CHECK(msg != NULL, "out of memory");
    memset(msg, 'x', mib + 1);
    alog_conf *conf = quiet_conf();
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);

    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, mib), ALOG_OK);
    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, mib + 1), ALOG_ERR_TOO_LARGE);
    alog_record rec = simple_record("");
    rec.msg = msg;
    rec.msg_len = mib + 1;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_TOO_LARGE);
    /* Lengths no buffer can have (a failed snprintf's -1 used as a length), with the parts
     * whose lengths are added up: refused before anything is read. */
    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, "x", (size_t)-1), ALOG_ERR_TOO_LARGE);
    alog_field f = {.key = "k", .key_len = 1, .kind = ALOG_FIELD_STRING, .str = "v", .str_len = 1};
    rec = simple_record("m");
    rec.fields = &f;
    rec.n_fields = 1;
    rec.file = "a.c";
    rec.file_len = 3;
    rec.func = "main";
    rec.func_len = 4;
    for (int part = 0; part < 5; part++) {
        alog_record bad = rec;
        alog_field bad_field = f;
        bad.fields = &bad_field;
        switch (part) {
        case 0: bad.msg_len = (size_t)-1; break;
        case 1: bad.file_len = (size_t)-1; break;
        case 2: bad.func_len = (size_t)-1 - 8; break;
        case 3: bad_field.key_len = (size_t)-1; break;
        default: bad_field.str_len = ((size_t)-1) / 2; break;
        }
        CHECK(alog_write_record(lg, &bad) == ALOG_ERR_TOO_LARGE, "part %d not refused", part);
    }
    rec.n_fields = ((size_t)-1) / 8;
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_TOO_LARGE);
    CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "after"), ALOG_OK);
    CHECK_U64(stats_of(lg).submitted, 2);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, 2);
    CHECK_U64(st.written, 2);
    CHECK_U64(st.dropped + st.failed, 0);

    lines ls = read_lines(path);
    CHECK_LINES(ls, 2);
    CHECK(strncmp(ls.v[0] + TS_LEN, " INFO x", 7) == 0, "bad big line start");
    CHECK_U64(ls.len[0], TS_LEN + 6 + mib);
    CHECK(strspn(ls.v[0] + TS_LEN + 6, "x") == mib, "big message altered");
    CHECK_STR(ls.v[1] + TS_LEN, " INFO after");
    free_lines(&ls);

    /* A configured limit. */
    free(path);
    path = path_join(dir, "limit.log");
    conf = quiet_conf();
    conf_set_ok(conf, "max_message_bytes", "16");
    lg = open_ok(path, conf);
    alog_conf_free(conf);
    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, 16), ALOG_OK);
    CHECK_RC(alog_write(lg, ALOG_LEVEL_INFO, msg, 17), ALOG_ERR_TOO_LARGE);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    CHECK_U64(stats_of(lg).written, 1);
    free(path);
    free(msg);
}

/* A small queue_capacity must work with the default batch_size (1024) and
 * with a larger explicit one: batch_size is capped at half of queue_capacity. */
static void test_small_queue(const char *dir)
{
    for (int explicit_batch = 0; explicit_batch < 2; explicit_batch++) {
        char *path = path_join(dir, "small.log");
        alog_conf *conf = quiet_conf();
        conf_set_ok(conf, "queue_capacity", "16");
        if (explicit_batch)
            conf_set_ok(conf, "batch_size", "32");
        alog_logger *lg = open_ok(path, conf);
        alog_conf_free(conf);
        for (int i = 0; i < 100; i++)
            CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "small queue"), ALOG_OK);
        CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
        alog_stats st = stats_of(lg);
        CHECK_U64(st.queue_capacity, 16);
        CHECK_U64(st.written, 100);
        free(path);
    }
}

/* A sink slow enough that a short close times out: it counts the records it saw. */
static void slow_sink(void *userdata, int32_t level, const char *line, size_t len)
{
    (void)level, (void)line, (void)len;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    __atomic_add_fetch((long *)userdata, 1, __ATOMIC_SEQ_CST);
}

/* After a close that timed out, a later close waits for the writer to finish (its sinks and
 * callbacks are done when it returns ALOG_ERR_CLOSED), so userdata can then be freed. */
static void test_close_after_timeout(void)
{
    long *seen = calloc(1, sizeof *seen);
    CHECK(seen != NULL, "out of memory");
    char err[256];
    alog_conf *conf = quiet_conf();
    CHECK_RC(alog_conf_add_callback(conf, slow_sink, seen, 0, NULL, err, sizeof err), ALOG_OK);
    alog_logger *lg = open_ok(NULL, conf);
    alog_conf_free(conf);
    for (int i = 0; i < 200; i++)
        CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "slow"), ALOG_OK);
    CHECK_RC(alog_close(lg, 20), ALOG_ERR_TIMEOUT);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_ERR_CLOSED);
    long done = __atomic_load_n(seen, __ATOMIC_SEQ_CST);
    CHECK(done == 200, "the sink saw %ld of 200 records when close returned", done);
    alog_stats st = stats_of(lg);
    CHECK_U64(st.written, 200);
    CHECK_U64(st.pending, 0);
    free(seen); /* nothing calls the sink any more */
    CHECK_RC(alog_close(lg, 0), ALOG_ERR_CLOSED);
}

static void test_after_close(const char *dir)
{
    char *path = path_join(dir, "closed.log");
    alog_conf *conf = quiet_conf();
    alog_logger *lg = open_ok(path, conf);
    alog_conf_free(conf);
    alog_record rec = simple_record("late");

    CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "before"), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_OK);
    CHECK_RC(alog_close(lg, ALOG_TIMEOUT_INFINITE), ALOG_ERR_CLOSED);
    CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "late"), ALOG_ERR_CLOSED);
    CHECK_RC(alog_write_record(lg, &rec), ALOG_ERR_CLOSED);
    CHECK_RC(alog_flush(lg, 100), ALOG_ERR_CLOSED);
    CHECK_RC(alog_close(lg, 0), ALOG_ERR_CLOSED);
    CHECK_RC(alog_set_level(lg, ALOG_LEVEL_DEBUG), ALOG_ERR_CLOSED);
    CHECK(alog_level_enabled(lg, ALOG_LEVEL_INFO) == 1 &&
              alog_level_enabled(lg, ALOG_LEVEL_DEBUG) == 0,
          "alog_level_enabled after close does not answer by the level");
    char last[64] = "x";
    CHECK_RC(alog_last_error(lg, last, sizeof last), ALOG_OK);
    CHECK(last[0] == '\0', "last error after a clean close: [%s]", last);

    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, 1);
    CHECK_U64(st.written, 1);
    lines ls = read_lines(path);
    CHECK_LINES(ls, 1);
    free_lines(&ls);
    free(path);
}

/* Write errors (EFBIG from a regular file as large as its file system allows;
 * alog refuses a device such as /dev/full as a log path) are counted as failed,
 * reported to the error callback and kept as the last error; nothing blocks. */
struct io_errors {
    pthread_mutex_t mu;
    int calls;
    alog_result code;
};

static void on_io_error(void *ud, alog_result code, const char *message)
{
    struct io_errors *e = ud;
    pthread_mutex_lock(&e->mu);
    if (e->calls++ == 0)
        e->code = code;
    CHECK(message != NULL && message[0] != '\0', "error callback without message");
    pthread_mutex_unlock(&e->mu);
}

static char *full_file(const char *dir)
{
    char *p = path_join(dir, "full.log");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK_SYS(fd >= 0);
    off_t lo = 0, hi = INT64_MAX;
    while (lo < hi) {
        off_t mid = lo + (hi - lo) / 2 + 1;
        if (ftruncate(fd, mid) == 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    CHECK_SYS(ftruncate(fd, lo) == 0);
    close(fd);
    return p;
}

static void test_write_errors(const char *dir)
{
    struct io_errors errs = {PTHREAD_MUTEX_INITIALIZER, 0, ALOG_OK};
    char last[256] = "";
    char *full = full_file(dir);
    alog_conf *conf = quiet_conf();
    conf_set_ok(conf, "write_retries", "0");
    CHECK_RC(alog_conf_set_error_callback(conf, on_io_error, &errs), ALOG_OK);
    alog_logger *lg = open_ok(full, conf);
    free(full);
    alog_conf_free(conf);
    CHECK_RC(alog_last_error(lg, last, sizeof last), ALOG_OK);
    CHECK(last[0] == '\0', "last error before any error: [%s]", last);
    for (int i = 0; i < 5; i++)
        CHECK_RC(write_str(lg, ALOG_LEVEL_INFO, "into the void"), ALOG_OK);
    alog_result rc = alog_close(lg, ALOG_TIMEOUT_INFINITE);
    CHECK(rc == ALOG_OK || rc == ALOG_ERR_IO, "close after write errors returned %d (%s)",
          (int)rc, alog_result_str(rc));

    alog_stats st = stats_of(lg);
    CHECK_U64(st.submitted, 5);
    CHECK_U64(st.failed, 5);
    CHECK_U64(st.written, 0);
    CHECK_U64(st.pending, 0);
    CHECK(st.write_errors > 0, "write_errors not counted");
    CHECK(errs.calls > 0, "error callback never called");
    CHECK_RC(errs.code, ALOG_ERR_IO);
    CHECK_RC(alog_last_error(lg, last, sizeof last), ALOG_OK);
    CHECK(last[0] != '\0', "no last error after write errors");
}

int main(void)
{
    char *dir = make_tmpdir("badinput");
    watchdog(120, "badinput");
    test_result_str();
    test_sink_stats_and_pool_args(dir);
    test_null_args(dir);
    test_bad_conf();
    test_errstr_truncation();
    test_bad_paths(dir);
    test_bad_levels(dir);
    test_hostile_bytes(dir);
    test_sizes(dir);
    test_after_close(dir);
    test_close_after_timeout();
    test_write_errors(dir);
    test_small_queue(dir);
    remove_tmpdir(dir);
    printf("badinput: ok\n");
    return 0;
}
