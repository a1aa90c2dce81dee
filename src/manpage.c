/*
 * manpage.c - write ant-agent(1) (see manpage.h).
 *
 * The prose sections (files, signals, exit status, service use) are
 * written here; the lists of commands, options and settings come from the
 * tables, so adding a setting to settings.def puts it in the manual.
 */
#include "manpage.h"
#include "config.h"
#include "version.h"

#include <string.h>

/* Text with roff's special characters made harmless: a backslash is
 * written \e, a leading '.' or '\'' gets a zero-width escape, and '-' is
 * written \- so that options copy and paste as ASCII hyphens. */
static void roff_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\n')
			fputs("\n.br\n", out);
		else
			fputc(*s, out);
	}
}

static void tagged(FILE *out, const char *tag, const char *text)
{
	fputs(".TP\n.B ", out);
	roff_text(out, tag);
	fputc('\n', out);
	roff_text(out, text);
	fputc('\n', out);
}

static void section(FILE *out, const char *name)
{
	fprintf(out, ".SH %s\n", name);
}

static void para(FILE *out, const char *text)
{
	fputs(".PP\n", out);
	roff_text(out, text);
	fputc('\n', out);
}

static void settings(FILE *out)
{
	section(out, "SETTINGS");
	para(out, "Settings come from built-in defaults, then the .env file (or --env-file), then "
		  "the environment, then --set KEY=VALUE, each layer overriding the one before. "
		  "A value of the wrong type or out of bounds stops the agent with exit status 2; "
		  "an unknown key in .env is a warning. `ant-agent config` prints every effective "
		  "value, its source, and whether a SIGHUP applies it (sighup) or it waits for "
		  "the next start (restart).");
	for (int k = 0; k < CFG__COUNT; k++) {
		char kind[160], text[1024];
		const char *def = config_default((enum cfg_key)k);

		config_describe((enum cfg_key)k, kind, sizeof(kind));
		/* The SIGHUP sentence on a line of its own: a long default (a
		 * URL) cannot be broken, and text after it could not be set. */
		snprintf(text, sizeof(text), "%s.\n%s; default %s%s%s.%s\n%s", config_help((enum cfg_key)k),
			 kind, *def ? "\"" : "", *def ? def : "empty", *def ? "\"" : "",
			 config_is_secret((enum cfg_key)k) ? " Secret: masked in output and logs." : "",
			 config_applies_on_sighup((enum cfg_key)k)
				 ? "A SIGHUP applies a new value."
				 : "A new value applies at the next start (not on SIGHUP).");
		tagged(out, config_name((enum cfg_key)k), text);
	}
}

static void files(FILE *out)
{
	static const struct cli_doc rows[] = {
		{ ".env", "settings, read from the directory the agent runs in (see --env-file)" },
		{ "CACHE_DIR/state.json", "what ran this hour: lets a restart skip a one-shot task that "
					  "already ran and resume a repeating one (rewritten atomically)" },
		{ "CACHE_DIR/status.json", "what the agent is doing, for `ant-agent status` (rewritten "
					   "every minute and after every change)" },
		{ "CACHE_DIR/agent-id", "this agent's random id, made once (unless AGENT_ID is set)" },
		{ "CACHE_DIR/seeds/", "seeded files for quote tests and each upload test's own content; "
				      "removed after use and purged at each refresh" },
		{ "CACHE_DIR/ledger.log", "every upload payment, appended and fsync'd; today's and this "
					  "month's spend are read back from it at start (docs/UPLOADS.md)" },
		{ "CACHE_DIR/upload-seq", "the counter that makes every upload's content new" },
		{ "CACHE_DIR/influx-spool/", "batches waiting for InfluxDB when INFLUX_URL is set" },
		{ "CLIENT_DOWNLOAD_PATH/ant-dl-*", "private temporary downloads; removed after each test "
						   "and purged at each refresh" },
		{ "CLIENT_LOGGING_PATH/log_*", "client logs, one directory per call (default "
					       "CACHE_DIR/client-logs); beyond CLIENT_LOG_KEEP_MB the "
					       "oldest are purged at each refresh" },
		{ "CACHE_FILE, CACHE_QUOTE_FILE", "cached catalogues (CACHE_TIME)" },
		{ "METRICS_FILE, SUMMARY_FILE", "metrics in InfluxDB line protocol" },
		{ "LOG_FILE_PATH", "the log, when LOG_TO_FILE is true; reopened on SIGHUP" },
	};

	section(out, "FILES");
	para(out, "Relative paths are relative to the directory the agent runs in. Purges never "
		  "follow symbolic links and never leave the directory named.");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		tagged(out, rows[i].name, rows[i].text);
}

