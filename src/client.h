/*
 * client.h - the contract with the Autonomi command-line client `ant`.
 */
#ifndef ANT_CLIENT_H
#define ANT_CLIENT_H

#include <stddef.h>

/* Check that path is an executable file; on failure err says why and how
 * to fix it. Returns 0 or -1. */
int client_check_path(const char *path, char *err, size_t errlen);

/* Pull the client's name and version out of `ant --version` output. Both
 * the old one-line form ("autonomi-cli 0.1.5") and the newer block
 * ("Autonomi Client v0.3.12" followed by more lines) are accepted. Returns
 * 0 and writes a one-line description, or -1 when nothing fits. */
int client_parse_version(const char *output, char *out, size_t n);

/* Run `path --version` (blocking, at most timeout_ms) and describe the
 * client. Returns 0, or -1 with err saying what went wrong. */
int client_probe_version(const char *path, int timeout_ms, char *out, size_t n,
			 char *err, size_t errlen);

#endif
