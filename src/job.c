/*
 * job.c - one test iteration: download, quote or upload through the
 * client, verified, cleaned up and reported as a test_result.
 *
 * Phases: guards (catalogue row, uploads allowed, free disk) -> client call
 * -> [upload with verify: a download of the new address] -> work on the
 * thread pool (measure, MD5, delete the temporary directory) -> callback.
 *
 * Downloads go to <CLIENT_DOWNLOAD_PATH>/ant-dl-XXXXXX/data: the directory
 * comes from mkdtemp (mode 0700), and nothing from the catalogue ever
 * becomes part of a path. The temporary directory is emptied in every
 * outcome, without following symbolic links and without leaving the file
 * system it is on; an emptied one may be kept for the next download
 * (checked again before it is used), else it is removed. Kept ones go
 * with job_spares_drop.
 *
 * MD5 of an archive: when the client writes a directory, every regular
 * file in it is hashed. The download passes when the file whose base name
 * equals the catalogue row's name has the catalogue MD5, or, when no file
 * has that name, when the archive holds exactly one regular file and it
 * has the MD5. Anything else (no files, several unnamed files, a mismatch)
 * fails: one MD5 cannot vouch for several files.
 */
#include "job.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "digest.h"
#include "diskguard.h"
#include "gateway.h"
#include "log.h"
#include "purge.h"
#include "upload.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOB_DEST_NAME "data"
#define JOB_NFTW_FDS 16
/* How often (real ms) a running download's size is compared with the
 * upper bound of its size class. */
#define JOB_SIZE_CHECK_MS 500

enum job_phase { PH_CLIENT, PH_VERIFY, PH_WORK, PH_DONE };

struct job {
	uv_loop_t *loop;
	uv_timer_t defer;        /* completes guarded jobs on the next loop turn */
	uv_timer_t size_check;   /* a running download against its class's bound */
	int open_handles;        /* the two timers; freed when both are closed */
	uint64_t reserved;       /* disk space promised to this job (diskguard) */
	uint64_t size_cap;       /* download: the class's upper bound; 0 none */
	char stop_detail[100];   /* what the stop reason adds (too large: sizes) */
	uv_work_t work;
	enum job_phase phase;
	struct task task;
	struct dl_row row;
	struct seed_row seed;
	char *seed_file;
	job_done_cb cb;
	void *ud;
	struct test_result res;
	struct client_call *call;
	struct gateway_download *gw; /* a download through ANTTP_URL, or NULL */
	bool terminate_requested;
	enum test_reason stop_why; /* the agent's reason for stopping the client */
	bool verifying;          /* an upload's read-back download is running */

	/* Temporary download directory ("" when none) and the client's
	 * destination inside it. */
	char tmpdir[PATH_MAX];
	char dest[PATH_MAX];

	/* Thread-pool work: inputs. */
	bool check_md5;
	char want_md5[DIGEST_MD5_HEX_SIZE];
	bool hash_seed;          /* upload verify: the seed file's MD5 is the reference */
	/* Outputs. */
	bool dest_found;
	uint64_t dest_bytes;
	int files;
	bool any_match;
	bool named_match;
	bool named_seen;
	int md5_error;           /* errno of a failed hash, 0 if none */
	bool clean_failed;
	const char *match_name;  /* base name to look for in an archive */
};

/* nftw has no user pointer; the work of one job runs on one thread. */
static _Thread_local struct job *walk_job;

static void job_free(uv_handle_t *h)
{
	struct job *j = h->data;

	if (--j->open_handles > 0)
		return;
	free(j->seed_file);
	free(j);
}

/* What the result may claim, by the kind's row: bytes only for a kind that
 * moves data and a transfer that happened; a client the agent stopped for
 * its own reasons is "stopped" with that reason, not "killed". */
static void settle_result(struct job *j)
{
	struct test_result *r = &j->res;
	const struct test_kind *k = kind_get(j->task.type);

	if (r->status == ST_KILLED && j->stop_why != REASON_NONE) {
		r->status = ST_STOPPED;
		test_result_set_why(r, j->stop_why, "%s", j->stop_detail);
	}
	if (k == NULL || !k->moves_data || (r->status != ST_OK && r->status != ST_DATA_LOSS))
		r->bytes = 0;
}

static void job_complete(struct job *j)
{
	settle_result(j);
	j->phase = PH_DONE;
	j->call = NULL;
	diskguard_release(j->reserved);
	j->reserved = 0;
	j->cb(&j->res, j->ud);
	uv_close((uv_handle_t *)&j->size_check, job_free);
	uv_close((uv_handle_t *)&j->defer, job_free);
}

