/*
 * ant-sim - a stand-in for the Autonomi `ant` client over a local store,
 * with fault injection.
 *
 * It speaks like the real client, string for string: the transcripts of
 * ant 0.5.2 in tests/fixtures/ant-cli-0.5.2/ are the contract (which
 * stream, which ANSI colours, which exit code). The generation it plays
 * is a row of sim_gens[] picked by ANT_SIM_GENERATION: 0.5 (ant-cli
 * 0.5.2, the default) or 0.2 (the Autonomi 2.0 `ant` 0.2.1-rc.1, whose
 * transcripts are in tests/fixtures/ant-client-0.2/). Both share the
 * store, its dedup and the fault knobs.
 *
 * Store: ANT_SIM_STORE/<address>, where a public address is the hex
 * SHA-256 of the content and a private one a decimal alias of it. An
 * archive (an uploaded directory, or any upload with ANT_SIM_ARCHIVE=1) is
 * a stored manifest listing its files.
 *
 * Every knob is described in usage() below (`ant-sim --help`). Time here
 * is real time: the agent's virtual clock does not reach this process.
 */
#include "digest.h"
#include "multiaddr.h"
#include "seedfile.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SIM_VERSION_OLD "autonomi-cli 0.1.5\n"
#define SIM_ARCHIVE_MAGIC "ANT-SIM-ARCHIVE 1\n"
#define SIM_CONFIG_CAP (64 * 1024)
#define SIM_CONTENT_CAP (INT64_C(64) * 1024 * 1024 * 1024)
#define SIM_CHUNK_SIZE (4 * 1024 * 1024)
#define SIM_ATTO_PER_RECORD UINT64_C(1000000000000)
#define SIM_ATTO_PER_TOKEN UINT64_C(1000000000000000000)
/* Where the real client logs and caches without flags, under $HOME. */
#define SIM_DATA_DIR ".local/share/autonomi/client"

/* Exit codes of ant-cli (ant-cli/src/exit_code.rs), clap and Rust. */
enum {
	EXIT_MAIN_ERROR = 1, EXIT_USAGE_CLAP = 2, EXIT_INPUT = 6, EXIT_SERIALIZATION = 11,
	EXIT_IO = 12, EXIT_NETWORK = 13, EXIT_PROTOCOL = 14, EXIT_SELF_ENCRYPTION = 15,
	EXIT_WALLET = 22, EXIT_PAY_COST = 23, EXIT_DECRYPT = 32, EXIT_RECORD_NOT_FOUND = 33,
	EXIT_BATCH_PUT = 44, EXIT_NO_BOOTSTRAP = 51, EXIT_CONNECT_TIMEOUT = 59,
	EXIT_EVM_CONFIG = 61, EXIT_PANIC = 101,
};

/* color_eyre's colours as ant prints them on stderr. */
#define RED "\x1b[91m"
#define MAGENTA "\x1b[35m"
#define CYAN "\x1b[96m"
#define RESET "\x1b[0m"

enum fail_when { AT_CONNECT, AT_WORK, AT_TOP };

/* A failure of the real client: its exit code for downloads and uploads
 * (every `file cost` failure exits 1), the error chain color_eyre prints
 * (after the op's own first lines, see print_report), where, and what
 * stdout says first. */
struct fail_kind {
	const char *name;
	int code_download, code_upload;
	enum fail_when when;
	const char *chain[5];
	const char *cost_chain[4];   /* after "Cost error: " for cost; NULL: chain */
	const char *location;
	const char *suggestion;
	const char *stdout_line;
};

#define QUOTES_TEXT "NotEnoughNodeQuotes { content_addr: 2df196.., got: 2, required: 5 }"
#define QUOTES_INNER "Not enough node quotes for 2df196.., got: 2 and need at least 5"
#define TIMEOUT_TEXT "Network error: GetClosestPeersTimeout"
#define TIMEOUT_INNER "Get closest peers request timeout"
#define ROUTING_TEXT "Failed to populate our routing table with enough peers in time"

static const struct fail_kind fail_kinds[] = {
	{ "network", EXIT_NETWORK, EXIT_NETWORK, AT_WORK,
	  { TIMEOUT_TEXT, TIMEOUT_INNER }, { TIMEOUT_TEXT, TIMEOUT_INNER },
	  "ant-cli/src/commands/file.rs:412", NULL, NULL },
	{ "quote-timeout", EXIT_NETWORK, EXIT_PAY_COST, AT_WORK,
	  { "Error occurred during payment: Cost error: " TIMEOUT_TEXT, "Cost error: " TIMEOUT_TEXT,
	    TIMEOUT_TEXT, TIMEOUT_INNER },
	  { TIMEOUT_TEXT, TIMEOUT_INNER }, "ant-cli/src/commands/file.rs:412", NULL,
	  "Quoting or payment error encountered, no retry scheduled: Cost error: " TIMEOUT_TEXT },
	{ "quotes", EXIT_NETWORK, EXIT_PAY_COST, AT_WORK,
	  { "Error occurred during payment: Cost error: " QUOTES_TEXT, "Cost error: " QUOTES_TEXT,
	    QUOTES_INNER },
	  { "Not enough node quotes for b2ef8e.., got: 2 and need at least 5" },
	  "ant-cli/src/commands/file.rs:412", NULL,
	  "Quoting or payment error encountered, no retry scheduled: Cost error: " QUOTES_TEXT },
	{ "payment", EXIT_WALLET, EXIT_WALLET, AT_WORK,
	  { "Error occurred during payment: Wallet error: InsufficientTokensForQuotes(500000000000, 4000000000000)",
	    "Wallet error: InsufficientTokensForQuotes(500000000000, 4000000000000)",
	    "Insufficient tokens to pay for quotes. Have: 500000000000 atto, need: 4000000000000 atto" },
	  { NULL }, "ant-cli/src/commands/file.rs:412", NULL,
	  "Insufficient tokens: EvmWalletError(InsufficientTokensForQuotes(500000000000, 4000000000000)). Returning immediately." },
	{ "put", EXIT_BATCH_PUT, EXIT_BATCH_PUT, AT_WORK,
	  { "Batch upload: 4/4 uploads failed\n      2df196c137fa410c1eac0850b5330dfaa14d7a7e8d2b4d712fb73f9e042edf90: "
	    "Put record timeout, only the following peers stored the record: []\n      and 3 more...\n      " },
	  { NULL }, "ant-cli/src/commands/file.rs:392", NULL,
	  "(1/4) Chunk failed to be stored at: 2df196c137fa410c1eac0850b5330dfaa14d7a7e8d2b4d712fb73f9e042edf90 "
	  "(Put record timeout, only the following peers stored the record: [])" },
	{ "nowallet", EXIT_IO, EXIT_IO, AT_TOP, { "No local wallets found." }, { NULL },
	  "ant-cli/src/wallet/fs.rs:140", "Providing SECRET_KEY as an environment variable also works!", NULL },
	{ "connect", EXIT_CONNECT_TIMEOUT, EXIT_CONNECT_TIMEOUT, AT_CONNECT,
	  { "Failed to connect to the network", ROUTING_TEXT }, { NULL },
	  "ant-cli/src/actions/connect.rs:109", NULL, "Failed to connect to the network: " ROUTING_TEXT },
	{ "routing", EXIT_CONNECT_TIMEOUT, EXIT_CONNECT_TIMEOUT, AT_CONNECT,
	  { "Failed to connect to the network", ROUTING_TEXT }, { NULL },
	  "ant-cli/src/actions/connect.rs:109", NULL, "Failed to connect to the network: " ROUTING_TEXT },
	{ "bootstrap", EXIT_NO_BOOTSTRAP, EXIT_NO_BOOTSTRAP, AT_CONNECT,
	  { "Failed to connect to the network", "No bootstrap peers found" }, { NULL },
	  "ant-cli/src/actions/connect.rs:109", NULL,
	  "Failed to connect to the network: No bootstrap peers found" },
	{ "data", EXIT_RECORD_NOT_FOUND, EXIT_RECORD_NOT_FOUND, AT_WORK,
	  { "Record could not be found." }, { "Record could not be found." },
	  "ant-cli/src/actions/download.rs:157", NULL, NULL },
	{ "decrypt", EXIT_DECRYPT, EXIT_DECRYPT, AT_WORK,
	  { "Failed to decrypt data map" }, { NULL }, "ant-cli/src/actions/download.rs:157", NULL, NULL },
	{ "serialization", EXIT_SERIALIZATION, EXIT_SERIALIZATION, AT_WORK,
	  { "Failed to deserialize data" }, { NULL }, "ant-cli/src/actions/download.rs:157", NULL, NULL },
	{ "input", EXIT_INPUT, EXIT_INPUT, AT_TOP, { "Failed to parse data address" }, { NULL },
	  "ant-cli/src/actions/download.rs:46", NULL, NULL },
	{ "io", EXIT_IO, EXIT_IO, AT_WORK, { "I/O error: No space left on device (os error 28)" },
	  { NULL }, "ant-cli/src/commands/file.rs:412", NULL, NULL },
	{ "protocol", EXIT_PROTOCOL, EXIT_PROTOCOL, AT_WORK,
	  { "Protocol error: unexpected response from peer" }, { NULL },
	  "ant-cli/src/commands/file.rs:412", NULL, NULL },
	{ "selfenc", EXIT_SELF_ENCRYPTION, EXIT_SELF_ENCRYPTION, AT_WORK,
	  { "Self-encryption error" }, { NULL }, "ant-cli/src/commands/file.rs:412", NULL, NULL },
	{ "evm", EXIT_EVM_CONFIG, EXIT_EVM_CONFIG, AT_CONNECT,
	  { "Failed to connect to the network", "EVM network error: unknown network" }, { NULL },
	  "ant-cli/src/actions/connect.rs:109", NULL, NULL },
	{ "legacy-network", 1, 1, AT_TOP, { "Failed to connect to the network" }, { NULL },
	  "ant-cli/src/main.rs:42", NULL, NULL },
	{ "legacy-data", 1, 1, AT_TOP, { "Record could not be found" }, { NULL },
	  "ant-cli/src/main.rs:42", NULL, NULL },
	{ "legacy", 1, 1, AT_TOP, { "Something went wrong" }, { NULL }, "ant-cli/src/main.rs:42", NULL, NULL },
};

