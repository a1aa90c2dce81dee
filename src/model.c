/*
 * model.c - names, parsing and bounds of the shared data types.
 */
#include "model.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const size_names[SIZE__COUNT] = {
	"tiny", "small", "medium", "large", "huge", "giga", "tera", "chunka", "chunkb",
};

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* DESIGN.md section 4. Adjacent classes share no byte count: "small" starts
 * at 128 KiB, so "tiny" ends one byte before it. */
static const uint64_t size_bounds[SIZE__COUNT][2] = {
	[SIZE_TINY] = { 1, 128 * KiB - 1 },
	[SIZE_SMALL] = { 128 * KiB, 4 * MiB },
	[SIZE_MEDIUM] = { 4 * MiB, 32 * MiB },
	[SIZE_LARGE] = { 32 * MiB, 60 * MiB },
	[SIZE_HUGE] = { 128 * MiB, 1 * GiB },
	[SIZE_GIGA] = { 1 * GiB, 20 * GiB },
	[SIZE_TERA] = { 20 * GiB, 100 * GiB },
	[SIZE_CHUNKA] = { 4 * MiB, 4 * MiB },
	[SIZE_CHUNKB] = { 64 * MiB, 64 * MiB },
};

static const char *const status_names[ST__COUNT] = {
	"ok", "client_error", "network_error", "data_loss", "killed", "unknown_error", "skipped",
	"stopped",
};

static const char *const reason_names[REASON__COUNT][2] = {
	[REASON_NONE] = { "", "" },
	[REASON_DISK_GUARD] = { "disk_guard", "disk guard" },
	[REASON_MEMORY_GUARD] = { "memory_guard", "memory guard" },
	[REASON_UPLOADS_OFF] = { "uploads_off", "uploads not allowed" },
	[REASON_ROW_REJECTED] = { "row_rejected", "catalogue row rejected" },
	[REASON_COOLDOWN] = { "cooldown", "stopped at the end of the hour" },
	[REASON_KILL_SWITCH] = { "kill_switch", "stopped by the kill-switch" },
	[REASON_SHUTDOWN] = { "shutdown", "stopped for shutdown" },
	[REASON_BUDGET] = { "budget", "upload budget" },
	[REASON_TOO_LARGE] = { "too_large", "stopped: larger than its size class" },
};

void task_ref_format(int key, char out[TASK_REF_TEXT_MAX])
{
	if (key > TASK_REF_MAX && key <= TASK_KEY_MAX)
		snprintf(out, TASK_REF_TEXT_MAX, "%03d%c", key % 1000, 'a' + key / 1000);
	else
		snprintf(out, TASK_REF_TEXT_MAX, "%03d", key >= 0 && key <= TASK_REF_MAX ? key : 0);
}

const char *size_class_name(enum size_class s)
{
	return (unsigned)s < SIZE__COUNT ? size_names[s] : "unknown";
}

int size_class_parse(const char *s, enum size_class *out)
{
	for (unsigned i = 0; i < SIZE__COUNT; i++) {
		if (str_ieq(s, size_names[i])) {
			*out = (enum size_class)i;
			return 0;
		}
	}
	return -1;
}

void size_class_bounds(enum size_class s, uint64_t *min, uint64_t *max)
{
	*min = size_bounds[s][0];
	*max = size_bounds[s][1];
}

bool size_class_fits(enum size_class s, uint64_t bytes)
{
	return (unsigned)s < SIZE__COUNT && bytes >= size_bounds[s][0] &&
	       bytes <= size_bounds[s][1];
}

const char *test_status_name(enum test_status s)
{
	return (unsigned)s < ST__COUNT ? status_names[s] : "unknown_error";
}

bool test_status_counts(enum test_status s)
{
	return s != ST_SKIPPED && s != ST_STOPPED;
}

const char *test_reason_name(enum test_reason r)
{
	return (unsigned)r < REASON__COUNT ? reason_names[r][0] : "";
}

const char *test_reason_text(enum test_reason r)
{
	return (unsigned)r < REASON__COUNT ? reason_names[r][1] : "";
}

void test_result_set_why(struct test_result *r, enum test_reason why, const char *fmt, ...)
{
	char detail[sizeof(r->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->why = why;
	snprintf(r->reason, sizeof(r->reason), "%s%s%s", test_reason_text(why),
		 detail[0] ? ": " : "", detail);
}
