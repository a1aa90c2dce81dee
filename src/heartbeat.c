/*
 * heartbeat.c - the ant_agent_status point (see heartbeat.h).
 *
 * Tags are the common set of every point plus client_gen: few values each,
 * so the series stay few. Everything that changes is a field; the counts of
 * skipped tests carry one field per typed reason that occurred.
 */
#include "heartbeat.h"
#include "lineproto.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define HEARTBEAT_LINE_MAX 2048
#define MINUTE_MS_HB 60000

static heartbeat_spend_fn spend_source;

void heartbeat_set_spend_source(heartbeat_spend_fn fn)
{
	spend_source = fn;
}

uint64_t heartbeat_spend_today(int64_t now_ms)
{
	return spend_source ? spend_source(now_ms) : 0;
}

int heartbeat_format(struct buf *b, const struct heartbeat *hb, const char *common_tags,
		     int64_t now_ms)
{
	int64_t minute = now_ms - ((now_ms % MINUTE_MS_HB) + MINUTE_MS_HB) % MINUTE_MS_HB;
	struct lp_line l;
	uint64_t skipped = 0;
	char field[64];

	lp_begin(&l, b, HEARTBEAT_MEASUREMENT);
	lp_raw_tags(&l, common_tags, strlen(common_tags));
	lp_tag(&l, "client_gen", hb->client_gen && hb->client_gen[0] ? hb->client_gen : "unknown");
	lp_field_int(&l, "alive", 1);
	lp_field_int(&l, "uptime_s", hb->uptime_s);
	lp_field_int(&l, "killswitch_on", hb->killswitch_on);
	if (hb->killswitch_state)
		lp_field_str(&l, "killswitch_state", hb->killswitch_state);
	if (hb->killswitch_on && hb->killswitch_issue >= 0)
		lp_field_int(&l, "killswitch_issue", hb->killswitch_issue);
	lp_field_int(&l, "tasks_planned", hb->tasks_planned);
	lp_field_int(&l, "tasks_running", hb->tasks_running);
	lp_field_int(&l, "tasks_done", hb->tasks_done);
	for (int r = 0; r < REASON__COUNT; r++)
		skipped += hb->skipped[r];
	lp_field_uint(&l, "skipped", skipped);
	for (int r = 1; r < REASON__COUNT; r++) {
		if (hb->skipped[r] == 0)
			continue;
		snprintf(field, sizeof(field), "skipped_%s", test_reason_name((enum test_reason)r));
		lp_field_uint(&l, field, hb->skipped[r]);
	}
	lp_field_int(&l, "disk_guard", hb->disk_guard);
	lp_field_int(&l, "mem_guard", hb->mem_guard);
	if (hb->have_disk_free)
		lp_field_uint(&l, "disk_free_bytes", hb->disk_free_bytes);
	if (hb->uploads)
		lp_field_uint(&l, "spend_today_atto", hb->spend_today_atto);
	return lp_end(&l, minute * 1000000);
}

int heartbeat_write(const struct heartbeat *hb, int64_t now_ms)
{
	struct buf b;
	int rc;

	buf_init(&b, HEARTBEAT_LINE_MAX);
	rc = heartbeat_format(&b, hb, metrics_common_tags(), now_ms);
	if (rc == 0)
		rc = metrics_write_lines(b.data, b.len, 1);
	buf_free(&b);
	return rc;
}
