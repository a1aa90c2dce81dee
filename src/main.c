/*
 * main.c - command line: options, settings, clock, then one subcommand.
 *
 *   ant-agent [run]      the agent (default)
 *   ant-agent config     every effective setting and where it came from
 *   ant-agent validate   check a control file and catalogues
 *   ant-agent seedfile   write a seeded test file and print its MD5
 *   ant-agent report     summarise the metrics files
 *   ant-agent status     what the running agent is doing
 *   ant-agent check      every start-up step once: what is wrong, how to fix it
 *   ant-agent manpage    (hidden) the manual page, for the build
 *
 * The commands and options are described once, in the tables below, for
 * both --help and the manual page.
 */
#include "cli.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "manpage.h"
#include "util.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

struct command {
	const char *name;
	int (*fn)(const struct cli *c);
	const char *summary;   /* NULL: hidden from --help and the manual */
};

static int cmd_manpage(const struct cli *c);

static const struct command commands[] = {
	{ "run", cmd_run, "run the agent: fetch the hour's tasks and test the network (default)" },
	{ "config", cmd_config, "print every effective setting and its source (secrets masked)" },
	{ "validate", cmd_validate, "check a control file and catalogues; exit 0 valid, 1 rejected, 2 unreadable" },
	{ "seedfile", cmd_seedfile, "write the seeded test file for --seed/--size and print its MD5" },
	{ "report", cmd_report, "summarise the metrics files per test type and size" },
	{ "status", cmd_status, "show what the running agent is doing; exit 0 running, 1 not running" },
	{ "check", cmd_check, "run every start-up step once and say what to fix; exit 0 ready, 1 not" },
	{ "manpage", cmd_manpage, NULL },
};

static const struct cli_doc option_docs[] = {
	{ "-h, --help", "show this help and exit" },
	{ "-V, --version", "show name, version, build date and commit, and exit" },
	{ "--env-file PATH", "settings file (default ./.env; a missing default is fine)" },
	{ "--set KEY=VALUE", "set any setting; repeatable; beats .env and environment" },
	{ "--log-level LEVEL", "DEBUG, INFO, WARNING, ERROR or CRITICAL\n"
			       "(same as --set DEFAULT_LOG_LEVEL=LEVEL)" },
	{ "--allow-root", "let `run` start as root (refused otherwise)" },
	{ "--no-console", "no keyboard console even on a terminal" },
	{ "--clock-start TIME", "start the schedule clock at TIME, YYYY-MM-DDTHH:MM:SSZ;\n"
				"it runs once the start-up checks and the first\n"
				"refresh are done" },
	{ "--clock-speed N", "run the schedule clock N times faster (0 < N <= 10000)" },
	{ "--run-for DURATION", "stop cleanly after DURATION of schedule time\n"
				"(e.g. 90s, 15m, 1h, 1h30m)" },
};

static const struct cli_doc command_option_docs[] = {
	{ "validate: --control SRC --downloads SRC --seeds SRC", "check these (SRC is a path or URL)" },
	{ "seedfile: --seed N --size BYTES [-o FILE]", "the seeded file to write (stdout when no -o)" },
	{ "report: --metrics FILE --summary FILE", "metrics files to read (default the settings')" },
	{ "report: --since DURATION --format text|csv|json", "only the last DURATION; output format" },
	{ "status: --format text|json", "one screen of text (default) or the status file as JSON" },
};

