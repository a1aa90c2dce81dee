/*
 * influx.c - the InfluxDB push: a disk spool of gzipped batches and one
 * sender that posts the oldest batch, on the agent's loop (see influx.h).
 *
 * Spool files are named <sequence>-<lines>.lp.gz so that the order and
 * the line count survive a restart without reading them.
 */
#include "influx.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "config.h"
#include "fetch.h"
#include "lineproto.h"
#include "log.h"

#define URL_MAX 4096
#define AUTH_MAX 1024
#define TAGS_MAX 1024

struct spool_entry {
	uint64_t seq;
	uint64_t lines;
	uint64_t bytes;
};

static struct {
	bool running;
	uv_loop_t *loop;
	struct fetcher *fetcher;
	uv_timer_t *timer;          /* freed in its close callback */
	bool timer_armed;
	bool in_flight;
	int failures;               /* consecutive failed attempts */
	char spool_dir[4096];
	char url[URL_MAX];
	char auth[AUTH_MAX];        /* "Authorization: ..." or "" */
	char tags[TAGS_MAX];
	uint64_t spool_max;
	uint64_t next_seq;
	struct spool_entry *q;      /* oldest first */
	size_t qn, qalloc;
	uint64_t unreported_drops;  /* dropped lines not yet in a self-metric */
	struct influx_counters c;
} g;

static void send_next(void);

/* --- Encoding --- */

int influx_gzip(const void *data, size_t len, struct buf *out)
{
	z_stream z;
	uLong bound;
	int rc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip wrapper, which Content-Encoding: gzip means. */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len) + 32;
	buf_init(out, (size_t)bound + 1);
	out->data = xmalloc((size_t)bound + 1);
	out->alloc = (size_t)bound + 1;
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->data;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	out->len = bound - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		buf_free(out);
		return -1;
	}
	return 0;
}

/* Percent-encode a query value (RFC 3986 unreserved bytes stay). */
static int url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			if (buf_append(b, p, 1) != 0)
				return -1;
		} else if (buf_append(b, e, 3) != 0) {
			return -1;
		}
	}
	return 0;
}

int influx_write_url(char *out, size_t n)
{
	const char *base = cfg_str(CFG_INFLUX_URL);
	size_t blen = strlen(base);
	struct buf b;
	int rc = -1;

	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
		log_error("influx: INFLUX_URL must start with http:// or https://");
		return -1;
	}
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	buf_init(&b, URL_MAX - 1);
	if (buf_append(&b, base, blen) != 0)
		goto out;
	if (cfg_int(CFG_INFLUX_VERSION) == 2) {
		if (!cfg_str(CFG_INFLUX_ORG)[0] || !cfg_str(CFG_INFLUX_BUCKET)[0]) {
			log_error("influx: INFLUX_VERSION=2 needs INFLUX_ORG and INFLUX_BUCKET");
			goto out;
		}
		if (buf_printf(&b, "/api/v2/write?org=") != 0 ||
		    url_encode(&b, cfg_str(CFG_INFLUX_ORG)) != 0 ||
		    buf_printf(&b, "&bucket=") != 0 ||
		    url_encode(&b, cfg_str(CFG_INFLUX_BUCKET)) != 0)
			goto out;
	} else {
		if (!cfg_str(CFG_INFLUX_DB)[0]) {
			log_error("influx: INFLUX_DB is empty");
			goto out;
		}
		if (buf_printf(&b, "/write?db=") != 0 || url_encode(&b, cfg_str(CFG_INFLUX_DB)) != 0)
			goto out;
	}
	if (buf_printf(&b, "&precision=ns") != 0)
		goto out;
	str_copy(out, b.data, n);
	rc = b.len < n ? 0 : -1;
out:
	if (rc != 0 && b.truncated)
		log_error("influx: the write URL is too long");
	buf_free(&b);
	return rc;
}