enum sim_op { OP_DOWNLOAD, OP_COST, OP_UPLOAD };

/* What the command line asked for. */
struct sim_args {
	const char *log_dest;      /* --log-output-dest */
	const char *cache_dir;     /* --cache-dir */
	bool disable_cache;        /* --disable-cache */
	bool public_data;          /* --public */
	enum sim_op op;
	const char *arg1, *arg2;   /* address and dest, or the file */
};

struct sim_gen {
	const char *name;          /* ANT_SIM_GENERATION value */
	const char *version;       /* `--version` output */
	int (*run)(int argc, char **argv);
};

static int run_ant05(int argc, char **argv);
static int run_ant02(int argc, char **argv);

static const struct sim_gen sim_gens[] = {
	{ "0.5", "Autonomi Client v0.5.2\nNetwork version: ant/1.0/1\nPackage version: 2026.2.3.2\n"
		 "Git info: stable / 00952f771 / 2026-02-19\n", run_ant05 },
	{ "0.2", "ant 0.2.1-rc.1\n", run_ant02 },
};

static struct buf g_config;  /* ANT_SIM_CONFIG contents */
static uint64_t g_rng;
static const struct sim_gen *g_gen;

static void usage(FILE *f)
{
	fputs(
"ant-sim - a stand-in for the Autonomi `ant` client over a local store\n"
"\n"
"Usage: ant-sim [GLOBAL FLAGS] file upload FILE|DIR [--public]\n"
"       ant-sim [GLOBAL FLAGS] file download ADDRESS DEST [--disable-cache] [--cache-dir DIR]\n"
"       ant-sim [GLOBAL FLAGS] file cost FILE\n"
"       ant-sim --version | --help\n"
"\n"
"Global flags (before the subcommand): --peer MULTIADDR, --log-output-dest DIR,\n"
"--network-id N, --timeout S; other --flags are accepted and ignored, with a\n"
"value when one follows. Peers also come from ANT_PEERS (comma-separated\n"
"multiaddrs); one that is not a multiaddr is a usage error (exit 2).\n"
"\n"
"Output, streams, colours and exit codes are those of ant 0.5.2: every\n"
"call prints 'Logging to directory: \"DIR\"' and logs into DIR (a new\n"
"$HOME/" SIM_DATA_DIR "/logs/log_<time> per call without\n"
"--log-output-dest); download prints 'Successfully downloaded file at: ADDR';\n"
"cost prints 'Total cost: <tokens, 18 decimals>' (0 for content already\n"
"stored); upload prints 'At address:', chunk counts and 'Total cost: N\n"
"AttoTokens', or only 'All chunks already exist on the network.' for content\n"
"already stored. Downloads are cached in $HOME/" SIM_DATA_DIR "/chunk_cache\n"
"(or --cache-dir) and served from there on a repeat, unless --disable-cache.\n"
"An unknown address exits 33, a malformed one 6. Every `file cost` failure\n"
"exits 1 with an 'Error:' report. Cost is deterministic: 10^12 atto per\n"
"record, records = max(3, ceil(size / 4 MiB)) chunks, plus one data map\n"
"when public.\n"
"\n"
"Knobs (environment, or KEY=VALUE lines in the file ANT_SIM_CONFIG; the\n"
"environment wins):\n"
"  ANT_SIM_GENERATION=G     the client generation to play: 0.5 (default) or 0.2\n"
"                           (`ant` 0.2.1-rc.1: `[--json] [-b IP:PORT,...] file\n"
"                           download ADDR -o FILE`, JSON results, every failure\n"
"                           exit 1 with one 'Error: ...' line, usage 2, panic 101;\n"
"                           the fault kinds map onto its error texts)\n"
"  ANT_SIM_STORE=DIR        the store (default ./ant-sim-store)\n"
"  ANT_SIM_VERSION_STYLE=new|old  --version prints the client's 4 lines (new,\n"
"                           default) or 'autonomi-cli 0.1.5' (old)\n"
"  ANT_SIM_LATENCY_MS=N     wait N ms (real time) before doing anything (default 0)\n"
"  ANT_SIM_BANDWIDTH=N      bytes per second for uploads and downloads (0 = no limit)\n"
"  ANT_SIM_FAIL_RATE=P      probability 0..1 that a call fails (1 when only\n"
"                           ANT_SIM_FAIL_KIND is set)\n"
"  ANT_SIM_FAIL_KIND=K      how it fails, as download/upload exit codes (cost: 1):\n"
"                           network(13) quote-timeout(13/23) quotes(13/23)\n"
"                           payment(22) put(44) nowallet(12) connect(59)\n"
"                           routing(59) bootstrap(51) data(33) decrypt(32)\n"
"                           serialization(11) input(6) io(12) protocol(14)\n"
"                           selfenc(15) evm(61) usage(2) panic(101)\n"
"                           legacy-network(1) legacy-data(1) legacy(1);\n"
"                           stderr carries the client's report, with its colours\n"
"  ANT_SIM_FAIL_OPS=LIST    only these ops fail: upload,download,cost (default all)\n"
"  ANT_SIM_HANG=MODE        never finish: 1 (sleep), fork (also fork a grandchild\n"
"                           that sleeps; its pid goes to ANT_SIM_HANG_PIDFILE),\n"
"                           stubborn (ignore SIGTERM, so only SIGKILL stops it),\n"
"                           polite (exit 143 on SIGTERM, first appending \"pid\n"
"                           start_ms term_ms\" (real time) to ANT_SIM_HANG_TERMFILE)\n"
"  ANT_SIM_PANIC=1          exit 101 with a Rust-style \"thread 'main' panicked\" message\n"
"  ANT_SIM_GARBAGE=1        print random bytes instead of the result and exit 0\n"
"  ANT_SIM_ENDLESS=WHERE    print lines forever to stdout, stderr or both\n"
"  ANT_SIM_CORRUPT=1        flip a byte of every downloaded file\n"
"  ANT_SIM_EXIT=N           do the work and print as usual, then exit N\n"
"  ANT_SIM_ARCHIVE=1        store every upload as an archive (a directory on download)\n"
"  ANT_SIM_SYNTHESIZE=N     an unknown address downloads as N bytes generated from\n"
"                           it (the seed file of its first 15 hex digits) instead of 33\n"
"  ANT_SIM_REQUIRE_KEY=1    uploads without SECRET_KEY exit 12 (no local wallets)\n"
"  ANT_SIM_SEED=N           seed for the random choices (default: time and pid)\n"
"  ANT_SIM_LOG=FILE         append one line per call: pid, whether SECRET_KEY was\n"
"                           set (never its value), ANT_PEERS and argv\n"
"  ANT_SIM_CHARGES=FILE     append one line per paid upload: 'atto gas_wei address'\n"
"  ANT_SIM_CONFIG=FILE      read knobs from FILE\n", f);
}

/* ---------------------------------------------------------------- */
/* Knobs, randomness, time.                                          */

static const char *knob(const char *name)
{
	const char *v = getenv(name);
	size_t nlen = strlen(name);

	if (v != NULL)
		return v;
	/* load_config() turned the file into NUL-separated lines. */
	for (size_t off = 0; off < g_config.len; off += strlen(g_config.data + off) + 1) {
		const char *line = g_config.data + off;

		if (strncmp(line, name, nlen) == 0 && line[nlen] == '=')
			return line + nlen + 1;
	}
	return NULL;
}

static int load_config(const char *path)
{
	buf_init(&g_config, SIM_CONFIG_CAP);
	if (file_read_all(path, SIM_CONFIG_CAP, &g_config) != 0)
		return -1;
	for (size_t i = 0; i < g_config.len; i++)
		if (g_config.data[i] == '\n' || g_config.data[i] == '\r')
			g_config.data[i] = '\0';
	return 0;
}

