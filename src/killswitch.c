/*
 * killswitch.c - GitHub issues check with a fail-safe answer, a request
 * budget on the schedule clock and respect for the server's hold-offs.
 */
#include "killswitch.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS (3600 * INT64_C(1000))
#define AUTH_MAX 1024

/* ---- parsing -------------------------------------------------------- */

static bool has_kill_label(json_t *labels)
{
	size_t i;
	json_t *l;

	if (!json_is_array(labels))
		return false;
	json_array_foreach(labels, i, l) {
		const char *name = NULL;

		/* GitHub sends objects; some tools and older APIs send names. */
		if (json_is_string(l))
			name = json_string_value(l);
		else if (json_is_object(l))
			name = json_string_value(json_object_get(l, "name"));
		if (name && str_ieq(name, KILLSWITCH_LABEL))
			return true;
	}
	return false;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* The number and title of the issue that turns the switch ON, for the log
 * and the status: both come from outside, so the number must be a plain
 * integer and the title is cleaned. */
static void first_issue(json_t *item, struct killswitch_counts *cnt)
{
	json_t *num = json_object_get(item, "number");
	const char *title = json_string_value(json_object_get(item, "title"));

	cnt->number = json_is_integer(num) && json_integer_value(num) >= 0
			      ? (long long)json_integer_value(num) : -1;
	str_clean(title ? title : "", cnt->title, sizeof(cnt->title), STR_CLEAN_ONE_LINE);
}

int killswitch_parse(const char *json, size_t len, bool *on, struct killswitch_counts *counts,
		     char *err, size_t errlen)
{
	struct killswitch_counts cnt = { 0, 0, 0, -1, "" };
	json_error_t jerr;
	json_t *root, *item;
	size_t i;
	int rc = -1;

	*on = true;
	if (err && errlen)
		err[0] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "the answer is empty");
		goto out_noroot;
	}
	/* Any value, so a bare string or number gets a precise message. */
	root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "the answer is not valid JSON (line %d, column %d: %s)", jerr.line,
			 jerr.column, jerr.text);
		goto out_noroot;
	}
	if (!json_is_array(root)) {
		const char *msg = json_string_value(json_object_get(root, "message"));

		snprintf(err, errlen, "the answer is %s, not a JSON array of issues%s%.120s%s",
			 json_kind(root), msg ? " (server says: " : "", msg ? msg : "", msg ? ")" : "");
		goto out;
	}
	json_array_foreach(root, i, item) {
		const char *state;

		if (!json_is_object(item)) {
			snprintf(err, errlen, "element %zu of the answer is %s, not an issue", i + 1,
				 json_kind(item));
			goto out;
		}
		cnt.items++;
		state = json_string_value(json_object_get(item, "state"));
		/* A missing state counts as open: when in doubt, stop. */
		if (state && !str_ieq(state, "open"))
			continue;
		if (!has_kill_label(json_object_get(item, "labels")))
			continue;
		if (cnt.open_labelled++ == 0)
			first_issue(item, &cnt);
		if (json_object_get(item, "pull_request"))
			cnt.pull_requests++;
	}
	*on = cnt.open_labelled > 0;
	rc = 0;
out:
	json_decref(root);
out_noroot:
	if (counts)
		*counts = cnt;
	return rc;
}

