/*
 * log.h - levelled log lines in the original agent's format:
 *     DD-MM-YYYY HH:MM:SS - LEVEL - message
 * in UTC schedule time (see clock.h), to stderr and optionally to a file
 * that is reopened on SIGHUP. Registered secrets are masked in every line.
 */
#ifndef ANT_LOG_H
#define ANT_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARNING,
	LOG_ERROR,
	LOG_CRITICAL,
};

/* Level names as printed; parse accepts any case, plus WARN. */
const char *log_level_name(enum log_level l);
int log_level_parse(const char *s, enum log_level *out);

void log_set_level(enum log_level l);
enum log_level log_get_level(void);
/* Console output on or off (on by default, to stderr). */
void log_set_console(int on);
/* Under systemd (JOURNAL_STREAM names the stream that fd is): true. */
bool log_journal_stream_matches(const char *env, int fd);
/* Console lines for the journal: "<N>message", N the syslog priority
 * (7 debug, 6 info, 4 warning, 3 error, 2 critical), no timestamp. The
 * file keeps the full format. */
void log_set_journal(int on);
/* Columns the console puts before a message of level l ("DD-MM-YYYY
 * HH:MM:SS - INFO - "; 0 for the journal), so a table fits beside it. */
size_t log_prefix_width(enum log_level l);
/* Start writing to a file too (NULL stops). Returns 0 or -1 (errno). */
int log_open_file(const char *path);
/* Reopen the file at the same path (after logrotate moved it). */
int log_reopen(void);
void log_close(void);

/* Never print this string: every occurrence is replaced by ****. Strings
 * shorter than 4 characters are ignored (too likely to mask ordinary text). */
void log_add_secret(const char *s);
void log_clear_secrets(void);

/* Tests: receive every formatted line (without the newline). */
typedef void (*log_capture_fn)(enum log_level l, const char *line, void *ud);
void log_set_capture(log_capture_fn fn, void *ud);

void log_msg(enum log_level l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Log a block of text (a table, a status screen) one line at a time. */
void log_text(enum log_level l, const char *text);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_crit(...) log_msg(LOG_CRITICAL, __VA_ARGS__)

#endif
