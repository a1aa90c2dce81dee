/* The control file parser and its rules, over the real upstream files and
 * every kind of bad input: empty, not XML, truncated, billion laughs,
 * external entities, missing elements, bad numbers, duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "control.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct control_limits lim;

static int parse(const char *xml, struct control_result *r)
{
	return control_parse(xml, strlen(xml), &lim, r);
}

/* The problem about task ref (or "" for any) whose message contains s. */
static const struct control_problem *find(const struct control_result *r, const char *task,
					  const char *s)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if ((task == NULL || strcmp(r->problems[i].task, task) == 0) &&
		    strstr(r->problems[i].message, s))
			return &r->problems[i];
	return NULL;
}

static void dump(const struct control_result *r)
{
	char line[400];

	for (size_t i = 0; i < r->nproblems; i++) {
		control_problem_format(&r->problems[i], line, sizeof(line));
		fprintf(stderr, "  problem: %s\n", line);
	}
}

#define TASK(ref, period, type, opts) \
	"<Task><TaskRef>" ref "</TaskRef><Description>d</Description><TimePeriod>" period \
	"</TimePeriod><TimeOffset>0</TimeOffset><TestType>" type "</TestType><TestOptions>" opts \
	"</TestOptions></Task>\n"
#define SIZE_OPT "<Option key=\"filesize\" value=\"tiny\"/>"

static int setup(void **state)
{
	(void)state;
	control_limits_default(&lim);
	return 0;
}

static void test_upstream_files(void **state)
{
	struct control_result r;
	struct buf b;

	(void)state;
	assert_int_equal(file_read_all(ANT_FIXTURES_DIR "/upstream/00-control-2025-01-02.xml",
				       CONTROL_MAX_BYTES, &b), 0);
	assert_int_equal(control_parse(b.data, b.len, &lim, &r), 0);
	dump(&r);
	assert_int_equal(r.ntasks, 8);
	assert_int_equal(r.rejected, 0);
	assert_int_equal(r.nproblems, 0);
	assert_int_equal(r.tasks[0].ref, 1);
	assert_string_equal(r.tasks[0].ref_text, "001");
	assert_int_equal(r.tasks[0].period, 5);
	assert_int_equal(r.tasks[0].type, TEST_DOWNLOAD);
	assert_int_equal(r.tasks[0].size, SIZE_MEDIUM);
	assert_int_equal(r.tasks[0].workers, 2);
	assert_int_equal(r.tasks[0].offset_mins, 1);
	assert_false(r.tasks[0].repeat);
	assert_int_equal(r.tasks[0].timeout_secs, 60);
	assert_int_equal(r.tasks[0].retry, 3);
	assert_string_equal(r.tasks[0].description, "Download a medium file from network");
	assert_int_equal(r.tasks[5].type, TEST_QUOTE);   /* "quote" in lower case */
	assert_int_equal(r.tasks[5].offset_mins, 0);     /* "false" */
	assert_int_equal(r.tasks[7].size, SIZE_HUGE);
	control_result_free(&r);
	buf_free(&b);

	assert_int_equal(file_read_all(ANT_FIXTURES_DIR "/upstream/00-control.xml",
				       CONTROL_MAX_BYTES, &b), 0);
	assert_int_equal(control_parse(b.data, b.len, &lim, &r), 0);
	assert_int_equal(r.ntasks, 1);
	assert_int_equal(r.tasks[0].ref, 99);
	assert_int_equal(r.tasks[0].period, 30);
	control_result_free(&r);
	buf_free(&b);
}

static void expect_unusable(const char *xml, size_t len, const char *msg)
{
	struct control_result r;

	assert_int_equal(control_parse(xml, len, &lim, &r), -1);
	assert_true(r.failed);
	assert_int_equal(r.ntasks, 0);
	assert_null(r.tasks);
	assert_int_equal(r.nproblems, 1);
	assert_int_equal(r.problems[0].severity, CONTROL_ERROR);
	if (strstr(r.problems[0].message, msg) == NULL)
		fail_msg("'%s' does not say '%s'", r.problems[0].message, msg);
	control_result_free(&r);
}

