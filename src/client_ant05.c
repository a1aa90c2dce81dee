/*
 * client_ant05.c - the `ant` 0.5.x generation (maidsafe/autonomi ant-cli,
 * 0.3.12 and later print the same shapes and use the same exit codes).
 *
 * The source of truth is the client itself: ant-cli/src/exit_code.rs for
 * the exit codes, and the transcripts of ant 0.5.2 in
 * tests/fixtures/ant-cli-0.5.2/ for every string, stream and code this
 * file reads. docs/CLIENT.md explains each choice.
 */
#include "client_gen.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANT05_VERSION_PREFIX "Autonomi Client v"

/* A decimal number of at most 4 digits at *p; moves *p past it. */
static bool take_number(const char **p, int64_t *v)
{
	char num[8];
	size_t len = strspn(*p, "0123456789");

	if (len == 0 || len >= 5)
		return false;
	memcpy(num, *p, len);
	num[len] = '\0';
	*p += len;
	return parse_i64(num, 0, 9999, v) == 0;
}

/* First non-empty line "Autonomi Client v0.M.P" with M >= 3 (0.3.12 is
 * the first with the exit-code table). */
static bool ant05_version_parse(const char *output, char *version, size_t n)
{
	const char *p = output, *start;
	int64_t major, minor, patch;
	size_t len;

	p += strspn(p, " \t\r\n");
	if (strncmp(p, ANT05_VERSION_PREFIX, strlen(ANT05_VERSION_PREFIX)) != 0)
		return false;
	start = p += strlen(ANT05_VERSION_PREFIX);
	if (!take_number(&p, &major) || *p++ != '.' || !take_number(&p, &minor) || *p++ != '.' ||
	    !take_number(&p, &patch))
		return false;
	if (major != 0 || minor < 3)
		return false;
	/* The tag value: digits and dots only, so it can never add a tag. */
	len = (size_t)(p - start);
	if (len >= n)
		return false;
	memcpy(version, start, len);
	version[len] = '\0';
	return true;
}

/* ant [CLIENT_ARGS] [--log-output-dest DIR] file download ADDR DEST --disable-cache
 * ant [CLIENT_ARGS] [--log-output-dest DIR] file cost FILE
 * ant [CLIENT_ARGS] [--log-output-dest DIR] file upload FILE [--public]
 * Peers never go on argv: `--peer` is read only for custom network ids,
 * ANT_PEERS for every network (see ant05_build_env). */
static char **ant05_build_argv(const struct client_settings *s, const struct client_request *req,
			       const struct client_call_ctx *ctx, char *err, size_t errlen)
{
	struct client_argv b;

	if (s->path == NULL || *s->path == '\0') {
		snprintf(err, errlen, "CLIENT_PATH is empty");
		return NULL;
	}
	if (client_check_request(req, err, errlen) != 0)
		return NULL;
	if (ctx && ctx->log_dir && !client_path_arg_ok(ctx->log_dir)) {
		snprintf(err, errlen, "refusing an unsafe client log directory");
		return NULL;
	}
	client_argv_init(&b, CLIENT_ARGV_MAX);
	client_argv_push(&b, s->path);
	client_argv_push_split(&b, s->extra);
	if (ctx && ctx->log_dir) {
		client_argv_push(&b, "--log-output-dest");
		client_argv_push(&b, ctx->log_dir);
	}
	client_argv_push(&b, "file");
	switch (req->op) {
	case CLIENT_OP_DOWNLOAD:
		client_argv_push(&b, "download");
		client_argv_push(&b, req->address);
		client_argv_push(&b, req->dest);
		/* Every test fetches from the network, never from the chunks an
		 * earlier call left in the client's cache. */
		client_argv_push(&b, client_gen_ant05.no_cache_flag);
		break;
	case CLIENT_OP_COST:
		client_argv_push(&b, "cost");
		client_argv_push(&b, req->file);
		break;
	case CLIENT_OP_UPLOAD:
		client_argv_push(&b, "upload");
		client_argv_push(&b, req->file);
		if (req->public_upload)
			client_argv_push(&b, "--public");
		break;
	}
	return client_argv_finish(&b, err, errlen);
}

