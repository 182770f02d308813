/*
 * sc_opt.h - checked parsing of option values for the tools.
 *
 * Each parser takes the option's name for its message, checks the whole
 * argument was a number and that it lies in range, and returns 0 or -1
 * with "--option: why".
 */
#ifndef SC_OPT_H
#define SC_OPT_H

#include <stdint.h>
#include <stdio.h>

int sc_opt_double(const char *opt, const char *arg, double lo, double hi,
    double *v);
/* Like sc_opt_double, but lo itself is refused (an open lower bound). */
int sc_opt_positive(const char *opt, const char *arg, double *v);
int sc_opt_long(const char *opt, const char *arg, long lo, long hi, long *v);
int sc_opt_int(const char *opt, const char *arg, int lo, int hi, int *v);
int sc_opt_u64(const char *opt, const char *arg, uint64_t *v);

/* Seconds on a monotonic clock, for measuring durations. */
double sc_seconds(void);

/* Progress on a stream (stderr): a live bar on a terminal, nothing
 * otherwise (the tools print a line per epoch themselves). */
struct sc_progress {
	FILE *f;
	int live;		/* the stream is a terminal */
	double start, last;
	const char *what;
};

void sc_progress_start(struct sc_progress *p, FILE *f, const char *what);
void sc_progress_update(struct sc_progress *p, long done, long total);
/* Clear the bar's line before other messages. */
void sc_progress_clear(struct sc_progress *p);

#endif
