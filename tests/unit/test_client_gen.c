/* Client generations: the table is complete, every transcript of the
 * real client ant 0.5.2 (tests/fixtures/ant-cli-0.5.2) replays through
 * the parser and classifier to the right outcome, cost, address and chunk
 * counts, every exit code of the client's table is classified as
 * docs/CLIENT.md says (one test per code), token amounts parse exactly,
 * and peers are checked as multiaddrs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "client_gen.h"
#include "config.h"
#include "multiaddr.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX05 ANT_SOURCE_DIR "/tests/fixtures/ant-cli-0.5.2"
#define FIX02 ANT_SOURCE_DIR "/tests/fixtures/ant-client-0.2"
#define FIXTURE_CAP (1024 * 1024)

static char *read_fixture(const char *dir, const char *name, const char *ext)
{
	char path[512];
	struct buf b;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	buf_init(&b, FIXTURE_CAP);
	if (file_read_all(path, FIXTURE_CAP, &b) != 0)
		fail_msg("cannot read %s", path);
	return b.data ? b.data : xstrdup("");
}

/* ---------------------------------------------------------------- */
/* The table.                                                        */

static void test_table_complete(void **state)
{
	(void)state;
	assert_true(client_gens_count >= 1);
	for (size_t i = 0; i < client_gens_count; i++) {
		const struct client_gen *g = client_gens[i];

		assert_non_null(g->name);
		assert_non_null(g->title);
		assert_non_null(g->version_pattern);
		assert_non_null(g->version_parse);
		assert_non_null(g->build_argv);
		assert_non_null(g->build_env);
		assert_non_null(g->env_pass);
		assert_non_null(g->parse_output);
		assert_non_null(g->codes);
		assert_true(g->ncodes > 0);
		assert_non_null(g->texts);
		assert_true(g->ntexts > 0);
		assert_true(g->ntext_exit_codes == 0 || g->text_exit_codes != NULL);
		assert_non_null(g->wallet_env);
		assert_ptr_equal(client_gen_by_name(g->name), g);
		/* No code twice: the first row would hide the second. */
		for (size_t a = 0; a < g->ncodes; a++) {
			assert_non_null(g->codes[a].what);
			for (size_t b = a + 1; b < g->ncodes; b++)
				assert_int_not_equal(g->codes[a].code, g->codes[b].code);
		}
		for (size_t a = 0; a < g->ntexts; a++) {
			assert_non_null(g->texts[a].text);
			assert_non_null(g->texts[a].what);
		}
	}
}

/* Every code ant-cli/src/exit_code.rs can return, plus clap's 2 and a
 * panic's 101, is a row of the 0.5 table. */
static void test_ant05_covers_the_real_table(void **state)
{
	static const int real[] = { 2, 6, 11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36,
		37, 41, 42, 44, 45, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 101 };
	const struct client_gen *g = &client_gen_ant05;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
		bool found = false;

		for (size_t k = 0; k < g->ncodes; k++)
			found |= g->codes[k].code == real[i];
		if (!found)
			fail_msg("exit code %d of ant-cli is not in the table", real[i]);
	}
	assert_int_equal(g->ncodes, ARRAY_SIZE(real));
}

/* ---------------------------------------------------------------- */
/* One test per exit code.                                           */

struct code_case {
	int code;
	enum test_status download, other;
};

#define NET ST_NETWORK_ERROR
#define CLI ST_CLIENT_ERROR
#define LOSS ST_DATA_LOSS
#define UNK ST_UNKNOWN_ERROR

/* docs/CLIENT.md, written out again here so a change of the table has to
 * be a change of this list too. */
static const struct code_case code_cases[] = {
	{ 1, UNK, UNK }, { 2, CLI, CLI }, { 6, CLI, CLI }, { 11, LOSS, CLI }, { 12, CLI, CLI },
	{ 13, NET, NET }, { 14, NET, NET }, { 15, CLI, CLI }, { 21, CLI, CLI }, { 22, CLI, CLI },
	{ 23, NET, NET }, { 31, LOSS, NET }, { 32, LOSS, NET }, { 33, LOSS, NET },
	{ 34, LOSS, NET }, { 35, CLI, CLI }, { 36, CLI, CLI }, { 37, NET, NET }, { 41, NET, NET },
	{ 42, CLI, CLI }, { 43, UNK, UNK }, { 44, NET, NET }, { 45, NET, NET }, { 51, NET, NET },
	{ 52, CLI, CLI }, { 53, CLI, CLI }, { 54, NET, NET }, { 55, CLI, CLI }, { 56, NET, NET },
	{ 57, NET, NET }, { 58, CLI, CLI }, { 59, NET, NET }, { 60, CLI, CLI }, { 61, CLI, CLI },
	{ 62, CLI, CLI }, { 99, UNK, UNK }, { 101, CLI, CLI },
};

