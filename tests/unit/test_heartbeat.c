/* The ant_agent_status point: its tags, its fields, which fields appear
 * when, its minute timestamp, and the spend hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "heartbeat.h"
#include "lineproto.h"

#define TAGS ",agent=a1,agent_version=0.2.0,client_version=0.5.2,country=GB"
/* 2026-01-01T10:21:37.5Z */
#define NOW_MS 1767262897500LL

static void format(const struct heartbeat *hb, struct lp_point *p)
{
	struct buf b;
	char err[128];

	buf_init(&b, 4096);
	assert_int_equal(heartbeat_format(&b, hb, TAGS, NOW_MS), 0);
	assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
	assert_int_equal(lp_parse(b.data, b.len - 1, p, err, sizeof(err)), 0);
	buf_free(&b);
}

static int64_t field_i(const struct lp_point *p, const char *k)
{
	const struct lp_kv *v = lp_point_field(p, k);

	assert_non_null(v);
	return v->i;
}

static void test_fields(void **state)
{
	static struct lp_point p;
	struct heartbeat hb;

	(void)state;
	memset(&hb, 0, sizeof(hb));
	hb.client_gen = "ant-0.5";
	hb.uptime_s = 97;
	hb.killswitch_state = "off";
	hb.killswitch_issue = -1;
	hb.tasks_planned = 3;
	hb.tasks_running = 1;
	hb.tasks_done = 2;
	hb.skipped[REASON_DISK_GUARD] = 4;
	hb.skipped[REASON_UPLOADS_OFF] = 1;
	hb.disk_guard = true;
	hb.mem_guard = -1;
	hb.have_disk_free = true;
	hb.disk_free_bytes = 123456789;
	format(&hb, &p);
	assert_string_equal(p.measurement, HEARTBEAT_MEASUREMENT);
	assert_string_equal(lp_point_tag(&p, "agent")->str, "a1");
	assert_string_equal(lp_point_tag(&p, "country")->str, "GB");
	assert_string_equal(lp_point_tag(&p, "client_gen")->str, "ant-0.5");
	/* The minute the point stands for, in ns. */
	assert_int_equal(p.ts, (NOW_MS - 37500) * 1000000LL);
	assert_int_equal(field_i(&p, "alive"), 1);
	assert_int_equal(field_i(&p, "uptime_s"), 97);
	assert_int_equal(field_i(&p, "killswitch_on"), 0);
	assert_string_equal(lp_point_field(&p, "killswitch_state")->str, "off");
	assert_null(lp_point_field(&p, "killswitch_issue"));
	assert_int_equal(field_i(&p, "tasks_planned"), 3);
	assert_int_equal(field_i(&p, "tasks_running"), 1);
	assert_int_equal(field_i(&p, "tasks_done"), 2);
	assert_int_equal(field_i(&p, "skipped"), 5);
	assert_int_equal(field_i(&p, "skipped_disk_guard"), 4);
	assert_int_equal(field_i(&p, "skipped_uploads_off"), 1);
	assert_null(lp_point_field(&p, "skipped_memory_guard"));
	assert_int_equal(field_i(&p, "disk_guard"), 1);
	assert_int_equal(field_i(&p, "mem_guard"), -1);
	assert_int_equal(field_i(&p, "disk_free_bytes"), 123456789);
	/* Uploads off: no spend field at all. */
	assert_null(lp_point_field(&p, "spend_today_atto"));
}

static void test_killswitch_on_and_spend(void **state)
{
	static struct lp_point p;
	struct heartbeat hb;

	(void)state;
	memset(&hb, 0, sizeof(hb));
	hb.killswitch_on = true;
	hb.killswitch_state = "on";
	hb.killswitch_issue = 42;
	hb.uploads = true;
	hb.spend_today_atto = 3000000000000000000ULL;
	format(&hb, &p);
	/* Without a generation the tag still has a value. */
	assert_string_equal(lp_point_tag(&p, "client_gen")->str, "unknown");
	assert_int_equal(field_i(&p, "killswitch_on"), 1);
	assert_int_equal(field_i(&p, "killswitch_issue"), 42);
	assert_int_equal(field_i(&p, "spend_today_atto"), 3000000000000000000LL);
	assert_null(lp_point_field(&p, "disk_free_bytes"));
}

static uint64_t fake_ledger(int64_t now_ms)
{
	return (uint64_t)now_ms * 2;
}

static void test_spend_hook(void **state)
{
	(void)state;
	/* No ledger yet: 0. */
	assert_int_equal(heartbeat_spend_today(NOW_MS), 0);
	heartbeat_set_spend_source(fake_ledger);
	assert_int_equal(heartbeat_spend_today(1000), 2000);
	heartbeat_set_spend_source(NULL);
	assert_int_equal(heartbeat_spend_today(1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_killswitch_on_and_spend),
		cmocka_unit_test(test_spend_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
