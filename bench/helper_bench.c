/*
 * helper_bench - the cost of one request through the network helper in
 * its two possible shapes: a helper started for each request (fetch_sync,
 * a fresh fetcher each time) and one helper kept for all of them (one
 * fetcher, linger -1). The request reads a small file:// URL, so what is
 * measured is the helper and the pipe, not a network.
 *
 *   helper_bench FILE [N]
 */
#include "fetch.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int g_left;

static void on_done(struct fetch_response *res, void *ud)
{
	(void)ud;
	if (!res->ok)
		fprintf(stderr, "request failed: %s\n", res->error);
	g_left--;
}

int main(int argc, char **argv)
{
	char url[4200];
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 50;
	struct fetch_request req;
	struct fetch_response res;
	uv_loop_t loop;
	struct fetcher *f;
	double t0, per_job, kept;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: helper_bench FILE [N]\n");
		return 2;
	}
	snprintf(url, sizeof(url), "file://%s", argv[1]);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.cap = 1024 * 1024;
	req.allow_file = true;
	req.timeout_ms = 10000;
	req.connect_timeout_ms = 10000;

	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		if (fetch_sync(&req, &res) != 0)
			fprintf(stderr, "request failed: %s\n", res.error);
		fetch_response_free(&res);
	}
	per_job = (now_ms() - t0) / n;

	fetch_set_helper_linger_ms(-1);
	uv_loop_init(&loop);
	f = fetcher_new(&loop);
	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		g_left = 1;
		fetch_start(f, &req, on_done, NULL);
		while (g_left > 0)
			uv_run(&loop, UV_RUN_ONCE);
	}
	kept = (now_ms() - t0) / n;
	fetcher_free(f);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	printf("helper per request: %.2f ms per request (%d requests)\n", per_job, n);
	printf("helper kept:        %.2f ms per request (%d requests)\n", kept, n);
	return 0;
}
