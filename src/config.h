/*
 * config.h - the agent's settings: one table (settings.def), four layers.
 *
 * Precedence: built-in default < .env file < environment < command line
 * (--set KEY=VALUE). Values are checked against the table's type, bounds
 * and choices when they are set; a bad value is an error naming the key,
 * the value and what is allowed.
 */
#ifndef ANT_CONFIG_H
#define ANT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum cfg_type { CFG_T_STR, CFG_T_INT, CFG_T_BOOL, CFG_T_FLOAT };

enum cfg_source { CFG_SRC_DEFAULT, CFG_SRC_ENVFILE, CFG_SRC_ENV, CFG_SRC_CLI };

enum cfg_key {
#define X(name, type, def, min, max, choices, flags, help) CFG_##name,
#include "settings.def"
#undef X
	CFG__COUNT
};

#define CFG_VALUE_MAX 4096

/* Where to take settings from, in order of precedence. */
struct config_sources {
	const char *env_file;      /* path; NULL means ./.env */
	bool env_file_required;    /* an explicit --env-file must exist */
	char *const *environ;      /* NULL-terminated KEY=VALUE list, or NULL */
	const char *const *sets;   /* --set KEY=VALUE arguments */
	size_t nsets;
};

/* Reset every setting to its default. */
void config_reset(void);
/* Load all layers into a fresh table. On success (0) it replaces the
 * current settings; on any error (-1) the current settings are untouched
 * and every problem has been logged. Unknown keys in .env are warnings. */
int config_load(const struct config_sources *src);

/* Load again from the sources of the last successful config_load (which
 * the caller keeps alive), e.g. on SIGHUP. Same result codes. */
int config_reload(void);

/* Read .env text as the settings file `name` would be read: every line is
 * checked against the table and problems are logged, but nothing is
 * stored (for `validate`-style checks and the fuzz target). Returns the
 * number of bad values. */
int config_check_env_text(const char *name, const char *text, size_t len);
/* Set one setting from a layer. Returns 0; -1 for an unknown key; -2 for a
 * bad value. err receives a message naming the key, value and what is
 * allowed. */
int config_set(const char *key, const char *value, enum cfg_source src,
	       char *err, size_t errlen);

const char *cfg_str(enum cfg_key k);
int64_t cfg_int(enum cfg_key k);
bool cfg_bool(enum cfg_key k);
double cfg_float(enum cfg_key k);
enum cfg_source cfg_source(enum cfg_key k);

const char *config_name(enum cfg_key k);
const char *config_help(enum cfg_key k);
const char *config_default(enum cfg_key k);
enum cfg_type config_type(enum cfg_key k);
bool config_is_secret(enum cfg_key k);
/* Does a SIGHUP apply a new value? (Otherwise it waits for a restart.) */
bool config_applies_on_sighup(enum cfg_key k);
/* What a value must look like, for messages and docs ("integer 1..60"). */
void config_describe(enum cfg_key k, char *out, size_t n);
/* Look a key up by name or one of its other names (TELEMETRY_PROVISION
 * for TELEMETRY_PROVISON); returns 0 and sets *out, or -1. */
int config_lookup(const char *name, enum cfg_key *out);
const char *config_source_name(enum cfg_source s);
/* The known setting name nearest to an unknown one (a typing slip: a few
 * edits, any case), for "did you mean". Returns 0 and fills out, or -1
 * when no name is near enough. */
int config_suggest(const char *name, char *out, size_t n);
/* After a run as root, the cache (or something directly in it) belongs to
 * root and the user's agent cannot write there. Returns 1 and a message
 * with the exact chown command to fix it when dir or one of its entries
 * is not owned by `me` (not root); 0 when all is well or dir is missing. */
int config_cache_owner_check(const char *dir, uid_t me, gid_t my_group, char *msg, size_t n);

/* Print every effective setting with its source, secrets masked, and
 * "sighup" or "restart": what makes a new value apply. */
void config_dump(FILE *out);
/* Tell the log module about every non-empty secret value. */
void config_register_secrets(void);

#endif
