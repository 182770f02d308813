#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sc_csv.h"
#include "sc_error.h"

struct reader {
	const char *path;
	long line;
	long row_start;		/* line where the row being read began */
	int n_cols;
	char *names[SC_CSV_MAX_COLS];
	char *fields[SC_CSV_MAX_COLS];
	int n_fields;
	int too_many;
	int failed;
	int have_header;
	sc_csv_header_fn on_header;
	sc_csv_row_fn on_row;
	void *ctx;
};

static void
on_field(void *s, size_t len, void *data)
{
	struct reader *r = data;
	char *copy;

	if (r->failed)
		return;
	if (r->n_fields == SC_CSV_MAX_COLS) {
		r->too_many = 1;
		return;
	}
	copy = malloc(len + 1);
	if (copy == NULL) {
		r->failed = sc_fail("%s: out of memory", r->path);
		return;
	}
	if (len > 0)
		memcpy(copy, s, len);
	copy[len] = '\0';
	r->fields[r->n_fields++] = copy;
}

static void
clear_fields(struct reader *r)
{
	for (int i = 0; i < r->n_fields; i++)
		free(r->fields[i]);
	r->n_fields = 0;
	r->too_many = 0;
}

static void
take_header(struct reader *r)
{
	for (int i = 0; i < r->n_fields; i++) {
		for (int j = 0; j < i; j++)
			if (strcmp(r->fields[i], r->fields[j]) == 0) {
				r->failed = sc_fail("%s: line %ld: column "
				    "'%s' appears twice in the header",
				    r->path, r->line, r->fields[i]);
				return;
			}
		r->names[i] = r->fields[i];
	}
	r->n_cols = r->n_fields;
	r->n_fields = 0;
	r->have_header = 1;
	if (r->on_header != NULL &&
	    r->on_header(r->ctx, r->path, r->n_cols, r->names) != 0)
		r->failed = -1;
}

static void
on_row_end(int c, void *data)
{
	struct reader *r = data;
	struct sc_csv_row row;

	(void)c;
	r->row_start = r->line + 1;
	if (r->failed)
		goto done;
	if (r->too_many) {
		r->failed = sc_fail("%s: line %ld: more than %d fields",
		    r->path, r->line, SC_CSV_MAX_COLS);
		goto done;
	}
	if (!r->have_header) {
		take_header(r);
		return;
	}
	if (r->n_fields != r->n_cols) {
		r->failed = sc_fail("%s: line %ld: %d fields where the header "
		    "has %d", r->path, r->line, r->n_fields, r->n_cols);
		goto done;
	}
	row.path = r->path;
	row.line = r->line;
	row.n_fields = r->n_fields;
	row.fields = r->fields;
	row.names = r->names;
	if (r->on_row(r->ctx, &row) != 0)
		r->failed = -1;
done:
	clear_fields(r);
}

static int
parse_stream(FILE *f, struct reader *r, struct csv_parser *p)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		char *s = line;

		r->line++;
		if (r->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3)
		    == 0) {
			s += 3;
			len -= 3;
		}
		if (csv_parse(p, s, (size_t)len, on_field, on_row_end, r) !=
		    (size_t)len) {
			rc = sc_fail("%s: line %ld: %s", r->path, r->line,
			    csv_strerror(csv_error(p)));
			break;
		}
		if (r->failed)
			break;
	}
	free(line);
	if (rc == 0 && !r->failed && ferror(f))
		rc = sc_fail("%s: %s", r->path, strerror(errno));
	/* In strict mode the only fault left at the end is a quoted
	 * field that never closes: point at the row that opened it. */
	if (rc == 0 && !r->failed &&
	    csv_fini(p, on_field, on_row_end, r) != 0)
		rc = sc_fail("%s: line %ld: a quoted field opened in this row "
		    "is not closed before the end of the file", r->path,
		    r->row_start);
	if (rc == 0 && !r->failed && !r->have_header)
		rc = sc_fail("%s: empty: no header row", r->path);
	return rc != 0 || r->failed ? -1 : 0;
}

int
sc_csv_read_stream(FILE *f, const char *name, sc_csv_header_fn on_header,
    sc_csv_row_fn on_row, void *ctx)
{
	struct reader r = { 0 };
	struct csv_parser p;
	int rc;

	r.path = name;
	r.row_start = 1;
	r.on_header = on_header;
	r.on_row = on_row;
	r.ctx = ctx;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return sc_fail("%s: out of memory", name);
	rc = parse_stream(f, &r, &p);
	csv_free(&p);
	clear_fields(&r);
	for (int i = 0; i < r.n_cols; i++)
		free(r.names[i]);
	return rc;
}