static void test_exit_code(void **state)
{
	const struct code_case *c = *state;
	static const enum client_op ops[] = { CLIENT_OP_DOWNLOAD, CLIENT_OP_COST, CLIENT_OP_UPLOAD };
	char why[160];

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		enum test_status want = ops[i] == CLIENT_OP_DOWNLOAD ? c->download : c->other;
		/* The code decides, whatever the text and the success line say. */
		enum test_status got = client_gen_classify(&client_gen_ant05, ops[i], c->code, 0, false,
							   true, "Record could not be found", why,
							   sizeof(why));

		if (c->code == 1)
			continue; /* exit 1: the text decides, see test_exit_1_by_text */
		if (got != want)
			fail_msg("exit %d, %s: %s, want %s (%s)", c->code, client_op_name(ops[i]),
				 test_status_name(got), test_status_name(want), why);
		if (want != UNK && strstr(why, "exit code") == NULL)
			fail_msg("exit %d: reason '%s' does not name the code", c->code, why);
	}
}

static void test_exit_1_by_text(void **state)
{
	static const struct { enum client_op op; const char *text; enum test_status st; } t[] = {
		{ CLIENT_OP_COST, "Cost error: Network error: GetClosestPeersTimeout", NET },
		{ CLIENT_OP_COST, "Cost error: Not enough node quotes for b2ef8e.., got: 2", NET },
		{ CLIENT_OP_COST, "Failed to connect to the network", NET },
		{ CLIENT_OP_COST, "No such file or directory (os error 2)", CLI },
		{ CLIENT_OP_COST, "thread 'main' panicked at src/x.rs", CLI },
		{ CLIENT_OP_DOWNLOAD, "Record could not be found", LOSS },
		{ CLIENT_OP_UPLOAD, "Record could not be found", NET },
		{ CLIENT_OP_UPLOAD, "Insufficient tokens to pay for quotes", CLI },
		{ CLIENT_OP_COST, "Something went wrong", UNK },
		{ CLIENT_OP_COST, "", UNK },
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum test_status got = client_gen_classify(&client_gen_ant05, t[i].op, 1, 0, false, false,
							   t[i].text, why, sizeof(why));

		if (got != t[i].st)
			fail_msg("exit 1 '%s': %s", t[i].text, test_status_name(got));
	}
	/* Only the generic code reads the text: 99 with a network text is unknown. */
	assert_int_equal(client_gen_classify(&client_gen_ant05, CLIENT_OP_COST, 99, 0, false, false,
					     "Failed to connect to the network", why, sizeof(why)),
			 UNK);
	/* Agent stops, signals, exit 0 without the success line. */
	assert_int_equal(client_gen_classify(&client_gen_ant05, CLIENT_OP_COST, 0, 0, true, true, "",
					     why, sizeof(why)), ST_KILLED);
	assert_int_equal(client_gen_classify(&client_gen_ant05, CLIENT_OP_COST, -1, 11, false, false,
					     "", why, sizeof(why)), UNK);
	assert_int_equal(client_gen_classify(&client_gen_ant05, CLIENT_OP_COST, 0, 0, false, false, "",
					     why, sizeof(why)), UNK);
	assert_int_equal(client_gen_classify(&client_gen_ant05, CLIENT_OP_COST, 0, 0, false, true, "",
					     why, sizeof(why)), ST_OK);
}

/* ---------------------------------------------------------------- */
/* The transcripts.                                                  */

struct replay {
	const char *name;
	enum client_op op;
	enum test_status status;
	bool has_cost;
	uint64_t cost_atto;
	const char *address;        /* "" none */
	int64_t stored, existing;   /* -1: not printed */
};