/* Credentials go in a header, never in the URL (URLs end up in logs). */
static int build_auth(void)
{
	char plain[AUTH_MAX / 2];
	char enc[AUTH_MAX];
	size_t n;
	int rc = -1;

	g.auth[0] = '\0';
	if (cfg_int(CFG_INFLUX_VERSION) == 2) {
		if (cfg_str(CFG_INFLUX_TOKEN)[0] == '\0')
			return 0;
		if ((size_t)snprintf(g.auth, sizeof(g.auth), "Authorization: Token %s",
				     cfg_str(CFG_INFLUX_TOKEN)) >= sizeof(g.auth))
			return -1;
		return 0;
	}
	if (cfg_str(CFG_INFLUX_USER)[0] == '\0')
		return 0;
	n = (size_t)snprintf(plain, sizeof(plain), "%s:%s", cfg_str(CFG_INFLUX_USER),
			     cfg_str(CFG_INFLUX_PASSWORD));
	if (n >= sizeof(plain) || str_base64(plain, n, enc, sizeof(enc)) == 0)
		goto out;
	/* The encoded form reveals the password as surely as the password. */
	log_add_secret(enc);
	if ((size_t)snprintf(g.auth, sizeof(g.auth), "Authorization: Basic %s", enc) >= sizeof(g.auth))
		goto out;
	rc = 0;
out:
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(enc, sizeof(enc));
	return rc;
}

/* --- Spool --- */

static void spool_path(char *out, size_t n, const struct spool_entry *e)
{
	snprintf(out, n, "%s/%020" PRIu64 "-%" PRIu64 ".lp.gz", g.spool_dir, e->seq, e->lines);
}

static void spool_update_counters(void)
{
	g.c.spool_files = g.qn;
	g.c.spool_bytes = 0;
	for (size_t i = 0; i < g.qn; i++)
		g.c.spool_bytes += g.q[i].bytes;
}

/* Remove entry i from disk and from the queue. */
static void spool_remove(size_t i)
{
	char path[4200];

	spool_path(path, sizeof(path), &g.q[i]);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("influx: cannot remove %s: %s", path, strerror(errno));
	memmove(&g.q[i], &g.q[i + 1], (g.qn - i - 1) * sizeof(*g.q));
	g.qn--;
	spool_update_counters();
}

static void spool_push(const struct spool_entry *e)
{
	if (g.qn == g.qalloc) {
		g.qalloc = g.qalloc ? g.qalloc * 2 : 64;
		g.q = xrealloc(g.q, g.qalloc * sizeof(*g.q));
	}
	g.q[g.qn++] = *e;
	spool_update_counters();
}

