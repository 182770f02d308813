/*
 * fuzz_bounds.c - the bounds JSON reader (clrgen --bounds).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sc_suggest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	double min_lr = 0.0, max_lr = 0.0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	sc_bounds_parse(text, "fuzz.json", &min_lr, &max_lr);
	free(text);
	return 0;
}
