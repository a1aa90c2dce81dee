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
	/* A stack buffer and three system calls: this also runs on the
	 * spawner threads, once a client. */
	char path[64], text[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return state_parse_proc_stat(text, pgrp, start);
}

/* ------------------------------------------------------------------ */
/* The journal of running clients (loop thread only).                  */

struct client_rec {
	pid_t pgid;
	uint64_t start;
};

/* Add a running client to a set of them (*n of *cap). */
static void recs_add(struct client_rec **recs, size_t *n, size_t *cap, pid_t pgid, uint64_t start)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*recs = xrealloc(*recs, *cap * sizeof(**recs));
	}
	(*recs)[(*n)++] = (struct client_rec){ pgid, start };
}

static struct {
	char path[PATH_MAX]; /* the journal open in fd; "" for none */
	int fd;
	size_t bytes;        /* its length */
	struct client_rec *live;
	size_t nlive, cap;
} g_clients = { .fd = -1 };

static int clients_log_path(char *out, size_t n, const char *cache_dir)
{
	int w = snprintf(out, n, "%s/" STATE_CLIENTS_LOG, cache_dir);

	return w < 0 || (size_t)w >= n ? -1 : 0;
}

static void clients_forget(void)
{
	if (g_clients.fd >= 0)
		close(g_clients.fd);
	g_clients.fd = -1;
	g_clients.path[0] = '\0';
	g_clients.bytes = 0;
	g_clients.nlive = 0;
}

static int clients_open(const char *path, int extra_flags)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | extra_flags,
		    0600);
}

