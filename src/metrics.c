/*
 * metrics.c - test records in memory, one-minute rollups, the line-protocol
 * files and their rotation, and the agent id.
 *
 * A record is about 56 bytes plus its address (kept in a side arena), so
 * even a day of a failing disk fits in a few megabytes. Timestamps are
 * fixed when a record is taken: the test's start in ns, with the
 * sub-millisecond part taken from a sequence that starts at a random value.
 * InfluxDB keeps one point per series and timestamp, so two workers of
 * one task that start in the same millisecond must not share a timestamp;
 * the sequence keeps them apart (it would have to wrap 10^6 times within
 * one millisecond to collide), and the random start keeps a restarted
 * agent's points apart from the ones it wrote before. Writing the same
 * record twice (after a failed flush) gives the same line, which the
 * server just overwrites.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "influx.h"
#include "lineproto.h"
#include "log.h"
#include "stats.h"
#include "version.h"

#define NS_PER_MS 1000000LL
#define MS_PER_MIN 60000LL
#define TAGS_MAX 1024
/* Room kept in a chunk for one more line: a line is well under 4 KiB
 * (tags are capped at TAGS_MAX, an address at CAT_ADDRESS_MAX). */
#define METRICS_LINE_MARGIN (16 * 1024)
/* The nine outcome fields of a line: ",ok=1i,md5checker=0i,...", 127 bytes. */
#define OUTCOME_MAX 160
/* Bytes of a line besides its head, kind and status tags, address and
 * reason code: the task tag, the keys and the numbers (each under
 * LP_NUM_MAX, floats under 40), the outcome fields. About 500 at most;
 * the margin is generous. */
#define LINE_FIXED_MAX 1024

enum {
	MREC_SUM_DONE = 2,   /* counted in an ant_agent_summary line */
	MREC_MD5_CHECKED = 4,
	MREC_MD5_VALID = 8,
	MREC_HAS_COST = 16,
	MREC_HAS_CHUNKS = 32,
	MREC_HAS_GAS = 64,
	MREC_VIA_GATEWAY = 128,
	MREC_ALREADY_STORED = 256,
	MREC_PRIVATE = 512,
};

/* One cached test result: what its line and its rollup need, no more. */
struct mrec {
	int64_t ts_ns;       /* the line's timestamp (start + sequence) */
	double exec_time;
	uint64_t cost_atto;
	uint64_t gas_wei;        /* printed only with MREC_HAS_GAS */
	uint64_t bytes;
	uint64_t spent_day_atto; /* upload: the day's spend after it */
	uint32_t chunks_stored, chunks_existing;
	int32_t end_min;     /* schedule minute (since the epoch) it was taken */
	uint32_t addr;       /* offset + 1 of the address (or skip reason) in the arena, 0 = none */
	int32_t exit_code;
	uint16_t task, worker, attempt;
	uint8_t type, size, status;
	uint16_t flags;
	uint8_t why;         /* enum test_reason of a skipped or stopped test */
};

static struct {
	bool ready;
	struct mrec *recs;
	size_t n, alloc, max;
	/* recs[0 .. lines_done) have their ant_agent line in METRICS_FILE. A
	 * flush writes the lines of all the others or of none, and records are
	 * only ever appended, so the written ones are always the first. */
	size_t lines_done;
	char *arena;             /* NUL-terminated addresses */
	size_t arena_len, arena_alloc;
	uint32_t seq;            /* sub-millisecond part of timestamps */
	char agent_id[METRICS_AGENT_ID_MAX + 1];
	char client_version[METRICS_VERSION_MAX + 1];
	char tags[TAGS_MAX];     /* escaped common tag set */
	size_t tags_len;
	/* Pieces of every ant_agent line, built once (format_fast): the
	 * measurement and common tags, ",type=..,filesize=..", ",status=..",
	 * and the nine outcome fields, which follow from the status, the two
	 * MD5 flags and whether the exit code was 0 (outcome_index). */
	char head[TAGS_MAX + 16];
	size_t head_len;
	char kind_tags[TEST__COUNT][SIZE__COUNT][48];
	uint8_t kind_len[TEST__COUNT][SIZE__COUNT];
	char status_tags[ST__COUNT][32];
	uint8_t status_len[ST__COUNT];
	char outcome[ST__COUNT][8][OUTCOME_MAX];
	uint8_t outcome_len[ST__COUNT][8];
	bool generic_format;     /* tests: write lines with format_record only */
	uint64_t fast_fallbacks; /* lines format_fast left to format_record */
	char *metrics_file, *summary_file;
	uint64_t max_bytes;
	int keep;
	metrics_write_fn write_fn;
	metrics_sink_fn sink;
	void *sink_ud;
	bool pushing;
	bool dropped_logged;
	struct metrics_counters c;
} g = { .max = METRICS_CACHE_MAX };

/* --- Agent id --- */

static bool agent_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > METRICS_AGENT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '-' && ch != '.')
			return false;
	}
	return true;
}

