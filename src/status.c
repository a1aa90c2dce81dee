/*
 * status.c - the status file and `ant-agent status` (see status.h).
 *
 * The agent (agent.c) builds the document from scheduler_status_json plus
 * its own facts (pid, uptime, versions, metrics and push counters); this
 * file writes it, decides whether its writer still runs, and prints it.
 * The document is the only status model: `ant-agent status`, the
 * console's [s] and the SIGUSR1 log block all print it with status_print.
 */
#include "status.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "kind.h"
#include "ledger.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROC_STAT_MAX 4096
#define MB (1024.0 * 1024.0)

uint64_t status_parse_proc_stat(const char *text, size_t len)
{
	/* "pid (comm) state ppid ...": comm may hold spaces and ')', so count
	 * fields from the last ')'. starttime is field 22, the 20th after it. */
	const char *p = NULL, *end = text + len;
	char num[32];
	int64_t v;
	int field = 2;
	size_t k = 0;

	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q;
	if (p == NULL)
		return 0;
	for (p++; p < end && field < 22; p++)
		if (*p == ' ')
			field++;
	while (p < end && *p >= '0' && *p <= '9' && k + 1 < sizeof(num))
		num[k++] = *p++;
	num[k] = '\0';
	if (field != 22 || k == 0 || parse_i64(num, 1, INT64_MAX, &v) != 0)
		return 0;
	return (uint64_t)v;
}

uint64_t status_proc_start(pid_t pid)
{
	char path[64];
	struct buf b;
	uint64_t v;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (file_read_all(path, PROC_STAT_MAX, &b) != 0)
		return 0;
	v = status_parse_proc_stat(b.data ? b.data : "", b.len);
	buf_free(&b);
	return v;
}

bool status_writer_alive(pid_t pid, uint64_t proc_start)
{
	uint64_t now_start;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return false;
	/* The pid exists; it is our writer only if it started when the
	 * writer did (pids are reused). */
	now_start = status_proc_start(pid);
	return proc_start == 0 || now_start == 0 || now_start == proc_start;
}

int status_write(const char *path, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	int rc;

	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = file_write_atomic(path, text, strlen(text), 0644);
	free(text);
	return rc;
}

/* ---- reading ---- */

/* A member by a dotted path ("killswitch.on"), or NULL. */
static json_t *jget(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o ? json_object_get(o, path) : NULL;
}

static const char *jstr(json_t *o, const char *path, const char *dflt)
{
	json_t *v = jget(o, path);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int64_t jint(json_t *o, const char *path, int64_t dflt)
{
	json_t *v = jget(o, path);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static double jnum(json_t *o, const char *path, double dflt)
{
	json_t *v = jget(o, path);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

static bool jbool(json_t *o, const char *path)
{
	return json_is_true(jget(o, path));
}

/* Tokens of an exact atto string of the status file; "?" when it is not
 * one (an old or damaged file). */
static const char *tokens_of(json_t *doc, const char *path, char *out, size_t n)
{
	uint64_t atto;
	char err[120], amount[48];
	const char *v = jstr(doc, path, "");

	/* The file holds whole atto as digits. */
	snprintf(amount, sizeof(amount), "%.30s atto", v);
	if (*v == '\0' || strlen(v) > 30 || strspn(v, "0123456789") != strlen(v) ||
	    ledger_parse_amount(amount, &atto, err, sizeof(err)) != 0)
		return str_copy(out, "?", n), out;
	ledger_format_tokens(atto, out, n);
	return out;
}

static void print_spend(json_t *doc, FILE *out)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];

	if (jget(doc, "spend") == NULL)
		return;
	fprintf(out, "  Spend       : today %s of %s ANT (%s left) | this month %s of %s ANT "
		     "(%s left)%s\n",
		tokens_of(doc, "spend.spent_today_atto", a, sizeof(a)),
		tokens_of(doc, "spend.budget_day_atto", b, sizeof(b)),
		tokens_of(doc, "spend.remaining_today_atto", c, sizeof(c)),
		tokens_of(doc, "spend.spent_month_atto", d, sizeof(d)),
		tokens_of(doc, "spend.budget_month_atto", e, sizeof(e)),
		tokens_of(doc, "spend.remaining_month_atto", f, sizeof(f)),
		jbool(doc, "spend.ledger_ok") ? "" : " | LEDGER NOT WRITABLE: no uploads");
}

bool status_doc_running(json_t *doc)
{
	int64_t pid = jint(doc, "pid", 0);

	if (strcmp(jstr(doc, "agent_state", ""), "stopped") == 0)
		return false;
	return pid > 0 && pid <= INT_MAX &&
	       status_writer_alive((pid_t)pid, (uint64_t)jint(doc, "proc_start", 0));
}

static void fmt_duration(int64_t s, char *out, size_t n)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, n, "%" PRId64 " s", s);
	else if (s < 7200)
		snprintf(out, n, "%" PRId64 " min", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, n, "%" PRId64 " h %02" PRId64 " min", s / 3600, s % 3600 / 60);
	else
		snprintf(out, n, "%" PRId64 " days %" PRId64 " h", s / 86400, s % 86400 / 3600);
}

