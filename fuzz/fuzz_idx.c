/*
 * fuzz_idx.c - the IDX reader, gzip'd or plain, as an image file (three
 * dimensions) and as a label file (one).
 */
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "sc_data.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	uint32_t dims[3];
	int fd = fuzz_memfile(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	free(sc_idx_read(path, 3, dims));
	free(sc_idx_read(path, 1, dims));
	close(fd);
	return 0;
}