int metrics_agent_id_load(const char *setting, const char *cache_dir, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[8];
	char path[4096], id[2 * sizeof(rnd) + 2];
	struct buf b;
	int rc = -1;

	if (setting && setting[0]) {
		str_copy(out, setting, n);
		return 0;
	}
	buf_init(&b, 256);
	if ((size_t)snprintf(path, sizeof(path), "%s/agent-id", cache_dir) >= sizeof(path)) {
		log_error("metrics: cache directory path too long");
		goto out;
	}
	if (file_read_all(path, 256, &b) == 0 && agent_id_ok(str_trim(b.data))) {
		str_copy(out, b.data, n);
		rc = 0;
		goto out;
	}
	/* First start (or an unreadable file): make an id and keep it. */
	if (os_random(rnd, sizeof(rnd)) != 0) {
		log_error("metrics: no random bytes for an agent id");
		goto out;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 15];
	}
	id[2 * sizeof(rnd)] = '\n';
	id[2 * sizeof(rnd) + 1] = '\0';
	if (mkdir_p(cache_dir, 0755) != 0 || file_write_atomic(path, id, strlen(id), 0600) != 0) {
		log_error("metrics: cannot keep the agent id in %s: %s", path, strerror(errno));
		goto out;
	}
	id[2 * sizeof(rnd)] = '\0';
	str_copy(out, id, n);
	log_info("metrics: new agent id %s kept in %s", id, path);
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* A telemetry setting as a tag value: blanks and the quotes an old .env
 * may carry ("xx" with the quotes) go; empty means "xx". */
static void telemetry_value(const char *v, char *out, size_t n)
{
	size_t len;

	str_copy(out, v ? v : "", n);
	str_trim(out);
	len = strlen(out);
	while (len >= 2 && (out[0] == '"' || out[0] == '\'') && out[len - 1] == out[0]) {
		memmove(out, out + 1, len - 2);
		out[len - 2] = '\0';
		str_trim(out);
		len = strlen(out);
	}
	if (out[0] == '\0')
		str_copy(out, "xx", n);
}

/* The index of a record's outcome fields in g.outcome[status]. */
static unsigned outcome_index(bool md5_checked, bool md5_valid, bool exit_zero)
{
	return (md5_checked ? 1u : 0u) | (md5_valid ? 2u : 0u) | (exit_zero ? 4u : 0u);
}

/* The pieces format_fast copies. Names and tag values here are plain
 * ASCII words, which line protocol takes as they are. */
static void build_pieces(void)
{
	static const char *const keys[] = {
		"ok", "md5checker", "md5valid", "client_ok", "client_kill", "client_err",
		"network_err", "data_loss", "unknown_err",
	};

	memcpy(g.head, METRICS_MEASUREMENT, sizeof(METRICS_MEASUREMENT) - 1);
	memcpy(g.head + sizeof(METRICS_MEASUREMENT) - 1, g.tags, g.tags_len + 1);
	g.head_len = sizeof(METRICS_MEASUREMENT) - 1 + g.tags_len;
	for (int t = 0; t < TEST__COUNT; t++)
		for (int s = 0; s < SIZE__COUNT; s++)
			g.kind_len[t][s] = (uint8_t)snprintf(g.kind_tags[t][s], sizeof(g.kind_tags[t][s]),
							     ",type=%s,filesize=%s",
							     test_type_name((enum test_type)t),
							     size_class_name((enum size_class)s));
	for (int st = 0; st < ST__COUNT; st++) {
		g.status_len[st] = (uint8_t)snprintf(g.status_tags[st], sizeof(g.status_tags[st]),
						      ",status=%s", test_status_name((enum test_status)st));
		for (unsigned k = 0; k < 8; k++) {
			/* The same conditions as format_record's fields. */
			bool v[ARRAY_SIZE(keys)] = {
				st == ST_OK, (k & 1) != 0, (k & 2) != 0,
				(k & 4) != 0 && test_status_counts((enum test_status)st),
				st == ST_KILLED, st == ST_CLIENT_ERROR, st == ST_NETWORK_ERROR,
				st == ST_DATA_LOSS, st == ST_UNKNOWN_ERROR,
			};
			size_t n = 0;

			for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
				n += (size_t)snprintf(g.outcome[st][k] + n, OUTCOME_MAX - n, ",%s=%di",
						      keys[i], v[i] ? 1 : 0);
			g.outcome_len[st][k] = (uint8_t)n;
		}
	}
}

static int build_tags(void)
{
	static const struct { const char *key; enum cfg_key k; } tele[] = {
		{ "country", CFG_TELEMETRY_COUNTRY },
		{ "provision", CFG_TELEMETRY_PROVISON },
		{ "connection", CFG_TELEMETRY_CONNECTION },
	};
	struct buf b;
	char v[256];
	int rc = -1;

	buf_init(&b, TAGS_MAX - 1);
	if (buf_append(&b, ",agent=", 7) != 0 || lp_escape(&b, g.agent_id, LP_TAG_VALUE) <= 0)
		goto out;
	/* Which agent and which client made the point: a fleet tells a client
	 * upgrade from a change of the network by these. */
	if (buf_append(&b, ",agent_version=", 15) != 0 || lp_escape(&b, ANT_VERSION, LP_TAG_VALUE) <= 0 ||
	    buf_append(&b, ",client_version=", 16) != 0 ||
	    lp_escape(&b, g.client_version[0] ? g.client_version : "unknown", LP_TAG_VALUE) <= 0)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(tele); i++) {
		telemetry_value(cfg_str(tele[i].k), v, sizeof(v));
		if (buf_printf(&b, ",%s=", tele[i].key) != 0)
			goto out;
		if (lp_escape(&b, v, LP_TAG_VALUE) <= 0) {
			/* Nothing printable (only control bytes): use the default. */
			if (buf_append(&b, "xx", 2) != 0)
				goto out;
		}
	}
	memcpy(g.tags, b.data, b.len + 1);
	g.tags_len = b.len;
	build_pieces();
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* --- Records --- */

static uint32_t arena_add(const char *s)
{
	size_t n = strlen(s) + 1;
	size_t off = g.arena_len;

	if (n == 1)
		return 0;
	if (g.arena_len + n > g.arena_alloc) {
		g.arena_alloc = g.arena_alloc ? g.arena_alloc * 2 : 4096;
		while (g.arena_len + n > g.arena_alloc)
			g.arena_alloc *= 2;
		g.arena = xrealloc(g.arena, g.arena_alloc);
	}
	memcpy(g.arena + off, s, n);
	g.arena_len += n;
	return (uint32_t)off + 1;
}

