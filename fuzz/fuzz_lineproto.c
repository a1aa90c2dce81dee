/*
 * fuzz_lineproto - the line-protocol reader (lp_parse, used by `report`)
 * on arbitrary lines, and the writer against the reader: any text put
 * through the escaping as a measurement, tag or string field either makes
 * a line the reader accepts with the same number of tags and fields, or
 * no line at all. A line that the writer emits and the reader refuses
 * would be a line a real InfluxDB server could refuse too.
 */
#include "fuzz.h"
#include "lineproto.h"
#include "util.h"

#define FUZZ_CAP (64 * 1024)

static struct lp_point g_point;  /* large (the line store): not on the stack */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void parse_lines(const char *data, size_t size)
{
	const char *p = data, *end = data + size;
	char err[128];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		(void)lp_parse(p, (size_t)(le - p), &g_point, err, sizeof(err));
		p = nl ? nl + 1 : end;
	}
}

static void round_trip(const char *text)
{
	struct lp_line l;
	struct buf b;
	char err[128];

	buf_init(&b, LP_PARSE_MAX_LINE);
	lp_begin(&l, &b, text);
	lp_tag(&l, "agent", text);
	lp_tag(&l, text, "x");
	lp_field_str(&l, "address", text);
	lp_field_int(&l, "ok", 1);
	lp_field_float(&l, text, 2.5);
	if (lp_end(&l, 1700000000000000000LL) == 0) {
		if (b.len == 0 || b.data[b.len - 1] != '\n' || memchr(b.data, '\n', b.len) != b.data + b.len - 1)
			abort();
		if (lp_parse(b.data, b.len - 1, &g_point, err, sizeof(err)) != 0)
			abort();
		if (g_point.nfields < 2 || g_point.ts != 1700000000000000000LL)
			abort();
	} else if (b.len != 0) {
		abort(); /* a dropped line leaves nothing behind */
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *text;

	if (size > FUZZ_CAP)
		return 0;
	copy = fuzz_dup(data, size);
	text = fuzz_str(data, size < 4096 ? size : 4096);
	if (copy != NULL)
		parse_lines(copy, size);
	if (text != NULL)
		round_trip(text);
	free(copy);
	free(text);
	return 0;
}