static bool knob_on(const char *name)
{
	const char *v = knob(name);
	bool b = false;

	return v && *v && (parse_bool(v, &b) != 0 || b);
}

static int64_t knob_int(const char *name, int64_t def, int64_t min, int64_t max)
{
	const char *v = knob(name);
	int64_t x;

	if (v == NULL || *v == '\0')
		return def;
	if (parse_i64(v, min, max, &x) != 0) {
		fprintf(stderr, "ant-sim: %s='%s' is not a number %lld..%lld\n", name, v,
			(long long)min, (long long)max);
		exit(EXIT_USAGE_CLAP);
	}
	return x;
}

static uint64_t rng_next(void)
{
	/* xorshift64*: plenty for choosing faults. */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * UINT64_C(2685821657736338717);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void throttle(uint64_t bytes)
{
	int64_t bw = knob_int("ANT_SIM_BANDWIDTH", 0, 0, INT64_MAX);

	if (bw > 0)
		sleep_ms((int64_t)((double)bytes * 1000.0 / (double)bw));
}

/* Append one whole line with a single write to an O_APPEND file, so lines
 * of concurrent calls never interleave. */
static void append_line(const char *path, const char *line, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	(void)!write(fd, line, len);
	close(fd);
}

static void buf_put_safe(struct buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		char c = (*p == '\n' || *p == '\r' || *p == ' ') ? '_' : *p;

		buf_append(b, &c, 1);
	}
}

static void log_invocation(int argc, char **argv)
{
	const char *path = knob("ANT_SIM_LOG");
	const char *peers = getenv("ANT_PEERS");
	struct buf b;

	if (path == NULL || *path == '\0')
		return;
	buf_init(&b, 16384);
	buf_printf(&b, "pid=%d secret_key=%s ant_peers=", (int)getpid(),
		   getenv("SECRET_KEY") && *getenv("SECRET_KEY") ? "yes" : "no");
	buf_put_safe(&b, peers ? peers : "-");
	buf_append(&b, " argv:", 6);
	for (int i = 1; i < argc; i++) {
		buf_append(&b, " ", 1);
		buf_put_safe(&b, argv[i]);
	}
	if (b.truncated)
		b.len = b.cap - 1;
	buf_append(&b, "\n", 1);
	if (b.data[b.len - 1] != '\n')
		b.data[b.len - 1] = '\n';
	append_line(path, b.data, b.len);
	buf_free(&b);
}

/* ---------------------------------------------------------------- */
/* How ant 0.5 reports errors: color_eyre on stderr.                 */

/* "   N: <red>line<reset>" for each line of the chain, then the
 * location, an optional suggestion and the backtrace note. A report
 * returned from main (every cost failure) starts "Error: ", one that the
 * client handles itself with an empty line. */
static void print_report(bool from_main, const char *const *chain, size_t n, const char *location,
			 const char *suggestion)
{
	char file[128];
	const char *colon = strrchr(location, ':');
	size_t flen = colon ? (size_t)(colon - location) : strlen(location);

	if (flen >= sizeof(file))
		flen = sizeof(file) - 1;
	memcpy(file, location, flen);
	file[flen] = '\0';
	fputs(from_main ? "Error: \n" : "\n", stderr);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "   %zu: " RED "%s" RESET "\n", i, chain[i]);
	fprintf(stderr, "\nLocation:\n   " MAGENTA "%s" RESET ":" MAGENTA "%s" RESET "\n", file,
		colon ? colon + 1 : "1");
	if (suggestion)
		fprintf(stderr, "\n" CYAN "Suggestion" RESET ": %s\n", suggestion);
	fputs("\nBacktrace omitted. Run with RUST_BACKTRACE=1 environment variable to display it.\n"
	      "Run with RUST_BACKTRACE=full to include source snippets.\n", stderr);
}

/* clap's usage error: plain text on stderr, exit 2, before anything runs. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\nUsage: ant [OPTIONS] [COMMAND]\n\nFor more information, try '--help'.\n", stderr);
	return EXIT_USAGE_CLAP;
}

static int do_panic(void)
{
	fputs("\nthread 'main' panicked at ant-cli/src/main.rs:42:5:\n"
	      "called `Option::unwrap()` on a `None` value\n"
	      "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
	      stderr);
	return EXIT_PANIC;
}

static size_t chain_len(const char *const *c, size_t max)
{
	size_t n = 0;

	while (n < max && c[n])
		n++;
	return n;
}

/* A download's stdout after a failure: the client still says this. */
static void print_download_leftovers(void)
{
	printf("Successfully downloaded chunks were cached.\n"
	       "Please run the command again to obtain the chunks that were not retrieved and complete the download.\n");
}

/* Act out fault k for op; the connection lines are already printed
 * unless the fault happens while connecting. */
static int fail_with(const struct fail_kind *k, enum sim_op op)
{
	const char *chain[8];
	size_t n = 0, m;

	if (k->stdout_line)
		printf("%s\n", k->stdout_line);
	if (op == OP_DOWNLOAD && k->when != AT_TOP)
		print_download_leftovers();
	fflush(stdout);
	if (op == OP_COST && k->when == AT_WORK) {
		/* Every cost failure: "Failed to calculate cost for file", then
		 * the cost error and its cause, returned from main. */
		static char cost_line[512];
		const char *const *inner = k->cost_chain[0] ? k->cost_chain : k->chain;

		m = chain_len(inner, k->cost_chain[0] ? 4 : 5);
		chain[n++] = "Failed to calculate cost for file";
		snprintf(cost_line, sizeof(cost_line), "Cost error: %s", inner[0]);
		chain[n++] = cost_line;
		for (size_t i = 0; i < m && n < ARRAY_SIZE(chain); i++)
			chain[n++] = inner[i];
		print_report(true, chain, n, "ant-cli/src/commands/file.rs:302", NULL);
		return EXIT_MAIN_ERROR;
	}
	if (k->when == AT_WORK && op == OP_DOWNLOAD)
		chain[n++] = "Failed to fetch data from address";
	if (k->when == AT_WORK && op == OP_UPLOAD) {
		chain[n++] = "Failed to upload file";
		chain[n++] = "Failed to upload file";
	}
	m = chain_len(k->chain, 5);
	for (size_t i = 0; i < m && n < ARRAY_SIZE(chain); i++)
		chain[n++] = k->chain[i];
	if (op == OP_COST || k->code_download == EXIT_MAIN_ERROR) {
		print_report(true, chain, n, k->location, k->suggestion);
		return EXIT_MAIN_ERROR;
	}
	print_report(false, chain, n, k->location, k->suggestion);
	return op == OP_DOWNLOAD ? k->code_download : k->code_upload;
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ANT_SIM_HANG=polite: wait for SIGTERM, say when it came, leave. The
 * agent's virtual clock does not reach this process, so both times are
 * real; a test turns the difference into schedule time with the speed. */
static void hang_polite(void)
{
	sigset_t set;
	int64_t start = real_ms();
	char line[96];
	int sig = 0, n;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("Connecting to the network...\n");
	fflush(stdout);
	while (sigwait(&set, &sig) != 0 || sig != SIGTERM)
		;
	n = snprintf(line, sizeof(line), "%d %lld %lld\n", (int)getpid(), (long long)start,
		     (long long)real_ms());
	if (knob("ANT_SIM_HANG_TERMFILE") && n > 0 && (size_t)n < sizeof(line))
		append_line(knob("ANT_SIM_HANG_TERMFILE"), line, (size_t)n);
	exit(143);
}

static void hang(const char *mode)
{
	if (strcmp(mode, "polite") == 0)
		hang_polite();
	if (strcmp(mode, "stubborn") == 0)
		signal(SIGTERM, SIG_IGN);
	if (strcmp(mode, "fork") == 0) {
		pid_t pid = fork();

		if (pid == 0) {
			for (;;)
				pause();
		}
		if (pid > 0 && knob("ANT_SIM_HANG_PIDFILE")) {
			char line[32];
			int n = snprintf(line, sizeof(line), "%d\n", (int)pid);

			append_line(knob("ANT_SIM_HANG_PIDFILE"), line, (size_t)n);
		}
	}
	printf("Connecting to the Autonomi network...\n");
	fflush(stdout);
	for (;;)
		pause();
}

static void endless(const char *where)
{
	char block[4096];
	bool out = strcmp(where, "stderr") != 0;
	bool err = strcmp(where, "stdout") != 0;
	size_t n = 0;

	while (n + 64 < sizeof(block))
		n += (size_t)snprintf(block + n, sizeof(block) - n,
				      "Fetching chunk %06zu of a file that never ends...\n", n);
	for (;;) {
		if (out && fd_write_all(STDOUT_FILENO, block, n) != 0)
			_exit(1);
		if (err && fd_write_all(STDERR_FILENO, block, n) != 0)
			_exit(1);
	}
}

static int garbage(void)
{
	unsigned char junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rng_next();
	(void)fd_write_all(STDOUT_FILENO, junk, sizeof(junk));
	(void)fd_write_all(STDERR_FILENO, junk, sizeof(junk) / 2);
	return 0;
}

static const struct fail_kind *kind_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fail_kinds); i++)
		if (strcmp(fail_kinds[i].name, name) == 0)
			return &fail_kinds[i];
	abort();
}

