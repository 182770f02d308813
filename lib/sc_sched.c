#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sc_csv.h"
#include "sc_error.h"
#include "sc_sched.h"

static const char *policy_names[] = {
	[SC_POLICY_ONECYCLE] = "1cycle",
	[SC_POLICY_TRIANGULAR] = "triangular",
};

const char *
sc_policy_name(enum sc_policy p)
{
	return policy_names[p];
}

int
sc_policy_parse(const char *name, enum sc_policy *p)
{
	for (size_t i = 0; i < sizeof(policy_names) / sizeof(*policy_names);
	    i++)
		if (strcmp(name, policy_names[i]) == 0) {
			*p = (enum sc_policy)i;
			return 0;
		}
	return sc_fail("--policy: unknown policy '%s' (known: 1cycle, "
	    "triangular)", name);
}

static int
check_lr(const char *option, double v)
{
	if (!(v > 0.0) || !isfinite(v))
		return sc_fail("%s: learning rate must be > 0 and finite, "
		    "not %g", option, v);
	return 0;
}

static int
prepare_onecycle(struct sc_sched *s)
{
	double t = (double)s->n_iters;

	if (!(s->pct_start > 0.0 && s->pct_start < 1.0))
		return sc_fail("--pct-start: must be inside (0, 1), not %g",
		    s->pct_start);
	if (s->phases != 2 && s->phases != 3)
		return sc_fail("--phases: must be 2 or 3, not %d", s->phases);
	if (check_lr("--final-lr", s->final_lr) < 0)
		return -1;
	if (s->final_lr > s->max_lr)
		return sc_fail("--final-lr: %g is above --max-lr %g",
		    s->final_lr, s->max_lr);

	/* Phase ends as PyTorch's OneCycleLR places them. */
	s->end[0] = s->pct_start * t - 1.0;
	if (s->phases == 3) {
		s->end[1] = 2.0 * s->pct_start * t - 2.0;
		s->end[2] = t - 1.0;
	} else {
		s->end[1] = t - 1.0;
	}
	if (!(s->end[0] > 0.0))
		return sc_fail("--pct-start: %g of %ld updates leaves no "
		    "update for the rising phase", s->pct_start, s->n_iters);
	/* Phase k > 0 holds the updates i with end[k-1] < i <= end[k]. */
	for (int k = 1; k < s->phases; k++)
		if (!(floor(s->end[k]) > floor(s->end[k - 1])))
			return sc_fail("--pct-start: %g of %ld updates leaves "
			    "phase %d with no update", s->pct_start,
			    s->n_iters, k + 1);
	return 0;
}

int
sc_sched_prepare(struct sc_sched *s)
{
	if (s->n_iters < 1)
		return sc_fail("--iters: a schedule needs at least one "
		    "update, not %ld", s->n_iters);
	if (check_lr("--min-lr", s->min_lr) < 0 ||
	    check_lr("--max-lr", s->max_lr) < 0)
		return -1;
	if (!(s->min_lr < s->max_lr))
		return sc_fail("--min-lr: %g must be below --max-lr %g",
		    s->min_lr, s->max_lr);
	if (!(s->mom_low >= 0.0 && s->mom_low < 1.0 && s->mom_high >= 0.0 &&
	    s->mom_high < 1.0 && s->mom_low <= s->mom_high))
		return sc_fail("--momentum-range: need 0 <= LOW <= HIGH < 1, "
		    "not %g:%g", s->mom_low, s->mom_high);

	switch (s->policy) {
	case SC_POLICY_ONECYCLE:
		return prepare_onecycle(s);
	case SC_POLICY_TRIANGULAR:
		if (s->step_up < 1)
			return sc_fail("--step-size: must be at least 1, not "
			    "%ld", s->step_up);
		if (s->step_down < 1)
			s->step_down = s->step_up;
		return 0;
	}
	return sc_fail("unknown policy");
}

/* From a to b as p goes from 0 to 1; exact at both ends, and constant
 * (to the last bit) when a == b. */
static double
anneal(enum sc_anneal how, double a, double b, double p)
{
	if (a == b || p == 0.0)
		return a;
	if (how == SC_ANNEAL_COS)
		return b + (a - b) / 2.0 * (1.0 + cos(M_PI * p));
	return (1.0 - p) * a + p * b;
}

static void
onecycle_at(const struct sc_sched *s, long i, double *lr, double *mom)
{
	/* Phase k goes from lr_from[k] to lr_to[k] (momentum likewise)
	 * over the updates (end[k-1], end[k]]. */
	double lr_from[3] = { s->min_lr, s->max_lr, s->min_lr };
	double lr_to[3] = { s->max_lr, s->min_lr, s->final_lr };
	double m_from[3] = { s->mom_high, s->mom_low, s->mom_high };
	double m_to[3] = { s->mom_low, s->mom_high, s->mom_high };
	double start = 0.0, p;
	int k;

	if (s->phases == 2)
		lr_to[1] = s->final_lr;
	for (k = 0; k < s->phases - 1; k++) {
		if ((double)i <= s->end[k])
			break;
		start = s->end[k];
	}
	p = ((double)i - start) / (s->end[k] - start);
	*lr = anneal(s->anneal, lr_from[k], lr_to[k], p);
	*mom = s->cycle_momentum ?
	    anneal(s->anneal, m_from[k], m_to[k], p) : s->mom_high;
}

