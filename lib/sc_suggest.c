#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_csv.h"
#include "sc_error.h"
#include "sc_suggest.h"

/* Smallest fall of the smoothed loss (share of its starting magnitude)
 * and rise of held-out accuracy that count as a curve moving at all. */
#define MIN_LOSS_FALL 0.01
#define MIN_ACC_RISE 0.01

struct curve_ctx {
	struct sc_curve *c;
	long cap;
	int col_lr, col_loss, col_smooth, col_val;
};

static int
curve_header(void *ctx, const char *path, int n_cols, char **names)
{
	struct curve_ctx *x = ctx;

	x->col_lr = sc_csv_find(n_cols, names, "lr");
	x->col_loss = sc_csv_find(n_cols, names, "loss");
	x->col_smooth = sc_csv_find(n_cols, names, "smooth_loss");
	x->col_val = sc_csv_find(n_cols, names, "val_acc");
	if (x->col_lr < 0 || x->col_loss < 0)
		return sc_fail("%s: line 1: a range-test curve needs the "
		    "columns lr and loss; missing: %s", path,
		    x->col_lr < 0 ? (x->col_loss < 0 ? "lr, loss" : "lr") :
		    "loss");
	x->c->has_smooth = x->col_smooth >= 0;
	return 0;
}

static int
curve_grow(struct curve_ctx *x)
{
	long cap = x->cap ? x->cap * 2 : 1024;
	struct sc_curve *c = x->c;
	double **arrays[] = { &c->lr, &c->loss, &c->smooth, &c->val_acc };
	long *line;

	for (size_t k = 0; k < sizeof(arrays) / sizeof(*arrays); k++) {
		double *p = realloc(*arrays[k], (size_t)cap * sizeof(double));

		if (p == NULL)
			return sc_fail("out of memory");
		*arrays[k] = p;
	}
	line = realloc(c->line, (size_t)cap * sizeof(long));
	if (line == NULL)
		return sc_fail("out of memory");
	c->line = line;
	x->cap = cap;
	return 0;
}

static int
curve_row(void *ctx, const struct sc_csv_row *row)
{
	struct curve_ctx *x = ctx;
	struct sc_curve *c = x->c;
	double lr, loss, smooth = NAN, val = NAN;

	if (sc_csv_number(row, x->col_lr, &lr) < 0 ||
	    sc_csv_number(row, x->col_loss, &loss) < 0)
		return -1;
	if (x->col_smooth >= 0 &&
	    sc_csv_number_or_empty(row, x->col_smooth, &smooth) < 0)
		return -1;
	if (x->col_val >= 0 &&
	    sc_csv_number_or_empty(row, x->col_val, &val) < 0)
		return -1;
	if (x->col_val >= 0 && row->fields[x->col_val][0] != '\0' &&
	    !(val >= 0.0 && val <= 1.0))
		return sc_fail("%s: line %ld: val_acc must be from 0 to 1 "
		    "(or empty for a row not scored), not %s", row->path,
		    row->line, row->fields[x->col_val]);
	if (!(lr > 0.0) || !isfinite(lr))
		return sc_fail("%s: line %ld: lr must be > 0 and finite, not "
		    "%s", row->path, row->line, row->fields[x->col_lr]);
	/* lrtest sweeps the rate upwards; a falling one is some other
	 * CSV, or rows out of order. */
	if (c->n > 0 && lr < c->lr[c->n - 1])
		return sc_fail("%s: line %ld: lr %s is below the %.17g of the "
		    "line before: a range-test curve has its rows in the order "
		    "of rising lr", row->path, row->line,
		    row->fields[x->col_lr], c->lr[c->n - 1]);
	if (c->n == x->cap && curve_grow(x) < 0)
		return -1;
	c->lr[c->n] = lr;
	c->loss[c->n] = loss;
	c->smooth[c->n] = smooth;
	c->val_acc[c->n] = val;
	c->has_val |= isfinite(val);	/* a column with no score is none */
	c->line[c->n] = row->line;
	c->n++;
	return 0;
}

