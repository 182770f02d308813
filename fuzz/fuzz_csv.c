/*
 * fuzz_csv.c - the CSV reader shared by the range CSV, the schedule and
 * csv: tables: every field of every row is also read as a number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sc_csv.h"

static int
on_header(void *ctx, const char *path, int n_cols, char **names)
{
	(void)ctx, (void)path;
	(void)sc_csv_find(n_cols, names, "lr");
	return 0;
}

static int
on_row(void *ctx, const struct sc_csv_row *row)
{
	long *rows = ctx;

	for (int c = 0; c < row->n_fields; c++) {
		double v;

		sc_csv_number_or_empty(row, c, &v);
	}
	++*rows;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* fmemopen wants a buffer of at least one byte. */
	char *copy = malloc(size + 1);
	FILE *f;
	long rows = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	f = fmemopen(copy, size > 0 ? size : 1, "r");
	if (f != NULL) {
		if (size == 0)
			fgetc(f);	/* at the end: an empty stream */
		sc_csv_read_stream(f, "fuzz.csv", on_header, on_row, &rows);
		fclose(f);
	}
	free(copy);
	return 0;
}
