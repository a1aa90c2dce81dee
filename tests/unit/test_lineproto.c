/* Line protocol escaping, number formats, whole-line building, reading our
 * own lines back, and the nearest-rank percentiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lineproto.h"

static char *esc(const char *s, enum lp_kind k)
{
	static char out[512];
	struct buf b;

	buf_init(&b, 4096);
	assert_true(lp_escape(&b, s, k) >= 0);
	str_copy(out, b.data ? b.data : "", sizeof(out));
	buf_free(&b);
	return out;
}

static void test_escape_measurement(void **state)
{
	(void)state;
	assert_string_equal(esc("ant agent,x=1", LP_MEASUREMENT), "ant\\ agent\\,x=1");
	assert_string_equal(esc("_internal", LP_MEASUREMENT), "internal");
	assert_string_equal(esc("plain", LP_MEASUREMENT), "plain");
}

static void test_escape_tags_and_keys(void **state)
{
	(void)state;
	assert_string_equal(esc("a b,c=d", LP_TAG_VALUE), "a\\ b\\,c\\=d");
	assert_string_equal(esc("a b,c=d", LP_TAG_KEY), "a\\ b\\,c\\=d");
	assert_string_equal(esc("a b,c=d", LP_FIELD_KEY), "a\\ b\\,c\\=d");
	/* Names lose leading underscores; tag values keep them. */
	assert_string_equal(esc("__key", LP_TAG_KEY), "key");
	assert_string_equal(esc("_f", LP_FIELD_KEY), "f");
	assert_string_equal(esc("_v", LP_TAG_VALUE), "_v");
	/* A backslash would escape the next separator: it becomes '/'. */
	assert_string_equal(esc("end\\", LP_TAG_VALUE), "end/");
	assert_string_equal(esc("a\\,b", LP_TAG_VALUE), "a/\\,b");
	/* Double quotes are ordinary in tags. */
	assert_string_equal(esc("\"xx\"", LP_TAG_VALUE), "\"xx\"");
}

static void test_escape_strings(void **state)
{
	(void)state;
	assert_string_equal(esc("say \"hi\" \\o/", LP_STRING), "say \\\"hi\\\" \\\\o/");
	assert_string_equal(esc("a,b=c d", LP_STRING), "a,b=c d");
}

static void test_escape_control_and_utf8(void **state)
{
	(void)state;
	/* Newlines and other control bytes can never split a line. */
	assert_string_equal(esc("a\nb\rc\td", LP_TAG_VALUE), "a\\ b\\ c\\ d");
	assert_string_equal(esc("a\nb", LP_STRING), "a b");
	assert_string_equal(esc("x\x7fy", LP_FIELD_KEY), "x\\ y");
	/* UTF-8 passes through; broken UTF-8 becomes '?'. */
	assert_string_equal(esc("Zürich 東京", LP_TAG_VALUE), "Zürich\\ 東京");
	assert_string_equal(esc("caf\xc3", LP_TAG_VALUE), "caf?");
	assert_string_equal(esc("\xff\xfe", LP_STRING), "??");
	assert_string_equal(esc("\xed\xa0\x80", LP_STRING), "???"); /* a surrogate */
	assert_string_equal(esc("\xc0\xaf", LP_STRING), "??");      /* overlong '/' */
}

