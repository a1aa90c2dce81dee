/*
 * killswitch.h - the fleet's emergency stop: an open GitHub issue (or pull
 * request) labelled "kill-switch" in the fleet repository.
 *
 * Fail-safe: the switch reads ON before the first good answer and after
 * any failed check (HTTP error, timeout, bad JSON, oversized answer). One
 * cached answer serves every caller; requests are limited to a budget per
 * sliding hour of schedule time and paced evenly across it, and GitHub's
 * Retry-After and X-RateLimit-* headers hold the next request back.
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

struct killswitch_counts {
	size_t items;         /* elements of the array */
	size_t open_labelled; /* open issues/PRs labelled kill-switch */
	size_t pull_requests; /* of those, pull requests */
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

struct killswitch_options {
	const char *url;      /* already expanded */
	const char *token;    /* GITHUB_TOKEN, "" or NULL for none */
	int max_per_hour;     /* requests in any sliding hour, 1..60 */
	bool allow_file;
	int timeout_ms;       /* 0: FETCH_TIMEOUT_SECS */
};

struct killswitch_status {
	bool on;
	bool have_answer;      /* a good answer has been seen */
	bool in_flight;
	int64_t age_ms;        /* age of the last good answer, -1 if none */
	int requests_in_window;/* requests sent in the last hour */
	int max_per_hour;
	int64_t hold_until_ms; /* no request before this (schedule time), 0 = none */
	int64_t last_check_ms; /* when the last check ended, 0 = never */
	unsigned long requests_total;
	char last_error[256];  /* "" after a good check */
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

/* The current answer (true = ON: start nothing). Also starts a check in
 * the background when the pacing interval has passed, the hourly budget
 * has room and no server hold-off is in force. Never blocks; cheap enough
 * to call from every worker. */
bool killswitch_check(struct killswitch *k);
/* Called on the loop whenever a check ends (even with the same answer). */
void killswitch_set_listener(struct killswitch *k, killswitch_cb cb, void *ud);
void killswitch_get_status(const struct killswitch *k, struct killswitch_status *st);

#endif
