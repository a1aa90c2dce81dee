/* Log line format, levels, secret masking, file output and reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <regex.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char last[8192];
static int nlines;

static void capture(enum log_level l, const char *line, void *ud)
{
	(void)l;
	(void)ud;
	str_copy(last, line, sizeof(last));
	nlines++;
}

static int setup(void **state)
{
	(void)state;
	log_set_console(0);
	log_set_capture(capture, NULL);
	log_set_level(LOG_DEBUG);
	log_clear_secrets();
	last[0] = '\0';
	nlines = 0;
	return 0;
}

static void test_format(void **state)
{
	regex_t re;

	(void)state;
	/* A fixed virtual time gives an exact timestamp. */
	assert_int_equal(clock_setup(1734333745000LL, 1.0), 0); /* 2024-12-16 07:22:25Z */
	log_info("Found client: %s", "autonomi-cli 0.1.5");
	assert_int_equal(regcomp(&re, "^[0-9]{2}-[0-9]{2}-[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} - INFO - Found client: autonomi-cli 0.1.5$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, last, 0, NULL, 0), 0);
	regfree(&re);
	assert_memory_equal(last, "16-12-2024 07:22:2", 18);
	log_warn("w");
	assert_non_null(strstr(last, " - WARNING - w"));
	log_crit("c");
	assert_non_null(strstr(last, " - CRITICAL - c"));
	clock_setup(-1, 1.0);
}

static void test_levels(void **state)
{
	enum log_level l;

	(void)state;
	log_set_level(LOG_WARNING);
	log_info("hidden");
	log_debug("hidden");
	assert_int_equal(nlines, 0);
	log_error("shown");
	assert_int_equal(nlines, 1);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARNING);
	assert_int_equal(log_level_parse("Critical", &l), 0);
	assert_int_equal(l, LOG_CRITICAL);
	assert_int_equal(log_level_parse("verbose", &l), -1);
}

static void test_secrets_and_newlines(void **state)
{
	(void)state;
	log_add_secret("s3cr3t-key-value");
	log_add_secret("abc"); /* too short to mask */
	log_info("key=%s and again s3cr3t-key-value; abc", "s3cr3t-key-value");
	assert_null(strstr(last, "s3cr3t"));
	assert_non_null(strstr(last, "key=**** and again ****; abc"));
	log_info("two\nlines\rhere");
	assert_null(strchr(last, '\n'));
	assert_non_null(strstr(last, "two lines here"));
}

static void test_terminal_escapes(void **state)
{
	(void)state;
	log_warn("server says: %s", "\x1b]0;owned\x07\x1b[2J\x9b" "31mOFF \xc2\x9d" "0;x caf\xc3\xa9");
	assert_null(strchr(last, 0x1b));
	assert_null(strchr(last, 0x07));
	assert_null(strchr(last, (char)0x9b));
	assert_null(strstr(last, "\xc2\x9d"));
	assert_non_null(strstr(last, "server says: ?]0;owned??[2J?31mOFF ?0;x caf\xc3\xa9"));
}

static void test_file_and_reopen(void **state)
{
	char path[] = "/tmp/ant-test-log-XXXXXX";
	char moved[64];
	struct buf b;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open_file(path), 0);
	log_info("first line");
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(rename(path, moved), 0);
	log_info("second line"); /* still into the moved file */
	assert_int_equal(log_reopen(), 0);
	log_info("third line");
	log_close();
	assert_int_equal(file_read_all(moved, 1 << 20, &b), 0);
	assert_non_null(strstr(b.data, "first line\n"));
	assert_non_null(strstr(b.data, "second line\n"));
	assert_null(strstr(b.data, "third line"));
	buf_free(&b);
	assert_int_equal(file_read_all(path, 1 << 20, &b), 0);
	assert_non_null(strstr(b.data, " - INFO - third line\n"));
	buf_free(&b);
	unlink(path);
	unlink(moved);
}

static void test_text_block(void **state)
{
	(void)state;
	log_text(LOG_INFO, "+---+\n| a |\n+---+\n");
	assert_int_equal(nlines, 3);
	assert_non_null(strstr(last, " - INFO - +---+"));
	log_text(LOG_INFO, "no newline at the end");
	assert_int_equal(nlines, 4);
	assert_non_null(strstr(last, " - INFO - no newline at the end"));
	log_text(LOG_INFO, "");
	assert_int_equal(nlines, 4);
}

/* JOURNAL_STREAM names the stream by device and inode: only that stream
 * is the journal. */
static void test_journal_stream_detection(void **state)
{
	char path[] = "/tmp/ant-test-journal-XXXXXX";
	char env[64];
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_true(log_journal_stream_matches(env, fd));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_false(log_journal_stream_matches(env, fd));
	assert_false(log_journal_stream_matches(NULL, fd));
	assert_false(log_journal_stream_matches("", fd));
	assert_false(log_journal_stream_matches("12", fd));
	assert_false(log_journal_stream_matches("1:2x", fd));
	assert_false(log_journal_stream_matches(":", fd));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_false(log_journal_stream_matches(env, -1));
	close(fd);
	unlink(path);
}

/* Under the journal: "<priority>message", no timestamp, no level word;
 * the log file keeps the full format. */
static void test_journal_format(void **state)
{
	char path[] = "/tmp/ant-test-journal-XXXXXX";
	char fpath[] = "/tmp/ant-test-logfile-XXXXXX";
	struct buf b, fb;
	int fd = mkstemp(path), ffd = mkstemp(fpath);
	int saved = dup(STDERR_FILENO);

	(void)state;
	assert_true(fd >= 0 && ffd >= 0 && saved >= 0);
	close(ffd);
	assert_int_equal(log_open_file(fpath), 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_set_console(1);
	log_set_journal(1);
	assert_int_equal(log_prefix_width(LOG_INFO), 0);
	log_debug("d %d", 1);
	log_info("i");
	log_warn("w");
	log_error("e");
	log_crit("c\nforged");
	log_set_journal(0);
	assert_int_equal(log_prefix_width(LOG_INFO), strlen("01-01-2026 10:00:00 - INFO - "));
	assert_int_equal(log_prefix_width(LOG_WARNING), strlen("01-01-2026 10:00:00 - WARNING - "));
	log_info("plain");
	log_set_console(0);
	log_close();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	assert_int_equal(file_read_all(path, 4096, &b), 0);
	assert_int_equal(strncmp(b.data, "<7>d 1\n<6>i\n<4>w\n<3>e\n<2>c forged\n", 34), 0);
	/* Off again: the usual format. */
	assert_non_null(strstr(b.data + 34, " - INFO - plain\n"));
	assert_int_equal(file_read_all(fpath, 4096, &fb), 0);
	assert_non_null(strstr(fb.data, " - ERROR - e\n"));
	assert_null(strstr(fb.data, "<3>"));
	buf_free(&b);
	buf_free(&fb);
	unlink(path);
	unlink(fpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_format, setup),
		cmocka_unit_test_setup(test_levels, setup),
		cmocka_unit_test_setup(test_secrets_and_newlines, setup),
		cmocka_unit_test_setup(test_terminal_escapes, setup),
		cmocka_unit_test_setup(test_file_and_reopen, setup),
		cmocka_unit_test_setup(test_text_block, setup),
		cmocka_unit_test_setup(test_journal_stream_detection, setup),
		cmocka_unit_test_setup(test_journal_format, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
