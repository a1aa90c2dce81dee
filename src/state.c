/*
 * state.c - the restart-safe record of this hour's tasks (see state.h).
 *
 * Format (JSON, written by state_to_json):
 *   { "format": "ant-agent-state", "version": 1,
 *     "hour": "2026-01-01T10:00:00Z", "hour_start_ms": 1767261600000,
 *     "tasks": [ { "ref": 10, "period": 10, "type": "download",
 *                  "repeat": false, "due_ms": ..., "started_ms": ...,
 *                  "ended_ms": 0 }, ... ] }
 * "hour" is for people reading the file; the agent uses hour_start_ms.
 */
#include "state.h"
#include "clock.h"
#include "hour.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void state_reset(struct state *st, int64_t hour_start)
{
	memset(st, 0, sizeof(*st));
	st->hour_start = hour_start;
}

struct state_task *state_find(struct state *st, int ref)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->tasks[i].ref == ref)
			return &st->tasks[i];
	return NULL;
}

static bool same_task(const struct state_task *e, const struct task *t)
{
	return e->ref == t->ref && e->period == t->period && e->type == t->type;
}

struct state_task *state_get(struct state *st, const struct task *t)
{
	struct state_task *e = state_find(st, t->ref);

	if (e != NULL && !same_task(e, t)) {
		/* The control file now has another task under this ref. */
		memset(e, 0, sizeof(*e));
	} else if (e == NULL) {
		if (st->n >= STATE_MAX_TASKS)
			return NULL;
		e = &st->tasks[st->n++];
		memset(e, 0, sizeof(*e));
	}
	e->ref = t->ref;
	e->period = t->period;
	e->type = t->type;
	e->repeat = t->repeat;
	return e;
}

enum state_action state_decide(const struct state_task *e, const struct task *t, int64_t now,
			       int64_t *due)
{
	if (e == NULL || !same_task(e, t))
		return STATE_KEEP;
	if (e->started_ms > 0) {
		/* A repeating task runs until the cooldown; only an end of its
		 * own (kill-switch, guards, no data) means it is done. */
		if (t->repeat && e->ended_ms == 0) {
			*due = now;
			return STATE_RESUME;
		}
		return STATE_DONE;
	}
	if (e->due_ms > now) {
		*due = e->due_ms;
		return STATE_RESTORE;
	}
	return STATE_KEEP;
}

const char *state_action_name(enum state_action a)
{
	switch (a) {
	case STATE_KEEP: return "keep";
	case STATE_DONE: return "done";
	case STATE_RESUME: return "resume";
	case STATE_RESTORE: return "restore";
	}
	return "?";
}

char *state_to_json(const struct state *st)
{
	json_t *root = NULL, *tasks = NULL;
	char hour[32];
	char *text = NULL;

	clock_format_iso(st->hour_start, hour, sizeof(hour));
	tasks = json_array();
	if (tasks == NULL)
		goto fail;
	for (size_t i = 0; i < st->n; i++) {
		const struct state_task *e = &st->tasks[i];

		if (json_array_append_new(tasks, json_pack("{s:i, s:i, s:s, s:b, s:I, s:I, s:I}",
			"ref", e->ref, "period", e->period, "type", test_type_name(e->type),
			"repeat", e->repeat, "due_ms", (json_int_t)e->due_ms,
			"started_ms", (json_int_t)e->started_ms,
			"ended_ms", (json_int_t)e->ended_ms)) != 0)
			goto fail;
	}
	root = json_pack("{s:s, s:i, s:s, s:I, s:O}", "format", STATE_FORMAT, "version",
			 STATE_VERSION, "hour", hour, "hour_start_ms", (json_int_t)st->hour_start,
			 "tasks", tasks);
	if (root == NULL)
		goto fail;
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
fail:
	json_decref(tasks);
	json_decref(root);
	return text;
}

/* One integer member within [min, max]. */
static int get_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int task_from_json(json_t *o, struct state_task *e, char *err, size_t n)
{
	int64_t ref, period;
	json_t *type = json_object_get(o, "type");
	json_t *repeat = json_object_get(o, "repeat");

	memset(e, 0, sizeof(*e));
	if (!json_is_object(o) || get_int(o, "ref", 1, TASK_KEY_MAX, &ref) != 0 ||
	    get_int(o, "period", 0, 59, &period) != 0 || !json_is_string(type) ||
	    test_type_parse(json_string_value(type), &e->type) != 0 || !json_is_boolean(repeat) ||
	    get_int(o, "due_ms", 0, INT64_MAX, &e->due_ms) != 0 ||
	    get_int(o, "started_ms", 0, INT64_MAX, &e->started_ms) != 0 ||
	    get_int(o, "ended_ms", 0, INT64_MAX, &e->ended_ms) != 0) {
		snprintf(err, n, "a task entry lacks ref, period, type, repeat, due_ms, started_ms "
			 "or ended_ms, or has one out of range");
		return -1;
	}
	e->ref = (int)ref;
	e->period = (int)period;
	e->repeat = json_is_true(repeat);
	return 0;
}