/* "10:15:00" out of "2026-01-01T10:15:00Z" (the date is the status's own). */
static const char *hms(const char *iso, char *out, size_t n)
{
	if (strlen(iso) == 20)
		snprintf(out, n, "%.8s", iso + 11);
	else
		snprintf(out, n, "%s", iso);
	return out;
}

static void print_plan(FILE *out, json_t *doc)
{
	json_t *plan = jget(doc, "plan"), *it;
	size_t i;

	if (!json_is_array(plan) || json_array_size(plan) == 0) {
		fprintf(out, "  Plan        : no tasks this hour\n");
		return;
	}
	fprintf(out, "  Plan        : %zu task(s)\n", json_array_size(plan));
	json_array_foreach(plan, i, it) {
		char tests[64] = "", t[32];

		if (jint(it, "tests", 0) > 0)
			snprintf(tests, sizeof(tests), "  %" PRId64 " test(s), %" PRId64 " ok",
				 jint(it, "tests", 0), jint(it, "ok", 0));
		fprintf(out, "    %-3s %-8s %-6s %s %s  %s%s\n", jstr(it, "ref", "?"),
			jstr(it, "type", "?"), jstr(it, "size", "?"),
			jbool(it, "repeat") ? "repeat" : "once  ", hms(jstr(it, "due", "--:--:--"), t, sizeof(t)),
			jstr(it, "state", "?"), tests);
	}
}

static void print_last(FILE *out, json_t *doc)
{
	fprintf(out, "  Last result :");
	for (int i = 0; i < TEST__COUNT; i++) {
		const char *type = test_type_name((enum test_type)i);
		char key[32], t[32];
		json_t *r;

		snprintf(key, sizeof(key), "last.%s", type);
		r = jget(doc, key);
		if (r == NULL)
			fprintf(out, " %s -", type);
		else
			fprintf(out, " %s %s (task %03" PRId64 ", %s, %.2f s)", type,
				jstr(r, "status", "?"), jint(r, "task", 0),
				hms(jstr(r, "at", "?"), t, sizeof(t)), jnum(r, "exec_time", 0));
		fprintf(out, "%s", i + 1 < TEST__COUNT ? " |" : "\n");
	}
}

