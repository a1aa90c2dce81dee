/*
 * cmd_validate.c - `ant-agent validate`: check a control file and the
 * catalogues the way the agent would read them, and say precisely what is
 * wrong, so the people who write them can fix a file before they push it.
 *
 * With no --control/--downloads/--seeds it checks all three sources from
 * the settings; with any of them it checks only those given. A source is
 * a local path (read directly) or a URL (fetched with the agent's caps and
 * timeouts). Exit 0: all valid; 1: a task or row was rejected; 2: a
 * source could not be read or parsed.
 */
#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "fetch.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { V_OK = 0, V_REJECTED = 1, V_UNREADABLE = 2 };

static int worst(int a, int b)
{
	return a > b ? a : b;
}

/* Read a path or fetch a URL into out (NUL-terminated). */
static int load_source(const char *src, size_t cap, struct buf *out, char *err, size_t n)
{
	char why[256];

	if (source_is_url(src)) {
		struct fetch_request req;
		struct fetch_response res;

		memset(&req, 0, sizeof(req));
		req.url = src;
		req.cap = cap;
		req.allow_file = true; /* the user named this file on the command line */
		if (fetch_sync(&req, &res) != 0) {
			if (res.status >= 400 || (res.status > 0 && !res.too_large && res.curl_code == 0))
				snprintf(err, n, "cannot fetch: the server answered HTTP %ld", res.status);
			else
				snprintf(err, n, "cannot fetch: %s", res.error[0] ? res.error : "no answer");
			fetch_response_free(&res);
			return -1;
		}
		*out = res.body;
		return 0;
	}
	if (source_read_path(src, cap, out, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, n, "cannot read: %s", why);
	return -1;
}

static void print_control_problem(const char *src, const struct control_problem *p)
{
	if (p->line > 0)
		printf("%s:%d: ", src, p->line);
	else
		printf("%s: ", src);
	if (p->task[0])
		printf("task %s: ", p->task);
	printf("%s: %s\n", control_severity_name(p->severity), p->message);
}

/* What was read, kept for the checks across files. */
struct validated {
	bool have_control;
	struct control_result control;
	bool have_cat[2];          /* by enum catalog_kind */
	struct catalog cat[2];
	const char *cat_src[2];
};

static int check_control(const char *src, struct validated *v)
{
	struct control_limits lim;
	struct control_result r;
	struct buf b;
	char err[300];
	int rc;

	printf("Control file: %s\n", src);
	if (load_source(src, FETCH_CAP_XML, &b, err, sizeof(err)) != 0) {
		printf("%s: %s\n", src, err);
		return V_UNREADABLE;
	}
	control_limits_from_config(&lim);
	rc = control_parse(b.data, b.len, &lim, &r);
	buf_free(&b);
	if (rc != 0) {
		for (size_t i = 0; i < r.nproblems; i++)
			print_control_problem(src, &r.problems[i]);
		printf("%s: not usable: the agent would run no tasks from it\n", src);
		control_result_free(&r);
		return V_UNREADABLE;
	}
	control_print_table(stdout, r.tasks, r.ntasks);
	for (size_t i = 0; i < r.nproblems; i++)
		print_control_problem(src, &r.problems[i]);
	if (r.problems_dropped)
		printf("%s: ... and %zu more problems\n", src, r.problems_dropped);
	printf("%s: %zu task%s accepted, %zu rejected, %zu warning%s\n", src, r.ntasks,
	       r.ntasks == 1 ? "" : "s", r.rejected, r.warnings, r.warnings == 1 ? "" : "s");
	rc = r.rejected ? V_REJECTED : V_OK;
	v->control = r;
	v->have_control = true;
	return rc;
}

static void print_size_counts(const char *src, const struct catalog *c)
{
	bool any = false;

	printf("%s: rows per size class:", src);
	for (int s = 0; s < SIZE__COUNT; s++) {
		size_t n = catalog_count(c, (enum size_class)s);

		if (n) {
			printf(" %s %zu", size_class_name((enum size_class)s), n);
			any = true;
		}
	}
	printf("%s\n", any ? "" : " none");
}

static int check_catalog(enum catalog_kind kind, const char *src, struct validated *v)
{
	struct catalog c;
	struct buf b;
	char err[300];
	int rc;

	printf("%s%s: %s\n", kind == CATALOG_DOWNLOADS ? "Download" : "Seed",
	       kind == CATALOG_DOWNLOADS ? " catalogue" : " catalogue", src);
	if (load_source(src, FETCH_CAP_CSV, &b, err, sizeof(err)) != 0) {
		printf("%s: %s\n", src, err);
		return V_UNREADABLE;
	}
	rc = catalog_parse(kind, b.data, b.len, &c);
	buf_free(&b);
	for (size_t i = 0; i < c.nproblems; i++) {
		const struct catalog_problem *p = &c.problems[i];

		if (p->line > 0)
			printf("%s:%d: %s: %s\n", src, p->line, catalog_severity_name(p->severity), p->message);
		else
			printf("%s: %s: %s\n", src, catalog_severity_name(p->severity), p->message);
	}
	if (c.problems_dropped)
		printf("%s: ... and %zu more problems\n", src, c.problems_dropped);
	if (rc != 0) {
		printf("%s: not usable: the agent would use no rows from it\n", src);
		catalog_free(&c);
		return V_UNREADABLE;
	}
	printf("%s: %zu lines: %zu rows accepted, %zu skipped, %zu comments, %zu header, %zu blank\n",
	       src, c.stats.lines, c.stats.accepted, c.stats.skipped, c.stats.comments, c.stats.header,
	       c.stats.blank);
	print_size_counts(src, &c);
	rc = c.stats.skipped ? V_REJECTED : V_OK;
	v->cat[kind] = c;
	v->have_cat[kind] = true;
	v->cat_src[kind] = src;
	return rc;
}

/* A task whose size class has no row in the catalogue it draws from finds
 * nothing to test and fails every hour: say so, although each file is
 * valid on its own. Returns the number of warnings printed. */
static size_t check_tasks_against_catalogues(const char *control_src, const struct validated *v)
{
	size_t warnings = 0;

	for (size_t i = 0; i < v->control.ntasks; i++) {
		const struct task *t = &v->control.tasks[i];
		enum catalog_kind kind = catalog_kind_for(t->type);

		if (!v->have_cat[kind] || catalog_count(&v->cat[kind], t->size) > 0)
			continue;
		printf("%s: task %s: warning: no row of size class %s in the %s %s: "
		       "every %s test of this task would fail\n",
		       control_src, t->ref_text, size_class_name(t->size), catalog_kind_name(kind),
		       v->cat_src[kind], test_type_name(t->type));
		warnings++;
	}
	return warnings;
}

static void validated_free(struct validated *v)
{
	if (v->have_control)
		control_result_free(&v->control);
	for (int k = 0; k < 2; k++)
		if (v->have_cat[k])
			catalog_free(&v->cat[k]);
}

int cmd_validate(const struct cli *c)
{
	const char *control = c->control, *downloads = c->downloads, *seeds = c->seeds;
	struct validated v;
	size_t cross = 0;
	int rc = V_OK;

	if (c->nargs > 0) {
		fprintf(stderr, "ant-agent: validate takes --control, --downloads and --seeds, not '%s'\n",
			c->args[0]);
		return EXIT_USAGE;
	}
	if (!control && !downloads && !seeds) {
		control = cfg_str(CFG_SCHEDULER_URL);
		downloads = cfg_str(CFG_CSV_URL);
		seeds = cfg_str(CFG_CSV_QUOTE_URL);
	}
	memset(&v, 0, sizeof(v));
	if (control) {
		rc = worst(rc, check_control(control, &v));
		if (downloads || seeds)
			printf("\n");
	}
	if (downloads) {
		rc = worst(rc, check_catalog(CATALOG_DOWNLOADS, downloads, &v));
		if (seeds)
			printf("\n");
	}
	if (seeds)
		rc = worst(rc, check_catalog(CATALOG_SEEDS, seeds, &v));
	if (v.have_control && (v.have_cat[CATALOG_DOWNLOADS] || v.have_cat[CATALOG_SEEDS])) {
		printf("\nTasks against catalogues:\n");
		cross = check_tasks_against_catalogues(control, &v);
		if (cross == 0)
			printf("every task finds rows of its size class\n");
	}
	validated_free(&v);
	if (rc == V_OK && cross > 0)
		printf("\nResult: valid, but %zu task%s would fail every hour (warnings above)\n",
		       cross, cross == 1 ? "" : "s");
	else
		printf("\nResult: %s\n", rc == V_OK ? "valid"
				       : rc == V_REJECTED ? "something was rejected (exit 1)"
							  : "a source could not be read or parsed (exit 2)");
	return rc;
}