/* Bias-corrected EMA of the finite losses; rows after a non-finite loss
 * carry the last value, so one bad batch does not poison the rest. */
static void
smooth_losses(struct sc_curve *c, double beta)
{
	double avg = 0.0, beta_pow = 1.0, last = NAN;

	for (long i = 0; i < c->n; i++) {
		if (isfinite(c->loss[i])) {
			avg = beta * avg + (1.0 - beta) * c->loss[i];
			beta_pow *= beta;
			last = avg / (1.0 - beta_pow);
		}
		c->smooth[i] = last;
	}
}

int
sc_curve_load(const char *path, double beta, struct sc_curve *c)
{
	struct curve_ctx x = { c, 0, -1, -1, -1, -1 };

	memset(c, 0, sizeof(*c));
	if (sc_csv_read(path, curve_header, curve_row, &x) < 0) {
		sc_curve_free(c);
		return -1;
	}
	if (!c->has_smooth)
		smooth_losses(c, beta);
	return 0;
}

void
sc_curve_free(struct sc_curve *c)
{
	free(c->lr);
	free(c->loss);
	free(c->smooth);
	free(c->val_acc);
	free(c->line);
	memset(c, 0, sizeof(*c));
}

static int
refuse(cJSON *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
refuse(cJSON *o, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "reason", reason);
	return 1;
}

static void
add_bounds(cJSON *o, double max_lr, double div)
{
	cJSON_AddNumberToObject(o, "min_lr", max_lr / div);
	cJSON_AddNumberToObject(o, "max_lr", max_lr);
	cJSON_AddNumberToObject(o, "div", div);
}

/*
 * The rows a loss-reading method looks at: those of the trimmed window
 * whose learning rate and smoothed loss are finite, in order.  Rows
 * with a NaN or infinite loss are left out rather than cutting the curve,
 * so one bad batch in an exported curve does not hide the rest.
 */
struct view {
	const struct sc_curve *c;
	long *row;		/* indices into the curve */
	long n;
};

static int
make_view(struct view *v, const struct sc_curve *c, long lo, long hi)
{
	v->c = c;
	v->n = 0;
	v->row = malloc((size_t)(hi - lo > 0 ? hi - lo : 1) * sizeof(long));
	if (v->row == NULL)
		return sc_fail("out of memory");
	for (long i = lo; i < hi; i++)
		if (isfinite(c->smooth[i]) && isfinite(c->loss[i]))
			v->row[v->n++] = i;
	return 0;
}

#define LR(v, k) ((v)->c->lr[(v)->row[k]])
#define LOSS(v, k) ((v)->c->smooth[(v)->row[k]])
#define LINE(v, k) ((v)->c->line[(v)->row[k]])

/* Position in the view of the lowest smoothed loss, or -1 with a reason
 * when the curve does not fall enough to have one. */
static long
loss_minimum(const struct view *v, cJSON *o)
{
	long best = 0;
	double start;

	if (v->n < 2) {
		refuse(o, "fewer than 2 rows with a finite loss after "
		    "trimming");
		return -1;
	}
	for (long k = 1; k < v->n; k++)
		if (LOSS(v, k) < LOSS(v, best))
			best = k;
	start = LOSS(v, 0);
	if (best == 0 || start - LOSS(v, best) < MIN_LOSS_FALL * fabs(start)) {
		refuse(o, "the smoothed loss never falls: lowest %g at lr %g "
		    "against %g at the start of the window (lines %ld-%ld)",
		    LOSS(v, best), LR(v, best), start, LINE(v, 0),
		    LINE(v, v->n - 1));
		return -1;
	}
	return best;
}

/*
 * Smith reads the upper bound where held-out accuracy "slows, becomes
 * ragged, or starts to fall".  Walking up the scored rows, the search
 * keeps the best accuracy so far and ends at the first row that lies more
 * than `tolerance` below it: there the curve has turned ragged or begun
 * to fall, and a higher spike further on is not a rate that trains well.
 * A curve that never falls that far gives its highest row.  Whether the
 * accuracy rose at all is judged from the first scored row of the whole
 * curve: the rows trimmed at the start are often where it rose.
 */
