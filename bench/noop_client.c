/*
 * noop_client.c - the cheapest possible stand-in for the `ant` client, for
 * measuring what the agent itself costs around each call.
 *
 *   noop_client [GLOBAL FLAGS] file cost FILE
 *   noop_client [GLOBAL FLAGS] file download ADDRESS DEST
 *   noop_client --version
 *
 * It prints the success line the agent looks for and exits 0 at once (or
 * after NOOP_HOLD_MS milliseconds, to keep many calls open at the same
 * time). When NOOP_CLIENT_LOG names a file, it appends one line per call,
 * written with a single write(2) on an O_APPEND descriptor so that
 * concurrent calls never interleave:
 *
 *   OP START_MONO_NS END_MONO_NS START_REAL_NS PID
 *
 * START is taken first thing in main() and END just before exit, both
 * with CLOCK_MONOTONIC; START_REAL_NS is CLOCK_REALTIME at the same point.
 * The gap between one call's END and the next call's START of the same
 * worker is the time the agent spent collecting, classifying and recording
 * the call and spawning the next one. Linked statically (see
 * CMakeLists.txt) so that the dynamic loader's work does not count as the
 * agent's.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOOP_HOLD_MAX_MS 3600000L

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void say(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* A checked, bounded decimal (the value of NOOP_HOLD_MS). */
static long parse_ms(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > NOOP_HOLD_MAX_MS)
		return 0;
	return v;
}

static void hold(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

static void log_call(const char *path, const char *op, int64_t start, int64_t start_real)
{
	char line[160];
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	n = snprintf(line, sizeof(line), "%s %lld %lld %lld %ld\n", op, (long long)start,
		     (long long)now_ns(CLOCK_MONOTONIC), (long long)start_real, (long)getpid());
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	say(fd, line);
	close(fd);
}

int main(int argc, char **argv)
{
	int64_t start = now_ns(CLOCK_MONOTONIC);
	int64_t start_real = now_ns(CLOCK_REALTIME);
	const char *op = "other";
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		say(1, "Autonomi Client v0.3.12-noop\nNetwork version: ant/1.0/1\n");
		return 0;
	}
	/* Global flags come before the subcommand; every one the agent passes
	 * takes a value. */
	while (i < argc && strncmp(argv[i], "--", 2) == 0)
		i += 2;
	hold(parse_ms(getenv("NOOP_HOLD_MS")));
	if (i + 2 < argc && strcmp(argv[i], "file") == 0 && strcmp(argv[i + 1], "cost") == 0) {
		op = "cost";
		say(1, "Total cost: 0.000000000000000003\n");
	} else if (i + 3 < argc && strcmp(argv[i], "file") == 0 &&
		   strcmp(argv[i + 1], "download") == 0) {
		int fd = open(argv[i + 3], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		op = "download";
		if (fd < 0) {
			say(2, "I/O error: cannot create the destination\n");
			return 12;
		}
		say(fd, "noop\n");
		close(fd);
		say(1, "Successfully downloaded data at: ");
		say(1, argv[i + 3]);
		say(1, "\n");
	} else {
		say(2, "noop_client: only `file cost` and `file download`\n");
		return 6;
	}
	log_call(getenv("NOOP_CLIENT_LOG"), op, start, start_real);
	return 0;
}
