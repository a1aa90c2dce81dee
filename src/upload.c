/*
 * upload.c - content of its own, the budget and the ledger for uploads
 * (see upload.h and docs/UPLOADS.md).
 */
#include "upload.h"
#include "heartbeat.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "clock.h"
#include "config.h"
#include "digest.h"
#include "ledger.h"
#include "log.h"
#include "runner.h"
#include "state.h"
#include "util.h"

static bool ledger_ok;

void upload_budget_text(char *out, size_t n)
{
	uint64_t day, month;
	char d[48], m[48];

	ledger_budget(&day, &month);
	ledger_format_tokens(day, d, sizeof(d));
	ledger_format_tokens(month, m, sizeof(m));
	snprintf(out, n, "%s ANT (%" PRIu64 " atto) a day, %s ANT (%" PRIu64 " atto) a month",
		 d, day, m, month);
}

int upload_open(int64_t now_ms)
{
	char path[PATH_MAX], text[256], sd[48], sm[48];
	uint64_t day, month;
	long n;

	snprintf(path, sizeof(path), "%s/%s", cfg_str(CFG_CACHE_DIR), LEDGER_FILE_NAME);
	ledger_budget_from_config();
	n = ledger_open(path);
	ledger_ok = n >= 0;
	/* The heartbeat's spend is the ledger's. */
	heartbeat_set_spend_source(ledger_spent_today);
	upload_budget_text(text, sizeof(text));
	ledger_budget(&day, &month);
	ledger_format_tokens(ledger_spent_today(now_ms), sd, sizeof(sd));
	ledger_format_tokens(ledger_spent_month(now_ms), sm, sizeof(sm));
	if (day == 0 || month == 0)
		log_info("Upload budget: %s: no uploads%s (set both UPLOAD_BUDGET_DAY and "
			 "UPLOAD_BUDGET_MONTH to allow them)", text,
			 cfg_bool(CFG_ALLOW_UPLOADS) ? ", although ALLOW_UPLOADS=true" : "");
	else
		log_info("Upload budget: %s; spent %s ANT today and %s ANT this month "
			 "(ledger %s, %ld payment(s))", text, sd, sm, path, n < 0 ? 0 : n);
	if (!ledger_ok)
		log_error("Ledger %s cannot be used: no upload will spend until it can", path);
	return ledger_ok ? 0 : -1;
}

void upload_close(void)
{
	ledger_close();
}

void upload_reconfigure(void)
{
	char text[256];

	ledger_budget_from_config();
	upload_budget_text(text, sizeof(text));
	log_info("Upload budget: %s", text);
}