static const char *op_word(enum sim_op op)
{
	return op == OP_DOWNLOAD ? "download" : op == OP_COST ? "cost" : "upload";
}

static const struct fail_kind *pick_failure(enum sim_op op, bool *panic, bool *usage)
{
	const char *kind = knob("ANT_SIM_FAIL_KIND");
	const char *ops = knob("ANT_SIM_FAIL_OPS");
	const char *rate_s = knob("ANT_SIM_FAIL_RATE");
	double rate = kind && *kind ? 1.0 : 0.0;

	*panic = *usage = false;
	if (rate_s && *rate_s && parse_double(rate_s, 0.0, 1.0, &rate) != 0) {
		fprintf(stderr, "ant-sim: ANT_SIM_FAIL_RATE='%s' is not 0..1\n", rate_s);
		exit(EXIT_USAGE_CLAP);
	}
	if (rate <= 0.0 || (ops && *ops && strstr(ops, op_word(op)) == NULL))
		return NULL;
	if (rng_unit() >= rate)
		return NULL;
	if (kind == NULL || *kind == '\0')
		kind = "network";
	if (strcmp(kind, "panic") == 0) {
		*panic = true;
		return NULL;
	}
	if (strcmp(kind, "usage") == 0) {
		*usage = true;
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fail_kinds); i++)
		if (strcmp(fail_kinds[i].name, kind) == 0)
			return &fail_kinds[i];
	fprintf(stderr, "ant-sim: unknown ANT_SIM_FAIL_KIND '%s' (see --help)\n", kind);
	exit(EXIT_USAGE_CLAP);
}

/* ---------------------------------------------------------------- */
/* The store.                                                        */

static const char *store_dir(void)
{
	const char *s = knob("ANT_SIM_STORE");

	return s && *s ? s : "ant-sim-store";
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	digest_hex(md, len, out);
}

static bool address_ok(const char *a)
{
	size_t i;

	for (i = 0; a[i]; i++)
		if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f') ||
		      (a[i] >= 'A' && a[i] <= 'F')))
			return false;
	return i > 0 && i <= 128;
}

static int store_path(const char *addr, char *out, size_t n)
{
	char lower[129];
	size_t i;

	for (i = 0; addr[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)(addr[i] >= 'A' && addr[i] <= 'F' ? addr[i] + 32 : addr[i]);
	lower[i] = '\0';
	return snprintf(out, n, "%s/%s", store_dir(), lower) < (int)n ? 0 : -1;
}

static bool store_has(const char *addr)
{
	char path[PATH_MAX];
	struct stat st;

	return store_path(addr, path, sizeof(path)) == 0 && stat(path, &st) == 0;
}

/* Store content under addr; returns 1 when it was already there, 0 when
 * added, -1. */
static int store_put_at(const char *addr, const void *data, size_t len)
{
	char path[PATH_MAX];
	struct stat st;

	if (mkdir_p(store_dir(), 0755) != 0 || store_path(addr, path, sizeof(path)) != 0)
		return -1;
	if (stat(path, &st) == 0)
		return 1;
	return file_write_atomic(path, data, len, 0644) == 0 ? 0 : -1;
}

static int store_put(const void *data, size_t len, char addr[65])
{
	sha256_hex(data, len, addr);
	return store_put_at(addr, data, len);
}

static int read_file(const char *path, struct buf *b)
{
	buf_init(b, (size_t)SIM_CONTENT_CAP);
	return file_read_all(path, (size_t)SIM_CONTENT_CAP, b);
}

static uint64_t chunks_for(uint64_t size)
{
	uint64_t chunks = (size + SIM_CHUNK_SIZE - 1) / SIM_CHUNK_SIZE;

	return chunks < 3 ? 3 : chunks; /* self-encryption always makes at least three */
}

static bool name_ok(const char *n)
{
	return *n && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && strchr(n, '/') == NULL &&
	       strchr(n, '\n') == NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* A private upload's local address: a decimal u64 from the content
 * address, as the client's private aliases look. */
static void private_alias(const char *addr, char out[24])
{
	uint64_t v = 0;

	for (int i = 0; i < 15 && addr[i]; i++)
		v = v * 16 + (uint64_t)(addr[i] <= '9' ? addr[i] - '0' : (addr[i] | 32) - 'a' + 10);
	snprintf(out, 24, "%llu", (unsigned long long)v);
}

/* ---------------------------------------------------------------- */
/* Per-call side effects of the real client: its log directory and   */
/* its download cache.                                               */

static const char *home_dir(void)
{
	const char *h = getenv("HOME");

	return h && *h ? h : "/tmp";
}

/* The directory this call logs into, made and announced on stdout like
 * the real client does. */
static void open_log_dir(const char *dest, int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], stamp[32];
	struct buf b;
	time_t t = time(NULL);
	struct tm tm;

	if (dest) {
		str_copy(dir, dest, sizeof(dir));
	} else {
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
		snprintf(dir, sizeof(dir), "%s/" SIM_DATA_DIR "/logs/log_%s", home_dir(), stamp);
	}
	printf("Logging to directory: \"%s\"\n", dir);
	if (mkdir_p(dir, 0755) != 0 ||
	    snprintf(path, sizeof(path), "%s/ant-sim.log", dir) >= (int)sizeof(path))
		return;
	buf_init(&b, 4096);
	buf_printf(&b, "pid %d:", (int)getpid());
	for (int k = 1; k < argc; k++)
		buf_printf(&b, " %s", argv[k]);
	if (b.truncated)
		b.len = b.cap - 2;
	b.data[b.len++] = '\n';
	append_line(path, b.data, b.len);
	buf_free(&b);
}

static void cache_path(const struct sim_args *a, const char *addr, char *out, size_t n)
{
	if (a->cache_dir)
		snprintf(out, n, "%s/%s", a->cache_dir, addr);
	else
		snprintf(out, n, "%s/" SIM_DATA_DIR "/chunk_cache/%s", home_dir(), addr);
}

/* ---------------------------------------------------------------- */
/* Commands.                                                         */

static void print_connected(void)
{
	printf("Connecting to the Autonomi network...\nConnected to the network\n");
}

/* Made-up chunk addresses, stable for a content size. */
static void print_chunk_lines(size_t len, uint64_t n, bool exists, bool quoting_only)
{
	char seedbuf[80], hex[65];

	for (uint64_t i = 0; i < n; i++) {
		int w = snprintf(seedbuf, sizeof(seedbuf), "%llu:%zu", (unsigned long long)i, len);

		sha256_hex(seedbuf, (size_t)w, hex);
		if (quoting_only)
			printf("Quoting for %.6s.. ..\n", hex);
		else if (exists)
			printf("(%llu/%llu) Chunk stored at: %s (skipping, already exists)\n",
			       (unsigned long long)(i + 1), (unsigned long long)n, hex);
		else
			printf("(%llu/%llu) Chunk stored at: %s\n", (unsigned long long)(i + 1),
			       (unsigned long long)n, hex);
	}
}

static int add_archive_entry(struct buf *manifest, const char *path, const char *name,
			     uint64_t *total, bool *all_exist)
{
	struct buf content;
	char addr[65];
	int r;

	if (read_file(path, &content) != 0) {
		buf_free(&content);
		return -1;
	}
	r = store_put(content.data ? content.data : "", content.len, addr);
	buf_free(&content);
	if (r < 0)
		return -1;
	if (r == 0)
		*all_exist = false;
	*total += content.len;
	buf_printf(manifest, "%s %zu %s\n", addr, content.len, name);
	return 0;
}

/* The content to store for an upload: the file, or an archive manifest
 * for a directory or with ANT_SIM_ARCHIVE. */
static int upload_content(const char *file, struct buf *content, uint64_t *total, bool *all_exist)
{
	struct stat st;

	*all_exist = true;
	buf_init(content, (size_t)SIM_CONTENT_CAP);
	if (stat(file, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode) && !knob_on("ANT_SIM_ARCHIVE")) {
		if (read_file(file, content) != 0)
			return -1;
		*total = content->len;
		*all_exist = false; /* decided by the store below */
		return 0;
	}
	buf_init(content, 16 * 1024 * 1024);
	buf_append(content, SIM_ARCHIVE_MAGIC, strlen(SIM_ARCHIVE_MAGIC));
	if (S_ISDIR(st.st_mode)) {
		struct dirent **list = NULL;
		int n = scandir(file, &list, NULL, alphasort), rc = 0;

		for (int i = 0; i < n; i++) {
			char path[PATH_MAX];
			struct stat fst;

			if (rc == 0 &&
			    snprintf(path, sizeof(path), "%s/%s", file, list[i]->d_name) < (int)sizeof(path) &&
			    lstat(path, &fst) == 0 && S_ISREG(fst.st_mode) && name_ok(list[i]->d_name) &&
			    add_archive_entry(content, path, list[i]->d_name, total, all_exist) != 0)
				rc = -1;
			free(list[i]);
		}
		free(list);
		return n < 0 ? -1 : rc;
	}
	return add_archive_entry(content, file, base_name(file), total, all_exist);
}

static int cmd_upload(const struct sim_args *a)
{
	const char *name = base_name(a->arg1);
	struct buf content;
	char addr[65], alias[24];
	uint64_t total = 0, chunks, records;
	bool archive_exists, exists;
	int r;

	if (knob_on("ANT_SIM_REQUIRE_KEY") && !(getenv("SECRET_KEY") && *getenv("SECRET_KEY")))
		return fail_with(kind_named("nowallet"), OP_UPLOAD);
	if (upload_content(a->arg1, &content, &total, &archive_exists) != 0) {
		static const struct fail_kind missing = { "missing", EXIT_IO, EXIT_IO, AT_WORK,
			{ "I/O error: No such file or directory (os error 2)" }, { NULL },
			"ant-cli/src/commands/file.rs:412", NULL, NULL };

		buf_free(&content);
		return fail_with(&missing, OP_UPLOAD);
	}
	sha256_hex(content.data ? content.data : "", content.len, addr);
	/* The network dedups by content: stored content is not paid again. */
	exists = store_has(addr);
	(void)archive_exists;
	chunks = chunks_for(total);
	records = chunks + (a->public_data ? 1 : 0);
	printf("\xf0\x9f\x8e\xaf Using regular payments (~%llu chunks, single-node)\n",
	       (unsigned long long)chunks);
	printf("Encrypting file: \"%s\"..\nSuccessfully encrypted file: \"%s\"\n", name, name);
	printf("Processing estimated total %llu chunks\nUploading file: %s\n",
	       (unsigned long long)records, name);
	printf("Processing batch of %llu chunks\n", (unsigned long long)records);
	for (uint64_t i = 0; i < records; i++)
		printf("Processing chunk (%llu/%llu) of %s\n", (unsigned long long)(i + 1),
		       (unsigned long long)records, name);
	print_chunk_lines(content.len, records, false, true);
	r = store_put(content.data ? content.data : "", content.len, addr);
	if (r >= 0 && !a->public_data) {
		private_alias(addr, alias);
		if (store_put_at(alias, content.data ? content.data : "", content.len) < 0)
			r = -1;
	}
	buf_free(&content);
	if (r < 0) {
		static const struct fail_kind nostore = { "nostore", EXIT_IO, EXIT_IO, AT_WORK,
			{ "I/O error: cannot write to the store" }, { NULL },
			"ant-cli/src/commands/file.rs:412", NULL, NULL };

		return fail_with(&nostore, OP_UPLOAD);
	}
	throttle(total);
	if (exists) {
		printf("Paying for 0 addresses..\n");
		printf("Payments of 0 address completed. %llu address were free / already paid for\n",
		       (unsigned long long)records);
		printf("%llu chunks were free in this batch %llu\n", (unsigned long long)records,
		       (unsigned long long)records);
		print_chunk_lines(total, records, true, false);
	} else {
		printf("Paying for %llu addresses..\n", (unsigned long long)records);
		printf("Gas cost: 412.340000 gwei (41234 gas @ 10000000 wei/gas)\n");
		printf("Payments of %llu address completed. 0 address were free / already paid for\n",
		       (unsigned long long)records);
		print_chunk_lines(total, records, false, false);
	}
	if (a->public_data)
		printf("Upload completed for file %s at %s\n", name, addr);
	else
		printf("Upload completed for file %s\n", name);
	printf("Upload completed in 0.101015271s\n");
	if (a->public_data)
		printf("Uploaded file: \"%s\" to: %s\n", name, addr);
	printf("  - \"%s\": \"%s\"\n", name, addr);
	if (exists) {
		printf("All chunks already exist on the network.\n");
		return 0;
	}
	printf("Successfully uploaded: %s\n", name);
	if (a->public_data) {
		printf("At address: %s\n", addr);
	} else {
		printf("At address: %s\n", alias);
		printf("The above private address links to network address: %s\n", addr);
	}
	/* The charge, written before the client reports it (as a payment is
	 * made before the client prints its cost). */
	if (knob("ANT_SIM_CHARGES") && *knob("ANT_SIM_CHARGES")) {
		char line[160];
		int n = snprintf(line, sizeof(line), "%llu 412340000000 %s\n",
				 (unsigned long long)(records * SIM_ATTO_PER_RECORD), addr);

		append_line(knob("ANT_SIM_CHARGES"), line, (size_t)n);
	}
	printf("Number of chunks uploaded: %llu\n", (unsigned long long)records);
	printf("Number of chunks already paid/uploaded: 0\n");
	printf("Total cost: %llu AttoTokens\n", (unsigned long long)(records * SIM_ATTO_PER_RECORD));
	return 0;
}

static void corrupt(char *data, size_t len)
{
	if (len > 0)
		data[len / 2] ^= 0x5a;
}

static int write_dest(const char *path, struct buf *content)
{
	char parent[PATH_MAX];
	char *slash;

	str_copy(parent, path, sizeof(parent));
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		mkdir_p(parent, 0755);
	}
	if (knob_on("ANT_SIM_CORRUPT"))
		corrupt(content->data, content->len);
	return file_write_atomic(path, content->data ? content->data : "", content->len, 0644);
}