static void on_defer(uv_timer_t *t)
{
	job_complete(container_of(t, struct job, defer));
}

/* Reasons are short log texts; cutting a long one short is fine. */
static void set_reason(struct job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_reason(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->res.reason, sizeof(j->res.reason), fmt, ap);
	va_end(ap);
}

/* Finish without running (more of) the test; the callback never runs
 * inside job_start. */
static void finish_soon(struct job *j, enum test_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finish_soon(struct job *j, enum test_status st, const char *fmt, ...)
{
	va_list ap;

	j->res.status = st;
	va_start(ap, fmt);
	vsnprintf(j->res.reason, sizeof(j->res.reason), fmt, ap);
	va_end(ap);
	j->phase = PH_DONE;
	uv_timer_start(&j->defer, on_defer, 0, 0);
}

/* Skip the test (a guard said no): typed reason, and the same deferral. */
static void skip_soon(struct job *j, enum test_reason why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void skip_soon(struct job *j, enum test_reason why, const char *fmt, ...)
{
	char detail[sizeof(j->res.reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	j->res.status = ST_SKIPPED;
	test_result_set_why(&j->res, why, "%s", detail);
	j->phase = PH_DONE;
	uv_timer_start(&j->defer, on_defer, 0, 0);
}

/* ---------------------------------------------------------------- */
/* Thread-pool work: measure, hash, delete.                          */

static void hash_one(struct job *j, const char *path, const char *base)
{
	char hex[DIGEST_MD5_HEX_SIZE];
	bool match;

	if (!j->check_md5)
		return;
	if (digest_md5_file(path, hex, NULL) != 0) {
		j->md5_error = errno ? errno : EIO;
		return;
	}
	match = strcmp(hex, j->want_md5) == 0;
	j->any_match |= match;
	if (j->match_name && strcmp(base, j->match_name) == 0) {
		j->named_seen = true;
		j->named_match |= match;
	}
}

static int walk_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct job *j = walk_job;

	(void)flag;
	if (S_ISREG(st->st_mode)) {
		j->files++;
		j->dest_bytes += (uint64_t)st->st_size;
		hash_one(j, path, path + ftw->base);
	}
	return 0;
}

static void measure_and_hash(struct job *j)
{
	struct stat st;

	if (j->dest[0] == '\0' || lstat(j->dest, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		j->dest_found = true;
		j->files = 1;
		j->dest_bytes = (uint64_t)st.st_size;
		hash_one(j, j->dest, JOB_DEST_NAME);
		/* A single file stands for itself, whatever its name. */
		j->named_match = j->any_match;
		j->named_seen = true;
	} else if (S_ISDIR(st.st_mode)) {
		j->dest_found = true;
		nftw(j->dest, walk_cb, JOB_NFTW_FDS, FTW_PHYS | FTW_MOUNT);
	}
}

static void work_check(struct job *j)
{
	walk_job = j;
	if (j->hash_seed) {
		if (digest_md5_file(j->seed_file, j->want_md5, NULL) != 0)
			j->md5_error = errno ? errno : EIO;
		else
			j->check_md5 = true;
	}
	measure_and_hash(j);
	walk_job = NULL;
}

/* The purge's walk: links are removed, never followed. */
static bool remove_tree(const char *dir)
{
	struct purge_stats ps = { 0 };

	return purge_tree(dir, &ps) == 0 && ps.errors == 0;
}

static void work_run(uv_work_t *w)
{
	struct job *j = container_of(w, struct job, work);

	work_check(j);
	if (j->tmpdir[0] != '\0' && !remove_tree(j->tmpdir))
		j->clean_failed = true;
}

/* A temporary directory removed on the pool after its job has completed. */
struct tree_removal {
	uv_work_t work;
	bool failed;
	char dir[PATH_MAX];
};

static void removal_run(uv_work_t *w)
{
	struct tree_removal *t = container_of(w, struct tree_removal, work);

	t->failed = !remove_tree(t->dir);
}

static void removal_done(uv_work_t *w, int status)
{
	struct tree_removal *t = container_of(w, struct tree_removal, work);

	(void)status;
	if (t->failed)
		log_warn("job: could not remove all of %s", t->dir);
	free(t);
}

static void remove_later(uv_loop_t *loop, const char *dir)
{
	struct tree_removal *t = xcalloc(1, sizeof(*t));

	str_copy(t->dir, dir, sizeof(t->dir));
	if (uv_queue_work(loop, &t->work, removal_run, removal_done) != 0) {
		removal_run(&t->work);
		removal_done(&t->work, 0);
	}
}

static bool md5_passed(const struct job *j)
{
	if (j->md5_error)
		return false;
	if (j->named_seen)
		return j->named_match;
	return j->files == 1 && j->any_match;
}

static void work_done(uv_work_t *w, int status)
{
	struct job *j = container_of(w, struct job, work);
	struct test_result *r = &j->res;

	(void)status;
	if (j->clean_failed)
		log_warn("job: could not remove all of %s", j->tmpdir);
	if (r->status == ST_OK) {
		/* The test's own download (not an upload's read-back) wrote
		 * the bytes it moved. */
		if (!j->verifying)
			r->bytes = j->dest_bytes;
		if (!j->dest_found) {
			r->status = ST_UNKNOWN_ERROR;
			snprintf(r->reason, sizeof(r->reason),
				 "%sthe client reported success but wrote nothing",
				 j->verifying ? "verify: " : "");
		} else if (!j->verifying && j->size_cap > 0 && j->dest_bytes > j->size_cap) {
			/* The row's class promised less: the disk guard counted on
			 * the bound, so the result is not taken. */
			test_result_set_why(r, REASON_TOO_LARGE, "%llu bytes, over the %s class's %llu",
					    (unsigned long long)j->dest_bytes,
					    size_class_name(j->row.size),
					    (unsigned long long)j->size_cap);
			r->status = ST_STOPPED;
		} else if (j->check_md5) {
			r->md5_checked = true;
			r->md5_valid = md5_passed(j);
			if (j->md5_error) {
				r->status = ST_UNKNOWN_ERROR;
				snprintf(r->reason, sizeof(r->reason), "cannot hash the download: %s",
					 strerror(j->md5_error));
			} else if (!r->md5_valid) {
				r->status = ST_DATA_LOSS;
				snprintf(r->reason, sizeof(r->reason), "%sMD5 mismatch (%d file%s)",
					 j->verifying ? "verify: " : "", j->files,
					 j->files == 1 ? "" : "s");
			}
		}
	}
	job_complete(j);
}

/* A download of a single file this small is hashed at once on the loop:
 * that takes less time than handing the work to a pool thread and hearing
 * back from it (two wake-ups of an idle CPU). The tiny size class ends
 * just below it. Once the result is out the file is unlinked and its
 * directory kept for the next download (spare_put), or removed on the
 * pool when it cannot be kept. */
#define JOB_INLINE_WORK_MAX (128 * 1024)

static bool work_is_small(const struct job *j)
{
	struct stat st;

	if (j->hash_seed || j->dest[0] == '\0' || lstat(j->dest, &st) != 0)
		return false;
	return S_ISREG(st.st_mode) && st.st_size <= JOB_INLINE_WORK_MAX;
}

static bool spare_put(const char *dir);

/* may_inline: the caller is a callback of the loop, not a start that
 * must not complete before it returns. */
static void start_work(struct job *j, bool may_inline)
{
	j->phase = PH_WORK;
	if (may_inline && work_is_small(j)) {
		uv_loop_t *loop = j->loop;
		char dir[PATH_MAX], dest[PATH_MAX];

		str_copy(dir, j->tmpdir, sizeof(dir));
		str_copy(dest, j->dest, sizeof(dest));
		work_check(j);
		work_done(&j->work, 0); /* j may be gone after this */
		/* The one file in it goes at once; the directory is kept for
		 * the next download (its check catches anything else). */
		if (dir[0] != '\0' && (unlink(dest) != 0 || !spare_put(dir)))
			remove_later(loop, dir);
		return;
	}
	if (uv_queue_work(j->loop, &j->work, work_run, work_done) != 0) {
		/* Cannot happen with a live loop; clean up here rather than leak. */
		work_run(&j->work);
		work_done(&j->work, 0);
	}
}

/* ---------------------------------------------------------------- */
/* Temporary directory.                                              */

/* CLIENT_DOWNLOAD_PATH, created and resolved once rather than per test:
 * again only when the setting changes or the directory has gone. Loop
 * thread only. */
static struct {
	bool ok;
	char conf[PATH_MAX];
	char real[PATH_MAX];
} g_base;

/* Emptied temporary directories kept for the next download. On ext4 a
 * rmdir costs some 140 us and a mkdir 20 (docs/BENCHMARKS.md, "kept
 * download directories"); checking that a kept directory is still ours,
 * 0700 and empty costs a few cheap calls. A kept directory is only ever
 * given out after that check, so a download never starts next to
 * anything an earlier one left. Only the mkdtemp part of the name is
 * kept: the rest is g_base.real and the prefix. Loop thread only. */
#define JOB_SPARES_MAX 64
#define JOB_SPARE_LEN 6 /* the XXXXXX mkdtemp fills in */
static struct {
	int n;
	char name[JOB_SPARES_MAX][JOB_SPARE_LEN + 1];
} g_spares;

static bool spare_path(char *out, size_t n, const char *name)
{
	return snprintf(out, n, "%s/" JOB_TMP_PREFIX "%s", g_base.real, name) < (int)n;
}

/* The mkdtemp part of dir when dir is a temporary directory of the
 * current base, else NULL. */
static const char *spare_name(const char *dir)
{
	size_t n = strlen(g_base.real);

	if (!g_base.ok || strncmp(dir, g_base.real, n) != 0 || dir[n] != '/' ||
	    strncmp(dir + n + 1, JOB_TMP_PREFIX, strlen(JOB_TMP_PREFIX)) != 0)
		return NULL;
	dir += n + 1 + strlen(JOB_TMP_PREFIX);
	return strlen(dir) == JOB_SPARE_LEN ? dir : NULL;
}

/* Keep an empty temporary directory for a later download. False when it
 * is not kept (not of this base, or enough are kept): the caller removes
 * it. */
static bool spare_put(const char *dir)
{
	const char *name = spare_name(dir);

	if (name == NULL || g_spares.n >= JOB_SPARES_MAX)
		return false;
	memcpy(g_spares.name[g_spares.n++], name, JOB_SPARE_LEN + 1);
	return true;
}

/* An open directory that is ours, 0700 and holds nothing. */
static bool dir_is_clean(int fd)
{
	char buf[512];
	struct stat st;
	long got;

	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0700)
		return false;
	while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);

			if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
				return false;
			off += d->d_reclen;
		}
	}
	return got == 0;
}

