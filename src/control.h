/*
 * control.h - the control file (XML) turned into a validated task list.
 *
 * control_parse is pure: it takes the document and the local caps as
 * arguments and reads no settings, so every rule is unit-testable. A task
 * that breaks a rule is rejected with a problem naming its TaskRef and the
 * field; the other tasks still load. A document that is not well-formed
 * XML (or tries to declare a DOCTYPE or entities) yields no tasks at all,
 * never half a plan.
 */
#ifndef ANT_CONTROL_H
#define ANT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model.h"

/* Largest document accepted (the same as the fetch cap for XML). */
#define CONTROL_MAX_BYTES (1024 * 1024)
/* Task elements examined; one task per minute 5..54 fits easily. */
#define CONTROL_MAX_TASKS 200
/* Problems kept; the rest are only counted. */
#define CONTROL_MAX_PROBLEMS 500

/* Hard bounds of the task options (the control file cannot go past). */
#define CONTROL_TIMEOUT_MIN 1
#define CONTROL_TIMEOUT_MAX 3600
#define CONTROL_TIMEOUT_DEFAULT 60
#define CONTROL_RETRY_MAX 10
#define CONTROL_RETRY_DEFAULT 0
#define CONTROL_PERIOD_MIN 5
#define CONTROL_PERIOD_MAX 54
#define CONTROL_OFFSET_MAX 5

/* Local caps, normally from MAX_WORKERS, DOWNLOAD_OFFSET_MAX_MINS and
 * CLIENT_MAX_OFFSET. */
struct control_limits {
	int max_workers;
	int max_time_offset;    /* TimeOffset minutes honoured */
	int max_worker_offset;  /* offset option minutes honoured */
};

enum control_severity {
	CONTROL_WARNING,  /* noted; the task still runs (maybe capped) */
	CONTROL_REJECTED, /* this task does not run */
	CONTROL_ERROR,    /* the whole document is unusable: no tasks */
};

struct control_problem {
	enum control_severity severity;
	int line;          /* line in the document, 0 when unknown */
	int column;        /* set for document errors */
	char task[8];      /* TaskRef as written ("" when unknown) */
	char field[32];    /* "TimePeriod", "option workers", ... or "" */
	char message[240];
};

struct control_result {
	struct task *tasks;       /* accepted tasks, in document order */
	size_t ntasks;
	struct control_problem *problems;
	size_t nproblems;
	size_t problems_dropped;  /* past CONTROL_MAX_PROBLEMS */
	size_t tasks_seen;        /* <Task> elements in the document */
	size_t rejected;          /* tasks rejected */
	size_t warnings;
	bool failed;              /* document unusable (CONTROL_ERROR) */
};

/* The built-in caps (10 workers, 5 minutes, 5 minutes). */
void control_limits_default(struct control_limits *l);
/* The caps from the settings. */
void control_limits_from_config(struct control_limits *l);

/* Parse and validate. Returns 0 when the document was read (some tasks
 * may still be rejected: see out->rejected), -1 when it is unusable
 * (out->failed, no tasks, the reason is the CONTROL_ERROR problem). The
 * caller frees out with control_result_free in both cases. */
int control_parse(const char *data, size_t len, const struct control_limits *limits,
		  struct control_result *out);
void control_result_free(struct control_result *r);

const char *control_severity_name(enum control_severity s);
/* One line such as "line 12, task 003, TimePeriod: rejected: ...". */
void control_problem_format(const struct control_problem *p, char *out, size_t n);

/* The task table in the original agent's grid style. */
void control_print_table(FILE *out, const struct task *tasks, size_t n);
/* The same in at most width columns where it can be: descriptions wrap in
 * their column, and where boxes would not leave a description of 16
 * columns the table is printed without them, with short headings. */
void control_print_table_width(FILE *out, const struct task *tasks, size_t n, size_t width);

#endif
