/*
 * ant-sim - a stand-in for the Autonomi `ant` client over a local store,
 * with fault injection. It honours the parts of ant's command line and
 * output that ant-agent relies on (global flags before the subcommand,
 * `file upload|download|cost`, the result lines and the exit codes of ant
 * 0.3.12 and later), so tests and the demo can run without the network.
 *
 * Store: ANT_SIM_STORE/<address>, where the address is the hex SHA-256 of
 * the content. An archive (an uploaded directory, or any upload with
 * ANT_SIM_ARCHIVE=1) is a stored manifest listing its files.
 *
 * Every knob is described in usage() below (`ant-sim --help`). Time here
 * is real time: the agent's virtual clock does not reach this process.
 */
#include "digest.h"
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

#define SIM_VERSION_NEW "Autonomi Client v0.3.12-sim\nNetwork version: ant/1.0/1\n" \
	"Package version: 2025.1.2.3-sim\nGit info: ant-sim (stand-in for tests)\n"
#define SIM_VERSION_OLD "autonomi-cli 0.1.5\n"
#define SIM_ARCHIVE_MAGIC "ANT-SIM-ARCHIVE 1\n"
#define SIM_CONFIG_CAP (64 * 1024)
#define SIM_CONTENT_CAP (INT64_C(64) * 1024 * 1024 * 1024)
#define SIM_CHUNK_SIZE (4 * 1024 * 1024)
#define SIM_ATTO_PER_RECORD UINT64_C(1000000000000)

/* Exit codes of ant 0.3.12 and later. */
enum {
	EXIT_INPUT = 6, EXIT_IO = 12, EXIT_NETWORK = 13, EXIT_PROTOCOL = 14,
	EXIT_SELF_ENCRYPTION = 15, EXIT_PAYMENT = 23, EXIT_WALLET = 22,
	EXIT_DECRYPT = 32, EXIT_RECORD_NOT_FOUND = 33, EXIT_PUT = 41,
	EXIT_BOOTSTRAP = 51, EXIT_ROUTING = 52, EXIT_EVM_CONFIG = 61, EXIT_PANIC = 101,
	EXIT_USAGE_CLAP = 2,
};

struct fail_kind {
	const char *name;
	int code;
	const char *text;
};

static const struct fail_kind fail_kinds[] = {
	{ "network", EXIT_NETWORK, "Failed to connect to the network" },
	{ "bootstrap", EXIT_BOOTSTRAP, "Could not connect to enough peers in time" },
	{ "routing", EXIT_ROUTING, "Failed to populate our routing table" },
	{ "data", EXIT_RECORD_NOT_FOUND, "Failed to fetch data from address: Record could not be found" },
	{ "decrypt", EXIT_DECRYPT, "Failed to decrypt data map" },
	{ "quotes", EXIT_PUT, "Failed to upload: Not enough node quotes" },
	{ "payment", EXIT_PAYMENT, "Failed to pay for chunks: Insufficient funds" },
	{ "input", EXIT_INPUT, "Failed to parse data address" },
	{ "io", EXIT_IO, "I/O error: No space left on device (os error 28)" },
	{ "protocol", EXIT_PROTOCOL, "Protocol error: unexpected response from peer" },
	{ "selfenc", EXIT_SELF_ENCRYPTION, "Self-encryption error" },
	{ "evm", EXIT_EVM_CONFIG, "EVM network configuration error" },
	{ "legacy-network", 1, "Failed to connect to the network" },
	{ "legacy-data", 1, "Record could not be found" },
	{ "legacy", 1, "Something went wrong" },
};

static struct buf g_config;  /* ANT_SIM_CONFIG contents */
static uint64_t g_rng;