static int
peak_on_accuracy(const struct sc_curve *c, long lo, long hi, double div,
    double tolerance, cJSON *o)
{
	long first = -1, best = -1, top = -1, fall = -1, n_scored = 0;

	for (long i = 0; i < hi && first < 0; i++)
		if (isfinite(c->val_acc[i]))
			first = i;
	for (long i = lo; i < hi; i++) {
		if (!isfinite(c->val_acc[i]))
			continue;
		n_scored++;
		if (top < 0 || c->val_acc[i] > c->val_acc[top])
			top = i;
		if (fall >= 0)
			continue;
		if (best < 0 || c->val_acc[i] > c->val_acc[best])
			best = i;
		else if (c->val_acc[i] < c->val_acc[best] - tolerance)
			fall = i;
	}
	cJSON_AddStringToObject(o, "source", "val_acc");
	if (n_scored < 3)
		return refuse(o, "only %ld rows with held-out accuracy after "
		    "trimming; the peak method needs 3 (run lrtest with a "
		    "smaller --eval-every)", n_scored);
	if (c->val_acc[best] - c->val_acc[first] < MIN_ACC_RISE)
		return refuse(o, "held-out accuracy never rises: best %g at "
		    "lr %g against %g at lr %g%s", c->val_acc[best],
		    c->lr[best], c->val_acc[first], c->lr[first],
		    fall >= 0 ? " before it first falls by more than the "
		    "tolerance" : "");
	add_bounds(o, c->lr[best], div);
	cJSON_AddNumberToObject(o, "peak_lr", c->lr[best]);
	cJSON_AddNumberToObject(o, "peak_val_acc", c->val_acc[best]);
	cJSON_AddNumberToObject(o, "tolerance", tolerance);
	if (fall >= 0) {
		cJSON_AddNumberToObject(o, "fall_lr", c->lr[fall]);
		cJSON_AddNumberToObject(o, "fall_val_acc", c->val_acc[fall]);
	}
	cJSON_AddNumberToObject(o, "highest_lr", c->lr[top]);
	cJSON_AddNumberToObject(o, "highest_val_acc", c->val_acc[top]);
	return 0;
}

/* Smith's reading: where held-out accuracy peaks; without held-out
 * scores, where the smoothed loss is lowest. */
static int
suggest_peak(const struct view *v, long lo, long hi, double div,
    double tolerance, cJSON *o)
{
	long m;

	if (v->c->has_val)
		return peak_on_accuracy(v->c, lo, hi, div, tolerance, o);
	cJSON_AddStringToObject(o, "source", "smooth_loss");
	if ((m = loss_minimum(v, o)) < 0)
		return 1;
	add_bounds(o, LR(v, m), div);
	cJSON_AddNumberToObject(o, "peak_lr", LR(v, m));
	cJSON_AddNumberToObject(o, "peak_smooth_loss", LOSS(v, m));
	return 0;
}

/* fastai's "minimum": a tenth of the learning rate of the lowest loss,
 * which sits just before the divergence. */
static int
suggest_minimum(const struct view *v, double div, cJSON *o)
{
	long m;

	if ((m = loss_minimum(v, o)) < 0)
		return 1;
	add_bounds(o, LR(v, m) / 10.0, div);
	cJSON_AddNumberToObject(o, "minimum_lr", LR(v, m));
	cJSON_AddNumberToObject(o, "minimum_smooth_loss", LOSS(v, m));
	return 0;
}

/* The steepest fall of the smoothed loss against ln(lr), up to its
 * minimum (past it the curve diverges).  Each slope spans `half` rows
 * either side, a fiftieth of the curve, so one noisy step cannot win. */
