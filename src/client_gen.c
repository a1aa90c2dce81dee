/*
 * client_gen.c - the table of client generations and what every row
 * shares: detection from `--version`, the classification engine that
 * reads a row's outcome table, and exact parsing of token amounts.
 */
#include "client_gen.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct client_gen *const client_gens[] = {
	&client_gen_ant05,
	&client_gen_ant02,
};
const size_t client_gens_count = ARRAY_SIZE(client_gens);

const struct client_gen *client_gen_detect(const char *output, char *version, size_t n)
{
	for (size_t i = 0; i < client_gens_count; i++)
		if (client_gens[i]->version_parse(output, version, n))
			return client_gens[i];
	return NULL;
}

const struct client_gen *client_gen_by_name(const char *name)
{
	for (size_t i = 0; name && i < client_gens_count; i++)
		if (strcasecmp(client_gens[i]->name, name) == 0)
			return client_gens[i];
	return NULL;
}

void client_gen_names(char *out, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < client_gens_count && len < n; i++) {
		int w = snprintf(out + len, n - len, "%s%s", i ? "|" : "", client_gens[i]->name);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* Data-loss findings only make sense for downloads. */
static enum test_status for_op(enum client_op op, enum test_status s)
{
	return (s == ST_DATA_LOSS && op != CLIENT_OP_DOWNLOAD) ? ST_NETWORK_ERROR : s;
}

static bool is_text_code(const struct client_gen *g, int code)
{
	for (size_t i = 0; i < g->ntext_exit_codes; i++)
		if (g->text_exit_codes[i] == code)
			return true;
	return false;
}

enum test_status client_gen_classify(const struct client_gen *g, enum client_op op, int exit_code,
				     int term_signal, bool stopped_by_agent, bool success_line,
				     const char *err_text, char *reason, size_t n)
{
	if (stopped_by_agent) {
		snprintf(reason, n, "stopped by the agent (timeout or shutdown)");
		return ST_KILLED;
	}
	if (term_signal != 0) {
		snprintf(reason, n, "client died from signal %d", term_signal);
		return ST_UNKNOWN_ERROR;
	}
	if (exit_code == 0) {
		if (success_line) {
			snprintf(reason, n, "ok");
			return ST_OK;
		}
		snprintf(reason, n, "exit code 0 without the %s success line", client_op_name(op));
		return ST_UNKNOWN_ERROR;
	}
	for (size_t i = 0; i < g->ncodes; i++) {
		if (g->codes[i].code == exit_code) {
			snprintf(reason, n, "exit code %d: %s", exit_code, g->codes[i].what);
			return op == CLIENT_OP_DOWNLOAD ? g->codes[i].download : g->codes[i].other;
		}
	}
	if (is_text_code(g, exit_code)) {
		for (size_t i = 0; err_text && i < g->ntexts; i++) {
			if (strcasestr(err_text, g->texts[i].text) != NULL) {
				snprintf(reason, n, "exit code %d: %s", exit_code, g->texts[i].what);
				return for_op(op, g->texts[i].status);
			}
		}
	}
	snprintf(reason, n, "exit code %d", exit_code);
	return ST_UNKNOWN_ERROR;
}

#define ATTO_DIGITS 18

/* Append decimal digits [s, s+len) to *v; -1 on overflow. */
static int add_digits(uint64_t *v, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

int client_parse_atto(const char *s, uint64_t *atto, const char **end)
{
	size_t ilen = strspn(s, "0123456789"), flen = 0;
	const char *p = s + ilen, *unit;
	uint64_t v = 0;
	bool has_dot = false;

	if (ilen == 0)
		return -1;
	if (*p == '.') {
		has_dot = true;
		flen = strspn(p + 1, "0123456789");
		if (flen == 0 || flen > ATTO_DIGITS)
			return -1;
	}
	unit = p + (has_dot ? flen + 1 : 0);
	/* Nothing glued to the number ("12abc", "1.5.6"). */
	if (*unit != '\0' && *unit != ' ' && *unit != '\t' && *unit != '\r')
		return -1;
	unit += strspn(unit, " \t");
	if (strncmp(unit, "AttoTokens", 10) == 0 && (unit[10] == '\0' || unit[10] == ' ' ||
						     unit[10] == '\t' || unit[10] == '\r')) {
		/* An integer of atto. */
		if (has_dot || add_digits(&v, s, ilen) != 0)
			return -1;
		unit += 10;
	} else {
		/* Tokens with up to 18 decimals: integer digits, then the
		 * decimals padded with zeros to 18. */
		if (add_digits(&v, s, ilen) != 0 || add_digits(&v, p + 1, flen) != 0)
			return -1;
		for (size_t i = flen; i < ATTO_DIGITS; i++) {
			if (v > UINT64_MAX / 10)
				return -1;
			v *= 10;
		}
	}
	*atto = v;
	if (end)
		*end = unit;
	return 0;
}