static void signals_and_exit(FILE *out)
{
	section(out, "SIGNALS");
	tagged(out, "SIGTERM, SIGINT", "stop gracefully: no new test starts, running clients get "
		   "SIGTERM (SIGKILL 3 s later), metrics are written and, with a push configured, "
		   "given up to 3 s to reach InfluxDB; the agent exits 0 within about 10 s.");
	tagged(out, "SIGHUP", "read the settings again (invalid new settings are refused and the "
		   "old ones kept), reopen the log file, and fetch the kill-switch, control file and "
		   "catalogues again.");
	tagged(out, "SIGUSR1", "log a status block.");
	section(out, "EXIT STATUS");
	tagged(out, "0", "success (for run: a clean stop; for status: the agent is running).");
	tagged(out, "1", "something failed or was rejected at run time (client missing, running "
		   "as root, a rejected control file for validate, the agent not running for status).");
	tagged(out, "2", "bad command line or settings: nothing was done.");
}

static void service(FILE *out)
{
	section(out, "RUNNING AS A SERVICE");
	para(out, "Without a terminal the keyboard console is off and the log goes to standard "
		  "error (the journal under systemd), and to LOG_FILE_PATH when LOG_TO_FILE is true. "
		  "contrib/ant-agent.service is a hardened systemd unit: its own unprivileged "
		  "dynamic user, working directory in /var/lib/ant-agent, downloads and client logs "
		  "in /var/cache/ant-agent, settings in /etc/ant-agent/ant-agent.env. "
		  "`systemctl reload ant-agent` sends SIGHUP. docs/SERVICE.md explains the set-up.");
	para(out, "Before each test the agent checks free disk (MIN_FREE_DISK_GB) and available "
		  "memory (MIN_FREE_MEM_MB); a test either guard stops is recorded with status "
		  "skipped and the reason, and each guard is warned about once an hour. A repeating "
		  "worker held back by the memory guard checks again a minute later; one held back "
		  "by the disk guard ends.");
}

void manpage_write(FILE *out, const struct manpage_input *in)
{
	fprintf(out, ".\\\" Generated by `ant-agent manpage` from the program's own tables; do not edit.\n");
	fprintf(out, ".TH ANT-AGENT 1 \"\" \"%s %s\" \"User Commands\"\n", ANT_NAME, ANT_VERSION);
	section(out, "NAME");
	fputs("ant-agent \\- community test agent for the Autonomi network\n", out);
	section(out, "SYNOPSIS");
	fputs(".B ant-agent\n.RI [ command ]\n.RI [ options ]\n", out);
	section(out, "DESCRIPTION");
	para(out, "ant-agent fetches the fleet's control file (XML) and two catalogues (CSV) every "
		  "hour, obeys a fail-safe kill-switch (an open issue labelled kill-switch in the "
		  "fleet's GitHub repository stops every agent), runs download, quote and upload "
		  "tests through the network's command-line client ant between :05 and :55 under "
		  "local rate limits and worker caps, and records every test in InfluxDB line "
		  "protocol.");
	section(out, "COMMANDS");
	for (size_t i = 0; i < in->ncommands; i++)
		tagged(out, in->commands[i].name, in->commands[i].text);
	section(out, "OPTIONS");
	for (size_t i = 0; i < in->noptions; i++)
		tagged(out, in->options[i].name, in->options[i].text);
	para(out, "Options of single commands:");
	for (size_t i = 0; i < in->ncommand_options; i++)
		tagged(out, in->command_options[i].name, in->command_options[i].text);
	settings(out);
	files(out);
	signals_and_exit(out);
	service(out);
	section(out, "SEE ALSO");
	fputs("README.md, docs/SERVICE.md, docs/CONTROL-FILE.md, docs/METRICS.md, "
	      "docs/CLIENT.md, docs/SEEDFILE.md in the source tree.\n", out);
}