static int
suggest_steep(const struct view *v, double div, cJSON *o)
{
	long m, steepest = -1, half;
	double slope = 0.0;

	if ((m = loss_minimum(v, o)) < 0)
		return 1;
	half = v->n / 50 > 1 ? v->n / 50 : 1;
	for (long k = 0; k < m; k++) {
		long a = k - half > 0 ? k - half : 0;
		long b = k + half < m ? k + half : m;
		double dx = log(LR(v, b)) - log(LR(v, a)), s;

		if (!(dx > 0.0))
			continue;
		s = (LOSS(v, b) - LOSS(v, a)) / dx;
		if (s < slope) {
			slope = s;
			steepest = k;
		}
	}
	if (steepest < 0)
		return refuse(o, "the smoothed loss never falls as the lr "
		    "grows (lines %ld-%ld)", LINE(v, 0), LINE(v, m));
	add_bounds(o, LR(v, steepest), div);
	cJSON_AddNumberToObject(o, "steepest_lr", LR(v, steepest));
	cJSON_AddNumberToObject(o, "slope", slope);
	return 0;
}

/* fastai's "valley": the longest stretch over which the smoothed loss
 * keeps falling (its longest decreasing subsequence, found in
 * O(n log n)), and the learning rate half-way along it. */
static int
suggest_valley(const struct view *v, double div, cJSON *o)
{
	size_t len_alloc = (size_t)(v->n > 0 ? v->n : 1) * sizeof(long);
	long *tail = malloc(len_alloc);		/* by length */
	long *prev = malloc(len_alloc);
	long len = 0, first, last, mid;

	if (tail == NULL || prev == NULL) {
		free(tail);
		free(prev);
		return sc_fail("out of memory");
	}
	if (loss_minimum(v, o) < 0) {
		free(tail);
		free(prev);
		return 1;
	}
	/* tail[j]: the row ending the best decreasing run of length j + 1
	 * found so far, kept so that its loss is as high as possible. */
	for (long k = 0; k < v->n; k++) {
		long a = 0, b = len;

		while (a < b) {
			long h = (a + b) / 2;

			if (LOSS(v, tail[h]) > LOSS(v, k))
				a = h + 1;
			else
				b = h;
		}
		prev[k] = a > 0 ? tail[a - 1] : -1;
		tail[a] = k;
		if (a == len)
			len++;
	}
	if (len < 3) {
		free(tail);
		free(prev);
		return refuse(o, "no stretch of falling loss longer than %ld "
		    "rows", len);
	}
	last = tail[len - 1];
	first = last;
	for (long k = last; k >= 0; k = prev[k])
		first = k;
	mid = first + (last - first) / 2;
	free(tail);
	free(prev);
	add_bounds(o, LR(v, mid), div);
	cJSON_AddNumberToObject(o, "valley_lr", LR(v, mid));
	cJSON_AddNumberToObject(o, "valley_start_lr", LR(v, first));
	cJSON_AddNumberToObject(o, "valley_end_lr", LR(v, last));
	return 0;
}

static const char *const methods[] = {
	"peak", "valley", "steep", "minimum", NULL,
};

static int
run_method(const char *method, const struct view *v, long lo, long hi,
    const struct sc_suggest_opts *opts, cJSON *o)
{
	double div = opts->div;

	if (strcmp(method, "peak") == 0)
		return suggest_peak(v, lo, hi, div, opts->tolerance, o);
	if (strcmp(method, "steep") == 0)
		return suggest_steep(v, div, o);
	if (strcmp(method, "minimum") == 0)
		return suggest_minimum(v, div, o);
	return suggest_valley(v, div, o);
}

/* Every method, each in its own object under "methods"; the bounds at
 * the top come from the first that answers, in the order of methods[]. */
