/*
 * fuzz_client_output - what the agent reads from the client: ANSI
 * stripping, the result lines of each op (client_parse_output), the
 * outcome (client_classify) and the `--version` text
 * (client_parse_version).
 *
 * Input layout: byte 0 picks the op, byte 1 the exit code (0..255, so
 * every documented code is reachable), the rest is stdout, then a NUL
 * byte, then stderr.
 */
#include "client.h"
#include "client_gen.h"
#include "fuzz.h"

#define FUZZ_CAP (128 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void check_parsed(const struct client_parsed *p)
{
	if (p->address[0] != '\0' && !client_address_valid(p->address))
		abort();
	if (p->chunks_uploaded < -1 || p->chunks_existing < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_parsed parsed;
	enum client_op op;
	enum test_status st;
	const uint8_t *sep;
	char *out, *err;
	char reason[160], version[256];
	size_t out_len, err_len;
	int code;

	if (size < 2 || size > FUZZ_CAP)
		return 0;
	op = (enum client_op)(data[0] % 3);
	code = data[1];
	data += 2;
	size -= 2;
	sep = memchr(data, '\0', size);
	out_len = sep ? (size_t)(sep - data) : size;
	err_len = sep ? size - out_len - 1 : 0;
	out = fuzz_str(data, out_len);
	err = fuzz_str(sep ? sep + 1 : data, err_len);
	if (out == NULL || err == NULL)
		goto done;

	if (client_strip_ansi(out) != strlen(out) || client_strip_ansi(err) != strlen(err))
		abort();
	client_parse_output(op, out, &parsed);
	check_parsed(&parsed);

	st = client_classify(op, code, 0, false, parsed.success_line, err, reason, sizeof(reason));
	/* Success needs both exit code 0 and the op's success line. */
	if (st == ST_OK && (code != 0 || !parsed.success_line))
		abort();
	if (st >= ST__COUNT || memchr(reason, '\0', sizeof(reason)) == NULL)
		abort();
	if (client_classify(op, code, 9, false, true, err, reason, sizeof(reason)) == ST_OK ||
	    client_classify(op, 0, 0, true, true, err, reason, sizeof(reason)) != ST_KILLED)
		abort();

	/* Every generation's parser and table, not only the current one. */
	for (size_t i = 0; i < client_gens_count; i++) {
		const struct client_gen *g = client_gens[i];

		g->parse_output(op, out, &parsed);
		check_parsed(&parsed);
		st = client_gen_classify(g, op, code, 0, false, parsed.success_line, err, reason,
					 sizeof(reason));
		if (st == ST_OK && (code != 0 || !parsed.success_line))
			abort();
		if (g->version_parse(out, version, sizeof(version)) &&
		    strspn(version, "0123456789.-rc") != strlen(version))
			abort();
	}

	if (client_parse_version(out, version, sizeof(version)) == 0 &&
	    memchr(version, '\0', sizeof(version)) == NULL)
		abort();
done:
	free(out);
	free(err);
	return 0;
}