static const struct replay replays[] = {
	{ "cost-ok", CLIENT_OP_COST, ST_OK, true, UINT64_C(3000000000000), "", -1, -1 },
	{ "cost-after-upload", CLIENT_OP_COST, ST_OK, true, 0, "", -1, -1 },
	{ "cost-fail-connect", CLIENT_OP_COST, NET, false, 0, "", -1, -1 },
	{ "cost-fail-notenoughquotes", CLIENT_OP_COST, NET, false, 0, "", -1, -1 },
	{ "cost-fail-timeout", CLIENT_OP_COST, NET, false, 0, "", -1, -1 },
	{ "download-ok", CLIENT_OP_DOWNLOAD, ST_OK, false, 0, "", -1, -1 },
	{ "download-notfound", CLIENT_OP_DOWNLOAD, LOSS, false, 0, "", -1, -1 },
	{ "download-bad-address", CLIENT_OP_DOWNLOAD, CLI, false, 0, "", -1, -1 },
	{ "download-fail-connect", CLIENT_OP_DOWNLOAD, NET, false, 0, "", -1, -1 },
	{ "upload-public-ok", CLIENT_OP_UPLOAD, ST_OK, true, UINT64_C(4000000000000),
	  "b7b2e5824a9e25ba3714e55477b1c342fe2d225ebb7f7d41e1a3f1524ccfe80b", 4, 0 },
	{ "upload-private-ok", CLIENT_OP_UPLOAD, ST_OK, true, UINT64_C(3000000000000),
	  "6750351863087593837", 3, 0 },
	{ "upload-again-all-exist", CLIENT_OP_UPLOAD, ST_OK, true, 0, "", 0, 4 },
	{ "upload-nowallet", CLIENT_OP_UPLOAD, CLI, false, 0, "", -1, -1 },
	{ "upload-fail-quotes", CLIENT_OP_UPLOAD, NET, false, 0, "", -1, -1 },
	{ "upload-fail-funds", CLIENT_OP_UPLOAD, CLI, false, 0, "", -1, -1 },
	{ "upload-fail-put", CLIENT_OP_UPLOAD, NET, false, 0, "", -1, -1 },
	{ "usage-bad-peer", CLIENT_OP_DOWNLOAD, CLI, false, 0, "", -1, -1 },
};

static void replay_one(const struct replay *r)
{
	char *out = read_fixture(FIX05, r->name, "stdout");
	char *err = read_fixture(FIX05, r->name, "stderr");
	char *code_s = read_fixture(FIX05, r->name, "exit");
	struct client_parsed p;
	enum test_status st;
	char why[160];
	int64_t code;

	str_trim(code_s);
	assert_int_equal(parse_i64(code_s, 0, 255, &code), 0);
	client_strip_ansi(out);
	client_strip_ansi(err);
	assert_null(strchr(err, '\x1b'));
	client_gen_ant05.parse_output(r->op, out, &p);
	st = client_gen_classify(&client_gen_ant05, r->op, (int)code, 0, false, p.success_line, err,
				 why, sizeof(why));
	if (st != r->status)
		fail_msg("%s: %s (%s), want %s", r->name, test_status_name(st), why,
			 test_status_name(r->status));
	if (p.has_cost != r->has_cost || p.cost_atto != r->cost_atto)
		fail_msg("%s: cost %d/%llu, want %d/%llu", r->name, p.has_cost,
			 (unsigned long long)p.cost_atto, r->has_cost, (unsigned long long)r->cost_atto);
	if (strcmp(p.address, r->address) != 0)
		fail_msg("%s: address '%s', want '%s'", r->name, p.address, r->address);
	if (p.chunks_uploaded != r->stored || p.chunks_existing != r->existing)
		fail_msg("%s: chunks %lld/%lld, want %lld/%lld", r->name, (long long)p.chunks_uploaded,
			 (long long)p.chunks_existing, (long long)r->stored, (long long)r->existing);
	free(out);
	free(err);
	free(code_s);
}