uint64_t upload_seed_of(const char *agent_id, int task_ref, uint64_t counter)
{
	char key[256], hex[DIGEST_MD5_HEX_SIZE];
	uint64_t seed = 0;
	int len;

	/* Agent id, task and counter, each told apart from the others: the
	 * first 64 bits of the MD5 of this text are the generator's seed. */
	len = snprintf(key, sizeof(key), "ant-agent upload|%s|%03d|%" PRIu64, agent_id, task_ref,
		       counter);
	if (len < 0 || (size_t)len >= sizeof(key) ||
	    digest_md5_buffer(key, (size_t)len, hex) != 0)
		return 0;
	for (int i = 0; i < 16; i++) {
		char c = hex[i];

		seed = seed << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return seed;
}

int upload_content_seed(const char *agent_id, const char *seq_path, const struct seed_row *base,
			const struct task *t, struct seed_row *out)
{
	uint64_t counter;

	if (state_seq_next(seq_path, &counter) != 0) {
		log_error("Upload counter %s cannot be saved: %s; no upload without it", seq_path,
			  strerror(errno));
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->size = t->size;
	out->bytes = base->bytes;
	out->seed = upload_seed_of(agent_id, t->ref, counter);
	out->line = base->line;
	/* A seed equal to the catalogue's would upload its file verbatim. */
	if (out->seed == base->seed)
		out->seed ^= UINT64_C(0x9e3779b97f4a7c15);
	return 0;
}

int upload_spend_reserve(void *ud, const struct task *t, int64_t now, uint64_t *held,
			 enum test_reason *why, char *detail, size_t n)
{
	(void)ud;
	if (!cfg_bool(CFG_ALLOW_UPLOADS)) {
		*why = REASON_UPLOADS_OFF;
		snprintf(detail, n, "ALLOW_UPLOADS is false on this host");
		return RUNNER_SPEND_SKIP;
	}
	*why = REASON_BUDGET;
	if (!ledger_ok) {
		snprintf(detail, n, "the ledger cannot be written");
		return RUNNER_SPEND_SKIP;
	}
	switch (ledger_reserve(t->size, now, held, detail, n)) {
	case 0:
		return RUNNER_SPEND_OK;
	case 2:
		return RUNNER_SPEND_WAIT;
	default:
		return RUNNER_SPEND_SKIP;
	}
}

void upload_spend_release(void *ud, uint64_t held)
{
	(void)ud;
	ledger_release(held);
}

int upload_begin(const struct task *t, uint64_t content_id)
{
	if (!ledger_ok || ledger_hold(clock_now_ms(), t->ref, t->size, content_id) != 0) {
		log_error("Task %03d: the ledger cannot record the upload about to start: %s",
			  t->ref, strerror(errno));
		return -1;
	}
	return 0;
}

void upload_settle(struct test_result *r, uint64_t content_id, bool public_upload)
{
	struct ledger_payment p;

	if (r->status == ST_OK && r->has_chunks && r->chunks_stored == 0 && r->chunks_existing > 0)
		r->already_stored = true;
	if (!public_upload && r->address[0] != '\0')
		r->address_private = true;
	/* Paid: a cost above 0 (a failed upload may have paid too, when the
	 * client printed its cost). */
	if (r->has_cost && r->cost_atto > 0) {
		memset(&p, 0, sizeof(p));
		p.time_ms = clock_now_ms();
		p.task_ref = r->task_ref;
		p.size = r->size;
		p.id = content_id;
		p.atto = r->cost_atto;
		p.has_gas = r->has_gas;
		p.gas_wei = r->gas_wei;
		p.chunks = r->has_chunks ? r->chunks_stored : 0;
		if (!r->address_private)
			str_copy(p.address, r->address, sizeof(p.address));
		if (ledger_append(&p) != 0)
			log_error("Task %03d: payment of %" PRIu64 " atto not in the ledger file: %s",
				  r->task_ref, r->cost_atto, strerror(errno));
	} else if (ledger_free(clock_now_ms(), content_id) != 0) {
		log_error("Task %03d: the ledger cannot settle an upload that paid nothing: %s",
			  r->task_ref, strerror(errno));
	}
	r->spent_day_atto = ledger_spent_today(clock_now_ms());
}

static void set_atto(json_t *o, const char *key, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, v);
	json_object_set_new(o, key, json_string(t));
}

json_t *upload_status_json(int64_t now_ms)
{
	uint64_t day, month, sd = ledger_spent_today(now_ms), sm = ledger_spent_month(now_ms);
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	ledger_budget(&day, &month);
	set_atto(o, "budget_day_atto", day);
	set_atto(o, "budget_month_atto", month);
	set_atto(o, "spent_today_atto", sd);
	set_atto(o, "spent_month_atto", sm);
	set_atto(o, "remaining_today_atto", sd >= day ? 0 : day - sd);
	set_atto(o, "remaining_month_atto", sm >= month ? 0 : month - sm);
	set_atto(o, "reserved_atto", ledger_reserved());
	json_object_set_new(o, "ledger_ok", json_boolean(ledger_ok));
	return o;
}

void upload_note_quote(struct test_result *r)
{
	if (r->status != ST_OK || !r->has_cost)
		return;
	if (r->cost_atto == 0)
		r->already_stored = true;
	else
		ledger_note_price(r->size, r->cost_atto, 0);
}
