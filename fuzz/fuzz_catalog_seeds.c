/*
 * fuzz_catalog_seeds - catalog_parse on the seeds catalogue (CSV), with the
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
	return fuzz_catalog_one(CATALOG_SEEDS, data, size);
}
