/*
 * cmd_check.c - `ant-agent check`: every start-up step of `run`, once,
 * saying for each what was found and, when something is wrong, how to fix
 * it. For a volunteer's first hour: exit 0 means `run` would start and
 * test; 1 means at least one step failed (warnings do not fail).
 *
 * The steps are rows of one table, run in order; each fills in a verdict,
 * what it found and, for a warning or a failure, the fix. Later steps may
 * use what earlier ones read (the control file's tasks, the catalogues).
 */
#include "catalog.h"
#include "cli.h"
#include "client.h"
#include "client_gen.h"
#include "config.h"
#include "control.h"
#include "diskguard.h"
#include "fetch.h"
#include "killswitch.h"
#include "memguard.h"
#include "ledger.h"
#include "upload.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CHECK_PROBE_TIMEOUT_MS 10000
#define CHECK_TEXT_MAX 600

enum verdict { V_PASS, V_INFO, V_WARN, V_FAIL };

static const char *const verdict_names[] = { "ok", "note", "warn", "FAIL" };

struct check_ctx {
	const struct cli *cli;
	bool have_control;
	struct control_result control;
	bool have_cat[2];            /* by enum catalog_kind */
	struct catalog cat[2];
};

struct check_out {
	enum verdict v;
	char found[CHECK_TEXT_MAX];
	char fix[CHECK_TEXT_MAX];
};

struct check_step {
	const char *name;
	void (*run)(struct check_ctx *c, struct check_out *o);
};

static void say(struct check_out *o, enum verdict v, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(struct check_out *o, enum verdict v, const char *fix, const char *fmt, ...)
{
	va_list ap;

	o->v = v;
	va_start(ap, fmt);
	vsnprintf(o->found, sizeof(o->found), fmt, ap);
	va_end(ap);
	str_copy(o->fix, fix ? fix : "", sizeof(o->fix));
}

/* ---- URLs ----------------------------------------------------------- */

struct url_setting {
	enum cfg_key key;
	const char *what;
};

static const struct url_setting url_settings[] = {
	{ CFG_SCHEDULER_URL, "control file" },
	{ CFG_CSV_URL, "download catalogue" },
	{ CFG_CSV_QUOTE_URL, "seed catalogue" },
	{ CFG_GIT_KILL_SWITCH_URL, "kill-switch" },
};

int check_file_urls(char *err, size_t n)
{
	if (cfg_bool(CFG_ALLOW_FILE_URLS))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(url_settings); i++) {
		const char *url = cfg_str(url_settings[i].key);

		if (strncasecmp(url, "file:", 5) == 0) {
			snprintf(err, n, "%s is a file:// URL (%s) but ALLOW_FILE_URLS is false: "
				 "set ALLOW_FILE_URLS=true to read local files (local and demo "
				 "use), or give %s an http(s) URL",
				 config_name(url_settings[i].key), url, config_name(url_settings[i].key));
			return -1;
		}
	}
	return 0;
}

/* Fetch url as the agent would; on failure o says why and how to fix. */
static int check_fetch(const char *url, size_t cap, const char *const *headers, enum cfg_key key,
		       struct buf *body, struct check_out *o)
{
	struct fetch_request req;
	struct fetch_response res;
	char fix[CHECK_TEXT_MAX];

