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

struct killswitch {
	struct fetcher *f;
	char *url;
	char *auth;             /* "Authorization: Bearer ..." or NULL */
	int max_per_hour;
	int64_t pace_ms;        /* least time between two requests */
	bool allow_file;
	int timeout_ms;
	int64_t *sent;          /* send times in the last hour, oldest first */
	int nsent;
	bool on;
	bool have_answer;
	bool good_on;           /* the last good answer */
	bool in_flight;
	int64_t last_good_ms;
	int64_t last_request_ms;
	int64_t last_check_ms;
	int64_t hold_until_ms;
	unsigned long total;
	char etag[256];
	char last_error[256];
	killswitch_cb cb;
	void *cb_ud;
};

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

int killswitch_parse(const char *json, size_t len, bool *on, struct killswitch_counts *counts,
		     char *err, size_t errlen)
{
	struct killswitch_counts cnt = { 0, 0, 0 };
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
		cnt.open_labelled++;
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

/* ---- the stateful checker ------------------------------------------- */

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
	struct killswitch *k;
	int max = o->max_per_hour > 0 ? o->max_per_hour : 1;

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
	k->max_per_hour = max;
	k->pace_ms = HOUR_MS / max;
	k->allow_file = o->allow_file;
	k->timeout_ms = o->timeout_ms;
	k->sent = xcalloc((size_t)max, sizeof(*k->sent));
	k->on = true; /* until a good answer says otherwise */
	str_copy(k->last_error, "not checked yet", sizeof(k->last_error));
	return k;
}

void killswitch_free(struct killswitch *k)
{
	if (k == NULL)
		return;
	free(k->url);
	free(k->auth);
	free(k->sent);
	free(k);
}

void killswitch_set_listener(struct killswitch *k, killswitch_cb cb, void *ud)
{
	k->cb = cb;
	k->cb_ud = ud;
}

static void prune_window(struct killswitch *k, int64_t now)
{
	int drop = 0;

	while (drop < k->nsent && now - k->sent[drop] >= HOUR_MS)
		drop++;
	if (drop > 0) {
		memmove(k->sent, k->sent + drop, (size_t)(k->nsent - drop) * sizeof(*k->sent));
		k->nsent -= drop;
	}
}

/* How long the server asked us to wait, on the schedule clock. */
static void apply_holdoff(struct killswitch *k, const struct fetch_response *res, int64_t now)
{
	int64_t wait_ms = -1;

	if (res->retry_after_s >= 0)
		wait_ms = res->retry_after_s * 1000;
	if (res->ratelimit_remaining == 0 && res->ratelimit_reset > 0) {
		/* Reset is an epoch second of the real clock: turn it into a
		 * delay so it also works with a virtual schedule clock. */
		int64_t w = (res->ratelimit_reset - (int64_t)time(NULL)) * 1000;

		if (w > wait_ms)
			wait_ms = w;
	}
	if (wait_ms < 0)
		return;
	if (wait_ms > KILLSWITCH_HOLD_MAX_MS)
		wait_ms = KILLSWITCH_HOLD_MAX_MS;
	if (now + wait_ms > k->hold_until_ms) {
		k->hold_until_ms = now + wait_ms;
		log_warn("kill-switch: the server asks us to wait %lld s before the next check",
			 (long long)(wait_ms / 1000));
	}
}

static void check_failed(struct killswitch *k, const char *why)
{
	bool was = k->on;

	str_copy(k->last_error, why, sizeof(k->last_error));
	k->on = true;
	log_warn("kill-switch: check failed (%s); treating the switch as ON%s", why,
		 was ? "" : " until a check succeeds");
}

static void set_answer(struct killswitch *k, bool on, int64_t now, const char *how)
{
	bool was = k->on, had = k->have_answer;

	k->have_answer = true;
	k->good_on = on;
	k->on = on;
	k->last_good_ms = now;
	k->last_error[0] = '\0';
	if (!had || was != on)
		log_info("kill-switch is %s%s", on ? "ON: an open issue is labelled kill-switch; no test starts"
						   : "OFF", how);
}

static void on_answer(struct fetch_response *res, void *ud)
{
	struct killswitch *k = ud;
	int64_t now = clock_now_ms();
	struct killswitch_counts cnt;
	char err[256];
	bool on;

	k->in_flight = false;
	k->last_check_ms = now;
	if (res->not_modified && res->ok) {
		if (k->have_answer)
			set_answer(k, k->good_on, now, " (unchanged)");
		else
			check_failed(k, "HTTP 304 without an earlier answer");
	} else if (!res->ok) {
		if (res->status >= 400)
			snprintf(err, sizeof(err), "HTTP status %ld", res->status);
		else
			str_copy(err, res->error[0] ? res->error : "no answer", sizeof(err));
		check_failed(k, err);
	} else if (killswitch_parse(res->body.data, res->body.len, &on, &cnt, err, sizeof(err)) != 0) {
		check_failed(k, err);
	} else {
		str_copy(k->etag, res->etag, sizeof(k->etag));
		set_answer(k, on, now, "");
	}
	apply_holdoff(k, res, now);
	if (k->cb)
		k->cb(k->on, k->cb_ud);
}

static void start_check(struct killswitch *k, int64_t now)
{
	const char *headers[3] = { "Accept: application/vnd.github+json", NULL, NULL };
	struct fetch_request req;

	if (k->auth)
		headers[1] = k->auth;
	memset(&req, 0, sizeof(req));
	req.url = k->url;
	req.headers = headers;
	/* Only a good answer's ETag: a 304 must point at an answer we hold. */
	req.etag = k->have_answer && k->etag[0] ? k->etag : NULL;
	req.cap = FETCH_CAP_JSON;
	req.allow_file = k->allow_file;
	req.timeout_ms = k->timeout_ms;
	k->last_request_ms = now;
	k->sent[k->nsent++] = now;
	k->total++;
	if (fetch_start(k->f, &req, on_answer, k) != 0) {
		k->last_check_ms = now;
		check_failed(k, "the request could not be started (bad URL?)");
		return;
	}
	k->in_flight = true;
}

bool killswitch_check(struct killswitch *k)
{
	int64_t now = clock_now_ms();

	if (k->in_flight)
		return k->on;
	prune_window(k, now);
	if (k->nsent >= k->max_per_hour)
		return k->on;
	if (now < k->hold_until_ms)
		return k->on;
	if (k->total > 0 && now - k->last_request_ms < k->pace_ms && now >= k->last_request_ms)
		return k->on;
	start_check(k, now);
	return k->on;
}

void killswitch_get_status(const struct killswitch *k, struct killswitch_status *st)
{
	int64_t now = clock_now_ms();
	int n = 0;

	memset(st, 0, sizeof(*st));
	st->on = k->on;
	st->have_answer = k->have_answer;
	st->in_flight = k->in_flight;
	st->age_ms = k->have_answer ? now - k->last_good_ms : -1;
	for (int i = 0; i < k->nsent; i++)
		n += now - k->sent[i] < HOUR_MS;
	st->requests_in_window = n;
	st->max_per_hour = k->max_per_hour;
	st->hold_until_ms = k->hold_until_ms > now ? k->hold_until_ms : 0;
	st->last_check_ms = k->last_check_ms;
	st->requests_total = k->total;
	str_copy(st->last_error, k->last_error, sizeof(st->last_error));
}
