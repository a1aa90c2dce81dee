/*
 * multiaddr.c - syntactic check of libp2p multiaddrs (text form).
 */
#include "multiaddr.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum ma_value { MA_NONE, MA_IP4, MA_IP6, MA_PORT, MA_HOST, MA_TOKEN };

/* The protocols a peer address of the Autonomi network uses, and the
 * common ones around them. */
static const struct {
	const char *name;
	enum ma_value value;
} ma_protos[] = {
	{ "ip4", MA_IP4 }, { "ip6", MA_IP6 }, { "dns", MA_HOST }, { "dns4", MA_HOST },
	{ "dns6", MA_HOST }, { "dnsaddr", MA_HOST }, { "tcp", MA_PORT }, { "udp", MA_PORT },
	{ "quic", MA_NONE }, { "quic-v1", MA_NONE }, { "webtransport", MA_NONE },
	{ "ws", MA_NONE }, { "wss", MA_NONE }, { "tls", MA_NONE }, { "noise", MA_NONE },
	{ "http", MA_NONE }, { "https", MA_NONE }, { "p2p-circuit", MA_NONE },
	{ "webrtc-direct", MA_NONE }, { "p2p", MA_TOKEN }, { "ipfs", MA_TOKEN },
	{ "certhash", MA_TOKEN },
};

static bool value_ok(enum ma_value t, const char *v)
{
	unsigned char tmp[16];
	int64_t port;

	switch (t) {
	case MA_NONE:
		return true;
	case MA_IP4:
		return inet_pton(AF_INET, v, tmp) == 1;
	case MA_IP6:
		return inet_pton(AF_INET6, v, tmp) == 1;
	case MA_PORT:
		return parse_i64(v, 0, 65535, &port) == 0;
	case MA_HOST:
		if (*v == '\0' || strlen(v) > 253)
			return false;
		for (const char *p = v; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
				return false;
		return true;
	case MA_TOKEN:
		/* Peer ids (base58btc or CIDv1 base32) and multibase hashes. */
		if (*v == '\0')
			return false;
		for (const char *p = v; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
				return false;
		return true;
	}
	return false;
}

bool multiaddr_valid(const char *s, char *why, size_t n)
{
	char part[MULTIADDR_MAX + 1];
	const char *p = s;
	int components = 0;

	if (s == NULL || *s != '/') {
		snprintf(why, n, "a multiaddr starts with '/'");
		return false;
	}
	if (strlen(s) > MULTIADDR_MAX) {
		snprintf(why, n, "longer than %d characters", MULTIADDR_MAX);
		return false;
	}
	while (*p == '/' && p[1] != '\0') {
		size_t len = strcspn(p + 1, "/"), k;

		memcpy(part, p + 1, len);
		part[len] = '\0';
		p += 1 + len;
		for (k = 0; k < ARRAY_SIZE(ma_protos); k++)
			if (strcmp(part, ma_protos[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(ma_protos)) {
			snprintf(why, n, "unknown protocol '%.40s'", part);
			return false;
		}
		if (ma_protos[k].value != MA_NONE) {
			if (*p != '/') {
				snprintf(why, n, "'/%s' needs a value", ma_protos[k].name);
				return false;
			}
			len = strcspn(p + 1, "/");
			memcpy(part, p + 1, len);
			part[len] = '\0';
			p += 1 + len;
			if (!value_ok(ma_protos[k].value, part)) {
				snprintf(why, n, "'%.60s' is not a valid /%s value", part, ma_protos[k].name);
				return false;
			}
		}
		components++;
	}
	if (*p != '\0' || components == 0) {
		snprintf(why, n, "empty component or trailing '/'");
		return false;
	}
	return true;
}

int multiaddr_list_check(const char *list, char *err, size_t errlen)
{
	const char *p = list;
	int index = 0;

	while (p && *p) {
		char entry[MULTIADDR_MAX + 2], why[160];
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		index++;
		if (len > MULTIADDR_MAX)
			len = MULTIADDR_MAX + 1;
		memcpy(entry, p, len);
		entry[len] = '\0';
		p += strcspn(p, ", \t");
		if (!multiaddr_valid(entry, why, sizeof(why))) {
			snprintf(err, errlen, "entry %d '%.200s' is not a multiaddr (%s); expected e.g. "
				 "/ip4/1.2.3.4/udp/12000/quic-v1/p2p/12D3KooW...", index, entry, why);
			return -1;
		}
	}
	return 0;
}
