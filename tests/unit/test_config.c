/* Settings: defaults, .env parsing, precedence, every validation path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "util.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char captured[8192];

static void capture(enum log_level l, const char *line, void *ud)
{
	(void)l;
	(void)ud;
	strncat(captured, line, sizeof(captured) - strlen(captured) - 2);
	strcat(captured, "\n");
}

static char env_path[64];

static void write_env(const char *text)
{
	FILE *f;

	strcpy(env_path, "/tmp/ant-test-env-XXXXXX");
	int fd = mkstemp(env_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	captured[0] = '\0';
	log_set_console(0);
	log_set_capture(capture, NULL);
	config_reset();
	env_path[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (env_path[0])
		unlink(env_path);
	log_set_capture(NULL, NULL);
	return 0;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 3600);
	assert_int_equal(cfg_int(CFG_MAX_WORKERS), 10);
	assert_false(cfg_bool(CFG_ALLOW_UPLOADS));
	assert_string_equal(cfg_str(CFG_TELEMETRY_COUNTRY), "xx");
	assert_int_equal(cfg_source(CFG_CACHE_TIME), CFG_SRC_DEFAULT);
	assert_true(cfg_float(CFG_MIN_FREE_DISK_GB) == 10.0);
}

static void test_original_names_accepted(void **state)
{
	static const char *const names[] = {
		"SCHEDULER_URL", "CSV_URL", "CSV_QUOTE_URL", "GIT_OWNER", "GIT_REPO",
		"GIT_KILL_SWITCH_URL", "CACHE_FILE", "CACHE_INFO_FILE", "CACHE_TIME",
		"CACHE_QUOTE_FILE", "CACHE_QUOTE_META", "DOWNLOAD_YIELD_SECS",
		"QUOTE_YIELD_SECS", "DOWNLOAD_OFFSET_MAX_MINS", "CLIENT_MAX_OFFSET",
		"CLIENT_PEERS", "CLIENT_DOWNLOAD_PATH", "CLIENT_LOGGING_PATH",
		"TELEMETRY_COUNTRY", "TELEMETRY_PROVISON", "TELEMETRY_CONNECTION",
		"LOG_FILE_PATH", "LOG_TO_FILE", "DEFAULT_LOG_LEVEL", "AGENT_LOCALE",
	};
	enum cfg_key k;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_int_equal(config_lookup(names[i], &k), 0);
}

static void test_unknown_key_suggests_nearest(void **state)
{
	struct config_sources src = { 0 };
	const char *sets[] = { "MAX_WORKER=3" };
	char near[64], err[256];

	(void)state;
	assert_int_equal(config_suggest("CACHE_TIMEE", near, sizeof(near)), 0);
	assert_string_equal(near, "CACHE_TIME");
	assert_int_equal(config_suggest("influx_url", near, sizeof(near)), 0);
	assert_string_equal(near, "INFLUX_URL");
	assert_int_equal(config_suggest("TELEMETRY_CONTRY", near, sizeof(near)), 0);
	assert_string_equal(near, "TELEMETRY_COUNTRY");
	assert_int_equal(config_suggest("INFLUXDB_URL", near, sizeof(near)), 0);
	assert_string_equal(near, "INFLUX_URL");
	/* Nothing like any setting: no guess. */
	assert_int_equal(config_suggest("PATH", near, sizeof(near)), -1);
	assert_int_equal(config_suggest("COMPLETELY_DIFFERENT", near, sizeof(near)), -1);
	assert_int_equal(config_suggest("", near, sizeof(near)), -1);

	/* In a .env file: a warning with the suggestion. */
	write_env("CACHE_TIMEE=120\n");
	src.env_file = env_path;
	assert_int_equal(config_load(&src), 0);
	assert_non_null(strstr(captured, ":1: unknown setting 'CACHE_TIMEE' (did you mean CACHE_TIME?) (ignored)"));
	/* On the command line: an error with the suggestion. */
	assert_int_equal(config_set("MAX_WORKER", "3", CFG_SRC_CLI, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown setting 'MAX_WORKER' (did you mean MAX_WORKERS?)");
	captured[0] = '\0';
	src.env_file = NULL;
	src.sets = sets;
	src.nsets = 1;
	assert_int_equal(config_load(&src), -1);
	assert_non_null(strstr(captured, "did you mean MAX_WORKERS?"));
}

static void test_provision_alias(void **state)
{
	char *envv[] = { "TELEMETRY_PROVISION=vps", NULL };
	struct config_sources src = { 0 };
	enum cfg_key k;
	char err[256];

	(void)state;
	assert_int_equal(config_lookup("TELEMETRY_PROVISION", &k), 0);
	assert_int_equal(k, CFG_TELEMETRY_PROVISON);
	/* The original spelling still works and names the setting. */
	assert_int_equal(config_lookup("TELEMETRY_PROVISON", &k), 0);
	assert_int_equal(k, CFG_TELEMETRY_PROVISON);
	assert_string_equal(config_name(CFG_TELEMETRY_PROVISON), "TELEMETRY_PROVISON");
	/* Both spellings in .env, the environment and --set. */
	write_env("TELEMETRY_PROVISION=home\n");
	src.env_file = env_path;
	assert_int_equal(config_load(&src), 0);
	assert_string_equal(cfg_str(CFG_TELEMETRY_PROVISON), "home");
	assert_int_equal(cfg_source(CFG_TELEMETRY_PROVISON), CFG_SRC_ENVFILE);
	assert_null(strstr(captured, "unknown setting"));
	src.environ = envv;
	assert_int_equal(config_load(&src), 0);
	assert_string_equal(cfg_str(CFG_TELEMETRY_PROVISON), "vps");
	assert_int_equal(cfg_source(CFG_TELEMETRY_PROVISON), CFG_SRC_ENV);
	assert_int_equal(config_set("TELEMETRY_PROVISION", "dc", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_string_equal(cfg_str(CFG_TELEMETRY_PROVISON), "dc");
}

static void test_country_normalised(void **state)
{
	static const struct { const char *in, *out; } good[] = {
		{ "de", "DE" }, { "De", "DE" }, { "US", "US" }, { "uk", "GB" }, { "UK", "GB" },
		{ "gb", "GB" }, { "\"fr\"", "FR" }, { "'nl'", "NL" }, { "xx", "xx" },
		{ "XX", "xx" }, { "", "xx" },
	};
	static const char *const bad[] = {
		"Germany", "g", "gbr", "1a", "d-", "\"de", "United Kingdom", "\xc3\xa9s",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(config_set("TELEMETRY_COUNTRY", good[i].in, CFG_SRC_CLI, err,
					    sizeof(err)), 0);
		assert_string_equal(cfg_str(CFG_TELEMETRY_COUNTRY), good[i].out);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(config_set("TELEMETRY_COUNTRY", bad[i], CFG_SRC_CLI, err,
					    sizeof(err)), -2);
		assert_non_null(strstr(err, "setting TELEMETRY_COUNTRY: '"));
		assert_non_null(strstr(err, "two-letter ISO 3166 country code"));
		/* The value in force is kept. */
		assert_string_equal(cfg_str(CFG_TELEMETRY_COUNTRY), "xx");
	}
}

static void test_cache_owned_by_another_user(void **state)
{
	char dir[] = "/tmp/ant-test-cache-XXXXXX";
	char sub[PATH_MAX], msg[2 * PATH_MAX], want[PATH_MAX + 64];
	uid_t me = getuid();
	/* An id with no user name, so the command shows the number. */
	uid_t other = 54321;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* All mine: nothing to say; root may write anywhere; missing is fine. */
	assert_int_equal(config_cache_owner_check(dir, me, getgid(), msg, sizeof(msg)), 0);
	assert_int_equal(config_cache_owner_check(dir, 0, 0, msg, sizeof(msg)), 0);
	assert_int_equal(config_cache_owner_check("/nonexistent/ant-cache", other, 0, msg,
						  sizeof(msg)), 0);
	/* Seen by another user (as after a run as root): the exact command. */
	assert_null(getpwuid(other));
	assert_int_equal(config_cache_owner_check(dir, other, getgid(), msg, sizeof(msg)), 1);
	snprintf(want, sizeof(want), "sudo chown -R %u:", (unsigned)other);
	assert_non_null(strstr(msg, want));
	snprintf(want, sizeof(want), " %s", dir);
	assert_non_null(strstr(msg, want));
	assert_non_null(strstr(msg, "CACHE_DIR"));
	/* Mine, but something inside belongs to someone else. */
	snprintf(sub, sizeof(sub), "%s/metrics", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	if (me == 0) {
		assert_null(getgrgid(54321));
		assert_int_equal(chown(dir, other, 54321), 0);
		assert_int_equal(config_cache_owner_check(dir, other, 54321, msg, sizeof(msg)), 1);
		assert_non_null(strstr(msg, "/metrics belongs to root"));
		assert_non_null(strstr(msg, "sudo chown -R 54321:54321 "));
	}
	rmdir(sub);
	rmdir(dir);
}

static void test_precedence(void **state)
{
	char *envv[] = { "CACHE_TIME=200", "TELEMETRY_COUNTRY=de", "UNRELATED=1", NULL };
	const char *sets[] = { "TELEMETRY_COUNTRY=fr", "MAX_WORKERS=3" };
	struct config_sources src = { 0 };

	(void)state;
	write_env("# a comment\n"
		  "CACHE_TIME=100\n"
		  "export TELEMETRY_COUNTRY=gb\n"
		  "TELEMETRY_PROVISON=\"home # not a comment\"\n"
		  "TELEMETRY_CONNECTION=fibre # inline comment\n"
		  "MAX_WORKERS='5'\n"
		  "\n");
	src.env_file = env_path;
	src.env_file_required = true;
	src.environ = envv;
	src.sets = sets;
	src.nsets = 2;
	assert_int_equal(config_load(&src), 0);
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 200);
	assert_int_equal(cfg_source(CFG_CACHE_TIME), CFG_SRC_ENV);
	assert_string_equal(cfg_str(CFG_TELEMETRY_COUNTRY), "FR");
	assert_int_equal(cfg_source(CFG_TELEMETRY_COUNTRY), CFG_SRC_CLI);
	assert_string_equal(cfg_str(CFG_TELEMETRY_PROVISON), "home # not a comment");
	assert_int_equal(cfg_source(CFG_TELEMETRY_PROVISON), CFG_SRC_ENVFILE);
	assert_string_equal(cfg_str(CFG_TELEMETRY_CONNECTION), "fibre");
	assert_int_equal(cfg_int(CFG_MAX_WORKERS), 3);
	assert_int_equal(cfg_source(CFG_GIT_REPO), CFG_SRC_DEFAULT);
}

static void test_unknown_key_is_warning(void **state)
{
	struct config_sources src = { 0 };

	(void)state;
	write_env("CACHE_TIME=120\nNOT_A_SETTING=1\nthis line is junk\n");
	src.env_file = env_path;
	assert_int_equal(config_load(&src), 0);
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 120);
	assert_non_null(strstr(captured, ":2: unknown setting 'NOT_A_SETTING'"));
	assert_non_null(strstr(captured, ":3: not a KEY=VALUE line"));
	assert_non_null(strstr(captured, env_path));
	assert_non_null(strstr(captured, "WARNING"));
}

static void test_bad_values_refuse_whole_load(void **state)
{
	struct config_sources src = { 0 };

	(void)state;
	write_env("CACHE_TIME=120\nMAX_WORKERS=abc\nLOG_TO_FILE=maybe\n"
		  "DEFAULT_LOG_LEVEL=LOUD\nKILL_SWITCH_MAX_PER_HOUR=61\nMIN_FREE_DISK_GB=-1\n");
	src.env_file = env_path;
	assert_int_equal(config_load(&src), -1);
	/* Nothing of the bad file took effect. */
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 3600);
	assert_non_null(strstr(captured, ":2: setting MAX_WORKERS: 'abc' is not allowed (expected a whole number from 1 to 1000)"));
	assert_non_null(strstr(captured, ":3: setting LOG_TO_FILE: 'maybe' is not allowed (expected true or false)"));
	assert_non_null(strstr(captured, ":4: setting DEFAULT_LOG_LEVEL: 'LOUD' is not allowed (expected one of DEBUG|INFO|WARNING|ERROR|CRITICAL)"));
	assert_non_null(strstr(captured, ":5: setting KILL_SWITCH_MAX_PER_HOUR: '61'"));
	assert_non_null(strstr(captured, ":6: setting MIN_FREE_DISK_GB: '-1'"));
}

static void test_bad_environment_and_set(void **state)
{
	char *envv[] = { "CACHE_TIME=-5", NULL };
	const char *sets[] = { "NOPE=1", "noequals", "=x" };
	struct config_sources src = { 0 };

	(void)state;
	src.env_file = "/nonexistent/.env";
	src.environ = envv;
	src.sets = sets;
	src.nsets = 3;
	assert_int_equal(config_load(&src), -1);
	assert_non_null(strstr(captured, "environment: setting CACHE_TIME: '-5'"));
	assert_non_null(strstr(captured, "--set: unknown setting 'NOPE'"));
	assert_non_null(strstr(captured, "--set noequals: expected KEY=VALUE"));
	assert_non_null(strstr(captured, "--set =x: expected KEY=VALUE"));
}

static void test_missing_env_file(void **state)
{
	struct config_sources src = { 0 };

	(void)state;
	src.env_file = "/nonexistent/.env";
	assert_int_equal(config_load(&src), 0); /* default path may be absent */
	src.env_file_required = true;
	assert_int_equal(config_load(&src), -1);
	assert_non_null(strstr(captured, "/nonexistent/.env: cannot read settings file"));
}

static void test_secret_masked_in_errors_and_dump(void **state)
{
	char err[256];
	char out[16384];
	FILE *f;

	(void)state;
	assert_int_equal(config_set("GITHUB_TOKEN", "ghp_supersecret", CFG_SRC_CLI, err, sizeof(err)), 0);
	f = fmemopen(out, sizeof(out), "w");
	config_dump(f);
	fclose(f);
	assert_null(strstr(out, "ghp_supersecret"));
	assert_non_null(strstr(out, "GITHUB_TOKEN"));
	assert_non_null(strstr(out, "****"));
	assert_non_null(strstr(out, "[command line]"));
}

static void test_set_bool_forms_and_choice_canonical(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(config_set("LOG_TO_FILE", "YES", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_true(cfg_bool(CFG_LOG_TO_FILE));
	assert_string_equal(cfg_str(CFG_LOG_TO_FILE), "true");
	assert_int_equal(config_set("LOG_TO_FILE", "0", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_false(cfg_bool(CFG_LOG_TO_FILE));
	assert_int_equal(config_set("DEFAULT_LOG_LEVEL", "debug", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_string_equal(cfg_str(CFG_DEFAULT_LOG_LEVEL), "DEBUG");
	assert_int_equal(config_set("MAX_WORKERS", "0", CFG_SRC_CLI, err, sizeof(err)), -2);
	assert_int_equal(config_set("MAX_WORKERS", "1001", CFG_SRC_CLI, err, sizeof(err)), -2);
	assert_int_equal(config_set("MAX_WORKERS", "12x", CFG_SRC_CLI, err, sizeof(err)), -2);
	assert_int_equal(cfg_int(CFG_MAX_WORKERS), 10);
	assert_int_equal(config_set("BOGUS", "1", CFG_SRC_CLI, err, sizeof(err)), -1);
}

static void test_reload_keeps_old_on_error(void **state)
{
	struct config_sources src = { 0 };
	FILE *f;

	(void)state;
	write_env("CACHE_TIME=120\n");
	src.env_file = env_path;
	assert_int_equal(config_load(&src), 0);
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 120);
	f = fopen(env_path, "w");
	fputs("CACHE_TIME=oops\n", f);
	fclose(f);
	assert_int_equal(config_reload(), -1);
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 120);
	f = fopen(env_path, "w");
	fputs("CACHE_TIME=130\n", f);
	fclose(f);
	assert_int_equal(config_reload(), 0);
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 130);
}

static void test_bom_and_crlf(void **state)
{
	struct config_sources src = { 0 };

	(void)state;
	write_env("\xEF\xBB\xBF" "CACHE_TIME=150\r\nGIT_REPO=fork\r\n");
	src.env_file = env_path;
	assert_int_equal(config_load(&src), 0);
	assert_int_equal(cfg_int(CFG_CACHE_TIME), 150);
	assert_string_equal(cfg_str(CFG_GIT_REPO), "fork");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_original_names_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_is_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values_refuse_whole_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_environment_and_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_env_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_masked_in_errors_and_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_bool_forms_and_choice_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_old_on_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bom_and_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_suggests_nearest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_country_normalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_owned_by_another_user, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
