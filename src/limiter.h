/*
 * limiter.h - the local safety limits, as pure code with the time passed
 * in: a sliding-window rate limit per test type (starts per hour) and a
 * cap on client processes running at once.
 */
#ifndef ANT_LIMITER_H
#define ANT_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define LIMITER_WINDOW_MS (3600 * 1000)
/* A worker that has to wait is logged at most this often per type. */
#define LIMITER_LOG_EVERY_MS (5 * 60 * 1000)

struct limiter;

enum limiter_verdict {
	LIMITER_OK,          /* a start and a client slot were taken */
	LIMITER_RATE,        /* the type's hourly budget is spent until *retry_at */
	LIMITER_CLIENTS,     /* every client slot is busy; wait for a release */
};

/* per_hour[t] starts of type t in any window of window_ms; max_clients
 * client processes at once. */
struct limiter *limiter_new(const int64_t per_hour[TEST__COUNT], int64_t window_ms,
			    int max_clients);
void limiter_free(struct limiter *l);
/* Change limits in place (after a settings reload). Starts already counted
 * stay counted. */
void limiter_configure(struct limiter *l, const int64_t per_hour[TEST__COUNT], int max_clients);

/* Take one start of type t and one client slot at time now. On
 * LIMITER_RATE, *retry_at is the earliest time a start will be free. */
enum limiter_verdict limiter_take(struct limiter *l, enum test_type t, int64_t now,
				  int64_t *retry_at);
/* Give back a client slot (the client exited). */
void limiter_release(struct limiter *l);

/* Starts of type t counted in the window ending at now. */
int64_t limiter_used(struct limiter *l, enum test_type t, int64_t now);
int64_t limiter_limit(const struct limiter *l, enum test_type t);
int limiter_clients(const struct limiter *l);
int limiter_max_clients(const struct limiter *l);
/* True (and remembered) when a wait of type t should be logged at now:
 * at most once per LIMITER_LOG_EVERY_MS per type. */
bool limiter_should_log(struct limiter *l, enum test_type t, int64_t now);

#endif