/* A kept directory for j, checked: 0 and j->tmpdir set, or -1 when none
 * is left (one that fails the check is removed). */
static int spare_take(uv_loop_t *loop, struct job *j)
{
	while (g_spares.n > 0) {
		const char *name = g_spares.name[--g_spares.n];
		bool clean;
		int fd;

		if (!spare_path(j->tmpdir, sizeof(j->tmpdir), name))
			continue;
		fd = open(j->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone (purged, removed by hand): nothing to do */
		clean = dir_is_clean(fd);
		close(fd);
		if (clean)
			return 0;
		log_warn("job: %s changed while it was kept; it is removed", j->tmpdir);
		remove_later(loop, j->tmpdir);
	}
	j->tmpdir[0] = '\0';
	return -1;
}

void job_spares_drop(void)
{
	char dir[PATH_MAX];

	while (g_spares.n > 0) {
		if (!spare_path(dir, sizeof(dir), g_spares.name[--g_spares.n]))
			continue;
		if (rmdir(dir) != 0 && errno != ENOENT && !remove_tree(dir))
			log_warn("job: could not remove all of %s", dir);
	}
}

static int resolve_base(const char *base, char *err, size_t errlen)
{
	job_spares_drop();
	g_base.ok = false;
	if (mkdir_p(base, 0700) != 0 || realpath(base, g_base.real) == NULL) {
		snprintf(err, errlen, "cannot use CLIENT_DOWNLOAD_PATH '%s': %s", base,
			 strerror(errno));
		return -1;
	}
	g_base.ok = str_copy(g_base.conf, base, sizeof(g_base.conf)) < sizeof(g_base.conf);
	return 0;
}

static int make_tempdir(struct job *j, char *err, size_t errlen)
{
	const char *base = cfg_str(CFG_CLIENT_DOWNLOAD_PATH);

	for (int pass = 0; pass < 2; pass++) {
		/* Resolve when the kept path is not this setting's, or when
		 * mkdtemp failed under it (gone, replaced): a failure that
		 * stays is reported as before. */
		if ((pass > 0 || !g_base.ok || strcmp(g_base.conf, base) != 0) &&
		    resolve_base(base, err, errlen) != 0)
			return -1;
		if (pass == 0 && spare_take(j->loop, j) == 0) {
			snprintf(j->dest, sizeof(j->dest), "%s/" JOB_DEST_NAME, j->tmpdir);
			return 0;
		}
		/* An absolute path: no argument the client gets can start with '-'. */
		if (snprintf(j->tmpdir, sizeof(j->tmpdir), "%s/" JOB_TMP_PREFIX "XXXXXX", g_base.real) >=
		    (int)sizeof(j->tmpdir) - (int)sizeof("/" JOB_DEST_NAME)) {
			errno = ENAMETOOLONG;
			break;
		}
		if (mkdtemp(j->tmpdir) != NULL) {
			if (snprintf(j->dest, sizeof(j->dest), "%s/" JOB_DEST_NAME, j->tmpdir) >=
			    (int)sizeof(j->dest))
				return -1; /* cannot happen: the length was checked above */
			return 0;
		}
	}
	snprintf(err, errlen, "cannot create a temporary directory under '%s': %s", g_base.real,
		 strerror(errno));
	j->tmpdir[0] = '\0';
	return -1;
}

/* ---------------------------------------------------------------- */
/* Client calls.                                                     */

static void on_download_done(const struct client_result *cr, void *ud);
static void on_cost_done(const struct client_result *cr, void *ud);
static void on_upload_done(const struct client_result *cr, void *ud);

static int64_t timeout_ms(const struct job *j)
{
	return (int64_t)j->task.timeout_secs * 1000;
}

static void copy_client_result(struct job *j, const struct client_result *cr)
{
	struct test_result *r = &j->res;

	r->status = cr->status;
	r->exit_code = cr->exit_code;
	r->exec_time = cr->elapsed_s;
	str_copy(r->reason, cr->reason, sizeof(r->reason));
	if (cr->parsed.has_gas) {
		r->has_gas = true;
		r->gas_wei = cr->parsed.gas_wei;
	}
	if (cr->status != ST_OK && cr->status != ST_KILLED)
		log_debug("job %d/%d: client %s failed (%s); stderr: %.300s", r->task_ref, r->worker,
			  client_op_name(cr->op), cr->reason, cr->err);
}

static void start_download_call(struct job *j, const char *address, client_done_cb cb)
{
	struct client_request req;
	char err[200];

	memset(&req, 0, sizeof(req));
	req.op = CLIENT_OP_DOWNLOAD;
	req.address = address;
	req.dest = j->dest;
	req.timeout_ms = timeout_ms(j);
	j->call = client_start(j->loop, &req, cb, j, err, sizeof(err));
	if (j->call == NULL) {
		j->res.status = ST_CLIENT_ERROR;
		str_copy(j->res.reason, err, sizeof(j->res.reason));
		log_error("job %d/%d: %s", j->res.task_ref, j->res.worker, err);
		/* The temporary directory exists: clean it on the pool. */
		start_work(j, false);
	}
}

static void on_download_done(const struct client_result *cr, void *ud)
{
	struct job *j = ud;

	j->call = NULL;
	uv_timer_stop(&j->size_check);
	copy_client_result(j, cr);
	j->check_md5 = cr->status == ST_OK && j->row.md5[0] != '\0';
	str_copy(j->want_md5, j->row.md5, sizeof(j->want_md5));
	j->match_name = j->row.name;
	start_work(j, true);
}

/* A download through the AntTP gateway: no client, no file; the body
 * streams through MD5 (gateway.c). */
static void on_gateway_done(const struct gateway_result *gr, void *ud)
{
	struct job *j = ud;
	struct test_result *r = &j->res;

	j->gw = NULL;
	r->via_gateway = true;
	r->status = gr->status;
	r->exit_code = gr->status == ST_OK || gr->md5_checked ? 0 : -1;
	r->exec_time = gr->elapsed_s;
	r->bytes = gr->bytes;
	r->md5_checked = gr->md5_checked;
	r->md5_valid = gr->md5_valid;
	str_copy(r->reason, gr->reason, sizeof(r->reason));
	job_complete(j);
}

static void start_gateway_download(struct job *j)
{
	char err[200];

	j->res.via_gateway = true;
	j->phase = PH_CLIENT;
	j->gw = gateway_download_start(j->loop, j->row.address, j->row.md5, j->row.size, timeout_ms(j),
				       on_gateway_done, j, err, sizeof(err));
	if (j->gw == NULL)
		finish_soon(j, ST_CLIENT_ERROR, "%s", err);
}

/* Bytes of the regular files under path, links not followed; on the loop
 * thread, so its own counter. */
static uint64_t tree_sum;

static int sum_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	if (S_ISREG(st->st_mode))
		tree_sum += (uint64_t)st->st_size;
	return 0;
}