static void test_unusable_documents(void **state)
{
	static const char truncated[] = "<Schedule>" TASK("001", "5", "download", SIZE_OPT) "<Task><TaskRef>0";
	struct control_result r;

	(void)state;
	expect_unusable("", 0, "empty");
	expect_unusable("   \n", 4, "no element found");
	expect_unusable("fileSize,name,address,md5\n", 26, "not well-formed XML at line 1, column 1");
	expect_unusable("{\"json\": true}", 14, "not well-formed");
	/* Valid tasks before the cut do not survive: never half a plan. */
	expect_unusable(truncated, strlen(truncated), "not well-formed XML at line 2");
	expect_unusable("<Schedule><Task></Schedule>", 27, "mismatched tag");
	expect_unusable("<Tasks><Task/></Tasks>", 22, "root element is <Tasks>");
	expect_unusable("<Schedule/>\0<x>", 15, "not well-formed");
	expect_unusable("<Schedule>" TASK("001", "5", "download", SIZE_OPT) "</Schedule><Schedule/>",
			strlen("<Schedule>" TASK("001", "5", "download", SIZE_OPT) "</Schedule><Schedule/>"),
			"junk after document element");

	/* Larger than the cap: refused before parsing. */
	{
		size_t n = CONTROL_MAX_BYTES + 1;
		char *big = xmalloc(n);

		memset(big, ' ', n);
		expect_unusable(big, n, "larger than the 1 MiB limit");
		free(big);
	}

	/* An empty schedule is valid, with a warning. */
	assert_int_equal(parse("<Schedule>\n</Schedule>", &r), 0);
	assert_int_equal(r.ntasks, 0);
	assert_non_null(find(&r, NULL, "lists no tasks"));
	control_result_free(&r);
}

