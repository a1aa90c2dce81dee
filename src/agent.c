/*
 * agent.c - `ant-agent run`: start-up checks, signals, the loop, shutdown,
 * and the status file that `ant-agent status` reads.
 *
 * Without a terminal (a service, nohup, cron) there is no console and the
 * log goes to stderr - the journal under systemd - and to LOG_FILE_PATH
 * when LOG_TO_FILE is set.
 */
#include "cli.h"
#include "client.h"
#include "client_gen.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "heartbeat.h"
#include "influx.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "scheduler.h"
#include "state.h"
#include "status.h"
#include "upload.h"
#include "util.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_PROBE_TIMEOUT_MS 10000
/* The housekeeping tick (schedule time): metrics flush, kill-switch. */
#define AGENT_TICK_MS (60 * 1000)
/* On a graceful stop, how long (real time) the last lines may take to
 * reach InfluxDB before they are left in the spool for the next start. */
#define AGENT_PUSH_DRAIN_MS 3000
#define AGENT_PUSH_POLL_MS 50
/* Real time between a change and the status file showing it: changes come
 * in bursts (a result per worker), one write covers a burst. */
#define AGENT_STATUS_DELAY_MS 1000

struct agent {
	uv_loop_t *loop;
	uv_signal_t sig_int, sig_term, sig_hup, sig_usr1;
	uv_timer_t run_for;
	uv_timer_t tick;
	uv_timer_t drain;
	uv_timer_t status_timer;
	uint64_t drain_started;
	struct scheduler *sched;
	struct console *console;
	bool stopping;
	int64_t started_ms;
	char client_version[128];
	char status_path[PATH_MAX];
	uint64_t proc_start;
	bool status_failed;
	bool heartbeat_failed;
	bool clock_waiting; /* virtual clock held until the first refresh ends */
	int64_t run_for_ms;
	int lock_fd; /* CACHE_DIR/agent.lock, held (flock) until the process ends */
};

/* The lock file in CACHE_DIR that makes one agent per cache directory. */
#define AGENT_LOCK_NAME "agent.lock"

/* The status model: the scheduler's view plus this process's own facts.
 * state is "running", "stopping" or "stopped". NULL when out of memory. */
static json_t *status_doc(struct agent *a, const char *state)
{
	struct metrics_counters mc;
	struct influx_counters ic;
	json_t *doc, *sched;
	char started[32];

	metrics_get_counters(&mc);
	influx_get_counters(&ic);
	clock_format_iso(a->started_ms, started, sizeof(started));
	doc = json_pack("{s:s, s:i, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:I, s:I}",
		"format", STATUS_FORMAT, "version", STATUS_VERSION, "agent_state", state,
		"pid", (int)getpid(), "proc_start", (json_int_t)a->proc_start,
		"agent_version", ANT_NAME " " ANT_VERSION, "client_version", a->client_version,
		"agent_id", metrics_agent_id(), "started", started,
		"uptime_s", (json_int_t)((clock_now_ms() - a->started_ms) / 1000),
		"written_at_ms", (json_int_t)clock_real_ms());
	if (doc == NULL)
		return NULL;
	sched = a->sched ? scheduler_status_json(a->sched) : NULL;
	if (sched)
		json_object_update(doc, sched);
	json_decref(sched);
	json_object_set_new(doc, "metrics", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		"recorded", (json_int_t)mc.recorded, "cached", (json_int_t)mc.cached,
		"written", (json_int_t)mc.lines_written, "summary_lines", (json_int_t)mc.summary_lines,
		"write_errors", (json_int_t)mc.write_errors, "dropped", (json_int_t)mc.dropped));
	json_object_set_new(doc, "spend", upload_status_json(clock_now_ms()));
	json_object_set_new(doc, "influx", json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
		"enabled", cfg_str(CFG_INFLUX_URL)[0] != '\0', "pushed", (json_int_t)ic.lines_sent,
		"spool_files", (json_int_t)ic.spool_files, "spool_bytes", (json_int_t)ic.spool_bytes,
		"dropped", (json_int_t)ic.lines_dropped, "rejected", (json_int_t)ic.lines_rejected,
		"last_status", (json_int_t)ic.last_status));
	return doc;
}

