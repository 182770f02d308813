/*
 * sc_suggest.h - reading a range-test curve and proposing LR bounds.
 *
 * A suggestion is made only from what the curve shows: when the loss
 * never falls (or the held-out accuracy never rises) the answer is a
 * refusal with a reason, never a made-up value.
 */
#ifndef SC_SUGGEST_H
#define SC_SUGGEST_H

struct cJSON;

/* A range-test curve, one entry per CSV row. */
struct sc_curve {
	long n;
	double *lr;
	double *loss;
	double *smooth;		/* smooth_loss, or computed from loss */
	double *val_acc;	/* NaN where the row was not scored */
	long *line;		/* CSV line of each row */
	int has_smooth;		/* the file had a smooth_loss column */
	int has_val;		/* some row has a held-out accuracy */
};

/* Read any CSV with lr and loss columns ("-" for standard input); uses
 * smooth_loss and val_acc when present.  Without smooth_loss, the loss is
 * smoothed here (EMA with beta, bias-corrected, skipping non-finite
 * losses).  The lr must not fall from one row to the next.  Returns 0,
 * or -1 naming the file and line. */
int sc_curve_load(const char *path, double beta, struct sc_curve *c);
void sc_curve_free(struct sc_curve *c);

/* The default tolerance of peak: a fall of 3 points of accuracy, more
 * than twice the standard error of an accuracy scored on lrtest's
 * default 1000 samples. */
#define SC_PEAK_TOLERANCE 0.03

struct sc_suggest_opts {
	const char *method;	/* peak, valley, steep, minimum or all */
	double div;		/* min_lr = max_lr / div */
	long skip_start;	/* rows dropped at the start; -1: 10 % */
	long skip_end;		/* rows dropped at the end; -1: 5 */
	double tolerance;	/* peak: the fall of held-out accuracy
				 * below its best so far that ends the
				 * search */
};

/* Analyse the curve.  Returns 0 with *out holding min_lr, max_lr and the
 * evidence; 1 with *out holding a "reason" when the curve does not allow
 * a suggestion; -1 with a message on a usage or data error (too few
 * rows).  *out is the caller's to cJSON_Delete. */
int sc_suggest(const struct sc_curve *c, const struct sc_suggest_opts *o,
    struct cJSON **out);

/* Whether method names one of the methods (or "all"). */
int sc_suggest_method_known(const char *method);

/* Read a bounds JSON ("-" for standard input): max_lr is required,
 * min_lr is optional (*min_lr is left alone when absent).  A bounds file
 * holding a refusal is an error that repeats its reason.  Returns 0 or
 * -1 naming the file and field. */
int sc_bounds_read(const char *path, double *min_lr, double *max_lr);

/* The same for a bounds JSON already in memory (NUL-terminated); name is
 * the file to show in messages. */
int sc_bounds_parse(const char *text, const char *name, double *min_lr,
    double *max_lr);

/* Read a whole file ("-" for standard input) into a NUL-terminated
 * buffer to free().  Returns NULL with a message. */
char *sc_read_file(const char *path, size_t limit);

/* The line of text that pos points into, counted from 1: where a JSON
 * reader stopped, for its message. */
long sc_line_at(const char *text, const char *pos);

/* Why cJSON stopped at pos in text: "not valid JSON", or, where the
 * arrays and objects open there are nested CJSON_NESTING_LIMIT deep, that
 * the nesting is deeper than it reads. */
const char *sc_json_fault(const char *text, const char *pos);

/* The first member name that one object of o, or of the arrays and
 * objects inside it, holds twice (cJSON keeps both, and a lookup finds
 * the first), or NULL. */
const char *sc_json_repeated(const struct cJSON *o);

#endif
