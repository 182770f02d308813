#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sc_error.h"
#include "sc_opt.h"

/* A finite number, all of arg. */
static int
parse_finite(const char *opt, const char *arg, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(arg, &end);
	if (end == arg || *end != '\0' || !isfinite(*v))
		return sc_fail("%s: '%s' is not a finite number", opt, arg);
	/* Finite, but not held: below the smallest normal double. */
	if (errno == ERANGE)
		return sc_fail("%s: '%s' is too close to 0 (the smallest is "
		    "%g)", opt, arg, DBL_MIN);
	return 0;
}

int
sc_opt_double(const char *opt, const char *arg, double lo, double hi,
    double *v)
{
	double x;

	if (parse_finite(opt, arg, &x) < 0)
		return -1;
	if (x < lo || x > hi)
		return sc_fail("%s: %s is outside [%.10g, %.10g]", opt, arg, lo,
		    hi);
	*v = x;
	return 0;
}

int
sc_opt_positive(const char *opt, const char *arg, double *v)
{
	double x;

	if (parse_finite(opt, arg, &x) < 0)
		return -1;
	if (!(x > 0.0))
		return sc_fail("%s: must be > 0, not %s", opt, arg);
	*v = x;
	return 0;
}

int
sc_opt_long(const char *opt, const char *arg, long lo, long hi, long *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(arg, &end, 10);
	if (end == arg || *end != '\0')
		return sc_fail("%s: '%s' is not an integer", opt, arg);
	if (errno == ERANGE)
		return sc_fail("%s: %s is outside [%ld, %ld]", opt, arg, lo, hi);
	if (x < lo || x > hi)
		return sc_fail("%s: %s is outside [%ld, %ld]", opt, arg, lo, hi);
	*v = x;
	return 0;
}

int
sc_opt_int(const char *opt, const char *arg, int lo, int hi, int *v)
{
	long x;

	if (sc_opt_long(opt, arg, lo, hi, &x) < 0)
		return -1;
	*v = (int)x;
	return 0;
}

int
sc_opt_u64(const char *opt, const char *arg, uint64_t *v)
{
	char *end;
	uintmax_t x;

	errno = 0;
	if (*arg == '-')
		return sc_fail("%s: '%s' is not a non-negative integer", opt,
		    arg);
	x = strtoumax(arg, &end, 10);
	if (end == arg || *end != '\0' || errno == ERANGE || x > UINT64_MAX)
		return sc_fail("%s: '%s' is not a non-negative integer", opt,
		    arg);
	*v = (uint64_t)x;
	return 0;
}

double
sc_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
sc_progress_start(struct sc_progress *p, FILE *f, const char *what)
{
	p->f = f;
	p->live = f != NULL && isatty(fileno(f));
	p->start = p->last = sc_seconds();
	p->what = what;
}

void
sc_progress_update(struct sc_progress *p, long done, long total)
{
	double t = sc_seconds(), elapsed, rate, left;
	int width = 30, fill;

	if (!p->live || (t - p->last < 0.2 && done < total))
		return;
	p->last = t;
	elapsed = t - p->start;
	rate = elapsed > 0.0 ? done / elapsed : 0.0;
	left = rate > 0.0 ? (total - done) / rate : 0.0;
	fill = total > 0 ? (int)((double)done / total * width) : width;
	fprintf(p->f, "\r%s [%-*.*s] %ld/%ld  %.1f upd/s  %.0fs left ",
	    p->what, width, fill, "##############################", done,
	    total, rate, left);
	fflush(p->f);
}

void
sc_progress_clear(struct sc_progress *p)
{
	if (p->live)
		fprintf(p->f, "\r%80s\r", "");
}