/* The journal for cache_dir open for appending; -1 when it cannot be. */
static int clients_fd(const char *cache_dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (clients_log_path(path, sizeof(path), cache_dir) != 0)
		return -1;
	if (g_clients.fd >= 0 && strcmp(path, g_clients.path) == 0)
		return g_clients.fd;
	clients_forget();
	g_clients.fd = clients_open(path, 0);
	if (g_clients.fd < 0) {
		log_debug("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	str_copy(g_clients.path, path, sizeof(g_clients.path));
	g_clients.bytes = fstat(g_clients.fd, &st) == 0 ? (size_t)st.st_size : 0;
	return g_clients.fd;
}

static int clients_write(int fd, const char *line, size_t len)
{
	ssize_t w;

	do
		w = write(fd, line, len);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)len ? 0 : -1;
}

/* Write the running clients alone to a new journal and put it in place
 * of the old one, whose lines of clients long gone are then dropped. */
static void clients_compact(void)
{
	char tmp[PATH_MAX + 8], line[STATE_CLIENT_LINE_MAX];
	size_t bytes = 0;
	int fd, len;

	if (snprintf(tmp, sizeof(tmp), "%s.new", g_clients.path) >= (int)sizeof(tmp))
		return;
	unlink(tmp);
	fd = clients_open(tmp, O_EXCL);
	if (fd < 0)
		return;
	for (size_t i = 0; i < g_clients.nlive; i++) {
		len = snprintf(line, sizeof(line), "+ %ld %" PRIu64 "\n",
			       (long)g_clients.live[i].pgid, g_clients.live[i].start);
		if (clients_write(fd, line, (size_t)len) != 0)
			goto fail;
		bytes += (size_t)len;
	}
	if (rename(tmp, g_clients.path) != 0)
		goto fail;
	close(g_clients.fd);
	g_clients.fd = fd;
	g_clients.bytes = bytes;
	return;
fail:
	log_debug("cannot rewrite %s: %s", g_clients.path, strerror(errno));
	close(fd);
	unlink(tmp);
}

static void clients_append(const char *cache_dir, const char *line, size_t len)
{
	int fd = clients_fd(cache_dir);

	if (fd < 0)
		return;
	if (clients_write(fd, line, len) != 0) {
		log_debug("cannot write to %s: %s", g_clients.path, strerror(errno));
		return;
	}
	g_clients.bytes += len;
	if (g_clients.bytes > STATE_CLIENTS_LOG_MAX)
		clients_compact();
}

void state_client_add(const char *cache_dir, pid_t pgid, uint64_t start)
{
	char line[STATE_CLIENT_LINE_MAX];
	pid_t pgrp = 0;
	int len;

	/* Gone already: nothing can outlive the agent. */
	if (start == 0 && state_proc_stat(pgid, &pgrp, &start) != 0)
		return;
	/* The journal first: opening another one forgets the running set. */
	if (clients_fd(cache_dir) < 0)
		return;
	recs_add(&g_clients.live, &g_clients.nlive, &g_clients.cap, pgid, start);
	len = snprintf(line, sizeof(line), "+ %ld %" PRIu64 "\n", (long)pgid, start);
	clients_append(cache_dir, line, (size_t)len);
}

void state_client_remove(const char *cache_dir, pid_t pgid)
{
	char line[STATE_CLIENT_LINE_MAX];
	int len;

	for (size_t i = 0; i < g_clients.nlive; i++)
		if (g_clients.live[i].pgid == pgid) {
			g_clients.live[i] = g_clients.live[--g_clients.nlive];
			len = snprintf(line, sizeof(line), "- %ld\n", (long)pgid);
			clients_append(cache_dir, line, (size_t)len);
			return;
		}
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

/* End group pgid when it is still the client that started at start. */
static bool end_group(pid_t pgid, uint64_t start)
{
	uint64_t now_start;
	pid_t pg;
	bool ours;

	if (state_proc_stat(pgid, &pg, &now_start) == 0)
		/* The leader lives: the same process only if it started then. */
		ours = now_start == start && pg == pgid;
	else
		/* The leader is gone; while any member of its group lives, the
		 * number cannot have been given to another process. */
		ours = group_member_alive(pgid, start);
	if (!ours)
		return false;
	if (kill(-pgid, SIGKILL) != 0 && errno != ESRCH) {
		log_warn("cannot end the left-over client group %ld: %s", (long)pgid, strerror(errno));
		return false;
	}
	log_warn("Ended client process group %ld left running by a previous agent", (long)pgid);
	return true;
}

/* "PGID START" in a file of the directory earlier releases kept. */
static bool end_legacy_record(const char *path, const char *name)
{
	struct buf b;
	char *sp;
	int64_t pgid, start;

	if (file_read_all(path, STATE_CLIENT_LINE_MAX, &b) != 0)
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
	return end_group((pid_t)pgid, (uint64_t)start);
}

static int end_legacy_dir(const char *cache_dir)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (snprintf(dir, sizeof(dir), "%s/" STATE_CLIENTS_DIR, cache_dir) >= (int)sizeof(dir) ||
	    (d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		n += end_legacy_record(path, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
	return n;
}

/* One journal line into the set of running clients (recs, *n of them);
 * returns -1 when it is not a journal line. */
static int journal_line(char *line, struct client_rec **recs, size_t *n, size_t *cap)
{
	char *sp;
	int64_t pgid, start = 0;

	if ((line[0] != '+' && line[0] != '-') || line[1] != ' ')
		return -1;
	sp = strchr(line + 2, ' ');
	if (sp != NULL)
		*sp++ = '\0';
	if (parse_i64(line + 2, 2, INT32_MAX, &pgid) != 0)
		return -1;
	if (line[0] == '+' && (sp == NULL || parse_i64(sp, 0, INT64_MAX, &start) != 0))
		return -1;
	if (line[0] == '-' && sp != NULL)
		return -1;
	/* A pid is given again only once its group is gone: the newest line
	 * for it is the one that counts. */
	for (size_t i = 0; i < *n; i++)
		if ((*recs)[i].pgid == (pid_t)pgid) {
			(*recs)[i] = (*recs)[--*n];
			break;
		}
	if (line[0] == '+')
		recs_add(recs, n, cap, (pid_t)pgid, (uint64_t)start);
	return 0;
}

int state_clients_end_survivors(const char *cache_dir)
{
	char path[PATH_MAX];
	struct client_rec *recs = NULL;
	size_t nrec = 0, cap = 0, lineno = 0, bad = 0;
	struct buf b;
	int n = end_legacy_dir(cache_dir), r;

	clients_forget();
	if (clients_log_path(path, sizeof(path), cache_dir) != 0)
		return n;
	r = file_read_all(path, STATE_CLIENTS_READ_MAX, &b);
	if (r == -2)
		log_warn("%s: longer than %d bytes, not read: the clients it names are not ended",
			 path, STATE_CLIENTS_READ_MAX);
	if (r == 0) {
		for (char *p = b.data, *nl; p && *p; p = nl) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				break; /* a line cut short by a SIGKILL names nobody */
			*nl++ = '\0';
			lineno++;
			if (journal_line(p, &recs, &nrec, &cap) != 0 && bad++ == 0)
				log_warn("%s:%zu: not a client record; skipped", path, lineno);
		}
		buf_free(&b);
	}
	for (size_t i = 0; i < nrec; i++)
		n += end_group(recs[i].pgid, recs[i].start);
	free(recs);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	return n;
}