enum {
	OPT_ENV_FILE = 256, OPT_SET, OPT_LOG_LEVEL, OPT_ALLOW_ROOT, OPT_NO_CONSOLE,
	OPT_CLOCK_START, OPT_CLOCK_SPEED, OPT_RUN_FOR, OPT_CONTROL, OPT_DOWNLOADS,
	OPT_SEEDS, OPT_SEED, OPT_SIZE, OPT_METRICS, OPT_SUMMARY, OPT_SINCE, OPT_FORMAT,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "set", required_argument, NULL, OPT_SET },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "no-console", no_argument, NULL, OPT_NO_CONSOLE },
	{ "clock-start", required_argument, NULL, OPT_CLOCK_START },
	{ "clock-speed", required_argument, NULL, OPT_CLOCK_SPEED },
	{ "run-for", required_argument, NULL, OPT_RUN_FOR },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "downloads", required_argument, NULL, OPT_DOWNLOADS },
	{ "seeds", required_argument, NULL, OPT_SEEDS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "output", required_argument, NULL, 'o' },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "summary", required_argument, NULL, OPT_SUMMARY },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ NULL, 0, NULL, 0 },
};

/* The --log-level option becomes a --set; this holds its text. */
static char *g_level_set;

/* Options line up as they always have: help text in column 26, short
 * options two columns left of the long ones; a "\n" in the help starts
 * an indented line. */
static void print_doc(FILE *out, const char *name, const char *text)
{
	const char *nl;

	if (name[0] == '-' && name[1] == '-')
		fprintf(out, "      %-20s", name);
	else
		fprintf(out, "  %-24s", name);
	while ((nl = strchr(text, '\n')) != NULL) {
		fprintf(out, "%.*s\n%26s", (int)(nl - text), text, "");
		text = nl + 1;
	}
	fprintf(out, "%s\n", text);
}

