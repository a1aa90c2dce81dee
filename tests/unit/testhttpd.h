/*
 * testhttpd.h - start tests/tools/testhttpd.py on 127.0.0.1 (a free port)
 * for the length of a test program, and ask it how often each route was
 * hit. Header-only so that each test program stays one file.
 */
#ifndef ANT_TEST_HTTPD_H
#define ANT_TEST_HTTPD_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "util.h"

static struct {
	pid_t pid;
	int port;
	char dir[256];  /* scratch: the document root and the port file */
	char url[1024];
} g_httpd;

/* The server's document root (files served under /files/). */
static inline const char *httpd_root(void)
{
	return g_httpd.dir;
}

static inline void httpd_put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_httpd.dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static inline const char *httpd_url(const char *path)
{
	snprintf(g_httpd.url, sizeof(g_httpd.url), "http://127.0.0.1:%d%s", g_httpd.port, path);
	return g_httpd.url;
}

/* Returns 0 once the server listens, -1 when it did not come up in 10 s. */
static inline int httpd_start(void)
{
	char port_file[300];
	struct buf b;
	int64_t port;

	snprintf(g_httpd.dir, sizeof(g_httpd.dir), "/tmp/ant-httpd.XXXXXX");
	if (mkdtemp(g_httpd.dir) == NULL)
		return -1;
	snprintf(port_file, sizeof(port_file), "%s/port", g_httpd.dir);
	g_httpd.pid = fork();
	if (g_httpd.pid < 0)
		return -1;
	if (g_httpd.pid == 0) {
		execlp("python3", "python3", ANT_SOURCE_DIR "/tests/tools/testhttpd.py", "--root",
		       g_httpd.dir, "--port-file", port_file, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (file_read_all(port_file, 64, &b) == 0) {
			int rc = parse_i64(b.data, 1, 65535, &port);

			buf_free(&b);
			if (rc == 0) {
				g_httpd.port = (int)port;
				return 0;
			}
		}
		nanosleep(&ts, NULL);
	}
	return -1;
}

static inline void httpd_stop(void)
{
	char cmd[300];

	if (g_httpd.pid > 0) {
		kill(g_httpd.pid, SIGTERM);
		waitpid(g_httpd.pid, NULL, 0);
		g_httpd.pid = 0;
	}
	if (g_httpd.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_httpd.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", g_httpd.dir);
	}
}

/* Requests the server has seen for exactly this path (with query). */
static inline long httpd_hits(const char *path)
{
	struct fetch_request req;
	struct fetch_response res;
	json_t *root;
	long n = -1;
	char url[1024];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_count", g_httpd.port);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.cap = 1024 * 1024;
	if (fetch_sync(&req, &res) == 0) {
		root = json_loadb(res.body.data, res.body.len, 0, NULL);
		if (root) {
			json_t *v = json_object_get(root, path);

			n = v ? (long)json_integer_value(v) : 0;
			json_decref(root);
		}
	}
	fetch_response_free(&res);
	return n;
}

/* Make the server answer path with another route from now on ("" to
 * stop), e.g. httpd_set("/files/a.csv", "status/500"). */
static inline void httpd_set(const char *path, const char *mode)
{
	struct fetch_request req;
	struct fetch_response res;
	char url[1024];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_set?path=%s&mode=%s", g_httpd.port, path,
		 mode);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.cap = 4096;
	if (fetch_sync(&req, &res) != 0)
		abort();
	fetch_response_free(&res);
}

#endif