/* What ant 0.5.x reads from its environment besides the base allowlist:
 * its peers, the EVM network of a custom or test network (evmlib), Rust's
 * logging and backtraces, where its data and configuration live, and the
 * TLS roots of a host without the usual ones. */
static const char *const ant05_env_pass[] = {
	"ANT_PEERS", "EVM_NETWORK", "EVM_RPC_URL", "EVM_PAYMENT_TOKEN_ADDRESS",
	"EVM_DATA_PAYMENTS_ADDRESS", "RUST_LOG", "RUST_BACKTRACE", "XDG_DATA_HOME",
	"XDG_CONFIG_HOME", "SSL_CERT_FILE", "SSL_CERT_DIR", NULL,
};

/* Peers as ANT_PEERS=a,b,c (CLIENT_PEERS may separate them with blanks);
 * the key as SECRET_KEY for uploads only. */
static char **ant05_build_env(char *const *env, const struct client_settings *s, const char *key)
{
	static const char *const drop_peers[] = { "ANT_PEERS", NULL };
	bool peers = s && s->peers && s->peers[strspn(s->peers, ", \t")] != '\0';
	struct client_argv b;
	char err[64];

	client_argv_init(&b, CLIENT_ENV_MAX);
	client_env_copy_allowed(&b, env, ant05_env_pass, peers ? drop_peers : NULL);
	if (peers) {
		struct buf v;
		const char *p = s->peers;
		bool first = true;

		buf_init(&v, 64 * 1024);
		buf_append(&v, "ANT_PEERS=", strlen("ANT_PEERS="));
		while (*p) {
			size_t len;

			p += strspn(p, ", \t");
			len = strcspn(p, ", \t");
			if (len == 0)
				break;
			if (!first)
				buf_append(&v, ",", 1);
			buf_append(&v, p, len);
			first = false;
			p += len;
		}
		client_argv_push_n(&b, v.data, v.len);
		buf_free(&v);
	}
	if (key && *key) {
		char *kv = xmalloc(strlen("SECRET_KEY=") + strlen(key) + 1);

		memcpy(kv, "SECRET_KEY=", strlen("SECRET_KEY="));
		memcpy(kv + strlen("SECRET_KEY="), key, strlen(key) + 1);
		client_argv_push(&b, kv);
		explicit_bzero(kv, strlen(kv));
		free(kv);
	}
	return client_argv_finish(&b, err, sizeof(err));
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int64_t count_after_colon(const char *line)
{
	const char *c = strrchr(line, ':');
	int64_t v;

	if (c == NULL || parse_i64(c + 1, 0, INT64_MAX, &v) != 0)
		return -1;
	return v;
}

static void parse_address(const char *a, struct client_parsed *p)
{
	char tmp[CAT_ADDRESS_MAX + 2];
	size_t len;

	a += strspn(a, " \t");
	len = strcspn(a, " \t\r");
	if (len > CAT_ADDRESS_MAX) {
		p->address_invalid = true;
		return;
	}
	memcpy(tmp, a, len);
	tmp[len] = '\0';
	/* Public: 64 hex digits; private: a decimal u64 alias, also digits. */
	if (client_address_valid(tmp)) {
		str_copy(p->address, tmp, sizeof(p->address));
		p->success_line = true;
	} else {
		p->address_invalid = true;
	}
}

/* "Gas cost: 412.340000 gwei (41234 gas @ 10000000 wei/gas)": the exact
 * wei are the gas units times the price; every payment batch adds one. */
static void parse_gas(const char *line, struct client_parsed *p)
{
	const char *o = strchr(line, '('), *at = strstr(line, " gas @ "), *end;
	char num[24];
	int64_t units, price;
	size_t len;

	if (o == NULL || at == NULL || at < o || strstr(at, " wei/gas)") == NULL)
		return;
	len = (size_t)(at - o - 1);
	if (len == 0 || len >= sizeof(num))
		return;
	memcpy(num, o + 1, len);
	num[len] = '\0';
	if (parse_i64(num, 0, INT64_MAX, &units) != 0)
		return;
	at += strlen(" gas @ ");
	end = strstr(at, " wei/gas)");
	len = (size_t)(end - at);
	if (len == 0 || len >= sizeof(num))
		return;
	memcpy(num, at, len);
	num[len] = '\0';
	if (parse_i64(num, 0, INT64_MAX, &price) != 0)
		return;
	if (price != 0 && (uint64_t)units > UINT64_MAX / (uint64_t)price)
		return; /* cannot be exact: not recorded */
	if (p->has_gas && p->gas_wei > UINT64_MAX - (uint64_t)units * (uint64_t)price)
		return;
	p->gas_wei += (uint64_t)units * (uint64_t)price;
	p->has_gas = true;
}

/*
 * The lines read, from ant-cli 0.5.2:
 *   cost:     "Total cost: 0.000003000000000000" (tokens, 18 decimals)
 *   upload:   "At address: <hex or decimal>", "Number of chunks uploaded: N",
 *             "Number of chunks already paid/uploaded: N",
 *             "Total cost: N AttoTokens"; for content already stored only
 *             "All chunks already exist on the network." after one
 *             "(i/n) Chunk stored at: ... (skipping, already exists)" per chunk
 *   download: "Successfully downloaded file at: <addr>" (not "Successfully
 *             downloaded chunks were cached.", which a failure prints).
 */
static void ant05_parse_line(enum client_op op, const char *line, struct client_parsed *p)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (starts_with(line, "Total cost:")) {
		const char *v = line + strlen("Total cost:");
		uint64_t atto;

		v += strspn(v, " \t");
		if (client_parse_atto(v, &atto, NULL) == 0) {
			p->has_cost = true;
			p->cost_atto = atto;
			if (op == CLIENT_OP_COST)
				p->success_line = true;
		}
	} else if (op == CLIENT_OP_DOWNLOAD && (starts_with(line, "Successfully downloaded file at:") ||
						starts_with(line, "Successfully downloaded data at:"))) {
		p->success_line = true;
	} else if (op == CLIENT_OP_UPLOAD && starts_with(line, "At address:")) {
		parse_address(line + strlen("At address:"), p);
	} else if (op == CLIENT_OP_UPLOAD && starts_with(line, "All chunks already exist on the network")) {
		p->all_exist = true;
		p->success_line = true;
	} else if (op == CLIENT_OP_UPLOAD && starts_with(line, "Gas cost:")) {
		parse_gas(line, p);
	} else if (starts_with(line, "Number of chunks uploaded:")) {
		p->chunks_uploaded = count_after_colon(line);
	} else if (starts_with(line, "Number of chunks already")) {
		p->chunks_existing = count_after_colon(line);
	} else if (op == CLIENT_OP_UPLOAD && strstr(line, "Chunk stored at:") != NULL &&
		   strstr(line, "(skipping, already exists)") != NULL) {
		p->chunks_skipped++;
	}
}

