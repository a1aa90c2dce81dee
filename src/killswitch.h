/*
 * killswitch.h - the fleet's emergency stop: an open GitHub issue (or pull
 * request) labelled "kill-switch" in the fleet repository.
 *
 * Fail-safe: the switch reads ON before the first good answer, after any
 * failed check (HTTP error, timeout, bad JSON, oversized answer) and when
 * the last OFF answer is older than its maximum age. One cached answer
 * serves every caller. Requests fit GitHub's limit shared by every agent
 * behind one address: a budget per sliding hour of schedule time, evenly
 * paced, sent only while tests run or are due (or while the switch is ON),
 * always conditional (ETag), and held back by Retry-After and
 * X-RateLimit-*; a hold-off never makes an OFF answer live longer.
 */
#ifndef ANT_KILLSWITCH_H
#define ANT_KILLSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch.h"

#define KILLSWITCH_LABEL "kill-switch"
/* Longest hold-off a server can impose with its headers. */
#define KILLSWITCH_HOLD_MAX_MS (3600 * 1000)
/* Without GITHUB_TOKEN, GitHub allows 60 requests an hour per IP address,
 * shared by every agent and program behind it (a 304 counts too): one
 * agent takes at most a fifth of that. */
#define KILLSWITCH_ANON_MAX_PER_HOUR 12
/* An OFF answer may be used for one check interval plus this much; past
 * that the switch reads ON ("cannot confirm OFF"). It covers a slow answer
 * (FETCH_TIMEOUT_SECS at most) and a late timer. */
#define KILLSWITCH_GRACE_MS (120 * 1000)
/* An idle agent asks again this long before its next test (or refresh) is
 * due, so the test starts on a fresh answer. */
#define KILLSWITCH_LEAD_MS (120 * 1000)
/* Longest issue title kept (bytes, cut on a UTF-8 boundary). */
#define KILLSWITCH_TITLE_MAX 100

struct killswitch_counts {
	size_t items;         /* elements of the array */
	size_t open_labelled; /* open issues/PRs labelled kill-switch */
	size_t pull_requests; /* of those, pull requests */
	long long number;     /* the first of them: its number, -1 if none */
	char title[KILLSWITCH_TITLE_MAX + 1]; /* and its title, one clean line */
};

/* Read GitHub's list-issues answer. Returns 0 and sets *on (true when
 * any element is open and has a label named kill-switch, any case), or
 * -1 with a reason in err and *on set to true (fail-safe). counts may be
 * NULL. */
int killswitch_parse(const char *json, size_t len, bool *on, struct killswitch_counts *counts,
		     char *err, size_t errlen);

/* Replace {owner} and {repo} in tmpl. owner and repo may hold only
 * letters, digits, '-', '_' and '.'. Returns 0, or -1 (bad name, too
 * long). */
int killswitch_expand_url(const char *tmpl, const char *owner, const char *repo, char *out,
			  size_t n);

/* ---- the request budget: pure, with the time passed in -------------- */

/* How often the agent may ask, derived from the settings. */
struct killswitch_pacing {
	int max_per_hour;    /* requests in any sliding hour */
	int64_t interval_ms; /* least time between two requests: an hour / max_per_hour */
	int64_t max_age_ms;  /* an OFF answer is used this long: interval + grace */
	int64_t lead_ms;     /* idle: ask this long before the next test is due */
};

/* The pacing for an agent with (token) or without a GitHub token, given
 * KILL_SWITCH_MAX_PER_HOUR (setting_max, 1..60): with a token up to the
 * setting (60: one a minute), without one at most
 * KILLSWITCH_ANON_MAX_PER_HOUR. */
void killswitch_pacing_for(bool token, int setting_max, struct killswitch_pacing *out);

/* What the last answers say, at a given time. Anything but OFF means: no
 * test starts. */
enum killswitch_reading {
	KILLSWITCH_OFF,       /* a good OFF answer, not older than max_age_ms */
	KILLSWITCH_ON,        /* the last good answer names an open issue */
	KILLSWITCH_NO_ANSWER, /* no good answer yet */
	KILLSWITCH_FAILED,    /* the last check failed */
	KILLSWITCH_STALE,     /* OFF, but older than max_age_ms: cannot confirm OFF */
};

const char *killswitch_reading_name(enum killswitch_reading r);

struct killswitch_pacer;

struct killswitch_pacer *killswitch_pacer_new(const struct killswitch_pacing *p);
void killswitch_pacer_free(struct killswitch_pacer *p);
/* Events, each at time now. */
void killswitch_pacer_sent(struct killswitch_pacer *p, int64_t now);
void killswitch_pacer_answer(struct killswitch_pacer *p, int64_t now, bool on); /* 200 or 304 */
void killswitch_pacer_failed(struct killswitch_pacer *p, int64_t now);
/* The server asked for no request before now + wait_ms (capped at
 * KILLSWITCH_HOLD_MAX_MS; a shorter hold never shortens a longer one).
 * It never extends the life of an answer. */
void killswitch_pacer_hold(struct killswitch_pacer *p, int64_t now, int64_t wait_ms);
/* What the agent is doing: tests running (or a refresh under way), and
 * the next planned start or refresh (0: none). */
void killswitch_pacer_activity(struct killswitch_pacer *p, bool busy, int64_t next_due);