static int synthesize(const char *addr, struct buf *content)
{
	int64_t size = knob_int("ANT_SIM_SYNTHESIZE", 0, 0, INT64_C(1) << 32);
	char seedhex[16];
	struct seedgen g;
	uint64_t s = 0;

	if (size <= 0)
		return -1;
	str_copy(seedhex, addr, sizeof(seedhex));
	for (const char *p = seedhex; *p; p++)
		s = s * 16 + (uint64_t)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
	buf_init(content, (size_t)size + 1);
	content->data = xmalloc((size_t)size + 1);
	content->alloc = (size_t)size + 1;
	seedgen_init(&g, s);
	seedgen_fill(&g, content->data, (size_t)size);
	content->len = (size_t)size;
	content->data[size] = '\0';
	return 0;
}

static const struct fail_kind not_found = { "data", EXIT_RECORD_NOT_FOUND, EXIT_RECORD_NOT_FOUND,
	AT_WORK, { "Record could not be found." }, { NULL }, "ant-cli/src/actions/download.rs:157",
	NULL, NULL };
static const struct fail_kind io_write = { "io", EXIT_IO, EXIT_IO, AT_WORK,
	{ "I/O error: cannot write the download" }, { NULL }, "ant-cli/src/actions/download.rs:157",
	NULL, NULL };

static int download_archive(const char *addr, struct buf *manifest, const char *dest)
{
	char *line = manifest->data + strlen(SIM_ARCHIVE_MAGIC);
	uint64_t total = 0;

	if (mkdir_p(dest, 0755) != 0)
		return fail_with(&io_write, OP_DOWNLOAD);
	while (line && *line) {
		char *nl = strchr(line, '\n'), *sp1, *sp2;
		char path[PATH_MAX], out[PATH_MAX];
		struct buf content;

		buf_init(&content, (size_t)SIM_CONTENT_CAP);
		if (nl)
			*nl = '\0';
		sp1 = strchr(line, ' ');
		sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (sp1 == NULL || sp2 == NULL || !name_ok(sp2 + 1))
			return fail_with(kind_named("serialization"), OP_DOWNLOAD);
		*sp1 = '\0';
		if (store_path(line, path, sizeof(path)) != 0 || read_file(path, &content) != 0 ||
		    snprintf(out, sizeof(out), "%s/%s", dest, sp2 + 1) >= (int)sizeof(out)) {
			buf_free(&content);
			return fail_with(&not_found, OP_DOWNLOAD);
		}
		total += content.len;
		if (write_dest(out, &content) != 0) {
			buf_free(&content);
			return fail_with(&io_write, OP_DOWNLOAD);
		}
		buf_free(&content);
		line = nl ? nl + 1 : NULL;
	}
	throttle(total);
	printf("Successfully downloaded data at: %s\n", addr);
	return 0;
}

/* Content for addr: from the client's cache when allowed and present
 * (a repeat), else from the store (the network), which then fills the
 * cache unless --disable-cache. */
static int fetch_content(const struct sim_args *a, struct buf *content, bool *from_cache)
{
	char path[PATH_MAX], cpath[PATH_MAX];

	*from_cache = false;
	buf_init(content, (size_t)SIM_CONTENT_CAP);
	cache_path(a, a->arg1, cpath, sizeof(cpath));
	if (!a->disable_cache && read_file(cpath, content) == 0) {
		*from_cache = true;
		return 0;
	}
	buf_free(content);
	if (store_path(a->arg1, path, sizeof(path)) != 0 || read_file(path, content) != 0) {
		buf_free(content);
		if (synthesize(a->arg1, content) != 0)
			return -1;
	}
	if (!a->disable_cache) {
		char dir[PATH_MAX], *slash;

		str_copy(dir, cpath, sizeof(dir));
		slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			if (mkdir_p(dir, 0700) == 0)
				(void)file_write_atomic(cpath, content->data ? content->data : "",
							content->len, 0600);
		}
	}
	return 0;
}