	if (!cfg_bool(CFG_ALLOW_FILE_URLS) && strncasecmp(url, "file:", 5) == 0) {
		/* Counted once, by the file URLs step. */
		say(o, V_INFO, NULL, "%s: not read (file:// URLs are not allowed; see above)", url);
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.cap = cap;
	req.headers = headers;
	req.allow_file = cfg_bool(CFG_ALLOW_FILE_URLS);
	if (fetch_sync(&req, &res) != 0) {
		snprintf(fix, sizeof(fix), "check %s and this host's network (a proxy, a firewall); "
			 "`curl -I '%s'` shows what the server says", config_name(key), url);
		if (res.status >= 400)
			say(o, V_FAIL, fix, "%s: the server answered HTTP %ld", url, res.status);
		else if (res.too_large)
			say(o, V_FAIL, fix, "%s: the answer is larger than the %zu-byte limit", url, cap);
		else
			say(o, V_FAIL, fix, "%s: cannot fetch: %s", url,
			    res.error[0] ? res.error : "no answer");
		fetch_response_free(&res);
		return -1;
	}
	*body = res.body;
	res.body.data = NULL;
	fetch_response_free(&res);
	return 0;
}

/* ---- the steps ------------------------------------------------------ */

static void step_user(struct check_ctx *c, struct check_out *o)
{
	if (geteuid() != 0)
		say(o, V_PASS, NULL, "running as an ordinary user (uid %u)", (unsigned)geteuid());
	else if (c->cli->allow_root)
		say(o, V_WARN, "run ant-agent as an ordinary user; files it makes as root "
		    "will be in that user's way later", "running as root (--allow-root given)");
	else
		say(o, V_FAIL, "run ant-agent as an ordinary user (or pass --allow-root if you "
		    "really mean it)", "running as root: `run` refuses to start");
}

static void step_cache(struct check_ctx *c, struct check_out *o)
{
	const char *dir = cfg_str(CFG_CACHE_DIR);
	char msg[PATH_MAX * 2 + 512], fix[CHECK_TEXT_MAX];

	(void)c;
	if (config_cache_owner_check(dir, geteuid(), getegid(), msg, sizeof(msg)) != 0) {
		const char *cmd = strstr(msg, "sudo chown");

		say(o, access(dir, W_OK) == 0 ? V_WARN : V_FAIL, cmd ? cmd : NULL,
		    "%.*s", cmd ? (int)(cmd - msg) : (int)strlen(msg), msg);
		return;
	}
	if (mkdir_p(dir, 0755) != 0 || access(dir, W_OK) != 0) {
		snprintf(fix, sizeof(fix), "create it and let this user write there "
			 "(mkdir -p '%s'), or set CACHE_DIR to such a directory", dir);
		say(o, V_FAIL, fix, "CACHE_DIR %s: cannot write there: %s", dir, strerror(errno));
		return;
	}
	say(o, V_PASS, NULL, "CACHE_DIR %s is writable", dir);
}

static void step_client(struct check_ctx *c, struct check_out *o)
{
	char version[128], raw[1024], bare[64], err[512];
	const char *path = cfg_str(CFG_CLIENT_PATH);

	(void)c;
	if (client_probe_version(path, CHECK_PROBE_TIMEOUT_MS, version, sizeof(version), raw,
				 sizeof(raw), err, sizeof(err)) != 0) {
		/* The client module's message says how to fix it. */
		say(o, V_FAIL, NULL, "%s", err);
		return;
	}
	/* An unknown generation stops `run`, so it fails the check too; the
	 * message names the setting that overrides the detection. */
	if (client_select_generation(raw, bare, sizeof(bare), err, sizeof(err)) != 0) {
		say(o, V_FAIL, NULL, "%s (%s)", err, path);
		return;
	}
	say(o, V_PASS, NULL, "%s (%s), driven as %s", version, path, client_generation()->title);
}

static void step_file_urls(struct check_ctx *c, struct check_out *o)
{
	char err[CHECK_TEXT_MAX];

	(void)c;
	if (check_file_urls(err, sizeof(err)) != 0) {
		say(o, V_FAIL, NULL, "%s", err);
		return;
	}
	say(o, V_PASS, NULL, cfg_bool(CFG_ALLOW_FILE_URLS) ? "file:// URLs allowed (ALLOW_FILE_URLS)"
		: "no file:// URL in use");
}

static void step_control(struct check_ctx *c, struct check_out *o)
{
	struct control_limits lim;
	const char *url = cfg_str(CFG_SCHEDULER_URL);
	struct buf b;

	if (check_fetch(url, FETCH_CAP_XML, NULL, CFG_SCHEDULER_URL, &b, o) != 0)
		return;
	control_limits_from_config(&lim);
	if (control_parse(b.data, b.len, &lim, &c->control) != 0) {
		char first[300] = "";

		if (c->control.nproblems)
			control_problem_format(&c->control.problems[0], first, sizeof(first));
		say(o, V_FAIL, "the fleet's control file is broken: tell its maintainers, or check "
		    "that SCHEDULER_URL points at the control file", "%s: not usable: %s", url, first);
		control_result_free(&c->control);
		buf_free(&b);
		return;
	}
	buf_free(&b);
	c->have_control = true;
	if (c->control.ntasks == 0)
		say(o, V_WARN, "nothing to do until the fleet's control file lists tasks",
		    "%s: no tasks", url);
	else
		say(o, c->control.rejected ? V_WARN : V_PASS,
		    c->control.rejected ? "`ant-agent validate` shows why tasks were rejected" : NULL,
		    "%s: %zu task%s, %zu rejected", url, c->control.ntasks,
		    c->control.ntasks == 1 ? "" : "s", c->control.rejected);
}

static void check_catalogue(struct check_ctx *c, struct check_out *o, enum catalog_kind kind,
			    enum cfg_key key)
{
	const char *url = cfg_str(key);
	struct buf b;

