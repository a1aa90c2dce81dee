/*
 * cmd_report.c - `ant-agent report`: read the metric files back and show
 * per test type and size class how the tests went.
 *
 *   ant-agent report [--metrics FILE] [--summary FILE] [--since DURATION]
 *                    [--format text|csv|json]
 *
 * Without --metrics/--summary the files of the settings are read together
 * with their rotated copies (FILE.N .. FILE.1, oldest first). Lines that
 * cannot be read are counted and named (file and line number) on stderr;
 * they never stop the report.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "ledger.h"
#include "lineproto.h"
#include "metrics.h"
#include "model.h"
#include "stats.h"
#include "util.h"

#define REPORT_BAD_SHOWN 10
#define REPORT_ROTATED_MAX 1000

enum fmt { FMT_TEXT, FMT_CSV, FMT_JSON };

/* Spend per UTC day, from the payments ledger (CACHE_DIR/ledger.log). */
struct spend_day {
	int64_t day_ms;
	uint64_t atto;
	uint64_t payments;
};

struct spend {
	struct spend_day *days;
	size_t n;
	long payments;           /* -1: no ledger */
	char path[4096];
};

static void take_day(int64_t day_ms, uint64_t atto, uint64_t count, void *ud)
{
	struct spend *sp = ud;

	sp->days = xrealloc(sp->days, (sp->n + 1) * sizeof(*sp->days));
	sp->days[sp->n++] = (struct spend_day){ day_ms, atto, count };
}

static void read_spend(struct spend *sp)
{
	snprintf(sp->path, sizeof(sp->path), "%s/%s", cfg_str(CFG_CACHE_DIR), LEDGER_FILE_NAME);
	sp->payments = ledger_read_days(sp->path, take_day, sp);
}

static void print_spend_text(const struct spend *sp)
{
	char day[32], tok[32];

	if (sp->payments < 0) {
		printf("\nSpend: no ledger (%s): nothing paid for uploads here\n", sp->path);
		return;
	}
	printf("\nSpend per day (%s, %ld payment(s))\n", sp->path, sp->payments);
	printf("%-10s %9s %24s %22s\n", "DAY", "PAYMENTS", "ATTO", "ANT");
	for (size_t i = 0; i < sp->n; i++) {
		clock_format_iso(sp->days[i].day_ms, day, sizeof(day));
		ledger_format_tokens(sp->days[i].atto, tok, sizeof(tok));
		printf("%-10.10s %9" PRIu64 " %24" PRIu64 " %22s\n", day, sp->days[i].payments,
		       sp->days[i].atto, tok);
	}
	if (sp->n == 0)
		printf("(no payments)\n");
}

static json_t *spend_json(const struct spend *sp)
{
	json_t *a = json_array();
	char day[32], atto[24];

	for (size_t i = 0; i < sp->n; i++) {
		clock_format_iso(sp->days[i].day_ms, day, sizeof(day));
		day[10] = '\0';
		snprintf(atto, sizeof(atto), "%" PRIu64, sp->days[i].atto);
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "day", day,
			"payments", (json_int_t)sp->days[i].payments, "atto", atto));
	}
	return a;
}

/* Per (type, size) from the per-test lines. */
struct group {
	double *times;
	size_t n, alloc;
	uint64_t ok, skipped, stopped;
	double tput_sum;
	uint64_t tput_n;
	double cost_sum;          /* tokens, from lines without cost_atto */
	unsigned __int128 atto_sum; /* exact, from cost_atto */
	uint64_t cost_n;
};

/* Per (type, size) from the one-minute summaries. */
struct sgroup {
	uint64_t points, count, ok, failed, bytes;
	double sum, max_p99;
};

struct report {
	struct group g[TEST__COUNT][SIZE__COUNT];
	struct sgroup s[TEST__COUNT][SIZE__COUNT];
	uint64_t lines, used, bad, old, other;
	uint64_t slines, sused;
	int64_t first_ns, last_ns;
	int64_t since_ns;         /* INT64_MIN: everything */
	struct lp_point *pt;
};

