/*
 * client_ant02.c - the `ant` 0.2.x generation ("Autonomi 2.0", crate
 * ant-cli on ant-core, WithAutonomi/ant-client; 0.2.0 and 0.2.1-rc.1).
 *
 * The source of truth is the client itself and its transcripts in
 * tests/fixtures/ant-client-0.2/: one line `ant 0.2.1-rc.1` for
 * `--version`; `--json` (a global flag) for one JSON line of results on
 * stdout with exact amounts as strings; peers as `-b IP:PORT[,...]`
 * before the subcommand; every runtime failure exits 1 with one line
 * `Error: <chain>` on stderr, 2 is a usage error and 101 a panic.
 * docs/CLIENT.md explains each choice.
 */
#include "client_gen.h"
#include "multiaddr.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANT02_VERSION_PREFIX "ant "
/* Longest "0.M.P-rc.N" taken as a version. */
#define ANT02_VERSION_MAX 32
/* Longest JSON result line read. */
#define ANT02_JSON_MAX (16 * 1024)
/* Longest "IP:PORT" derived from one multiaddr. */
#define ANT02_PEER_MAX 64
/* Longest text result line read. */
#define ANT02_LINE_MAX 1024

/* digits '.' digits '.' digits, each 1..4 long; moves *p. */
static bool take_dotted(const char **p, int parts)
{
	for (int i = 0; i < parts; i++) {
		size_t len = strspn(*p, "0123456789");

		if (len == 0 || len > 4)
			return false;
		*p += len;
		if (i + 1 < parts && *(*p)++ != '.')
			return false;
	}
	return true;
}

/* The only line: "ant 0.M.P" or "ant 0.M.P-rc.N" (README of the
 * transcripts: ^ant (0\.[0-9]+\.[0-9]+)(-rc\.[0-9]+)?$). */
static bool ant02_version_parse(const char *output, char *version, size_t n)
{
	const char *p = output, *start, *rest;
	size_t len;

	p += strspn(p, " \t\r\n");
	if (strncmp(p, ANT02_VERSION_PREFIX, strlen(ANT02_VERSION_PREFIX)) != 0)
		return false;
	start = p += strlen(ANT02_VERSION_PREFIX);
	if (p[0] != '0' || p[1] != '.')
		return false;
	if (!take_dotted(&p, 3))
		return false;
	if (strncmp(p, "-rc.", 4) == 0) {
		p += 4;
		if (!take_dotted(&p, 1))
			return false;
	}
	len = (size_t)(p - start);
	/* Nothing else on the line, and nothing after it. */
	rest = p + strspn(p, " \t\r\n");
	if (*rest != '\0' || len >= n || len > ANT02_VERSION_MAX)
		return false;
	memcpy(version, start, len);
	version[len] = '\0';
	return true;
}

/* One CLIENT_PEERS multiaddr as "IP:PORT" ("[IP6]:PORT"): the address of
 * its /ip4 or /ip6 component and the port of its first /udp or /tcp.
 * Returns false when it has no such pair (a /dns one, say). */
static bool peer_socket(const char *ma, size_t len, char *out, size_t n)
{
	char tmp[MULTIADDR_MAX + 1];
	const char *ip = NULL, *port = NULL;
	bool v6 = false;
	char *save = NULL, *tok;

	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, ma, len);
	tmp[len] = '\0';
	for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		char *val;

		if (strcmp(tok, "ip4") != 0 && strcmp(tok, "ip6") != 0 && strcmp(tok, "udp") != 0 &&
		    strcmp(tok, "tcp") != 0)
			continue;
		val = strtok_r(NULL, "/", &save);
		if (val == NULL)
			break;
		if (ip == NULL && (strcmp(tok, "ip4") == 0 || strcmp(tok, "ip6") == 0)) {
			ip = val;
			v6 = tok[2] == '6';
		} else if (port == NULL && (strcmp(tok, "udp") == 0 || strcmp(tok, "tcp") == 0)) {
			port = val;
		}
	}
	if (ip == NULL || port == NULL || strspn(ip, "0123456789abcdefABCDEF.:") != strlen(ip) ||
	    strspn(port, "0123456789") != strlen(port) || *port == '\0')
		return false;
	return snprintf(out, n, v6 ? "[%s]:%s" : "%s:%s", ip, port) < (int)n;
}

/* "-b" "IP:PORT,IP:PORT" from CLIENT_PEERS, when any entry has a socket
 * address; otherwise nothing and the client reads its own
 * ~/.config/ant/bootstrap_peers.toml. */
