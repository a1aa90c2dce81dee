/*
 * fuzz_control - control_parse (the control file XML, expat) with the
 * default local caps, then every problem formatted and the task table
 * printed, so the strings the parser keeps are read back too.
 */
#include "control.h"
#include "fuzz.h"

#include <stdbool.h>
#include <stdio.h>

#define FUZZ_CAP (256 * 1024)

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	g_null = fopen("/dev/null", "w");
	return 0;
}

/* What no control file may get past: the hard bounds and the local caps,
 * and one task per start minute. */
static void check_tasks(const struct control_result *r, const struct control_limits *lim)
{
	bool minute_used[60] = { false };

	if (r->ntasks > CONTROL_MAX_TASKS)
		abort();
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct task *t = &r->tasks[i];

		/* A repeated TaskRef runs under ref + 1000 * n: keys stay unique. */
		for (size_t k = 0; k < i; k++)
			if (r->tasks[k].ref == t->ref)
				abort();
		if (t->ref < 1 || t->ref > TASK_KEY_MAX || t->ref % 1000 == 0 ||
		    memchr(t->ref_text, '\0', sizeof(t->ref_text)) == NULL || t->workers < 1 || t->workers > lim->max_workers ||
		    t->period < CONTROL_PERIOD_MIN || t->period > CONTROL_PERIOD_MAX ||
		    t->time_offset < 0 || t->time_offset > lim->max_time_offset ||
		    t->offset_mins < 0 || t->offset_mins > lim->max_worker_offset ||
		    t->timeout_secs < CONTROL_TIMEOUT_MIN || t->timeout_secs > CONTROL_TIMEOUT_MAX ||
		    t->retry < 0 || t->retry > CONTROL_RETRY_MAX ||
		    memchr(t->description, '\0', sizeof(t->description)) == NULL)
			abort();
		if (minute_used[t->period])
			abort();
		minute_used[t->period] = true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_limits lim;
	struct control_result r;
	char line[512];
	char *doc;

	if (size > FUZZ_CAP)
		return 0;
	doc = fuzz_dup(data, size);
	if (doc == NULL)
		return 0;
	control_limits_default(&lim);
	memset(&r, 0, sizeof(r));
	if (control_parse(doc, size, &lim, &r) == 0 && !r.failed) {
		check_tasks(&r, &lim);
		control_print_table(g_null, r.tasks, r.ntasks);
	} else if (r.ntasks != 0) {
		/* A failed document must never leave half a plan. */
		abort();
	}
	for (size_t i = 0; i < r.nproblems; i++)
		control_problem_format(&r.problems[i], line, sizeof(line));
	control_result_free(&r);
	free(doc);
	return 0;
}