static void test_replay_transcripts(void **state)
{
	DIR *d = opendir(FIX05);
	struct dirent *e;
	int seen = 0;

	(void)state;
	assert_non_null(d);
	/* Every case in the directory has an expectation: a new transcript
	 * cannot go unreplayed. */
	while ((e = readdir(d)) != NULL) {
		char name[256];
		char *dot = strrchr(e->d_name, '.');
		bool known = false;

		if (dot == NULL || strcmp(dot, ".exit") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(dot - e->d_name), e->d_name);
		if (strcmp(name, "version") == 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(replays); i++) {
			if (strcmp(replays[i].name, name) == 0) {
				replay_one(&replays[i]);
				known = true;
				seen++;
			}
		}
		if (!known)
			fail_msg("transcript %s has no expectation here", name);
	}
	closedir(d);
	assert_int_equal(seen, (int)ARRAY_SIZE(replays));
}

/* Every ant 0.2.x transcript (tests/fixtures/ant-client-0.2): outcome,
 * exact cost and gas (only --json gives them; the text form is rounded,
 * except "free"), address, chunk counts. */
struct replay02 {
	const char *name;
	enum client_op op;
	enum test_status status;
	bool has_cost;
	uint64_t cost_atto;
	bool has_gas;
	uint64_t gas_wei;
	const char *address;
	int64_t stored, existing;
};

#define ADDR02 "7e564a714d5c8c69fdc853ab85a2701b32107a8c1c3e081ae7a170df6a32e14b"
static const struct replay02 replays02[] = {
	{ "bootstrap-flag", CLIENT_OP_COST, ST_OK, true, 0, false, 0, "", -1, -1 },
	{ "cost-after-upload", CLIENT_OP_COST, ST_OK, true, 0, false, 0, "", -1, -1 },
	{ "cost-fail-connect", CLIENT_OP_COST, NET, false, 0, false, 0, "", -1, -1 },
	{ "cost-fail", CLIENT_OP_COST, NET, false, 0, false, 0, "", -1, -1 },
	{ "cost-json", CLIENT_OP_COST, ST_OK, true, UINT64_C(9000000000000), true,
	  UINT64_C(150000000000000), "", -1, -1 },
	{ "cost-ok", CLIENT_OP_COST, ST_OK, false, 0, false, 0, "", -1, -1 },
	{ "download-bad-address", CLIENT_OP_DOWNLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "download-fail-connect", CLIENT_OP_DOWNLOAD, NET, false, 0, false, 0, "", -1, -1 },
	{ "download-json", CLIENT_OP_DOWNLOAD, ST_OK, false, 0, false, 0, "", -1, -1 },
	{ "download-no-output", CLIENT_OP_DOWNLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "download-notfound", CLIENT_OP_DOWNLOAD, LOSS, false, 0, false, 0, "", -1, -1 },
	{ "download-ok", CLIENT_OP_DOWNLOAD, ST_OK, false, 0, false, 0, "", -1, -1 },
	{ "download-old-syntax", CLIENT_OP_DOWNLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "download-private-ok", CLIENT_OP_DOWNLOAD, ST_OK, false, 0, false, 0, "", -1, -1 },
	{ "download-short-address", CLIENT_OP_DOWNLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "no-bootstrap", CLIENT_OP_COST, CLI, false, 0, false, 0, "", -1, -1 },
	{ "upload-again-private", CLIENT_OP_UPLOAD, ST_OK, true, 0, false, 0, "", 0, 3 },
	{ "upload-again", CLIENT_OP_UPLOAD, ST_OK, true, 0, false, 0, ADDR02, 0, 4 },
	{ "upload-bad-key", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-connect", CLIENT_OP_UPLOAD, NET, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-funds", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-gas", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-peers", CLIENT_OP_UPLOAD, NET, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-put-json", CLIENT_OP_UPLOAD, NET, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-put", CLIENT_OP_UPLOAD, NET, false, 0, false, 0, "", -1, -1 },
	{ "upload-fail-quotes", CLIENT_OP_UPLOAD, NET, false, 0, false, 0, "", -1, -1 },
	{ "upload-json", CLIENT_OP_UPLOAD, ST_OK, true, UINT64_C(9000000000000), true,
	  UINT64_C(3000000000000), "0a3506455c97ba6a60ccc0e1b818fd249f6860529e2bda51ee118cb0b9e6c17f", 4, 0 },
	{ "upload-missing-file", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "upload-nowallet", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "upload-private-ok", CLIENT_OP_UPLOAD, ST_OK, false, 0, false, 0, "", -1, -1 },
	{ "upload-public-ok", CLIENT_OP_UPLOAD, ST_OK, false, 0, false, 0, ADDR02, -1, -1 },
	{ "usage-error", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "usage-flag-after-subcommand", CLIENT_OP_UPLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "v020-download-no-output", CLIENT_OP_DOWNLOAD, CLI, false, 0, false, 0, "", -1, -1 },
	{ "v020-upload-private-ok", CLIENT_OP_UPLOAD, ST_OK, false, 0, false, 0, "", -1, -1 },
};