int state_from_json(const char *text, size_t len, struct state *out, char *err, size_t n)
{
	json_error_t jerr;
	json_t *root, *fmt, *tasks;
	int64_t version, hour;
	int rc = -1;

	state_reset(out, 0);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, n, "not JSON (line %d: %s)", jerr.line, jerr.text);
		return -1;
	}
	fmt = json_object_get(root, "format");
	tasks = json_object_get(root, "tasks");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), STATE_FORMAT) != 0) {
		snprintf(err, n, "not an ant-agent state file (no \"format\": \"%s\")", STATE_FORMAT);
		goto out;
	}
	if (get_int(root, "version", 1, 1000000, &version) != 0 || version != STATE_VERSION) {
		snprintf(err, n, "state file version is not %d", STATE_VERSION);
		goto out;
	}
	if (get_int(root, "hour_start_ms", 0, INT64_MAX, &hour) != 0 || hour % HOUR_MS != 0 ||
	    !json_is_array(tasks) || json_array_size(tasks) > STATE_MAX_TASKS) {
		snprintf(err, n, "bad hour_start_ms or tasks");
		goto out;
	}
	out->hour_start = hour;
	for (size_t i = 0; i < json_array_size(tasks); i++) {
		struct state_task e;

		if (task_from_json(json_array_get(tasks, i), &e, err, n) != 0)
			goto out;
		if (state_find(out, e.ref) != NULL) {
			char ref[TASK_REF_TEXT_MAX];

			task_ref_format(e.ref, ref);
			snprintf(err, n, "task %s appears twice", ref);
			goto out;
		}
		out->tasks[out->n++] = e;
	}
	rc = 0;
out:
	if (rc != 0)
		state_reset(out, 0);
	json_decref(root);
	return rc;
}

int state_save(const char *path, const struct state *st)
{
	char *text = state_to_json(st);
	int rc;

	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = file_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return rc;
}

int state_load(const char *path, int64_t hour_start, struct state *out)
{
	struct buf b;
	char err[256];
	int rc;

	rc = file_read_all(path, STATE_MAX_BYTES, &b);
	if (rc != 0) {
		state_reset(out, hour_start);
		if (rc == -1 && errno == ENOENT)
			return 0;
		log_warn("State file %s ignored: %s", path,
			 rc == -2 ? "larger than any state file we write" : strerror(errno));
		return -1;
	}
	rc = state_from_json(b.data ? b.data : "", b.len, out, err, sizeof(err));
	buf_free(&b);
	if (rc != 0) {
		log_warn("State file %s ignored: %s", path, err);
		state_reset(out, hour_start);
		return -1;
	}
	if (out->hour_start != hour_start) {
		state_reset(out, hour_start);
		return 0;
	}
	return 1;
}

int state_seq_next(const char *path, uint64_t *out)
{
	struct buf b;
	int64_t cur = 0;
	char text[32];
	int len;

	buf_init(&b, 0);
	if (file_read_all(path, 64, &b) == 0) {
		if (parse_i64(str_trim(b.data), 0, INT64_MAX - 1, &cur) != 0) {
			/* Never restart at 0: a damaged counter jumps far ahead. */
			log_warn("%s: not a counter; starting over from a random value", path);
			cur = (int64_t)(rng_u64() >> 2);
		}
	} else if (errno != ENOENT) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	cur++;
	len = snprintf(text, sizeof(text), "%" PRId64 "\n", cur);
	if (file_write_atomic(path, text, (size_t)len, 0600) != 0)
		return -1;
	*out = (uint64_t)cur;
	return 0;
}

/* ---- clients that may outlive the agent ---- */

int state_parse_proc_stat(const char *text, pid_t *pgrp, uint64_t *start)
{
	/* "PID (COMM) S PPID PGRP ...": COMM may hold anything, so count
	 * fields from the last ')'. State is field 3. */
	const char *p = strrchr(text, ')');
	int64_t v;
	char num[32];

	if (p == NULL)
		return -1;
	p++;
	for (int field = 3; field <= 22; field++) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " \n");
		if (len == 0)
			return -1;
		if (field == 5 || field == 22) {
			if (len >= sizeof(num))
				return -1;
			memcpy(num, p, len);
			num[len] = '\0';
			if (parse_i64(num, 0, INT64_MAX, &v) != 0)
				return -1;
			if (field == 5)
				*pgrp = (pid_t)v;
			else
				*start = (uint64_t)v;
		}
		p += len;
	}
	return 0;
}