static int
run_all(const struct view *v, long lo, long hi,
    const struct sc_suggest_opts *opts, cJSON *o)
{
	cJSON *each = cJSON_AddObjectToObject(o, "methods");
	const char *chosen = NULL;

	if (each == NULL)
		return sc_fail("out of memory");
	for (int i = 0; methods[i] != NULL; i++) {
		cJSON *r = cJSON_AddObjectToObject(each, methods[i]);
		int rc;

		if (r == NULL)
			return sc_fail("out of memory");
		rc = run_method(methods[i], v, lo, hi, opts, r);
		if (rc < 0)
			return -1;
		if (rc == 0 && chosen == NULL) {
			chosen = methods[i];
			add_bounds(o, cJSON_GetObjectItem(r, "max_lr")
			    ->valuedouble, opts->div);
		}
	}
	if (chosen == NULL)
		return refuse(o, "no method could make a suggestion: see "
		    "each one's reason");
	cJSON_AddStringToObject(o, "chosen", chosen);
	return 0;
}

int
sc_suggest_method_known(const char *method)
{
	if (strcmp(method, "all") == 0)
		return 1;
	for (int i = 0; methods[i] != NULL; i++)
		if (strcmp(method, methods[i]) == 0)
			return 1;
	return 0;
}

int
sc_suggest(const struct sc_curve *c, const struct sc_suggest_opts *opts,
    cJSON **out)
{
	long skip_start = opts->skip_start, skip_end = opts->skip_end;
	long lo, hi;
	struct view v;
	cJSON *o;
	int rc;

	*out = NULL;
	if (!sc_suggest_method_known(opts->method))
		return sc_fail_usage("--method: unknown method '%s' (known: "
		    "peak, valley, steep, minimum, all)", opts->method);
	if (skip_start < 0)
		skip_start = c->n / 10;
	if (skip_end < 0)
		skip_end = c->n >= 20 ? 5 : 0;
	lo = skip_start;
	hi = c->n - skip_end;
	if (c->n == 0)
		return sc_fail("no data rows: at least 5 are needed");
	if (hi - lo < 5)
		return sc_fail("%ld row%s, %ld left after trimming %ld at the "
		    "start and %ld at the end: at least 5 are needed",
		    c->n, c->n == 1 ? "" : "s", hi - lo > 0 ? hi - lo : 0,
		    skip_start, skip_end);

	if (make_view(&v, c, lo, hi) < 0)
		return -1;
	o = cJSON_CreateObject();
	if (o == NULL) {
		free(v.row);
		return sc_fail("out of memory");
	}
	cJSON_AddStringToObject(o, "method", opts->method);
	if (strcmp(opts->method, "all") == 0)
		rc = run_all(&v, lo, hi, opts, o);
	else
		rc = run_method(opts->method, &v, lo, hi, opts, o);
	free(v.row);
	if (rc < 0) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_AddNumberToObject(o, "rows", (double)c->n);
	cJSON_AddNumberToObject(o, "skip_start", (double)skip_start);
	cJSON_AddNumberToObject(o, "skip_end", (double)skip_end);
	*out = o;
	return rc;
}

char *
sc_read_file(const char *path, size_t limit)
{
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	const char *name = is_stdin ? "<stdin>" : path;
	size_t len = 0, cap = 4096;
	char *buf;

	if (f == NULL) {
		sc_fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf != NULL) {
		size_t got = fread(buf + len, 1, cap - len - 1, f);

		len += got;
		if (len < cap - 1)
			break;
		if (cap > limit) {
			sc_fail("%s: larger than %zu bytes", name, limit);
			free(buf);
			buf = NULL;
			break;
		}
		cap *= 2;
		{
			char *p = realloc(buf, cap);

			if (p == NULL)
				free(buf);
			buf = p;
		}
	}
	if (buf == NULL && sc_error()[0] == '\0')
		sc_fail("%s: out of memory", name);
	if (buf != NULL && ferror(f)) {
		sc_fail("%s: %s", name, strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[len] = '\0';
	if (!is_stdin)
		fclose(f);
	return buf;
}

static int
positive_field(const cJSON *o, const char *name, const char *path,
    double *v, int required)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);

	if (x == NULL) {
		if (required)
			return sc_fail("%s: no field '%s'", path, name);
		return 1;
	}
	if (!cJSON_IsNumber(x))
		return sc_fail("%s: field '%s' is not a number", path, name);
	if (!(x->valuedouble > 0.0) || !isfinite(x->valuedouble))
		return sc_fail("%s: field '%s' must be > 0, not %g", path, name,
		    x->valuedouble);
	if (x->valuedouble < DBL_MIN)
		return sc_fail("%s: field '%s' is %g, too small to compute with "
		    "(below %g, it underflows)", path, name, x->valuedouble,
		    DBL_MIN);
	*v = x->valuedouble;
	return 0;
}