	if (check_fetch(url, FETCH_CAP_CSV, NULL, key, &b, o) != 0)
		return;
	if (catalog_parse(kind, b.data, b.len, &c->cat[kind]) != 0) {
		say(o, V_FAIL, "check that the setting points at the catalogue "
		    "(`ant-agent validate` says more)", "%s: not a %s", url, catalog_kind_name(kind));
		catalog_free(&c->cat[kind]);
		buf_free(&b);
		return;
	}
	buf_free(&b);
	c->have_cat[kind] = true;
	say(o, c->cat[kind].stats.accepted ? V_PASS : V_WARN,
	    c->cat[kind].stats.accepted ? NULL : "no test of this kind can run until it has rows",
	    "%s: %zu rows", url, c->cat[kind].stats.accepted);
}

static void step_downloads(struct check_ctx *c, struct check_out *o)
{
	check_catalogue(c, o, CATALOG_DOWNLOADS, CFG_CSV_URL);
}

static void step_seeds(struct check_ctx *c, struct check_out *o)
{
	check_catalogue(c, o, CATALOG_SEEDS, CFG_CSV_QUOTE_URL);
}

/* Tasks whose size class has no row in their catalogue fail every hour. */
static void step_task_rows(struct check_ctx *c, struct check_out *o)
{
	char missing[CHECK_TEXT_MAX] = "";
	size_t n = 0, len = 0;

	if (!c->have_control) {
		say(o, V_INFO, NULL, "skipped: no control file");
		return;
	}
	for (size_t i = 0; i < c->control.ntasks; i++) {
		const struct task *t = &c->control.tasks[i];
		enum catalog_kind kind = catalog_kind_for(t->type);
		int w;

		if (!c->have_cat[kind] || catalog_count(&c->cat[kind], t->size) > 0)
			continue;
		n++;
		w = snprintf(missing + len, sizeof(missing) - len, "%s%s (%s %s)", len ? ", " : "",
			     t->ref_text, test_type_name(t->type), size_class_name(t->size));
		if (w > 0 && (size_t)w < sizeof(missing) - len)
			len += (size_t)w;
	}
	if (n)
		say(o, V_WARN, "those tasks fail every hour until the fleet's catalogue has rows of "
		    "their size; tell the fleet's maintainers",
		    "%zu task%s without catalogue rows of %s size: %s", n, n == 1 ? "" : "s",
		    n == 1 ? "its" : "their", missing);
	else
		say(o, V_PASS, NULL, "every task finds catalogue rows of its size");
}

static void step_killswitch(struct check_ctx *c, struct check_out *o)
{
	struct killswitch_options ko;
	struct killswitch_counts counts;
	char url[2048], auth[512], err[256];
	const char *headers[3] = { "Accept: application/vnd.github+json", NULL, NULL };
	struct buf b;
	bool on;

	(void)c;
	if (killswitch_options_from_config(&ko, url, sizeof(url)) != 0) {
		say(o, V_FAIL, "GIT_OWNER and GIT_REPO may hold letters, digits, '-', '_' and '.'",
		    "cannot build the kill-switch URL from GIT_KILL_SWITCH_URL");
		return;
	}
	if (ko.token && ko.token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ko.token);
		headers[1] = auth;
	}
	if (check_fetch(url, FETCH_CAP_JSON, headers, CFG_GIT_KILL_SWITCH_URL, &b, o) != 0) {
		if (o->v == V_FAIL)
			str_copy(o->fix + strlen(o->fix), "; until it answers the agent assumes "
				 "the switch is ON and runs no test", sizeof(o->fix) - strlen(o->fix));
		return;
	}
	if (killswitch_parse(b.data, b.len, &on, &counts, err, sizeof(err)) != 0) {
		say(o, V_FAIL, "check GIT_KILL_SWITCH_URL: it must answer GitHub's list of issues",
		    "%s: %s (the agent would assume the switch is ON)", url, err);
	} else if (on) {
		say(o, V_WARN, "nothing to fix here: the fleet has stopped testing for now",
		    "the kill-switch is ON (%zu open issue%s labelled kill-switch): no test runs",
		    counts.open_labelled, counts.open_labelled == 1 ? "" : "s");
	} else {
		say(o, V_PASS, NULL, "readable, OFF");
	}
	buf_free(&b);
}