static void replay02_one(const struct replay02 *r)
{
	char *out = read_fixture(FIX02, r->name, "stdout");
	char *err = read_fixture(FIX02, r->name, "stderr");
	char *code_s = read_fixture(FIX02, r->name, "exit");
	struct client_parsed p;
	enum test_status st;
	char why[160];
	int64_t code;

	str_trim(code_s);
	assert_int_equal(parse_i64(code_s, 0, 255, &code), 0);
	client_strip_ansi(out);
	client_strip_ansi(err);
	client_gen_ant02.parse_output(r->op, out, &p);
	st = client_gen_classify(&client_gen_ant02, r->op, (int)code, 0, false, p.success_line, err,
				 why, sizeof(why));
	if (st != r->status)
		fail_msg("%s: %s (%s), want %s", r->name, test_status_name(st), why,
			 test_status_name(r->status));
	if (p.has_cost != r->has_cost || p.cost_atto != r->cost_atto)
		fail_msg("%s: cost %d/%llu, want %d/%llu", r->name, p.has_cost,
			 (unsigned long long)p.cost_atto, r->has_cost, (unsigned long long)r->cost_atto);
	if (p.has_gas != r->has_gas || p.gas_wei != r->gas_wei)
		fail_msg("%s: gas %d/%llu, want %d/%llu", r->name, p.has_gas,
			 (unsigned long long)p.gas_wei, r->has_gas, (unsigned long long)r->gas_wei);
	if (strcmp(p.address, r->address) != 0)
		fail_msg("%s: address '%s', want '%s'", r->name, p.address, r->address);
	if (p.chunks_uploaded != r->stored || p.chunks_existing != r->existing)
		fail_msg("%s: chunks %lld/%lld, want %lld/%lld", r->name, (long long)p.chunks_uploaded,
			 (long long)p.chunks_existing, (long long)r->stored, (long long)r->existing);
	free(out);
	free(err);
	free(code_s);
}

static void test_replay_transcripts_02(void **state)
{
	DIR *d = opendir(FIX02);
	struct dirent *e;
	int seen = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char name[256];
		char *dot = strrchr(e->d_name, '.');
		bool known = false;

		if (dot == NULL || strcmp(dot, ".exit") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(dot - e->d_name), e->d_name);
		/* --version and --help are not test calls (detection is below). */
		if (strcmp(name, "version") == 0 || strcmp(name, "v020-version") == 0 ||
		    strcmp(name, "help") == 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(replays02); i++) {
			if (strcmp(replays02[i].name, name) == 0) {
				replay02_one(&replays02[i]);
				known = true;
				seen++;
			}
		}
		if (!known)
			fail_msg("transcript %s has no expectation here", name);
	}
	closedir(d);
	assert_int_equal(seen, (int)ARRAY_SIZE(replays02));
}

/* An exact amount past what a double holds exactly stays exact; one past
 * 2^64-1, or not digits, is no amount. */
