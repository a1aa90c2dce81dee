/*
 * ledger.h - what uploads have cost, and what they may still cost.
 *
 * The ledger is <CACHE_DIR>/ledger.log: one line per payment, appended and
 * fsync'd before the agent goes on (docs/UPLOADS.md has the format). At
 * start the file is read back to rebuild this day's and this month's
 * spend, so a restart (or a SIGKILL) neither forgets a payment nor counts
 * one twice. A torn last line (a crash during the write) is cut off.
 *
 * The budget: UPLOAD_BUDGET_DAY and UPLOAD_BUDGET_MONTH (atto, or tokens
 * with a decimal point). 0 means no uploads at all. Before an upload the
 * runner reserves what it could cost (ledger_reserve); the reservation is
 * released once its result is recorded. Sums are unsigned 128-bit; days
 * and months are UTC, of schedule time.
 */
#ifndef ANT_LEDGER_H
#define ANT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define LEDGER_FILE_NAME "ledger.log"
#define LEDGER_MAGIC "pay1"
/* A ledger line is well under this; a longer one is not ours. */
#define LEDGER_LINE_MAX 512
/* Days of spend kept in memory for status (two months and a bit). */
#define LEDGER_DAYS_MAX 64
/* 10^18 atto in one token. */
#define LEDGER_ATTO_PER_TOKEN UINT64_C(1000000000000000000)
/* Chunk size of the size-class estimate (0.5.x self-encryption: 1 MiB),
 * and the chunks every file has at least (three data chunks + data map). */
#define LEDGER_CHUNK_BYTES (1024 * 1024)
#define LEDGER_MIN_CHUNKS 4
/* Margin on a known price: prices move between a quote and an upload. */
#define LEDGER_ESTIMATE_MARGIN_PCT 150

/* One payment. */
struct ledger_payment {
	int64_t time_ms;          /* schedule time (UTC ms) */
	int task_ref;
	enum size_class size;
	uint64_t id;              /* the upload's content counter: unique per agent */
	uint64_t atto;            /* exact cost */
	bool has_gas;
	uint64_t gas_wei;         /* gas paid, when the client printed it */
	uint32_t chunks;          /* chunks paid for */
	char address[CAT_ADDRESS_MAX + 1]; /* "" when none (private: the alias is not kept) */
};

/* Parse an amount of tokens, up to 18 decimals ("0.5", "2", "2 ANT"), or
 * of whole atto with the suffix atto ("1500000000000 atto"). A bare
 * number is tokens, as a volunteer would read it. Exact, no floating
 * point. Returns 0, or -1 with err set. */
int ledger_parse_amount(const char *s, uint64_t *atto, char *err, size_t n);
/* "0.500000000000000000" style tokens of an atto amount (18 decimals, the
 * trailing zeros cut to at least one). */
void ledger_format_tokens(uint64_t atto, char *out, size_t n);

/* Format and parse one ledger line (with its newline and checksum). */
int ledger_format_line(const struct ledger_payment *p, char *out, size_t n);
int ledger_parse_line(const char *line, size_t len, struct ledger_payment *out);

/* Open (create, 0600) the ledger at path and read it back. A torn last
 * line is cut off; a bad line in the middle is named and skipped (it is
 * kept in the file). Returns the number of payments read, or -1. */
long ledger_open(const char *path);
void ledger_close(void);
/* Append a payment: written and fsync'd, then counted. 0, or -1 (errno);
 * the payment is counted in memory even when the disk refused it. */
int ledger_append(const struct ledger_payment *p);

/* An upload is about to run: "hold" line (id, the estimate at this time)
 * written and fsync'd before the client starts. It is settled by the
 * payment line of the same id, or by ledger_free when nothing was paid.
 * A hold still open when the file is read back (the agent was killed
 * while its client ran: the client may have paid) counts as spent at its
 * estimate, so no payment is forgotten. 0 or -1 (errno). */
int ledger_hold(int64_t now_ms, int task_ref, enum size_class s, uint64_t id);
int ledger_free(int64_t now_ms, uint64_t id);
/* Holds read back open at ledger_open: count and estimate counted. */
void ledger_open_holds(size_t *n, uint64_t *atto);

/* Spend of the UTC day / month that contains now (atto, saturating). */
uint64_t ledger_spent_today(int64_t now_ms);
uint64_t ledger_spent_month(int64_t now_ms);

/* Budgets (atto); 0 = no uploads. */
void ledger_set_budget(uint64_t day, uint64_t month);
void ledger_budget(uint64_t *day, uint64_t *month);
/* Read UPLOAD_BUDGET_DAY/MONTH; a bad value is logged and counts as 0. */
void ledger_budget_from_config(void);

/* A price seen: a quote or a paid upload of a size class. */
void ledger_note_price(enum size_class s, uint64_t atto, uint32_t chunks);
/* What an upload of this class could cost (see docs/UPLOADS.md); false
 * when nothing is known yet (no quote, no payment). */
bool ledger_estimate(enum size_class s, uint64_t *atto);

/* Reserve an upload's estimate against both budgets. 0 and *held set;
 * 1 when it would exceed a budget (why says which); 2 when no price is
 * known yet and another upload is under way (ask again when it is done):
 * with no price known one upload at a time may run, while the spend is
 * under both budgets. */
int ledger_reserve(enum size_class s, int64_t now_ms, uint64_t *held, char *why, size_t n);
void ledger_release(uint64_t held);
uint64_t ledger_reserved(void);

/* Per-day sums of a ledger file for reports: calls day_cb(day_start_ms,
 * atto_sum (saturating), payments) in day order. Returns payments read or -1. */
long ledger_read_days(const char *path,
		      void (*day_cb)(int64_t day_ms, uint64_t atto, uint64_t count, void *ud),
		      void *ud);

/* Test hook: forget everything in memory (not the file). */
void ledger_reset(void);

#endif