static void step_disk(struct check_ctx *c, struct check_out *o)
{
	char reason[300], fix[CHECK_TEXT_MAX];
	double min = cfg_float(CFG_MIN_FREE_DISK_GB);
	int rc = diskguard_check(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), 0, min, reason, sizeof(reason));

	(void)c;
	snprintf(fix, sizeof(fix), "free some space where CLIENT_DOWNLOAD_PATH (%s) is, move it "
		 "to a larger disk, or lower MIN_FREE_DISK_GB", cfg_str(CFG_CLIENT_DOWNLOAD_PATH));
	if (rc > 0)
		say(o, V_FAIL, fix, "%s: no test that writes a file would start", reason);
	else if (rc < 0)
		say(o, V_WARN, fix, "%s", reason);
	else
		say(o, V_PASS, NULL, "free space above MIN_FREE_DISK_GB (%g GB)", min);
}

static void step_memory(struct check_ctx *c, struct check_out *o)
{
	char reason[300];
	int64_t min = cfg_int(CFG_MIN_FREE_MEM_MB);
	int rc = memguard_check(MEMGUARD_MEMINFO, min, reason, sizeof(reason));

	(void)c;
	if (min == 0)
		say(o, V_PASS, NULL, "memory guard off (MIN_FREE_MEM_MB=0)");
	else if (rc > 0)
		say(o, V_FAIL, "close other programs, or lower MIN_FREE_MEM_MB",
		    "%s: no test would start now", reason);
	else if (rc < 0)
		say(o, V_WARN, NULL, "%s (the guard is off)", reason);
	else
		say(o, V_PASS, NULL, "available memory above MIN_FREE_MEM_MB (%lld MB)", (long long)min);
}

static void step_telemetry(struct check_ctx *c, struct check_out *o)
{
	static const enum cfg_key keys[] = {
		CFG_TELEMETRY_COUNTRY, CFG_TELEMETRY_PROVISON, CFG_TELEMETRY_CONNECTION,
	};
	char unset[200] = "";
	size_t len = 0;

	(void)c;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = cfg_str(keys[i]);

		if (*v == '\0' || str_ieq(v, "xx")) {
			int w = snprintf(unset + len, sizeof(unset) - len, "%s%s", len ? ", " : "",
					 config_name(keys[i]));

			if (w > 0 && (size_t)w < sizeof(unset) - len)
				len += (size_t)w;
		}
	}
	if (len)
		say(o, V_WARN, "describe this host in .env so the fleet's numbers can be told "
		    "apart, e.g. TELEMETRY_COUNTRY=DE, TELEMETRY_PROVISON=home, "
		    "TELEMETRY_CONNECTION=fibre", "still xx: %s", unset);
	else
		say(o, V_PASS, NULL, "country %s, provision %s, connection %s",
		    cfg_str(CFG_TELEMETRY_COUNTRY), cfg_str(CFG_TELEMETRY_PROVISON),
		    cfg_str(CFG_TELEMETRY_CONNECTION));
}