static void
triangular_at(const struct sc_sched *s, long i, double *lr, double *mom)
{
	double total = (double)(s->step_up + s->step_down);
	double ratio = (double)s->step_up / total;
	double cycle = floor(1.0 + (double)i / total);
	double x = 1.0 + (double)i / total - cycle;
	double h = x <= ratio ? x / ratio : (x - 1.0) / (ratio - 1.0);

	*lr = s->min_lr + (s->max_lr - s->min_lr) * h;
	*mom = s->cycle_momentum ?
	    s->mom_high - (s->mom_high - s->mom_low) * h : s->mom_high;
}

void
sc_sched_at(const struct sc_sched *s, long i, double *lr, double *momentum)
{
	if (s->policy == SC_POLICY_TRIANGULAR)
		triangular_at(s, i, lr, momentum);
	else
		onecycle_at(s, i, lr, momentum);
}

/* Reading a schedule CSV. */

struct load_ctx {
	struct sc_schedule_table *t;
	long cap;
	int col_iter, col_lr, col_mom;
};

static int
load_header(void *ctx, const char *path, int n_cols, char **names)
{
	struct load_ctx *c = ctx;

	c->col_iter = sc_csv_find(n_cols, names, "iter");
	c->col_lr = sc_csv_find(n_cols, names, "lr");
	c->col_mom = sc_csv_find(n_cols, names, "momentum");
	if (c->col_iter < 0 || c->col_lr < 0)
		return sc_fail("%s: line 1: a schedule needs the columns "
		    "iter and lr; missing: %s", path, c->col_iter < 0 ?
		    (c->col_lr < 0 ? "iter, lr" : "iter") : "lr");
	return 0;
}

static int
grow(struct load_ctx *c)
{
	long cap = c->cap ? c->cap * 2 : 4096;
	double *lr = realloc(c->t->lr, (size_t)cap * sizeof(double));
	double *mom;

	if (lr == NULL)
		return sc_fail("out of memory");
	c->t->lr = lr;
	if (c->col_mom >= 0) {
		mom = realloc(c->t->momentum, (size_t)cap * sizeof(double));
		if (mom == NULL)
			return sc_fail("out of memory");
		c->t->momentum = mom;
	}
	c->cap = cap;
	return 0;
}

static int
load_row(void *ctx, const struct sc_csv_row *row)
{
	struct load_ctx *c = ctx;
	struct sc_schedule_table *t = c->t;
	double iter, lr, mom = 0.0;

	if (sc_csv_number(row, c->col_iter, &iter) < 0 ||
	    sc_csv_number(row, c->col_lr, &lr) < 0)
		return -1;
	if (c->col_mom >= 0 && sc_csv_number(row, c->col_mom, &mom) < 0)
		return -1;
	if (iter != (double)t->n)
		return sc_fail("%s: line %ld: iter is %s where %ld was "
		    "expected (rows count updates from 0, one by one)",
		    row->path, row->line, row->fields[c->col_iter], t->n);
	if (!(lr > 0.0) || !isfinite(lr))
		return sc_fail("%s: line %ld: lr must be > 0 and finite, not "
		    "%s", row->path, row->line, row->fields[c->col_lr]);
	if (c->col_mom >= 0 && !(mom >= 0.0 && mom < 1.0))
		return sc_fail("%s: line %ld: momentum must be in [0, 1), not "
		    "%s", row->path, row->line, row->fields[c->col_mom]);
	if (t->n == c->cap && grow(c) < 0)
		return -1;
	t->lr[t->n] = lr;
	if (c->col_mom >= 0)
		t->momentum[t->n] = mom;
	t->n++;
	return 0;
}

int
sc_schedule_load(const char *path, struct sc_schedule_table *t)
{
	struct load_ctx c = { t, 0, -1, -1, -1 };

	memset(t, 0, sizeof(*t));
	if (sc_csv_read(path, load_header, load_row, &c) < 0) {
		sc_schedule_free(t);
		return -1;
	}
	if (t->n == 0) {
		sc_schedule_free(t);
		return sc_fail("%s: schedule has a header but no rows",
		    strcmp(path, "-") == 0 ? "<stdin>" : path);
	}
	return 0;
}

void
sc_schedule_free(struct sc_schedule_table *t)
{
	free(t->lr);
	free(t->momentum);
	t->lr = t->momentum = NULL;
	t->n = 0;
}