static void ant05_parse_output(enum client_op op, const char *out, struct client_parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->chunks_uploaded = -1;
	p->chunks_existing = -1;
	while (out && *out) {
		const char *nl = strchr(out, '\n');
		size_t len = nl ? (size_t)(nl - out) : strlen(out);
		char line[1024];

		/* Result lines are short; a longer line is progress noise. */
		if (len < sizeof(line)) {
			memcpy(line, out, len);
			line[len] = '\0';
			ant05_parse_line(op, line, p);
		}
		out = nl ? nl + 1 : NULL;
	}
	/* Content already stored: nothing was paid and nothing new stored;
	 * the client prints no counts and no cost, only the skipped chunks. */
	if (p->all_exist && !p->has_cost && p->chunks_uploaded < 0) {
		p->has_cost = true;
		p->cost_atto = 0;
		p->chunks_uploaded = 0;
		p->chunks_existing = p->chunks_skipped;
	}
}

#define NET ST_NETWORK_ERROR
#define CLI ST_CLIENT_ERROR
#define LOSS ST_DATA_LOSS

/* ant-cli/src/exit_code.rs, every code it can return, plus clap's 2 and
 * Rust's 101. 43 is not used by the client. */
static const struct client_code_rule ant05_codes[] = {
	{ 2, CLI, CLI, "usage error (bad CLIENT_ARGS or a peer that is not a multiaddr)" },
	{ 6, CLI, CLI, "invalid input" },
	{ 11, LOSS, CLI, "serialization error" },
	{ 12, CLI, CLI, "I/O error or no wallet" },
	{ 13, NET, NET, "network error" },
	{ 14, NET, NET, "protocol error" },
	{ 15, CLI, CLI, "self-encryption error" },
	{ 21, CLI, CLI, "wallet and network do not match" },
	{ 22, CLI, CLI, "EVM wallet error (insufficient tokens or gas)" },
	{ 23, NET, NET, "the network could not quote (PayError::Cost)" },
	{ 31, LOSS, NET, "invalid data map" },
	{ 32, LOSS, NET, "decryption failed" },
	{ 33, LOSS, NET, "record not found" },
	{ 34, LOSS, NET, "record kind mismatch" },
	{ 35, CLI, CLI, "chunk cache configuration error" },
	{ 36, CLI, CLI, "unrecognised input" },
	{ 37, NET, NET, "failed get" },
	{ 41, NET, NET, "put cost error (no quotes)" },
	{ 42, CLI, CLI, "put wallet error" },
	{ 44, NET, NET, "chunks could not be stored (batch put)" },
	{ 45, NET, NET, "payees missing" },
	{ 51, NET, NET, "no bootstrap peers" },
	{ 52, CLI, CLI, "bootstrap cache unreadable" },
	{ 53, CLI, CLI, "no data directory for the bootstrap cache" },
	{ 54, NET, NET, "bootstrap peers could not be fetched" },
	{ 55, CLI, CLI, "bootstrap URL invalid" },
	{ 56, NET, NET, "bootstrap answer was not valid JSON" },
	{ 57, NET, NET, "bootstrap HTTP error" },
	{ 58, CLI, CLI, "bootstrap cache lock error" },
	{ 59, NET, NET, "connecting timed out" },
	{ 60, CLI, CLI, "protocol incompatible with the network (client too old or too new)" },
	{ 61, CLI, CLI, "EVM network configuration error" },
	{ 62, CLI, CLI, "gas fee setting error" },
	{ 101, CLI, CLI, "client panicked" },
};

