/*
 * model.h - the plain data that passes between the agent's modules: test
 * types, size classes, a validated task, catalogue rows and the result of
 * one test. No behaviour beyond names, parsing and size bounds.
 */
#ifndef ANT_MODEL_H
#define ANT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Test kinds (enum test_type) and their names: kind.h. */
#include "kind.h"

enum size_class {
	SIZE_TINY, SIZE_SMALL, SIZE_MEDIUM, SIZE_LARGE, SIZE_HUGE,
	SIZE_GIGA, SIZE_TERA, SIZE_CHUNKA, SIZE_CHUNKB, SIZE__COUNT
};

const char *size_class_name(enum size_class s);
int size_class_parse(const char *s, enum size_class *out);
/* Inclusive byte bounds of a class (DESIGN.md section 4). */
void size_class_bounds(enum size_class s, uint64_t *min, uint64_t *max);
bool size_class_fits(enum size_class s, uint64_t bytes);

#define TASK_DESC_MAX 100
#define TASK_REF_MAX 999
/* A TaskRef used again in the control file runs as its own task, keyed
 * ref + 1000 * n and shown with a letter: the second 011 is 011b (key
 * 1011), the third 011c (2011) ... up to 011z. */
#define TASK_REF_COPIES_MAX 25
#define TASK_KEY_MAX (TASK_REF_MAX + 1000 * TASK_REF_COPIES_MAX)

/* A task key as people see it: 11 is "011", 1011 is "011b" (out holds
 * TASK_REF_TEXT_MAX bytes). The metrics' task tag is the same text. */
#define TASK_REF_TEXT_MAX 8
void task_ref_format(int key, char out[TASK_REF_TEXT_MAX]);

/* One validated task of the control file. Values are already capped by
 * local settings where the control file asked for more. */
struct task {
	int ref;                  /* key: 1..999, + 1000 * n for the nth repeat of a TaskRef */
	char ref_text[TASK_REF_TEXT_MAX]; /* as written, e.g. "001"; a repeat "001b" */
	char description[TASK_DESC_MAX + 1];
	int period;               /* start minute, 5..54 */
	int time_offset;          /* random extra start delay, 0..5 minutes */
	enum test_type type;
	enum size_class size;
	int workers;              /* after the MAX_WORKERS cap */
	int workers_asked;        /* as the control file said */
	int offset_mins;          /* worker start stagger, 0 = none */
	bool repeat;
	int timeout_secs;
	int retry;                /* extra attempts after a failed one */
	bool verify;              /* upload: download back and compare MD5 */
};

#define CAT_NAME_MAX 255
#define CAT_ADDRESS_MAX 128
#define MD5_HEX_LEN 32

/* A row of the download catalogue (fileSize,name,address,md5). */
struct dl_row {
	enum size_class size;
	char name[CAT_NAME_MAX + 1];        /* safe: no path separators */
	char address[CAT_ADDRESS_MAX + 1];  /* hex digits only */
	char md5[MD5_HEX_LEN + 1];          /* lower-case hex, "" = none */
	int line;                           /* line in the catalogue */
};

/* A row of the seed catalogue (fileSize,seed,size,md5). */
struct seed_row {
	enum size_class size;
	uint64_t seed;
	uint64_t bytes;
	char md5[MD5_HEX_LEN + 1];          /* "" unless 32 hex digits */
	int line;
};

/* ST_KILLED is a client the agent had to kill because it overran its
 * timeout or hung: a finding about the network. ST_STOPPED is a client the
 * agent stopped for its own reasons (the hour's end, the kill-switch, a
 * shutdown): no finding at all, so it counts neither as a failure nor as a
 * success. ST_SKIPPED is a test that never ran. */
enum test_status {
	ST_OK, ST_CLIENT_ERROR, ST_NETWORK_ERROR, ST_DATA_LOSS, ST_KILLED,
	ST_UNKNOWN_ERROR, ST_SKIPPED, ST_STOPPED, ST__COUNT
};

/* "ok", "client_error", "network_error", "data_loss", "killed",
 * "unknown_error", "skipped", "stopped" (metric tag values). */
const char *test_status_name(enum test_status s);
/* Did the test run to a finding? False for skipped and stopped tests,
 * which stay out of success and failure rates. */
bool test_status_counts(enum test_status s);

/* Why a test was skipped or stopped. Code compares these values; logs,
 * metrics and status take their words from the enum (model.c). */
enum test_reason {
	REASON_NONE,
	REASON_DISK_GUARD,      /* skipped: too little free disk */
	REASON_MEMORY_GUARD,    /* skipped: too little free memory */
	REASON_UPLOADS_OFF,     /* skipped: ALLOW_UPLOADS is false */
	REASON_ROW_REJECTED,    /* skipped: a catalogue row failed its checks */
	REASON_COOLDOWN,        /* stopped: the hour ended (:58 SIGTERM, :59 SIGKILL) */
	REASON_KILL_SWITCH,     /* stopped: the kill-switch turned on */
	REASON_SHUTDOWN,        /* stopped: the agent is shutting down */
	REASON_BUDGET,          /* skipped: the upload could pass UPLOAD_BUDGET_DAY/MONTH */
	REASON_TOO_LARGE,       /* stopped: a download grew past its size class */
	REASON__COUNT
};

/* "disk_guard", "memory_guard", "uploads_off", "row_rejected", "cooldown",
 * "kill_switch", "shutdown", "budget", "too_large" (metric field value); ""
 * for REASON_NONE. */
const char *test_reason_name(enum test_reason r);
/* "disk guard", ... : the words that start a reason text. */
const char *test_reason_text(enum test_reason r);

/* What one test attempt produced; metrics.c turns it into a line. */
struct test_result {
	enum test_type type;
	enum size_class size;
	int task_ref;
	int worker;
	int attempt;                  /* 1 = first try */
	enum test_status status;
	int64_t start_ms;             /* schedule time the attempt started (UTC ms) */
	double exec_time;             /* real seconds the client ran */
	int exit_code;                /* -1 when killed by a signal or not run */
	bool md5_checked;
	bool md5_valid;
	bool has_cost;
	uint64_t cost_atto;           /* exact cost in atto (10^-18 tokens) */
	bool has_gas;
	uint64_t gas_wei;             /* gas for the payment in wei (ant 0.2.x), exact */
	bool via_gateway;             /* download: fetched over HTTP from ANTTP_URL, not the client */
	bool already_stored;          /* the network had every chunk: nothing stored or paid
				       * (upload), or a quote of 0 (docs/METRICS.md) */
	bool address_private;         /* upload: address is a private upload's local alias */
	uint64_t spent_day_atto;      /* upload: the day's spend after this test (ledger) */
	bool has_chunks;              /* upload: the counts below are known */
	uint32_t chunks_stored;       /* upload: chunks this call stored */
	uint32_t chunks_existing;     /* upload: chunks already on the network */
	uint64_t bytes;
	char address[CAT_ADDRESS_MAX + 1]; /* "" when unknown */
	enum test_reason why;         /* skipped or stopped: why; else REASON_NONE */
	char reason[160];             /* short why, for logs (skips, errors) */
};

/* Set r->why and r->reason to "<test_reason_text(why)>: <detail>". */
void test_result_set_why(struct test_result *r, enum test_reason why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
