/*
 * control.c - the control file: expat reads the XML, each <Task> is
 * collected as raw text, then checked field by field when its end tag
 * arrives. See control.h and docs/CONTROL-FILE.md for the rules.
 *
 * Safety: the parser stops at the first DOCTYPE or entity declaration,
 * so no entity is ever defined, let alone expanded (billion laughs) or
 * loaded from outside (XXE). Text is gathered into fixed, capped fields.
 */
#include "control.h"

#include "config.h"
#include "util.h"

#include <expat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest text kept for one field; a Description is cut to 100 later. */
#define FIELD_TEXT_MAX 1024
#define OPTION_KEY_MAX 32
#define OPTION_VALUE_MAX 64
#define OPTIONS_PER_TASK_MAX 32

enum field { F_NONE = -1, F_REF, F_DESC, F_PERIOD, F_OFFSET, F_TYPE, F__COUNT };

static const char *const field_names[F__COUNT] = {
	"TaskRef", "Description", "TimePeriod", "TimeOffset", "TestType",
};

struct raw_option {
	char key[OPTION_KEY_MAX + 1];
	char value[OPTION_VALUE_MAX + 1];
	bool too_long;
	int line;
};

struct raw_task {
	int line;
	bool have[F__COUNT];
	int field_line[F__COUNT];
	char text[F__COUNT][FIELD_TEXT_MAX + 1];
	size_t text_len[F__COUNT];
	struct raw_option opts[OPTIONS_PER_TASK_MAX];
	int nopts;
	int opts_dropped;
};

struct parser {
	XML_Parser xp;
	const struct control_limits *lim;
	struct control_result *out;
	size_t problems_alloc;
	size_t tasks_alloc;
	int depth;
	bool root_seen;
	bool in_task;
	bool in_options;
	enum field cur;
	int cur_depth;
	char refuse[200];
	struct raw_task t;
	/* Who took each ref and each minute, to name the first holder. */
	int ref_line[TASK_REF_MAX + 1];
	int ref_uses[TASK_REF_MAX + 1]; /* tasks seen with each TaskRef */
	int minute_ref[60];
	char minute_ref_text[60][8];
};

void control_limits_default(struct control_limits *l)
{
	l->max_workers = 10;
	l->max_time_offset = CONTROL_OFFSET_MAX;
	l->max_worker_offset = CONTROL_OFFSET_MAX;
}

void control_limits_from_config(struct control_limits *l)
{
	l->max_workers = (int)cfg_int(CFG_MAX_WORKERS);
	l->max_time_offset = (int)cfg_int(CFG_DOWNLOAD_OFFSET_MAX_MINS);
	l->max_worker_offset = (int)cfg_int(CFG_CLIENT_MAX_OFFSET);
}

const char *control_severity_name(enum control_severity s)
{
	switch (s) {
	case CONTROL_WARNING: return "warning";
	case CONTROL_REJECTED: return "rejected";
	case CONTROL_ERROR: return "error";
	}
	return "?";
}

void control_problem_format(const struct control_problem *p, char *out, size_t n)
{
	struct buf b;

	buf_init(&b, n > 0 ? n - 1 : 0);
	if (p->line > 0)
		buf_printf(&b, "line %d: ", p->line);
	if (p->task[0])
		buf_printf(&b, "task %s: ", p->task);
	buf_printf(&b, "%s: %s", control_severity_name(p->severity), p->message);
	if (n > 0)
		str_copy(out, b.data ? b.data : "", n);
	buf_free(&b);
}

__attribute__((format(printf, 6, 7)))
static void add_problem(struct parser *ps, enum control_severity sev, int line,
			const char *task, const char *field, const char *fmt, ...)
{
	struct control_result *r = ps->out;
	struct control_problem *p;
	va_list ap;

	if (sev == CONTROL_WARNING)
		r->warnings++;
	if (r->nproblems >= CONTROL_MAX_PROBLEMS) {
		r->problems_dropped++;
		return;
	}
	if (r->nproblems == ps->problems_alloc) {
		ps->problems_alloc = ps->problems_alloc ? ps->problems_alloc * 2 : 16;
		r->problems = xrealloc(r->problems, ps->problems_alloc * sizeof(*r->problems));
	}
	p = &r->problems[r->nproblems++];
	memset(p, 0, sizeof(*p));
	p->severity = sev;
	p->line = line;
	str_copy(p->task, task ? task : "", sizeof(p->task));
	str_copy(p->field, field ? field : "", sizeof(p->field));
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
}

