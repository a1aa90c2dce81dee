/*
 * client.h - the contract with the Autonomi command-line client `ant`.
 *
 * Finding and probing the client at start-up, and running one client call
 * on the loop: argv built from settings (never a shell), its own process
 * group, stdin from /dev/null, stdout and stderr captured with a cap, a
 * timeout that stops the whole group, and a result that says what
 * happened. The parsing and classification steps are pure functions so
 * they can be tested without spawning anything.
 */
#ifndef ANT_CLIENT_H
#define ANT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "model.h"

/* Check that path is an executable file; on failure err says why and how
 * to fix it. Returns 0 or -1. */
int client_check_path(const char *path, char *err, size_t errlen);

/* Pull a one-line description of the client out of `ant --version`
 * output (its first non-empty line, when it carries a version number).
 * Returns 0, or -1 when nothing fits. */
int client_parse_version(const char *output, char *out, size_t n);

/* Run `path --version` (blocking, at most timeout_ms) and keep its output
 * (capped) in raw and a one-line description in out. Returns 0, or -1
 * with err saying what went wrong. */
int client_probe_version(const char *path, int timeout_ms, char *out, size_t n,
			 char *raw, size_t rawlen, char *err, size_t errlen);

struct client_gen;
/* Pick the client generation at start-up: the CLIENT_GENERATION setting
 * when it names one, else the row whose version pattern matches raw
 * (the --version output). Writes the bare client version ("0.5.2", or
 * "unknown") for the client_version tag. Returns 0, or -1 with err naming
 * the setting that overrides the detection. */
int client_select_generation(const char *raw, char *version, size_t vn, char *err, size_t errlen);
/* The generation calls use (the first row until one is selected). */
const struct client_gen *client_generation(void);
void client_set_generation(const struct client_gen *g);

/* Output kept per stream: the first HEAD bytes and the last TAIL bytes.
 * Everything in between is read (so the client never blocks on a full
 * pipe) and counted, then dropped. The tail matters because the client
 * prints its result lines last. */
#define CLIENT_OUTPUT_HEAD (64 * 1024)
#define CLIENT_OUTPUT_TAIL (64 * 1024)
/* Most argv entries, global flags included. */
#define CLIENT_ARGV_MAX 256
/* Most environment entries handed to a client. */
#define CLIENT_ENV_MAX 4096
/* After the client exits, how long (real ms) to wait for its pipes to
 * close; a descendant that left the process group may keep them open. */
#define CLIENT_DRAIN_MS 2000

enum client_op { CLIENT_OP_DOWNLOAD, CLIENT_OP_COST, CLIENT_OP_UPLOAD };

/* "download", "cost", "upload". */
const char *client_op_name(enum client_op op);

struct client_request {
	enum client_op op;
	const char *address;   /* download: hex address */
	const char *dest;      /* download: the path the client creates */
	const char *file;      /* cost, upload: the file to price or store */
	bool public_upload;    /* upload: add --public */
	int64_t timeout_ms;    /* schedule time before the group is stopped; <= 0 none */
};

/* The global part of argv, from settings (see client_settings_now). */
struct client_settings {
	const char *path;      /* CLIENT_PATH */
	const char *peers;     /* CLIENT_PEERS: separated by commas or blanks */
	const char *log_path;  /* CLIENT_LOGGING_PATH: root of the per-call log dirs */
	const char *extra;     /* CLIENT_ARGS: split on blanks */
};

/* What the output says, whatever the exit code. */
struct client_parsed {
	bool success_line;     /* the op's success line is present and well-formed */
	bool has_cost;
	uint64_t cost_atto;    /* exact, in atto (10^-18 tokens) */
	bool has_gas;
	uint64_t gas_wei;      /* gas for the payment, exact, in wei (0.2.x JSON; 0.5.x upload: gas units x wei per gas) */
	char address[CAT_ADDRESS_MAX + 1]; /* upload: "" unless valid hex */
	bool address_invalid;  /* an "At address:" line that was not plain hex */
	bool all_exist;        /* "All chunks already exist on the network." */
	int64_t chunks_uploaded;  /* -1 when not printed */
	int64_t chunks_existing;  /* -1 when not printed */
	int64_t chunks_skipped;   /* "(skipping, already exists)" chunk lines */
};