static void usage(FILE *f)
{
	fputs(
"ant-sim - a stand-in for the Autonomi `ant` client over a local store\n"
"\n"
"Usage: ant-sim [GLOBAL FLAGS] file upload FILE|DIR [--public]\n"
"       ant-sim [GLOBAL FLAGS] file download ADDRESS DEST\n"
"       ant-sim [GLOBAL FLAGS] file cost FILE\n"
"       ant-sim --version | --help\n"
"\n"
"Global flags (before the subcommand): --peer ADDR, --log-output-dest DIR\n"
"(a line per call is appended to DIR/ant-sim.log), --network-id N; other\n"
"--flags are accepted and ignored, with a value when one follows.\n"
"\n"
"Output and exit codes follow ant 0.3.12+: download prints 'Successfully\n"
"downloaded ...', cost prints 'Total cost: <tokens>', upload prints 'At\n"
"address: <hex>', chunk counts and the cost, or 'All chunks already exist on\n"
"the network.' An unknown address exits 33 (Record could not be found); a\n"
"malformed one exits 6. Cost is deterministic: 10^12 atto-tokens per record,\n"
"records = max(3, ceil(size / 4 MiB)) chunks, plus one data map when public.\n"
"\n"
"Knobs (environment, or KEY=VALUE lines in the file ANT_SIM_CONFIG; the\n"
"environment wins):\n"
"  ANT_SIM_STORE=DIR        the store (default ./ant-sim-store)\n"
"  ANT_SIM_VERSION_STYLE=new|old  --version prints the 'Autonomi Client vX.Y.Z'\n"
"                           block (new, default) or 'autonomi-cli 0.1.5' (old)\n"
"  ANT_SIM_LATENCY_MS=N     wait N ms (real time) before doing anything (default 0)\n"
"  ANT_SIM_BANDWIDTH=N      bytes per second for uploads and downloads (0 = no limit)\n"
"  ANT_SIM_FAIL_RATE=P      probability 0..1 that a call fails (1 when only\n"
"                           ANT_SIM_FAIL_KIND is set)\n"
"  ANT_SIM_FAIL_KIND=K      how it fails: network(13) bootstrap(51) routing(52)\n"
"                           data(33) decrypt(32) quotes(41) payment(23) input(6)\n"
"                           io(12) protocol(14) selfenc(15) evm(61) panic(101)\n"
"                           legacy-network(1) legacy-data(1) legacy(1);\n"
"                           stderr carries ant's text, with ANSI colours\n"
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
"  ANT_SIM_REQUIRE_KEY=1    uploads without SECRET_KEY in the environment exit 22\n"
"  ANT_SIM_SEED=N           seed for the random choices (default: time and pid)\n"
"  ANT_SIM_LOG=FILE         append one line per call: pid, whether SECRET_KEY was\n"
"                           set (never its value) and argv\n"
"  ANT_SIM_CONFIG=FILE      read knobs from FILE\n", f);
}

/* ---------------------------------------------------------------- */

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

static void log_invocation(int argc, char **argv)
{
	const char *path = knob("ANT_SIM_LOG");
	struct buf b;

	if (path == NULL || *path == '\0')
		return;
	buf_init(&b, 16384);
	buf_printf(&b, "pid=%d secret_key=%s argv:", (int)getpid(),
		   getenv("SECRET_KEY") && *getenv("SECRET_KEY") ? "yes" : "no");
	for (int i = 1; i < argc; i++) {
		buf_append(&b, " ", 1);
		for (const char *p = argv[i]; *p; p++) {
			char c = (*p == '\n' || *p == '\r' || *p == ' ') ? '_' : *p;

			buf_append(&b, &c, 1);
		}
	}
	if (b.truncated)
		b.len = b.cap - 1;
	buf_append(&b, "\n", 1);
	if (b.data[b.len - 1] != '\n')
		b.data[b.len - 1] = '\n';
	append_line(path, b.data, b.len);
	buf_free(&b);
}

/* ant's errors come through color_eyre: coloured, numbered, with a
 * location. Reproduce the shape so the agent's ANSI stripping is tested. */