static int cmd_download(const struct sim_args *a)
{
	struct buf content;
	bool from_cache;
	uint64_t n;
	int rc;

	if (!address_ok(a->arg1)) {
		static char line[200];
		const char *chain[1] = { line };

		snprintf(line, sizeof(line), "Failed to parse data address %.120s", a->arg1);
		print_download_leftovers();
		fflush(stdout);
		print_report(false, chain, 1, "ant-cli/src/actions/download.rs:46",
			     "Public addresses look like this: 0037cfa13eae4393841cbc00c3a33cade0f98b8c1f20826e5c51f8269e7b09d7");
		return EXIT_INPUT;
	}
	printf("Input supplied was a public address\n");
	if (fetch_content(a, &content, &from_cache) != 0)
		return fail_with(&not_found, OP_DOWNLOAD);
	if (content.len >= strlen(SIM_ARCHIVE_MAGIC) &&
	    memcmp(content.data, SIM_ARCHIVE_MAGIC, strlen(SIM_ARCHIVE_MAGIC)) == 0) {
		rc = download_archive(a->arg1, &content, a->arg2);
		buf_free(&content);
		return rc;
	}
	n = chunks_for(content.len);
	printf("Fetching %llu encrypted data chunks from %s.\n", (unsigned long long)n,
	       from_cache ? "cache" : "network");
	if (!from_cache)
		throttle(content.len);
	if (write_dest(a->arg2, &content) != 0) {
		buf_free(&content);
		return fail_with(&io_write, OP_DOWNLOAD);
	}
	buf_free(&content);
	printf("Successfully fetched all %llu encrypted chunks\n", (unsigned long long)n);
	printf("Successfully decrypted all %llu chunks\n", (unsigned long long)n);
	printf("Successfully downloaded file at: %s\n", a->arg1);
	return 0;
}

static int cmd_cost(const struct sim_args *a)
{
	struct buf content;
	char addr[65];
	uint64_t chunks, atto;

	if (read_file(a->arg1, &content) != 0) {
		static const struct fail_kind missing = { "missing", EXIT_IO, EXIT_IO, AT_WORK,
			{ "I/O error: No such file or directory (os error 2)" }, { NULL },
			"ant-cli/src/commands/file.rs:302", NULL, NULL };

		buf_free(&content);
		return fail_with(&missing, OP_COST);
	}
	sha256_hex(content.data ? content.data : "", content.len, addr);
	chunks = chunks_for(content.len);
	printf("\xf0\x9f\x8e\xaf Using regular payments (~%llu chunks, single-node)\n",
	       (unsigned long long)chunks);
	printf("Getting upload cost (private, with archive)...\n");
	printf("Using regular cost estimation for ~%llu chunks (threshold: 64)\n",
	       (unsigned long long)chunks);
	print_chunk_lines(content.len, chunks, false, true);
	buf_free(&content);
	/* The network quotes stored content at 0. The quote is for the
	 * private form, without the data map. */
	atto = store_has(addr) ? 0 : chunks * SIM_ATTO_PER_RECORD;
	printf("Estimate cost to upload file: %s\n", base_name(a->arg1));
	printf("Total cost: %llu.%018llu\n", (unsigned long long)(atto / SIM_ATTO_PER_TOKEN),
	       (unsigned long long)(atto % SIM_ATTO_PER_TOKEN));
	printf("Method: regular (auto-selected: ~%llu chunks < 64 threshold, single-node)\n",
	       (unsigned long long)chunks);
	return 0;
}

/* ---------------------------------------------------------------- */
/* ant 0.5: command line, then the call.                             */

static bool is_subcommand(const char *s)
{
	static const char *const words[] = { "file", "wallet", "analyze", "register",
					     "vault", "pointer", "scratchpad", NULL };

	for (int i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/* ANT_PEERS and --peer take multiaddrs; clap refuses anything else. */
static int check_peer(const char *value)
{
	char why[160];

	if (multiaddr_valid(value, why, sizeof(why)))
		return 0;
	return usage_error("invalid value '%s' for '--peer <multiaddr>': invalid multiaddr", value);
}

static int check_env_peers(void)
{
	const char *env = getenv("ANT_PEERS");

	while (env && *env) {
		char one[MULTIADDR_MAX + 1];
		size_t len = strcspn(env, ",");

		if (len > MULTIADDR_MAX)
			len = MULTIADDR_MAX;
		memcpy(one, env, len);
		one[len] = '\0';
		if (check_peer(one) != 0)
			return EXIT_USAGE_CLAP;
		env += strcspn(env, ",");
		if (*env == ',')
			env++;
	}
	return 0;
}

static int parse_ant05(int argc, char **argv, struct sim_args *a, int *rc)
{
	int i = 1;

	memset(a, 0, sizeof(*a));
	/* Global flags first, as with ant. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *f = argv[i];

		if (strcmp(f, "--log-output-dest") == 0 && i + 1 < argc) {
			a->log_dest = argv[++i];
			continue;
		}
		if (strcmp(f, "--peer") == 0 && i + 1 < argc) {
			if ((*rc = check_peer(argv[++i])) != 0)
				return -1;
			continue;
		}
		if (strcmp(f, "--network-id") == 0 && i + 1 < argc) {
			i++;
			continue;
		}
		/* Unknown flag: take a value when one follows. */
		if (strchr(f, '=') == NULL && i + 1 < argc && argv[i + 1][0] != '-' &&
		    !is_subcommand(argv[i + 1]))
			i++;
	}
	if (i + 1 >= argc || strcmp(argv[i], "file") != 0) {
		*rc = usage_error("unrecognized subcommand (ant-sim knows: file upload|download|cost)");
		return -1;
	}
	if (strcmp(argv[i + 1], "upload") == 0 && i + 2 < argc) {
		a->op = OP_UPLOAD;
		a->arg1 = argv[i + 2];
		i += 3;
	} else if (strcmp(argv[i + 1], "download") == 0 && i + 3 < argc) {
		a->op = OP_DOWNLOAD;
		a->arg1 = argv[i + 2];
		a->arg2 = argv[i + 3];
		i += 4;
	} else if (strcmp(argv[i + 1], "cost") == 0 && i + 2 < argc) {
		a->op = OP_COST;
		a->arg1 = argv[i + 2];
		i += 3;
	} else {
		*rc = usage_error("bad arguments for 'file %s'", argv[i + 1]);
		return -1;
	}
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--public") == 0 && a->op == OP_UPLOAD)
			a->public_data = true;
		else if (strcmp(argv[i], "--disable-cache") == 0 && a->op == OP_DOWNLOAD)
			a->disable_cache = true;
		else if (strcmp(argv[i], "--cache-dir") == 0 && a->op == OP_DOWNLOAD && i + 1 < argc)
			a->cache_dir = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			continue; /* --quorum, --retries, ...: accepted, ignored */
		else {
			*rc = usage_error("unexpected argument '%s' found", argv[i]);
			return -1;
		}
	}
	if (a->disable_cache && a->cache_dir) {
		*rc = usage_error("the argument '--disable-cache' cannot be used with '--cache-dir <CACHE_DIR>'");
		return -1;
	}
	return 0;
}

static int run_ant05(int argc, char **argv)
{
	const struct fail_kind *fk;
	struct sim_args a;
	const char *mode;
	int64_t exit_override;
	bool panic, usage;
	int rc = 0;

	/* clap first: a bad command line or peer exits 2 before anything. */
	if (parse_ant05(argc, argv, &a, &rc) != 0)
		return rc;
	if ((rc = check_env_peers()) != 0)
		return rc;
	open_log_dir(a.log_dest, argc, argv);
	fflush(stdout);
	sleep_ms(knob_int("ANT_SIM_LATENCY_MS", 0, 0, INT64_C(86400000)));
	if ((mode = knob("ANT_SIM_HANG")) != NULL && *mode && strcmp(mode, "0") != 0)
		hang(mode);
	if ((mode = knob("ANT_SIM_ENDLESS")) != NULL && *mode && strcmp(mode, "0") != 0)
		endless(mode);
	if (knob_on("ANT_SIM_PANIC"))
		return do_panic();
	fk = pick_failure(a.op, &panic, &usage);
	if (panic)
		return do_panic();
	if (usage)
		return usage_error("invalid value '1.2.3.4:12000' for '--peer <multiaddr>': invalid multiaddr");
	if (fk && fk->when == AT_CONNECT) {
		printf("Connecting to the Autonomi network...\n");
		return fail_with(fk, a.op);
	}
	print_connected();
	if (fk)
		return fail_with(fk, a.op);
	if (knob_on("ANT_SIM_GARBAGE"))
		return garbage();
	exit_override = knob_int("ANT_SIM_EXIT", -1, -1, 255);
	switch (a.op) {
	case OP_UPLOAD:
		rc = cmd_upload(&a);
		break;
	case OP_DOWNLOAD:
		rc = cmd_download(&a);
		break;
	case OP_COST:
		rc = cmd_cost(&a);
		break;
	}
	fflush(stdout);
	return exit_override >= 0 ? (int)exit_override : rc;
}