static void print_counts(FILE *out, json_t *doc)
{
	fprintf(out, "  Limits      :");
	for (int i = 0; i < TEST__COUNT; i++) {
		const char *type = test_type_name((enum test_type)i);
		char used[48], limit[48];

		snprintf(used, sizeof(used), "limits.%s.used", type);
		snprintf(limit, sizeof(limit), "limits.%s.limit", type);
		fprintf(out, " %s %" PRId64 "/%" PRId64 "%s", type, jint(doc, used, 0),
			jint(doc, limit, 0), i + 1 < TEST__COUNT ? " |" : " per hour");
	}
	fprintf(out, " | clients %" PRId64 "/%" PRId64 "\n", jint(doc, "limits.clients.used", 0),
		jint(doc, "limits.clients.limit", 0));
	fprintf(out, "  Metrics     : %" PRId64 " recorded, %" PRId64 " written, %" PRId64
		     " waiting, %" PRId64 " write error(s)\n",
		jint(doc, "metrics.recorded", 0), jint(doc, "metrics.written", 0),
		jint(doc, "metrics.cached", 0), jint(doc, "metrics.write_errors", 0));
	print_spend(doc, out);
	if (jbool(doc, "influx.enabled"))
		fprintf(out, "  InfluxDB    : %" PRId64 " line(s) pushed, %" PRId64 " batch(es) "
			     "spooled (%.1f MB), %" PRId64 " dropped, last answer %" PRId64 "\n",
			jint(doc, "influx.pushed", 0), jint(doc, "influx.spool_files", 0),
			(double)jint(doc, "influx.spool_bytes", 0) / MB,
			jint(doc, "influx.dropped", 0), jint(doc, "influx.last_status", 0));
	else
		fprintf(out, "  InfluxDB    : no push configured (INFLUX_URL)\n");
	fprintf(out, "  Resources   : disk free %.1f GB (min %.1f) | memory available %.0f MB "
		     "(min %" PRId64 ")\n",
		(double)jint(doc, "guards.disk_free_bytes", 0) / 1e9,
		jnum(doc, "guards.min_free_disk_gb", 0),
		(double)jint(doc, "guards.mem_available_bytes", 0) / MB,
		jint(doc, "guards.min_free_mem_mb", 0));
}

/* Every string of the status file (names, descriptions, kill-switch
 * messages, error texts: much of it came from outside) and every key is
 * made safe for a terminal before it is printed, as text or JSON. */
static void sanitize_strings(json_t *v)
{
	const char *key;
	json_t *val;
	void *tmp;
	size_t i;
	char *copy;

	if (json_is_string(v)) {
		copy = xstrdup(json_string_value(v));
		str_sanitize_terminal(copy, true);
		json_string_set(v, copy);
		free(copy);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, val)
			sanitize_strings(val);
	} else if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, key, val) {
			sanitize_strings(val);
			copy = xstrdup(key);
			if (strcmp(str_sanitize_terminal(copy, false), key) != 0) {
				json_object_set(v, copy, val);
				json_object_del(v, key);
			}
			free(copy);
		}
	}
}