/* Every `file cost` failure, and any error returned from main, exits 1
 * with a color_eyre report; these are its texts (transcripts cost-fail-*
 * and the error chains of the other cases). */
static const struct client_text_rule ant05_texts[] = {
	{ "panicked", CLI, "client panicked" },
	{ "Not enough node quotes", NET, "not enough node quotes" },
	{ "NotEnoughNodeQuotes", NET, "not enough node quotes" },
	{ "GetClosestPeersTimeout", NET, "get closest peers timed out" },
	{ "Get closest peers request timeout", NET, "get closest peers timed out" },
	{ "Failed to connect to the network", NET, "could not connect to the network" },
	{ "Failed to populate our routing table", NET, "could not connect to the network" },
	{ "Record could not be found", LOSS, "record not found" },
	{ "Failed to fetch data from address", LOSS, "data could not be fetched" },
	{ "Insufficient tokens", CLI, "insufficient tokens" },
	{ "Wallet error", CLI, "wallet error" },
	{ "No local wallets found", CLI, "no wallet" },
	{ "Failed to parse data address", CLI, "invalid address" },
	{ "No such file or directory", CLI, "local file missing" },
	{ "Network error", NET, "network error" },
	{ "Put record timeout", NET, "chunks could not be stored" },
};

static const int ant05_text_codes[] = { 1 };

const struct client_gen client_gen_ant05 = {
	.name = "ant-0.5",
	.title = "ant 0.5.x (maidsafe/autonomi ant-cli)",
	.version_pattern = "first line 'Autonomi Client v0.M.P' with M >= 3",
	.version_parse = ant05_version_parse,
	.build_argv = ant05_build_argv,
	.build_env = ant05_build_env,
	.parse_output = ant05_parse_output,
	.codes = ant05_codes,
	.ncodes = ARRAY_SIZE(ant05_codes),
	.texts = ant05_texts,
	.ntexts = ARRAY_SIZE(ant05_texts),
	.text_exit_codes = ant05_text_codes,
	.ntext_exit_codes = ARRAY_SIZE(ant05_text_codes),
	.peers_env = "ANT_PEERS",
	.wallet_env = "SECRET_KEY",
	.log_dir_per_call = true,
	.no_cache_flag = "--disable-cache",
	.env_pass = ant05_env_pass,
};
