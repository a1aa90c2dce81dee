/*
 * limiter.c - sliding-window start counts and the client-process cap.
 *
 * Each type keeps the start times of the last `limit` starts in a ring
 * (oldest first). A start is allowed when fewer than `limit` starts fall in
 * (now - window, now]; the ring never holds more than `limit` entries, so
 * memory is bounded by the limit and a check is O(1) amortised.
 */
#include "limiter.h"
#include "util.h"

#include <stdlib.h>

struct window {
	int64_t *times;   /* ring of start times, oldest at head */
	size_t cap;       /* allocated entries (grows up to limit) */
	size_t head;
	size_t count;
	int64_t limit;
	int64_t last_log; /* INT64_MIN: never logged */
};

struct limiter {
	struct window w[TEST__COUNT];
	int64_t window_ms;
	int clients;
	int max_clients;
};

static void window_expire(struct window *w, int64_t now, int64_t window_ms)
{
	while (w->count > 0 && w->times[w->head] <= now - window_ms) {
		w->head = (w->head + 1) % w->cap;
		w->count--;
	}
}

static void window_push(struct window *w, int64_t t)
{
	if (w->count == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 16;
		int64_t *n = xcalloc(ncap, sizeof(*n));

		for (size_t i = 0; i < w->count; i++)
			n[i] = w->times[(w->head + i) % w->cap];
		free(w->times);
		w->times = n;
		w->cap = ncap;
		w->head = 0;
	}
	w->times[(w->head + w->count) % w->cap] = t;
	w->count++;
}

/* Drop the oldest entries beyond a (lowered) limit: they can no longer
 * decide anything that the newer ones do not. */
static void window_trim(struct window *w)
{
	while (w->count > 0 && (int64_t)w->count > w->limit) {
		w->head = (w->head + 1) % w->cap;
		w->count--;
	}
}

struct limiter *limiter_new(const int64_t per_hour[TEST__COUNT], int64_t window_ms,
			    int max_clients)
{
	struct limiter *l = xcalloc(1, sizeof(*l));

	l->window_ms = window_ms;
	for (int t = 0; t < TEST__COUNT; t++)
		l->w[t].last_log = INT64_MIN;
	limiter_configure(l, per_hour, max_clients);
	return l;
}

void limiter_configure(struct limiter *l, const int64_t per_hour[TEST__COUNT], int max_clients)
{
	for (int t = 0; t < TEST__COUNT; t++) {
		l->w[t].limit = per_hour[t] < 0 ? 0 : per_hour[t];
		window_trim(&l->w[t]);
	}
	l->max_clients = max_clients < 0 ? 0 : max_clients;
}

void limiter_free(struct limiter *l)
{
	if (l == NULL)
		return;
	for (int t = 0; t < TEST__COUNT; t++)
		free(l->w[t].times);
	free(l);
}

enum limiter_verdict limiter_take(struct limiter *l, enum test_type t, int64_t now,
				  int64_t *retry_at)
{
	struct window *w = &l->w[t];

	window_expire(w, now, l->window_ms);
	if ((int64_t)w->count >= w->limit) {
		/* With a limit of 0 nothing ever frees up: say "a window from
		 * now", and the caller gives up at cooldown. */
		*retry_at = w->count ? w->times[w->head] + l->window_ms : now + l->window_ms;
		return LIMITER_RATE;
	}
	if (l->clients >= l->max_clients)
		return LIMITER_CLIENTS;
	window_push(w, now);
	l->clients++;
	return LIMITER_OK;
}

void limiter_release(struct limiter *l)
{
	if (l->clients > 0)
		l->clients--;
}

int64_t limiter_used(struct limiter *l, enum test_type t, int64_t now)
{
	window_expire(&l->w[t], now, l->window_ms);
	return (int64_t)l->w[t].count;
}

int64_t limiter_limit(const struct limiter *l, enum test_type t)
{
	return l->w[t].limit;
}

int limiter_clients(const struct limiter *l)
{
	return l->clients;
}

int limiter_max_clients(const struct limiter *l)
{
	return l->max_clients;
}

bool limiter_should_log(struct limiter *l, enum test_type t, int64_t now)
{
	struct window *w = &l->w[t];

	if (w->last_log != INT64_MIN && now - w->last_log < LIMITER_LOG_EVERY_MS)
		return false;
	w->last_log = now;
	return true;
}