static void add_time(struct group *g, double t)
{
	if (g->n == g->alloc) {
		g->alloc = g->alloc ? g->alloc * 2 : 64;
		g->times = xrealloc(g->times, g->alloc * sizeof(*g->times));
	}
	g->times[g->n++] = t;
}

static int kind_of(const struct lp_point *p, enum test_type *t, enum size_class *s)
{
	const struct lp_kv *tt = lp_point_tag(p, "type"), *fs = lp_point_tag(p, "filesize");

	if (!tt || !fs || test_type_parse(tt->str, t) != 0 || size_class_parse(fs->str, s) != 0)
		return -1;
	return 0;
}

static double num(const struct lp_point *p, const char *key, bool *have)
{
	const struct lp_kv *kv = lp_point_field(p, key);

	*have = kv && kv->type != LP_F_STRING;
	return *have ? kv->f : 0.0;
}

static void take_test(struct report *r, const struct lp_point *p)
{
	enum test_type t;
	enum size_class s;
	const struct lp_kv *st = lp_point_tag(p, "status");
	struct group *g;
	bool have;
	double v;

	if (kind_of(p, &t, &s) != 0) {
		r->other++;
		return;
	}
	g = &r->g[t][s];
	/* Tests that never ran, and tests the agent itself cut short (the
	 * hour's end, the kill-switch, a shutdown), are counted apart: they
	 * are neither successes nor failures. */
	if (st && strcmp(st->str, test_status_name(ST_SKIPPED)) == 0) {
		g->skipped++;
		return;
	}
	if (st && strcmp(st->str, test_status_name(ST_STOPPED)) == 0) {
		g->stopped++;
		return;
	}
	v = num(p, "exec_time", &have);
	add_time(g, have ? v : 0.0);
	g->ok += num(p, "ok", &have) > 0.5;
	v = num(p, "throughput", &have);
	if (have && v > 0) {
		g->tput_sum += v;
		g->tput_n++;
	}
	/* Costs add up exactly from cost_atto; cost (float tokens) only
	 * for lines written before cost_atto existed. */
	{
		const struct lp_kv *atto = lp_point_field(p, "cost_atto");

		v = num(p, "cost", &have);
		if (atto && atto->type == LP_F_INT && atto->i >= 0) {
			g->atto_sum += (unsigned __int128)atto->i;
			g->cost_n++;
		} else if (have) {
			g->cost_sum += v;
			g->cost_n++;
		}
	}
}

static void take_summary(struct report *r, const struct lp_point *p)
{
	enum test_type t;
	enum size_class s;
	struct sgroup *g;
	bool have;
	double p99;

	if (kind_of(p, &t, &s) != 0)
		return;
	g = &r->s[t][s];
	g->points++;
	g->count += (uint64_t)num(p, "count", &have);
	g->ok += (uint64_t)num(p, "ok", &have);
	g->failed += (uint64_t)num(p, "failed", &have);
	g->bytes += (uint64_t)num(p, "bytes", &have);
	g->sum += num(p, "sum", &have);
	p99 = num(p, "p99", &have);
	if (have && p99 > g->max_p99)
		g->max_p99 = p99;
	r->sused++;
}