long
sc_line_at(const char *text, const char *pos)
{
	long line = 1;

	for (const char *p = text; p < pos && *p != '\0'; p++)
		line += *p == '\n';
	return line;
}

#define SC_STR_(x) #x
#define SC_STR(x) SC_STR_(x)

const char *
sc_json_fault(const char *text, const char *pos)
{
	long depth = 0;
	int in_string = 0;

	for (const char *p = text; p < pos && *p != '\0'; p++) {
		if (in_string) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_string = 0;
		} else if (*p == '"') {
			in_string = 1;
		} else if (*p == '[' || *p == '{') {
			depth++;
		} else if (*p == ']' || *p == '}') {
			depth--;
		}
	}
	if (depth >= CJSON_NESTING_LIMIT)
		return "arrays and objects nested more than "
		    SC_STR(CJSON_NESTING_LIMIT) " deep, more than the JSON "
		    "reader takes";
	return "not valid JSON";
}

const char *
sc_json_repeated(const cJSON *o)
{
	const cJSON *a, *b;

	cJSON_ArrayForEach(a, o) {
		const char *inner = sc_json_repeated(a);

		if (inner != NULL)
			return inner;
		if (!cJSON_IsObject(o))
			continue;
		for (b = o->child; b != a; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return a->string;
	}
	return NULL;
}

int
sc_bounds_parse(const char *text, const char *name, double *min_lr,
    double *max_lr)
{
	const char *end = NULL, *twice;
	const cJSON *reason;
	cJSON *o;
	int rc = -1, has_min;

	if (text[strspn(text, " \t\r\n")] == '\0')
		return sc_fail("%s: empty: no bounds JSON", name);
	/* Text after the object is refused too: it is not one object. */
	o = cJSON_ParseWithOpts(text, &end, 1);
	if (o == NULL)
		return sc_fail("%s: line %ld: %s", name, end != NULL ?
		    sc_line_at(text, end) : 1L, sc_json_fault(text, end));
	if (!cJSON_IsObject(o)) {
		sc_fail("%s: expected a JSON object of bounds", name);
		goto done;
	}
	if ((twice = sc_json_repeated(o)) != NULL) {
		sc_fail("%s: the member \"%s\" is given twice", name, twice);
		goto done;
	}
	reason = cJSON_GetObjectItemCaseSensitive(o, "reason");
	if (cJSON_GetObjectItemCaseSensitive(o, "max_lr") == NULL &&
	    cJSON_IsString(reason)) {
		sc_fail("%s: holds no bounds: %s", name, reason->valuestring);
		goto done;
	}
	if (positive_field(o, "max_lr", name, max_lr, 1) < 0 ||
	    (has_min = positive_field(o, "min_lr", name, min_lr, 0)) < 0)
		goto done;
	if (has_min == 0 && !(*min_lr < *max_lr)) {
		sc_fail("%s: min_lr %g is not below max_lr %g", name, *min_lr,
		    *max_lr);
		goto done;
	}
	rc = 0;
done:
	cJSON_Delete(o);
	return rc;
}

int
sc_bounds_read(const char *path, double *min_lr, double *max_lr)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	char *text = sc_read_file(path, 1 << 20);
	int rc;

	if (text == NULL)
		return -1;
	rc = sc_bounds_parse(text, name, min_lr, max_lr);
	free(text);
	return rc;
}
