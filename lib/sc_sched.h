/*
 * sc_sched.h - learning-rate and momentum schedules.
 *
 * A schedule gives, for update i (counted from 0) of n_iters, the
 * learning rate and the momentum.  Each row is computed in O(1) from the
 * parameters, so a schedule of any length streams in constant memory.
 *
 * The tools build a schedule in three steps: each command-line option
 * goes through sc_sched_option into a struct sc_sched_args; then
 * sc_sched_resolve applies presets and defaults, refuses contradictions
 * and options the policy would ignore, and reads a bounds JSON; last,
 * with the length known, sc_sched_prepare checks every row the schedule
 * would have.  Every refusal names the option at fault.
 */
#ifndef SC_SCHED_H
#define SC_SCHED_H

#include <stddef.h>
#include <stdio.h>

enum sc_policy {
	SC_POLICY_CONSTANT,
	SC_POLICY_STEP,
	SC_POLICY_TRIANGULAR,
	SC_POLICY_TRIANGULAR2,
	SC_POLICY_EXP_RANGE,
	SC_POLICY_ONECYCLE,
	SC_POLICY_COSINE,
	SC_N_POLICIES
};

enum sc_anneal {
	SC_ANNEAL_LINEAR,
	SC_ANNEAL_COS,
};

/* What exp_range's gamma^i scales: the amplitude above the lower bound
 * (PyTorch, Keras CLR) or both bounds (the 2017 paper's text). */
enum sc_exp_decay {
	SC_EXP_DECAY_AMPLITUDE,
	SC_EXP_DECAY_BOUNDS,
};

/* 1cycle presets after the schedulers people come from. */
enum sc_like {
	SC_LIKE_SMITH,
	SC_LIKE_PYTORCH,
	SC_LIKE_FASTAI,
};

#define SC_SCHED_MAX_MILESTONES 64

struct sc_sched {
	enum sc_policy policy;
	long n_iters;
	double min_lr;		/* the base of a cycle; 1cycle's start and
				 * end of fall; cosine's warm-up start */
	double max_lr;		/* the peak; constant's and step's rate */
	double final_lr;	/* 1cycle, cosine: the value of the last row */
	double pct_start;	/* 1cycle: share of the run spent rising */
	int phases;		/* 1cycle: 2 or 3 */
	enum sc_anneal anneal;	/* 1cycle */
	long step_up, step_down;	/* cyclic: updates up and down (0:
					 * down as up) */
	double gamma;		/* step: factor at each milestone;
				 * exp_range: decay per update */
	enum sc_exp_decay exp_decay;
	long milestones[SC_SCHED_MAX_MILESTONES];	/* step */
	int n_milestones;
	long warmup;		/* cosine: updates of linear warm-up */
	double mom_low, mom_high;	/* cycled opposite to the LR */
	int cycle_momentum;		/* 0: momentum constant mom_high */

	/* Worked out by sc_sched_prepare. */
	double end[3];		/* 1cycle: last update of each phase */
	/* step: the rate and the momentum after k milestones. */
	double step_lr[SC_SCHED_MAX_MILESTONES + 1];
	double step_mom[SC_SCHED_MAX_MILESTONES + 1];
};

/* Validate a schedule of s->n_iters updates and work out what its rows
 * need: every learning rate it would write is checked to be a finite
 * normal number above 0.  Returns 0, or -1 with a message naming the
 * option at fault (marked as a usage fault). */
int sc_sched_prepare(struct sc_sched *s);

/* Learning rate and momentum of update i, 0 <= i < n_iters, of a
 * prepared schedule. */
void sc_sched_at(const struct sc_sched *s, long i, double *lr,
    double *momentum);

const char *sc_policy_name(enum sc_policy p);
/* Parse a policy name; returns 0 or -1 naming the known ones. */
int sc_policy_parse(const char *name, enum sc_policy *p);

/* The schedule as the clrgen options that write it again, exactly
 * ("--policy 1cycle --min-lr 0.04 ... --iters 100"), in buf. */
void sc_sched_describe(const struct sc_sched *s, char *buf, size_t len);

/* Options, as the tools take them. */

/* Which options a tool takes: the shape of the schedule (both tools), or
 * its length in clrgen's terms (train has its own). */
#define SC_SCHED_SHAPE 1u
#define SC_SCHED_LENGTH 2u

struct sc_sched_args {
	struct sc_sched s;	/* values given; the rest filled by resolve */
	enum sc_like like;
	double div, final_div;
	double momentum;	/* --momentum */
	const char *bounds;	/* --bounds FILE, "-" for standard input */
	long iters, epochs, steps_per_epoch, data_size, batch;
	int drop_last;
	unsigned long given;	/* private: which options were given */
};

/* No option given yet. */
void sc_sched_args_init(struct sc_sched_args *a);

/* Apply one schedule option (name without the dashes, arg NULL for a
 * flag).  Returns 0, 1 when name is not a schedule option, or -1 with a
 * message naming the option. */
int sc_sched_option(struct sc_sched_args *a, const char *name,
    const char *arg);

/* Whether the option called name was given. */
int sc_sched_given(const struct sc_sched_args *a, const char *name);

struct option;
/* Build a getopt_long table in dst (cap entries): the tool's own
 * entries (own, ended by a NULL name), then the schedule options of the
 * groups asked for with val as their value, then the terminator.
 * Returns 0, or -1 when cap is too small. */
int sc_sched_getopt(struct option *dst, size_t cap, const struct option *own,
    unsigned groups, int val);

/* The number of updates from the length options: --iters, or --epochs
 * with --steps-per-epoch or with --data-size and --batch (--drop-last
 * rounding down).  Returns 0, or -1 with a usage fault. */
int sc_sched_length(const struct sc_sched_args *a, long *n_iters);

/* Fill s from the options: policy, preset, defaults and bounds (reading
 * a->bounds when set); n_iters is left 0 for the caller to set before
 * sc_sched_prepare.  Returns 0, or -1 with a message, marked as a usage
 * fault unless the bounds JSON could not be read or holds no bounds. */
int sc_sched_resolve(const struct sc_sched_args *a, struct sc_sched *s);

/* Writing. */

/* Room for the longest row sc_sched_format_row writes. */
#define SC_SCHED_ROW_MAX 128

/* Format row i as a line of the schedule CSV ("iter,lr,momentum") or of
 * JSON Lines, the numbers exactly as printf's "%.17g" prints them, with
 * its newline; returns its length.  buf holds SC_SCHED_ROW_MAX bytes. */
size_t sc_sched_format_row(char *buf, long i, double lr, double momentum,
    int json);

/* Write every row of a prepared schedule to f (with the CSV header
 * unless json).  Returns 0, or -1 when a write fails. */
int sc_sched_write(const struct sc_sched *s, FILE *f, int json);

/* A schedule held in memory: read from a schedule CSV, or computed. */
struct sc_schedule_table {
	long n;
	double *lr;
	double *momentum;	/* NULL when the file has no momentum */
};

/* Read a schedule CSV ("-" for standard input).  Rows must count iter
 * from 0 up by one; every lr must be > 0 and finite and every momentum
 * in [0, 1).  Returns 0, or -1 naming the file and line. */
int sc_schedule_load(const char *path, struct sc_schedule_table *t);

/* Compute every row of a prepared schedule into t: the same values that
 * its CSV reads back as.  Returns 0, or -1 when out of memory. */
int sc_schedule_fill(const struct sc_sched *s, struct sc_schedule_table *t);

void sc_schedule_free(struct sc_schedule_table *t);

#endif
