/*
 * fuzz_ckpt.c - the readers of model files (train --save, lrtest --init)
 * and training checkpoints (train --checkpoint, --resume): each input is
 * checked whole by sc_ckpt_parse, as --resume and --checkpoint-info do
 * first, then loaded by sc_ckpt_load into a model of 6 parameters and 2
 * running statistics, as the model seeds in corpus/ckpt hold.
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
	struct sc_ckpt_view v;
	char path[64];
	int fd;

	sc_ckpt_parse(data, size, "input", &v);
	sc_ckpt_view_free(&v);
	fd = fuzz_memfile(data, size, path, sizeof(path));
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