static uint64_t tree_bytes(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	tree_sum = 0;
	nftw(path, sum_cb, JOB_NFTW_FDS, FTW_PHYS | FTW_MOUNT);
	return tree_sum;
}

/* A download that grows past its class's upper bound would take more disk
 * than the guard allowed for: stop it now (SIGKILL: the data is thrown
 * away in any case). */
static void on_size_check(uv_timer_t *t)
{
	struct job *j = container_of(t, struct job, size_check);
	uint64_t n;

	if (j->call == NULL || j->terminate_requested)
		return;
	n = tree_bytes(j->dest);
	if (n <= j->size_cap)
		return;
	uv_timer_stop(t);
	snprintf(j->stop_detail, sizeof(j->stop_detail), "%llu bytes written, over the %s class's %llu",
		 (unsigned long long)n, size_class_name(j->row.size),
		 (unsigned long long)j->size_cap);
	log_warn("job %d/%d: catalogue line %d: the download is larger than its class (%s); stopping it",
		 j->res.task_ref, j->res.worker, j->row.line, j->stop_detail);
	job_terminate(j, true, REASON_TOO_LARGE);
}

/* A download's checks, disk reservation and temporary directory. Returns
 * 0 ready, 1 a download through the gateway (nothing to ready), -1 not to
 * run: when report, the job completes soon saying why; otherwise nothing
 * is left behind. */