static void test_ant02_json_amounts(void **state)
{
	struct client_parsed p;

	(void)state;
	client_gen_ant02.parse_output(CLIENT_OP_COST,
				      "{\"storage_cost_atto\":\"18446744073709551615\",\"estimated_gas_cost_wei\":\"9007199254740993\"}\n",
				      &p);
	assert_true(p.success_line);
	assert_true(p.cost_atto == UINT64_MAX);
	assert_true(p.gas_wei == UINT64_C(9007199254740993));
	client_gen_ant02.parse_output(CLIENT_OP_COST, "{\"storage_cost_atto\":\"18446744073709551616\"}\n", &p);
	assert_false(p.success_line);
	assert_false(p.has_cost);
	client_gen_ant02.parse_output(CLIENT_OP_COST, "{\"storage_cost_atto\":9000}\n", &p);
	assert_false(p.has_cost);
	client_gen_ant02.parse_output(CLIENT_OP_COST, "{\"storage_cost_atto\":\"-1\"}\n", &p);
	assert_false(p.has_cost);
	client_gen_ant02.parse_output(CLIENT_OP_COST, "{\"storage_cost_atto\":\"1.5\"}\n", &p);
	assert_false(p.has_cost);
	/* Content already stored, JSON form: free, nothing stored. */
	client_gen_ant02.parse_output(CLIENT_OP_UPLOAD,
				      "{\"address\":\"" ADDR02 "\",\"chunks\":4,\"total_chunks\":4,\"chunks_stored\":0,"
				      "\"chunks_failed\":0,\"storage_cost_atto\":\"0\",\"gas_cost_wei\":\"0\"}\n",
				      &p);
	assert_true(p.success_line);
	assert_true(p.has_cost && p.cost_atto == 0);
	assert_int_equal(p.chunks_uploaded, 0);
	assert_int_equal(p.chunks_existing, 4);
	/* 0.2.0's JSON has no counts: free means all existed. */
	client_gen_ant02.parse_output(CLIENT_OP_UPLOAD,
				      "{\"address\":\"" ADDR02 "\",\"chunks\":4,\"storage_cost_atto\":\"0\"}\n", &p);
	assert_int_equal(p.chunks_uploaded, 0);
	assert_int_equal(p.chunks_existing, 4);
	/* Broken JSON is no result. */
	client_gen_ant02.parse_output(CLIENT_OP_DOWNLOAD, "{\"file\":\"x\"\n", &p);
	assert_false(p.success_line);
}

/* argv: --json and -b before `file`, -o for the output; peers as
 * IP:PORT from CLIENT_PEERS multiaddrs; the key only for uploads. */