static bool name_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int killswitch_expand_url(const char *tmpl, const char *owner, const char *repo, char *out,
			  size_t n)
{
	struct buf b;
	int rc = -1;

	if (!name_ok(owner) || !name_ok(repo) || n == 0)
		return -1;
	buf_init(&b, n - 1);
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "{owner}", 7) == 0) {
			buf_append(&b, owner, strlen(owner));
			p += 7;
		} else if (strncmp(p, "{repo}", 6) == 0) {
			buf_append(&b, repo, strlen(repo));
			p += 6;
		} else {
			buf_append(&b, p, 1);
			p++;
		}
	}
	buf_append(&b, "", 0);
	if (!b.truncated) {
		str_copy(out, b.data, n);
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

/* ---- the request budget --------------------------------------------- */

const char *killswitch_reading_name(enum killswitch_reading r)
{
	switch (r) {
	case KILLSWITCH_OFF: return "off";
	case KILLSWITCH_ON: return "on";
	case KILLSWITCH_NO_ANSWER: return "no answer";
	case KILLSWITCH_FAILED: return "check failed";
	case KILLSWITCH_STALE: return "cannot confirm off";
	}
	return "?";
}

void killswitch_pacing_for(bool token, int setting_max, struct killswitch_pacing *out)
{
	int max = setting_max < 1 ? 1 : setting_max;

	if (!token && max > KILLSWITCH_ANON_MAX_PER_HOUR)
		max = KILLSWITCH_ANON_MAX_PER_HOUR;
	out->max_per_hour = max;
	out->interval_ms = HOUR_MS / max;
	out->max_age_ms = out->interval_ms + KILLSWITCH_GRACE_MS;
	out->lead_ms = KILLSWITCH_LEAD_MS;
}

struct killswitch_pacer {
	struct killswitch_pacing pc;
	int64_t *sent;       /* send times in the last hour, oldest first */
	int nsent;
	bool have_sent;
	int64_t last_sent;
	bool have_answer;
	bool answer_on;      /* the last good answer */
	bool failed;         /* the last check failed */
	int64_t answer_at;   /* when the last good answer came */
	int64_t hold_until;
	bool busy;
	int64_t next_due;
};

struct killswitch_pacer *killswitch_pacer_new(const struct killswitch_pacing *pc)
{
	struct killswitch_pacer *p = xcalloc(1, sizeof(*p));

	p->pc = *pc;
	if (p->pc.max_per_hour < 1)
		p->pc.max_per_hour = 1;
	/* Room for one more than the budget: the window is pruned before a
	 * send is counted. */
	p->sent = xcalloc((size_t)p->pc.max_per_hour + 1, sizeof(*p->sent));
	return p;
}

void killswitch_pacer_free(struct killswitch_pacer *p)
{
	if (p == NULL)
		return;
	free(p->sent);
	free(p);
}

/* A send counts until exactly an hour later. */
static int pacer_first_live(const struct killswitch_pacer *p, int64_t now)
{
	int i = 0;

	while (i < p->nsent && now - p->sent[i] >= HOUR_MS)
		i++;
	return i;
}

void killswitch_pacer_sent(struct killswitch_pacer *p, int64_t now)
{
	int drop = pacer_first_live(p, now);

	if (drop > 0) {
		memmove(p->sent, p->sent + drop, (size_t)(p->nsent - drop) * sizeof(*p->sent));
		p->nsent -= drop;
	}
	/* Callers send only when next_send allows; if one did not, the
	 * oldest entry makes room and the count stays right for the rest. */
	if (p->nsent > p->pc.max_per_hour) {
		memmove(p->sent, p->sent + 1, (size_t)(p->nsent - 1) * sizeof(*p->sent));
		p->nsent--;
	}
	p->sent[p->nsent++] = now;
	p->have_sent = true;
	p->last_sent = now;
}

void killswitch_pacer_answer(struct killswitch_pacer *p, int64_t now, bool on)
{
	p->have_answer = true;
	p->answer_on = on;
	p->answer_at = now;
	p->failed = false;
}

void killswitch_pacer_failed(struct killswitch_pacer *p, int64_t now)
{
	(void)now;
	p->failed = true;
}

void killswitch_pacer_hold(struct killswitch_pacer *p, int64_t now, int64_t wait_ms)
{
	if (wait_ms < 0)
		return;
	if (wait_ms > KILLSWITCH_HOLD_MAX_MS)
		wait_ms = KILLSWITCH_HOLD_MAX_MS;
	if (now + wait_ms > p->hold_until)
		p->hold_until = now + wait_ms;
}

void killswitch_pacer_activity(struct killswitch_pacer *p, bool busy, int64_t next_due)
{
	p->busy = busy;
	p->next_due = next_due;
}

enum killswitch_reading killswitch_pacer_reading(const struct killswitch_pacer *p, int64_t now)
{
	if (!p->have_answer)
		return p->failed ? KILLSWITCH_FAILED : KILLSWITCH_NO_ANSWER;
	if (p->failed)
		return KILLSWITCH_FAILED;
	if (p->answer_on)
		return KILLSWITCH_ON;
	/* The age counts from the answer alone: no hold-off, budget or
	 * failure to ask makes an old OFF good for longer. */
	if (now - p->answer_at > p->pc.max_age_ms)
		return KILLSWITCH_STALE;
	return KILLSWITCH_OFF;
}

bool killswitch_pacer_needed(const struct killswitch_pacer *p, int64_t now)
{
	return p->busy || (p->next_due > 0 && p->next_due - now <= p->pc.lead_ms);
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int64_t killswitch_pacer_next_send(const struct killswitch_pacer *p, int64_t now)
{
	enum killswitch_reading r = killswitch_pacer_reading(p, now);
	int first = pacer_first_live(p, now);
	int64_t at = INT64_MIN;

	if (p->have_sent)
		at = p->last_sent + p->pc.interval_ms;
	at = max64(at, p->hold_until);
	/* Budget full: room when the oldest send of the window leaves it. */
	if (p->nsent - first >= p->pc.max_per_hour)
		at = max64(at, p->sent[first + (p->nsent - first) - p->pc.max_per_hour] + HOUR_MS);
	/* While ON (or unknown), keep asking at the paced rate so the agent
	 * sees it go OFF; while OFF, only when an answer is needed. */
	if (r != KILLSWITCH_OFF && r != KILLSWITCH_STALE)
		return at;
	if (p->busy)
		return at;
	if (p->next_due > 0)
		return max64(at, p->next_due - p->pc.lead_ms);
	return INT64_MAX;
}

int killswitch_pacer_used(const struct killswitch_pacer *p, int64_t now)
{
	return p->nsent - pacer_first_live(p, now);
}

int64_t killswitch_pacer_hold_until(const struct killswitch_pacer *p)
{
	return p->hold_until;
}

int64_t killswitch_pacer_answer_at(const struct killswitch_pacer *p)
{
	return p->have_answer ? p->answer_at : 0;
}

const struct killswitch_pacing *killswitch_pacer_pacing(const struct killswitch_pacer *p)
{
	return &p->pc;
}

int64_t killswitch_holdoff_ms(const struct fetch_response *res, int64_t real_now_s)
{
	int64_t wait_ms = -1;

	if (res->retry_after_s >= 0)
		wait_ms = res->retry_after_s * 1000;
	if (res->ratelimit_remaining == 0 && res->ratelimit_reset > 0) {
		/* Reset is an epoch second of the real clock: a delay works
		 * with a virtual schedule clock too. */
		int64_t w = (res->ratelimit_reset - real_now_s) * 1000;

		if (w > wait_ms)
			wait_ms = w;
	}
	return wait_ms;
}

bool killswitch_is_rate_limit(const struct fetch_response *res)
{
	if (res->status == 429)
		return true;
	return res->status == 403 && res->ratelimit_remaining == 0;
}

/* ---- the checker ---------------------------------------------------- */

struct killswitch {
	struct fetcher *f;
	struct killswitch_pacer *pacer;
	char *url;
	char *auth;             /* "Authorization: Bearer ..." or NULL */
	bool allow_file;
	int timeout_ms;
	bool in_flight;
	bool have_answer;       /* a good answer has been seen (its ETag is kept) */
	bool good_on;           /* the last good answer */
	bool stale_reported;    /* "cannot confirm OFF" said for this answer */
	bool rate_limited;      /* the last failure was the rate limit */
	bool rate_limit_said;   /* ...and that was logged (once per run of them) */
	int64_t last_check_ms;
	unsigned long total;
	unsigned long not_modified;
	char etag[256];
	char last_error[256];
	long long issue_number;
	char issue_title[KILLSWITCH_TITLE_MAX + 1];
	int64_t issue_on_ms, issue_off_ms;
	killswitch_cb cb;
	void *cb_ud;
};

int killswitch_options_from_config(struct killswitch_options *o, char *url_buf, size_t n)
{
	memset(o, 0, sizeof(*o));
	if (killswitch_expand_url(cfg_str(CFG_GIT_KILL_SWITCH_URL), cfg_str(CFG_GIT_OWNER),
				  cfg_str(CFG_GIT_REPO), url_buf, n) != 0) {
		log_error("kill-switch: cannot build the URL from GIT_KILL_SWITCH_URL, GIT_OWNER and "
			  "GIT_REPO (owner and repo may hold letters, digits, '-', '_' and '.')");
		return -1;
	}
	o->url = url_buf;
	o->token = cfg_str(CFG_GITHUB_TOKEN);
	o->max_per_hour = (int)cfg_int(CFG_KILL_SWITCH_MAX_PER_HOUR);
	o->allow_file = cfg_bool(CFG_ALLOW_FILE_URLS);
	return 0;
}

struct killswitch *killswitch_new(struct fetcher *f, const struct killswitch_options *o)
{
	struct killswitch_pacing pc;
	struct killswitch *k;

	k = xcalloc(1, sizeof(*k));
	k->f = f;
	k->url = xstrdup(o->url);
	if (o->token && o->token[0]) {
		size_t n = strlen(o->token) + sizeof("Authorization: Bearer ");

		if (n <= AUTH_MAX) {
			k->auth = xmalloc(n);
			snprintf(k->auth, n, "Authorization: Bearer %s", o->token);
		} else {
			log_warn("kill-switch: GITHUB_TOKEN is too long to send; checking without it");
		}
	}
	killswitch_pacing_for(k->auth != NULL, o->max_per_hour, &pc);
	k->pacer = killswitch_pacer_new(&pc);
	k->allow_file = o->allow_file;
	k->timeout_ms = o->timeout_ms;
	k->issue_number = -1;
	str_copy(k->last_error, "not checked yet", sizeof(k->last_error));
	log_info("kill-switch: at most %d checks an hour (%s), one every %lld s while tests run or "
		 "are due; an OFF answer is trusted for %lld s", pc.max_per_hour,
		 k->auth ? "with GITHUB_TOKEN" : "no GITHUB_TOKEN: GitHub's 60 an hour are shared by "
						  "every agent behind this address",
		 (long long)(pc.interval_ms / 1000), (long long)(pc.max_age_ms / 1000));
	return k;
}

void killswitch_free(struct killswitch *k)
{
	if (k == NULL)
		return;
	killswitch_pacer_free(k->pacer);
	free(k->url);
	free(k->auth);
	free(k);
}

void killswitch_set_listener(struct killswitch *k, killswitch_cb cb, void *ud)
{
	k->cb = cb;
	k->cb_ud = ud;
}

static void notify(struct killswitch *k, int64_t now)
{
	if (k->cb)
		k->cb(killswitch_pacer_reading(k->pacer, now) != KILLSWITCH_OFF, k->cb_ud);
}

static void apply_holdoff(struct killswitch *k, const struct fetch_response *res, int64_t now)
{
	int64_t before = killswitch_pacer_hold_until(k->pacer);
	int64_t wait_ms = killswitch_holdoff_ms(res, (int64_t)time(NULL));

	killswitch_pacer_hold(k->pacer, now, wait_ms);
	if (killswitch_pacer_hold_until(k->pacer) > before && !k->rate_limited)
		log_warn("kill-switch: the server asks for no check for %lld s%s",
			 (long long)((killswitch_pacer_hold_until(k->pacer) - now) / 1000),
			 res->ok ? "; the answer still counts only for its usual time" : "");
}

static void say_rate_limit(struct killswitch *k, const struct fetch_response *res, int64_t now)
{
	int64_t wait_ms = killswitch_holdoff_ms(res, (int64_t)time(NULL));
	char until[32] = "";

	k->rate_limited = true;
	if (k->rate_limit_said)
		return;
	k->rate_limit_said = true;
	if (wait_ms > 0) {
		if (wait_ms > KILLSWITCH_HOLD_MAX_MS)
			wait_ms = KILLSWITCH_HOLD_MAX_MS;
		clock_format_iso(now + wait_ms, until, sizeof(until));
	}
	log_error("kill-switch: GitHub's API rate limit is exhausted (HTTP %ld)%s%s; the switch "
		  "reads ON and no test starts until a check succeeds. %s", res->status,
		  until[0] ? ", no check before " : "", until,
		  k->auth ? "GITHUB_TOKEN is set: another program may be using the same token."
			  : "Without GITHUB_TOKEN every agent and program behind this IP address "
			    "shares 60 requests an hour: set GITHUB_TOKEN (a token without scopes "
			    "will do) to get a limit of its own.");
}

static void check_failed(struct killswitch *k, const char *why, enum killswitch_reading before)
{
	/* A rate limit has its own message, said once. */
	bool same = (before == KILLSWITCH_FAILED && strcmp(k->last_error, why) == 0) ||
		    k->rate_limited;

	killswitch_pacer_failed(k->pacer, clock_now_ms());
	str_copy(k->last_error, why, sizeof(k->last_error));
	/* The same failure again is not news; a first one is. */
	log_msg(same ? LOG_DEBUG : LOG_WARNING, "kill-switch: check failed (%s); treating the "
		"switch as ON%s", why, before == KILLSWITCH_OFF ? "" : " until a check succeeds");
}

static void answer_good(struct killswitch *k, bool on, int64_t now)
{
	killswitch_pacer_answer(k->pacer, now, on);
	k->have_answer = true;
	k->good_on = on;
	k->stale_reported = false;
	k->rate_limited = false;
	k->rate_limit_said = false;
	k->last_error[0] = '\0';
}

/* Log a fresh 200 answer when it changes what the switch reads. */
static void say_answer(struct killswitch *k, bool on, bool was_on,
		       enum killswitch_reading before, int64_t now,
		       const struct killswitch_counts *cnt)
{
	char when[32];

	if (on) {
		if (was_on && cnt->number == k->issue_number)
			return;
		k->issue_number = cnt->number;
		str_copy(k->issue_title, cnt->title, sizeof(k->issue_title));
		k->issue_on_ms = now;
		k->issue_off_ms = 0;
		if (cnt->number >= 0)
			log_warn("kill-switch is ON: issue #%lld \"%s\" is open and labelled "
				 "kill-switch%s; no test starts", cnt->number, cnt->title,
				 cnt->open_labelled > 1 ? " (and others)" : "");
		else
			log_warn("kill-switch is ON: an open issue is labelled kill-switch; no test "
				 "starts");
		return;
	}
	if (was_on && k->issue_on_ms > 0 && k->issue_off_ms == 0) {
		k->issue_off_ms = now;
		clock_format_iso(k->issue_on_ms, when, sizeof(when));
		log_info("kill-switch is OFF again: issue #%lld \"%s\" (ON since %s) is closed or no "
			 "longer labelled; tests come back at the next :00 refresh", k->issue_number,
			 k->issue_title, when);
	} else if (before != KILLSWITCH_OFF) {
		log_info("kill-switch is OFF%s", before == KILLSWITCH_FAILED ? " (checks succeed again)"
						  : before == KILLSWITCH_STALE ? " (confirmed again)" : "");
	}
}

static void on_answer(struct fetch_response *res, void *ud)
{
	struct killswitch *k = ud;
	int64_t now = clock_now_ms();
	enum killswitch_reading before = killswitch_pacer_reading(k->pacer, now);
	bool had = k->have_answer, was_on = k->good_on;
	struct killswitch_counts cnt;
	char err[256];
	bool on;

	k->in_flight = false;
	k->last_check_ms = now;
	if (res->not_modified && res->ok) {
		if (had) {
			k->not_modified++;
			answer_good(k, k->good_on, now);
			/* Unchanged, but the reading may change back from a
			 * failure or a stale answer: say so as a 200 would. */
			if (!k->good_on && before != KILLSWITCH_OFF)
				log_info("kill-switch is OFF%s", before == KILLSWITCH_FAILED
						 ? " (checks succeed again)" : " (confirmed again)");
		} else {
			check_failed(k, "HTTP 304 without an earlier answer", before);
		}
	} else if (!res->ok) {
		k->rate_limited = false;
		if (killswitch_is_rate_limit(res)) {
			say_rate_limit(k, res, now);
			snprintf(err, sizeof(err), "GitHub's API rate limit is exhausted (HTTP %ld)",
				 res->status);
		} else if (res->status >= 400) {
			snprintf(err, sizeof(err), "HTTP status %ld", res->status);
		} else {
			str_copy(err, res->error[0] ? res->error : "no answer", sizeof(err));
		}
		check_failed(k, err, before);
	} else if (killswitch_parse(res->body.data, res->body.len, &on, &cnt, err, sizeof(err)) != 0) {
		check_failed(k, err, before);
	} else {
		str_copy(k->etag, res->etag, sizeof(k->etag));
		answer_good(k, on, now);
		say_answer(k, on, was_on && had, before, now, &cnt);
	}
	apply_holdoff(k, res, now);
	notify(k, now);
}

static void start_check(struct killswitch *k, int64_t now)
{
	const char *headers[3] = { "Accept: application/vnd.github+json", NULL, NULL };
	enum killswitch_reading before = killswitch_pacer_reading(k->pacer, now);
	struct fetch_request req;

	if (k->auth)
		headers[1] = k->auth;
	memset(&req, 0, sizeof(req));
	req.url = k->url;
	req.headers = headers;
	/* Always conditional once there is an answer: only a good answer's
	 * ETag, so a 304 points at an answer we hold. */
	req.etag = k->have_answer && k->etag[0] ? k->etag : NULL;
	req.cap = FETCH_CAP_JSON;
	req.allow_file = k->allow_file;
	req.timeout_ms = k->timeout_ms;
	killswitch_pacer_sent(k->pacer, now);
	k->total++;
	if (fetch_start(k->f, &req, on_answer, k) != 0) {
		k->last_check_ms = now;
		check_failed(k, "the request could not be started (bad URL?)", before);
		notify(k, now);
		return;
	}
	k->in_flight = true;
}

void killswitch_set_activity(struct killswitch *k, bool busy, int64_t next_due)
{
	killswitch_pacer_activity(k->pacer, busy, next_due);
}

void killswitch_poll(struct killswitch *k, int64_t now)
{
	const struct killswitch_pacer *p = k->pacer;

	if (k->in_flight)
		return;
	if (killswitch_pacer_next_send(p, now) <= now) {
		start_check(k, now);
		if (k->in_flight)
			return;
	}
	if (killswitch_pacer_reading(p, now) != KILLSWITCH_STALE || k->stale_reported ||
	    !killswitch_pacer_needed(p, now))
		return;
	k->stale_reported = true;
	log_warn("kill-switch: cannot confirm OFF: the last answer is %lld s old and is trusted "
		 "for %lld s%s; treating the switch as ON until a check succeeds",
		 (long long)((now - p->answer_at) / 1000), (long long)(p->pc.max_age_ms / 1000),
		 p->hold_until > now ? " (the server holds checks off)" : "");
	notify(k, now);
}

int64_t killswitch_next_poll_at(const struct killswitch *k, int64_t now)
{
	const struct killswitch_pacer *p = k->pacer;
	enum killswitch_reading r = killswitch_pacer_reading(p, now);
	int64_t at;

	if (k->in_flight)
		return INT64_MAX;
	at = killswitch_pacer_next_send(p, now);
	if (r == KILLSWITCH_OFF && p->answer_at + p->pc.max_age_ms + 1 < at)
		at = p->answer_at + p->pc.max_age_ms + 1;
	if (r == KILLSWITCH_STALE && !k->stale_reported) {
		if (killswitch_pacer_needed(p, now))
			at = now;
		else if (p->next_due > 0 && p->next_due - p->pc.lead_ms < at)
			at = p->next_due - p->pc.lead_ms;
	}
	return at;
}

bool killswitch_may_start(const struct killswitch *k, int64_t now)
{
	return killswitch_pacer_reading(k->pacer, now) == KILLSWITCH_OFF;
}

static void reading_words(const struct killswitch *k, enum killswitch_reading r, int64_t now,
			  char *out, size_t n)
{
	const struct killswitch_pacer *p = k->pacer;

	switch (r) {
	case KILLSWITCH_OFF:
		snprintf(out, n, "OFF");
		return;
	case KILLSWITCH_ON:
		if (k->issue_number >= 0)
			snprintf(out, n, "ON: issue #%lld \"%s\"", k->issue_number, k->issue_title);
		else
			snprintf(out, n, "ON: an open issue is labelled kill-switch");
		return;
	case KILLSWITCH_NO_ANSWER:
		snprintf(out, n, "ON: no answer yet");
		return;
	case KILLSWITCH_FAILED:
		snprintf(out, n, "ON: check failed: %s", k->last_error);
		return;
	case KILLSWITCH_STALE:
		snprintf(out, n, "ON: cannot confirm OFF (last answer %lld s old, trusted for %lld s)",
			 (long long)((now - p->answer_at) / 1000), (long long)(p->pc.max_age_ms / 1000));
		return;
	}
	snprintf(out, n, "?");
}

void killswitch_get_status(const struct killswitch *k, int64_t now, struct killswitch_status *st)
{
	const struct killswitch_pacer *p = k->pacer;
	int64_t next = killswitch_next_poll_at(k, now);

	memset(st, 0, sizeof(*st));
	st->reading = killswitch_pacer_reading(p, now);
	st->on = st->reading != KILLSWITCH_OFF;
	reading_words(k, st->reading, now, st->reason, sizeof(st->reason));
	st->have_answer = k->have_answer;
	st->in_flight = k->in_flight;
	st->token = k->auth != NULL;
	st->rate_limited = k->rate_limited && st->reading == KILLSWITCH_FAILED;
	st->age_ms = k->have_answer ? now - p->answer_at : -1;
	st->max_age_ms = p->pc.max_age_ms;
	st->interval_ms = p->pc.interval_ms;
	st->requests_in_window = killswitch_pacer_used(p, now);
	st->max_per_hour = p->pc.max_per_hour;
	st->hold_until_ms = p->hold_until > now ? p->hold_until : 0;
	st->last_check_ms = k->last_check_ms;
	st->next_check_ms = next == INT64_MAX ? 0 : next < now ? now : next;
	st->requests_total = k->total;
	st->not_modified_total = k->not_modified;
	str_copy(st->last_error, k->last_error, sizeof(st->last_error));
	st->issue_number = k->issue_number;
	str_copy(st->issue_title, k->issue_title, sizeof(st->issue_title));
	st->issue_on_ms = k->issue_on_ms;
	st->issue_off_ms = k->issue_off_ms;
}