static int download_ready(struct job *j, bool report)
{
	uint64_t need, max;
	char err[200];

	if (!client_address_valid(j->row.address)) {
		if (report)
			skip_soon(j, REASON_ROW_REJECTED, "row %d: address is not 1..%d hex digits",
				  j->row.line, CAT_ADDRESS_MAX);
		return -1;
	}
	if (j->row.md5[0] != '\0' && !digest_md5_hex_valid(j->row.md5)) {
		if (report)
			skip_soon(j, REASON_ROW_REJECTED, "row %d: md5 is not 32 hex digits",
				  j->row.line);
		return -1;
	}
	if (gateway_enabled())
		return 1;
	/* The size class's upper bound is the most the download may write
	 * (a bigger one is stopped), on top of what running tests hold. */
	size_class_bounds(j->row.size, &need, &max);
	if (diskguard_check_reserved(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), max,
				     cfg_float(CFG_MIN_FREE_DISK_GB), j->res.start_ms, err,
				     sizeof(err)) != 0) {
		if (report)
			skip_soon(j, REASON_DISK_GUARD, "%s", err);
		return -1;
	}
	j->reserved = max;
	diskguard_reserve(max);
	j->size_cap = max;
	if (make_tempdir(j, err, sizeof(err)) != 0) {
		if (report) {
			finish_soon(j, ST_CLIENT_ERROR, "%s", err);
		} else {
			diskguard_release(j->reserved);
			j->reserved = 0;
		}
		return -1;
	}
	return 0;
}

