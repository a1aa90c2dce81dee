/*
 * multiaddr.h - checking libp2p multiaddrs in their text form, the form
 * the `ant` client takes its peers in (/ip4/1.2.3.4/udp/12000/quic-v1/p2p/12D3Koo...).
 *
 * The check is syntactic: every component is a known protocol followed by
 * a value of the right shape when it takes one. It is what lets a bad
 * CLIENT_PEERS entry be named at settings load instead of making every
 * client call fail with a usage error.
 */
#ifndef ANT_MULTIADDR_H
#define ANT_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Longest multiaddr accepted. */
#define MULTIADDR_MAX 1024

/* True when s is one multiaddr; otherwise why says what is wrong. */
bool multiaddr_valid(const char *s, char *why, size_t n);

/* Check a list separated by commas or blanks (empty is fine). Returns 0,
 * or -1 with err naming the first bad entry and why. */
int multiaddr_list_check(const char *list, char *err, size_t errlen);

#endif