/* Replace the status file with the model. */
static void write_status(struct agent *a, const char *state)
{
	json_t *doc = status_doc(a, state);

	if (doc == NULL)
		return;
	if (status_write(a->status_path, doc) == 0) {
		a->status_failed = false;
	} else if (!a->status_failed) {
		log_warn("Status file %s: cannot write: %s", a->status_path, strerror(errno));
		a->status_failed = true;
	}
	json_decref(doc);
}

static void on_status_timer(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (!a->stopping)
		write_status(a, "running");
}

static void start_clock(struct agent *a);

static void on_sched_change(void *ud)
{
	struct agent *a = ud;

	if (a->clock_waiting && scheduler_has_refreshed(a->sched))
		start_clock(a);
	if (!a->stopping && !uv_is_active((uv_handle_t *)&a->status_timer))
		uv_timer_start(&a->status_timer, on_status_timer, AGENT_STATUS_DELAY_MS, 0);
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void finish_stop(struct agent *a)
{
	struct metrics_counters mc;

	metrics_shutdown();
	metrics_get_counters(&mc);
	log_info("Metrics: %llu test(s) recorded, %llu line(s) written this run",
		 (unsigned long long)mc.recorded, (unsigned long long)mc.lines_written);
	write_status(a, "stopped");
	scheduler_free(a->sched);
	a->sched = NULL;
	job_spares_drop();
	upload_close();
	close_handle((uv_handle_t *)&a->sig_int);
	close_handle((uv_handle_t *)&a->sig_term);
	close_handle((uv_handle_t *)&a->sig_hup);
	close_handle((uv_handle_t *)&a->sig_usr1);
	close_handle((uv_handle_t *)&a->drain);
	close_handle((uv_handle_t *)&a->status_timer);
}

static void on_drain(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (influx_idle() || uv_now(a->loop) - a->drain_started >= AGENT_PUSH_DRAIN_MS) {
		if (!influx_idle())
			log_warn("InfluxDB did not take the last lines in time; they stay in the "
				 "spool and are sent at the next start");
		finish_stop(a);
		return;
	}
	uv_timer_start(&a->drain, on_drain, AGENT_PUSH_POLL_MS, 0);
}

/* Everything has stopped running: write what is cached, give the push a
 * moment to deliver it, and let the loop end by closing the last handles. */
static void on_stopped(void *ud)
{
	struct agent *a = ud;

	metrics_flush_all(clock_now_ms());
	if (!influx_running() || influx_idle()) {
		finish_stop(a);
		return;
	}
	a->drain_started = uv_now(a->loop);
	uv_timer_start(&a->drain, on_drain, AGENT_PUSH_POLL_MS, 0);
}

/* Ask the agent to stop gracefully (a signal, the console, --run-for);
 * safe to call more than once. */
static void agent_stop(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	a->stopping = true;
	log_info("Stopping agent: %s", why);
	console_stop(a->console);
	a->console = NULL;
	close_handle((uv_handle_t *)&a->run_for);
	close_handle((uv_handle_t *)&a->tick);
	uv_timer_stop(&a->status_timer);
	write_status(a, "stopping");
	scheduler_shutdown(a->sched, on_stopped, a);
}

static int open_log_file(void)
{
	if (!cfg_bool(CFG_LOG_TO_FILE)) {
		log_open_file(NULL);
		return 0;
	}
	if (mkdir_parent(cfg_str(CFG_LOG_FILE_PATH), 0750) != 0 ||
	    log_open_file(cfg_str(CFG_LOG_FILE_PATH)) != 0) {
		log_error("LOG_FILE_PATH %s: cannot open: %s", cfg_str(CFG_LOG_FILE_PATH),
			  strerror(errno));
		return -1;
	}
	return 0;
}

static void apply_log_level(void)
{
	enum log_level lvl;

	if (log_level_parse(cfg_str(CFG_DEFAULT_LOG_LEVEL), &lvl) == 0)
		log_set_level(lvl);
}

static void log_rate_limits(void)
{
	char line[512];
	size_t len = 0;

	/* In each kind's banner place: the original agent's wording and
	 * order, which operators' log watchers may match. */
	for (int pos = 0; pos < TEST__COUNT; pos++) {
		for (int t = 0; t < TEST__COUNT && len < sizeof(line); t++) {
			const struct test_kind *k = kind_get((enum test_type)t);
			int n;

			if (k->banner_pos != pos)
				continue;
			n = snprintf(line + len, sizeof(line) - len, "%s (%lld calls in 3600 sec) | ",
				     k->title, (long long)cfg_int(k->rate_limit));
			if (n > 0)
				len += (size_t)n;
		}
	}
	log_info("Rate Limiting Active : %sWorkers per task %lld | Clients at once %lld", line,
		 (long long)cfg_int(CFG_MAX_WORKERS), (long long)cfg_int(CFG_MAX_CLIENTS));
}

/* The status screen, rendered from the same model as the status file. */
static void print_status(struct agent *a, FILE *out)
{
	json_t *doc = status_doc(a, "running");

	if (doc == NULL)
		return;
	status_print(out, doc, true, clock_real_ms());
	json_decref(doc);
}

static void log_status(struct agent *a)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	log_info("Status: up %llds (speed %g) | client %s",
		 (long long)((clock_now_ms() - a->started_ms) / 1000), clock_speed(),
		 a->client_version);
	if (a->sched == NULL || (f = open_memstream(&text, &len)) == NULL)
		return;
	print_status(a, f);
	fclose(f);
	log_text(LOG_INFO, text);
	free(text);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct agent *a = h->data;

	switch (signum) {
	case SIGINT:
	case SIGTERM:
		agent_stop(a, signum == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading settings and reopening the log file");
		if (config_reload() != 0) {
			log_error("SIGHUP: new settings are not valid; keeping the ones in force");
		} else {
			config_register_secrets();
			apply_log_level();
			scheduler_reconfigure(a->sched);
			upload_reconfigure();
		}
		if (open_log_file() == 0)
			log_reopen();
		scheduler_refresh(a->sched, "SIGHUP");
		break;
	case SIGUSR1:
		log_status(a);
		break;
	}
}

/* The minute's ant_agent_status point, tests or not. */
static void write_heartbeat(struct agent *a, int64_t now)
{
	struct heartbeat hb;

	memset(&hb, 0, sizeof(hb));
	hb.client_gen = client_generation() ? client_generation()->name : NULL;
	hb.uptime_s = (now - a->started_ms) / 1000;
	scheduler_heartbeat(a->sched, now, &hb);
	if (heartbeat_write(&hb, now) == 0) {
		a->heartbeat_failed = false;
	} else if (!a->heartbeat_failed) {
		/* Once per run of failures, like the status file. */
		log_warn("Heartbeat: cannot write the ant_agent_status point to %s",
			 cfg_str(CFG_METRICS_FILE));
		a->heartbeat_failed = true;
	}
}

static void on_tick(uv_timer_t *t)
{
	struct agent *a = t->data;

	write_heartbeat(a, clock_now_ms());
	metrics_flush(clock_now_ms());
	scheduler_tick(a->sched);
	write_status(a, "running");
	clock_timer_start(&a->tick, on_tick, AGENT_TICK_MS);
}

/* Console keys. */
static void key_quit(void *ud)
{
	agent_stop(ud, "[q] pressed");
}

static void key_fetch(void *ud)
{
	struct agent *a = ud;

	scheduler_refresh(a->sched, "[f] pressed");
}

static void key_status(void *ud)
{
	struct agent *a = ud;

	print_status(a, stdout);
	fflush(stdout);
}

static void key_run(void *ud, int ref)
{
	struct agent *a = ud;

	scheduler_run_now(a->sched, ref);
}

static const struct console_ops console_ops = {
	.quit = key_quit,
	.fetch = key_fetch,
	.status = key_status,
	.run_task = key_run,
};

static void on_run_for(uv_timer_t *t)
{
	struct agent *a = t->data;

	agent_stop(a, "--run-for time reached");
}

/* The schedule clock starts: the minute tick and --run-for are armed on it. */
static void start_clock(struct agent *a)
{
	a->clock_waiting = false;
	clock_release();
	if (clock_is_virtual()) {
		int64_t v;
		uint64_t mono;

		/* Lets an outside observer (bench/agent.sh) place a child's
		 * CLOCK_MONOTONIC stamps on the schedule clock. */
		clock_origin(&v, &mono);
		log_info("Virtual clock: runs from %lld ms since the epoch at CLOCK_MONOTONIC %llu ns",
			 (long long)v, (unsigned long long)mono);
	}
	if (a->run_for_ms > 0)
		clock_timer_start(&a->run_for, on_run_for, a->run_for_ms);
	/* Tick on the minute, so flushes line up with summary minutes. */
	clock_timer_start(&a->tick, on_tick, AGENT_TICK_MS - clock_now_ms() % AGENT_TICK_MS);
}

static void start_signal(struct agent *a, uv_signal_t *h, int signum)
{
	uv_signal_init(a->loop, h);
	h->data = a;
	uv_signal_start(h, on_signal, signum);
}

/* Everything the agent keeps is under CACHE_DIR: where another user may
 * create entries, they can plant links and files for the agent to write
 * through. Such a directory is refused, not trusted. */
static int check_cache_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		log_crit("CACHE_DIR %s: %s", dir, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		log_crit("CACHE_DIR %s is writable by other users (mode %04o): they could plant "
			 "links or files the agent would write through. Run `chmod o-w %s` or "
			 "choose another CACHE_DIR", dir, (unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		log_crit("CACHE_DIR %s belongs to another user (uid %ld): it could change it under "
			 "the agent. Choose a CACHE_DIR of your own", dir, (long)st.st_uid);
		return -1;
	}
	return 0;
}

/* Two agents in one cache directory would both run every task under one
 * agent id and into one metrics file, and overwrite each other's status.
 * The first takes an exclusive flock on CACHE_DIR/agent.lock and writes
 * its pid there; the lock goes with the process, however it ends. */
static int lock_cache_dir(struct agent *a)
{
	const char *dir = cfg_str(CFG_CACHE_DIR);
	char path[PATH_MAX], text[32];
	int64_t other = 0;
	ssize_t n;
	int fd;

	if (mkdir_p(dir, 0755) != 0) {
		log_crit("CACHE_DIR %s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if (check_cache_dir(dir) != 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, AGENT_LOCK_NAME) >= sizeof(path)) {
		log_crit("CACHE_DIR %s: path too long", dir);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		log_crit("%s: cannot open the lock file: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;

		n = pread(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		close(fd);
		if (err != EWOULDBLOCK) {
			log_crit("%s: cannot lock: %s", path, strerror(err));
			return -1;
		}
		if (parse_i64(text, 1, INT_MAX, &other) == 0)
			log_crit("Another ant-agent (pid %lld) is already running with CACHE_DIR %s; "
				 "stop it first, or give this one its own CACHE_DIR",
				 (long long)other, dir);
		else
			log_crit("Another ant-agent is already running with CACHE_DIR %s (%s is "
				 "locked); stop it first, or give this one its own CACHE_DIR",
				 dir, path);
		return -1;
	}
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
		log_warn("%s: cannot record this agent's pid: %s", path, strerror(errno));
	a->lock_fd = fd;
	return 0;
}

static int startup_checks(struct agent *a, const struct cli *c)
{
	char err[512], raw[1024], version[64];
	char owner_msg[PATH_MAX * 2 + 512];

	if (geteuid() == 0 && !c->allow_root) {
		log_crit("Refusing to run as root: run ant-agent as an ordinary user "
			 "(or pass --allow-root if you really mean it)");
		return -1;
	}
	if (config_cache_owner_check(cfg_str(CFG_CACHE_DIR), geteuid(), getegid(), owner_msg,
				     sizeof(owner_msg)) != 0) {
		if (access(cfg_str(CFG_CACHE_DIR), W_OK) != 0) {
			log_crit("%s", owner_msg);
			return -1;
		}
		log_warn("%s", owner_msg);
	}
	/* Refused here rather than failing every fetch for the whole run. */
	if (check_file_urls(err, sizeof(err)) != 0) {
		log_crit("%s", err);
		return -1;
	}
	if (client_probe_version(cfg_str(CFG_CLIENT_PATH), CLIENT_PROBE_TIMEOUT_MS,
				 a->client_version, sizeof(a->client_version), raw, sizeof(raw),
				 err, sizeof(err)) != 0) {
		log_crit("%s", err);
		return -1;
	}
	if (client_select_generation(raw, version, sizeof(version), err, sizeof(err)) != 0) {
		/* A setting to fix (CLIENT_GENERATION or CLIENT_PATH): exit 2. */
		log_crit("%s (%s)", err, cfg_str(CFG_CLIENT_PATH));
		return EXIT_USAGE;
	}
	metrics_set_client_version(version);
	log_info("Found client: %s (%s), driven as %s", a->client_version, cfg_str(CFG_CLIENT_PATH),
		 client_generation()->title);
	if (cfg_bool(CFG_ALLOW_UPLOADS))
		log_info("Uploads are on (ALLOW_UPLOADS=true): upload tests spend this host's tokens");
	else
		log_info("Uploads are off (ALLOW_UPLOADS=false): upload tasks are recorded as "
			 "skipped, and not logged again");
	return 0;
}

/* The agent holds the wallet key in memory: a crash must not write it
 * into a core file, and other processes of the same user (the clients
 * among them) must not read its memory or environment through /proc or
 * ptrace. Clients start dumpable again (execve resets the flag); the
 * core limit of 0 is inherited, which is no loss for a test client. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot turn core dumps off (prctl): %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		log_warn("cannot set the core file size limit to 0: %s", strerror(errno));
}

int cmd_run(const struct cli *c)
{
	struct agent a;
	char start[32];
	int rc;

	memset(&a, 0, sizeof(a));
	/* A write past a file-size limit (systemd LimitFSIZE, ulimit -f) or
	 * into a closed pipe (a log reader that went away) must fail with an
	 * error the writer handles (the metrics cut-back, the log), not kill
	 * the agent. The client module resets both for the clients, libuv for
	 * the network helper. */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Descriptors inherited from whoever started us are not the clients'. */
	fd_cloexec_from(3);
	no_core_dumps();
	if (open_log_file() != 0)
		return EXIT_USAGE;
	log_info("Name: %s | Version: %s | Date: %s | Commit Hash: %s", ANT_NAME, ANT_VERSION,
		 ANT_BUILD_DATE, ANT_GIT_COMMIT);
	if (clock_is_virtual()) {
		clock_hold();
		clock_format_iso(clock_now_ms(), start, sizeof(start));
		log_info("Virtual clock: starts %s, speed %gx (it stands still until the "
			 "start-up checks and the first refresh are done)", start, clock_speed());
	}
	rc = startup_checks(&a, c);
	if (rc == EXIT_USAGE)
		return EXIT_USAGE;
	if (rc != 0 || lock_cache_dir(&a) != 0)
		return EXIT_FAIL;
	/* Clients of an agent that was SIGKILLed run on in their own groups:
	 * end them (the lock says no other agent owns them), then record ours. */
	state_clients_end_survivors(cfg_str(CFG_CACHE_DIR));
	client_set_state_dir(cfg_str(CFG_CACHE_DIR));

	a.loop = uv_default_loop();
	a.started_ms = clock_now_ms();
	if (metrics_init(a.loop) != 0)
		return EXIT_FAIL;
	upload_open(clock_now_ms());
	a.sched = scheduler_new(a.loop);
	if (a.sched == NULL) {
		metrics_shutdown();
		return EXIT_FAIL;
	}
	start_signal(&a, &a.sig_int, SIGINT);
	start_signal(&a, &a.sig_term, SIGTERM);
	start_signal(&a, &a.sig_hup, SIGHUP);
	start_signal(&a, &a.sig_usr1, SIGUSR1);
	/* Logged once the signals are handled: scripts wait for this line. */
	log_rate_limits();
	uv_timer_init(a.loop, &a.run_for);
	a.run_for.data = &a;
	a.run_for_ms = c->run_for_ms;
	uv_timer_init(a.loop, &a.tick);
	a.tick.data = &a;
	uv_timer_init(a.loop, &a.drain);
	a.drain.data = &a;
	uv_timer_init(a.loop, &a.status_timer);
	a.status_timer.data = &a;
	snprintf(a.status_path, sizeof(a.status_path), "%s/%s", cfg_str(CFG_CACHE_DIR),
		 STATUS_FILE_NAME);
	a.proc_start = status_proc_start(getpid());
	scheduler_on_change(a.sched, on_sched_change, &a);
	/* A virtual clock stays held through the start-up refresh too: how
	 * long a machine takes to start the helper and read the fleet's files
	 * is not part of the schedule under test. The real clock runs on. */
	if (clock_is_virtual())
		a.clock_waiting = true;
	else
		start_clock(&a);
	if (!c->no_console)
		a.console = console_start(a.loop, 0, &console_ops, &a);
	if (a.console)
		log_info("%s", console_help());
	write_status(&a, "running");
	scheduler_start(a.sched);

	uv_run(a.loop, UV_RUN_DEFAULT);

	/* Let every close callback run before the loop goes away. */
	uv_run(a.loop, UV_RUN_DEFAULT);
	uv_loop_close(a.loop);
	client_spawner_stop();
	log_info("Agent stopped");
	return EXIT_OK;
}
