/*
 * sc_csv.h - CSV streams, read by column name and written with libcsv.
 *
 * Readers get one callback per data row, so a file of any length is read
 * in constant memory.  Line numbers count physical lines from 1 (the
 * header), so messages can point at the line a user must fix.
 */
#ifndef SC_CSV_H
#define SC_CSV_H

#include <stdio.h>

#define SC_CSV_MAX_COLS 256

struct sc_csv_row {
	const char *path;	/* as given; "-" is standard input */
	long line;		/* physical line where the row ends */
	int n_fields;
	char **fields;		/* NUL-terminated; "" for an empty field */
	char **names;		/* header names, n_fields of them */
};

/* Called once per data row; a nonzero return stops the read and is
 * returned by sc_csv_read (after recording a message with sc_fail). */
typedef int (*sc_csv_row_fn)(void *ctx, const struct sc_csv_row *row);

/* Called once with the header (path as in messages); return -1 (and
 * sc_fail) to refuse it. */
typedef int (*sc_csv_header_fn)(void *ctx, const char *path, int n_cols,
    char **names);

/* Read path ("-" for standard input): a header row, then data rows with
 * as many fields as the header.  A UTF-8 byte-order mark and CRLF line
 * ends are accepted.  Returns 0, or -1 with a message naming the file and
 * line. */
int sc_csv_read(const char *path, sc_csv_header_fn on_header,
    sc_csv_row_fn on_row, void *ctx);

/* The same for a stream already open (a file, a pipe, memory), shown as
 * name in messages; f is left open. */
int sc_csv_read_stream(FILE *f, const char *name, sc_csv_header_fn on_header,
    sc_csv_row_fn on_row, void *ctx);

/* Index of the column called name, or -1. */
int sc_csv_find(int n_cols, char **names, const char *name);

/* Parse field col of row as a number into *v; an empty field is an
 * error.  Returns 0, or -1 naming the file, line and column. */
int sc_csv_number(const struct sc_csv_row *row, int col, double *v);

/* Like sc_csv_number, but an empty field gives 1 and leaves *v alone. */
int sc_csv_number_or_empty(const struct sc_csv_row *row, int col,
    double *v);

/* Writing: fields are separated by commas, text fields are quoted by
 * libcsv when they need it, numbers are printed to read back exactly. */
struct sc_csv_writer {
	FILE *f;
	int n_in_row;
};

void sc_csv_writer_init(struct sc_csv_writer *w, FILE *f);
void sc_csv_put_text(struct sc_csv_writer *w, const char *s);
void sc_csv_put_double(struct sc_csv_writer *w, double v);	/* %.17g */
void sc_csv_put_float(struct sc_csv_writer *w, float v);	/* %.9g */
void sc_csv_put_long(struct sc_csv_writer *w, long v);
void sc_csv_put_empty(struct sc_csv_writer *w);
/* End the row; returns 0, or -1 when the stream has failed. */
int sc_csv_end_row(struct sc_csv_writer *w);
/* Write a whole header row from a NULL-terminated list of names. */
int sc_csv_header(struct sc_csv_writer *w, const char *const *names);
/* The same with one more column at the end unless extra is NULL. */
int sc_csv_header_plus(struct sc_csv_writer *w, const char *const *names,
    const char *extra);
/* A double, or an empty field for NaN (a value not known yet). */
void sc_csv_put_double_or_empty(struct sc_csv_writer *w, double v);

#endif
