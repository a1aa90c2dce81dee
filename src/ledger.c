/*
 * ledger.c - the payments ledger and the upload budget (see ledger.h).
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "util.h"

#define MS_PER_DAY INT64_C(86400000)

typedef unsigned __int128 u128;

struct day_sum {
	int64_t day;      /* days since the epoch (UTC) */
	u128 atto;
	uint64_t count;
};

static struct {
	int fd;
	char path[4096];
	struct day_sum days[LEDGER_DAYS_MAX];
	size_t ndays;
	uint64_t budget_day, budget_month;
	u128 reserved;
	unsigned inflight_unpriced;
	uint64_t price[SIZE__COUNT];      /* last price seen per class, 0 = none */
	uint64_t chunk_price;             /* highest price per chunk seen */
	size_t open_holds;
	uint64_t open_hold_atto;
} g = { .fd = -1 };

/* Holds met while reading the file, not yet settled. */
#define LEDGER_HOLDS_MAX 4096
struct hold {
	uint64_t id;
	struct ledger_payment p; /* time, task, size, atto = estimate */
};

void ledger_reset(void)
{
	if (g.fd >= 0)
		close(g.fd);
	memset(&g, 0, sizeof(g));
	g.fd = -1;
}

static uint64_t sat64(u128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* ---- amounts ---- */

int ledger_parse_amount(const char *s, uint64_t *atto, char *err, size_t n)
{
	u128 whole = 0, frac = 0;
	int fdigits = 0;
	bool in_atto = false, any = false;
	const char *p = s;

	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p >= '0' && *p <= '9'; p++, any = true) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > UINT64_MAX)
			goto big;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, any = true) {
			if (++fdigits > 18) {
				snprintf(err, n, "'%.40s': more than 18 decimals (1 atto is 10^-18)", s);
				return -1;
			}
			frac = frac * 10 + (unsigned)(*p - '0');
		}
	}
	while (*p == ' ')
		p++;
	if (str_ieq(p, "ANT") || str_ieq(p, "tokens")) {
		p += strlen(p);
	} else if (str_ieq(p, "atto")) {
		in_atto = true;
		p += strlen(p);
	}
	if (!any || *p != '\0' || (in_atto && fdigits > 0)) {
		snprintf(err, n, "'%.40s' is not an amount (tokens such as 0.5 or 2 ANT, or "
			 "whole atto such as 1500000000000 atto)", s);
		return -1;
	}
	if (!in_atto) {
		while (fdigits++ < 18)
			frac *= 10;
		whole = whole * LEDGER_ATTO_PER_TOKEN + frac;
		if (whole > UINT64_MAX)
			goto big;
	}
	*atto = (uint64_t)whole;
	return 0;
big:
	snprintf(err, n, "'%.40s' is more than %" PRIu64 " atto (about 18.4 tokens)", s, UINT64_MAX);
	return -1;
}

void ledger_format_tokens(uint64_t atto, char *out, size_t n)
{
	char frac[19];
	int len;

	snprintf(frac, sizeof(frac), "%018" PRIu64, atto % LEDGER_ATTO_PER_TOKEN);
	len = 18;
	while (len > 1 && frac[len - 1] == '0')
		frac[--len] = '\0';
	snprintf(out, n, "%" PRIu64 ".%s", atto / LEDGER_ATTO_PER_TOKEN, frac);
}

/* ---- lines ---- */

static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

int ledger_format_line(const struct ledger_payment *p, char *out, size_t n)
{
	char gas[24] = "-";
	int len, w;

	if (p->has_gas)
		snprintf(gas, sizeof(gas), "%" PRIu64, p->gas_wei);
	len = snprintf(out, n, LEDGER_MAGIC " %" PRId64 " %03d %s %" PRIu64 " %" PRIu64 " %s %" PRIu32 " %s",
		       p->time_ms, p->task_ref, size_class_name(p->size), p->id, p->atto, gas,
		       p->chunks, p->address[0] && client_address_valid(p->address) ? p->address : "-");
	if (len < 0 || (size_t)len >= n)
		return -1;
	w = snprintf(out + len, n - (size_t)len, " %08" PRIx32 "\n", fnv1a(out, (size_t)len));
	if (w < 0 || (size_t)w >= n - (size_t)len)
		return -1;
	return len + w;
}

