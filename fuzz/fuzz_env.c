/*
 * fuzz_env - the .env reader (config_check_env_text): line splitting,
 * quotes, inline comments, "export ", a byte-order mark, and every value
 * checked against the settings table.
 */
#include "config.h"
#include "fuzz.h"

#define FUZZ_CAP (64 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	config_reset();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_CAP)
		return 0;
	(void)config_check_env_text("fuzz.env", (const char *)data, size);
	return 0;
}