int
sc_csv_read(const char *path, sc_csv_header_fn on_header,
    sc_csv_row_fn on_row, void *ctx)
{
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0)
		return sc_csv_read_stream(stdin, "<stdin>", on_header, on_row,
		    ctx);
	if ((f = fopen(path, "r")) == NULL)
		return sc_fail("%s: %s", path, strerror(errno));
	rc = sc_csv_read_stream(f, path, on_header, on_row, ctx);
	fclose(f);
	return rc;
}

int
sc_csv_find(int n_cols, char **names, const char *name)
{
	for (int i = 0; i < n_cols; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int
sc_csv_number_or_empty(const struct sc_csv_row *row, int col, double *v)
{
	const char *s = row->fields[col];
	char *end;
	double x;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return 1;
	errno = 0;
	x = strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	/* Decimal only, as every tool writes and lrplot reads: strtod
	 * takes hexadecimal too. */
	if (end == s || *end != '\0' || strpbrk(s, "xX") != NULL)
		return sc_fail("%s: line %ld: column '%s': not a number: '%s'",
		    row->path, row->line, row->names[col], row->fields[col]);
	if (errno == ERANGE && isinf(x))
		return sc_fail("%s: line %ld: column '%s': out of range: '%s'",
		    row->path, row->line, row->names[col], row->fields[col]);
	*v = x;
	return 0;
}

int
sc_csv_number(const struct sc_csv_row *row, int col, double *v)
{
	int rc = sc_csv_number_or_empty(row, col, v);

	if (rc == 1)
		return sc_fail("%s: line %ld: column '%s' is empty",
		    row->path, row->line, row->names[col]);
	return rc;
}

void
sc_csv_writer_init(struct sc_csv_writer *w, FILE *f)
{
	w->f = f;
	w->n_in_row = 0;
}

static void
separate(struct sc_csv_writer *w)
{
	if (w->n_in_row++ > 0)
		putc(',', w->f);
}

void
sc_csv_put_text(struct sc_csv_writer *w, const char *s)
{
	separate(w);
	if (strpbrk(s, ",\"\r\n") != NULL || *s == ' ')
		csv_fwrite(w->f, s, strlen(s));
	else
		fputs(s, w->f);
}

/* NaN and infinities are written as "nan", "inf" and "-inf", which
 * strtod reads back, whatever sign bit a NaN carries. */
static int
put_special(struct sc_csv_writer *w, double v)
{
	if (isnan(v))
		fputs("nan", w->f);
	else if (isinf(v))
		fputs(v > 0 ? "inf" : "-inf", w->f);
	else
		return 0;
	return 1;
}

void
sc_csv_put_double(struct sc_csv_writer *w, double v)
{
	separate(w);
	if (!put_special(w, v))
		fprintf(w->f, "%.17g", v);
}

void
sc_csv_put_float(struct sc_csv_writer *w, float v)
{
	separate(w);
	if (!put_special(w, v))
		fprintf(w->f, "%.9g", (double)v);
}

void
sc_csv_put_long(struct sc_csv_writer *w, long v)
{
	separate(w);
	fprintf(w->f, "%ld", v);
}

void
sc_csv_put_empty(struct sc_csv_writer *w)
{
	separate(w);
}

int
sc_csv_end_row(struct sc_csv_writer *w)
{
	putc('\n', w->f);
	w->n_in_row = 0;
	return ferror(w->f) ? -1 : 0;
}

int
sc_csv_header(struct sc_csv_writer *w, const char *const *names)
{
	return sc_csv_header_plus(w, names, NULL);
}

int
sc_csv_header_plus(struct sc_csv_writer *w, const char *const *names,
    const char *extra)
{
	for (int i = 0; names[i] != NULL; i++)
		sc_csv_put_text(w, names[i]);
	if (extra != NULL)
		sc_csv_put_text(w, extra);
	return sc_csv_end_row(w);
}

void
sc_csv_put_double_or_empty(struct sc_csv_writer *w, double v)
{
	if (isnan(v))
		sc_csv_put_empty(w);
	else
		sc_csv_put_double(w, v);
}