static void push_peers(struct client_argv *b, const char *peers)
{
	struct buf v;
	const char *p = peers;

	if (p == NULL)
		return;
	buf_init(&v, 64 * 1024);
	while (*p) {
		char one[ANT02_PEER_MAX];
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (peer_socket(p, len, one, sizeof(one))) {
			if (v.len)
				buf_append(&v, ",", 1);
			buf_append(&v, one, strlen(one));
		}
		p += len;
	}
	if (v.len) {
		client_argv_push(b, "-b");
		client_argv_push_n(b, v.data, v.len);
	}
	buf_free(&v);
}

/* ant [CLIENT_ARGS] --json [-b IP:PORT,...] file download ADDR -o DEST
 * ant [CLIENT_ARGS] --json [-b IP:PORT,...] file cost FILE
 * ant [CLIENT_ARGS] --json [-b IP:PORT,...] file upload FILE [--public]
 * Global flags before `file` (transcript usage-flag-after-subcommand). */
static char **ant02_build_argv(const struct client_settings *s, const struct client_request *req,
			       const struct client_call_ctx *ctx, char *err, size_t errlen)
{
	struct client_argv b;

	(void)ctx;
	if (s->path == NULL || *s->path == '\0') {
		snprintf(err, errlen, "CLIENT_PATH is empty");
		return NULL;
	}
	if (client_check_request(req, err, errlen) != 0)
		return NULL;
	client_argv_init(&b, CLIENT_ARGV_MAX);
	client_argv_push(&b, s->path);
	client_argv_push_split(&b, s->extra);
	client_argv_push(&b, "--json");
	push_peers(&b, s->peers);
	client_argv_push(&b, "file");
	switch (req->op) {
	case CLIENT_OP_DOWNLOAD:
		client_argv_push(&b, "download");
		client_argv_push(&b, req->address);
		client_argv_push(&b, "-o");
		client_argv_push(&b, req->dest);
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

/* What ant 0.2.x reads from its environment besides the base allowlist:
 * the EVM network settings, Rust's logging and backtraces, where its data
 * and configuration live, and TLS roots. Peers come as -b flags. */
static const char *const ant02_env_pass[] = {
	"EVM_NETWORK", "EVM_RPC_URL", "EVM_PAYMENT_TOKEN_ADDRESS", "EVM_DATA_PAYMENTS_ADDRESS",
	"RUST_LOG", "RUST_BACKTRACE", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "SSL_CERT_FILE",
	"SSL_CERT_DIR", NULL,
};

/* No variable names peers for this client: only SECRET_KEY, and only
 * for uploads. */
static char **ant02_build_env(char *const *env, const struct client_settings *s, const char *key)
{
	static const char *const drop_key[] = { "SECRET_KEY", NULL };
	struct client_argv b;
	char err[64];

	(void)s;
	client_argv_init(&b, CLIENT_ENV_MAX);
	client_env_copy_allowed(&b, env, ant02_env_pass, drop_key);
	if (key && *key) {
		size_t klen = strlen(key), plen = strlen("SECRET_KEY=");
		char *kv = xmalloc(plen + klen + 1);

		memcpy(kv, "SECRET_KEY=", plen);
		memcpy(kv + plen, key, klen + 1);
		client_argv_push(&b, kv);
		explicit_bzero(kv, plen + klen);
		free(kv);
	}
	return client_argv_finish(&b, err, sizeof(err));
}

/* An exact amount from a JSON string of decimal digits. */
static bool json_amount(json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);
	const char *s;
	char tmp[48];

	if (!json_is_string(j))
		return false;
	s = json_string_value(j);
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) + 12 >= sizeof(tmp))
		return false;
	snprintf(tmp, sizeof(tmp), "%s AttoTokens", s);
	return client_parse_atto(tmp, v, NULL) == 0;
}

static int64_t json_count(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	return (int64_t)json_integer_value(j);
}

/*
 * The JSON line of --json (README of the transcripts):
 *   cost:     {"file_size","chunk_count","storage_cost_atto":"N",
 *              "estimated_gas_cost_wei":"N","payment_mode"}
 *   upload:   {"address" | "datamap","mode","chunks","total_chunks",
 *              "chunks_stored","chunks_failed","size",
 *              "storage_cost_atto":"N","gas_cost_wei":"N","elapsed_secs"}
 *              (0.2.0: no total_chunks/chunks_stored/chunks_failed);
 *              a failed upload may print {"error":"partial_upload",...}
 *   download: {"file","size","elapsed_secs"}
 */