/* ---------------------------------------------------------------- */
/* ant 0.2 ("Autonomi 2.0", ant-cli 0.2.1-rc.1): command line, output.  */

#define SIM02_ATTO_PER_CHUNK UINT64_C(3000000000000)
#define SIM02_UPLOAD_GAS_WEI UINT64_C(3000000000000)
#define SIM02_COST_GAS_WEI UINT64_C(150000000000000)
#define SIM02_PEERS 24

struct sim02_args {
	bool json, bootstrap, public_data;
	enum sim_op op;
	const char *arg1, *out;
};

/* One line `Error: <text>` on stderr, exit 1 (main.rs). */
static int error02(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int error02(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_MAIN_ERROR;
}

/* clap's message for an argument it did not expect, with the usage line
 * of the (sub)command. */
static int usage02(const char *arg, const char *usage_line)
{
	fprintf(stderr, "error: unexpected argument '%s' found\n\n", arg);
	/* clap offers `--` only where a positional could take the value. */
	if (arg[0] == '-' && strstr(usage_line, "file ") != NULL)
		fprintf(stderr, "  tip: to pass '%s' as a value, use '-- %s'\n\n", arg, arg);
	fprintf(stderr, "Usage: %s\n\nFor more information, try '--help'.\n", usage_line);
	return EXIT_USAGE_CLAP;
}

static int parse_ant02(int argc, char **argv, struct sim02_args *a)
{
	int i = 1;

	memset(a, 0, sizeof(*a));
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *f = argv[i];

		if (strcmp(f, "--json") == 0) {
			a->json = true;
		} else if ((strcmp(f, "-b") == 0 || strcmp(f, "--bootstrap") == 0) && i + 1 < argc) {
			a->bootstrap = true;
			i++;
		} else if ((strcmp(f, "--devnet-manifest") == 0 || strcmp(f, "--evm-network") == 0 ||
			    strcmp(f, "--quote-timeout-secs") == 0 || strcmp(f, "--store-timeout-secs") == 0 ||
			    strcmp(f, "--quote-concurrency") == 0 || strcmp(f, "--store-concurrency") == 0) &&
			   i + 1 < argc) {
			a->bootstrap = a->bootstrap || strcmp(f, "--devnet-manifest") == 0;
			i++;
		} else if (strcmp(f, "--allow-loopback") != 0 && strcmp(f, "--ipv4-only") != 0 &&
			   strcmp(f, "-v") != 0 && strcmp(f, "-vv") != 0 && strcmp(f, "-vvv") != 0) {
			return usage02(f, "ant [OPTIONS] <COMMAND>");
		}
	}
	if (i + 1 >= argc || strcmp(argv[i], "file") != 0)
		return usage02(i < argc ? argv[i] : "", "ant [OPTIONS] <COMMAND>");
	if (strcmp(argv[i + 1], "upload") == 0) {
		a->op = OP_UPLOAD;
	} else if (strcmp(argv[i + 1], "download") == 0) {
		a->op = OP_DOWNLOAD;
	} else if (strcmp(argv[i + 1], "cost") == 0) {
		a->op = OP_COST;
	} else {
		return usage02(argv[i + 1], "ant file <COMMAND>");
	}
	for (i += 2; i < argc; i++) {
		const char *f = argv[i];
		const char *usage_line = a->op == OP_DOWNLOAD ? "ant file download [OPTIONS] [ADDRESS]"
				       : a->op == OP_UPLOAD ? "ant file upload [OPTIONS] <PATH>"
							    : "ant file cost [OPTIONS] <PATH>";

		if (strcmp(f, "--json") == 0)
			a->json = true; /* global: allowed anywhere */
		else if (strcmp(f, "--public") == 0 && a->op == OP_UPLOAD)
			a->public_data = true;
		else if ((strcmp(f, "-o") == 0 || strcmp(f, "--output") == 0) && a->op == OP_DOWNLOAD &&
			 i + 1 < argc)
			a->out = argv[++i];
		else if (f[0] != '-' && a->arg1 == NULL)
			a->arg1 = f;
		else
			return usage02(f, usage_line);
	}
	if (a->arg1 == NULL) {
		fprintf(stderr, "error: the following required arguments were not provided:\n  %s\n\n"
				"Usage: ant file %s [OPTIONS] <PATH>\n\nFor more information, try '--help'.\n",
			a->op == OP_DOWNLOAD ? "<ADDRESS>" : "<PATH>", op_word(a->op));
		return EXIT_USAGE_CLAP;
	}
	return 0;
}

/* A fault kind of ANT_SIM_FAIL_KIND as this client says it. */
static int fail02(const struct fail_kind *k, enum sim_op op, const char *addr)
{
	const char *n = k->name;
	const char *ctx = op == OP_COST ? "Cost estimation failed" : op == OP_UPLOAD ? "File upload failed"
							      : "Failed to fetch public DataMap";

	if (strcmp(n, "nowallet") == 0)
		return error02("SECRET_KEY environment variable required for this operation");
	if (strcmp(n, "bootstrap") == 0)
		return error02("No bootstrap peers provided. Use --bootstrap, --devnet-manifest, or install "
			       "bootstrap_peers.toml to your config directory.");
	if (strcmp(n, "payment") == 0 && op == OP_UPLOAD)
		return error02("File upload failed: payment error: Batch payment failed: Insufficient tokens "
			       "to pay for quotes. Have: 0 atto, need: 9000000000000 atto");
	if (strcmp(n, "evm") == 0 && op == OP_UPLOAD)
		return error02("Token approval failed: payment error: Token approval failed: Transaction failed "
			       "to send: gas estimation failed: server returned an error response: error code "
			       "-32000: insufficient funds for gas * price + value: have 0 want 2400000000000");
	if (strcmp(n, "put") == 0 && op == OP_UPLOAD)
		return error02("Upload failed: 0/3 stored, 3 failed: final wave store failed after retries");
	if ((strcmp(n, "quotes") == 0 || strcmp(n, "quote-timeout") == 0) && op != OP_DOWNLOAD)
		return error02("%s: insufficient peers: Got 4 quotes, need 7 (14 responses: 0 already_stored, "
			       "10 failed)", ctx);
	if ((strcmp(n, "data") == 0 || strcmp(n, "legacy-data") == 0) && op == OP_DOWNLOAD)
		return error02("Failed to fetch public DataMap: invalid data: DataMap chunk not found at %s",
			       addr ? addr : "");
	if (strcmp(n, "input") == 0)
		return error02("Invalid character 'n' at position 0");
	if (op == OP_DOWNLOAD)
		return error02("Failed to fetch public DataMap: insufficient peers: DHT returned no peers for "
			       "target address");
	return error02("%s: insufficient peers: Found 0 peers, need 7", ctx);
}

static void connected02(const struct sim02_args *a, unsigned peers)
{
	if (!a->json)
		fprintf(stderr, "Connected to autonomi network (found %u peers)\n", peers);
}

static void size_text(uint64_t n, char *out, size_t len)
{
	if (n < 1024)
		snprintf(out, len, "%llu B", (unsigned long long)n);
	else if (n < 1024 * 1024)
		snprintf(out, len, "%.1f KB", (double)n / 1024.0);
	else
		snprintf(out, len, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

/* "9000.00 nanoANT": the rounded text form (exact only in --json). */
static void cost_text(uint64_t atto, char *out, size_t len)
{
	if (atto == 0)
		snprintf(out, len, "free (already stored)");
	else if (atto < UINT64_C(1000000000000000))
		snprintf(out, len, "%.2f nanoANT", (double)atto / 1e9);
	else
		snprintf(out, len, "%.4f ANT", (double)atto / 1e18);
}

static int address02_check(const char *a)
{
	size_t len = strlen(a);

	for (size_t i = 0; i < len; i++)
		if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f') ||
		      (a[i] >= 'A' && a[i] <= 'F')))
			return error02("Invalid character '%c' at position %zu", a[i], i);
	if (len % 2)
		return error02("Odd number of digits");
	if (len != 64)
		return error02("Invalid address length: expected 32 bytes, got %zu", len / 2);
	return 0;
}

