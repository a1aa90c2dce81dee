/*
 * upload.h - what makes an upload test real: content of its own, the
 * budget, and the ledger entry of what it paid (docs/UPLOADS.md).
 *
 * The runner calls upload_content_seed, upload_spend_reserve and
 * upload_spend_release through its environment; job.c calls upload_settle
 * with every upload result before it is recorded, and upload_note_quote
 * with every quote.
 */
#ifndef ANT_UPLOAD_H
#define ANT_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Open the ledger under CACHE_DIR, read the budget settings and log the
 * start-up line. 0, or -1 when the ledger cannot be opened (then no
 * upload may spend: every reservation is refused). */
int upload_open(int64_t now_ms);
void upload_close(void);
/* Re-read the budget settings (SIGHUP). */
void upload_reconfigure(void);

/* The seed of one upload's content: keyed by this agent's id, the task
 * and the next value of the upload counter (state_seq_next), so no two
 * uploads of any agent or iteration share bytes. bytes are base's (the
 * catalogue's size for the class); md5 is left empty (known once made). */
int upload_content_seed(const char *agent_id, const char *seq_path, const struct seed_row *base,
			const struct task *t, struct seed_row *out);
/* The seed of (agent id, task ref, counter): the keying itself. */
uint64_t upload_seed_of(const char *agent_id, int task_ref, uint64_t counter);

/* runner_env callbacks (ud unused). */
int upload_spend_reserve(void *ud, const struct task *t, int64_t now, uint64_t *held,
			 enum test_reason *why, char *detail, size_t n);
void upload_spend_release(void *ud, uint64_t held);

/* The upload client is about to start: its hold goes into the ledger
 * first (ledger_hold), so a payment made while the agent is killed is
 * never forgotten. -1 when it cannot be written: do not upload. */
int upload_begin(const struct task *t, uint64_t content_id);

/* Classify an upload result (already stored, private alias), append what
 * it paid to the ledger and set spent_day_atto. The counter of its content
 * is the payment's id. */
void upload_settle(struct test_result *r, uint64_t content_id, bool public_upload);
/* A quote seen: a price for the estimate; a quote of 0 is flagged. */
void upload_note_quote(struct test_result *r);

/* The spend for the status file: {"budget_day_atto", "budget_month_atto",
 * "spent_today_atto", "spent_month_atto", "remaining_today_atto",
 * "remaining_month_atto", "reserved_atto"} as exact decimal strings (atto
 * can pass JSON's safe integers), plus "payments_today". */
struct json_t;
struct json_t *upload_status_json(int64_t now_ms);

/* The start-up/status words: "budget 0.5 ANT a day, 10 ANT a month". */
void upload_budget_text(char *out, size_t n);

#endif