static void test_line_building(void **state)
{
	struct lp_line l;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	lp_begin(&l, &b, "ant_agent");
	lp_tag(&l, "agent", "a 1");
	lp_tag(&l, "empty", "");
	lp_tag(&l, "null", NULL);
	lp_tag(&l, "ctl", "\x01");
	lp_field_float(&l, "exec_time", 2.5);
	lp_field_float(&l, "whole", 3.0);
	lp_field_float(&l, "nan", NAN);
	lp_field_int(&l, "ok", 1);
	lp_field_int(&l, "neg", -42);
	lp_field_uint(&l, "bytes", UINT64_MAX);
	lp_field_str(&l, "address", "ab\"c");
	assert_int_equal(lp_end(&l, 1700000000123456789LL), 0);
	/* A control byte alone becomes an (escaped) space: the tag stays. */
	assert_string_equal(b.data,
			    "ant_agent,agent=a\\ 1,ctl=\\  exec_time=2.5,whole=3.0,ok=1i,neg=-42i,"
			    "bytes=9223372036854775807i,address=\"ab\\\"c\" 1700000000123456789\n");

	/* A line without fields is dropped whole. */
	buf_reset(&b);
	buf_append(&b, "keep\n", 5);
	lp_begin(&l, &b, "m");
	lp_tag(&l, "t", "v");
	assert_int_equal(lp_end(&l, 1), -1);
	assert_string_equal(b.data, "keep\n");
	/* So is a line with an empty name. */
	lp_begin(&l, &b, "___");
	lp_field_int(&l, "f", 1);
	assert_int_equal(lp_end(&l, 1), -1);
	assert_string_equal(b.data, "keep\n");
	/* A tag after a field is refused. */
	lp_begin(&l, &b, "m");
	lp_field_int(&l, "f", 1);
	lp_tag(&l, "late", "x");
	assert_int_equal(lp_end(&l, 1), -1);
	assert_string_equal(b.data, "keep\n");
	buf_free(&b);

	/* The cap is never passed by a partial line. */
	buf_init(&b, 40);
	buf_append(&b, "x\n", 2);
	lp_begin(&l, &b, "measurement");
	lp_tag(&l, "tag", "a fairly long value that does not fit");
	lp_field_int(&l, "f", 1);
	assert_int_equal(lp_end(&l, 1), -1);
	assert_int_equal(b.len, 2);
	buf_free(&b);
}

static void test_float_format(void **state)
{
	char s[40];

	(void)state;
	lp_format_float(s, sizeof(s), 0.1);
	assert_string_equal(s, "0.1");
	lp_format_float(s, sizeof(s), 12.0);
	assert_string_equal(s, "12.0");
	lp_format_float(s, sizeof(s), -0.0);
	assert_string_equal(s, "0.0");
	lp_format_float(s, sizeof(s), 1e21);
	assert_string_equal(s, "1e+21");
	lp_format_float(s, sizeof(s), 1.5e-7);
	assert_string_equal(s, "1.5e-07");
	lp_format_float(s, sizeof(s), 123456789.25);
	assert_string_equal(s, "123456789.25");
	lp_format_float(s, sizeof(s), 0.0001);
	assert_string_equal(s, "0.0001");
	lp_format_float(s, sizeof(s), -2.000001);
	assert_string_equal(s, "-2.000001");

	/* The fast path for short decimals prints what "%.15g" prints. */
	for (int i = 0; i < 200000; i++) {
		double v = (double)((i * 7919) % 100000000) / (i % 3 ? 1000.0 : 1e6);
		char ref[40];

		if (v == 0)
			continue;
		lp_format_float(s, sizeof(s), v);
		snprintf(ref, sizeof(ref), "%.15g", v);
		if (!strpbrk(ref, ".e"))
			memcpy(ref + strlen(ref), ".0", 3);
		assert_string_equal(s, ref);
	}
}

static struct lp_point pt;

/* The values written straight into memory are the ones the field calls
 * write, and what printf prints. */
static void test_put_numbers(void **state)
{
	static const int64_t v[] = { 0, 1, 9, 10, 99, 100, 101, 12345678, 99999999, 100000000,
				     1700000400000892291LL, 9999999999999999LL, 10000000000000000LL,
				     INT64_MAX, -1, -10, -100000000, INT64_MIN };
	char out[LP_NUM_MAX + 1], want[64];
	char *end;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		end = lp_put_int(out, v[i]);
		*end = '\0';
		snprintf(want, sizeof(want), "%lldi", (long long)v[i]);
		assert_string_equal(out, want);
		end = lp_put_ts(out, v[i]);
		*end = '\0';
		snprintf(want, sizeof(want), " %lld\n", (long long)v[i]);
		assert_string_equal(out, want);
		if (v[i] >= 0) {
			end = lp_put_uint(out, (uint64_t)v[i]);
			*end = '\0';
			snprintf(want, sizeof(want), "%lldi", (long long)v[i]);
			assert_string_equal(out, want);
		}
	}
	end = lp_put_uint(out, UINT64_MAX);
	*end = '\0';
	assert_string_equal(out, "9223372036854775807i");
}

/* Floats with up to six decimals take a path without printf; it must print
 * what "%.15g" prints (with ".0" added to whole numbers), for random values
 * of every magnitude it takes and of the ones around it. */
