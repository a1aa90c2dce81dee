/*
 * client_gen.h - client generations as rows of one table.
 *
 * Each generation of the `ant` command-line client (the 0.5.x `ant-cli`
 * of maidsafe/autonomi today; the 0.2.x "Autonomi 2.0" client later) is
 * one `struct client_gen`: how its `--version` looks, how argv is built
 * for each operation, how its output is read, how an outcome is
 * classified (exit code first, then the error text with ANSI codes
 * stripped), which environment it needs (peers, wallet key) and which
 * per-call side effects the agent manages for it (a log directory per
 * call, a download cache to bypass). Nothing outside the row and its
 * functions knows which generation runs. Adding one is a row in
 * client_gens[] (client_gen.c), a file with its functions, its section
 * in docs/CLIENT.md and its transcripts under tests/fixtures/.
 */
#ifndef ANT_CLIENT_GEN_H
#define ANT_CLIENT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

/* An exit code and what it means for a download and for the other ops
 * (cost, upload): data that cannot be fetched is data loss for a
 * download, a network fault for a quote or an upload. */
struct client_code_rule {
	int code;
	enum test_status download;
	enum test_status other;
	const char *what;
};

/* A piece of error text (matched case-insensitively in stderr with its
 * ANSI codes removed) and what it means. Tried in order; the first match
 * wins. DATA_LOSS becomes NETWORK_ERROR for ops other than download. */
struct client_text_rule {
	const char *text;
	enum test_status status;
	const char *what;
};

/* Everything the argv builder may need besides settings and request. */
struct client_call_ctx {
	const char *log_dir;   /* this call's log directory, or NULL */
};

struct client_gen {
	const char *name;      /* CLIENT_GENERATION value, e.g. "ant-0.5" */
	const char *title;     /* for logs and docs */
	const char *version_pattern; /* what its --version looks like, in words */
	/* True when `--version` output is this generation's; writes the bare
	 * version ("0.5.2") for the client_version tag. */
	bool (*version_parse)(const char *output, char *version, size_t n);
	/* The whole argv (path, global flags, subcommand). NULL with err
	 * when an argument is unsafe. Free with client_argv_free. */
	char **(*build_argv)(const struct client_settings *s, const struct client_request *req,
			     const struct client_call_ctx *ctx, char *err, size_t errlen);
	/* The child's environment from the agent's: peers and the wallet key
	 * put where this generation reads them, inherited copies of those
	 * removed. key is NULL except for uploads. Free with client_argv_free. */
	char **(*build_env)(char *const *env, const struct client_settings *s, const char *key);
	/* Read the result of op from stdout (ANSI codes already removed). */
	void (*parse_output)(enum client_op op, const char *out, struct client_parsed *p);
	/* The outcome table: codes first, then texts for text_exit_codes. */
	const struct client_code_rule *codes;
	size_t ncodes;
	const struct client_text_rule *texts;
	size_t ntexts;
	/* Exit codes that say only "failed" (the text decides), -1 ended. */
	const int *text_exit_codes;
	size_t ntext_exit_codes;
	/* Environment names this generation reads. */
	const char *peers_env;   /* NULL when peers go on argv */
	const char *wallet_env;
	/* Per-call side effects the agent manages. */
	bool log_dir_per_call;   /* give every call a fresh log directory */
	const char *no_cache_flag; /* download flag that bypasses the local cache */
	/* Environment names (NAME or PREFIX*, NULL-terminated) the client reads
	 * besides peers_env; only these and the base allowlist reach it. */
	const char *const *env_pass;
};

extern const struct client_gen client_gen_ant05;
extern const struct client_gen client_gen_ant02;

/* The table, in detection order. */
extern const struct client_gen *const client_gens[];
extern const size_t client_gens_count;

/* The generation whose version_parse accepts output (NULL when none). */
const struct client_gen *client_gen_detect(const char *output, char *version, size_t n);
/* By CLIENT_GENERATION name, any case (NULL when unknown). */
const struct client_gen *client_gen_by_name(const char *name);
/* Names of every row, "a|b", for messages. */
void client_gen_names(char *out, size_t n);

/* Classify a finished call with g's table: agent stops and signals, then
 * exit 0 with or without the success line, then the code table, then the
 * text rules (only for g's generic failure codes), then unknown_error.
 * reason says which rule decided. */
enum test_status client_gen_classify(const struct client_gen *g, enum client_op op, int exit_code,
				     int term_signal, bool stopped_by_agent, bool success_line,
				     const char *err_text, char *reason, size_t n);

/* "0.000003000000000000" (tokens, at most 18 decimals) or
 * "3000000000000 AttoTokens" (an integer of atto) into exact atto.
 * Returns 0, or -1 for anything else or a value past UINT64_MAX. */
int client_parse_atto(const char *s, uint64_t *atto, const char **end);

/* Helpers the generation files share (client.c). */
struct client_argv {
	char **v;
	int n, alloc, max;
	bool full;
};
/* An empty list that takes at most max entries. */
void client_argv_init(struct client_argv *b, int max);
void client_argv_push(struct client_argv *b, const char *s);
void client_argv_push_n(struct client_argv *b, const char *s, size_t len);
/* Each blank-separated token of s. */
void client_argv_push_split(struct client_argv *b, const char *s);
/* The argv, or NULL (freed) with err set when it grew past CLIENT_ARGV_MAX. */
char **client_argv_finish(struct client_argv *b, char *err, size_t errlen);
/* A path handed to the client: not empty, not an option, no line break. */
bool client_path_arg_ok(const char *p);
/* Check the operands of req (address, dest, file); 0 or -1 with err. */
int client_check_request(const struct client_request *req, char *err, size_t errlen);
/* Copy the entries of env a client may see: PATH, HOME, LANG, LC_*, TZ,
 * TMPDIR, the names (NAME or PREFIX*, NULL-terminated) the generation
 * reads, and those of the CLIENT_ENV_PASS setting; never a secret
 * setting's name, never a name in drop[]. */
void client_env_copy_allowed(struct client_argv *b, char *const *env, const char *const *names,
			     const char *const *drop);
/* The same with no generation names and CLIENT_ENV_PASS as set now. */
void client_env_copy_without(struct client_argv *b, char *const *env, const char *const *drop);


#endif