static int cmd02_download(const struct sim02_args *a)
{
	struct buf content;
	char path[PATH_MAX], sz[32];
	int rc;

	if ((rc = address02_check(a->arg1)) != 0)
		return rc;
	if (a->out == NULL)
		return error02("-o/--output is required when downloading by --address");
	buf_init(&content, (size_t)SIM_CONTENT_CAP);
	if (store_path(a->arg1, path, sizeof(path)) != 0 || read_file(path, &content) != 0) {
		buf_free(&content);
		if (synthesize(a->arg1, &content) != 0)
			return fail02(kind_named("data"), OP_DOWNLOAD, a->arg1);
	}
	throttle(content.len);
	if (write_dest(a->out, &content) != 0) {
		buf_free(&content);
		return error02("Failed to write output file: Permission denied (os error 13)");
	}
	if (a->json) {
		printf("{\"file\":\"%s\",\"size\":%zu,\"elapsed_secs\":0.047483}\n", base_name(a->out),
		       content.len);
	} else {
		size_text(content.len, sz, sizeof(sz));
		printf("Download complete!\n  File: %s\n  Size: %s\n  Time: 0.1s\n", a->out, sz);
	}
	buf_free(&content);
	return 0;
}

static int cmd02_cost(const struct sim02_args *a)
{
	struct buf content;
	char addr[65], sz[32], ct[64];
	uint64_t chunks, atto;

	if (read_file(a->arg1, &content) != 0) {
		buf_free(&content);
		return error02("Failed to read file: No such file or directory (os error 2)");
	}
	sha256_hex(content.data ? content.data : "", content.len, addr);
	chunks = chunks_for(content.len);
	if (!a->json)
		fprintf(stderr, "Encrypted into %llu chunks\n", (unsigned long long)chunks);
	atto = store_has(addr) ? 0 : chunks * SIM02_ATTO_PER_CHUNK;
	if (a->json) {
		printf("{\"file_size\":%zu,\"chunk_count\":%llu,\"storage_cost_atto\":\"%llu\","
		       "\"estimated_gas_cost_wei\":\"%llu\",\"payment_mode\":\"single\"}\n",
		       content.len, (unsigned long long)chunks, (unsigned long long)atto,
		       (unsigned long long)SIM02_COST_GAS_WEI);
	} else {
		size_text(content.len, sz, sizeof(sz));
		cost_text(atto, ct, sizeof(ct));
		printf("\nEstimated upload cost for %s\n  Size:    %s\n  Chunks:  %llu\n  Cost:    %s%s\n",
		       base_name(a->arg1), sz, (unsigned long long)chunks, ct,
		       atto ? " (gas: 0.000150 ETH)" : "");
	}
	buf_free(&content);
	return 0;
}

static int cmd02_upload(const struct sim02_args *a)
{
	struct buf content;
	char addr[65], sz[32], ct[64], dm[PATH_MAX];
	uint64_t chunks, records, atto;
	bool exists;

	if (!a->json)
		fprintf(stderr, "Token spend approved\n");
	if (read_file(a->arg1, &content) != 0) {
		buf_free(&content);
		return error02("No such file or directory (os error 2)");
	}
	sha256_hex(content.data ? content.data : "", content.len, addr);
	chunks = chunks_for(content.len);
	records = chunks + (a->public_data ? 1 : 0);
	if (!a->json)
		fprintf(stderr, "Encrypted into %llu chunks\n", (unsigned long long)chunks);
	/* The network dedups by content: stored content is free. */
	exists = store_has(addr);
	if (store_put(content.data ? content.data : "", content.len, addr) < 0) {
		buf_free(&content);
		return error02("Upload failed: 0/%llu stored, %llu failed: cannot write to the store",
			       (unsigned long long)records, (unsigned long long)records);
	}
	throttle(content.len);
	/* The printed cost leaves out the data-map chunk of a public upload. */
	atto = exists ? 0 : chunks * SIM02_ATTO_PER_CHUNK;
	snprintf(dm, sizeof(dm), "%s.datamap", a->arg1);
	if (!a->public_data)
		(void)file_write_atomic(dm, addr, strlen(addr), 0644);
	if (a->json) {
		if (a->public_data)
			printf("{\"address\":\"%s\",\"mode\":\"public\"", addr);
		else
			printf("{\"datamap\":\"%s\",\"mode\":\"private\"", dm);
		printf(",\"chunks\":%llu,\"total_chunks\":%llu,\"chunks_stored\":%llu,\"chunks_failed\":0,"
		       "\"size\":%zu,\"storage_cost_atto\":\"%llu\",\"gas_cost_wei\":\"%llu\","
		       "\"elapsed_secs\":0.043553}\n",
		       (unsigned long long)records, (unsigned long long)records,
		       (unsigned long long)(exists ? 0 : records), content.len, (unsigned long long)atto,
		       (unsigned long long)SIM02_UPLOAD_GAS_WEI);
	} else {
		size_text(content.len, sz, sizeof(sz));
		cost_text(atto, ct, sizeof(ct));
		printf("\nUpload complete!\n");
		if (a->public_data)
			printf("  Address: %s\n  Chunks:  %llu (%llu + 1 data map)\n", addr,
			       (unsigned long long)records, (unsigned long long)chunks);
		else
			printf("  Datamap: %s\n  Chunks:  %llu\n", dm, (unsigned long long)chunks);
		printf("  Size:    %s\n  Cost:    %s%s\n  Time:    0.0s\n", sz, ct,
		       atto ? " (gas: 0.000003 ETH)" : "");
		if (a->public_data)
			printf("\nAnyone can download this file with:\n  ant file download %s -o <FILE>\n", addr);
		else
			printf("\nDownload this file with:\n  ant file download --datamap %s\n", dm);
	}
	buf_free(&content);
	return 0;
}

static int run_ant02(int argc, char **argv)
{
	const struct fail_kind *fk;
	struct sim02_args a;
	const char *mode;
	int64_t exit_override;
	bool panic, usage;
	int rc;

	if ((rc = parse_ant02(argc, argv, &a)) != 0)
		return rc;
	sleep_ms(knob_int("ANT_SIM_LATENCY_MS", 0, 0, INT64_C(86400000)));
	if ((mode = knob("ANT_SIM_HANG")) != NULL && *mode && strcmp(mode, "0") != 0)
		hang(mode);
	if ((mode = knob("ANT_SIM_ENDLESS")) != NULL && *mode && strcmp(mode, "0") != 0)
		endless(mode);
	if (knob_on("ANT_SIM_PANIC"))
		return do_panic();
	fk = pick_failure(a.op, &panic, &usage);
	if (panic)
		return do_panic();
	if (usage)
		return usage02("--peer", "ant [OPTIONS] <COMMAND>");
	/* Before connecting: the wallet key (uploads), the bootstrap peers. */
	if (a.op == OP_UPLOAD && !(getenv("SECRET_KEY") && *getenv("SECRET_KEY")))
		return fail02(kind_named("nowallet"), a.op, NULL);
	if (fk && (strcmp(fk->name, "nowallet") == 0 || strcmp(fk->name, "bootstrap") == 0))
		return fail02(fk, a.op, a.arg1);
	if (fk && (strcmp(fk->name, "connect") == 0 || strcmp(fk->name, "routing") == 0)) {
		connected02(&a, 0);
		return fail02(fk, a.op, a.arg1);
	}
	connected02(&a, SIM02_PEERS);
	if (fk)
		return fail02(fk, a.op, a.arg1);
	if (knob_on("ANT_SIM_GARBAGE"))
		return garbage();
	exit_override = knob_int("ANT_SIM_EXIT", -1, -1, 255);
	switch (a.op) {
	case OP_UPLOAD:
		rc = cmd02_upload(&a);
		break;
	case OP_DOWNLOAD:
		rc = cmd02_download(&a);
		break;
	case OP_COST:
		rc = cmd02_cost(&a);
		break;
	}
	fflush(stdout);
	return exit_override >= 0 ? (int)exit_override : rc;
}

int main(int argc, char **argv)
{
	const char *cfg, *gen;
	int rc;

	if ((cfg = getenv("ANT_SIM_CONFIG")) != NULL && *cfg) {
		if (load_config(cfg) != 0) {
			fprintf(stderr, "ant-sim: cannot read ANT_SIM_CONFIG '%s'\n", cfg);
			return EXIT_USAGE_CLAP;
		}
	}
	gen = knob("ANT_SIM_GENERATION");
	g_gen = &sim_gens[0];
	if (gen && *gen) {
		g_gen = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(sim_gens); i++)
			if (strcmp(sim_gens[i].name, gen) == 0)
				g_gen = &sim_gens[i];
		if (g_gen == NULL) {
			fprintf(stderr, "ant-sim: unknown ANT_SIM_GENERATION '%s' (known: 0.5, 0.2)\n", gen);
			return EXIT_USAGE_CLAP;
		}
	}
	g_rng = (uint64_t)knob_int("ANT_SIM_SEED", (int64_t)time(NULL) ^ ((int64_t)getpid() << 20),
				   INT64_MIN, INT64_MAX);
	g_rng = g_rng * UINT64_C(0x9e3779b97f4a7c15) + 1;
	log_invocation(argc, argv);
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			const char *style = knob("ANT_SIM_VERSION_STYLE");

			fputs(style && strcmp(style, "old") == 0 ? SIM_VERSION_OLD : g_gen->version, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	}
	rc = g_gen->run(argc, argv);
	fflush(stdout);
	buf_free(&g_config);
	return rc;
}