static void print_error(const char *text)
{
	fprintf(stderr,
		"\x1b[31mError:\x1b[0m \n   0: \x1b[91m%s\x1b[0m\n\nLocation:\n   "
		"\x1b[35mant-cli/src/commands/file.rs\x1b[0m:\x1b[35m42\x1b[0m\n\n"
		"Backtrace omitted. Run with RUST_BACKTRACE=1 environment variable to display it.\n",
		text);
}

static int do_panic(void)
{
	fputs("\nthread 'main' panicked at ant-cli/src/main.rs:42:5:\n"
	      "called `Option::unwrap()` on a `None` value\n"
	      "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
	      stderr);
	return EXIT_PANIC;
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
	printf("Connecting to the network...\n");
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

static const struct fail_kind *maybe_fail(const char *op)
{
	const char *kind = knob("ANT_SIM_FAIL_KIND");
	const char *ops = knob("ANT_SIM_FAIL_OPS");
	const char *rate_s = knob("ANT_SIM_FAIL_RATE");
	double rate = kind && *kind ? 1.0 : 0.0;

	if (rate_s && *rate_s && parse_double(rate_s, 0.0, 1.0, &rate) != 0) {
		fprintf(stderr, "ant-sim: ANT_SIM_FAIL_RATE='%s' is not 0..1\n", rate_s);
		exit(EXIT_USAGE_CLAP);
	}
	if (rate <= 0.0 || (ops && *ops && strstr(ops, op) == NULL))
		return NULL;
	if (rng_unit() >= rate)
		return NULL;
	if (kind == NULL || *kind == '\0')
		kind = "network";
	if (strcmp(kind, "panic") == 0) {
		static const struct fail_kind panic_kind = { "panic", EXIT_PANIC, NULL };

		return &panic_kind;
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

/* Store content; returns 1 when it was already there, 0 when added, -1. */
static int store_put(const void *data, size_t len, char addr[65])
{
	char path[PATH_MAX];
	struct stat st;

	sha256_hex(data, len, addr);
	if (mkdir_p(store_dir(), 0755) != 0 || store_path(addr, path, sizeof(path)) != 0)
		return -1;
	if (stat(path, &st) == 0)
		return 1;
	return file_write_atomic(path, data, len, 0644) == 0 ? 0 : -1;
}

static int read_file(const char *path, struct buf *b)
{
	buf_init(b, (size_t)SIM_CONTENT_CAP);
	return file_read_all(path, (size_t)SIM_CONTENT_CAP, b);
}

static uint64_t records_for(uint64_t size, bool public_data)
{
	uint64_t chunks = (size + SIM_CHUNK_SIZE - 1) / SIM_CHUNK_SIZE;

	if (chunks < 3)
		chunks = 3; /* self-encryption always makes at least three */
	return chunks + (public_data ? 1 : 0);
}

static void print_tokens(uint64_t atto)
{
	printf("Total cost: %llu.%018llu\n", (unsigned long long)(atto / UINT64_C(1000000000000000000)),
	       (unsigned long long)(atto % UINT64_C(1000000000000000000)));
}

static bool name_ok(const char *n)
{
	return *n && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && strchr(n, '/') == NULL &&
	       strchr(n, '\n') == NULL;
}

/* ---------------------------------------------------------------- */
/* Commands.                                                         */

static int add_archive_entry(struct buf *manifest, const char *path, const char *name,
			     uint64_t *total, uint64_t *added, uint64_t *existing)
{
	struct buf content;
	char addr[65];
	int r;

	if (read_file(path, &content) != 0) {
		print_error("Failed to read file for upload");
		buf_free(&content);
		return -1;
	}
	r = store_put(content.data ? content.data : "", content.len, addr);
	if (r < 0) {
		buf_free(&content);
		print_error("I/O error: cannot write to the store");
		return -1;
	}
	*total += content.len;
	*(r == 1 ? existing : added) += records_for(content.len, false);
	buf_printf(manifest, "%s %zu %s\n", addr, content.len, name);
	buf_free(&content);
	return 0;
}

static int cmd_upload(const char *file, bool public_data)
{
	struct buf manifest, content;
	struct stat st;
	char addr[65];
	uint64_t total = 0, added = 0, existing = 0, records;
	int r;

	if (knob_on("ANT_SIM_REQUIRE_KEY") && !(getenv("SECRET_KEY") && *getenv("SECRET_KEY"))) {
		print_error("Failed to load wallet: SECRET_KEY is not set");
		return EXIT_WALLET;
	}
	if (stat(file, &st) != 0) {
		print_error("Failed to upload: No such file or directory (os error 2)");
		return EXIT_IO;
	}
	printf("Uploading data to network...\n");
	buf_init(&manifest, 16 * 1024 * 1024);
	buf_append(&manifest, SIM_ARCHIVE_MAGIC, strlen(SIM_ARCHIVE_MAGIC));
	if (S_ISDIR(st.st_mode)) {
		struct dirent **list = NULL;
		int n = scandir(file, &list, NULL, alphasort);

		for (int i = 0; i < n; i++) {
			char path[PATH_MAX];
			struct stat fst;

			if (snprintf(path, sizeof(path), "%s/%s", file, list[i]->d_name) < (int)sizeof(path) &&
			    lstat(path, &fst) == 0 && S_ISREG(fst.st_mode) && name_ok(list[i]->d_name) &&
			    add_archive_entry(&manifest, path, list[i]->d_name, &total, &added, &existing) != 0)
				n = -1;
		}
		for (int i = 0; list && i < n; i++)
			free(list[i]);
		free(list);
		if (n < 0) {
			buf_free(&manifest);
			return EXIT_IO;
		}
		r = store_put(manifest.data, manifest.len, addr);
	} else if (knob_on("ANT_SIM_ARCHIVE")) {
		const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;

		if (add_archive_entry(&manifest, file, base, &total, &added, &existing) != 0) {
			buf_free(&manifest);
			return EXIT_IO;
		}
		r = store_put(manifest.data, manifest.len, addr);
	} else {
		if (read_file(file, &content) != 0) {
			buf_free(&manifest);
			buf_free(&content);
			print_error("Failed to read file for upload");
			return EXIT_IO;
		}
		r = store_put(content.data ? content.data : "", content.len, addr);
		total = content.len;
		*(r == 1 ? &existing : &added) += records_for(content.len, false);
		buf_free(&content);
	}
	buf_free(&manifest);
	if (r < 0) {
		print_error("I/O error: cannot write to the store");
		return EXIT_IO;
	}
	throttle(total);
	records = added ? added + (public_data ? 1 : 0) : 0;
	printf("Upload completed in %.3fs\n", 0.001);
	if (records == 0)
		printf("All chunks already exist on the network.\n");
	else
		printf("Successfully uploaded: %s\n", file);
	printf("At address: %s\n", addr);
	printf("Number of chunks uploaded: %llu\n", (unsigned long long)records);
	printf("Number of chunks already paid/uploaded: %llu\n", (unsigned long long)existing);
	print_tokens(records * SIM_ATTO_PER_RECORD);
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
	int64_t seed;
	struct seedgen g;
	uint64_t s = 0;

	if (size <= 0)
		return -1;
	str_copy(seedhex, addr, sizeof(seedhex));
	for (const char *p = seedhex; *p; p++)
		s = s * 16 + (uint64_t)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
	seed = (int64_t)s;
	buf_init(content, (size_t)size + 1);
	content->data = xmalloc((size_t)size + 1);
	content->alloc = (size_t)size + 1;
	seedgen_init(&g, (uint64_t)seed);
	seedgen_fill(&g, content->data, (size_t)size);
	content->len = (size_t)size;
	content->data[size] = '\0';
	return 0;
}

static int download_archive(const char *addr, struct buf *manifest, const char *dest)
{
	char *line = manifest->data + strlen(SIM_ARCHIVE_MAGIC);
	uint64_t total = 0;

	if (mkdir_p(dest, 0755) != 0) {
		print_error("I/O error: cannot create the destination directory");
		return EXIT_IO;
	}
	while (line && *line) {
		char *nl = strchr(line, '\n'), *sp1, *sp2;
		char path[PATH_MAX], out[PATH_MAX];
		struct buf content;

		if (nl)
			*nl = '\0';
		sp1 = strchr(line, ' ');
		sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (sp1 == NULL || sp2 == NULL || !name_ok(sp2 + 1)) {
			print_error("Failed to deserialize archive");
			return EXIT_DECRYPT;
		}
		*sp1 = '\0';
		if (store_path(line, path, sizeof(path)) != 0 || read_file(path, &content) != 0 ||
		    snprintf(out, sizeof(out), "%s/%s", dest, sp2 + 1) >= (int)sizeof(out)) {
			buf_free(&content);
			print_error("Failed to fetch data from address: Record could not be found");
			return EXIT_RECORD_NOT_FOUND;
		}
		total += content.len;
		if (write_dest(out, &content) != 0) {
			buf_free(&content);
			print_error("I/O error: cannot write the download");
			return EXIT_IO;
		}
		buf_free(&content);
		line = nl ? nl + 1 : NULL;
	}
	throttle(total);
	printf("Successfully downloaded data at: %s\n", addr);
	return 0;
}

static int cmd_download(const char *addr, const char *dest)
{
	char path[PATH_MAX];
	struct buf content;
	int rc;

	if (!address_ok(addr)) {
		print_error("Failed to parse data address");
		return EXIT_INPUT;
	}
	printf("Fetching file from address %s...\n", addr);
	if (store_path(addr, path, sizeof(path)) != 0 || read_file(path, &content) != 0) {
		buf_free(&content);
		if (synthesize(addr, &content) != 0) {
			print_error("Failed to fetch data from address: Record could not be found");
			return EXIT_RECORD_NOT_FOUND;
		}
	}
	if (content.len >= strlen(SIM_ARCHIVE_MAGIC) &&
	    memcmp(content.data, SIM_ARCHIVE_MAGIC, strlen(SIM_ARCHIVE_MAGIC)) == 0) {
		rc = download_archive(addr, &content, dest);
		buf_free(&content);
		return rc;
	}
	throttle(content.len);
	if (write_dest(dest, &content) != 0) {
		buf_free(&content);
		print_error("I/O error: cannot write the download");
		return EXIT_IO;
	}
	buf_free(&content);
	printf("Successfully downloaded file at: %s\n", addr);
	return 0;
}

static int cmd_cost(const char *file, bool public_data)
{
	struct stat st;

	if (stat(file, &st) != 0) {
		print_error("Failed to calculate cost for file: No such file or directory (os error 2)");
		return EXIT_IO;
	}
	printf("Getting upload cost...\n");
	printf("Estimate cost to upload file: %s\n", file);
	print_tokens(records_for((uint64_t)st.st_size, public_data) * SIM_ATTO_PER_RECORD);
	return 0;
}

/* ---------------------------------------------------------------- */

static bool is_subcommand(const char *s)
{
	static const char *const words[] = { "file", "wallet", "analyze", "register",
					     "vault", "pointer", "scratchpad", NULL };

	for (int i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/* Like the real client, leave a trace in the log directory it was given. */
static void log_to_dest(const char *dir, int first, int argc, char **argv)
{
	char path[PATH_MAX];
	struct buf b;

	if (mkdir_p(dir, 0755) != 0 ||
	    snprintf(path, sizeof(path), "%s/ant-sim.log", dir) >= (int)sizeof(path))
		return;
	buf_init(&b, 4096);
	buf_printf(&b, "pid %d:", (int)getpid());
	for (int k = first; k < argc; k++)
		buf_printf(&b, " %s", argv[k]);
	if (b.truncated)
		b.len = b.cap - 2;
	b.data[b.len++] = '\n';
	append_line(path, b.data, b.len);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	const char *log_dest = NULL, *cfg, *mode;
	const struct fail_kind *fk;
	int i = 1, rc;
	int64_t exit_override;

	if ((cfg = getenv("ANT_SIM_CONFIG")) != NULL && *cfg) {
		if (load_config(cfg) != 0) {
			fprintf(stderr, "ant-sim: cannot read ANT_SIM_CONFIG '%s'\n", cfg);
			return EXIT_USAGE_CLAP;
		}
	}
	g_rng = (uint64_t)knob_int("ANT_SIM_SEED", (int64_t)time(NULL) ^ ((int64_t)getpid() << 20),
				   INT64_MIN, INT64_MAX);
	g_rng = g_rng * UINT64_C(0x9e3779b97f4a7c15) + 1;
	log_invocation(argc, argv);
	/* Global flags first, as with ant. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			const char *style = knob("ANT_SIM_VERSION_STYLE");

			fputs(style && strcmp(style, "old") == 0 ? SIM_VERSION_OLD : SIM_VERSION_NEW, stdout);
			return 0;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--log-output-dest") == 0 && i + 1 < argc) {
			log_dest = argv[++i];
			continue;
		}
		if ((strcmp(a, "--peer") == 0 || strcmp(a, "--network-id") == 0) && i + 1 < argc) {
			i++;
			continue;
		}
		/* Unknown flag: take a value when one follows. */
		if (strchr(a, '=') == NULL && i + 1 < argc && argv[i + 1][0] != '-' &&
		    !is_subcommand(argv[i + 1]))
			i++;
	}
	if (i + 1 >= argc || strcmp(argv[i], "file") != 0) {
		fprintf(stderr, "error: unrecognized subcommand (ant-sim knows: file upload|download|cost)\n\n");
		usage(stderr);
		return EXIT_USAGE_CLAP;
	}
	if (log_dest)
		log_to_dest(log_dest, i, argc, argv);
	sleep_ms(knob_int("ANT_SIM_LATENCY_MS", 0, 0, INT64_C(86400000)));
	if ((mode = knob("ANT_SIM_HANG")) != NULL && *mode && strcmp(mode, "0") != 0)
		hang(mode);
	if ((mode = knob("ANT_SIM_ENDLESS")) != NULL && *mode && strcmp(mode, "0") != 0)
		endless(mode);
	if (knob_on("ANT_SIM_PANIC"))
		return do_panic();
	fk = maybe_fail(argv[i + 1]);
	if (fk) {
		if (fk->code == EXIT_PANIC)
			return do_panic();
		print_error(fk->text);
		return fk->code;
	}
	if (knob_on("ANT_SIM_GARBAGE"))
		return garbage();
	exit_override = knob_int("ANT_SIM_EXIT", -1, -1, 255);
	if (strcmp(argv[i + 1], "upload") == 0 && i + 2 < argc) {
		bool pub = i + 3 < argc && strcmp(argv[i + 3], "--public") == 0;

		rc = cmd_upload(argv[i + 2], pub);
	} else if (strcmp(argv[i + 1], "download") == 0 && i + 3 < argc) {
		rc = cmd_download(argv[i + 2], argv[i + 3]);
	} else if (strcmp(argv[i + 1], "cost") == 0 && i + 2 < argc) {
		rc = cmd_cost(argv[i + 2], false);
	} else {
		fprintf(stderr, "error: bad arguments for 'file %s'\n\n", argv[i + 1]);
		usage(stderr);
		rc = EXIT_USAGE_CLAP;
	}
	fflush(stdout);
	buf_free(&g_config);
	return exit_override >= 0 ? (int)exit_override : rc;
}
