/*
 * status.h - "what is my agent doing?": the status file the running agent
 * keeps in CACHE_DIR, and `ant-agent status`, which reads it.
 *
 * The file is one JSON object (format "ant-agent-status"), replaced
 * atomically every minute and shortly after anything it shows changes, and
 * once more, marked stopped, when the agent stops. It names the writer's
 * pid and that process's start time, so a reader can tell a live agent from
 * a file left by one that was killed, even when the pid has been reused.
 */
#ifndef ANT_STATUS_H
#define ANT_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define STATUS_FILE_NAME "status.json"
#define STATUS_FORMAT "ant-agent-status"
#define STATUS_VERSION 1
#define STATUS_MAX_BYTES (1024 * 1024)

/* A process's start time in clock ticks after boot (field 22 of
 * /proc/PID/stat); 0 when it cannot be read (no such process). */
uint64_t status_proc_start(pid_t pid);
/* Pure: the start time from the text of /proc/PID/stat; 0 if malformed. */
uint64_t status_parse_proc_stat(const char *text, size_t len);
/* Is the writer (pid, start time as recorded; 0 = unknown) alive? */
bool status_writer_alive(pid_t pid, uint64_t proc_start);

/* Write the document atomically (mode 0644: the status holds no secret,
 * and an operator may read it as another user). Returns 0 or -1 (errno). */
int status_write(const char *path, json_t *doc);

/* Is the agent that wrote doc running now? (stopped flag, pid, start time) */
bool status_doc_running(json_t *doc);
/* Print the one-screen status: the one text view of the model, used by
 * `ant-agent status`, the console and SIGUSR1. Every string and key of doc
 * is first made safe for a terminal (doc is changed in place). now_real_ms
 * is the wall clock, for ages. */
void status_print(FILE *out, json_t *doc, bool running, int64_t now_real_ms);

#endif