static void test_float_fast_path(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dULL;
	char got[40], want[40];

	(void)state;
	for (int i = 0; i < 200000; i++) {
		double v;
		int len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (double)(x % 1000000000000000ULL) / 1e6 / (double)(1ULL << (x >> 60));
		if (i % 3 == 0)
			v = round(v * 1000.0) / 1000.0;
		if (i % 7 == 0)
			v = -v;
		if (v == 0.0)
			continue;
		lp_format_float(got, sizeof(got), v);
		len = snprintf(want, sizeof(want), "%.15g", v);
		if (!strpbrk(want, ".e"))
			memcpy(want + len, ".0", 3);
		assert_string_equal(got, want);
	}
}

static void test_parse_round_trip(void **state)
{
	const char *line = "ant\\ agent,agent=a\\ 1,x=b\\,c\\=d f=1.5,i=-3i,u=4u,t=true,"
			   "s=\"q\\\"uo\\\\te, =\" 1700000000000000001";
	char err[64];

	(void)state;
	assert_int_equal(lp_parse(line, strlen(line), &pt, err, sizeof(err)), 0);
	assert_string_equal(pt.measurement, "ant agent");
	assert_int_equal(pt.ntags, 2);
	assert_string_equal(lp_point_tag(&pt, "agent")->str, "a 1");
	assert_string_equal(lp_point_tag(&pt, "x")->str, "b,c=d");
	assert_int_equal(pt.nfields, 5);
	assert_int_equal(lp_point_field(&pt, "f")->type, LP_F_FLOAT);
	assert_true(lp_point_field(&pt, "f")->f == 1.5);
	assert_int_equal(lp_point_field(&pt, "i")->type, LP_F_INT);
	assert_int_equal(lp_point_field(&pt, "i")->i, -3);
	assert_int_equal(lp_point_field(&pt, "u")->type, LP_F_UINT);
	assert_int_equal(lp_point_field(&pt, "t")->type, LP_F_BOOL);
	assert_string_equal(lp_point_field(&pt, "s")->str, "q\"uo\\te, =");
	assert_true(pt.has_ts);
	assert_int_equal(pt.ts, 1700000000000000001LL);
	assert_null(lp_point_field(&pt, "missing"));

	/* No timestamp is fine; broken lines are refused with a reason. */
	assert_int_equal(lp_parse("m f=1i", 6, &pt, err, sizeof(err)), 0);
	assert_false(pt.has_ts);
	assert_int_equal(lp_parse("m", 1, &pt, err, sizeof(err)), -1);
	assert_int_equal(lp_parse("m,t= f=1", 8, &pt, err, sizeof(err)), -1);
	assert_int_equal(lp_parse("m f=", 4, &pt, err, sizeof(err)), -1);
	assert_int_equal(lp_parse("m f=1x", 6, &pt, err, sizeof(err)), -1);
	assert_int_equal(lp_parse("m f=\"open", 9, &pt, err, sizeof(err)), -1);
	assert_int_equal(lp_parse("m f=1 12x", 9, &pt, err, sizeof(err)), -1);
	assert_int_equal(lp_parse(" f=1", 4, &pt, err, sizeof(err)), -1);
}

/* What we write must read back the same, whatever the input bytes. */
static void test_build_then_parse(void **state)
{
	static const char *const values[] = {
		"plain", "with space", "com,ma", "eq=ual", "quo\"te", "back\\slash\\",
		"new\nline", "ünï", "_lead", "tab\there",
	};
	struct lp_line l;
	struct buf b;
	char err[64];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		buf_init(&b, 4096);
		lp_begin(&l, &b, values[i]);
		lp_tag(&l, values[i], values[i]);
		lp_field_str(&l, values[i], values[i]);
		lp_field_int(&l, "n", 1);
		assert_int_equal(lp_end(&l, 5), 0);
		assert_non_null(strchr(b.data, '\n'));
		assert_true(strchr(b.data, '\n') == b.data + b.len - 1);
		assert_int_equal(lp_parse(b.data, b.len - 1, &pt, err, sizeof(err)), 0);
		assert_int_equal(pt.ntags, 1);
		assert_int_equal(pt.nfields, 2);
		assert_int_equal(pt.ts, 5);
		assert_true(pt.measurement[0] != '_');
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_measurement),
		cmocka_unit_test(test_escape_tags_and_keys),
		cmocka_unit_test(test_escape_strings),
		cmocka_unit_test(test_escape_control_and_utf8),
		cmocka_unit_test(test_line_building),
		cmocka_unit_test(test_float_format),
		cmocka_unit_test(test_put_numbers),
		cmocka_unit_test(test_float_fast_path),
		cmocka_unit_test(test_parse_round_trip),
		cmocka_unit_test(test_build_then_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