static void parse_json(enum client_op op, json_t *o, struct client_parsed *p)
{
	uint64_t v;

	if (json_object_get(o, "error") != NULL)
		return;
	if (op == CLIENT_OP_DOWNLOAD) {
		if (json_is_string(json_object_get(o, "file")))
			p->success_line = true;
		return;
	}
	if (json_amount(o, "storage_cost_atto", &v)) {
		p->has_cost = true;
		p->cost_atto = v;
	}
	if (json_amount(o, op == CLIENT_OP_COST ? "estimated_gas_cost_wei" : "gas_cost_wei", &v)) {
		p->has_gas = true;
		p->gas_wei = v;
	}
	if (op == CLIENT_OP_COST) {
		p->success_line = p->has_cost;
		return;
	}
	/* Upload. */
	{
		json_t *addr = json_object_get(o, "address");
		int64_t chunks = json_count(o, "chunks");
		int64_t total = json_count(o, "total_chunks");
		int64_t stored = json_count(o, "chunks_stored");
		int64_t failed = json_count(o, "chunks_failed");

		if (json_is_string(addr)) {
			const char *a = json_string_value(addr);

			if (strlen(a) <= CAT_ADDRESS_MAX && client_address_valid(a)) {
				str_copy(p->address, a, sizeof(p->address));
				p->success_line = true;
			} else {
				p->address_invalid = true;
			}
		} else if (json_is_string(json_object_get(o, "datamap"))) {
			/* Private: the data map is a local file, no address. */
			p->success_line = true;
		}
		if (!p->success_line || !p->has_cost)
			return;
		if (total < 0)
			total = chunks;
		if (stored >= 0 && total >= stored) {
			p->chunks_uploaded = stored;
			p->chunks_existing = total - stored - (failed > 0 ? failed : 0);
			if (p->chunks_existing < 0)
				p->chunks_existing = 0;
		} else if (p->cost_atto == 0 && total >= 0) {
			/* 0.2.0 prints no counts: free means already stored. */
			p->chunks_uploaded = 0;
			p->chunks_existing = total;
		}
		if (p->chunks_uploaded == 0 && p->cost_atto == 0)
			p->all_exist = true;
	}
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The text form (without --json, or what a wrapper prints): the result
 * block. Amounts there are rounded ("9000.00 nanoANT"), so only "free"
 * gives an exact cost. */
static void parse_text_line(enum client_op op, const char *line, bool *in_block,
			    struct client_parsed *p)
{
	const char *t = line + strspn(line, " \t");

	if (op == CLIENT_OP_DOWNLOAD && starts_with(t, "Download complete!")) {
		p->success_line = true;
	} else if (op == CLIENT_OP_UPLOAD && starts_with(t, "Upload complete!")) {
		*in_block = true;
	} else if (op == CLIENT_OP_COST && starts_with(t, "Estimated upload cost for")) {
		*in_block = true;
	} else if (!*in_block) {
		return;
	} else if (op == CLIENT_OP_UPLOAD && starts_with(t, "Address:")) {
		const char *a = t + strlen("Address:");
		char tmp[CAT_ADDRESS_MAX + 1];
		size_t len;

		a += strspn(a, " \t");
		len = strcspn(a, " \t\r");
		if (len == 0 || len > CAT_ADDRESS_MAX) {
			p->address_invalid = true;
			return;
		}
		memcpy(tmp, a, len);
		tmp[len] = '\0';
		if (client_address_valid(tmp)) {
			str_copy(p->address, tmp, sizeof(p->address));
			p->success_line = true;
		} else {
			p->address_invalid = true;
		}
	} else if (op == CLIENT_OP_UPLOAD && starts_with(t, "Datamap:")) {
		p->success_line = true;
	} else if (starts_with(t, "Chunks:")) {
		int64_t v;
		char num[24];
		const char *c = t + strlen("Chunks:");
		size_t len;

		c += strspn(c, " \t");
		len = strspn(c, "0123456789");
		if (len > 0 && len < sizeof(num)) {
			memcpy(num, c, len);
			num[len] = '\0';
			if (parse_i64(num, 0, INT64_MAX, &v) == 0)
				p->chunks_skipped = v;
		}
	} else if (starts_with(t, "Cost:")) {
		const char *c = t + strlen("Cost:");

		c += strspn(c, " \t");
		if (op == CLIENT_OP_COST)
			p->success_line = true;
		if (starts_with(c, "free")) {
			p->has_cost = true;
			p->cost_atto = 0;
			p->all_exist = true;
		}
	}
}

static void ant02_parse_output(enum client_op op, const char *out, struct client_parsed *p)
{
	bool in_block = false;

	memset(p, 0, sizeof(*p));
	p->chunks_uploaded = -1;
	p->chunks_existing = -1;
	while (out && *out) {
		const char *nl = strchr(out, '\n');
		size_t len = nl ? (size_t)(nl - out) : strlen(out);
		const char *t = out + strspn(out, " \t");

		if (*t == '{' && len < ANT02_JSON_MAX) {
			json_error_t jerr;
			json_t *o = json_loadb(out, len, JSON_REJECT_DUPLICATES, &jerr);

			if (json_is_object(o))
				parse_json(op, o, p);
			json_decref(o);
		} else if (len < ANT02_LINE_MAX) {
			char line[ANT02_LINE_MAX];

			memcpy(line, out, len);
			line[len] = '\0';
			parse_text_line(op, line, &in_block, p);
		}
		out = nl ? nl + 1 : NULL;
	}
	/* Text form of content already stored: free, nothing stored, every
	 * chunk of the block already there. */
	if (op == CLIENT_OP_UPLOAD && p->success_line && p->all_exist && p->chunks_uploaded < 0 &&
	    p->chunks_skipped > 0) {
		p->chunks_uploaded = 0;
		p->chunks_existing = p->chunks_skipped;
	}
}

#define NET ST_NETWORK_ERROR
#define CLI ST_CLIENT_ERROR
#define LOSS ST_DATA_LOSS

/* No exit-code table: 1 for every runtime failure (the text decides), 2
 * for clap usage errors, 101 for a panic. */
static const struct client_code_rule ant02_codes[] = {
	{ 2, CLI, CLI, "usage error (bad CLIENT_ARGS, or a flag of another client generation)" },
	{ 101, CLI, CLI, "client panicked" },
};

/* The one-line `Error: <chain>` texts (transcripts and main.rs); first
 * match wins, so specific causes come before the wrappers around them. */
static const struct client_text_rule ant02_texts[] = {
	{ "panicked", CLI, "client panicked" },
	{ "No bootstrap peers provided", CLI, "no bootstrap peers configured on this host" },
	{ "SECRET_KEY environment variable required", CLI, "no wallet key (SECRET_KEY)" },
	{ "Failed to create wallet", CLI, "wallet key invalid" },
	{ "Insufficient tokens", CLI, "insufficient tokens" },
	{ "insufficient funds for gas", CLI, "no gas for the token approval" },
	{ "DataMap chunk not found", LOSS, "data map not found" },
	{ "Invalid character", CLI, "invalid address" },
	{ "Odd number of digits", CLI, "invalid address" },
	{ "Invalid address length", CLI, "invalid address" },
	{ "--output is required", CLI, "download without an output file" },
	{ "No such file or directory", CLI, "local file missing" },
	{ "insufficient peers", NET, "not enough peers or quotes" },
	{ "Token approval failed", NET, "token approval failed (RPC)" },
	{ "Upload failed", NET, "chunks could not be stored" },
	{ "partial upload", NET, "chunks could not be stored" },
	{ "timeout", NET, "timed out" },
};

static const int ant02_text_codes[] = { 1 };

const struct client_gen client_gen_ant02 = {
	.name = "ant-0.2",
	.title = "ant 0.2.x (WithAutonomi/ant-client, Autonomi 2.0)",
	.version_pattern = "one line 'ant 0.M.P' or 'ant 0.M.P-rc.N'",
	.version_parse = ant02_version_parse,
	.build_argv = ant02_build_argv,
	.build_env = ant02_build_env,
	.env_pass = ant02_env_pass,
	.parse_output = ant02_parse_output,
	.codes = ant02_codes,
	.ncodes = ARRAY_SIZE(ant02_codes),
	.texts = ant02_texts,
	.ntexts = ARRAY_SIZE(ant02_texts),
	.text_exit_codes = ant02_text_codes,
	.ntext_exit_codes = ARRAY_SIZE(ant02_text_codes),
	.peers_env = NULL,
	.wallet_env = "SECRET_KEY",
	.log_dir_per_call = false,
	.no_cache_flag = NULL,
};