int state_proc_stat(pid_t pid, pid_t *pgrp, uint64_t *start)
{
	char path[64];
	struct buf b;
	int rc;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (file_read_all(path, 4096, &b) != 0)
		return -1;
	rc = state_parse_proc_stat(b.data ? b.data : "", pgrp, start);
	buf_free(&b);
	return rc;
}

static int client_file(char *out, size_t n, const char *cache_dir, pid_t pgid)
{
	int w = pgid > 0 ? snprintf(out, n, "%s/" STATE_CLIENTS_DIR "/%ld", cache_dir, (long)pgid)
			 : snprintf(out, n, "%s/" STATE_CLIENTS_DIR, cache_dir);

	return w < 0 || (size_t)w >= n ? -1 : 0;
}

void state_client_add(const char *cache_dir, pid_t pgid)
{
	char path[PATH_MAX], line[STATE_CLIENT_FILE_MAX];
	uint64_t start = 0;
	pid_t pgrp = 0;
	int fd, len;

	if (client_file(path, sizeof(path), cache_dir, 0) != 0)
		return;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		log_debug("cannot create %s: %s", path, strerror(errno));
		return;
	}
	/* Gone already: nothing can outlive the agent. */
	if (state_proc_stat(pgid, &pgrp, &start) != 0)
		return;
	if (client_file(path, sizeof(path), cache_dir, pgid) != 0)
		return;
	len = snprintf(line, sizeof(line), "%ld %llu\n", (long)pgid, (unsigned long long)start);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		log_debug("cannot record client %ld in %s: %s", (long)pgid, path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

void state_client_remove(const char *cache_dir, pid_t pgid)
{
	char path[PATH_MAX];

	if (client_file(path, sizeof(path), cache_dir, pgid) == 0 && unlink(path) != 0 &&
	    errno != ENOENT)
		log_debug("cannot remove %s: %s", path, strerror(errno));
}

/* Is any process of group pgid, started no earlier than start, alive? */
static bool group_member_alive(pid_t pgid, uint64_t start)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		int64_t pid;
		pid_t pg;
		uint64_t st;

		if (!isdigit((unsigned char)e->d_name[0]) ||
		    parse_i64(e->d_name, 1, INT32_MAX, &pid) != 0)
			continue;
		found = state_proc_stat((pid_t)pid, &pg, &st) == 0 && pg == pgid && st >= start;
	}
	closedir(d);
	return found;
}

/* One record: end its group when it is still the client's. */
static bool end_one(const char *path, const char *name)
{
	struct buf b;
	char *sp;
	int64_t pgid, start;
	uint64_t now_start;
	pid_t pg;
	bool ours = false;

	if (file_read_all(path, STATE_CLIENT_FILE_MAX, &b) != 0)
		return false;
	sp = b.data ? strchr(b.data, ' ') : NULL;
	if (sp != NULL) {
		*sp = '\0';
		sp[1 + strcspn(sp + 1, "\n")] = '\0';
	}
	if (sp == NULL || parse_i64(b.data, 2, INT32_MAX, &pgid) != 0 ||
	    parse_i64(sp + 1, 0, INT64_MAX, &start) != 0 || strcmp(b.data, name) != 0) {
		log_warn("%s: not a client record; removed", path);
		buf_free(&b);
		return false;
	}
	buf_free(&b);
	if (state_proc_stat((pid_t)pgid, &pg, &now_start) == 0)
		/* The leader lives: the same process only if it started then. */
		ours = now_start == (uint64_t)start && pg == (pid_t)pgid;
	else
		/* The leader is gone; while any member of its group lives, the
		 * number cannot have been given to another process. */
		ours = group_member_alive((pid_t)pgid, (uint64_t)start);
	if (!ours)
		return false;
	if (kill(-(pid_t)pgid, SIGKILL) != 0 && errno != ESRCH) {
		log_warn("cannot end the left-over client group %ld: %s", (long)pgid, strerror(errno));
		return false;
	}
	log_warn("Ended client process group %ld left running by a previous agent", (long)pgid);
	return true;
}

int state_clients_end_survivors(const char *cache_dir)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (client_file(dir, sizeof(dir), cache_dir, 0) != 0 || (d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		n += end_one(path, e->d_name);
		unlink(path);
	}
	closedir(d);
	return n;
}