/* From the settings table: the ones a SIGHUP does not apply. */
static void print_restart_settings(FILE *out)
{
	size_t col = 1;

	fprintf(out, "\nA SIGHUP re-reads the settings and applies them, except these, which\n"
		     "wait for the next start:\n ");
	for (int k = 0; k < CFG__COUNT; k++) {
		const char *name = config_name((enum cfg_key)k);

		if (config_applies_on_sighup((enum cfg_key)k))
			continue;
		if (col + strlen(name) + 1 > 78) {
			fprintf(out, "\n ");
			col = 1;
		}
		fprintf(out, " %s", name);
		col += strlen(name) + 1;
	}
	fprintf(out, "\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ant-agent [COMMAND] [OPTIONS]\n"
		"\n"
		"A community test agent for the Autonomi network: it fetches the fleet's\n"
		"control file each hour, obeys the kill-switch, runs download, quote and\n"
		"upload tests through the `ant` client between :05 and :55, and records\n"
		"every test in InfluxDB line protocol.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary)
			fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions for every command:\n");
	for (size_t i = 0; i < ARRAY_SIZE(option_docs); i++)
		print_doc(out, option_docs[i].name, option_docs[i].text);
	fprintf(out, "\n");
	for (size_t i = 0; i < ARRAY_SIZE(command_option_docs); i++)
		fprintf(out, "%s\n      %s\n", command_option_docs[i].name, command_option_docs[i].text);
	fprintf(out,
		"\n"
		"Settings come from built-in defaults < .env < environment < --set;\n"
		"`ant-agent config` lists every one with its value and source, and\n"
		"`man ant-agent` describes each.\n");
	print_restart_settings(out);
	fprintf(out,
		"\n"
		"Exit status: 0 success; 1 something failed or was rejected; 2 bad command\n"
		"line or settings (nothing was done).\n");
}

/* The manual page, from the tables above and the settings table. */
static int cmd_manpage(const struct cli *c)
{
	struct cli_doc cmds[ARRAY_SIZE(commands)];
	struct manpage_input in;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary)
			cmds[n++] = (struct cli_doc){ commands[i].name, commands[i].summary };
	in.commands = cmds;
	in.ncommands = n;
	in.options = option_docs;
	in.noptions = ARRAY_SIZE(option_docs);
	in.command_options = command_option_docs;
	in.ncommand_options = ARRAY_SIZE(command_option_docs);
	/* -o: written whole or not at all, so a failed build leaves no
	 * half a manual behind. */
	if (c->output != NULL) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		int rc;

		if (f == NULL)
			return EXIT_FAIL;
		manpage_write(f, &in);
		fclose(f);
		rc = file_write_atomic(c->output, text, len, 0644);
		free(text);
		if (rc != 0) {
			fprintf(stderr, "ant-agent manpage: %s: %s\n", c->output, strerror(errno));
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	manpage_write(stdout, &in);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static void print_version(void)
{
	printf("Name: %s | Version: %s | Date: %s | Commit Hash: %s\n", ANT_NAME,
	       ANT_VERSION, ANT_BUILD_DATE, ANT_GIT_COMMIT);
}

int cmd_config(const struct cli *c)
{
	(void)c;
	config_dump(stdout);
	return EXIT_OK;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int parse_args(int argc, char **argv, struct cli *c, const char ***sets_out)
{
	const char **sets = xcalloc((size_t)argc + 1, sizeof(*sets));
	size_t n;
	int opt;

	*sets_out = sets;
	memset(c, 0, sizeof(*c));
	c->clock_start_ms = -1;
	c->clock_speed = 1.0;
	c->run_for_ms = -1;
	c->command = "run";
	c->sets = sets;
	/* The first word, if it is not an option, names the command. */
	if (argc > 1 && argv[1][0] != '-') {
		c->command = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	while ((opt = getopt_long(argc, argv, "hVo:", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			print_version();
			exit(EXIT_OK);
		case OPT_ENV_FILE:
			c->env_file = optarg;
			c->env_file_given = true;
			break;
		case OPT_SET:
			sets[c->nsets++] = optarg;
			break;
		case OPT_LOG_LEVEL:
			/* Kept as a --set so `config` shows it as from the command line. */
			free(g_level_set);
			n = strlen(optarg) + sizeof("DEFAULT_LOG_LEVEL=");
			g_level_set = xmalloc(n);
			snprintf(g_level_set, n, "DEFAULT_LOG_LEVEL=%s", optarg);
			sets[c->nsets++] = g_level_set;
			break;
		case OPT_ALLOW_ROOT: c->allow_root = true; break;
		case OPT_NO_CONSOLE: c->no_console = true; break;
		case OPT_CLOCK_START:
			if (clock_parse_iso(optarg, &c->clock_start_ms) != 0) {
				fprintf(stderr, "ant-agent: --clock-start '%s': expected YYYY-MM-DDTHH:MM:SSZ\n", optarg);
				return -1;
			}
			break;
		case OPT_CLOCK_SPEED:
			if (parse_double(optarg, 1e-3, CLOCK_SPEED_MAX, &c->clock_speed) != 0) {
				fprintf(stderr, "ant-agent: --clock-speed '%s': expected a number above 0 and at most %g\n",
					optarg, CLOCK_SPEED_MAX);
				return -1;
			}
			break;
		case OPT_RUN_FOR:
			if (clock_parse_duration(optarg, &c->run_for_ms) != 0 || c->run_for_ms <= 0) {
				fprintf(stderr, "ant-agent: --run-for '%s': expected a duration such as 90s, 15m, 1h\n", optarg);
				return -1;
			}
			break;
		case OPT_CONTROL: c->control = optarg; break;
		case OPT_DOWNLOADS: c->downloads = optarg; break;
		case OPT_SEEDS: c->seeds = optarg; break;
		case OPT_SEED: c->seed = optarg; break;
		case OPT_SIZE: c->size = optarg; break;
		case 'o': c->output = optarg; break;
		case OPT_METRICS: c->metrics = optarg; break;
		case OPT_SUMMARY: c->summary = optarg; break;
		case OPT_SINCE: c->since = optarg; break;
		case OPT_FORMAT: c->format = optarg; break;
		default:
			fprintf(stderr, "Try 'ant-agent --help'.\n");
			return -1;
		}
	}
	c->args = argv + optind;
	c->nargs = argc - optind;
	return 0;
}

/* A secret on the command line is visible to every user of the machine
 * (ps, /proc/PID/cmdline) for as long as the agent runs: refuse it and say
 * where it belongs. The value is never echoed. */
static int refuse_secret_sets(const struct cli *c)
{
	int bad = 0;

	for (size_t i = 0; i < c->nsets; i++) {
		if (client_env_is_secret(c->sets[i])) {
			fprintf(stderr, "ant-agent: --set %.*s: secrets on the command line are visible "
				"to every user (ps); put it in the settings file (mode 0600) or the "
				"environment instead\n", (int)strcspn(c->sets[i], "="), c->sets[i]);
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* A heap copy of the environment for the settings loader. */
static char **env_private_copy(void)
{
	size_t n = 0;
	char **v;

	while (environ && environ[n])
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(environ[i]);
	return v;
}

static void env_copy_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

/* /proc/PID/environ shows the environment block the process started with
 * to any process of the same user, the clients included: overwrite every
 * entry of a secret setting found there (SECRET_KEY, the tokens, the
 * InfluxDB password) and take the name out of environ. */
static void env_scrub_secrets(void)
{
	size_t w = 0;

	if (environ == NULL)
		return;
	/* Compact the array in place (as unsetenv does) and wipe each secret
	 * entry, name and value, in the block it lives in. */
	for (size_t r = 0; environ[r]; r++) {
		char *e = environ[r];

		if (strchr(e, '=') != NULL && client_env_is_secret(e))
			explicit_bzero(e, strlen(e));
		else
			environ[w++] = e;
	}
	environ[w] = NULL;
}

int main(int argc, char **argv)
{
	struct config_sources src;
	const struct command *cmd;
	const char **sets = NULL;
	char **env_copy = NULL;
	enum log_level lvl;
	struct cli c;
	int rc;

	/* Under systemd, lines carry the journal's priorities, not a time. */
	log_set_journal(log_journal_stream_matches(getenv("JOURNAL_STREAM"), STDERR_FILENO));
	if (parse_args(argc, argv, &c, &sets) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	cmd = find_command(c.command);
	if (cmd == NULL) {
		fprintf(stderr, "ant-agent: unknown command '%s'. Try 'ant-agent --help'.\n", c.command);
		rc = EXIT_USAGE;
		goto out;
	}
	/* The build makes the manual with this: no settings are read, so
	 * nothing in the builder's environment can change or break it. */
	if (cmd->fn == cmd_manpage) {
		rc = cmd_manpage(&c);
		goto out;
	}
	if (clock_setup(c.clock_start_ms, c.clock_speed) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	/* `run` starts its schedule clock once it can plan (agent.c): from
	 * here, not from when the settings have been read. */
	if (cmd->fn == cmd_run)
		clock_hold();
	if (refuse_secret_sets(&c) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	memset(&src, 0, sizeof(src));
	src.env_file = c.env_file;
	src.env_file_required = c.env_file_given;
	/* Settings (and every SIGHUP reload) read a private copy, so the
	 * secrets can leave the process's own environment block below. */
	env_copy = env_private_copy();
	src.environ = env_copy;
	src.sets = c.sets;
	src.nsets = c.nsets;
	if (config_load(&src) != 0) {
		fprintf(stderr, "ant-agent: settings are not valid; nothing was started.\n");
		rc = EXIT_USAGE;
		goto out;
	}
	config_register_secrets();
	env_scrub_secrets();
	{
		char why[512];

		if (fetch_helper_check(why, sizeof(why)) != 0) {
			fprintf(stderr, "ant-agent: %s; nothing was started.\n", why);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (log_level_parse(cfg_str(CFG_DEFAULT_LOG_LEVEL), &lvl) == 0)
		log_set_level(lvl);
	rc = cmd->fn(&c);
out:
	free(g_level_set);
	free(sets);
	env_copy_free(env_copy);
	log_close();
	return rc;
}
