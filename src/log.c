/*
 * log.c - formatting, secret masking and the two sinks (console, file).
 *
 * Each line is built whole in memory and written with one write(2) so that
 * lines from the agent never interleave mid-line in a shared file.
 */
#include "log.h"
#include "clock.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_SECRETS_MAX 16

static const char *const level_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
};

/* syslog priorities for the journal's "<N>" line prefix (sd-daemon(3)). */
static const int journal_prio[] = { 7, 6, 4, 3, 2 };

static struct {
	enum log_level level;
	int console;
	int journal;
	int fd;
	char *path;
	char *secrets[LOG_SECRETS_MAX];
	size_t nsecrets;
	log_capture_fn capture;
	void *capture_ud;
} g_log = { LOG_INFO, 1, 0, -1, NULL, { NULL }, 0, NULL, NULL };

const char *log_level_name(enum log_level l)
{
	if ((unsigned)l >= ARRAY_SIZE(level_names))
		return "?";
	return level_names[l];
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (str_ieq(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (str_ieq(s, "WARN")) {
		*out = LOG_WARNING;
		return 0;
	}
	return -1;
}

void log_set_level(enum log_level l)
{
	g_log.level = l;
}

enum log_level log_get_level(void)
{
	return g_log.level;
}

void log_set_console(int on)
{
	g_log.console = on;
}

bool log_journal_stream_matches(const char *env, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected
	 * to stdout/stderr; a child whose stderr was redirected elsewhere
	 * inherits the variable but not the stream. */
	if (env == NULL || *env == '\0')
		return false;
	errno = 0;
	dev = strtoull(env, &end, 10);
	if (errno != 0 || end == env || *end != ':')
		return false;
	env = end + 1;
	ino = strtoull(env, &end, 10);
	if (errno != 0 || end == env || *end != '\0')
		return false;
	if (fstat(fd, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_journal(int on)
{
	g_log.journal = on;
}

size_t log_prefix_width(enum log_level l)
{
	char ts[32];

	if (g_log.journal)
		return 0;
	clock_format_log(0, ts, sizeof(ts));
	return strlen(ts) + strlen(" -  - ") + strlen(log_level_name(l));
}

int log_open_file(const char *path)
{
	int fd;

	if (path == NULL) {
		log_close();
		return 0;
	}
	fd = file_open_own(path, O_WRONLY | O_APPEND, 0640);
	if (fd < 0)
		return -1;
	log_close();
	g_log.fd = fd;
	g_log.path = xstrdup(path);
	return 0;
}

int log_reopen(void)
{
	char *path;
	int rc;

	if (g_log.path == NULL)
		return 0;
	path = xstrdup(g_log.path);
	rc = log_open_file(path);
	free(path);
	return rc;
}

void log_close(void)
{
	if (g_log.fd >= 0)
		close(g_log.fd);
	g_log.fd = -1;
	free(g_log.path);
	g_log.path = NULL;
}

void log_add_secret(const char *s)
{
	if (s == NULL || strlen(s) < 4 || g_log.nsecrets == LOG_SECRETS_MAX)
		return;
	for (size_t i = 0; i < g_log.nsecrets; i++)
		if (strcmp(g_log.secrets[i], s) == 0)
			return;
	g_log.secrets[g_log.nsecrets++] = xstrdup(s);
}

void log_clear_secrets(void)
{
	for (size_t i = 0; i < g_log.nsecrets; i++)
		free(g_log.secrets[i]);
	g_log.nsecrets = 0;
}

void log_set_capture(log_capture_fn fn, void *ud)
{
	g_log.capture = fn;
	g_log.capture_ud = ud;
}

/* Replace every registered secret in line (in place; **** is never longer
 * than a secret of 4 or more characters). */
static void mask_secrets(char *line)
{
	for (size_t i = 0; i < g_log.nsecrets; i++) {
		const char *sec = g_log.secrets[i];
		size_t n = strlen(sec);
		char *p;

		while ((p = strstr(line, sec)) != NULL) {
			memcpy(p, "****", 4);
			memmove(p + 4, p + n, strlen(p + n) + 1);
		}
	}
}

/* Credentials inside URLs (user:pass@, ?token=) never reach a log line,
 * whoever formatted the URL into it. */
static void mask_line_urls(char *line, size_t from)
{
	char masked[LOG_LINE_MAX];

	if (strstr(line + from, "://") == NULL)
		return;
	str_mask_urls(line + from, masked, sizeof(masked) - from - 1);
	memcpy(line + from, masked, strlen(masked) + 1);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	char ts[32];
	va_list ap;
	int n;
	size_t len;

	if (l < g_log.level)
		return;
	clock_format_log(clock_now_ms(), ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s - %s - ", ts, log_level_name(l));
	if (n < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* A message never spans lines: embedded newlines would let outside
	 * text forge log lines. */
	for (char *p = line + n; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* Nor does it carry a terminal escape (title, clear screen, cursor
	 * moves): outside text is shown, never obeyed. */
	str_sanitize_terminal(line + n, false);
	mask_line_urls(line, (size_t)n);
	mask_secrets(line);
	if (g_log.capture)
		g_log.capture(l, line, g_log.capture_ud);
	len = strlen(line);
	line[len++] = '\n';
	if (g_log.console && g_log.journal) {
		/* The journal stamps each line itself: a priority, no time. */
		char jline[LOG_LINE_MAX + 8];
		int jn = snprintf(jline, sizeof(jline), "<%d>%.*s", journal_prio[l],
				  (int)(len - (size_t)n), line + n);

		if (jn > 0)
			(void)fd_write_all(STDERR_FILENO, jline,
					   (size_t)jn < sizeof(jline) ? (size_t)jn : sizeof(jline) - 1);
	} else if (g_log.console) {
		(void)fd_write_all(STDERR_FILENO, line, len);
	}
	if (g_log.fd >= 0)
		(void)fd_write_all(g_log.fd, line, len);
}

void log_text(enum log_level l, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int n = nl ? (int)(nl - text) : (int)strlen(text);

		log_msg(l, "%.*s", n, text);
		text = nl ? nl + 1 : NULL;
	}
}
