/*
 * sc_sched.h - learning-rate and momentum schedules.
 *
 * A schedule gives, for update i (counted from 0) of n_iters, the
 * learning rate and the momentum.  Each row is computed in O(1) from the
 * parameters, so a schedule of any length streams in constant memory.
 */
#ifndef SC_SCHED_H
#define SC_SCHED_H

enum sc_policy {
	SC_POLICY_ONECYCLE,
	SC_POLICY_TRIANGULAR,
};

enum sc_anneal {
	SC_ANNEAL_LINEAR,
	SC_ANNEAL_COS,
};

struct sc_sched {
	enum sc_policy policy;
	long n_iters;
	double min_lr;		/* 1cycle: start and end of the cycle;
				 * triangular: the base */
	double max_lr;
	double final_lr;	/* 1cycle: the value of the last row */
	double pct_start;	/* 1cycle: share of the run spent rising */
	int phases;		/* 1cycle: 2 or 3 */
	enum sc_anneal anneal;
	long step_up, step_down;	/* triangular: updates up and down */
	double mom_low, mom_high;	/* cycled opposite to the LR */
	int cycle_momentum;		/* 0: momentum constant mom_high */

	double end[3];		/* 1cycle: last update of each phase */
};

/* Validate a schedule and work out its phase boundaries.  Returns 0, or
 * -1 with a message naming the option at fault. */
int sc_sched_prepare(struct sc_sched *s);

/* Learning rate and momentum of update i, 0 <= i < n_iters. */
void sc_sched_at(const struct sc_sched *s, long i, double *lr,
    double *momentum);

const char *sc_policy_name(enum sc_policy p);
/* Parse a policy name; returns 0 or -1 naming the known ones. */
int sc_policy_parse(const char *name, enum sc_policy *p);

/* A schedule read from a schedule CSV (iter, lr and, optional, momentum
 * columns). */
struct sc_schedule_table {
	long n;
	double *lr;
	double *momentum;	/* NULL when the file has no momentum */
};

/* Read a schedule CSV ("-" for standard input).  Rows must count iter
 * from 0 up by one; every lr must be > 0 and finite and every momentum
 * in [0, 1).  Returns 0, or -1 naming the file and line. */
int sc_schedule_load(const char *path, struct sc_schedule_table *t);
void sc_schedule_free(struct sc_schedule_table *t);

#endif