static uint16_t clamp_u16(int v)
{
	return v < 0 ? 0 : v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int metrics_record_at(const struct test_result *r, int64_t now_ms)
{
	struct mrec *m;

	if (g.n >= g.max) {
		g.c.dropped++;
		if (!g.dropped_logged)
			log_error("metrics: %zu records are waiting to be written; new ones are dropped until a flush succeeds",
				  g.n);
		g.dropped_logged = true;
		return -1;
	}
	if (g.n == g.alloc) {
		g.alloc = g.alloc ? g.alloc * 2 : 256;
		g.recs = xrealloc(g.recs, g.alloc * sizeof(*g.recs));
	}
	m = &g.recs[g.n++];
	memset(m, 0, sizeof(*m));
	m->ts_ns = r->start_ms * NS_PER_MS + (int64_t)(g.seq++ % 1000000u);
	/* Microseconds: finer than any client call can be timed. */
	m->exec_time = isfinite(r->exec_time) && r->exec_time > 0 ? round(r->exec_time * 1e6) / 1e6 : 0.0;
	m->cost_atto = r->cost_atto;
	m->gas_wei = r->gas_wei;
	m->bytes = r->bytes;
	m->chunks_stored = r->chunks_stored;
	m->chunks_existing = r->chunks_existing;
	m->gas_wei = r->has_gas ? r->gas_wei : 0;
	m->spent_day_atto = r->spent_day_atto;
	m->end_min = (int32_t)floor_div(now_ms, MS_PER_MIN);
	/* A skipped or stopped test has no finding; its slot carries why. */
	m->addr = arena_add(test_status_counts(r->status) ? r->address : r->reason);
	m->exit_code = r->exit_code;
	m->task = clamp_u16(r->task_ref);
	m->worker = clamp_u16(r->worker);
	m->attempt = clamp_u16(r->attempt);
	m->type = (uint8_t)((unsigned)r->type < TEST__COUNT ? r->type : 0);
	m->size = (uint8_t)(r->size < SIZE__COUNT ? r->size : SIZE_TINY);
	m->status = (uint8_t)(r->status < ST__COUNT ? r->status : ST_UNKNOWN_ERROR);
	m->flags = (uint16_t)((r->md5_checked ? MREC_MD5_CHECKED : 0) |
			     (r->md5_valid ? MREC_MD5_VALID : 0) |
			     (r->has_cost ? MREC_HAS_COST : 0) |
			     (r->has_chunks ? MREC_HAS_CHUNKS : 0) |
			     (r->has_gas ? MREC_HAS_GAS : 0) |
			     (r->via_gateway ? MREC_VIA_GATEWAY : 0) |
			     (r->already_stored ? MREC_ALREADY_STORED : 0) |
			     (r->address_private ? MREC_PRIVATE : 0));
	m->why = (uint8_t)((unsigned)r->why < REASON__COUNT ? r->why : REASON_NONE);
	/* A skipped test never ran and a stopped one was cut short by the
	 * agent: each has a line (so the fleet sees why) but no place in the
	 * timing summaries or their failure counts. */
	if (!test_status_counts((enum test_status)m->status))
		m->flags |= MREC_SUM_DONE;
	g.c.recorded++;
	return 0;
}

int metrics_record(const struct test_result *r)
{
	return metrics_record_at(r, clock_now_ms());
}

/* --- Lines --- */

static int format_record(struct buf *b, const struct mrec *m)
{
	char task[16] = ",task=";
	const char *kind = g.kind_tags[m->type][m->size];
	const char *stat = g.status_tags[m->status];
	enum test_status st = (enum test_status)m->status;
	struct lp_line l;
	int t = m->task;
	size_t tn = 6;

	/* ",task=%03d" without printf: this runs a million times in the
	 * benchmark. Tag names and values here are plain ASCII words. A
	 * repeated TaskRef (key ref + 1000 * n, model.h) gets its letter:
	 * 1011 is "011b". */
	task[tn++] = (char)('0' + t / 100 % 10);
	task[tn++] = (char)('0' + t / 10 % 10);
	task[tn++] = (char)('0' + t % 10);
	if (t > TASK_REF_MAX && t <= TASK_KEY_MAX)
		task[tn++] = (char)('a' + t / 1000);
	lp_begin(&l, b, METRICS_MEASUREMENT);
	lp_raw_tags(&l, g.tags, g.tags_len);
	lp_raw_tags(&l, kind, strlen(kind));
	lp_raw_tags(&l, task, tn);
	lp_raw_tags(&l, stat, strlen(stat));
	lp_field_float(&l, "exec_time", m->exec_time);
	lp_field_int(&l, "ok", st == ST_OK);
	lp_field_int(&l, "md5checker", (m->flags & MREC_MD5_CHECKED) != 0);
	lp_field_int(&l, "md5valid", (m->flags & MREC_MD5_VALID) != 0);
	lp_field_int(&l, "client_ok", m->exit_code == 0 && test_status_counts(st));
	lp_field_int(&l, "client_kill", st == ST_KILLED);
	lp_field_int(&l, "client_err", st == ST_CLIENT_ERROR);
	lp_field_int(&l, "network_err", st == ST_NETWORK_ERROR);
	lp_field_int(&l, "data_loss", st == ST_DATA_LOSS);
	lp_field_int(&l, "unknown_err", st == ST_UNKNOWN_ERROR);
	if (m->flags & MREC_HAS_COST) {
		/* cost in tokens for dashboards; cost_atto exact for sums (an
		 * int64 field holds up to 9.2 tokens per test). */
		lp_field_float(&l, "cost", (double)m->cost_atto / 1e18);
		if (m->cost_atto <= (uint64_t)INT64_MAX)
			lp_field_int(&l, "cost_atto", (int64_t)m->cost_atto);
	}
	if ((m->flags & MREC_HAS_GAS) && m->gas_wei <= (uint64_t)INT64_MAX)
		lp_field_int(&l, "gas_wei", (int64_t)m->gas_wei);
	if (m->flags & MREC_VIA_GATEWAY)
		lp_field_int(&l, "gateway", 1);
	if (m->flags & MREC_HAS_CHUNKS) {
		lp_field_uint(&l, "chunks_stored", m->chunks_stored);
		lp_field_uint(&l, "chunks_existing", m->chunks_existing);
	}
	/* Uploads and quotes that ran: was the content on the network
	 * already (docs/METRICS.md)? Uploads: what was spent today. */
	if (test_status_counts(st) && (m->type == TEST_UPLOAD || m->type == TEST_QUOTE))
		lp_field_int(&l, "already_stored", (m->flags & MREC_ALREADY_STORED) != 0);
	if (test_status_counts(st) && m->type == TEST_UPLOAD)
		lp_field_uint(&l, "spent_today_atto", m->spent_day_atto);
	lp_field_uint(&l, "bytes", m->bytes);
	lp_field_int(&l, "exit_code", m->exit_code);
	lp_field_int(&l, "attempt", m->attempt);
	lp_field_int(&l, "worker", m->worker);
	/* Milli-bytes per second are more than enough, and round numbers
	 * print fast (see lp_format_float). */
	if (m->bytes > 0 && m->exec_time > 0)
		lp_field_float(&l, "throughput", round((double)m->bytes / m->exec_time * 1000.0) / 1000.0);
	if (m->addr)
		lp_field_str(&l, !test_status_counts(st) ? "reason" :
			     (m->flags & MREC_PRIVATE) ? "private_alias" : "address", g.arena + m->addr - 1);
	if (m->why != REASON_NONE)
		lp_field_str(&l, "reason_code", test_reason_name((enum test_reason)m->why));
	return lp_end(&l, m->ts_ns);
}

/* Copy n bytes to p; returns the end. */
static inline char *put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_KEY(p, lit) put(p, lit, sizeof(lit) - 1)

/* Make room for n more bytes in b without passing its cap, so a line can
 * be written in place. Returns 0, or -1 when the cap leaves less. */
static int make_room(struct buf *b, size_t n)
{
	size_t need = b->len + n + 1, alloc;

	if (b->data && need <= b->alloc)
		return 0;
	if (need > b->cap + 1)
		return -1;
	alloc = b->alloc ? b->alloc : 256;
	while (alloc < need)
		alloc *= 2;
	if (alloc > b->cap + 1)
		alloc = b->cap + 1;
	b->data = xrealloc(b->data, alloc);
	b->alloc = alloc;
	b->data[b->len] = '\0';
	return 0;
}

/* A float field as lp_field_float writes it (not finite: left out). */
static char *put_float(char *p, const char *key, size_t klen, double v)
{
	size_t n;

	if (!isfinite(v))
		return p;
	n = lp_format_float(p + klen, 40, v);
	if (n == 0)
		return p;
	memcpy(p, key, klen);
	return p + klen + n;
}

static int fall_back(struct buf *b, const struct mrec *m)
{
	g.fast_fallbacks++;
	return format_record(b, m);
}

/* The same line as format_record, byte for byte (the unit test compares
 * the two over every status and flag), built from the pieces made once
 * and written straight into the buffer: a flush writes a million of these.
 * Lines format_record could drop (a buffer near its cap) go through
 * format_record itself. */
static int format_fast(struct buf *b, const struct mrec *m)
{
	enum test_status st = (enum test_status)m->status;
	bool counts = test_status_counts(st);
	const char *addr = m->addr ? g.arena + m->addr - 1 : NULL;
	size_t addr_len = addr ? strlen(addr) : 0;
	size_t n, room, line = b->len;
	char *p;
	int t = m->task;

	/* An escaped string is at most twice as long: '"' and '\\' gain a
	 * backslash, anything else stays one byte for one. */
	room = g.head_len + LINE_FIXED_MAX + 2 * addr_len;
	if (make_room(b, room) != 0)
		return fall_back(b, m);
	p = b->data + line;
	p = put(p, g.head, g.head_len);
	p = put(p, g.kind_tags[m->type][m->size], g.kind_len[m->type][m->size]);
	p = PUT_KEY(p, ",task=");
	*p++ = (char)('0' + t / 100 % 10);
	*p++ = (char)('0' + t / 10 % 10);
	*p++ = (char)('0' + t % 10);
	if (t > TASK_REF_MAX && t <= TASK_KEY_MAX)
		*p++ = (char)('a' + t / 1000);
	p = put(p, g.status_tags[st], g.status_len[st]);
	/* The first field: a record's exec_time is always finite. */
	if (!isfinite(m->exec_time) || (n = lp_format_float(p + 11, 40, m->exec_time)) == 0)
		return fall_back(b, m);
	p = PUT_KEY(p, " exec_time=") + n;
	n = outcome_index(m->flags & MREC_MD5_CHECKED, m->flags & MREC_MD5_VALID, m->exit_code == 0);
	p = put(p, g.outcome[st][n], g.outcome_len[st][n]);
	if (m->flags & MREC_HAS_COST) {
		p = put_float(p, ",cost=", 6, (double)m->cost_atto / 1e18);
		if (m->cost_atto <= (uint64_t)INT64_MAX)
			p = lp_put_int(PUT_KEY(p, ",cost_atto="), (int64_t)m->cost_atto);
	}
	if ((m->flags & MREC_HAS_GAS) && m->gas_wei <= (uint64_t)INT64_MAX)
		p = lp_put_int(PUT_KEY(p, ",gas_wei="), (int64_t)m->gas_wei);
	if (m->flags & MREC_VIA_GATEWAY)
		p = PUT_KEY(p, ",gateway=1i");
	if (m->flags & MREC_HAS_CHUNKS) {
		p = lp_put_uint(PUT_KEY(p, ",chunks_stored="), m->chunks_stored);
		p = lp_put_uint(PUT_KEY(p, ",chunks_existing="), m->chunks_existing);
	}
	if (counts && (m->type == TEST_UPLOAD || m->type == TEST_QUOTE))
		p = lp_put_int(PUT_KEY(p, ",already_stored="), (m->flags & MREC_ALREADY_STORED) != 0);
	if (counts && m->type == TEST_UPLOAD)
		p = lp_put_uint(PUT_KEY(p, ",spent_today_atto="), m->spent_day_atto);
	p = lp_put_uint(PUT_KEY(p, ",bytes="), m->bytes);
	p = lp_put_int(PUT_KEY(p, ",exit_code="), m->exit_code);
	p = lp_put_int(PUT_KEY(p, ",attempt="), m->attempt);
	p = lp_put_int(PUT_KEY(p, ",worker="), m->worker);
	if (m->bytes > 0 && m->exec_time > 0)
		p = put_float(p, ",throughput=", 12,
			      round((double)m->bytes / m->exec_time * 1000.0) / 1000.0);
	if (addr) {
		if (!counts)
			p = PUT_KEY(p, ",reason=\"");
		else if (m->flags & MREC_PRIVATE)
			p = PUT_KEY(p, ",private_alias=\"");
		else
			p = PUT_KEY(p, ",address=\"");
		/* Room was made for this: lp_escape copies in place. */
		b->len = (size_t)(p - b->data);
		if (lp_escape(b, addr, LP_STRING) < 0) {
			b->len = line;
			b->data[b->len] = '\0';
			return fall_back(b, m);
		}
		p = b->data + b->len;
		*p++ = '"';
	}
	if (m->why != REASON_NONE) {
		const char *why = test_reason_name((enum test_reason)m->why);

		/* Reason codes are short plain words (model.c). */
		p = PUT_KEY(p, ",reason_code=\"");
		p = put(p, why, strlen(why));
		*p++ = '"';
	}
	p = lp_put_ts(p, m->ts_ns);
	b->len = (size_t)(p - b->data);
	b->data[b->len] = '\0';
	return 0;
}

static int format_line(struct buf *b, const struct mrec *m)
{
	return g.generic_format ? format_record(b, m) : format_fast(b, m);
}

size_t metrics_format_cached(struct buf *out, bool generic)
{
	bool was = g.generic_format;
	size_t n = 0;

	g.generic_format = generic;
	for (size_t i = g.lines_done; i < g.n; i++) {
		uint64_t fell = g.fast_fallbacks;

		/* A line the fast writer left to the generic one is not counted:
		 * the comparison would prove nothing about it. */
		if (format_line(out, &g.recs[i]) == 0 && g.fast_fallbacks == fell)
			n++;
	}
	g.generic_format = was;
	return n;
}

/* --- Files --- */

static ssize_t do_write(int fd, const void *p, size_t n)
{
	return (g.write_fn ? g.write_fn : write)(fd, p, n);
}

/* path.1 .. path.keep shift up by one; path becomes path.1. */
static void rotate(const char *path)
{
	char from[4200], to[4200];

	if (g.keep <= 0) {
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("metrics: cannot remove %s: %s", path, strerror(errno));
		g.c.rotations++;
		return;
	}
	snprintf(to, sizeof(to), "%s.%d", path, g.keep);
	unlink(to);
	for (int i = g.keep - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", path, i);
		snprintf(to, sizeof(to), "%s.%d", path, i + 1);
		if (rename(from, to) != 0 && errno != ENOENT)
			log_warn("metrics: cannot rotate %s: %s", from, strerror(errno));
	}
	snprintf(to, sizeof(to), "%s.1", path);
	if (rename(path, to) != 0 && errno != ENOENT)
		log_warn("metrics: cannot rotate %s: %s", path, strerror(errno));
	else
		log_info("metrics: rotated %s", path);
	g.c.rotations++;
}

/* An open append target, and where it stood before this flush. */
struct out {
	const char *path;
	int fd;
	off_t start;
	bool failed;
	size_t chunks;
};

/* The offset just past the last newline of the first size bytes (0 when
 * there is none), or -1 (errno). */
static off_t end_of_last_line(int fd, off_t size)
{
	char tail[4096];
	off_t end = size;

	while (end > 0) {
		size_t n = end < (off_t)sizeof(tail) ? (size_t)end : sizeof(tail);

		if (pread(fd, tail, n, end - (off_t)n) != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (tail[i - 1] == '\n')
				return end - (off_t)n + (off_t)i;
		end -= (off_t)n;
	}
	return 0;
}

/* A crash in the middle of a write (SIGKILL, power loss) can leave the
 * file ending in part of a line. Appending after it would glue that
 * fragment to the first new line, so cut the file back to its last
 * newline first. Returns the size to append at, or -1 (errno). */
static off_t cut_partial_tail(int fd, const char *path, off_t size)
{
	off_t keep;

	if (size == 0)
		return 0;
	keep = end_of_last_line(fd, size);
	if (keep < 0 || keep == size)
		return keep;
	if (ftruncate(fd, keep) != 0)
		return -1;
	log_warn("metrics: %s ended in a partial line (%lld bytes, left by a crash); cut it off",
		 path, (long long)(size - keep));
	return keep;
}

static int out_write(struct out *o, const struct buf *b)
{
	struct stat st;
	size_t done = 0;

	if (o->failed)
		return -1;
	if (o->fd < 0) {
		if (stat(o->path, &st) == 0 && st.st_size > 0 &&
		    (uint64_t)st.st_size + b->len > g.max_bytes)
			rotate(o->path);
		/* Read and write: the tail is checked before appending. */
		o->fd = file_open_own(o->path, O_RDWR | O_APPEND, 0644);
		if (o->fd < 0 || fstat(o->fd, &st) != 0) {
			log_error("metrics: cannot open %s: %s", o->path, strerror(errno));
			goto fail;
		}
		o->start = cut_partial_tail(o->fd, o->path, st.st_size);
		if (o->start < 0) {
			log_error("metrics: cannot check the end of %s: %s", o->path, strerror(errno));
			o->start = st.st_size;
			goto fail;
		}
	}
	while (done < b->len) {
		ssize_t w = do_write(o->fd, b->data + done, b->len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_error("metrics: writing %s failed after %zu of %zu bytes: %s", o->path,
				  done, b->len, w < 0 ? strerror(errno) : "no progress");
			goto fail;
		}
		done += (size_t)w;
	}
	o->chunks++;
	return 0;
fail:
	o->failed = true;
	g.c.write_errors++;
	return -1;
}

/* Close; on failure cut the file back so no part of this flush stays. */
static int out_close(struct out *o)
{
	int rc = o->failed ? -1 : 0;

	if (o->fd >= 0) {
		if (o->failed && ftruncate(o->fd, o->start) != 0)
			log_error("metrics: cannot cut %s back: %s", o->path, strerror(errno));
		if (close(o->fd) != 0 && !o->failed) {
			log_error("metrics: closing %s: %s", o->path, strerror(errno));
			g.c.write_errors++;
			rc = -1;
		}
	}
	o->fd = -1;
	return rc;
}

static void sink(const struct buf *b, size_t nlines)
{
	if (g.sink && b->len > 0)
		g.sink(b->data, b->len, nlines, g.sink_ud);
}

/* Write a chunk of lines; the sink sees them only once they are in the
 * file. */
static int write_chunk(struct out *o, struct buf *b, size_t nlines, uint64_t *counter)
{
	int rc = 0;

	if (nlines > 0 && b->len > 0) {
		rc = out_write(o, b);
		if (rc == 0) {
			sink(b, nlines);
			*counter += nlines;
		}
	}
	buf_reset(b);
	return rc;
}

/* Append the lines of records not yet written, in chunks cut at line
 * ends. On failure the file is cut back and no record is marked written;
 * lines that reached the sink before the failure go again next time, which
 * InfluxDB takes as an overwrite of the same points. */
static int flush_lines(struct buf *b)
{
	struct out o = { g.metrics_file, -1, 0, false, 0 };
	size_t nlines = 0, i;
	int rc;

	for (i = g.lines_done; i < g.n; i++) {
		if (format_line(b, &g.recs[i]) != 0) {
			log_error("metrics: a record could not be formatted; dropped");
			continue;
		}
		nlines++;
		if (b->len >= METRICS_WRITE_CHUNK - METRICS_LINE_MARGIN) {
			if (write_chunk(&o, b, nlines, &g.c.lines_written) != 0)
				break;
			nlines = 0;
		}
	}
	if (!o.failed)
		write_chunk(&o, b, nlines, &g.c.lines_written);
	rc = out_close(&o);
	if (rc == 0)
		g.lines_done = g.n;
	return rc;
}

/* Lines made elsewhere (the heartbeat) go into METRICS_FILE and to the
 * sink the same way: whole lines or none. */
int metrics_write_lines(const char *lines, size_t len, size_t nlines)
{
	struct out o = { g.metrics_file, -1, 0, false, 0 };
	struct buf b;
	int rc;

	if (!g.ready || nlines == 0 || len == 0)
		return -1;
	buf_init(&b, len + 1);
	if (buf_append(&b, lines, len) != 0) {
		buf_free(&b);
		return -1;
	}
	rc = out_write(&o, &b);
	if (rc == 0) {
		sink(&b, nlines);
		g.c.other_lines += nlines;
	}
	buf_free(&b);
	return out_close(&o) == 0 && rc == 0 ? 0 : -1;
}

/* One line of a rollup: the records of one minute, type and size. */
struct sumgroup {
	uint64_t key;       /* minute << 16 | type << 8 | size: the order of the lines */
	size_t first, n;    /* its exec times, scratch[first .. first + n) */
	size_t fill;        /* times placed so far */
	uint64_t ok, bytes;
	double sum;         /* added up in record order */
	uint32_t rec;       /* its first record: minute, type and size */
};

struct sumkey {
	uint64_t key;
	uint32_t idx;       /* the record */
};

/* Is the record due in this rollup? */
static bool sum_due(const struct mrec *m, int64_t cur, bool all)
{
	return !(m->flags & MREC_SUM_DONE) && (all || m->end_min < cur);
}

static uint64_t sum_key(const struct mrec *m)
{
	return ((uint64_t)(uint32_t)m->end_min << 16) | ((uint64_t)m->type << 8) | m->size;
}

static void group_add(struct sumgroup *grp, const struct mrec *m, uint32_t i)
{
	if (grp->n++ == 0) {
		grp->rec = i;
		grp->key = sum_key(m);
	}
	grp->ok += m->status == ST_OK;
	grp->bytes += m->bytes;
	grp->sum += m->exec_time;
}

static int cmp_sumkey(const void *a, const void *b)
{
	const struct sumkey *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Group the due records by (minute, type, size), in that order, each
 * group's exec times in record order in scratch. The minutes of one flush
 * are nearly always a handful, so a group per possible key is counted in
 * one pass over the records and filled in a second; a wide spread of
 * minutes (records held through a long disk failure) sorts the keys
 * instead. Returns the groups (*ng of them). */
#define KINDS (TEST__COUNT * SIZE__COUNT)
#define COUNTING_MINUTES 1440

static size_t bucket(const struct mrec *m, int32_t lo)
{
	return (size_t)((int64_t)m->end_min - lo) * KINDS + m->type * SIZE__COUNT + m->size;
}

static struct sumgroup *group_records(int64_t cur, bool all, int32_t lo, int32_t hi, size_t nk,
				      double *scratch, size_t *ng)
{
	struct sumgroup *grp;
	size_t i, k = 0, pos = 0;

	if ((int64_t)hi - lo >= COUNTING_MINUTES) {
		struct sumkey *keys = xmalloc(nk * sizeof(*keys));

		for (i = 0; i < g.n; i++)
			if (sum_due(&g.recs[i], cur, all)) {
				keys[k].key = sum_key(&g.recs[i]);
				keys[k++].idx = (uint32_t)i;
			}
		qsort(keys, nk, sizeof(*keys), cmp_sumkey);
		grp = xcalloc(nk, sizeof(*grp));
		k = 0;
		for (i = 0; i < nk; i++) {
			const struct mrec *m = &g.recs[keys[i].idx];

			if (i > 0 && keys[i].key != keys[i - 1].key)
				grp[++k].first = i;
			group_add(&grp[k], m, keys[i].idx);
			scratch[i] = m->exec_time;
		}
		free(keys);
		*ng = k + 1;
		return grp;
	}
	*ng = ((size_t)(hi - lo) + 1) * KINDS;
	grp = xcalloc(*ng, sizeof(*grp));
	for (i = 0; i < g.n; i++) {
		const struct mrec *m = &g.recs[i];

		if (sum_due(m, cur, all))
			group_add(&grp[bucket(m, lo)], m, (uint32_t)i);
	}
	for (i = 0; i < *ng; i++) {
		grp[i].first = pos;
		pos += grp[i].n;
	}
	for (i = 0; i < g.n; i++) {
		const struct mrec *m = &g.recs[i];

		if (sum_due(m, cur, all)) {
			struct sumgroup *gr = &grp[bucket(m, lo)];

			scratch[gr->first + gr->fill++] = m->exec_time;
		}
	}
	/* Keep the groups that have records; they are in key order. */
	for (i = 0; i < *ng; i++)
		if (grp[i].n > 0)
			grp[k++] = grp[i];
	*ng = k;
	return grp;
}

/* Format one rollup line; its times are sorted here. */
static int format_summary(struct buf *b, const struct sumgroup *gr, double *t)
{
	const struct mrec *m0 = &g.recs[gr->rec];
	size_t n = gr->n;
	struct lp_line l;

	stats_sort(t, n);
	lp_begin(&l, b, METRICS_SUMMARY_MEASUREMENT);
	lp_raw_tags(&l, g.tags, g.tags_len);
	lp_raw_tags(&l, g.kind_tags[m0->type][m0->size], g.kind_len[m0->type][m0->size]);
	lp_field_uint(&l, "count", n);
	lp_field_uint(&l, "ok", gr->ok);
	lp_field_uint(&l, "failed", n - gr->ok);
	lp_field_float(&l, "min", t[0]);
	lp_field_float(&l, "max", t[n - 1]);
	lp_field_float(&l, "mean", round(gr->sum / (double)n * 1e6) / 1e6);
	lp_field_float(&l, "p50", stats_percentile(t, n, 50));
	lp_field_float(&l, "p90", stats_percentile(t, n, 90));
	lp_field_float(&l, "p95", stats_percentile(t, n, 95));
	lp_field_float(&l, "p99", stats_percentile(t, n, 99));
	lp_field_float(&l, "sum", round(gr->sum * 1e6) / 1e6);
	lp_field_uint(&l, "bytes", gr->bytes);
	return lp_end(&l, (int64_t)m0->end_min * MS_PER_MIN * NS_PER_MS +
			      (int64_t)(g.seq++ % 1000000u));
}

/* Roll up the records of closed minutes (all minutes when `all`). */
static int flush_summaries(struct buf *b, int64_t now_ms, bool all)
{
	struct out o = { g.summary_file, -1, 0, false, 0 };
	int64_t cur = floor_div(now_ms, MS_PER_MIN);
	struct sumgroup *grp = NULL;
	double *scratch = NULL;
	size_t nk = 0, ng = 0, i, nlines = 0;
	int32_t lo = INT32_MAX, hi = INT32_MIN;
	int rc = 0;

	for (i = 0; i < g.n; i++) {
		const struct mrec *m = &g.recs[i];

		if (!sum_due(m, cur, all))
			continue;
		lo = m->end_min < lo ? m->end_min : lo;
		hi = m->end_min > hi ? m->end_min : hi;
		nk++;
	}
	if (nk == 0)
		return 0;
	scratch = xmalloc(nk * sizeof(*scratch));
	grp = group_records(cur, all, lo, hi, nk, scratch, &ng);
	for (i = 0; i < ng; i++) {
		if (format_summary(b, &grp[i], scratch + grp[i].first) == 0)
			nlines++;
		if (b->len >= METRICS_WRITE_CHUNK - METRICS_LINE_MARGIN || i + 1 == ng) {
			if (write_chunk(&o, b, nlines, &g.c.summary_lines) != 0)
				break;
			nlines = 0;
		}
	}
	rc = out_close(&o);
	if (rc == 0)
		for (i = 0; i < g.n; i++)
			if (sum_due(&g.recs[i], cur, all))
				g.recs[i].flags |= MREC_SUM_DONE;
	free(grp);
	free(scratch);
	return rc;
}

/* Drop records that are fully written; rebuild the address arena for the
 * ones whose line is still to be written. */
static void compact(void)
{
	char *old = g.arena;
	size_t k = 0, lines_done = 0;

	g.arena = NULL;
	g.arena_len = g.arena_alloc = 0;
	for (size_t i = 0; i < g.n; i++) {
		struct mrec *m = &g.recs[i];
		bool line_done = i < g.lines_done;

		if (line_done && (m->flags & MREC_SUM_DONE))
			continue;
		if (m->addr)
			m->addr = line_done ? 0 : arena_add(old + m->addr - 1);
		lines_done += line_done;
		g.recs[k++] = *m;
	}
	free(old);
	g.n = k;
	g.lines_done = lines_done;
	if (g.n == 0 && g.alloc > 1024) { /* give a burst's memory back */
		free(g.recs);
		g.recs = NULL;
		g.alloc = 0;
	}
	if (g.n < g.max)
		g.dropped_logged = false;
}

static int flush(int64_t now_ms, bool all)
{
	struct buf b;
	int rc1, rc2;

	if (!g.ready)
		return -1;
	buf_init(&b, METRICS_WRITE_CHUNK);
	rc1 = flush_lines(&b);
	buf_reset(&b);
	rc2 = flush_summaries(&b, now_ms, all);
	buf_free(&b);
	compact();
	if (rc1 == 0 && rc2 == 0)
		g.c.flushes++;
	return rc1 == 0 && rc2 == 0 ? 0 : -1;
}

int metrics_flush(int64_t now_ms)
{
	return flush(now_ms, false);
}

int metrics_flush_all(int64_t now_ms)
{
	return flush(now_ms, true);
}

/* --- Set-up --- */

static int make_parent(const char *path)
{
	if (mkdir_parent(path, 0755) != 0) {
		log_error("metrics: cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int metrics_init(uv_loop_t *loop)
{
	uint32_t seq;

	if (g.ready)
		metrics_shutdown();
	if (metrics_agent_id_load(cfg_str(CFG_AGENT_ID), cfg_str(CFG_CACHE_DIR), g.agent_id,
				  sizeof(g.agent_id)) != 0)
		return -1;
	if (build_tags() != 0) {
		log_error("metrics: the agent id or telemetry tags are too long");
		return -1;
	}
	g.metrics_file = xstrdup(cfg_str(CFG_METRICS_FILE));
	g.summary_file = xstrdup(cfg_str(CFG_SUMMARY_FILE));
	g.max_bytes = (uint64_t)cfg_int(CFG_METRICS_MAX_MB) * 1024 * 1024;
	g.keep = (int)cfg_int(CFG_METRICS_KEEP);
	if (make_parent(g.metrics_file) != 0 || make_parent(g.summary_file) != 0)
		goto fail;
	if (os_random(&seq, sizeof(seq)) != 0)
		seq = (uint32_t)clock_mono_ns();
	g.seq = seq % 1000000u;
	memset(&g.c, 0, sizeof(g.c));
	g.ready = true;
	if (loop && cfg_str(CFG_INFLUX_URL)[0]) {
		if (influx_start(loop, g.tags) != 0)
			goto fail;
		g.pushing = true;
		metrics_set_sink(influx_submit, NULL);
	}
	log_info("metrics: agent %s, writing %s and %s%s", g.agent_id, g.metrics_file,
		 g.summary_file, g.pushing ? ", pushing to InfluxDB" : "");
	return 0;
fail:
	g.ready = false;
	free(g.metrics_file);
	free(g.summary_file);
	g.metrics_file = g.summary_file = NULL;
	return -1;
}

void metrics_shutdown(void)
{
	if (!g.ready)
		return;
	if (metrics_flush_all(clock_now_ms()) != 0 && g.n > 0)
		log_error("metrics: %zu records could not be written at shutdown", g.n);
	if (g.pushing) {
		influx_stop();
		g.pushing = false;
		g.sink = NULL;
	}
	free(g.recs);
	free(g.arena);
	free(g.metrics_file);
	free(g.summary_file);
	g.recs = NULL;
	g.arena = NULL;
	g.metrics_file = g.summary_file = NULL;
	g.n = g.alloc = g.arena_len = g.arena_alloc = g.lines_done = 0;
	g.ready = false;
}

void metrics_get_counters(struct metrics_counters *out)
{
	*out = g.c;
	out->cached = g.n;
}

const char *metrics_agent_id(void)
{
	return g.agent_id;
}

void metrics_set_client_version(const char *v)
{
	str_copy(g.client_version, v ? v : "", sizeof(g.client_version));
	if (g.ready && build_tags() != 0)
		log_error("metrics: the client version tag is too long");
}

const char *metrics_common_tags(void)
{
	return g.tags;
}

void metrics_set_sink(metrics_sink_fn fn, void *ud)
{
	g.sink = fn;
	g.sink_ud = ud;
}

void metrics_set_write_fn(metrics_write_fn fn)
{
	g.write_fn = fn;
}

void metrics_set_cache_max(size_t n)
{
	g.max = n ? n : METRICS_CACHE_MAX;
}

size_t metrics_cache_bytes(void)
{
	return g.alloc * sizeof(struct mrec) + g.arena_alloc;
}