struct client_result {
	enum client_op op;
	pid_t pid;             /* the child (its process group); 0 when none ran */
	int exit_code;         /* -1 when ended by a signal or never started */
	int term_signal;       /* 0 unless ended by a signal */
	bool timed_out;        /* the timeout fired */
	bool terminated;       /* client_terminate was called */
	bool killed;           /* SIGKILL had to be sent */
	double elapsed_s;      /* real seconds from spawn to exit; 0 when never started */
	enum test_status status;
	char reason[160];
	struct client_parsed parsed;
	/* Captured output (head, a marker line, tail), NUL-terminated, ANSI
	 * codes removed; valid only during the callback. */
	const char *out;
	size_t out_len;
	uint64_t out_dropped;
	const char *err;
	size_t err_len;
	uint64_t err_dropped;
};

/* Settings as they are now (pointers into the settings table). */
void client_settings_now(struct client_settings *s);

/* True when a is 1..CAT_ADDRESS_MAX hex digits and nothing else. */
bool client_address_valid(const char *a);

/* The log directory root: CLIENT_LOGGING_PATH, or CACHE_DIR/client-logs
 * when that is empty. */
void client_log_root(char *out, size_t n);

/* Build argv and environment with the current generation (see
 * client_gen.h); log_dir NULL for none. Free with client_argv_free. */
char **client_build_argv(const struct client_settings *s, const struct client_request *req,
			 const char *log_dir, char *err, size_t errlen);
char **client_build_env(char *const *env, const struct client_settings *s, const char *key);
void client_argv_free(char **v);

/* True when e (NAME=value, or NAME) names a secret setting (SECRET_KEY,
 * the tokens, the InfluxDB password): never handed to a client. */
bool client_env_is_secret(const char *e);

/* Remove ANSI escape sequences (colours, cursor moves) in place; returns
 * the new length. */
size_t client_strip_ansi(char *s);

/* Read the success line and values of an op from its stdout (current
 * generation). */
void client_parse_output(enum client_op op, const char *out, struct client_parsed *p);

/* Classify a finished call with the current generation's table: exit
 * code first, then stderr text; see docs/CLIENT.md. */
enum test_status client_classify(enum client_op op, int exit_code, int term_signal,
				 bool stopped_by_agent, bool success_line, const char *err_text,
				 char *reason, size_t n);

struct client_call;
typedef void (*client_done_cb)(const struct client_result *r, void *ud);

/* Start a client call with the current settings. The child is spawned
 * on a spawner thread, so this returns before it exists. The callback
 * runs exactly once, on the loop, after the child and its process group
 * are gone and every handle is closed; the call frees itself after it
 * returns. A spawn that fails comes back through the callback too
 * (ST_CLIENT_ERROR, "cannot run the client '...': ..."). Returns NULL
 * (nothing started, callback never runs) with err saying why: client
 * missing, a directory or not executable, an unsafe argument, no pipes
 * or no spawner thread. All calls in flight share one loop. */
struct client_call *client_start(uv_loop_t *loop, const struct client_request *req,
				 client_done_cb cb, void *ud, char *err, size_t errlen);
/* Stop the call: SIGTERM to its process group, SIGKILL after
 * CLIENT_KILL_GRACE_SECS (force: SIGKILL now). The call still completes
 * through its callback, status ST_KILLED. A call whose child does not
 * exist yet is never spawned (ST_KILLED, exit code -1); one being spawned
 * is signalled once its pid is known. No-op once the child exited. */
void client_terminate(struct client_call *c, bool force);
/* Join the spawner threads; call after the loop has run dry (no call in
 * flight). A later client_start starts them again. */
void client_spawner_stop(void);
/* How many children were spawned so far on the loop (lone calls) and on
 * the spawner threads (bursts). Loop thread. */
void client_spawn_counts(uint64_t *on_loop, uint64_t *on_threads);
/* Record each running client (its group and start time) under dir
 * (CACHE_DIR; NULL or "" for none): see state_clients_end_survivors. */
void client_set_state_dir(const char *dir);
/* The child's pid, which is also its process group id; 0 until the
 * child exists. */
pid_t client_pid(const struct client_call *c);

#endif