void job_launch_download(struct job *j)
{
	start_download_call(j, j->row.address, on_download_done);
	if (j->call != NULL)
		uv_timer_start(&j->size_check, on_size_check, JOB_SIZE_CHECK_MS, JOB_SIZE_CHECK_MS);
}

int job_prepare_download(struct job *j)
{
	return download_ready(j, false) == 0 ? 0 : -1;
}

void job_start_download(struct job *j)
{
	int rc = download_ready(j, true);

	if (rc == 1)
		start_gateway_download(j);
	else if (rc == 0)
		job_launch_download(j);
}

static int check_seed_file(struct job *j, bool report)
{
	struct stat st;

	if (j->seed_file == NULL || lstat(j->seed_file, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (report)
			finish_soon(j, ST_CLIENT_ERROR,
				    "seed file '%s' is missing or not a regular file",
				    j->seed_file ? j->seed_file : "(none)");
		return -1;
	}
	j->res.bytes = (uint64_t)st.st_size;
	return 0;
}

static void start_file_call(struct job *j, enum client_op op, client_done_cb cb)
{
	struct client_request req;
	char abs[PATH_MAX], err[200];

	memset(&req, 0, sizeof(req));
	req.op = op;
	/* Absolute, so the argument can never read as an option (the
	 * scheduler's seed directory is resolved once, at start-up). */
	if (j->seed_file[0] == '/') {
		req.file = j->seed_file;
	} else if (realpath(j->seed_file, abs) == NULL) {
		finish_soon(j, ST_CLIENT_ERROR, "seed file '%s': %s", j->seed_file, strerror(errno));
		return;
	} else {
		req.file = abs;
	}
	req.public_upload = cfg_bool(CFG_CLIENT_UPLOAD_PUBLIC);
	req.timeout_ms = timeout_ms(j);
	j->call = client_start(j->loop, &req, cb, j, err, sizeof(err));
	if (j->call == NULL) {
		log_error("job %d/%d: %s", j->res.task_ref, j->res.worker, err);
		finish_soon(j, ST_CLIENT_ERROR, "%s", err);
	}
}

static void on_cost_done(const struct client_result *cr, void *ud)
{
	struct job *j = ud;

	j->call = NULL;
	copy_client_result(j, cr);
	if (cr->parsed.has_cost) {
		j->res.has_cost = true;
		j->res.cost_atto = cr->parsed.cost_atto;
		/* The network prices stored content at 0: this quote says the
		 * seed is already on the network, not what storing costs. */
		if (cr->status == ST_OK && cr->parsed.cost_atto == 0)
			log_info("quote task %d worker %d: cost 0, the content is already stored",
				 j->res.task_ref, j->res.worker);
	}
	upload_note_quote(&j->res);
	job_complete(j);
}

/* A quote's checks; same returns and report as download_ready. */
static int quote_ready(struct job *j, bool report)
{
	char err[200];

	if (check_seed_file(j, report) != 0)
		return -1;
	/* A quote writes no file, but the client logs; keep the floor. */
	if (diskguard_check_at(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), 0, cfg_float(CFG_MIN_FREE_DISK_GB),
			       j->res.start_ms, err, sizeof(err)) != 0) {
		if (report)
			skip_soon(j, REASON_DISK_GUARD, "%s", err);
		return -1;
	}
	return 0;
}