/* Read one file; returns -1 only when it cannot be opened. */
static int read_file(struct report *r, const char *path, bool summary)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, err[80];
	size_t cap = 0;
	ssize_t len;
	uint64_t no = 0;

	if (f == NULL)
		return -1;
	while ((len = getline(&line, &cap, f)) != -1) {
		struct lp_point *p = r->pt;

		no++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (summary)
			r->slines++;
		else
			r->lines++;
		if (lp_parse(line, (size_t)len, p, err, sizeof(err)) != 0 ||
		    (!p->has_ts && str_copy(err, "no timestamp", sizeof(err)))) {
			if (++r->bad <= REPORT_BAD_SHOWN)
				fprintf(stderr, "%s:%" PRIu64 ": cannot read this line (%s)\n", path, no, err);
			continue;
		}
		if (p->ts < r->since_ns) {
			r->old++;
			continue;
		}
		if (!summary && strcmp(p->measurement, METRICS_MEASUREMENT) == 0) {
			if (r->first_ns == 0 || p->ts < r->first_ns)
				r->first_ns = p->ts;
			if (p->ts > r->last_ns)
				r->last_ns = p->ts;
			r->used++;
			take_test(r, p);
		} else if (strcmp(p->measurement, METRICS_SUMMARY_MEASUREMENT) == 0) {
			take_summary(r, p);
		} else {
			r->other++;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* A file of the settings: its rotated copies first, oldest first. */
static int read_with_rotated(struct report *r, const char *path, bool summary)
{
	char rp[4200];
	int found = 0;

	for (int i = REPORT_ROTATED_MAX; i >= 1; i--) {
		snprintf(rp, sizeof(rp), "%s.%d", path, i);
		if (access(rp, R_OK) == 0 && read_file(r, rp, summary) == 0)
			found++;
	}
	if (read_file(r, path, summary) == 0)
		found++;
	return found ? 0 : -1;
}

/* --- Output --- */

struct row {
	enum test_type t;
	enum size_class s;
	uint64_t tests, ok, skipped, stopped;
	double rate, p50, p90, p99, tput, cost_mean, cost_total;
	bool has_tput, has_cost;
};

static bool make_row(struct report *r, enum test_type t, enum size_class s, struct row *w)
{
	struct group *g = &r->g[t][s];

	if (g->n == 0 && g->skipped == 0 && g->stopped == 0)
		return false;
	memset(w, 0, sizeof(*w));
	w->t = t;
	w->s = s;
	w->tests = g->n;
	w->ok = g->ok;
	w->skipped = g->skipped;
	w->stopped = g->stopped;
	stats_sort(g->times, g->n);
	w->rate = g->n ? 100.0 * (double)g->ok / (double)g->n : NAN;
	w->p50 = stats_percentile(g->times, g->n, 50);
	w->p90 = stats_percentile(g->times, g->n, 90);
	w->p99 = stats_percentile(g->times, g->n, 99);
	w->has_tput = g->tput_n > 0;
	w->tput = w->has_tput ? g->tput_sum / (double)g->tput_n : NAN;
	w->has_cost = g->cost_n > 0;
	/* Tokens for display only; the sum itself was exact. */
	w->cost_total = g->cost_sum + (double)g->atto_sum / 1e18;
	w->cost_mean = w->has_cost ? w->cost_total / (double)g->cost_n : NAN;
	return true;
}

/* A number with `dec` decimals, or with %g when dec < 0; "-" for none. */
static void fmt_num(char *out, size_t n, double v, int dec)
{
	if (isnan(v))
		str_copy(out, "-", n);
	else if (dec < 0)
		snprintf(out, n, "%.6g", v);
	else
		snprintf(out, n, "%.*f", dec, v);
}

static void print_text(struct report *r, const char *mpath)
{
	char from[32], to[32], a[6][32];
	struct row w;
	bool any = false;

	printf("Tests in %s", mpath);
	if (r->used) {
		clock_format_iso(r->first_ns / 1000000, from, sizeof(from));
		clock_format_iso(r->last_ns / 1000000, to, sizeof(to));
		printf(", %s to %s", from, to);
	}
	printf(": %" PRIu64 "\n\n", r->used);
	printf("%-9s %-7s %7s %7s %8s %9s %9s %9s %12s %12s %12s\n", "TYPE", "SIZE", "TESTS", "OK",
	       "SUCCESS", "P50 s", "P90 s", "P99 s", "MB/s", "COST MEAN", "COST TOTAL");
	for (int t = 0; t < TEST__COUNT; t++) {
		for (int s = 0; s < SIZE__COUNT; s++) {
			if (!make_row(r, (enum test_type)t, (enum size_class)s, &w))
				continue;
			any = true;
			fmt_num(a[0], sizeof(a[0]) - 1, w.rate, 1);
			if (!isnan(w.rate))
				memcpy(a[0] + strlen(a[0]), "%", 2);
			fmt_num(a[1], sizeof(a[1]), w.p50, 3);
			fmt_num(a[2], sizeof(a[2]), w.p90, 3);
			fmt_num(a[3], sizeof(a[3]), w.p99, 3);
			fmt_num(a[4], sizeof(a[4]), w.tput / 1e6, 2);
			fmt_num(a[5], sizeof(a[5]), w.cost_mean, -1);
			printf("%-9s %-7s %7" PRIu64 " %7" PRIu64 " %8s %9s %9s %9s %12s %12s ",
			       test_type_name(w.t), size_class_name(w.s), w.tests, w.ok, a[0], a[1],
			       a[2], a[3], a[4], a[5]);
			if (w.has_cost)
				printf("%12.6g", w.cost_total);
			else
				printf("%12s", "-");
			if (w.skipped && w.stopped)
				printf("  (%" PRIu64 " skipped, %" PRIu64 " stopped)", w.skipped,
				       w.stopped);
			else if (w.skipped)
				printf("  (%" PRIu64 " skipped)", w.skipped);
			else if (w.stopped)
				printf("  (%" PRIu64 " stopped)", w.stopped);
			putchar('\n');
		}
	}
	if (!any)
		printf("(no tests)\n");
	if (r->sused) {
		printf("\nOne-minute summaries: %" PRIu64 "\n", r->sused);
		printf("%-9s %-7s %7s %7s %7s %9s %9s\n", "TYPE", "SIZE", "MINUTES", "TESTS", "FAILED",
		       "MEAN s", "MAX P99 s");
		for (int t = 0; t < TEST__COUNT; t++)
			for (int s = 0; s < SIZE__COUNT; s++) {
				struct sgroup *g = &r->s[t][s];

				if (!g->points)
					continue;
				printf("%-9s %-7s %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %9.3f %9.3f\n",
				       test_type_name((enum test_type)t), size_class_name((enum size_class)s),
				       g->points, g->count, g->failed,
				       g->count ? g->sum / (double)g->count : 0.0, g->max_p99);
			}
	}
	if (r->bad || r->old)
		printf("\n%" PRIu64 " lines could not be read; %" PRIu64 " were older than --since.\n",
		       r->bad, r->old);
}

static void csv_num(double v, int dec)
{
	char tmp[64];

	fmt_num(tmp, sizeof(tmp), v, dec);
	printf(",%s", isnan(v) ? "" : tmp);
}

static void print_csv(struct report *r)
{
	struct row w;

	printf("type,size,tests,ok,skipped,stopped,success_pct,p50_s,p90_s,p99_s,throughput_bps,cost_mean,cost_total\n");
	for (int t = 0; t < TEST__COUNT; t++)
		for (int s = 0; s < SIZE__COUNT; s++) {
			if (!make_row(r, (enum test_type)t, (enum size_class)s, &w))
				continue;
			printf("%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, test_type_name(w.t),
			       size_class_name(w.s), w.tests, w.ok, w.skipped, w.stopped);
			csv_num(w.rate, 2);
			csv_num(w.p50, 6);
			csv_num(w.p90, 6);
			csv_num(w.p99, 6);
			csv_num(w.tput, 3);
			csv_num(w.cost_mean, -1);
			csv_num(w.has_cost ? w.cost_total : NAN, -1);
			putchar('\n');
		}
}

static json_t *jnum(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static int print_json(struct report *r, const char *mpath, const struct spend *sp)
{
	json_t *root = json_object(), *rows = json_array(), *sums = json_array();
	struct row w;
	char *text;

	for (int t = 0; t < TEST__COUNT; t++)
		for (int s = 0; s < SIZE__COUNT; s++) {
			struct sgroup *g = &r->s[t][s];

			if (make_row(r, (enum test_type)t, (enum size_class)s, &w)) {
				json_array_append_new(rows, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
					"type", test_type_name(w.t), "size", size_class_name(w.s),
					"tests", (json_int_t)w.tests, "ok", (json_int_t)w.ok,
					"skipped", (json_int_t)w.skipped, "stopped", (json_int_t)w.stopped,
					"success_pct", jnum(w.rate),
					"p50_s", jnum(w.p50), "p90_s", jnum(w.p90), "p99_s", jnum(w.p99),
					"throughput_bps", jnum(w.tput), "cost_mean", jnum(w.cost_mean),
					"cost_total", jnum(w.has_cost ? w.cost_total : NAN)));
			}
			if (g->points)
				json_array_append_new(sums, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f}",
					"type", test_type_name((enum test_type)t),
					"size", size_class_name((enum size_class)s),
					"minutes", (json_int_t)g->points, "tests", (json_int_t)g->count,
					"ok", (json_int_t)g->ok, "failed", (json_int_t)g->failed,
					"sum_s", g->sum, "max_p99_s", g->max_p99));
		}
	json_object_set_new(root, "metrics_file", json_string(mpath));
	json_object_set_new(root, "tests", json_integer((json_int_t)r->used));
	json_object_set_new(root, "bad_lines", json_integer((json_int_t)r->bad));
	json_object_set_new(root, "older_than_since", json_integer((json_int_t)r->old));
	json_object_set_new(root, "first_ns", r->used ? json_integer(r->first_ns) : json_null());
	json_object_set_new(root, "last_ns", r->used ? json_integer(r->last_ns) : json_null());
	json_object_set_new(root, "groups", rows);
	json_object_set_new(root, "summaries", sums);
	json_object_set_new(root, "spend_per_day", spend_json(sp));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		return -1;
	puts(text);
	free(text);
	return 0;
}