static int next_u64(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	u128 v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT64_MAX)
			return -1;
	}
	if (*p != ' ')
		return -1;
	*out = (uint64_t)v;
	*pp = p + 1;
	return 0;
}

static int next_word(const char **pp, char *out, size_t n)
{
	const char *p = *pp, *e = strchr(p, ' ');
	size_t len;

	if (e == NULL || e == p)
		return -1;
	len = (size_t)(e - p);
	if (len >= n)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	*pp = e + 1;
	return 0;
}

int ledger_parse_line(const char *line, size_t len, struct ledger_payment *out)
{
	char buf[LEDGER_LINE_MAX + 1], word[CAT_ADDRESS_MAX + 2];
	const char *p, *sum;
	uint64_t v, crc;
	char *end;

	if (len == 0 || len > LEDGER_LINE_MAX || line[len - 1] != '\n')
		return -1;
	memcpy(buf, line, len - 1);
	buf[len - 1] = '\0';
	if (strlen(buf) != len - 1)
		return -1;
	sum = strrchr(buf, ' ');
	if (sum == NULL || strlen(sum + 1) != 8)
		return -1;
	errno = 0;
	crc = strtoull(sum + 1, &end, 16);
	if (errno || *end != '\0' || crc != fnv1a(buf, (size_t)(sum - buf)))
		return -1;
	memset(out, 0, sizeof(*out));
	buf[sum - buf + 1] = '\0'; /* keep the space: every field ends with one */
	p = buf;
	if (strncmp(p, LEDGER_MAGIC " ", 5) != 0)
		return -1;
	p += 5;
	if (next_u64(&p, &v) || v > INT64_MAX)
		return -1;
	out->time_ms = (int64_t)v;
	if (next_u64(&p, &v) || v > TASK_REF_MAX)
		return -1;
	out->task_ref = (int)v;
	if (next_word(&p, word, sizeof(word)) || size_class_parse(word, &out->size) != 0)
		return -1;
	if (next_u64(&p, &out->id) || next_u64(&p, &out->atto))
		return -1;
	if (*p == '-' && p[1] == ' ') {
		p += 2;
	} else {
		if (next_u64(&p, &out->gas_wei))
			return -1;
		out->has_gas = true;
	}
	if (next_u64(&p, &v) || v > UINT32_MAX)
		return -1;
	out->chunks = (uint32_t)v;
	if (next_word(&p, word, sizeof(word)) || *p != '\0')
		return -1;
	if (strcmp(word, "-") != 0) {
		if (!client_address_valid(word))
			return -1;
		str_copy(out->address, word, sizeof(out->address));
	}
	return 0;
}

/* "hold1 TIME TASK SIZE ID EST CRC" and "free1 TIME ID CRC": kind 1 and
 * 2; 0 when it is neither (or damaged). */
static int parse_mark(const char *line, size_t len, struct ledger_payment *out)
{
	char buf[LEDGER_LINE_MAX + 1], word[16];
	const char *p, *sum;
	uint64_t v, crc;
	char *end;
	int kind;

	if (len == 0 || len > LEDGER_LINE_MAX || line[len - 1] != '\n')
		return 0;
	memcpy(buf, line, len - 1);
	buf[len - 1] = '\0';
	if (strlen(buf) != len - 1 || (sum = strrchr(buf, ' ')) == NULL || strlen(sum + 1) != 8)
		return 0;
	errno = 0;
	crc = strtoull(sum + 1, &end, 16);
	if (errno || *end != '\0' || crc != fnv1a(buf, (size_t)(sum - buf)))
		return 0;
	buf[sum - buf + 1] = '\0';
	memset(out, 0, sizeof(*out));
	if (strncmp(buf, "hold1 ", 6) == 0)
		kind = 1;
	else if (strncmp(buf, "free1 ", 6) == 0)
		kind = 2;
	else
		return 0;
	p = buf + 6;
	if (next_u64(&p, &v) || v > INT64_MAX)
		return 0;
	out->time_ms = (int64_t)v;
	if (kind == 1) {
		if (next_u64(&p, &v) || v > TASK_REF_MAX)
			return 0;
		out->task_ref = (int)v;
		if (next_word(&p, word, sizeof(word)) || size_class_parse(word, &out->size) != 0)
			return 0;
	}
	if (next_u64(&p, &out->id))
		return 0;
	if (kind == 1 && next_u64(&p, &out->atto))
		return 0;
	return *p == '\0' ? kind : 0;
}

