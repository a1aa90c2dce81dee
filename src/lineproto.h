/*
 * lineproto.h - InfluxDB line protocol: escaping, building one line at a
 * time into a capped buffer, and reading our own lines back.
 *
 *     measurement,tag=value,tag=value field=1i,field=2.5,field="text" 1700000000000000000
 *
 * Rules applied when writing (so every line is accepted by a real server):
 *  - measurement: ',' and ' ' are escaped with a backslash;
 *  - tag keys, tag values and field keys: ',', '=' and ' ' are escaped;
 *  - string field values are quoted; '"' and '\' inside are escaped;
 *  - a backslash in a name or tag is written as '/': the server's scanner
 *    treats '\' as an escape of the next byte, so a literal one before a
 *    separator (or at the end) would break the line;
 *  - control characters (newline, tab, ...) become a space, which is then
 *    escaped like any other space: nothing can split a line;
 *  - invalid UTF-8 bytes become '?'; valid UTF-8 passes through;
 *  - names (measurement, tag keys, field keys) lose leading underscores,
 *    which InfluxDB reserves;
 *  - a tag whose value is empty is left out (the server would reject it);
 *  - integers carry an 'i' suffix; floats always have a '.' or an exponent;
 *    NaN and infinities are left out (line protocol has no spelling for them);
 *  - timestamps are integer nanoseconds since the epoch.
 */
#ifndef ANT_LINEPROTO_H
#define ANT_LINEPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum lp_kind {
	LP_MEASUREMENT,
	LP_TAG_KEY,
	LP_TAG_VALUE,
	LP_FIELD_KEY,
	LP_STRING,        /* string field value, without the quotes */
};

/* Append s escaped for the given position. Returns the number of bytes of
 * the escaped text (0 when nothing was left, e.g. an empty name), or -1
 * when the buffer cap was hit. */
int lp_escape(struct buf *b, const char *s, enum lp_kind kind);

/* One line being built. Tags must all come before the first field. Any
 * problem (cap hit, empty name, no field at all) makes lp_end drop the
 * whole line, so a buffer only ever holds complete lines. */
struct lp_line {
	struct buf *b;
	size_t start;     /* where the line began in b */
	int nfields;
	bool bad;
};

void lp_begin(struct lp_line *l, struct buf *b, const char *measurement);
/* Empty or missing values leave the tag out. */
void lp_tag(struct lp_line *l, const char *key, const char *value);
/* Append text that is already escaped, e.g. a tag set built once with
 * lp_escape (",agent=a1,country=uk"). Only before the first field. */
void lp_raw_tags(struct lp_line *l, const char *escaped, size_t n);
void lp_field_int(struct lp_line *l, const char *key, int64_t v);
void lp_field_uint(struct lp_line *l, const char *key, uint64_t v);
/* Not finite: the field is left out. */
void lp_field_float(struct lp_line *l, const char *key, double v);
void lp_field_str(struct lp_line *l, const char *key, const char *v);
/* Finish with a timestamp in ns and a newline. Returns 0, or -1 when the
 * line was dropped (the buffer is back to where the line began). */
int lp_end(struct lp_line *l, int64_t ts_ns);

/* Format a float the way lp_field_float does ("2.5", "3.0", "1e+21").
 * Returns the length written (n >= 32 is always enough). */
size_t lp_format_float(char *out, size_t n, double v);

/* Values written straight into memory, for a writer that builds lines from
 * pieces made once (metrics.c): the same bytes the calls above write.
 * Each needs LP_NUM_MAX bytes at out and returns the end. */
#define LP_NUM_MAX 24
/* A field value as lp_field_int writes it: "-12i". */
char *lp_put_int(char *out, int64_t v);
/* As lp_field_uint writes it: "12i", capped at INT64_MAX. */
char *lp_put_uint(char *out, uint64_t v);
/* The end of a line as lp_end writes it: " 1700000000000000000\n". */
char *lp_put_ts(char *out, int64_t ts_ns);

/* --- Reading lines back (used by the report) --- */

#define LP_PARSE_MAX_TAGS 32
#define LP_PARSE_MAX_FIELDS 64
#define LP_PARSE_MAX_LINE 65536

enum lp_ftype { LP_F_FLOAT, LP_F_INT, LP_F_UINT, LP_F_STRING, LP_F_BOOL };

struct lp_kv {
	const char *key;
	const char *str;       /* tag value or string field, unescaped */
	enum lp_ftype type;    /* fields only */
	double f;
	int64_t i;             /* int, uint (capped) and bool */
};

/* A parsed line. Strings point into `store`, owned by the point. */
struct lp_point {
	const char *measurement;
	struct lp_kv tags[LP_PARSE_MAX_TAGS];
	int ntags;
	struct lp_kv fields[LP_PARSE_MAX_FIELDS];
	int nfields;
	bool has_ts;
	int64_t ts;
	char store[LP_PARSE_MAX_LINE + 1];
};

/* Parse one line (without its newline). Returns 0, or -1 with a short
 * reason in err. */
int lp_parse(const char *line, size_t len, struct lp_point *p, char *err, size_t errlen);
const struct lp_kv *lp_point_tag(const struct lp_point *p, const char *key);
const struct lp_kv *lp_point_field(const struct lp_point *p, const char *key);

#endif