int cmd_report(const struct cli *c)
{
	struct report *r = xcalloc(1, sizeof(*r));
	const char *mpath = c->metrics ? c->metrics : cfg_str(CFG_METRICS_FILE);
	const char *spath = c->summary ? c->summary : cfg_str(CFG_SUMMARY_FILE);
	enum fmt fmt = FMT_TEXT;
	int64_t since_ms;
	int rc = EXIT_OK;
	struct spend sp;

	memset(&sp, 0, sizeof(sp));
	r->pt = xmalloc(sizeof(*r->pt));
	r->since_ns = INT64_MIN;
	if (c->format == NULL || str_ieq(c->format, "text")) {
		fmt = FMT_TEXT;
	} else if (str_ieq(c->format, "csv")) {
		fmt = FMT_CSV;
	} else if (str_ieq(c->format, "json")) {
		fmt = FMT_JSON;
	} else {
		fprintf(stderr, "ant-agent: --format '%s': expected text, csv or json\n", c->format);
		rc = EXIT_USAGE;
		goto out;
	}
	if (c->since) {
		if (clock_parse_duration(c->since, &since_ms) != 0 || since_ms <= 0) {
			fprintf(stderr, "ant-agent: --since '%s': expected a duration such as 90s, 15m, 2h, 1d\n",
				c->since);
			rc = EXIT_USAGE;
			goto out;
		}
		r->since_ns = (clock_now_ms() - since_ms) * 1000000LL;
	}
	if ((c->metrics ? read_file(r, mpath, false) : read_with_rotated(r, mpath, false)) != 0) {
		if (c->metrics) {
			fprintf(stderr, "ant-agent: cannot read %s: %s\n", mpath, strerror(errno));
			rc = EXIT_FAIL;
			goto out;
		}
		fprintf(stderr, "ant-agent: no metrics yet (%s does not exist)\n", mpath);
	}
	if ((c->summary ? read_file(r, spath, true) : read_with_rotated(r, spath, true)) != 0 &&
	    c->summary) {
		fprintf(stderr, "ant-agent: cannot read %s: %s\n", spath, strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}
	if (r->bad > REPORT_BAD_SHOWN)
		fprintf(stderr, "... %" PRIu64 " unreadable lines in all\n", r->bad);
	read_spend(&sp);
	if (fmt == FMT_TEXT) {
		print_text(r, mpath);
		print_spend_text(&sp);
	} else if (fmt == FMT_CSV) {
		print_csv(r);
	} else if (print_json(r, mpath, &sp) != 0) {
		rc = EXIT_FAIL;
	}
out:
	free(sp.days);
	for (int t = 0; t < TEST__COUNT; t++)
		for (int s = 0; s < SIZE__COUNT; s++)
			free(r->g[t][s].times);
	free(r->pt);
	free(r);
	return rc;
}
