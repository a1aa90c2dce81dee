/*
 * fuzz_catalog_downloads - catalog_parse on the downloads catalogue (CSV), with the
 * checks of fuzz_catalog.h.
 */
#include "fuzz_catalog.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_catalog_one(CATALOG_DOWNLOADS, data, size);
}