void job_launch_quote(struct job *j)
{
	start_file_call(j, CLIENT_OP_COST, on_cost_done);
}

int job_prepare_quote(struct job *j)
{
	return quote_ready(j, false);
}

void job_start_quote(struct job *j)
{
	if (quote_ready(j, true) == 0)
		job_launch_quote(j);
}

static void on_verify_done(const struct client_result *cr, void *ud)
{
	struct job *j = ud;

	j->call = NULL;
	if (cr->status != ST_OK) {
		/* The upload worked, its read-back did not: that is the finding. */
		j->res.status = cr->status;
		set_reason(j, "verify: %s", cr->reason);
	} else {
		j->hash_seed = true;
		j->match_name = NULL;
	}
	start_work(j, false);
}

static void on_upload_done(const struct client_result *cr, void *ud)
{
	struct job *j = ud;
	const struct client_parsed *p = &cr->parsed;
	char err[200];

	j->call = NULL;
	copy_client_result(j, cr);
	if (p->has_cost) {
		j->res.has_cost = true;
		j->res.cost_atto = p->cost_atto;
	}
	if (cr->status == ST_OK && p->chunks_uploaded >= 0 && p->chunks_existing >= 0) {
		j->res.has_chunks = true;
		j->res.chunks_stored = p->chunks_uploaded > UINT32_MAX ? UINT32_MAX : (uint32_t)p->chunks_uploaded;
		j->res.chunks_existing = p->chunks_existing > UINT32_MAX ? UINT32_MAX : (uint32_t)p->chunks_existing;
	}
	str_copy(j->res.address, p->address, sizeof(j->res.address));
	j->res.has_gas = p->has_gas;
	j->res.gas_wei = p->gas_wei;
	upload_settle(&j->res, j->seed.seed, cfg_bool(CFG_CLIENT_UPLOAD_PUBLIC));
	if (cr->status == ST_OK && p->all_exist)
		j->res.already_stored = true;
	if (cr->status == ST_OK)
		log_info("upload task %d worker %d: address %s, chunks uploaded %lld, already there %lld%s, cost %llu atto",
			 j->res.task_ref, j->res.worker, p->address[0] ? p->address : "(none)",
			 (long long)p->chunks_uploaded, (long long)p->chunks_existing,
			 p->all_exist ? " (all chunks already existed)" : "",
			 (unsigned long long)p->cost_atto);
	if (cr->status != ST_OK || !j->task.verify || j->terminate_requested) {
		job_complete(j);
		return;
	}
	if (p->address[0] == '\0') {
		str_copy(j->res.reason, j->res.already_stored ?
			 "ok; already stored: nothing stored or paid, not verified" :
			 "ok; not verified: the client printed no address", sizeof(j->res.reason));
		job_complete(j);
		return;
	}
	if (j->res.address_private) {
		/* A private upload's alias resolves only on this host's client
		 * (its local data map), not as a network address. */
		str_copy(j->res.reason, "ok; not verified: private upload (local alias)",
			 sizeof(j->res.reason));
		job_complete(j);
		return;
	}
	if (diskguard_check_reserved(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), j->seed.bytes,
				     cfg_float(CFG_MIN_FREE_DISK_GB), clock_now_ms(), err,
				     sizeof(err)) != 0 ||
	    make_tempdir(j, err, sizeof(err)) != 0) {
		set_reason(j, "ok; not verified: %s", err);
		job_complete(j);
		return;
	}
	j->phase = PH_VERIFY;
	j->verifying = true;
	start_download_call(j, p->address, on_verify_done);
}

