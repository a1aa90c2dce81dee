/*
 * job.h - one test iteration: a download, quote or upload through the
 * client, verified, cleaned up and described as a test_result.
 *
 * A job lives on the loop: it spawns the client (see client.h), waits for
 * it, verifies the outcome (MD5 off the loop thread), deletes its temporary
 * data and calls back exactly once with the result. The job frees itself
 * after the callback returns.
 */
#ifndef ANT_JOB_H
#define ANT_JOB_H

#include <stdbool.h>
#include <uv.h>

#include "model.h"

/* Name prefix of a job's temporary directory in CLIENT_DOWNLOAD_PATH; the
 * start-up purge removes what a crash left behind by this prefix. */
#define JOB_TMP_PREFIX "ant-dl-"

struct job;

struct job_spec {
	const struct task *task;       /* type, size, timeout, verify */
	int worker;
	int attempt;
	const struct dl_row *download; /* download: the catalogue row to fetch */
	const struct seed_row *seed;   /* quote/upload: the seed row */
	const char *seed_file;         /* quote/upload: the generated file */
};

typedef void (*job_done_cb)(const struct test_result *r, void *ud);

/* Start one iteration. Returns NULL only on an internal failure, with the
 * reason logged. Guards (free disk, uploads not allowed) do not fail here:
 * they complete the job at once with status ST_SKIPPED and a reason. */
struct job *job_start(uv_loop_t *loop, const struct job_spec *spec, job_done_cb cb, void *ud);
/* Make an iteration ready ahead of its due time: what job_start would do
 * before the client's spawn (checks, disk reservation, temporary
 * directory), nothing recorded. Returns NULL when the kind has nothing to
 * prepare or a check says no: job_start then does it all at the due time
 * and records the outcome. A prepared job is either launched or
 * discarded. */
struct job *job_prepare(uv_loop_t *loop, const struct job_spec *spec);
/* Start a prepared job now: in effect job_start, from the spawn on. */
struct job *job_launch(struct job *j, job_done_cb cb, void *ud);
/* Give up a prepared job: its reservation and temporary directory go. */
void job_discard(struct job *j);

/* Remove the emptied temporary directories kept for later downloads:
 * before the download directory is purged, and at shutdown. */
void job_spares_drop(void);

/* Stop the client: SIGTERM to its process group (force: SIGKILL). The job
 * still completes through its callback: status ST_STOPPED with the reason
 * why when the agent stopped it for its own reasons (why != REASON_NONE),
 * else ST_KILLED. The first reason given sticks. */
void job_terminate(struct job *j, bool force, enum test_reason why);

/* The start functions of the test kinds, named by their rows in kind.c.
 * Each runs one test of its kind for a job that job_start has filled in. */
void job_start_download(struct job *j);
void job_start_quote(struct job *j);
void job_start_upload(struct job *j);
/* Their preparation ahead of the due time (kind.h, prepare and launch). */
int job_prepare_download(struct job *j);
void job_launch_download(struct job *j);
int job_prepare_quote(struct job *j);
void job_launch_quote(struct job *j);

#endif