static int cmp_entry(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Find the batches an earlier run left behind. */
static int spool_scan(void)
{
	DIR *d = opendir(g.spool_dir);
	struct dirent *de;

	if (d == NULL) {
		log_error("influx: cannot open the spool %s: %s", g.spool_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char name[256], path[4400], *dash, *dot;
		struct spool_entry e;
		struct stat st;
		int64_t seq, lines;

		if (str_copy(name, de->d_name, sizeof(name)) >= sizeof(name) || name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g.spool_dir, name);
		if (strstr(name, ".tmp.")) { /* a write that never finished */
			unlink(path);
			continue;
		}
		dash = strchr(name, '-');
		dot = strstr(name, ".lp.gz");
		if (!dash || !dot || dot[6] != '\0' || stat(path, &st) != 0)
			continue;
		*dash = '\0';
		*dot = '\0';
		if (parse_i64(name, 0, INT64_MAX, &seq) != 0 || parse_i64(dash + 1, 0, INT64_MAX, &lines) != 0)
			continue;
		e.seq = (uint64_t)seq;
		e.lines = (uint64_t)lines;
		e.bytes = (uint64_t)st.st_size;
		spool_push(&e);
		if (e.seq >= g.next_seq)
			g.next_seq = e.seq + 1;
	}
	closedir(d);
	if (g.qn > 1)
		qsort(g.q, g.qn, sizeof(*g.q), cmp_entry);
	spool_update_counters();
	if (g.qn)
		log_info("influx: %zu batches (%" PRIu64 " bytes) waiting in the spool from before",
			 g.qn, g.c.spool_bytes);
	return 0;
}

static void count_drop(uint64_t lines, const char *why)
{
	g.c.lines_dropped += lines;
	g.unreported_drops += lines;
	log_warn("influx: %" PRIu64 " lines dropped (%s); %" PRIu64 " dropped since start",
		 lines, why, g.c.lines_dropped);
}

/* Make room for `bytes` more: drop the oldest batches not in flight. */
static void spool_make_room(uint64_t bytes)
{
	size_t i = 0;

	while (g.c.spool_bytes + bytes > g.spool_max && i < g.qn) {
		if (i == 0 && g.in_flight) {
			i++;
			continue;
		}
		count_drop(g.q[i].lines, "the spool is full");
		spool_remove(i);
	}
}

static void spool_add(const char *data, size_t len, size_t nlines)
{
	struct spool_entry e;
	struct buf gz;
	char path[4200];

	if (influx_gzip(data, len, &gz) != 0) {
		count_drop(nlines, "gzip failed");
		return;
	}
	if (gz.len > g.spool_max) {
		count_drop(nlines, "the batch is larger than the whole spool");
		goto out;
	}
	spool_make_room(gz.len);
	e.seq = g.next_seq++;
	e.lines = nlines;
	e.bytes = gz.len;
	spool_path(path, sizeof(path), &e);
	if (file_write_atomic(path, gz.data, gz.len, 0600) != 0) {
		log_error("influx: cannot write %s: %s", path, strerror(errno));
		count_drop(nlines, "the spool cannot be written");
		goto out;
	}
	spool_push(&e);
out:
	buf_free(&gz);
}

/* After a drop, tell the server about it: one self-metric line. */
static void spool_self_metric(void)
{
	struct lp_line l;
	struct buf b;

	if (g.unreported_drops == 0)
		return;
	buf_init(&b, 4096);
	lp_begin(&l, &b, "ant_agent_self");
	lp_raw_tags(&l, g.tags, strlen(g.tags));
	lp_field_uint(&l, "dropped_lines", g.unreported_drops);
	lp_field_uint(&l, "dropped_total", g.c.lines_dropped);
	if (lp_end(&l, clock_now_ms() * 1000000LL) == 0) {
		g.unreported_drops = 0;
		spool_add(b.data, b.len, 1);
	}
	buf_free(&b);
}

void influx_submit(const char *lines, size_t len, size_t nlines, void *ud)
{
	size_t start = 0, count = 0;

	(void)nlines;
	(void)ud;
	if (!g.running)
		return;
	/* Cut into batches of INFLUX_BATCH_LINES whole lines. */
	for (size_t i = 0; i < len; i++) {
		if (lines[i] != '\n')
			continue;
		if (++count == INFLUX_BATCH_LINES) {
			spool_add(lines + start, i + 1 - start, count);
			start = i + 1;
			count = 0;
		}
	}
	if (count > 0)
		spool_add(lines + start, len - start, count);
	spool_self_metric();
	if (!g.in_flight && !g.timer_armed)
		send_next();
}

/* --- Sending --- */

static void on_timer(uv_timer_t *t)
{
	(void)t;
	g.timer_armed = false;
	send_next();
}

static void retry_later(int64_t retry_after_s)
{
	int64_t delay = INFLUX_BACKOFF_MIN_MS;

	for (int i = 1; i < g.failures && delay < INFLUX_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (retry_after_s > 0 && retry_after_s * 1000 > delay)
		delay = retry_after_s * 1000;
	if (delay > INFLUX_BACKOFF_MAX_MS)
		delay = INFLUX_BACKOFF_MAX_MS;
	g.c.retries++;
	g.timer_armed = true;
	clock_timer_start(g.timer, on_timer, delay);
}

/* An excerpt of the server's answer, on one line, for the log. */
static void excerpt(const struct buf *body, char *out, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; body->data && i < body->len && k + 1 < n; i++) {
		unsigned char ch = (unsigned char)body->data[i];

		out[k++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[k] = '\0';
}

static bool retryable(long status)
{
	return status == 0 || status == 401 || status == 403 || status == 404 || status == 429 ||
	       status >= 500 || status < 400;
}

static void on_done(struct fetch_response *res, void *ud)
{
	char why[200];

	(void)ud;
	g.in_flight = false;
	g.c.last_status = res->status;
	if (g.qn == 0) /* dropped while in flight? cannot be: never dropped */
		return;
	if (res->ok) {
		g.c.lines_sent += g.q[0].lines;
		g.c.batches_sent++;
		if (g.failures > 0)
			log_info("influx: the server answers again; sending the spool (%zu batches)", g.qn);
		g.failures = 0;
		spool_remove(0);
		send_next();
		return;
	}
	excerpt(&res->body, why, sizeof(why));
	if (!retryable(res->status)) {
		g.c.lines_rejected += g.q[0].lines;
		log_error("influx: the server rejected a batch of %" PRIu64 " lines (HTTP %ld: %s); dropped",
			  g.q[0].lines, res->status, why);
		spool_remove(0);
		send_next();
		return;
	}
	g.failures++;
	/* Say it when it starts and now and then, not on every retry. */
	if (g.failures == 1 || g.failures % 10 == 0) {
		if (res->status)
			log_warn("influx: push failed (HTTP %ld: %s); %zu batches wait in the spool, retrying",
				 res->status, why, g.qn);
		else
			log_warn("influx: push failed (%s); %zu batches wait in the spool, retrying",
				 res->error, g.qn);
	}
	retry_later(res->retry_after_s);
}

static void send_next(void)
{
	const char *headers[4] = { "Content-Type: text/plain; charset=utf-8",
				   "Content-Encoding: gzip", NULL, NULL };
	struct fetch_request req;
	char path[4200];
	struct buf body;
	int r;

	while (g.running && !g.in_flight && !g.timer_armed && g.qn > 0) {
		spool_path(path, sizeof(path), &g.q[0]);
		r = file_read_all(path, INFLUX_SPOOL_FILE_CAP, &body);
		if (r != 0) {
			log_warn("influx: spool file %s cannot be read; dropped", path);
			count_drop(g.q[0].lines, "unreadable spool file");
			spool_remove(0);
			continue;
		}
		if (g.auth[0])
			headers[2] = g.auth;
		memset(&req, 0, sizeof(req));
		req.url = g.url;
		req.method = "POST";
		req.body = body.data;
		req.body_len = body.len;
		req.headers = headers;
		req.cap = FETCH_CAP_REPLY;
		/* Read at every push, so a SIGHUP applies a new value. */
		req.timeout_ms = (int)cfg_int(CFG_INFLUX_TIMEOUT_SECS) * 1000;
		r = fetch_start(g.fetcher, &req, on_done, NULL);
		buf_free(&body);
		if (r != 0) {
			g.failures++;
			retry_later(-1);
			return;
		}
		g.in_flight = true;
	}
}

/* --- Life cycle --- */

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

int influx_start(uv_loop_t *loop, const char *common_tags)
{
	if (g.running)
		influx_stop();
	memset(&g, 0, sizeof(g));
	if (influx_write_url(g.url, sizeof(g.url)) != 0)
		return -1;
	if (build_auth() != 0) {
		log_error("influx: credentials too long");
		return -1;
	}
	str_copy(g.tags, common_tags ? common_tags : "", sizeof(g.tags));
	g.spool_max = (uint64_t)cfg_int(CFG_INFLUX_SPOOL_MAX_MB) * 1024 * 1024;
	if ((size_t)snprintf(g.spool_dir, sizeof(g.spool_dir), "%s/%s", cfg_str(CFG_CACHE_DIR),
			     INFLUX_SPOOL_DIRNAME) >= sizeof(g.spool_dir) ||
	    mkdir_p(g.spool_dir, 0700) != 0) {
		log_error("influx: cannot create the spool directory %s", g.spool_dir);
		return -1;
	}
	if (spool_scan() != 0)
		return -1;
	g.fetcher = fetcher_new(loop);
	if (g.fetcher == NULL) {
		free(g.q);
		g.q = NULL;
		return -1;
	}
	g.timer = xmalloc(sizeof(*g.timer));
	uv_timer_init(loop, g.timer);
	g.loop = loop;
	g.running = true;
	log_info("influx: pushing to %s (InfluxDB %d.x API)", g.url, (int)cfg_int(CFG_INFLUX_VERSION));
	send_next();
	return 0;
}

void influx_stop(void)
{
	if (!g.running)
		return;
	g.running = false;
	/* The batch in flight stays in the spool; it is sent after a restart
	 * (the server overwrites any points that did arrive). */
	fetcher_free(g.fetcher);
	g.fetcher = NULL;
	uv_timer_stop(g.timer);
	uv_close((uv_handle_t *)g.timer, timer_closed);
	g.timer = NULL;
	g.in_flight = g.timer_armed = false;
	free(g.q);
	g.q = NULL;
	g.qn = g.qalloc = 0;
}

bool influx_running(void)
{
	return g.running;
}

void influx_kick(void)
{
	if (!g.running)
		return;
	if (g.timer_armed) {
		uv_timer_stop(g.timer);
		g.timer_armed = false;
	}
	send_next();
}

bool influx_idle(void)
{
	return g.qn == 0 && !g.in_flight;
}

void influx_get_counters(struct influx_counters *out)
{
	*out = g.c;
}