void job_start_upload(struct job *j)
{
	char err[200];

	if (!cfg_bool(CFG_ALLOW_UPLOADS)) {
		skip_soon(j, REASON_UPLOADS_OFF, "ALLOW_UPLOADS is false on this host");
		return;
	}
	if (check_seed_file(j, true) != 0)
		return;
	/* The client may stage encrypted chunks while it uploads. */
	if (diskguard_check_reserved(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), j->res.bytes,
				     cfg_float(CFG_MIN_FREE_DISK_GB), j->res.start_ms, err,
				     sizeof(err)) != 0) {
		skip_soon(j, REASON_DISK_GUARD, "%s", err);
		return;
	}
	if (upload_begin(&j->task, j->seed.seed) != 0) {
		skip_soon(j, REASON_BUDGET, "the ledger cannot be written");
		return;
	}
	j->reserved = j->res.bytes;
	diskguard_reserve(j->reserved);
	start_file_call(j, CLIENT_OP_UPLOAD, on_upload_done);
}

/* ---------------------------------------------------------------- */

/* A job filled in from spec, without its timers (job_open). */
static struct job *job_new(uv_loop_t *loop, const struct job_spec *spec)
{
	struct job *j;
	const struct test_kind *k = spec && spec->task ? kind_get(spec->task->type) : NULL;

	if (k == NULL || (k->input == KIND_INPUT_CATALOGUE_ROW && spec->download == NULL) ||
	    (k->input == KIND_INPUT_SEED_FILE && spec->seed == NULL)) {
		log_error("job_start: incomplete job specification");
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->loop = loop;
	j->task = *spec->task;
	if (spec->download)
		j->row = *spec->download;
	if (spec->seed)
		j->seed = *spec->seed;
	if (spec->seed_file)
		j->seed_file = xstrdup(spec->seed_file);
	j->phase = PH_CLIENT;
	j->res.type = j->task.type;
	j->res.size = j->task.size;
	j->res.task_ref = j->task.ref;
	j->res.worker = spec->worker;
	j->res.attempt = spec->attempt;
	j->res.start_ms = clock_now_ms();
	j->res.exit_code = -1;
	return j;
}

static void job_open(struct job *j)
{
	uv_timer_init(j->loop, &j->defer);
	uv_timer_init(j->loop, &j->size_check);
	j->defer.data = j->size_check.data = j;
	j->open_handles = 2;
}

struct job *job_start(uv_loop_t *loop, const struct job_spec *spec, job_done_cb cb, void *ud)
{
	struct job *j;

	if (cb == NULL || (j = job_new(loop, spec)) == NULL)
		return NULL;
	job_open(j);
	j->cb = cb;
	j->ud = ud;
	kind_get(j->task.type)->start(j);
	return j;
}

struct job *job_prepare(uv_loop_t *loop, const struct job_spec *spec)
{
	const struct test_kind *k = spec && spec->task ? kind_get(spec->task->type) : NULL;
	struct job *j;

	if (k == NULL || k->prepare == NULL || k->launch == NULL || (j = job_new(loop, spec)) == NULL)
		return NULL;
	if (k->prepare(j) != 0) {
		free(j->seed_file);
		free(j);
		return NULL;
	}
	job_open(j);
	return j;
}

struct job *job_launch(struct job *j, job_done_cb cb, void *ud)
{
	if (j == NULL || cb == NULL)
		return NULL;
	j->cb = cb;
	j->ud = ud;
	/* The test starts now, not when it was made ready. */
	j->res.start_ms = clock_now_ms();
	kind_get(j->task.type)->launch(j);
	return j;
}

void job_discard(struct job *j)
{
	if (j == NULL)
		return;
	diskguard_release(j->reserved);
	j->reserved = 0;
	/* Made by mkdtemp or checked when taken, never given to a client:
	 * empty, and kept for the next download. */
	if (j->tmpdir[0] != '\0' && !spare_put(j->tmpdir) && rmdir(j->tmpdir) != 0)
		log_warn("job: could not remove %s: %s", j->tmpdir, strerror(errno));
	j->phase = PH_DONE;
	uv_close((uv_handle_t *)&j->size_check, job_free);
	uv_close((uv_handle_t *)&j->defer, job_free);
}

void job_terminate(struct job *j, bool force, enum test_reason why)
{
	if (j == NULL || j->phase == PH_DONE)
		return;
	j->terminate_requested = true;
	if (j->stop_why == REASON_NONE)
		j->stop_why = why;
	if (j->call)
		client_terminate(j->call, force);
	if (j->gw) {
		/* No child to wait for: the transfer ends now, after this long. */
		j->res.exec_time = gateway_download_cancel(j->gw);
		j->gw = NULL;
		finish_soon(j, ST_KILLED, "stopped by the agent");
	}
	/* In PH_WORK the client is gone; the hashing and clean-up finish on
	 * their own and the result stands. */
}