static void step_uploads(struct check_ctx *c, struct check_out *o)
{
	uint64_t budget_day, budget_month;
	char budget[200];

	(void)c;
	ledger_budget_from_config();
	ledger_budget(&budget_day, &budget_month);
	upload_budget_text(budget, sizeof(budget));
	if (!cfg_bool(CFG_ALLOW_UPLOADS))
		say(o, V_INFO, NULL, "off (ALLOW_UPLOADS=false): upload tasks are skipped; "
		    "downloads and quotes cost nothing");
	else if (cfg_str(CFG_SECRET_KEY)[0] == '\0')
		say(o, V_FAIL, "set SECRET_KEY to the wallet key that pays for uploads, or "
		    "ALLOW_UPLOADS=false", "on, but SECRET_KEY is empty: every upload would fail");
	else if (budget_day == 0 || budget_month == 0)
		say(o, V_INFO, "set UPLOAD_BUDGET_DAY and UPLOAD_BUDGET_MONTH (e.g. 0.01 and 0.2) to "
		    "let uploads spend", "on (ALLOW_UPLOADS=true) but the budget is %s: no upload "
		    "will run", budget);
	else
		say(o, V_WARN, "set ALLOW_UPLOADS=false to stop spending",
		    "on (ALLOW_UPLOADS=true): upload tests spend this host's tokens, up to "
		    "UPLOAD_RATE_LIMIT=%lld uploads an hour and a budget of %s",
		    (long long)cfg_int(CFG_UPLOAD_RATE_LIMIT), budget);
}

static void step_influx(struct check_ctx *c, struct check_out *o)
{
	const char *base = cfg_str(CFG_INFLUX_URL);
	char url[2048];
	struct buf b;

	(void)c;
	if (base[0] == '\0') {
		say(o, V_INFO, NULL, "no push (INFLUX_URL empty): results stay in the metrics files");
		return;
	}
	snprintf(url, sizeof(url), "%s%sping", base, base[strlen(base) - 1] == '/' ? "" : "/");
	if (check_fetch(url, FETCH_CAP_REPLY, NULL, CFG_INFLUX_URL, &b, o) != 0) {
		/* Not fatal: the spool keeps everything until the server answers. */
		if (o->v == V_FAIL) {
			o->v = V_WARN;
			str_copy(o->fix + strlen(o->fix), "; meanwhile results wait in the push "
				 "spool", sizeof(o->fix) - strlen(o->fix));
		}
		return;
	}
	buf_free(&b);
	say(o, V_PASS, NULL, "%s answers", url);
}

static const struct check_step steps[] = {
	{ "user", step_user },
	{ "cache", step_cache },
	{ "client", step_client },
	{ "file URLs", step_file_urls },
	{ "control file", step_control },
	{ "downloads", step_downloads },
	{ "seeds", step_seeds },
	{ "task sizes", step_task_rows },
	{ "kill-switch", step_killswitch },
	{ "disk guard", step_disk },
	{ "memory guard", step_memory },
	{ "telemetry", step_telemetry },
	{ "uploads", step_uploads },
	{ "push", step_influx },
};

/* What a step found may quote a server or a file: nothing but printable
 * text reaches the terminal. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int cmd_check(const struct cli *cli)
{
	struct check_ctx c;
	size_t fails = 0, warns = 0;

	if (cli->nargs > 0) {
		fprintf(stderr, "ant-agent: check takes no arguments, not '%s'\n", cli->args[0]);
		return EXIT_USAGE;
	}
	memset(&c, 0, sizeof(c));
	c.cli = cli;
	printf("Checking what `ant-agent run` would do at start-up:\n");
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		struct check_out o;

		memset(&o, 0, sizeof(o));
		steps[i].run(&c, &o);
		printable(o.found);
		printable(o.fix);
		printf("  %-4s  %-13s %s\n", verdict_names[o.v], steps[i].name, o.found);
		if (o.fix[0] && o.v >= V_WARN)
			printf("        %-13s fix: %s\n", "", o.fix);
		fails += o.v == V_FAIL;
		warns += o.v == V_WARN;
	}
	if (c.have_control)
		control_result_free(&c.control);
	for (int k = 0; k < 2; k++)
		if (c.have_cat[k])
			catalog_free(&c.cat[k]);
	if (fails)
		printf("\nNot ready: %zu problem%s to fix (and %zu warning%s).\n", fails,
		       fails == 1 ? "" : "s", warns, warns == 1 ? "" : "s");
	else
		printf("\nReady: `ant-agent run` will start%s.\n",
		       warns ? " (see the warnings above)" : "");
	return fails ? EXIT_FAIL : EXIT_OK;
}