enum killswitch_reading killswitch_pacer_reading(const struct killswitch_pacer *p, int64_t now);
/* An answer is needed now: tests run, or one is due within lead_ms. */
bool killswitch_pacer_needed(const struct killswitch_pacer *p, int64_t now);
/* When the next request may and should go out: never before the interval
 * since the last one, the end of a server hold-off, or room in the hourly
 * budget; and only while an answer is needed or the switch does not read
 * OFF (checks go on while ON so it is seen to go OFF). INT64_MAX: none
 * wanted. A value <= now means now. */
int64_t killswitch_pacer_next_send(const struct killswitch_pacer *p, int64_t now);
/* Requests in the hour that ends at now. */
int killswitch_pacer_used(const struct killswitch_pacer *p, int64_t now);
int64_t killswitch_pacer_hold_until(const struct killswitch_pacer *p);
/* When the last good answer came (0: never). */
int64_t killswitch_pacer_answer_at(const struct killswitch_pacer *p);
const struct killswitch_pacing *killswitch_pacer_pacing(const struct killswitch_pacer *p);

/* Upper bound of a server hold-off in a response (Retry-After, or
 * X-RateLimit-Remaining: 0 with X-RateLimit-Reset), in ms from now;
 * real_now_s is the real epoch second (the reset is given in real time).
 * -1: none. */
int64_t killswitch_holdoff_ms(const struct fetch_response *res, int64_t real_now_s);
/* True when a failed response is GitHub saying its rate limit is spent
 * (403 or 429 with X-RateLimit-Remaining: 0, or a 429). */
bool killswitch_is_rate_limit(const struct fetch_response *res);

/* ---- the checker ----------------------------------------------------- */

struct killswitch_options {
	const char *url;      /* already expanded */
	const char *token;    /* GITHUB_TOKEN, "" or NULL for none */
	int max_per_hour;     /* KILL_SWITCH_MAX_PER_HOUR, 1..60 (see killswitch_pacing_for) */
	bool allow_file;
	int timeout_ms;       /* 0: FETCH_TIMEOUT_SECS */
};

struct killswitch_status {
	bool on;               /* reading != KILLSWITCH_OFF */
	enum killswitch_reading reading;
	char reason[300];      /* the reading in words (names the issue when ON) */
	bool have_answer;      /* a good answer has been seen */
	bool in_flight;
	bool token;            /* checks carry GITHUB_TOKEN */
	bool rate_limited;     /* the last failure was GitHub's rate limit */
	int64_t age_ms;        /* age of the last good answer, -1 if none */
	int64_t max_age_ms;
	int64_t interval_ms;
	int requests_in_window;/* requests sent in the last hour */
	int max_per_hour;
	int64_t hold_until_ms; /* no request before this (schedule time), 0 = none */
	int64_t last_check_ms; /* when the last check ended, 0 = never */
	int64_t next_check_ms; /* when the next one is planned, 0 = none */
	unsigned long requests_total;
	unsigned long not_modified_total;
	char last_error[256];  /* "" after a good check */
	/* The issue that turned the switch ON most recently (number < 0:
	 * none seen), when that answer came and when an answer said OFF
	 * again (0: still ON). */
	long long issue_number;
	char issue_title[KILLSWITCH_TITLE_MAX + 1];
	int64_t issue_on_ms;
	int64_t issue_off_ms;
};

struct killswitch;

typedef void (*killswitch_cb)(bool on, void *ud);

/* Options from the settings (GIT_KILL_SWITCH_URL with GIT_OWNER and
 * GIT_REPO, GITHUB_TOKEN, KILL_SWITCH_MAX_PER_HOUR, ALLOW_FILE_URLS). The
 * strings point into url_buf or the settings. Returns -1 with a logged
 * reason when the URL cannot be built. */
int killswitch_options_from_config(struct killswitch_options *o, char *url_buf, size_t n);

struct killswitch *killswitch_new(struct fetcher *f, const struct killswitch_options *o);
/* Free after fetcher_free, or when no check is in flight (a cancelled
 * transfer never calls back). */
void killswitch_free(struct killswitch *k);

/* The agent's activity (see killswitch_pacer_activity). */
void killswitch_set_activity(struct killswitch *k, bool busy, int64_t next_due);
/* Start a check when one is due at now (killswitch_pacer_next_send), and
 * when an OFF answer has gone stale while an answer is needed, say so
 * once and call the listener with ON. Call it on the loop, not from
 * inside a runner callback: the listener may stop tests. */
void killswitch_poll(struct killswitch *k, int64_t now);
/* When killswitch_poll has something to do next (INT64_MAX: nothing until
 * a check ends or the activity changes). */
int64_t killswitch_next_poll_at(const struct killswitch *k, int64_t now);
/* May a test start at now? Only on a fresh OFF answer. No side effects:
 * cheap enough to call from every worker. */
bool killswitch_may_start(const struct killswitch *k, int64_t now);
/* Called on the loop whenever a check ends (even with the same answer),
 * and by killswitch_poll when an OFF answer goes stale. */
void killswitch_set_listener(struct killswitch *k, killswitch_cb cb, void *ud);
void killswitch_get_status(const struct killswitch *k, int64_t now, struct killswitch_status *st);

#endif