static int write_line(const char *text, size_t len)
{
	if (g.fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd_write_all(g.fd, text, len) != 0 || fdatasync(g.fd) != 0)
		return -1;
	return 0;
}

static int write_mark(const char *body)
{
	char line[LEDGER_LINE_MAX + 1];
	size_t len = strlen(body);
	int w = snprintf(line, sizeof(line), "%s %08" PRIx32 "\n", body, fnv1a(body, len));

	if (w < 0 || (size_t)w >= sizeof(line)) {
		errno = EOVERFLOW;
		return -1;
	}
	return write_line(line, (size_t)w);
}

int ledger_hold(int64_t now_ms, int task_ref, enum size_class s, uint64_t id)
{
	char body[200];
	uint64_t est = 0;

	ledger_estimate(s, &est);
	snprintf(body, sizeof(body), "hold1 %" PRId64 " %03d %s %" PRIu64 " %" PRIu64, now_ms,
		 task_ref, size_class_name(s), id, est);
	return write_mark(body);
}

int ledger_free(int64_t now_ms, uint64_t id)
{
	char body[100];

	snprintf(body, sizeof(body), "free1 %" PRId64 " %" PRIu64, now_ms, id);
	return write_mark(body);
}

void ledger_open_holds(size_t *n, uint64_t *atto)
{
	*n = g.open_holds;
	*atto = g.open_hold_atto;
}

/* ---- sums ---- */

static int64_t day_of(int64_t ms)
{
	return ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
}

static int month_of_day(int64_t day)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static void count(const struct ledger_payment *p)
{
	int64_t d = day_of(p->time_ms);
	size_t i;

	for (i = 0; i < g.ndays; i++)
		if (g.days[i].day == d)
			break;
	if (i == g.ndays) {
		if (g.ndays == LEDGER_DAYS_MAX) {
			/* Keep the newest days: drop the oldest. */
			size_t old = 0;

			for (size_t k = 1; k < g.ndays; k++)
				if (g.days[k].day < g.days[old].day)
					old = k;
			if (g.days[old].day > d)
				return; /* older than anything kept: not this month */
			i = old;
		} else {
			g.ndays++;
		}
		g.days[i].day = d;
		g.days[i].atto = 0;
		g.days[i].count = 0;
	}
	g.days[i].atto += p->atto;
	g.days[i].count++;
	if (p->chunks > 0 && p->atto > 0)
		ledger_note_price(p->size, p->atto, p->chunks);
}

uint64_t ledger_spent_today(int64_t now_ms)
{
	int64_t d = day_of(now_ms);

	for (size_t i = 0; i < g.ndays; i++)
		if (g.days[i].day == d)
			return sat64(g.days[i].atto);
	return 0;
}

static u128 month_sum(int64_t now_ms)
{
	int m = month_of_day(day_of(now_ms));
	u128 s = 0;

	for (size_t i = 0; i < g.ndays; i++)
		if (month_of_day(g.days[i].day) == m)
			s += g.days[i].atto;
	return s;
}

uint64_t ledger_spent_month(int64_t now_ms)
{
	return sat64(month_sum(now_ms));
}

/* ---- the file ---- */