static int cur_line(const struct parser *ps)
{
	return (int)XML_GetCurrentLineNumber(ps->xp);
}

/* Stop the parser for good: the document is refused as a whole. */
static void refuse(struct parser *ps, const char *why)
{
	if (ps->refuse[0] == '\0')
		str_copy(ps->refuse, why, sizeof(ps->refuse));
	XML_StopParser(ps->xp, XML_FALSE);
}

/* ---- values ---------------------------------------------------------- */

/* Text for a message: at most 40 bytes, control characters shown as '?',
 * so a hostile value cannot spill into the terminal or the log. */
static const char *shown(const char *s, char *tmp, size_t n)
{
	size_t i, k = 0;

	for (i = 0; s[i] && k + 4 < n && i < 40; i++)
		tmp[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i] && k + 4 < n) {
		memcpy(tmp + k, "...", 3);
		k += 3;
	}
	tmp[k] = '\0';
	return tmp;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ---- validation of one task ----------------------------------------- */

struct check {
	struct parser *ps;
	struct raw_task *t;
	const char *ref; /* TaskRef text for messages */
	bool rejected;
	struct task out;
};

__attribute__((format(printf, 5, 6)))
static void task_problem(struct check *c, enum control_severity sev, int line, const char *field,
			 const char *fmt, ...)
{
	char msg[sizeof(((struct control_problem *)0)->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == CONTROL_REJECTED)
		c->rejected = true;
	add_problem(c->ps, sev, line ? line : c->t->line, c->ref, field, "%s", msg);
}

/* Integer field with hard bounds; returns 0 and sets *v, or rejects. */
static int int_field(struct check *c, enum field f, int64_t lo, int64_t hi, const char *why,
		     int64_t *v)
{
	char tmp[64];
	const char *s = c->t->text[f];
	int line = c->t->field_line[f];

	if (parse_i64(s, INT64_MIN, INT64_MAX, v) != 0) {
		task_problem(c, CONTROL_REJECTED, line, field_names[f],
			     "%s '%s' is not a whole number", field_names[f], shown(s, tmp, sizeof(tmp)));
		return -1;
	}
	if (*v < lo || *v > hi) {
		task_problem(c, CONTROL_REJECTED, line, field_names[f],
			     "%s %lld is outside %lld..%lld%s", field_names[f], (long long)*v,
			     (long long)lo, (long long)hi, why);
		return -1;
	}
	return 0;
}

static void check_ref(struct check *c)
{
	struct raw_task *t = c->t;
	char tmp[64];
	int64_t v;

	if (!t->have[F_REF]) {
		task_problem(c, CONTROL_REJECTED, 0, "TaskRef", "the task has no <TaskRef>");
		return;
	}
	if (strlen(t->text[F_REF]) > 3 || !all_digits(t->text[F_REF]) ||
	    parse_i64(t->text[F_REF], 1, TASK_REF_MAX, &v) != 0) {
		task_problem(c, CONTROL_REJECTED, t->field_line[F_REF], "TaskRef",
			     "TaskRef '%s' must be 1 to 3 digits, 001 to 999",
			     shown(t->text[F_REF], tmp, sizeof(tmp)));
		return;
	}
	c->out.ref = (int)v;
	str_copy(c->out.ref_text, t->text[F_REF], sizeof(c->out.ref_text));
	c->ref = c->out.ref_text;
	if (c->ps->ref_line[v]) {
		/* Operators reuse a TaskRef for a second task by mistake: both
		 * run, the repeat under its own key and a letter. */
		int n = c->ps->ref_uses[v];

		if (n > TASK_REF_COPIES_MAX) {
			task_problem(c, CONTROL_REJECTED, t->field_line[F_REF], "TaskRef",
				     "TaskRef %s is used more than %d times; this task is ignored",
				     t->text[F_REF], TASK_REF_COPIES_MAX + 1);
			return;
		}
		c->out.ref = (int)v + 1000 * n;
		task_ref_format(c->out.ref, c->out.ref_text);
		task_problem(c, CONTROL_WARNING, t->field_line[F_REF], "TaskRef",
			     "TaskRef %s is already used by the task on line %d; this task runs as %s "
			     "(give each task its own TaskRef)",
			     t->text[F_REF], c->ps->ref_line[v], c->out.ref_text);
		c->ps->ref_uses[v]++;
		return;
	}
	c->ps->ref_line[v] = t->line;
	c->ps->ref_uses[v] = 1;
}

static void check_fields(struct check *c)
{
	const struct control_limits *lim = c->ps->lim;
	struct raw_task *t = c->t;
	char tmp[64], kinds[128];
	int64_t v;

	/* The Description as one clean line, cut to TASK_DESC_MAX bytes on a
	 * UTF-8 boundary. */
	if (t->have[F_DESC] && str_clean(t->text[F_DESC], c->out.description,
					 sizeof(c->out.description), STR_CLEAN_ONE_LINE))
		task_problem(c, CONTROL_WARNING, t->field_line[F_DESC], "Description",
			     "Description is longer than %d characters; it was cut", TASK_DESC_MAX);

	if (!t->have[F_PERIOD])
		task_problem(c, CONTROL_REJECTED, 0, "TimePeriod",
			     "the task has no <TimePeriod> (its start minute, 5..54)");
	else if (int_field(c, F_PERIOD, CONTROL_PERIOD_MIN, CONTROL_PERIOD_MAX,
			   " (tests start between :05 and :54)", &v) == 0)
		c->out.period = (int)v;

	if (t->have[F_OFFSET] &&
	    int_field(c, F_OFFSET, 0, CONTROL_OFFSET_MAX, " minutes", &v) == 0) {
		c->out.time_offset = (int)v;
		if (v > lim->max_time_offset) {
			task_problem(c, CONTROL_WARNING, t->field_line[F_OFFSET], "TimeOffset",
				     "TimeOffset %lld is above the local limit; capped to %d (DOWNLOAD_OFFSET_MAX_MINS)",
				     (long long)v, lim->max_time_offset);
			c->out.time_offset = lim->max_time_offset;
		}
	}

	if (!t->have[F_TYPE])
		task_problem(c, CONTROL_REJECTED, 0, "TestType", "the task has no <TestType> (%s)",
			     kind_names_list(kinds, sizeof(kinds)));
	else if (test_type_parse(t->text[F_TYPE], &c->out.type) != 0)
		task_problem(c, CONTROL_REJECTED, t->field_line[F_TYPE], "TestType",
			     "TestType '%s' is not %s", shown(t->text[F_TYPE], tmp, sizeof(tmp)),
			     kind_names_list(kinds, sizeof(kinds)));
}

/* Minutes for the offset option: false/0, true (the local maximum) or a
 * number of minutes 0..5. */
static void opt_offset(struct check *c, const struct raw_option *o)
{
	const struct control_limits *lim = c->ps->lim;
	char tmp[64];
	int64_t v;
	bool b;

	/* Numbers first: "1" is one minute, not "true". */
	if (parse_i64(o->value, INT64_MIN, INT64_MAX, &v) != 0 && parse_bool(o->value, &b) == 0) {
		c->out.offset_mins = b ? lim->max_worker_offset : 0;
		if (b)
			task_problem(c, CONTROL_WARNING, o->line, "option offset",
				     "option offset 'true' is read as %d minutes (the local limit)",
				     lim->max_worker_offset);
		return;
	}
	if (parse_i64(o->value, 0, CONTROL_OFFSET_MAX, &v) != 0) {
		task_problem(c, CONTROL_REJECTED, o->line, "option offset",
			     "option offset '%s' must be false or a number of minutes 0..%d",
			     shown(o->value, tmp, sizeof(tmp)), CONTROL_OFFSET_MAX);
		return;
	}
	c->out.offset_mins = (int)v;
	if (v > lim->max_worker_offset) {
		task_problem(c, CONTROL_WARNING, o->line, "option offset",
			     "option offset %lld is above the local limit; capped to %d (CLIENT_MAX_OFFSET)",
			     (long long)v, lim->max_worker_offset);
		c->out.offset_mins = lim->max_worker_offset;
	}
}

static void opt_number(struct check *c, const struct raw_option *o, int64_t lo, int64_t hi,
		       const char *what, int *dst)
{
	char tmp[64];
	int64_t v;

	if (parse_i64(o->value, lo, hi, &v) != 0) {
		task_problem(c, CONTROL_REJECTED, o->line, what,
			     "%s '%s' must be a whole number %lld..%lld", what,
			     shown(o->value, tmp, sizeof(tmp)), (long long)lo, (long long)hi);
		return;
	}
	*dst = (int)v;
}

static void opt_bool(struct check *c, const struct raw_option *o, const char *what, bool *dst)
{
	char tmp[64];

	if (parse_bool(o->value, dst) != 0)
		task_problem(c, CONTROL_REJECTED, o->line, what,
			     "%s '%s' must be true or false", what, shown(o->value, tmp, sizeof(tmp)));
}

static void check_option(struct check *c, const struct raw_option *o, bool *have_size)
{
	const struct control_limits *lim = c->ps->lim;
	char tmp[64];

	if (o->too_long) {
		task_problem(c, CONTROL_REJECTED, o->line, "option",
			     "option '%s' has a value longer than %d characters",
			     shown(o->key, tmp, sizeof(tmp)), OPTION_VALUE_MAX);
		return;
	}
	if (str_ieq(o->key, "filesize")) {
		*have_size = true;
		if (size_class_parse(o->value, &c->out.size) != 0)
			task_problem(c, CONTROL_REJECTED, o->line, "option filesize",
				     "option filesize '%s' is not a size class (tiny, small, medium, large, huge, giga, tera, chunka, chunkb)",
				     shown(o->value, tmp, sizeof(tmp)));
	} else if (str_ieq(o->key, "workers")) {
		opt_number(c, o, 1, 1000000, "option workers", &c->out.workers_asked);
		c->out.workers = c->out.workers_asked;
		if (c->out.workers_asked > lim->max_workers) {
			task_problem(c, CONTROL_WARNING, o->line, "option workers",
				     "option workers %d is above the local limit; capped to %d (MAX_WORKERS)",
				     c->out.workers_asked, lim->max_workers);
			c->out.workers = lim->max_workers;
		}
	} else if (str_ieq(o->key, "offset")) {
		opt_offset(c, o);
	} else if (str_ieq(o->key, "repeat")) {
		opt_bool(c, o, "option repeat", &c->out.repeat);
	} else if (str_ieq(o->key, "timeout")) {
		opt_number(c, o, CONTROL_TIMEOUT_MIN, CONTROL_TIMEOUT_MAX, "option timeout (seconds)",
			   &c->out.timeout_secs);
	} else if (str_ieq(o->key, "retry")) {
		opt_number(c, o, 0, CONTROL_RETRY_MAX, "option retry", &c->out.retry);
	} else if (str_ieq(o->key, "verify")) {
		opt_bool(c, o, "option verify", &c->out.verify);
	} else {
		task_problem(c, CONTROL_WARNING, o->line, "option",
			     "unknown option '%s' ignored (known: filesize, workers, offset, repeat, timeout, retry, verify)",
			     shown(o->key, tmp, sizeof(tmp)));
	}
}

static void check_options(struct check *c)
{
	struct raw_task *t = c->t;
	bool have_size = false;
	char tmp[64];

	c->out.workers = c->out.workers_asked = 1;
	c->out.timeout_secs = CONTROL_TIMEOUT_DEFAULT;
	c->out.retry = CONTROL_RETRY_DEFAULT;
	for (int i = 0; i < t->nopts; i++) {
		for (int j = i + 1; j < t->nopts; j++) {
			if (str_ieq(t->opts[i].key, t->opts[j].key)) {
				task_problem(c, CONTROL_WARNING, t->opts[j].line, "option",
					     "option '%s' is given more than once; the last value is used",
					     shown(t->opts[i].key, tmp, sizeof(tmp)));
				break;
			}
		}
		check_option(c, &t->opts[i], &have_size);
	}
	if (t->opts_dropped)
		task_problem(c, CONTROL_WARNING, 0, "option",
			     "more than %d options; %d ignored", OPTIONS_PER_TASK_MAX, t->opts_dropped);
	if (!have_size)
		task_problem(c, CONTROL_REJECTED, 0, "option filesize",
			     "the task has no filesize option (tiny, small, medium, large, huge, giga, tera, chunka, chunkb)");
}

static void accept_task(struct parser *ps, const struct task *task)
{
	struct control_result *r = ps->out;

	if (r->ntasks == ps->tasks_alloc) {
		ps->tasks_alloc = ps->tasks_alloc ? ps->tasks_alloc * 2 : 16;
		r->tasks = xrealloc(r->tasks, ps->tasks_alloc * sizeof(*r->tasks));
	}
	r->tasks[r->ntasks++] = *task;
}

static void finish_task(struct parser *ps)
{
	struct check c;
	int m;

	memset(&c, 0, sizeof(c));
	c.ps = ps;
	c.t = &ps->t;
	c.ref = "";
	ps->out->tasks_seen++;
	if (ps->out->tasks_seen > CONTROL_MAX_TASKS) {
		add_problem(ps, CONTROL_REJECTED, ps->t.line, NULL, "Task",
			    "more than %d tasks in the file; this one is ignored", CONTROL_MAX_TASKS);
		ps->out->rejected++;
		return;
	}
	check_ref(&c);
	check_fields(&c);
	check_options(&c);
	m = c.out.period;
	/* One task per minute: only a task that is otherwise good claims its
	 * minute, so a broken task never blocks a good one. */
	if (!c.rejected && ps->minute_ref[m]) {
		task_problem(&c, CONTROL_REJECTED, ps->t.field_line[F_PERIOD], "TimePeriod",
			     "TimePeriod %d is already taken by task %s; one task per minute", m,
			     ps->minute_ref_text[m]);
	}
	if (!c.rejected && m + c.out.time_offset > CONTROL_PERIOD_MAX)
		task_problem(&c, CONTROL_WARNING, ps->t.field_line[F_OFFSET], "TimeOffset",
			     "with TimeOffset %d the task may start as late as :%02d, after the :55 cooldown",
			     c.out.time_offset, m + c.out.time_offset);
	if (c.rejected) {
		ps->out->rejected++;
		return;
	}
	ps->minute_ref[m] = c.out.ref;
	str_copy(ps->minute_ref_text[m], c.out.ref_text, sizeof(ps->minute_ref_text[m]));
	accept_task(ps, &c.out);
}

/* ---- expat callbacks ------------------------------------------------ */

static enum field field_of(const char *name)
{
	for (int i = 0; i < F__COUNT; i++)
		if (strcmp(name, field_names[i]) == 0)
			return (enum field)i;
	return F_NONE;
}

static void start_option(struct parser *ps, const XML_Char **attrs)
{
	struct raw_task *t = &ps->t;
	struct raw_option *o;
	const char *key = NULL, *value = NULL;

	for (int i = 0; attrs[i] && attrs[i + 1]; i += 2) {
		if (strcmp(attrs[i], "key") == 0)
			key = attrs[i + 1];
		else if (strcmp(attrs[i], "value") == 0)
			value = attrs[i + 1];
	}
	if (key == NULL || value == NULL) {
		add_problem(ps, CONTROL_WARNING, cur_line(ps), NULL, "option",
			    "<Option> needs both key=\"...\" and value=\"...\"; ignored");
		return;
	}
	if (t->nopts == OPTIONS_PER_TASK_MAX) {
		t->opts_dropped++;
		return;
	}
	o = &t->opts[t->nopts++];
	memset(o, 0, sizeof(*o));
	o->line = cur_line(ps);
	str_copy(o->key, key, sizeof(o->key));
	if (str_copy(o->value, value, sizeof(o->value)) >= sizeof(o->value))
		o->too_long = true;
	str_trim(o->key);
	str_trim(o->value);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct parser *ps = ud;
	int d = ++ps->depth;
	enum field f;

	if (d == 1) {
		ps->root_seen = true;
		if (strcmp(name, "Schedule") != 0) {
			char msg[160], tmp[64];

			snprintf(msg, sizeof(msg), "the root element is <%s>; a control file starts with <Schedule>",
				 shown(name, tmp, sizeof(tmp)));
			refuse(ps, msg);
		}
		return;
	}
	if (d == 2) {
		if (strcmp(name, "Task") != 0) {
			add_problem(ps, CONTROL_WARNING, cur_line(ps), NULL, "",
				    "unknown element <%.40s> in <Schedule> ignored", name);
			return;
		}
		memset(&ps->t, 0, sizeof(ps->t));
		ps->t.line = cur_line(ps);
		ps->in_task = true;
		return;
	}
	if (!ps->in_task)
		return;
	if (d == 3) {
		if (strcmp(name, "TestOptions") == 0) {
			ps->in_options = true;
			return;
		}
		f = field_of(name);
		if (f == F_NONE) {
			add_problem(ps, CONTROL_WARNING, cur_line(ps), NULL, "",
				    "unknown element <%.40s> in <Task> ignored", name);
			return;
		}
		if (ps->t.have[f])
			add_problem(ps, CONTROL_WARNING, cur_line(ps), NULL, field_names[f],
				    "<%s> is given more than once in a task; the last one is used",
				    field_names[f]);
		ps->t.have[f] = true;
		ps->t.field_line[f] = cur_line(ps);
		ps->t.text[f][0] = '\0';
		ps->t.text_len[f] = 0;
		ps->cur = f;
		ps->cur_depth = d;
		return;
	}
	if (d == 4 && ps->in_options) {
		if (strcmp(name, "Option") == 0)
			start_option(ps, attrs);
		else
			add_problem(ps, CONTROL_WARNING, cur_line(ps), NULL, "",
				    "unknown element <%.40s> in <TestOptions> ignored", name);
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parser *ps = ud;
	int d = ps->depth--;

	(void)name;
	if (ps->cur != F_NONE && d == ps->cur_depth) {
		str_trim(ps->t.text[ps->cur]);
		ps->cur = F_NONE;
	} else if (d == 3 && ps->in_options) {
		ps->in_options = false;
	} else if (d == 2 && ps->in_task) {
		ps->in_task = false;
		finish_task(ps);
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parser *ps = ud;
	size_t *n, take;
	char *dst;

	if (ps->cur == F_NONE || len <= 0)
		return;
	n = &ps->t.text_len[ps->cur];
	dst = ps->t.text[ps->cur];
	take = (size_t)len;
	if (take > FIELD_TEXT_MAX - *n)
		take = FIELD_TEXT_MAX - *n;
	memcpy(dst + *n, s, take);
	*n += take;
	dst[*n] = '\0';
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name; (void)sysid; (void)pubid; (void)has_internal_subset;
	refuse(ud, "a DOCTYPE is not allowed in a control file (entity declarations are refused for safety)");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
			      int value_len, const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name; (void)is_param; (void)value; (void)value_len; (void)base;
	(void)sysid; (void)pubid; (void)notation;
	refuse(ud, "entity declarations are not allowed in a control file");
}

static int XMLCALL on_external(XML_Parser p, const XML_Char *ctx, const XML_Char *base,
			       const XML_Char *sysid, const XML_Char *pubid)
{
	(void)p; (void)ctx; (void)base; (void)sysid; (void)pubid;
	return XML_STATUS_ERROR; /* never load anything from outside */
}

/* ---- entry points --------------------------------------------------- */

static void fail_document(struct parser *ps, int line, int col, const char *detail)
{
	struct control_result *r = ps->out;

	free(r->tasks);
	free(r->problems);
	memset(r, 0, sizeof(*r));
	ps->problems_alloc = 0;
	r->failed = true;
	add_problem(ps, CONTROL_ERROR, line, NULL, "", "%s", detail);
	r->problems[0].column = col;
}

/* Problems in file order (a task's checks run at its end tag, after the
 * warnings raised while reading it); ones without a line go last. A
 * stable insertion sort: the list is short and capped. */
static void sort_problems(struct control_result *r)
{
	for (size_t i = 1; i < r->nproblems; i++) {
		struct control_problem p = r->problems[i];
		unsigned key = p.line > 0 ? (unsigned)p.line : UINT32_MAX;
		size_t j = i;

		while (j > 0) {
			const struct control_problem *q = &r->problems[j - 1];
			unsigned qk = q->line > 0 ? (unsigned)q->line : UINT32_MAX;

			if (qk <= key)
				break;
			r->problems[j] = *q;
			j--;
		}
		r->problems[j] = p;
	}
}

int control_parse(const char *data, size_t len, const struct control_limits *limits,
		  struct control_result *out)
{
	struct parser *ps;
	enum XML_Status st;

	memset(out, 0, sizeof(*out));
	ps = xcalloc(1, sizeof(*ps));
	ps->lim = limits;
	ps->out = out;
	ps->cur = F_NONE;
	if (len == 0) {
		fail_document(ps, 0, 0, "the file is empty");
		goto done;
	}
	if (len > CONTROL_MAX_BYTES) {
		fail_document(ps, 0, 0, "the file is larger than the 1 MiB limit for a control file");
		goto done;
	}
	ps->xp = XML_ParserCreate(NULL);
	if (ps->xp == NULL)
		abort(); /* out of memory: not recoverable here */
	XML_SetUserData(ps->xp, ps);
	XML_SetElementHandler(ps->xp, on_start, on_end);
	XML_SetCharacterDataHandler(ps->xp, on_text);
	XML_SetStartDoctypeDeclHandler(ps->xp, on_doctype);
	XML_SetEntityDeclHandler(ps->xp, on_entity);
	XML_SetExternalEntityRefHandler(ps->xp, on_external);
	XML_SetParamEntityParsing(ps->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(ps->xp, data, (int)len, XML_TRUE);
	if (ps->refuse[0]) {
		int line = (int)XML_GetCurrentLineNumber(ps->xp);
		int col = (int)XML_GetCurrentColumnNumber(ps->xp) + 1;

		fail_document(ps, line, col, ps->refuse);
	} else if (st != XML_STATUS_OK) {
		enum XML_Error e = XML_GetErrorCode(ps->xp);
		int line = (int)XML_GetErrorLineNumber(ps->xp);
		int col = (int)XML_GetErrorColumnNumber(ps->xp) + 1;
		char msg[200];

		snprintf(msg, sizeof(msg), "not well-formed XML at line %d, column %d: %s%s", line, col,
			 XML_ErrorString(e),
			 e == XML_ERROR_NO_ELEMENTS ? " (the file is empty, cut short or not XML)" : "");
		fail_document(ps, line, col, msg);
	} else {
		if (out->tasks_seen == 0)
			add_problem(ps, CONTROL_WARNING, 0, NULL, "",
				    "the control file lists no tasks: nothing runs this hour");
	}
	sort_problems(out);
	XML_ParserFree(ps->xp);
done:
	free(ps);
	return out->failed ? -1 : 0;
}

void control_result_free(struct control_result *r)
{
	if (r == NULL)
		return;
	free(r->tasks);
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

/* ---- the task table ------------------------------------------------- */

#define TABLE_COLS 8
#define TABLE_WIDTH_MAX 80
/* Narrowest description column before the table gives up its boxes. */
#define TABLE_DESC_MIN 16

static const char *const plain_heads[TABLE_COLS] = {
	"Task", "Mins", "Wkrs", "Rep", "Off", "Type", "Size", "Description",
};

/* Width on a terminal: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void put_rule(FILE *out, const size_t *w, char c)
{
	for (int i = 0; i < TABLE_COLS; i++) {
		fputc('+', out);
		for (size_t k = 0; k < w[i] + 2; k++)
			fputc(c, out);
	}
	fputs("+\n", out);
}

static void put_cell(FILE *out, const char *s, size_t w, bool right)
{
	size_t pad = w - text_width(s);

	fputs("| ", out);
	if (right)
		for (size_t k = 0; k < pad; k++)
			fputc(' ', out);
	fputs(s, out);
	if (!right)
		for (size_t k = 0; k < pad; k++)
			fputc(' ', out);
	fputc(' ', out);
}

static void task_cells(const struct task *t, char cells[TABLE_COLS][TASK_DESC_MAX + 1])
{
	snprintf(cells[0], sizeof(cells[0]), "%s", t->ref_text);
	if (t->time_offset > 0)
		snprintf(cells[1], sizeof(cells[1]), "%d..%d", t->period, t->period + t->time_offset);
	else
		snprintf(cells[1], sizeof(cells[1]), "%d", t->period);
	snprintf(cells[2], sizeof(cells[2]), "%d", t->workers);
	snprintf(cells[3], sizeof(cells[3]), "%s", t->repeat ? "true" : "false");
	snprintf(cells[4], sizeof(cells[4]), "%d", t->offset_mins);
	snprintf(cells[5], sizeof(cells[5]), "%s", test_type_title(t->type));
	snprintf(cells[6], sizeof(cells[6]), "%s", size_class_name(t->size));
	snprintf(cells[7], sizeof(cells[7]), "%s", t->description);
}

/* Take from *s the longest run of whole words that fits in w columns (a
 * word longer than w is cut), copy it to out, and move *s past it and the
 * blanks after it. */
static void wrap_take(const char **s, size_t w, char *out, size_t outlen)
{
	const char *p = *s, *cut = NULL, *end;
	size_t cols = 0;

	while (*p && cols < w) {
		if (*p == ' ')
			cut = p;
		p++;
		while (((unsigned char)*p & 0xC0) == 0x80)
			p++;
		cols++;
	}
	if (*p == '\0' || *p == ' ')
		end = p;            /* the text, or a whole word, ends here */
	else if (cut != NULL)
		end = cut;          /* break at the last blank that fits */
	else
		end = p;            /* one word wider than the column */
	snprintf(out, outlen, "%.*s", (int)(end - *s), *s);
	while (*end == ' ')
		end++;
	*s = end;
}

/* The boxed table of the original agent, its description column wrapped
 * so that the whole fits in width (w: the widths found from the cells). */
static void print_boxed(FILE *out, const struct task *tasks, size_t n, size_t *w)
{
	static const char *const heads[TABLE_COLS] = {
		"Task", "Mins", "Worker", "Repeat", "Offset", "Type", "Size", "Description",
	};
	/* Numeric columns have right-aligned headings, as in the original. */
	static const bool head_right[TABLE_COLS] = { true, true, true, false, true, false, false, false };
	char cells[TABLE_COLS][TASK_DESC_MAX + 1];
	char part[TASK_DESC_MAX + 1];

	put_rule(out, w, '-');
	for (int i = 0; i < TABLE_COLS; i++)
		put_cell(out, heads[i], w[i], head_right[i]);
	fputs("|\n", out);
	put_rule(out, w, '=');
	for (size_t r = 0; r < n; r++) {
		const char *desc;

		task_cells(&tasks[r], cells);
		desc = cells[TABLE_COLS - 1];
		do {
			wrap_take(&desc, w[TABLE_COLS - 1], part, sizeof(part));
			for (int i = 0; i < TABLE_COLS - 1; i++)
				put_cell(out, cells[i], w[i], false);
			put_cell(out, part, w[TABLE_COLS - 1], false);
			fputs("|\n", out);
			/* Continuation lines leave the other columns blank. */
			for (int i = 0; i < TABLE_COLS - 1; i++)
				cells[i][0] = '\0';
		} while (*desc);
		put_rule(out, w, '-');
	}
}

/* The same columns without boxes and with short headings, for a narrow
 * space (a log line after its timestamp): one blank between columns. */
static void print_plain(FILE *out, const struct task *tasks, size_t n, size_t *w)
{
	char cells[TABLE_COLS][TASK_DESC_MAX + 1];
	char part[TASK_DESC_MAX + 1];

	for (int i = 0; i < TABLE_COLS; i++) {
		fprintf(out, "%-*s", i < TABLE_COLS - 1 ? (int)w[i] + 1 : 0, plain_heads[i]);
	}
	fputc('\n', out);
	for (size_t r = 0; r < n; r++) {
		const char *desc;

		task_cells(&tasks[r], cells);
		desc = cells[TABLE_COLS - 1];
		do {
			wrap_take(&desc, w[TABLE_COLS - 1], part, sizeof(part));
			for (int i = 0; i < TABLE_COLS - 1; i++) {
				fputs(cells[i], out);
				for (size_t k = text_width(cells[i]); k <= w[i]; k++)
					fputc(' ', out);
				cells[i][0] = '\0';
			}
			fprintf(out, "%s\n", part);
		} while (*desc);
	}
}

/* Widths of the columns for heads: the widest cell, and the description
 * cut down so that a line (chrome: what borders and gaps take) fits in
 * width. Returns false when even the narrowest description would not. */
static bool table_widths(const struct task *tasks, size_t n, const char *const *heads,
			 size_t chrome, size_t min, size_t width, size_t *w)
{
	char cells[TABLE_COLS][TASK_DESC_MAX + 1];
	size_t used = chrome;

	for (int i = 0; i < TABLE_COLS; i++)
		w[i] = strlen(heads[i]);
	for (size_t r = 0; r < n; r++) {
		task_cells(&tasks[r], cells);
		for (int i = 0; i < TABLE_COLS; i++)
			if (text_width(cells[i]) > w[i])
				w[i] = text_width(cells[i]);
	}
	for (int i = 0; i < TABLE_COLS - 1; i++)
		used += w[i];
	if (used + w[TABLE_COLS - 1] <= width)
		return true;
	if (min < strlen(heads[TABLE_COLS - 1]))
		min = strlen(heads[TABLE_COLS - 1]);
	w[TABLE_COLS - 1] = used < width && width - used > min ? width - used : min;
	return used + min <= width;
}

void control_print_table_width(FILE *out, const struct task *tasks, size_t n, size_t width)
{
	static const char *const boxed_heads[TABLE_COLS] = {
		"Task", "Mins", "Worker", "Repeat", "Offset", "Type", "Size", "Description",
	};
	size_t w[TABLE_COLS];

	/* Boxes: "| " and " " around each cell, and the last "|". */
	if (table_widths(tasks, n, boxed_heads, 3 * TABLE_COLS + 1, TABLE_DESC_MIN, width, w)) {
		print_boxed(out, tasks, n, w);
		return;
	}
	table_widths(tasks, n, plain_heads, TABLE_COLS - 1, 0, width, w);
	print_plain(out, tasks, n, w);
}

void control_print_table(FILE *out, const struct task *tasks, size_t n)
{
	control_print_table_width(out, tasks, n, TABLE_WIDTH_MAX);
}
