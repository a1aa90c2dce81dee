/*
 * config.c - the settings table, value checking and the .env reader.
 *
 * The .env reader accepts what python-dotenv accepted for the original
 * agent: KEY=VALUE lines, an optional leading "export ", '#' comments,
 * single or double quotes around a value, and " #" inline comments after
 * an unquoted value.
 */
#include "config.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
		break;
	}
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
				log_warn("%s:%d: unknown setting '%s' (ignored)", path, lineno, key);
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

void config_dump(FILE *out)
{
	ensure_ready();
	for (size_t i = 0; i < CFG__COUNT; i++) {
		const char *v = g_vals[i].str;

		if (defs[i].flags & SECRET)
			v = *v ? "****" : "";
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
