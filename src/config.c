/*
 * config.c - the settings table, value checking and the .env reader.
 *
 * The .env reader accepts what python-dotenv accepted for the original
 * agent: KEY=VALUE lines, an optional leading "export ", '#' comments,
 * single or double quotes around a value, and " #" inline comments after
 * an unquoted value.
 */
#include "config.h"
#include "multiaddr.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECRET 1
#define RELOAD 2
#define ENV_FILE_MAX (1024 * 1024)

struct setting_def {
	const char *name;
	enum cfg_type type;
	const char *def;
	double min, max;
	const char *choices;
	int flags;
	const char *help;
};

static const struct setting_def defs[CFG__COUNT] = {
#define X(name, type, def, min, max, choices, flags, help) \
	{ #name, CFG_T_##type, def, min, max, choices, flags, help },
#include "settings.def"
#undef X
};

/* Other names a setting answers to. The original agent's misspelt
 * TELEMETRY_PROVISON stays the setting's name (existing .env files and
 * dashboards use it); the correct spelling is accepted as well. */
static const struct setting_alias {
	const char *name;
	enum cfg_key key;
} aliases[] = {
	{ "TELEMETRY_PROVISION", CFG_TELEMETRY_PROVISON },
};

/* A setting whose value is checked and rewritten beyond its type: returns
 * 0 with the canonical form in out, or -1 with what is expected in err. */
typedef int (*normalise_fn)(const char *value, char *out, size_t outlen,
			    char *err, size_t errlen);

static int normalise_country(const char *value, char *out, size_t outlen,
			     char *err, size_t errlen);

static const struct setting_normaliser {
	enum cfg_key key;
	normalise_fn fn;
} normalisers[] = {
	{ CFG_TELEMETRY_COUNTRY, normalise_country },
};

struct setting_val {
	char *str;
	int64_t i;
	double f;
	bool b;
	enum cfg_source src;
};

static struct setting_val g_vals[CFG__COUNT];
static int g_ready;
static const struct config_sources *g_sources;

static void vals_free(struct setting_val *v)
{
	for (size_t i = 0; i < CFG__COUNT; i++) {
		free(v[i].str);
		v[i].str = NULL;
	}
}

/* Settings whose text has a shape of its own, checked when set. */
static int value_check(enum cfg_key k, const char *value, char *err, size_t errlen)
{
	char why[480];

	if (k == CFG_CLIENT_PEERS && multiaddr_list_check(value, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "setting CLIENT_PEERS: %s", why);
		return -1;
	}
	return 0;
}

/* Check text against setting k and store it in *v. */
static int check_value(enum cfg_key k, const char *value, struct setting_val *v,
		       char *err, size_t errlen)
{
	const struct setting_def *d = &defs[k];
	char allowed[128];
	char canon[CFG_VALUE_MAX];

	config_describe(k, allowed, sizeof(allowed));
	if (strlen(value) >= CFG_VALUE_MAX) {
		snprintf(err, errlen, "setting %s: value is longer than %d characters",
			 d->name, CFG_VALUE_MAX - 1);
		return -2;
	}
	str_copy(canon, value, sizeof(canon));
	switch (d->type) {
	case CFG_T_INT:
		if (parse_i64(value, (int64_t)d->min, (int64_t)d->max, &v->i) != 0)
			goto bad;
		break;
	case CFG_T_FLOAT:
		if (parse_double(value, d->min, d->max, &v->f) != 0)
			goto bad;
		break;
	case CFG_T_BOOL:
		if (parse_bool(value, &v->b) != 0)
			goto bad;
		snprintf(canon, sizeof(canon), "%s", v->b ? "true" : "false");
		break;
	case CFG_T_STR:
		if (d->choices) {
			const char *p = d->choices;
			int found = 0;

			while (*p && !found) {
				const char *bar = strchr(p, '|');
				size_t n = bar ? (size_t)(bar - p) : strlen(p);

				if (strlen(value) == n && strncasecmp(value, p, n) == 0) {
					memcpy(canon, p, n);
					canon[n] = '\0';
					found = 1;
				}
				p = bar ? bar + 1 : p + n;
			}
			if (!found)
				goto bad;
		}
		for (size_t i = 0; i < ARRAY_SIZE(normalisers); i++) {
			if (normalisers[i].key != k)
				continue;
			if (normalisers[i].fn(value, canon, sizeof(canon), allowed,
					      sizeof(allowed)) != 0)
				goto bad;
		}
		break;
	}
	if (value_check(k, value, err, errlen) != 0)
		return -2;
	free(v->str);
	v->str = xstrdup(canon);
	return 0;
bad:
	snprintf(err, errlen, "setting %s: '%s' is not allowed (expected %s)",
		 d->name, d->flags & SECRET ? "****" : value, allowed);
	return -2;
}

static int set_in(struct setting_val *vals, const char *key, const char *value,
		  enum cfg_source src, char *err, size_t errlen)
{
	enum cfg_key k;
	struct setting_val tmp;
	int rc;

	if (config_lookup(key, &k) != 0) {
		char near[64];

		if (config_suggest(key, near, sizeof(near)) == 0)
			snprintf(err, errlen, "unknown setting '%s' (did you mean %s?)", key, near);
		else
			snprintf(err, errlen, "unknown setting '%s'", key);
		return -1;
	}
	tmp = vals[k];
	tmp.str = NULL;
	rc = check_value(k, value, &tmp, err, errlen);
	if (rc != 0)
		return rc;
	free(vals[k].str);
	vals[k] = tmp;
	vals[k].src = src;
	return 0;
}

static void defaults_into(struct setting_val *vals)
{
	char err[256];

	for (size_t i = 0; i < CFG__COUNT; i++) {
		vals[i].str = NULL;
		if (check_value((enum cfg_key)i, defs[i].def, &vals[i], err, sizeof(err)) != 0) {
			/* A default outside its own bounds is a bug in settings.def. */
			fprintf(stderr, "ant-agent: bad built-in default: %s\n", err);
			abort();
		}
		vals[i].src = CFG_SRC_DEFAULT;
	}
}

void config_reset(void)
{
	if (g_ready)
		vals_free(g_vals);
	defaults_into(g_vals);
	g_ready = 1;
}

static void ensure_ready(void)
{
	if (!g_ready)
		config_reset();
}

/* Parse one .env line in place. Returns 1 with key/value set, 0 for a
 * blank or comment line, -1 for a malformed line. */
static int env_parse_line(char *line, char **key, char **value)
{
	char *eq, *v, *k;

	str_trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if (strncmp(line, "export ", 7) == 0)
		line = str_trim(line + 7);
	eq = strchr(line, '=');
	if (eq == NULL)
		return -1;
	*eq = '\0';
	k = str_trim(line);
	if (*k == '\0')
		return -1;
	for (char *p = k; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return -1;
	v = str_trim(eq + 1);
	if (*v == '"' || *v == '\'') {
		char q = *v;
		char *end = strrchr(v + 1, q);

		if (end == NULL)
			return -1;
		*end = '\0';
		v++;
	} else {
		/* An unquoted value ends at " #" (an inline comment). */
		for (char *p = v; *p; p++) {
			if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
				*p = '\0';
				str_trim(v);
				break;
			}
		}
	}
	*key = k;
	*value = v;
	return 1;
}

/* Apply the lines of .env text (NUL-terminated, modified in place) to
 * vals. Returns the number of bad values; malformed lines and unknown keys
 * are only warnings, as python-dotenv ignored them too. */
static int env_apply_text(struct setting_val *vals, const char *path, char *text)
{
	char *line = text;
	int lineno = 0, errors = 0;

	/* Count lines by hand: strtok_r would skip empty lines. */
	while (line != NULL) {
		char *nl = strchr(line, '\n');
		char *key, *value;
		char err[512];
		int r;

		if (nl)
			*nl = '\0';
		lineno++;
		if (lineno == 1 && (unsigned char)line[0] == 0xEF &&
		    (unsigned char)line[1] == 0xBB && (unsigned char)line[2] == 0xBF)
			line += 3;
		r = env_parse_line(line, &key, &value);
		if (r < 0) {
			log_warn("%s:%d: not a KEY=VALUE line (ignored)", path, lineno);
		} else if (r > 0) {
			int s = set_in(vals, key, value, CFG_SRC_ENVFILE, err, sizeof(err));
			if (s == -1) {
				log_warn("%s:%d: %s (ignored)", path, lineno, err);
			} else if (s == -2) {
				log_error("%s:%d: %s", path, lineno, err);
				errors++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return errors;
}

static int load_env_file(struct setting_val *vals, const char *path, bool required)
{
	struct buf b;
	int errors;
	int rc = file_read_all(path, ENV_FILE_MAX, &b);

	if (rc == -1) {
		if (errno == ENOENT && !required)
			return 0;
		log_error("%s: cannot read settings file: %s", path, strerror(errno));
		return 1;
	}
	if (rc == -2) {
		log_error("%s: settings file is larger than %d bytes", path, ENV_FILE_MAX);
		return 1;
	}
	errors = env_apply_text(vals, path, b.data);
	buf_free(&b);
	return errors;
}

int config_check_env_text(const char *name, const char *text, size_t len)
{
	struct setting_val vals[CFG__COUNT];
	char *copy;
	int errors;

	if (len > ENV_FILE_MAX) {
		log_error("%s: settings file is larger than %d bytes", name, ENV_FILE_MAX);
		return 1;
	}
	/* The reader works on a NUL-terminated copy, like file_read_all gives. */
	copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	defaults_into(vals);
	errors = env_apply_text(vals, name, copy);
	vals_free(vals);
	free(copy);
	return errors;
}

int config_load(const struct config_sources *src)
{
	struct setting_val vals[CFG__COUNT];
	char err[512];
	int errors = 0;

	ensure_ready();
	defaults_into(vals);
	errors += load_env_file(vals, src->env_file ? src->env_file : ".env",
				src->env_file_required);
	if (src->environ) {
		for (char *const *e = src->environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			char key[128];
			enum cfg_key k;
			size_t n;

			if (eq == NULL || (n = (size_t)(eq - *e)) >= sizeof(key))
				continue;
			memcpy(key, *e, n);
			key[n] = '\0';
			if (config_lookup(key, &k) != 0)
				continue;
			if (set_in(vals, key, eq + 1, CFG_SRC_ENV, err, sizeof(err)) != 0) {
				log_error("environment: %s", err);
				errors++;
			}
		}
	}
	for (size_t i = 0; i < src->nsets; i++) {
		const char *eq = strchr(src->sets[i], '=');
		char key[128];
		size_t n;

		if (eq == NULL || (n = (size_t)(eq - src->sets[i])) == 0 || n >= sizeof(key)) {
			log_error("--set %s: expected KEY=VALUE", src->sets[i]);
			errors++;
			continue;
		}
		memcpy(key, src->sets[i], n);
		key[n] = '\0';
		if (set_in(vals, key, eq + 1, CFG_SRC_CLI, err, sizeof(err)) != 0) {
			log_error("--set: %s", err);
			errors++;
		}
	}
	if (errors) {
		vals_free(vals);
		return -1;
	}
	vals_free(g_vals);
	memcpy(g_vals, vals, sizeof(vals));
	g_sources = src;
	return 0;
}

int config_reload(void)
{
	if (g_sources == NULL)
		return -1;
	return config_load(g_sources);
}

int config_set(const char *key, const char *value, enum cfg_source src,
	       char *err, size_t errlen)
{
	ensure_ready();
	return set_in(g_vals, key, value, src, err, errlen);
}

const char *cfg_str(enum cfg_key k)
{
	ensure_ready();
	return g_vals[k].str;
}

int64_t cfg_int(enum cfg_key k)
{
	ensure_ready();
	return g_vals[k].i;
}

bool cfg_bool(enum cfg_key k)
{
	ensure_ready();
	return g_vals[k].b;
}

double cfg_float(enum cfg_key k)
{
	ensure_ready();
	return g_vals[k].f;
}

enum cfg_source cfg_source(enum cfg_key k)
{
	ensure_ready();
	return g_vals[k].src;
}

const char *config_name(enum cfg_key k)
{
	return defs[k].name;
}

const char *config_help(enum cfg_key k)
{
	return defs[k].help;
}

const char *config_default(enum cfg_key k)
{
	return defs[k].def;
}

enum cfg_type config_type(enum cfg_key k)
{
	return defs[k].type;
}

bool config_is_secret(enum cfg_key k)
{
	return (defs[k].flags & SECRET) != 0;
}

bool config_applies_on_sighup(enum cfg_key k)
{
	return (unsigned)k < CFG__COUNT && (defs[k].flags & RELOAD) != 0;
}

void config_describe(enum cfg_key k, char *out, size_t n)
{
	const struct setting_def *d = &defs[k];

	switch (d->type) {
	case CFG_T_INT:
		snprintf(out, n, "a whole number from %" PRId64 " to %" PRId64,
			 (int64_t)d->min, (int64_t)d->max);
		break;
	case CFG_T_FLOAT:
		snprintf(out, n, "a number from %g to %g", d->min, d->max);
		break;
	case CFG_T_BOOL:
		snprintf(out, n, "true or false");
		break;
	case CFG_T_STR:
		if (d->choices)
			snprintf(out, n, "one of %s", d->choices);
		else
			snprintf(out, n, "text");
		break;
	}
}

int config_lookup(const char *name, enum cfg_key *out)
{
	for (size_t i = 0; i < CFG__COUNT; i++) {
		if (strcmp(defs[i].name, name) == 0) {
			*out = (enum cfg_key)i;
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		if (strcmp(aliases[i].name, name) == 0) {
			*out = aliases[i].key;
			return 0;
		}
	}
	return -1;
}

const char *config_source_name(enum cfg_source s)
{
	switch (s) {
	case CFG_SRC_DEFAULT: return "default";
	case CFG_SRC_ENVFILE: return ".env";
	case CFG_SRC_ENV: return "environment";
	case CFG_SRC_CLI: return "command line";
	}
	return "?";
}

/* Room for a URL setting with its credentials masked. */
#define CFG_VALUE_MASK_MAX 4200

void config_dump(FILE *out)
{
	ensure_ready();
	for (size_t i = 0; i < CFG__COUNT; i++) {
		const char *v = g_vals[i].str;
		char masked[CFG_VALUE_MASK_MAX];

		if (defs[i].flags & SECRET) {
			v = *v ? "****" : "";
		} else if (strstr(v, "://") != NULL) {
			str_mask_urls(v, masked, sizeof(masked));
			v = masked;
		}
		fprintf(out, "%-28s = %-40s  [%s]  %s\n", defs[i].name, v,
			config_source_name(g_vals[i].src),
			defs[i].flags & RELOAD ? "sighup" : "restart");
	}
}

void config_register_secrets(void)
{
	ensure_ready();
	for (size_t i = 0; i < CFG__COUNT; i++)
		if ((defs[i].flags & SECRET) && g_vals[i].str[0])
			log_add_secret(g_vals[i].str);
}

/* TELEMETRY_COUNTRY: an ISO 3166-1 alpha-2 code, upper case, so that the
 * fleet's country tags agree ("de", "De" and "DE" are one country). The
 * default "xx" (and an empty value) means "not set" and stays "xx". UK,
 * which ISO 3166 reserves for the United Kingdom at its request, becomes
 * its assigned code GB. Quotes around the value (an old .env read by
 * something other than dotenv) are not part of it. */
static int normalise_country(const char *value, char *out, size_t outlen,
			     char *err, size_t errlen)
{
	size_t n = strlen(value);
	char cc[3];

	if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0]) {
		value++;
		n -= 2;
	}
	if (n == 0) {
		str_copy(out, "xx", outlen);
		return 0;
	}
	if (n != 2 || !isalpha((unsigned char)value[0]) || !isalpha((unsigned char)value[1]) ||
	    (unsigned char)value[0] > 127 || (unsigned char)value[1] > 127) {
		snprintf(err, errlen, "a two-letter ISO 3166 country code such as GB, DE or US "
			 "(xx: not set)");
		return -1;
	}
	cc[0] = (char)toupper((unsigned char)value[0]);
	cc[1] = (char)toupper((unsigned char)value[1]);
	cc[2] = '\0';
	if (strcmp(cc, "XX") == 0)
		str_copy(out, "xx", outlen);
	else if (strcmp(cc, "UK") == 0)
		str_copy(out, "GB", outlen);
	else
		str_copy(out, cc, outlen);
	return 0;
}

#define SUGGEST_NAME_MAX 64

/* Edit distance (insert, delete, substitute; any case) of two short names. */
static size_t name_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[SUGGEST_NAME_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = toupper((unsigned char)a[i - 1]) !=
				      toupper((unsigned char)b[j - 1]);
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void suggest_consider(const char *name, const char *cand, size_t *best,
			     const char **best_name)
{
	size_t d;

	if (strlen(cand) > SUGGEST_NAME_MAX)
		return;
	d = name_distance(name, cand);
	if (d < *best) {
		*best = d;
		*best_name = cand;
	}
}

int config_suggest(const char *name, char *out, size_t n)
{
	size_t len = strlen(name), best = SIZE_MAX, limit;
	const char *best_name = NULL;

	if (len == 0 || len > SUGGEST_NAME_MAX)
		return -1;
	for (size_t i = 0; i < CFG__COUNT; i++)
		suggest_consider(name, defs[i].name, &best, &best_name);
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		suggest_consider(name, aliases[i].name, &best, &best_name);
	/* Close enough to be a slip of the keyboard, not another word:
	 * two edits, or one in four characters of a long name. */
	limit = len / 4 > 2 ? len / 4 : 2;
	if (best_name == NULL || best > limit || best >= len)
		return -1;
	str_copy(out, best_name, n);
	return 0;
}

/* Quote text for a shell command shown to the user: as it is when it is
 * made of plain characters, else in single quotes. */
static void shell_quote(const char *s, char *out, size_t n)
{
	struct buf b;
	bool plain = *s != '\0';

	for (const char *p = s; *p && plain; p++)
		plain = isalnum((unsigned char)*p) || strchr("/._-+:@", *p) != NULL;
	if (plain) {
		str_copy(out, s, n);
		return;
	}
	buf_init(&b, CFG_VALUE_MAX);
	buf_append(&b, "'", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_append(&b, "'\\''", 4);
		else
			buf_append(&b, p, 1);
	}
	buf_append(&b, "'", 1);
	str_copy(out, b.data ? b.data : "''", n);
	buf_free(&b);
}

/* Most entries of the cache directory looked at for a foreign owner. */
#define CACHE_OWNER_SCAN_MAX 4096

static void owner_name(uid_t uid, char *out, size_t n)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		str_copy(out, pw->pw_name, n);
	else
		snprintf(out, n, "%u", (unsigned)uid);
}

int config_cache_owner_check(const char *dir, uid_t me, gid_t my_group, char *msg, size_t n)
{
	char found[PATH_MAX], abs[PATH_MAX], quoted[PATH_MAX + 64];
	char who[64], owner[64], group[64];
	struct group *gr;
	struct dirent *de;
	struct stat st;
	uid_t foreign = 0;
	bool bad = false;
	size_t seen = 0;
	DIR *d;

	/* root may write anywhere; a missing directory is made at start. */
	if (me == 0 || lstat(dir, &st) != 0)
		return 0;
	if (st.st_uid != me) {
		bad = true;
		foreign = st.st_uid;
		str_copy(found, dir, sizeof(found));
	} else if ((d = opendir(dir)) != NULL) {
		/* A run as root leaves root's files and folders inside a cache
		 * the user owns: one level down is where they are. */
		while (!bad && seen++ < CACHE_OWNER_SCAN_MAX && (de = readdir(d)) != NULL) {
			char path[PATH_MAX];

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
				continue;
			if (lstat(path, &st) == 0 && st.st_uid != me) {
				bad = true;
				foreign = st.st_uid;
				str_copy(found, path, sizeof(found));
			}
		}
		closedir(d);
	}
	if (!bad)
		return 0;
	if (realpath(dir, abs) == NULL)
		str_copy(abs, dir, sizeof(abs));
	owner_name(me, who, sizeof(who));
	owner_name(foreign, owner, sizeof(owner));
	gr = getgrgid(my_group);
	if (gr != NULL && gr->gr_name != NULL)
		str_copy(group, gr->gr_name, sizeof(group));
	else
		snprintf(group, sizeof(group), "%u", (unsigned)my_group);
	shell_quote(abs, quoted, sizeof(quoted));
	snprintf(msg, n, "CACHE_DIR %s: %s belongs to %s, not to %s who runs the agent "
		 "(left by a run as another user, such as root?); give it back with: "
		 "sudo chown -R %s:%s %s", dir, found, owner, who, who, group, quoted);
	return 1;
}