long ledger_open(const char *path)
{
	struct buf b;
	long n = 0;
	size_t pos = 0, good_end = 0, nholds = 0;
	int line_no = 0;
	struct hold *holds;

	ledger_close();
	str_copy(g.path, path, sizeof(g.path));
	g.open_holds = 0;
	g.open_hold_atto = 0;
	g.ndays = 0;
	if (mkdir_parent(path, 0700) != 0) {
		log_error("Ledger %s: cannot create its directory: %s", path, strerror(errno));
		return -1;
	}
	g.fd = file_open_own(path, O_RDWR | O_APPEND, 0600);
	if (g.fd < 0) {
		log_error("Ledger %s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b, 0);
	if (file_read_all(path, SIZE_MAX / 2, &b) != 0) {
		log_error("Ledger %s: cannot read it: %s", path, strerror(errno));
		buf_free(&b);
		return -1;
	}
	holds = xcalloc(LEDGER_HOLDS_MAX, sizeof(*holds));
	while (pos < b.len) {
		const char *nl = memchr(b.data + pos, '\n', b.len - pos);
		struct ledger_payment p;
		size_t len;

		line_no++;
		if (nl == NULL)
			break; /* a torn last line: cut below */
		len = (size_t)(nl - (b.data + pos)) + 1;
		int mark;

		if (ledger_parse_line(b.data + pos, len, &p) == 0) {
			count(&p);
			n++;
			for (size_t k = 0; k < nholds; k++)
				if (holds[k].id == p.id)
					holds[k] = holds[--nholds];
		} else if ((mark = parse_mark(b.data + pos, len, &p)) == 1) {
			if (nholds < LEDGER_HOLDS_MAX)
				holds[nholds++] = (struct hold){ p.id, p };
		} else if (mark == 2) {
			for (size_t k = 0; k < nholds; k++)
				if (holds[k].id == p.id)
					holds[k] = holds[--nholds];
		} else {
			log_warn("Ledger %s line %d: not a payment line; skipped (kept in the file)",
				 path, line_no);
		}
		pos += len;
		good_end = pos;
	}
	if (good_end < b.len) {
		log_warn("Ledger %s: the last line was torn (%zu bytes without an end); cut off",
			 path, b.len - good_end);
		if (ftruncate(g.fd, (off_t)good_end) != 0 || fsync(g.fd) != 0)
			log_error("Ledger %s: cannot cut the torn line: %s", path, strerror(errno));
	}
	buf_free(&b);
	/* Upload clients that were running when the agent stopped without
	 * settling them: they may have paid. Counted at their estimate. */
	g.open_holds = nholds;
	g.open_hold_atto = 0;
	for (size_t k = 0; k < nholds; k++) {
		struct ledger_payment p = holds[k].p;

		p.chunks = 0;
		g.open_hold_atto += p.atto;
		log_warn("Ledger %s: upload of task %03d (id %" PRIu64 ") was never settled (the "
			 "agent stopped while it ran); counted as %" PRIu64 " atto, its estimate",
			 path, p.task_ref, p.id, p.atto);
		count(&p);
	}
	free(holds);
	return n;
}

void ledger_close(void)
{
	if (g.fd >= 0)
		close(g.fd);
	g.fd = -1;
}

int ledger_append(const struct ledger_payment *p)
{
	char line[LEDGER_LINE_MAX + 1];
	int len = ledger_format_line(p, line, sizeof(line));

	count(p);
	if (len < 0) {
		errno = EOVERFLOW;
		return -1;
	}
	if (write_line(line, (size_t)len) != 0) {
		log_error("Ledger %s: cannot record a payment of %" PRIu64 " atto: %s (it still "
			  "counts until a restart)", g.path, p->atto, strerror(errno));
		return -1;
	}
	return 0;
}

long ledger_read_days(const char *path,
		      void (*day_cb)(int64_t day_ms, uint64_t atto, uint64_t count, void *ud),
		      void *ud)
{
	struct buf b;
	struct day_sum *days = NULL;
	size_t nd = 0, pos = 0;
	long n = 0;

	buf_init(&b, 0);
	if (file_read_all(path, SIZE_MAX / 2, &b) != 0) {
		buf_free(&b);
		return -1;
	}
	while (pos < b.len) {
		const char *nl = memchr(b.data + pos, '\n', b.len - pos);
		struct ledger_payment p;
		size_t len, i;

		if (nl == NULL)
			break;
		len = (size_t)(nl - (b.data + pos)) + 1;
		if (ledger_parse_line(b.data + pos, len, &p) == 0) {
			int64_t d = day_of(p.time_ms);

			for (i = 0; i < nd && days[i].day != d; i++)
				;
			if (i == nd) {
				days = xrealloc(days, (nd + 1) * sizeof(*days));
				memset(&days[nd++], 0, sizeof(*days));
				days[i].day = d;
			}
			days[i].atto += p.atto;
			days[i].count++;
			n++;
		}
		pos += len;
	}
	buf_free(&b);
	/* Day order (a few dozen days: insertion sort). */
	for (size_t i = 1; i < nd; i++) {
		struct day_sum t = days[i];
		size_t k = i;

		for (; k > 0 && days[k - 1].day > t.day; k--)
			days[k] = days[k - 1];
		days[k] = t;
	}
	for (size_t i = 0; i < nd; i++)
		day_cb(days[i].day * MS_PER_DAY, sat64(days[i].atto), days[i].count, ud);
	free(days);
	return n;
}

/* ---- budget ---- */

void ledger_set_budget(uint64_t day, uint64_t month)
{
	g.budget_day = day;
	g.budget_month = month;
}

void ledger_budget(uint64_t *day, uint64_t *month)
{
	*day = g.budget_day;
	*month = g.budget_month;
}

void ledger_budget_from_config(void)
{
	uint64_t v[2] = { 0, 0 };
	const enum cfg_key ids[2] = { CFG_UPLOAD_BUDGET_DAY, CFG_UPLOAD_BUDGET_MONTH };
	char err[160];

	for (int i = 0; i < 2; i++) {
		if (ledger_parse_amount(cfg_str(ids[i]), &v[i], err, sizeof(err)) != 0) {
			log_error("%s: %s; no uploads until it is fixed", config_name(ids[i]), err);
			v[i] = 0;
		}
	}
	ledger_set_budget(v[0], v[1]);
}

void ledger_note_price(enum size_class s, uint64_t atto, uint32_t chunks)
{
	if ((unsigned)s >= SIZE__COUNT || atto == 0)
		return;
	g.price[s] = atto;
	/* Per chunk, rounded up. */
	if (chunks > 0 && atto / chunks + (atto % chunks != 0) > g.chunk_price)
		g.chunk_price = atto / chunks + (atto % chunks != 0);
}

static uint64_t class_chunks(enum size_class s)
{
	uint64_t lo, hi, c;

	size_class_bounds(s, &lo, &hi);
	c = hi / LEDGER_CHUNK_BYTES + 1;
	return c < LEDGER_MIN_CHUNKS ? LEDGER_MIN_CHUNKS : c + 1;
}

bool ledger_estimate(enum size_class s, uint64_t *atto)
{
	u128 est = 0;

	if ((unsigned)s >= SIZE__COUNT)
		return false;
	if (g.price[s] > 0)
		est = (u128)g.price[s] * LEDGER_ESTIMATE_MARGIN_PCT / 100;
	if (g.chunk_price > 0) {
		u128 by_size = (u128)g.chunk_price * class_chunks(s) * LEDGER_ESTIMATE_MARGIN_PCT / 100;

		/* The larger of the two: the class's largest file may cost more
		 * than the one seen. */
		if (by_size > est)
			est = by_size;
	}
	if (est == 0)
		return false;
	*atto = sat64(est);
	return true;
}

int ledger_reserve(enum size_class s, int64_t now_ms, uint64_t *held, char *why, size_t n)
{
	u128 day = ledger_spent_today(now_ms), month = month_sum(now_ms);
	uint64_t est = 0;
	bool known = ledger_estimate(s, &est);
	char a[48], b[48];

	*held = 0;
	if (g.budget_day == 0 || g.budget_month == 0) {
		snprintf(why, n, "UPLOAD_BUDGET_%s is 0 (no uploads until both budgets are set)",
			 g.budget_day == 0 ? "DAY" : "MONTH");
		return 1;
	}
	if (!known && (g.inflight_unpriced > 0 || g.reserved > 0)) {
		snprintf(why, n, "no price known yet for %s uploads and one is already under way",
			 size_class_name(s));
		return 2;
	}
	if (day + g.reserved + est > g.budget_day ||
	    (!known && day >= g.budget_day)) {
		ledger_format_tokens(sat64(day + g.reserved), a, sizeof(a));
		ledger_format_tokens(g.budget_day, b, sizeof(b));
		snprintf(why, n, "today's spend %s (with uploads under way) + up to %" PRIu64
			 " atto would pass UPLOAD_BUDGET_DAY %s", a, est, b);
		return 1;
	}
	if (month + g.reserved + est > g.budget_month ||
	    (!known && month >= g.budget_month)) {
		ledger_format_tokens(sat64(month + g.reserved), a, sizeof(a));
		ledger_format_tokens(g.budget_month, b, sizeof(b));
		snprintf(why, n, "this month's spend %s (with uploads under way) + up to %" PRIu64
			 " atto would pass UPLOAD_BUDGET_MONTH %s", a, est, b);
		return 1;
	}
	if (known) {
		g.reserved += est;
		*held = est;
	} else {
		g.inflight_unpriced++;
		*held = 0;
	}
	return 0;
}

void ledger_release(uint64_t held)
{
	if (held == 0) {
		if (g.inflight_unpriced > 0)
			g.inflight_unpriced--;
		return;
	}
	g.reserved = held > g.reserved ? 0 : g.reserved - held;
}

uint64_t ledger_reserved(void)
{
	return sat64(g.reserved);
}