void status_print(FILE *out, json_t *doc, bool running, int64_t now_real_ms)
{
	char up[48], age[48], ksage[48];
	int64_t written = jint(doc, "written_at_ms", 0);

	sanitize_strings(doc);
	fmt_duration(jint(doc, "uptime_s", 0), up, sizeof(up));
	fmt_duration((now_real_ms - written) / 1000, age, sizeof(age));
	if (running)
		fprintf(out, "ant-agent is running: pid %" PRId64 ", up %s, status written %s ago\n",
			jint(doc, "pid", 0), up, age);
	else if (strcmp(jstr(doc, "agent_state", ""), "stopped") == 0)
		fprintf(out, "ant-agent is NOT running: it stopped cleanly %s ago (pid %" PRId64
			     ", was up %s). Last known state:\n", age, jint(doc, "pid", 0), up);
	else
		fprintf(out, "ant-agent is NOT running: pid %" PRId64 " is gone without a clean "
			     "stop (killed or crashed) %s ago at most. Last known state:\n",
			jint(doc, "pid", 0), age);
	fprintf(out, "  Agent       : %s, id %s, client %s\n", jstr(doc, "agent_version", "?"),
		jstr(doc, "agent_id", "?"), jstr(doc, "client_version", "?"));
	fprintf(out, "  Clock       : %s%s\n", jstr(doc, "now", "?"),
		jbool(doc, "virtual_clock") ? " (virtual)" : "");
	if (jint(doc, "killswitch.age_ms", -1) < 0)
		snprintf(ksage, sizeof(ksage), "never");
	else
		fmt_duration(jint(doc, "killswitch.age_ms", 0) / 1000, ksage, sizeof(ksage));
	/* The reason names the issue or the failure; "on" alone also holds
	 * while the agent waits for the :00 refresh after the switch is OFF. */
	fprintf(out, "  Kill-switch : %s%s (last good answer %s%s; %" PRId64 "/%" PRId64
		     " requests this hour)\n",
		jbool(doc, "killswitch.on") ? "ON" : "OFF",
		jbool(doc, "killswitch.on") && strcmp(jstr(doc, "killswitch.state", ""), "off") == 0
			? ", OFF again: tests come back at the next :00 refresh" : "", ksage,
		jint(doc, "killswitch.age_ms", -1) < 0 ? "" : " ago",
		jint(doc, "killswitch.requests_this_hour", 0), jint(doc, "killswitch.max_per_hour", 0));
	if (strncmp(jstr(doc, "killswitch.reason", "OFF"), "ON: ", 4) == 0)
		fprintf(out, "                %s\n", jstr(doc, "killswitch.reason", "") + 4);
	if (jint(doc, "killswitch.issue.number", -1) >= 0)
		fprintf(out, "  Last ON     : issue #%" PRId64 " \"%s\" at %s%s%s\n",
			jint(doc, "killswitch.issue.number", 0), jstr(doc, "killswitch.issue.title", ""),
			jstr(doc, "killswitch.issue.on_at", "?"),
			*jstr(doc, "killswitch.issue.off_at", "") ? ", OFF again at " : ", still ON",
			jstr(doc, "killswitch.issue.off_at", ""));
	fprintf(out, "  Hour        : %s, next refresh %s\n", jstr(doc, "hour.phase", "?"),
		jstr(doc, "hour.next_refresh", "not planned"));
	print_plan(out, doc);
	fprintf(out, "  Running     : %" PRId64 " task(s), %" PRId64 " worker(s), %" PRId64
		     " client(s)\n", jint(doc, "running.tasks", 0), jint(doc, "running.workers", 0),
		jint(doc, "running.clients", 0));
	print_last(out, doc);
	print_counts(out, doc);
}

int cmd_status(const struct cli *c)
{
	char path[PATH_MAX];
	json_error_t jerr;
	struct buf b;
	json_t *doc;
	bool running, json_out = false;
	int rc;

	if (c->format != NULL) {
		if (strcmp(c->format, "json") != 0 && strcmp(c->format, "text") != 0) {
			fprintf(stderr, "ant-agent status: --format must be text or json\n");
			return EXIT_USAGE;
		}
		json_out = strcmp(c->format, "json") == 0;
	}
	snprintf(path, sizeof(path), "%s/%s", cfg_str(CFG_CACHE_DIR), STATUS_FILE_NAME);
	rc = file_read_all(path, STATUS_MAX_BYTES, &b);
	if (rc != 0) {
		printf("ant-agent is NOT running here: no status file %s (%s).\n"
		       "It is written by a running agent with the same CACHE_DIR.\n", path,
		       rc == -2 ? "too large" : strerror(errno));
		return EXIT_FAIL;
	}
	doc = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	buf_free(&b);
	if (!json_is_object(doc) || strcmp(jstr(doc, "format", ""), STATUS_FORMAT) != 0) {
		/* jansson's message may quote the bad text. */
		printf("ant-agent status: %s is not a status file (%s)\n", path,
		       doc ? "wrong format" : str_sanitize_terminal(jerr.text, false));
		json_decref(doc);
		return EXIT_FAIL;
	}
	sanitize_strings(doc);
	running = status_doc_running(doc);
	if (json_out) {
		json_object_set_new(doc, "running", json_boolean(running));
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		status_print(stdout, doc, running, clock_real_ms());
	}
	json_decref(doc);
	return running ? EXIT_OK : EXIT_FAIL;
}
