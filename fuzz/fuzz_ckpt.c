/*
 * fuzz_ckpt.c - the model file reader (train --save, lrtest --init),
 * loading into a model of 6 parameters and 2 running statistics, as the
 * seeds in corpus/ckpt hold.  Only the public sc_ckpt_load is called.
 */
#include <cjson/cJSON.h>
#include <unistd.h>

#include "fuzz.h"
#include "sc_ckpt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sc_model m;	/* large: not on the stack */
	float theta[6], state[2];
	cJSON *header = NULL;
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	m.theta = theta;
	m.n_theta = 6;
	m.state = state;
	m.n_state = 2;
	if (sc_ckpt_load(path, &m, &header) == 0)
		cJSON_Delete(header);
	close(fd);
	return 0;
}