static void test_entities_refused(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<Schedule><Task><TaskRef>001</TaskRef><Description>&lol9;</Description></Task></Schedule>\n";
	static const char xxe[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE Schedule [ <!ENTITY x SYSTEM \"file:///etc/passwd\"> ]>\n"
		"<Schedule>" TASK("001", "5", "download", SIZE_OPT) "<Task><Description>&x;</Description></Task></Schedule>";
	static const char undefined[] = "<Schedule><Task><Description>&nope;</Description></Task></Schedule>";
	static const char external_dtd[] =
		"<!DOCTYPE Schedule SYSTEM \"http://127.0.0.1:1/evil.dtd\">\n<Schedule/>";
	struct control_result r;

	(void)state;
	assert_int_equal(parse(laughs, &r), -1);
	assert_int_equal(r.ntasks, 0);
	assert_non_null(find(&r, NULL, "DOCTYPE is not allowed"));
	assert_int_equal(r.problems[0].line, 2);
	control_result_free(&r);

	assert_int_equal(parse(xxe, &r), -1);
	assert_non_null(find(&r, NULL, "DOCTYPE is not allowed"));
	control_result_free(&r);

	assert_int_equal(parse(external_dtd, &r), -1);
	assert_non_null(find(&r, NULL, "DOCTYPE is not allowed"));
	control_result_free(&r);

	assert_int_equal(parse(undefined, &r), -1);
	assert_non_null(find(&r, NULL, "undefined entity"));
	control_result_free(&r);

	/* The five predefined entities are plain text, not declarations. */
	assert_int_equal(parse("<Schedule><Task><TaskRef>007</TaskRef><Description>Tom &amp; Jerry &lt;3</Description>"
			       "<TimePeriod>7</TimePeriod><TestType>Quote</TestType><TestOptions>" SIZE_OPT
			       "</TestOptions></Task></Schedule>", &r), 0);
	assert_int_equal(r.ntasks, 1);
	assert_string_equal(r.tasks[0].description, "Tom & Jerry <3");
	control_result_free(&r);
}

static void test_missing_elements(void **state)
{
	static const char xml[] =
		"<Schedule>\n"
		"<Task><Description>no ref</Description><TimePeriod>5</TimePeriod><TestType>download</TestType>"
		"<TestOptions>" SIZE_OPT "</TestOptions></Task>\n"
		"<Task><TaskRef>002</TaskRef><TestType>download</TestType><TestOptions>" SIZE_OPT "</TestOptions></Task>\n"
		"<Task><TaskRef>003</TaskRef><TimePeriod>7</TimePeriod><TestOptions>" SIZE_OPT "</TestOptions></Task>\n"
		"<Task><TaskRef>004</TaskRef><TimePeriod>8</TimePeriod><TestType>quote</TestType></Task>\n"
		"<Task><TaskRef>005</TaskRef><TimePeriod>9</TimePeriod><TestType>quote</TestType>"
		"<TestOptions>" SIZE_OPT "</TestOptions></Task>\n"
		"</Schedule>\n";
	struct control_result r;
	const struct control_problem *p;

	(void)state;
	assert_int_equal(parse(xml, &r), 0);
	dump(&r);
	assert_int_equal(r.tasks_seen, 5);
	assert_int_equal(r.rejected, 4);
	assert_int_equal(r.ntasks, 1);
	assert_int_equal(r.tasks[0].ref, 5);
	/* Defaults of everything left out. */
	assert_int_equal(r.tasks[0].workers, 1);
	assert_int_equal(r.tasks[0].time_offset, 0);
	assert_int_equal(r.tasks[0].offset_mins, 0);
	assert_false(r.tasks[0].repeat);
	assert_int_equal(r.tasks[0].timeout_secs, CONTROL_TIMEOUT_DEFAULT);
	assert_int_equal(r.tasks[0].retry, CONTROL_RETRY_DEFAULT);
	assert_string_equal(r.tasks[0].description, "");

	p = find(&r, "", "no <TaskRef>");
	assert_non_null(p);
	assert_int_equal(p->line, 2); /* a task without a ref is named by its line */
	assert_int_equal(p->severity, CONTROL_REJECTED);
	p = find(&r, "002", "no <TimePeriod>");
	assert_non_null(p);
	assert_string_equal(p->field, "TimePeriod");
	assert_non_null(find(&r, "003", "no <TestType>"));
	p = find(&r, "004", "no filesize option");
	assert_non_null(p);
	assert_string_equal(p->field, "option filesize");
	control_result_free(&r);
}

static void test_bad_numbers(void **state)
{
	static const char xml[] =
		"<Schedule>\n"
		TASK("001", "five", "download", SIZE_OPT)
		TASK("002", "-5", "download", SIZE_OPT)
		TASK("003", "60", "download", SIZE_OPT)
		TASK("004", "4", "download", SIZE_OPT)
		TASK("1234", "10", "download", SIZE_OPT)
		TASK("0x1", "11", "download", SIZE_OPT)
		TASK("012", "12", "download", SIZE_OPT "<Option key=\"workers\" value=\"-2\"/>")
		TASK("013", "13", "download", SIZE_OPT "<Option key=\"workers\" value=\"0\"/>")
		TASK("014", "14", "download", SIZE_OPT "<Option key=\"timeout\" value=\"0\"/>")
		TASK("015", "15", "download", SIZE_OPT "<Option key=\"timeout\" value=\"1e3\"/>")
		TASK("016", "16", "download", SIZE_OPT "<Option key=\"retry\" value=\"11\"/>")
		TASK("017", "17", "download", SIZE_OPT "<Option key=\"offset\" value=\"6\"/>")
		TASK("018", "18", "download", SIZE_OPT "<Option key=\"repeat\" value=\"sometimes\"/>")
		TASK("019", "19", "teleport", SIZE_OPT)
		TASK("020", "20", "download", "<Option key=\"filesize\" value=\"enormous\"/>")
		"<Task><TaskRef>021</TaskRef><TimePeriod>21</TimePeriod><TimeOffset>-1</TimeOffset>"
		"<TestType>download</TestType><TestOptions>" SIZE_OPT "</TestOptions></Task>\n"
		"<Task><TaskRef>022</TaskRef><TimePeriod>22</TimePeriod><TimeOffset>9</TimeOffset>"
		"<TestType>download</TestType><TestOptions>" SIZE_OPT "</TestOptions></Task>\n"
		TASK("023", " 23 ", "DOWNLOAD", SIZE_OPT)
		"</Schedule>\n";
	struct control_result r;
	const struct control_problem *p;

	(void)state;
	assert_int_equal(parse(xml, &r), 0);
	dump(&r);
	assert_int_equal(r.tasks_seen, 18);
	assert_int_equal(r.ntasks, 1);
	assert_int_equal(r.tasks[0].ref, 23);
	assert_int_equal(r.tasks[0].period, 23);
	assert_int_equal(r.rejected, 17);
	p = find(&r, "001", "TimePeriod 'five' is not a whole number");
	assert_non_null(p);
	assert_string_equal(p->field, "TimePeriod");
	assert_int_equal(p->line, 2);
	assert_non_null(find(&r, "002", "TimePeriod -5 is outside 5..54"));
	assert_non_null(find(&r, "003", "TimePeriod 60 is outside 5..54"));
	assert_non_null(find(&r, "004", "TimePeriod 4 is outside 5..54"));
	assert_non_null(find(&r, "", "TaskRef '1234' must be 1 to 3 digits"));
	assert_non_null(find(&r, "", "TaskRef '0x1' must be 1 to 3 digits"));
	assert_non_null(find(&r, "012", "option workers '-2' must be a whole number 1.."));
	assert_non_null(find(&r, "013", "option workers '0'"));
	assert_non_null(find(&r, "014", "option timeout (seconds) '0' must be a whole number 1..3600"));
	assert_non_null(find(&r, "015", "option timeout (seconds) '1e3'"));
	assert_non_null(find(&r, "016", "option retry '11' must be a whole number 0..10"));
	assert_non_null(find(&r, "017", "option offset '6' must be false or a number of minutes 0..5"));
	assert_non_null(find(&r, "018", "option repeat 'sometimes' must be true or false"));
	assert_non_null(find(&r, "019", "TestType 'teleport' is not download, quote or upload"));
	assert_non_null(find(&r, "020", "option filesize 'enormous' is not a size class"));
	assert_non_null(find(&r, "021", "TimeOffset -1 is outside 0..5"));
	assert_non_null(find(&r, "022", "TimeOffset 9 is outside 0..5"));
	control_result_free(&r);
}

static void test_duplicates(void **state)
{
	static const char xml[] =
		"<Schedule>\n"
		TASK("001", "5", "download", SIZE_OPT)
		TASK("001", "6", "download", SIZE_OPT)
		TASK("1", "7", "download", SIZE_OPT)
		TASK("002", "5", "quote", SIZE_OPT)
		TASK("003", "abc", "quote", SIZE_OPT)
		TASK("004", "8", "quote", SIZE_OPT)
		"</Schedule>\n";
	struct control_result r;

	(void)state;
	assert_int_equal(parse(xml, &r), 0);
	dump(&r);
	/* A repeated TaskRef is a warning: the repeats run under their own
	 * key and letter; one task per minute still holds. */
	assert_int_equal(r.ntasks, 4);
	assert_int_equal(r.tasks[0].ref, 1);
	assert_string_equal(r.tasks[0].ref_text, "001");
	assert_int_equal(r.tasks[1].ref, 1001);
	assert_string_equal(r.tasks[1].ref_text, "001b");
	assert_int_equal(r.tasks[1].period, 6);
	assert_int_equal(r.tasks[2].ref, 2001);
	assert_string_equal(r.tasks[2].ref_text, "001c"); /* 1 and 001 are the same */
	assert_int_equal(r.tasks[3].ref, 4);
	assert_int_equal(r.rejected, 2);
	assert_int_equal(r.warnings, 2);
	const struct control_problem *p =
		find(&r, "001b", "TaskRef 001 is already used by the task on line 2; this task runs as 001b");
	assert_non_null(p);
	assert_int_equal(p->severity, CONTROL_WARNING);
	assert_non_null(find(&r, "001c", "TaskRef 1 is already used by the task on line 2; this task runs as 001c"));
	assert_non_null(find(&r, "002", "TimePeriod 5 is already taken by task 001; one task per minute"));
	control_result_free(&r);
}

/* The real fleet file with its task 012 given TaskRef 011 by mistake:
 * all eight tasks load, the second 011 as 011b. */
static void test_duplicate_upstream(void **state)
{
	struct control_result r;
	struct buf b;
	char *at;
	size_t i, seen = 0;

	(void)state;
	assert_int_equal(file_read_all(ANT_FIXTURES_DIR "/upstream/00-control-2025-01-02.xml",
				       CONTROL_MAX_BYTES, &b), 0);
	at = strstr(b.data, "<TaskRef>012</TaskRef>");
	assert_non_null(at);
	at[11] = '1';
	assert_int_equal(control_parse(b.data, b.len, &lim, &r), 0);
	dump(&r);
	assert_int_equal(r.ntasks, 8);
	assert_int_equal(r.rejected, 0);
	assert_int_equal(r.warnings, 1);
	for (i = 0; i < r.ntasks; i++)
		if (r.tasks[i].ref % 1000 == 11)
			seen |= r.tasks[i].ref == 11 ? 1u : r.tasks[i].ref == 1011 ? 2u : 4u;
	assert_int_equal(seen, 3);
	assert_string_equal(r.tasks[7].ref_text, "011b");
	assert_non_null(find(&r, "011b", "runs as 011b"));
	control_result_free(&r);
	buf_free(&b);
}

/* More repeats than letters: the rest are rejected, never wrapped. */
static void test_duplicate_cap(void **state)
{
	char xml[16384];
	size_t off = 0;
	struct control_result r;

	(void)state;
	off += (size_t)snprintf(xml + off, sizeof(xml) - off, "<Schedule>\n");
	for (int m = 5; m < 5 + TASK_REF_COPIES_MAX + 2; m++)
		off += (size_t)snprintf(xml + off, sizeof(xml) - off,
					"<Task><TaskRef>042</TaskRef><TimePeriod>%d</TimePeriod>"
					"<TestType>quote</TestType><TestOptions>" SIZE_OPT "</TestOptions></Task>\n", m);
	snprintf(xml + off, sizeof(xml) - off, "</Schedule>\n");
	assert_int_equal(parse(xml, &r), 0);
	assert_int_equal(r.ntasks, TASK_REF_COPIES_MAX + 1);
	assert_string_equal(r.tasks[TASK_REF_COPIES_MAX].ref_text, "042z");
	assert_int_equal(r.tasks[TASK_REF_COPIES_MAX].ref, TASK_KEY_MAX - 999 + 42);
	assert_int_equal(r.rejected, 1);
	assert_non_null(find(&r, "042", "used more than 26 times"));
	control_result_free(&r);
}

static void test_caps_and_warnings(void **state)
{
	static const char xml[] =
		"<Schedule>\n"
		"<Task><TaskRef>001</TaskRef><TimePeriod>54</TimePeriod><TimeOffset>5</TimeOffset>"
		"<TestType>Upload</TestType><TestOptions>"
		"<Option key=\"FileSize\" value=\"Small\"/>"
		"<Option key=\"workers\" value=\"50\"/>"
		"<Option key=\"offset\" value=\"5\"/>"
		"<Option key=\"repeat\" value=\"yes\"/>"
		"<Option key=\"verify\" value=\"true\"/>"
		"<Option key=\"colour\" value=\"blue\"/>"
		"<Option key=\"retry\" value=\"1\"/><Option key=\"retry\" value=\"2\"/>"
		"<Option value=\"lonely\"/>"
		"</TestOptions><Extra>x</Extra></Task>\n"
		"<Note>hello</Note>\n"
		"</Schedule>\n";
	struct control_limits small = { 4, 2, 3 };
	struct control_result r;

	(void)state;
	assert_int_equal(control_parse(xml, strlen(xml), &small, &r), 0);
	dump(&r);
	assert_int_equal(r.ntasks, 1);
	assert_int_equal(r.rejected, 0);
	assert_int_equal(r.tasks[0].type, TEST_UPLOAD);
	assert_int_equal(r.tasks[0].size, SIZE_SMALL);
	assert_int_equal(r.tasks[0].workers, 4);
	assert_int_equal(r.tasks[0].workers_asked, 50);
	assert_int_equal(r.tasks[0].time_offset, 2);
	assert_int_equal(r.tasks[0].offset_mins, 3);
	assert_true(r.tasks[0].repeat);
	assert_true(r.tasks[0].verify);
	assert_int_equal(r.tasks[0].retry, 2);
	assert_non_null(find(&r, "001", "capped to 4 (MAX_WORKERS)"));
	assert_non_null(find(&r, "001", "capped to 2 (DOWNLOAD_OFFSET_MAX_MINS)"));
	assert_non_null(find(&r, "001", "capped to 3 (CLIENT_MAX_OFFSET)"));
	assert_non_null(find(&r, "001", "unknown option 'colour' ignored"));
	assert_non_null(find(&r, "001", "option 'retry' is given more than once"));
	assert_non_null(find(&r, "001", "may start as late as :56"));
	assert_non_null(find(&r, NULL, "needs both key"));
	assert_non_null(find(&r, NULL, "unknown element <Extra>"));
	assert_non_null(find(&r, NULL, "unknown element <Note>"));
	for (size_t i = 0; i < r.nproblems; i++)
		assert_int_equal(r.problems[i].severity, CONTROL_WARNING);
	assert_int_equal(r.warnings, r.nproblems);
	control_result_free(&r);
}

static void test_description(void **state)
{
	char xml[4096], desc[400];
	struct control_result r;

	(void)state;
	/* 150 characters, two-byte UTF-8 letters after the first 99 bytes,
	 * so the cut must not split one; line breaks and tabs become spaces. */
	memset(desc, 'a', 99);
	desc[99] = '\0';
	for (int i = 0; i < 25; i++)
		strcat(desc, "\xc3\xa9");
	snprintf(xml, sizeof(xml),
		 "<Schedule><Task><TaskRef>9</TaskRef><Description>\n  %s </Description>"
		 "<TimePeriod>9</TimePeriod><TestType>quote</TestType><TestOptions>" SIZE_OPT
		 "</TestOptions></Task><Task><TaskRef>10</TaskRef><Description>two\n\tlines</Description>"
		 "<TimePeriod>10</TimePeriod><TestType>quote</TestType><TestOptions>" SIZE_OPT
		 "</TestOptions></Task></Schedule>", desc);
	assert_int_equal(parse(xml, &r), 0);
	assert_int_equal(r.ntasks, 2);
	assert_int_equal(strlen(r.tasks[0].description), 99);
	assert_non_null(find(&r, "9", "longer than 100 characters; it was cut"));
	assert_string_equal(r.tasks[1].description, "two lines");
	assert_string_equal(r.tasks[1].ref_text, "10");
	control_result_free(&r);
}

static void test_table(void **state)
{
	struct control_result r;
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_int_equal(parse("<Schedule>"
			       "<Task><TaskRef>001</TaskRef><Description>Download a tiny file</Description>"
			       "<TimePeriod>5</TimePeriod><TimeOffset>2</TimeOffset><TestType>download</TestType>"
			       "<TestOptions>" SIZE_OPT "<Option key=\"workers\" value=\"5\"/></TestOptions></Task>"
			       "</Schedule>", &r), 0);
	f = open_memstream(&text, &n);
	control_print_table(f, r.tasks, r.ntasks);
	fclose(f);
	/* At most 80 columns: the description wraps in its column. */
	assert_string_equal(text,
		"+------+------+--------+--------+--------+----------+------+-------------------+\n"
		"| Task | Mins | Worker | Repeat | Offset | Type     | Size | Description       |\n"
		"+======+======+========+========+========+==========+======+===================+\n"
		"| 001  | 5..7 | 5      | false  | 0      | Download | tiny | Download a tiny   |\n"
		"|      |      |        |        |        |          |      | file              |\n"
		"+------+------+--------+--------+--------+----------+------+-------------------+\n");
	free(text);
	/* Room to spare: one line per task, as wide as it needs. */
	f = open_memstream(&text, &n);
	control_print_table_width(f, r.tasks, r.ntasks, 100);
	fclose(f);
	assert_string_equal(text,
		"+------+------+--------+--------+--------+----------+------+----------------------+\n"
		"| Task | Mins | Worker | Repeat | Offset | Type     | Size | Description          |\n"
		"+======+======+========+========+========+==========+======+======================+\n"
		"| 001  | 5..7 | 5      | false  | 0      | Download | tiny | Download a tiny file |\n"
		"+------+------+--------+--------+--------+----------+------+----------------------+\n");
	free(text);
	/* Beside a log line's timestamp: no boxes, short headings. */
	f = open_memstream(&text, &n);
	control_print_table_width(f, r.tasks, r.ntasks, 51);
	fclose(f);
	assert_string_equal(text,
		"Task Mins Wkrs Rep   Off Type     Size Description\n"
		"001  5..7 5    false 0   Download tiny Download a\n"
		"                                       tiny file\n");
	free(text);
	control_result_free(&r);
}

/* Every line of the table within the width (from 50 columns, where the
 * unboxed table still leaves 11 for descriptions), long words cut, UTF-8
 * kept whole. */
static void test_table_width(void **state)
{
	struct control_result r;
	char *text = NULL, *line, *save = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_int_equal(parse("<Schedule>"
			       "<Task><TaskRef>001</TaskRef><Description>Téléchargement "
			       "Donaudampfschifffahrtsgesellschaftskapitän and a long tail of words "
			       "that goes on and on</Description>"
			       "<TimePeriod>5</TimePeriod><TestType>download</TestType>"
			       "<TestOptions>" SIZE_OPT "</TestOptions></Task>"
			       "</Schedule>", &r), 0);
	for (size_t width = 50; width <= 120; width += 7) {
		size_t lines = 0;

		f = open_memstream(&text, &n);
		control_print_table_width(f, r.tasks, r.ntasks, width);
		fclose(f);
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			size_t cols = 0;

			for (const char *p = line; *p; p++)
				cols += ((unsigned char)*p & 0xC0) != 0x80;
			assert_true(cols <= width);
			lines++;
		}
		assert_true(lines >= 3);
		free(text);
		text = NULL;
	}
	control_result_free(&r);
}

/* Many tasks, many problems: capped counts, no crash. */
static void test_floods(void **state)
{
	struct buf b;
	struct control_result r;

	(void)state;
	buf_init(&b, CONTROL_MAX_BYTES);
	buf_printf(&b, "<Schedule>");
	for (int i = 0; i < 400; i++)
		buf_printf(&b, "<Task><TaskRef>x</TaskRef><Bad/><Bad/></Task>");
	buf_printf(&b, "</Schedule>");
	assert_false(b.truncated);
	assert_int_equal(control_parse(b.data, b.len, &lim, &r), 0);
	assert_int_equal(r.ntasks, 0);
	assert_int_equal(r.tasks_seen, 400);
	assert_int_equal(r.rejected, 400);
	assert_int_equal(r.nproblems, CONTROL_MAX_PROBLEMS);
	assert_true(r.problems_dropped > 0);
	control_result_free(&r);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_files),
		cmocka_unit_test(test_unusable_documents),
		cmocka_unit_test(test_entities_refused),
		cmocka_unit_test(test_missing_elements),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_duplicate_upstream),
		cmocka_unit_test(test_duplicate_cap),
		cmocka_unit_test(test_caps_and_warnings),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_width),
		cmocka_unit_test(test_floods),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