static void test_ant02_argv_env(void **state)
{
	struct client_settings s = { .path = "/usr/bin/ant",
				     .peers = "/ip4/10.0.0.1/udp/12000/quic-v1/p2p/12D3KooWxyz, /ip6/::1/udp/9/quic-v1 /dns/x.y/udp/1",
				     .extra = "--ipv4-only" };
	struct client_request req = { .op = CLIENT_OP_DOWNLOAD, .address = "abcd", .dest = "/tmp/x/data" };
	static const char *const want_dl[] = { "/usr/bin/ant", "--ipv4-only", "--json", "-b",
					       "10.0.0.1:12000,[::1]:9", "file", "download", "abcd",
					       "-o", "/tmp/x/data", NULL };
	char *env[] = { "PATH=/bin", "SECRET_KEY=agent", NULL };
	char err[200];
	char **v;
	size_t i;

	(void)state;
	v = client_gen_ant02.build_argv(&s, &req, NULL, err, sizeof(err));
	assert_non_null(v);
	for (i = 0; want_dl[i]; i++)
		assert_string_equal(v[i], want_dl[i]);
	assert_null(v[i]);
	client_argv_free(v);
	/* No peers with a socket address: no -b (the client's own toml). */
	s.peers = "";
	req.op = CLIENT_OP_UPLOAD;
	req.file = "/tmp/seed";
	req.public_upload = true;
	v = client_gen_ant02.build_argv(&s, &req, NULL, err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(v[2], "--json");
	assert_string_equal(v[3], "file");
	assert_string_equal(v[4], "upload");
	assert_string_equal(v[6], "--public");
	assert_null(v[7]);
	client_argv_free(v);
	v = client_gen_ant02.build_env(env, &s, NULL);
	assert_string_equal(v[0], "PATH=/bin");
	assert_null(v[1]);
	client_argv_free(v);
	v = client_gen_ant02.build_env(env, &s, "k1");
	assert_string_equal(v[1], "SECRET_KEY=k1");
	assert_null(v[2]);
	client_argv_free(v);
}

static void test_version_detection(void **state)
{
	char *v05 = read_fixture(FIX05, "version", "stdout");
	char *v02 = read_fixture(FIX02, "version", "stdout");
	char version[64];

	(void)state;
	assert_ptr_equal(client_gen_detect(v05, version, sizeof(version)), &client_gen_ant05);
	assert_string_equal(version, "0.5.2");
	assert_true(client_gen_ant05.version_parse("Autonomi Client v0.3.12\n", version, sizeof(version)));
	assert_string_equal(version, "0.3.12");
	/* The 2.0 client is the other row; 0.2.0 too. */
	assert_ptr_equal(client_gen_detect(v02, version, sizeof(version)), &client_gen_ant02);
	assert_string_equal(version, "0.2.1-rc.1");
	assert_false(client_gen_ant05.version_parse(v02, version, sizeof(version)));
	assert_ptr_equal(client_gen_detect("ant 0.2.0\n", version, sizeof(version)), &client_gen_ant02);
	assert_string_equal(version, "0.2.0");
	/* Not a version of either: extra lines or words, a tag-unsafe tail. */
	assert_null(client_gen_detect("ant 0.2.0\nmore\n", version, sizeof(version)));
	assert_null(client_gen_detect("ant 0.2.0 beta\n", version, sizeof(version)));
	assert_null(client_gen_detect("ant 0.2.0-rc.1,x=1\n", version, sizeof(version)));
	assert_null(client_gen_detect("ant 1.0.0\n", version, sizeof(version)));
	assert_null(client_gen_detect("ant\n", version, sizeof(version)));
	/* Neither: an old one, something else. */
	assert_null(client_gen_detect("autonomi-cli 0.1.5\n", version, sizeof(version)));
	assert_null(client_gen_detect("Autonomi Client v0.2.9\n", version, sizeof(version)));
	assert_null(client_gen_detect("Autonomi Client v1.0.0\n", version, sizeof(version)));
	assert_null(client_gen_detect("", version, sizeof(version)));
	free(v05);
	free(v02);
}

static void test_select_generation(void **state)
{
	char version[64], err[512];

	(void)state;
	config_reset();
	assert_int_equal(client_select_generation("Autonomi Client v0.5.2\nNetwork version: x\n",
						  version, sizeof(version), err, sizeof(err)), 0);
	assert_ptr_equal(client_generation(), &client_gen_ant05);
	assert_string_equal(version, "0.5.2");
	assert_int_equal(client_select_generation("ant 0.2.1-rc.1\n", version, sizeof(version), err,
						  sizeof(err)), 0);
	assert_ptr_equal(client_generation(), &client_gen_ant02);
	assert_string_equal(version, "0.2.1-rc.1");
	/* Unknown: a start-up error that names the setting to override it. */
	assert_int_equal(client_select_generation("autonomi-cli 0.1.5\n", version, sizeof(version), err,
						  sizeof(err)), -1);
	assert_non_null(strstr(err, "CLIENT_GENERATION"));
	assert_non_null(strstr(err, "autonomi-cli 0.1.5"));
	assert_int_equal(config_set("CLIENT_GENERATION", "ant-0.5", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_int_equal(client_select_generation("ant 0.2.1-rc.1\n", version, sizeof(version), err,
						  sizeof(err)), 0);
	assert_ptr_equal(client_generation(), &client_gen_ant05);
	assert_string_equal(version, "unknown");
	assert_int_equal(config_set("CLIENT_GENERATION", "ant-0.2", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_int_equal(client_select_generation("Autonomi Client v0.5.2\n", version, sizeof(version),
						  err, sizeof(err)), 0);
	assert_ptr_equal(client_generation(), &client_gen_ant02);
	assert_string_equal(version, "unknown");
	assert_int_equal(config_set("CLIENT_GENERATION", "ant-9", CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_int_equal(client_select_generation("", version, sizeof(version), err, sizeof(err)), -1);
	config_reset();
}

/* ---------------------------------------------------------------- */
/* Exact amounts, peers.                                             */

static void test_parse_atto(void **state)
{
	static const struct { const char *s; int rc; uint64_t atto; } t[] = {
		{ "0.000003000000000000", 0, UINT64_C(3000000000000) },
		{ "0.000000000000000000", 0, 0 },
		{ "0.000000000000000001", 0, 1 },
		{ "1", 0, UINT64_C(1000000000000000000) },
		{ "1.5", 0, UINT64_C(1500000000000000000) },
		{ "18.446744073709551615", 0, UINT64_MAX },
		{ "18.446744073709551616", -1, 0 },
		{ "4000000000000 AttoTokens", 0, UINT64_C(4000000000000) },
		{ "18446744073709551615 AttoTokens", 0, UINT64_MAX },
		{ "18446744073709551616 AttoTokens", -1, 0 },
		{ "1.5 AttoTokens", -1, 0 },
		{ "0.0000000000000000001", -1, 0 },
		{ "1.", -1, 0 },
		{ ".5", -1, 0 },
		{ "1.2.3", -1, 0 },
		{ "12abc", -1, 0 },
		{ "-1", -1, 0 },
		{ "", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 42;
		int rc = client_parse_atto(t[i].s, &v, NULL);

		if (rc != t[i].rc || (rc == 0 && v != t[i].atto))
			fail_msg("'%s': rc %d value %llu", t[i].s, rc, (unsigned long long)v);
	}
}

static void test_multiaddr(void **state)
{
	static const char *const good[] = { "/ip4/1.2.3.4/udp/12000/quic-v1",
		"/ip4/142.93.37.4/udp/40184/quic-v1/p2p/12D3KooWPArH2XAw2sapcthNNcJRbbSuUtC3eBZrJtxi8DfcN1Yn",
		"/ip6/::1/tcp/7", "/dns4/example.org/tcp/443/wss", "/dnsaddr/bootstrap.libp2p.io", NULL };
	static const char *const bad[] = { "1.2.3.4:12000", "/ip4/1.2.3.4:12000", "/ip4/300.1.1.1/tcp/1",
		"/ip4/1.2.3.4/udp/70000", "/ip4/1.2.3.4/", "/foo/1", "/ip4", "/", "", "/p2p/12D3;rm",
		"/ip4/1.2.3.4/udp", NULL };
	char why[160], err[600];

	(void)state;
	for (int i = 0; good[i]; i++)
		if (!multiaddr_valid(good[i], why, sizeof(why)))
			fail_msg("'%s' refused: %s", good[i], why);
	for (int i = 0; bad[i]; i++)
		if (multiaddr_valid(bad[i], why, sizeof(why)))
			fail_msg("'%s' accepted", bad[i]);
	/* At settings load: the error names the setting and the bad entry. */
	config_reset();
	assert_int_equal(config_set("CLIENT_PEERS", "/ip4/1.2.3.4/udp/1/quic-v1, 1.2.3.4:12000",
				    CFG_SRC_CLI, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "CLIENT_PEERS"));
	assert_non_null(strstr(err, "entry 2 '1.2.3.4:12000'"));
	assert_int_equal(config_set("CLIENT_PEERS", "/ip4/1.2.3.4/udp/1/quic-v1 /ip6/::1/udp/2/quic-v1",
				    CFG_SRC_CLI, err, sizeof(err)), 0);
	assert_int_equal(config_set("CLIENT_PEERS", "", CFG_SRC_CLI, err, sizeof(err)), 0);
	config_reset();
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_ant05_covers_the_real_table),
		cmocka_unit_test(test_exit_1_by_text),
		cmocka_unit_test(test_replay_transcripts),
		cmocka_unit_test(test_replay_transcripts_02),
		cmocka_unit_test(test_ant02_json_amounts),
		cmocka_unit_test(test_ant02_argv_env),
		cmocka_unit_test(test_version_detection),
		cmocka_unit_test(test_select_generation),
		cmocka_unit_test(test_parse_atto),
		cmocka_unit_test(test_multiaddr),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(code_cases)];
	static char names[ARRAY_SIZE(code_cases)][32];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	/* One named test per exit code. */
	for (size_t i = 0; i < ARRAY_SIZE(code_cases); i++) {
		snprintf(names[i], sizeof(names[i]), "exit_code_%d", code_cases[i].code);
		memset(&tests[n], 0, sizeof(tests[n]));
		tests[n].name = names[i];
		tests[n].test_func = test_exit_code;
		tests[n].initial_state = (void *)(uintptr_t)&code_cases[i];
		n++;
	}
	return _cmocka_run_group_tests("client_gen", tests, n, NULL, NULL);
}
