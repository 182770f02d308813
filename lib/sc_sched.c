/* Schedules: options, checks, the rows, and writing and reading them. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sc_csv.h"
#include "sc_error.h"
#include "sc_opt.h"
#include "sc_sched.h"
#include "sc_suggest.h"

static const char *policy_names[] = {
	[SC_POLICY_CONSTANT] = "constant",
	[SC_POLICY_STEP] = "step",
	[SC_POLICY_TRIANGULAR] = "triangular",
	[SC_POLICY_TRIANGULAR2] = "triangular2",
	[SC_POLICY_EXP_RANGE] = "exp_range",
	[SC_POLICY_ONECYCLE] = "1cycle",
	[SC_POLICY_COSINE] = "cosine",
};

const char *
sc_policy_name(enum sc_policy p)
{
	return policy_names[p];
}

int
sc_policy_parse(const char *name, enum sc_policy *p)
{
	for (int i = 0; i < SC_N_POLICIES; i++)
		if (strcmp(name, policy_names[i]) == 0) {
			*p = (enum sc_policy)i;
			return 0;
		}
	return sc_fail("--policy: unknown policy '%s' (known: constant, "
	    "step, triangular, triangular2, exp_range, 1cycle, cosine)",
	    name);
}

/* The 1cycle presets.  final_div divides the lower bound, as PyTorch's
 * final_div_factor does; fastai's div_final divides the peak instead. */
static const struct preset {
	const char *name;
	enum sc_anneal anneal;
	int phases;
	double pct_start, div;
	double final_div;	/* final = min / this, when not 0 */
	double final_div_max;	/* final = max / this, when not 0 */
} presets[] = {
	[SC_LIKE_SMITH] = { "smith", SC_ANNEAL_LINEAR, 3, 0.45, 10.0,
	    1000.0, 0.0 },
	[SC_LIKE_PYTORCH] = { "pytorch", SC_ANNEAL_COS, 2, 0.3, 25.0, 1e4,
	    0.0 },
	[SC_LIKE_FASTAI] = { "fastai", SC_ANNEAL_COS, 2, 0.25, 25.0, 0.0,
	    1e5 },
};

#define DEFAULT_MOM_LOW 0.85
#define DEFAULT_MOM_HIGH 0.95
#define DEFAULT_STEP_GAMMA 0.1
#define DEFAULT_COSINE_FINAL_DIV 1e4

/* The options, and the policies each one applies to. */
enum {
	O_POLICY, O_LIKE, O_MIN_LR, O_MAX_LR, O_BOUNDS, O_DIV, O_FINAL_LR,
	O_FINAL_DIV, O_PCT_START, O_PHASES, O_ANNEAL, O_STEP, O_STEP_DOWN,
	O_GAMMA, O_MILESTONES, O_EXP_DECAY, O_WARMUP, O_MOM_RANGE, O_MOM,
	O_ITERS, O_EPOCHS, O_SPE, O_DATA_SIZE, O_BATCH, O_DROP_LAST,
	N_OPTIONS
};

#define P(x) (1u << SC_POLICY_##x)
#define ALL ((1u << SC_N_POLICIES) - 1)
#define CYCLIC (P(TRIANGULAR) | P(TRIANGULAR2) | P(EXP_RANGE))

static const struct sched_option {
	const char *name;
	int has_arg;
	unsigned group;
	unsigned policies;
} sched_options[N_OPTIONS] = {
	[O_POLICY] = { "policy", 1, SC_SCHED_SHAPE, ALL },
	[O_LIKE] = { "like", 1, SC_SCHED_SHAPE, P(ONECYCLE) },
	[O_MIN_LR] = { "min-lr", 1, SC_SCHED_SHAPE,
	    CYCLIC | P(ONECYCLE) | P(COSINE) },
	[O_MAX_LR] = { "max-lr", 1, SC_SCHED_SHAPE, ALL },
	[O_BOUNDS] = { "bounds", 1, SC_SCHED_SHAPE, ALL },
	[O_DIV] = { "div", 1, SC_SCHED_SHAPE,
	    CYCLIC | P(ONECYCLE) | P(COSINE) },
	[O_FINAL_LR] = { "final-lr", 1, SC_SCHED_SHAPE,
	    P(ONECYCLE) | P(COSINE) },
	[O_FINAL_DIV] = { "final-div", 1, SC_SCHED_SHAPE,
	    P(ONECYCLE) | P(COSINE) },
	[O_PCT_START] = { "pct-start", 1, SC_SCHED_SHAPE, P(ONECYCLE) },
	[O_PHASES] = { "phases", 1, SC_SCHED_SHAPE, P(ONECYCLE) },
	[O_ANNEAL] = { "anneal", 1, SC_SCHED_SHAPE, P(ONECYCLE) },
	[O_STEP] = { "step-size", 1, SC_SCHED_SHAPE, CYCLIC },
	[O_STEP_DOWN] = { "step-size-down", 1, SC_SCHED_SHAPE, CYCLIC },
	[O_GAMMA] = { "gamma", 1, SC_SCHED_SHAPE, P(STEP) | P(EXP_RANGE) },
	[O_MILESTONES] = { "milestones", 1, SC_SCHED_SHAPE, P(STEP) },
	[O_EXP_DECAY] = { "exp-range-decay", 1, SC_SCHED_SHAPE,
	    P(EXP_RANGE) },
	[O_WARMUP] = { "warmup", 1, SC_SCHED_SHAPE, P(COSINE) },
	[O_MOM_RANGE] = { "momentum-range", 1, SC_SCHED_SHAPE,
	    ALL & ~P(CONSTANT) },
	[O_MOM] = { "momentum", 1, SC_SCHED_SHAPE, ALL },
	[O_ITERS] = { "iters", 1, SC_SCHED_LENGTH, ALL },
	[O_EPOCHS] = { "epochs", 1, SC_SCHED_LENGTH, ALL },
	[O_SPE] = { "steps-per-epoch", 1, SC_SCHED_LENGTH, ALL },
	[O_DATA_SIZE] = { "data-size", 1, SC_SCHED_LENGTH, ALL },
	[O_BATCH] = { "batch", 1, SC_SCHED_LENGTH, ALL },
	[O_DROP_LAST] = { "drop-last", 0, SC_SCHED_LENGTH, ALL },
};

#define GIVEN(a, o) (((a)->given >> (o)) & 1u)

void
sc_sched_args_init(struct sc_sched_args *a)
{
	memset(a, 0, sizeof(*a));
	a->s.policy = SC_POLICY_ONECYCLE;
	a->like = SC_LIKE_SMITH;
}

static int
find_option(const char *name)
{
	for (int o = 0; o < N_OPTIONS; o++)
		if (strcmp(name, sched_options[o].name) == 0)
			return o;
	return -1;
}

int
sc_sched_given(const struct sc_sched_args *a, const char *name)
{
	int o = find_option(name);

	return o >= 0 && GIVEN(a, o);
}

int
sc_sched_getopt(struct option *dst, size_t cap, const struct option *own,
    unsigned groups, int val)
{
	size_t n = 0;

	for (; own != NULL && own->name != NULL; own++) {
		if (n + 1 >= cap)
			return -1;
		dst[n++] = *own;
	}
	for (int o = 0; o < N_OPTIONS; o++) {
		if (!(sched_options[o].group & groups))
			continue;
		if (n + 1 >= cap)
			return -1;
		dst[n].name = sched_options[o].name;
		dst[n].has_arg = sched_options[o].has_arg ?
		    required_argument : no_argument;
		dst[n].flag = NULL;
		dst[n].val = val;
		n++;
	}
	memset(&dst[n], 0, sizeof(dst[n]));
	return 0;
}

/* A momentum in [0, 1). */
static int
parse_momentum(const char *opt, const char *arg, double *m)
{
	if (sc_opt_double(opt, arg, -HUGE_VAL, HUGE_VAL, m) < 0)
		return -1;
	if (!(*m >= 0.0 && *m < 1.0))
		return sc_fail("%s: a momentum must lie in [0, 1), not %s",
		    opt, arg);
	return 0;
}

static int
parse_momentum_range(const char *arg, struct sc_sched *s)
{
	char low[64];
	const char *colon = strchr(arg, ':');

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(low))
		return sc_fail("--momentum-range: expected LOW:HIGH, not "
		    "'%s'", arg);
	memcpy(low, arg, (size_t)(colon - arg));
	low[colon - arg] = '\0';
	if (parse_momentum("--momentum-range", low, &s->mom_low) < 0 ||
	    parse_momentum("--momentum-range", colon + 1, &s->mom_high) < 0)
		return -1;
	if (s->mom_low > s->mom_high)
		return sc_fail("--momentum-range: LOW %g is above HIGH %g",
		    s->mom_low, s->mom_high);
	return 0;
}

/* A comma-separated list of update indices, as given; their order is
 * checked by sc_sched_prepare, against the length. */
static int
parse_milestones(const char *arg, struct sc_sched *s)
{
	const char *p = arg;
	int n = 0;

	for (;;) {
		char *end;
		long v;

		if (!isdigit((unsigned char)*p))
			return sc_fail("--milestones: expected update indices "
			    "separated by commas, such as 100,150, not '%s'",
			    arg);
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno == ERANGE || v > (1L << 40))
			return sc_fail("--milestones: %.*s is too large",
			    (int)(end - p), p);
		if (n == SC_SCHED_MAX_MILESTONES)
			return sc_fail("--milestones: at most %d milestones",
			    SC_SCHED_MAX_MILESTONES);
		s->milestones[n++] = v;
		if (*end == '\0')
			break;
		if (*end != ',')
			return sc_fail("--milestones: expected update indices "
			    "separated by commas, such as 100,150, not '%s'",
			    arg);
		p = end + 1;
	}
	s->n_milestones = n;
	return 0;
}

static int
parse_word(const char *opt, const char *arg, const char *const *words,
    int n_words, int *v)
{
	for (int i = 0; i < n_words; i++)
		if (strcmp(arg, words[i]) == 0) {
			*v = i;
			return 0;
		}
	if (n_words == 2)
		return sc_fail("%s: expected %s or %s, not '%s'", opt,
		    words[0], words[1], arg);
	return sc_fail("%s: expected %s, %s or %s, not '%s'", opt, words[0],
	    words[1], words[2], arg);
}

static int
apply_option(struct sc_sched_args *a, int o, const char *arg)
{
	static const char *const anneals[] = { "linear", "cos" };
	static const char *const decays[] = { "amplitude", "bounds" };
	static const char *const likes[] = { "smith", "pytorch", "fastai" };
	struct sc_sched *s = &a->s;
	const long big = 1L << 40;
	int v = 0;

	switch (o) {
	case O_POLICY:
		return sc_policy_parse(arg, &s->policy);
	case O_LIKE:
		if (parse_word("--like", arg, likes, 3, &v) < 0)
			return -1;
		a->like = (enum sc_like)v;
		return 0;
	case O_MIN_LR:
		return sc_opt_positive("--min-lr", arg, &s->min_lr);
	case O_MAX_LR:
		return sc_opt_positive("--max-lr", arg, &s->max_lr);
	case O_BOUNDS:
		a->bounds = arg;
		return 0;
	case O_DIV:
		return sc_opt_double("--div", arg, 1.0, 1e12, &a->div);
	case O_FINAL_LR:
		return sc_opt_positive("--final-lr", arg, &s->final_lr);
	case O_FINAL_DIV:
		return sc_opt_double("--final-div", arg, 1.0, 1e12,
		    &a->final_div);
	case O_PCT_START:
		return sc_opt_double("--pct-start", arg, -HUGE_VAL, HUGE_VAL,
		    &s->pct_start);
	case O_PHASES:
		return sc_opt_int("--phases", arg, 2, 3, &s->phases);
	case O_ANNEAL:
		if (parse_word("--anneal", arg, anneals, 2, &v) < 0)
			return -1;
		s->anneal = (enum sc_anneal)v;
		return 0;
	case O_STEP:
		return sc_opt_long("--step-size", arg, 1, big, &s->step_up);
	case O_STEP_DOWN:
		return sc_opt_long("--step-size-down", arg, 1, big,
		    &s->step_down);
	case O_GAMMA:
		return sc_opt_positive("--gamma", arg, &s->gamma);
	case O_MILESTONES:
		return parse_milestones(arg, s);
	case O_EXP_DECAY:
		if (parse_word("--exp-range-decay", arg, decays, 2, &v) < 0)
			return -1;
		s->exp_decay = (enum sc_exp_decay)v;
		return 0;
	case O_WARMUP:
		return sc_opt_long("--warmup", arg, 1, big, &s->warmup);
	case O_MOM_RANGE:
		return parse_momentum_range(arg, s);
	case O_MOM:
		return parse_momentum("--momentum", arg, &a->momentum);
	case O_ITERS:
		return sc_opt_long("--iters", arg, 1, big, &a->iters);
	case O_EPOCHS:
		return sc_opt_long("--epochs", arg, 1, 1L << 30, &a->epochs);
	case O_SPE:
		return sc_opt_long("--steps-per-epoch", arg, 1, big,
		    &a->steps_per_epoch);
	case O_DATA_SIZE:
		return sc_opt_long("--data-size", arg, 1, big, &a->data_size);
	case O_BATCH:
		return sc_opt_long("--batch", arg, 1, 1L << 30, &a->batch);
	case O_DROP_LAST:
		a->drop_last = 1;
		return 0;
	}
	return sc_fail("unexpected option");
}

int
sc_sched_option(struct sc_sched_args *a, const char *name, const char *arg)
{
	int o = find_option(name);

	if (o < 0)
		return 1;
	if (apply_option(a, o, arg) < 0)
		return -1;
	a->given |= 1ul << o;
	return 0;
}

int
sc_sched_length(const struct sc_sched_args *a, long *n_iters)
{
	int epoch_size = GIVEN(a, O_SPE) || GIVEN(a, O_DATA_SIZE) ||
	    GIVEN(a, O_BATCH) || GIVEN(a, O_DROP_LAST);
	long per_epoch;

	if (GIVEN(a, O_ITERS) && (GIVEN(a, O_EPOCHS) || epoch_size))
		return sc_fail_usage("--iters: give the length either as "
		    "--iters or as --epochs with the epoch's size, not both");
	if (GIVEN(a, O_ITERS)) {
		*n_iters = a->iters;
		return 0;
	}
	if (!GIVEN(a, O_EPOCHS) && epoch_size)
		return sc_fail_usage("--epochs: --steps-per-epoch, "
		    "--data-size, --batch and --drop-last give the size of an "
		    "epoch; the "
		    "number of epochs is missing");
	if (!GIVEN(a, O_EPOCHS))
		return sc_fail_usage("--iters: no length given (--iters N, or "
		    "--epochs E with --steps-per-epoch or --data-size and "
		    "--batch)");
	if (GIVEN(a, O_SPE)) {
		if (GIVEN(a, O_DATA_SIZE) || GIVEN(a, O_BATCH) ||
		    GIVEN(a, O_DROP_LAST))
			return sc_fail_usage("--steps-per-epoch: contradicts "
			    "--data-size, --batch and --drop-last");
		per_epoch = a->steps_per_epoch;
	} else {
		if (!GIVEN(a, O_DATA_SIZE) || !GIVEN(a, O_BATCH))
			return sc_fail_usage("--epochs: needs "
			    "--steps-per-epoch, or both --data-size and "
			    "--batch");
		per_epoch = a->drop_last ? a->data_size / a->batch :
		    (a->data_size + a->batch - 1) / a->batch;
		if (per_epoch == 0)
			return sc_fail_usage("--batch: %ld is larger than "
			    "--data-size %ld, and --drop-last leaves no "
			    "update", a->batch, a->data_size);
	}
	if (per_epoch > (1L << 40) / a->epochs)
		return sc_fail_usage("--epochs: %ld epochs of %ld updates is "
		    "too long", a->epochs, per_epoch);
	*n_iters = a->epochs * per_epoch;
	return 0;
}

/* "1cycle", "step and exp_range": the policies of a mask, for messages. */
static void
policy_list(unsigned mask, char *buf, size_t len)
{
	int n = 0, left = 0;

	for (int p = 0; p < SC_N_POLICIES; p++)
		left += (mask >> p) & 1u;
	buf[0] = '\0';
	for (int p = 0; p < SC_N_POLICIES; p++) {
		size_t used = strlen(buf);

		if (!((mask >> p) & 1u))
			continue;
		n++;
		snprintf(buf + used, len - used, "%s%s", n == 1 ? "" :
		    n == left ? " and " : ", ", policy_names[p]);
	}
}

/* Every option given must be one the policy uses. */
static int
check_applies(const struct sc_sched_args *a)
{
	enum sc_policy p = a->s.policy;
	char list[128];

	for (int o = 0; o < N_OPTIONS; o++) {
		unsigned mask = sched_options[o].policies;

		if (!GIVEN(a, o) || ((mask >> p) & 1u))
			continue;
		policy_list(mask, list, sizeof(list));
		return sc_fail_usage("--%s: does not apply to the %s policy "
		    "(only to %s)", sched_options[o].name, policy_names[p],
		    list);
	}
	if (p == SC_POLICY_COSINE && !GIVEN(a, O_WARMUP) &&
	    (GIVEN(a, O_MIN_LR) || GIVEN(a, O_DIV)))
		return sc_fail_usage("--%s: the cosine policy starts at "
		    "--max-lr; a lower bound only sets where a --warmup "
		    "starts", GIVEN(a, O_MIN_LR) ? "min-lr" : "div");
	return 0;
}

static int
check_contradictions(const struct sc_sched_args *a)
{
	static const struct { int a, b; } pairs[] = {
		{ O_MOM, O_MOM_RANGE }, { O_MIN_LR, O_DIV },
		{ O_FINAL_LR, O_FINAL_DIV }, { O_MAX_LR, O_BOUNDS },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++)
		if (GIVEN(a, pairs[i].a) && GIVEN(a, pairs[i].b))
			return sc_fail_usage("--%s: contradicts --%s",
			    sched_options[pairs[i].a].name,
			    sched_options[pairs[i].b].name);
	return 0;
}

static int
check_required(const struct sc_sched_args *a)
{
	switch (a->s.policy) {
	case SC_POLICY_TRIANGULAR:
	case SC_POLICY_TRIANGULAR2:
	case SC_POLICY_EXP_RANGE:
		if (!GIVEN(a, O_STEP))
			return sc_fail_usage("--step-size: the %s policy needs "
			    "the number of updates of a half cycle",
			    policy_names[a->s.policy]);
		if (a->s.policy == SC_POLICY_EXP_RANGE && !GIVEN(a, O_GAMMA))
			return sc_fail_usage("--gamma: the exp_range policy "
			    "needs the factor applied per update (such as "
			    "0.9999)");
		return 0;
	case SC_POLICY_STEP:
		if (!GIVEN(a, O_MILESTONES))
			return sc_fail_usage("--milestones: the step policy "
			    "needs the updates at which the rate drops");
		return 0;
	default:
		return 0;
	}
}

/* Where the learning rates come from: --max-lr, or a bounds JSON. */
static int
resolve_bounds(const struct sc_sched_args *a, struct sc_sched *s,
    const struct preset *pre)
{
	double file_min = 0.0;

	if (a->bounds != NULL) {
		if (sc_bounds_read(a->bounds, &file_min, &s->max_lr) < 0)
			return -1;
	} else if (!GIVEN(a, O_MAX_LR)) {
		return sc_fail_usage("--max-lr: no bounds given (--max-lr, or "
		    "a bounds JSON from --bounds FILE or standard input)");
	}

	/* The lower bound: asked for, then a ratio asked for (by --div or
	 * a preset), then the bounds file's, then the default ratio. */
	if (GIVEN(a, O_MIN_LR))
		s->min_lr = a->s.min_lr;
	else if (GIVEN(a, O_DIV))
		s->min_lr = s->max_lr / a->div;
	else if (!GIVEN(a, O_LIKE) && file_min > 0.0)
		s->min_lr = file_min;
	else
		s->min_lr = s->max_lr / pre->div;

	if (s->policy == SC_POLICY_ONECYCLE && !GIVEN(a, O_FINAL_LR)) {
		if (GIVEN(a, O_FINAL_DIV))
			s->final_lr = s->min_lr / a->final_div;
		else if (pre->final_div_max > 0.0)
			s->final_lr = s->max_lr / pre->final_div_max;
		else
			s->final_lr = s->min_lr / pre->final_div;
	}
	if (s->policy == SC_POLICY_COSINE && !GIVEN(a, O_FINAL_LR))
		s->final_lr = s->max_lr / (GIVEN(a, O_FINAL_DIV) ?
		    a->final_div : DEFAULT_COSINE_FINAL_DIV);
	return 0;
}

int
sc_sched_resolve(const struct sc_sched_args *a, struct sc_sched *s)
{
	const struct preset *pre = &presets[GIVEN(a, O_LIKE) ? a->like :
	    SC_LIKE_SMITH];
	enum sc_policy p = a->s.policy;

	if (check_applies(a) < 0 || check_contradictions(a) < 0 ||
	    check_required(a) < 0)
		return -1;

	*s = a->s;
	s->n_iters = 0;
	if (!GIVEN(a, O_ANNEAL))
		s->anneal = pre->anneal;
	if (!GIVEN(a, O_PHASES))
		s->phases = pre->phases;
	if (!GIVEN(a, O_PCT_START))
		s->pct_start = pre->pct_start;
	if (p == SC_POLICY_STEP && !GIVEN(a, O_GAMMA))
		s->gamma = DEFAULT_STEP_GAMMA;

	/* Momentum: constant when asked for; otherwise cycled against the
	 * LR by the cycling policies, held at HIGH by the others unless a
	 * range is asked for. */
	if (GIVEN(a, O_MOM)) {
		s->mom_low = s->mom_high = a->momentum;
		s->cycle_momentum = 0;
	} else {
		if (!GIVEN(a, O_MOM_RANGE)) {
			s->mom_low = DEFAULT_MOM_LOW;
			s->mom_high = DEFAULT_MOM_HIGH;
		}
		s->cycle_momentum = GIVEN(a, O_MOM_RANGE) ||
		    ((CYCLIC | P(ONECYCLE)) >> p & 1u);
	}

	/* Read last, so that a usage error is reported before standard
	 * input is read. */
	return resolve_bounds(a, s, pre);
}

/* Checks on a schedule. */

static int
check_lr(const char *option, const char *what, double v)
{
	if (!(v > 0.0) || !isfinite(v))
		return sc_fail_usage("%s: %s must be > 0 and finite, not %g",
		    option, what, v);
	if (v < DBL_MIN)
		return sc_fail_usage("%s: %s %g is too small to compute with "
		    "(below %g, it underflows)", option, what, v, DBL_MIN);
	return 0;
}

static int
check_min_below_max(const struct sc_sched *s)
{
	if (check_lr("--min-lr", "the lower bound", s->min_lr) < 0)
		return -1;
	if (!(s->min_lr < s->max_lr))
		return sc_fail_usage("--min-lr: %g must be below --max-lr %g",
		    s->min_lr, s->max_lr);
	return 0;
}

static int
check_final(const struct sc_sched *s)
{
	if (check_lr("--final-lr", "the final learning rate", s->final_lr) < 0)
		return -1;
	if (s->final_lr > s->max_lr)
		return sc_fail_usage("--final-lr: %g is above --max-lr %g",
		    s->final_lr, s->max_lr);
	return 0;
}

static int
check_momentum(const struct sc_sched *s)
{
	const char *opt = s->cycle_momentum ? "--momentum-range" :
	    "--momentum";

	if (!(s->mom_low >= 0.0 && s->mom_low < 1.0 && s->mom_high >= 0.0 &&
	    s->mom_high < 1.0))
		return sc_fail_usage("%s: a momentum must lie in [0, 1), not "
		    "%g:%g", opt, s->mom_low, s->mom_high);
	if (s->mom_low > s->mom_high)
		return sc_fail_usage("%s: LOW %g is above HIGH %g", opt,
		    s->mom_low, s->mom_high);
	return 0;
}

static int
prepare_onecycle(struct sc_sched *s)
{
	double t = (double)s->n_iters;

	if (check_min_below_max(s) < 0 || check_final(s) < 0)
		return -1;
	if (!(s->pct_start > 0.0 && s->pct_start < 1.0))
		return sc_fail_usage("--pct-start: must be inside (0, 1), not "
		    "%g", s->pct_start);
	if (s->phases != 2 && s->phases != 3)
		return sc_fail_usage("--phases: must be 2 or 3, not %d",
		    s->phases);

	/* Phase ends as PyTorch's OneCycleLR places them. */
	s->end[0] = s->pct_start * t - 1.0;
	if (s->phases == 3) {
		s->end[1] = 2.0 * s->pct_start * t - 2.0;
		s->end[2] = t - 1.0;
	} else {
		s->end[1] = t - 1.0;
	}
	if (!(s->end[0] > 0.0))
		return sc_fail_usage("--pct-start: %g of %ld updates leaves no "
		    "update for the rising phase", s->pct_start, s->n_iters);
	/* Phase k > 0 holds the updates i with end[k-1] < i <= end[k]. */
	for (int k = 1; k < s->phases; k++)
		if (!(floor(s->end[k]) > floor(s->end[k - 1])))
			return sc_fail_usage("--pct-start: %g of %ld updates "
			    "leaves phase %d with no update", s->pct_start,
			    s->n_iters, k + 1);
	return 0;
}

static int
prepare_cyclic(struct sc_sched *s)
{
	double last = (double)(s->n_iters - 1), g_last, v;

	if (check_min_below_max(s) < 0)
		return -1;
	if (s->step_up < 1)
		return sc_fail_usage("--step-size: must be at least 1, not %ld",
		    s->step_up);
	if (s->step_down == 0)
		s->step_down = s->step_up;
	if (s->step_down < 1)
		return sc_fail_usage("--step-size-down: must be at least 1, "
		    "not %ld", s->step_down);
	if (s->policy != SC_POLICY_EXP_RANGE)
		return 0;

	if (!(s->gamma > 0.0) || !isfinite(s->gamma))
		return sc_fail_usage("--gamma: must be > 0 and finite, not %g",
		    s->gamma);
	/* The extremes are at the last update: gamma^i is monotonic. */
	g_last = pow(s->gamma, last);
	if (s->exp_decay == SC_EXP_DECAY_BOUNDS) {
		v = g_last * (s->gamma < 1.0 ? s->min_lr : s->max_lr);
		if (!(v >= DBL_MIN) || !isfinite(v))
			return sc_fail_usage("--gamma: %g over %ld updates "
			    "takes the learning rate to %g, which %s",
			    s->gamma, s->n_iters, v, isfinite(v) ?
			    "underflows" : "overflows");
	} else if (s->gamma > 1.0) {
		v = s->min_lr + (s->max_lr - s->min_lr) * g_last;
		if (!isfinite(v))
			return sc_fail_usage("--gamma: %g over %ld updates "
			    "takes the learning rate to infinity", s->gamma,
			    s->n_iters);
	}
	return 0;
}

static int
prepare_step(struct sc_sched *s)
{
	double lo, hi;
	int n = s->n_milestones;

	if (!(s->gamma > 0.0) || !isfinite(s->gamma))
		return sc_fail_usage("--gamma: must be > 0 and finite, not %g",
		    s->gamma);
	if (n < 1)
		return sc_fail_usage("--milestones: the step policy needs at "
		    "least one");
	for (int k = 0; k < n; k++) {
		long m = s->milestones[k];

		if (m < 1)
			return sc_fail_usage("--milestones: %ld: a milestone "
			    "is an update after the first, at least 1", m);
		if (k > 0 && m == s->milestones[k - 1])
			return sc_fail_usage("--milestones: %ld is given "
			    "twice", m);
		if (k > 0 && m < s->milestones[k - 1])
			return sc_fail_usage("--milestones: %ld comes after "
			    "%ld; give them in increasing order", m,
			    s->milestones[k - 1]);
		if (m >= s->n_iters)
			return sc_fail_usage("--milestones: %ld is past the "
			    "end of the %ld-update schedule (its last update "
			    "is %ld)", m, s->n_iters, s->n_iters - 1);
	}

	/* The rate after k milestones, multiplied in turn as PyTorch's
	 * MultiStepLR does. */
	s->step_lr[0] = s->max_lr;
	lo = hi = s->max_lr;
	for (int k = 1; k <= n; k++) {
		double v = s->step_lr[k - 1] * s->gamma;

		if (!(v >= DBL_MIN) || !isfinite(v))
			return sc_fail_usage("--gamma: %g takes the learning "
			    "rate to %g at milestone %ld, which %s", s->gamma,
			    v, s->milestones[k - 1], isfinite(v) ?
			    "underflows" : "overflows");
		s->step_lr[k] = v;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}

	/* A momentum range puts HIGH at the lowest rate and LOW at the
	 * highest, in proportion between. */
	for (int k = 0; k <= n; k++) {
		double h = hi > lo ? (s->step_lr[k] - lo) / (hi - lo) : 1.0;

		s->step_mom[k] = s->cycle_momentum ?
		    s->mom_high - (s->mom_high - s->mom_low) * h :
		    s->mom_high;
	}
	return 0;
}

static int
prepare_cosine(struct sc_sched *s)
{
	if (s->warmup < 0)
		return sc_fail_usage("--warmup: must be at least 1, not %ld",
		    s->warmup);
	if (s->warmup > 0 && check_min_below_max(s) < 0)
		return -1;
	if (check_final(s) < 0)
		return -1;
	if (s->warmup > 0 && s->n_iters < s->warmup + 2)
		return sc_fail_usage("--warmup: %ld updates of warm-up in a "
		    "%ld-update schedule leave no room for the decay, which "
		    "needs 2", s->warmup, s->n_iters);
	if (s->n_iters < 2)
		return sc_fail_usage("--iters: the cosine policy needs at "
		    "least 2 updates (the first at --max-lr, the last at the "
		    "final learning rate), not %ld", s->n_iters);
	return 0;
}

int
sc_sched_prepare(struct sc_sched *s)
{
	if (s->n_iters < 1)
		return sc_fail_usage("--iters: a schedule needs at least one "
		    "update, not %ld", s->n_iters);
	if (check_momentum(s) < 0 ||
	    check_lr("--max-lr", "the upper bound", s->max_lr) < 0)
		return -1;

	switch (s->policy) {
	case SC_POLICY_CONSTANT:
		return 0;
	case SC_POLICY_STEP:
		return prepare_step(s);
	case SC_POLICY_TRIANGULAR:
	case SC_POLICY_TRIANGULAR2:
	case SC_POLICY_EXP_RANGE:
		return prepare_cyclic(s);
	case SC_POLICY_ONECYCLE:
		return prepare_onecycle(s);
	case SC_POLICY_COSINE:
		return prepare_cosine(s);
	default:
		return sc_fail_usage("--policy: unknown policy");
	}
}

/* The rows. */

/* From a to b as p goes from 0 to 1: exact at both ends, constant (to
 * the last bit) when a == b, and never outside [a, b], so that a
 * schedule's extremes are those of its phases. */
static double
anneal(enum sc_anneal how, double a, double b, double p)
{
	double v, lo = a < b ? a : b, hi = a < b ? b : a;

	if (a == b || p == 0.0)
		return a;
	if (p == 1.0)
		return b;
	if (how == SC_ANNEAL_COS)
		v = b + (a - b) / 2.0 * (1.0 + cos(M_PI * p));
	else
		v = (1.0 - p) * a + p * b;
	return v < lo ? lo : v > hi ? hi : v;
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

/* triangular, triangular2 and exp_range, with PyTorch's CyclicLR's
 * arithmetic. */
static void
cyclic_at(const struct sc_sched *s, long i, double *lr, double *mom)
{
	double total = (double)(s->step_up + s->step_down);
	double ratio = (double)s->step_up / total;
	double cycle = floor(1.0 + (double)i / total);
	double x = 1.0 + (double)i / total - cycle;
	double h = x <= ratio ? x / ratio : (x - 1.0) / (ratio - 1.0);
	double scale = 1.0, bounds = 1.0;

	if (s->policy == SC_POLICY_TRIANGULAR2)
		scale = 1.0 / pow(2.0, cycle - 1.0);
	else if (s->policy == SC_POLICY_EXP_RANGE &&
	    s->exp_decay == SC_EXP_DECAY_BOUNDS)
		bounds = pow(s->gamma, (double)i);
	else if (s->policy == SC_POLICY_EXP_RANGE)
		scale = pow(s->gamma, (double)i);

	*lr = s->min_lr + (s->max_lr - s->min_lr) * h * scale;
	if (bounds != 1.0)
		*lr *= bounds;
	*mom = s->cycle_momentum ?
	    s->mom_high - (s->mom_high - s->mom_low) * h * scale : s->mom_high;
}

static void
step_at(const struct sc_sched *s, long i, double *lr, double *mom)
{
	int lo = 0, hi = s->n_milestones;

	/* k = the number of milestones at or before update i. */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (s->milestones[mid] <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	*lr = s->step_lr[lo];
	*mom = s->step_mom[lo];
}

static void
cosine_at(const struct sc_sched *s, long i, double *lr, double *mom)
{
	double p;

	if (i < s->warmup) {
		p = (double)i / (double)s->warmup;
		*lr = anneal(SC_ANNEAL_LINEAR, s->min_lr, s->max_lr, p);
		*mom = s->cycle_momentum ? anneal(SC_ANNEAL_LINEAR,
		    s->mom_high, s->mom_low, p) : s->mom_high;
		return;
	}
	p = (double)(i - s->warmup) / (double)(s->n_iters - 1 - s->warmup);
	*lr = anneal(SC_ANNEAL_COS, s->max_lr, s->final_lr, p);
	*mom = s->cycle_momentum ? anneal(SC_ANNEAL_COS, s->mom_low,
	    s->mom_high, p) : s->mom_high;
}

void
sc_sched_at(const struct sc_sched *s, long i, double *lr, double *momentum)
{
	switch (s->policy) {
	case SC_POLICY_CONSTANT:
		*lr = s->max_lr;
		*momentum = s->mom_high;
		break;
	case SC_POLICY_STEP:
		step_at(s, i, lr, momentum);
		break;
	case SC_POLICY_TRIANGULAR:
	case SC_POLICY_TRIANGULAR2:
	case SC_POLICY_EXP_RANGE:
		cyclic_at(s, i, lr, momentum);
		break;
	case SC_POLICY_COSINE:
		cosine_at(s, i, lr, momentum);
		break;
	default:
		onecycle_at(s, i, lr, momentum);
		break;
	}
}

/* Describing a schedule as options. */

/* The shortest decimal that reads back as v. */
static void
shortest(char *buf, size_t len, double v)
{
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, len, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

struct text {
	char *buf;
	size_t len, used;
};

static void
add(struct text *t, const char *option, const char *value)
{
	int n;

	if (t->used >= t->len)
		return;
	n = snprintf(t->buf + t->used, t->len - t->used, "%s--%s%s%s",
	    t->used > 0 ? " " : "", option, value != NULL ? " " : "",
	    value != NULL ? value : "");
	if (n > 0)
		t->used += (size_t)n;
}

static void
add_double(struct text *t, const char *option, double v)
{
	char num[32];

	shortest(num, sizeof(num), v);
	add(t, option, num);
}

static void
add_long(struct text *t, const char *option, long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", v);
	add(t, option, num);
}

void
sc_sched_describe(const struct sc_sched *s, char *buf, size_t len)
{
	struct text t = { buf, len, 0 };
	char lo[32], hi[32], list[64 * 16];
	int has_min = s->policy != SC_POLICY_CONSTANT &&
	    s->policy != SC_POLICY_STEP &&
	    (s->policy != SC_POLICY_COSINE || s->warmup > 0);

	buf[0] = '\0';
	add(&t, "policy", policy_names[s->policy]);
	if (has_min)
		add_double(&t, "min-lr", s->min_lr);
	add_double(&t, "max-lr", s->max_lr);
	if (s->policy == SC_POLICY_ONECYCLE || s->policy == SC_POLICY_COSINE)
		add_double(&t, "final-lr", s->final_lr);
	switch (s->policy) {
	case SC_POLICY_ONECYCLE:
		add_double(&t, "pct-start", s->pct_start);
		add_long(&t, "phases", s->phases);
		add(&t, "anneal", s->anneal == SC_ANNEAL_COS ? "cos" :
		    "linear");
		break;
	case SC_POLICY_COSINE:
		if (s->warmup > 0)
			add_long(&t, "warmup", s->warmup);
		break;
	case SC_POLICY_STEP:
		list[0] = '\0';
		for (int k = 0; k < s->n_milestones; k++)
			snprintf(list + strlen(list), sizeof(list) -
			    strlen(list), "%s%ld", k > 0 ? "," : "",
			    s->milestones[k]);
		add(&t, "milestones", list);
		add_double(&t, "gamma", s->gamma);
		break;
	case SC_POLICY_EXP_RANGE:
		add_double(&t, "gamma", s->gamma);
		add(&t, "exp-range-decay", s->exp_decay ==
		    SC_EXP_DECAY_BOUNDS ? "bounds" : "amplitude");
		/* FALLTHROUGH */
	case SC_POLICY_TRIANGULAR:
	case SC_POLICY_TRIANGULAR2:
		add_long(&t, "step-size", s->step_up);
		add_long(&t, "step-size-down", s->step_down > 0 ?
		    s->step_down : s->step_up);
		break;
	default:
		break;
	}
	if (s->cycle_momentum) {
		shortest(lo, sizeof(lo), s->mom_low);
		shortest(hi, sizeof(hi), s->mom_high);
		snprintf(list, sizeof(list), "%s:%s", lo, hi);
		add(&t, "momentum-range", list);
	} else {
		add_double(&t, "momentum", s->mom_high);
	}
	add_long(&t, "iters", s->n_iters);
}

/* Writing rows.
 *
 * printf's "%.17g" is most of the cost of a long schedule.  For the
 * numbers a schedule holds (1e-11 to 1e16) the 17 digits are worked out
 * here exactly, from the double's binary value in 128-bit integers,
 * rounding half to even as glibc does; other numbers go to snprintf. */

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

/* 5^k for k = 0..27, the largest that fits in 64 bits. */
static const uint64_t pow5[28] = {
	1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull,
	390625ull, 1953125ull, 9765625ull, 48828125ull, 244140625ull,
	1220703125ull, 6103515625ull, 30517578125ull, 152587890625ull,
	762939453125ull, 3814697265625ull, 19073486328125ull,
	95367431640625ull, 476837158203125ull, 2384185791015625ull,
	11920928955078125ull, 59604644775390625ull, 298023223876953125ull,
	1490116119384765625ull, 7450580596923828125ull,
};

#define E16 10000000000000000ull
#define E17 100000000000000000ull

/* The 17 significant digits of v > 0 as an integer in [1e16, 1e17) and
 * the decimal exponent of the first; returns 0, or -1 when v is out of
 * the range handled here. */
static int
digits17(double v, uint64_t *digits, int *exp10)
{
	int e2, x, k, sh;
	uint64_t m, q;

	if (!(v >= 1e-11 && v < 1e16))
		return -1;
	m = (uint64_t)ldexp(frexp(v, &e2), 53);
	e2 -= 53;		/* v = m * 2^e2 exactly */
	x = (int)floor(log10(v));
	for (int tries = 0; tries < 4; tries++) {
		u128 prod, rem, half;
		int up = 0;

		/* v * 10^k = m * 5^k * 2^(e2 + k), to 17 digits. */
		k = 16 - x;
		if (k < 0 || k > 27)
			return -1;
		prod = (u128)m * pow5[k];
		sh = -(e2 + k);
		if (sh <= 0) {
			if (sh < -8)
				return -1;
			q = (uint64_t)(prod << -sh);
		} else {
			if (sh > 120)
				return -1;
			q = (uint64_t)(prod >> sh);
			rem = prod - ((u128)q << sh);
			half = (u128)1 << (sh - 1);
			up = rem > half || (rem == half && (q & 1));
		}
		if (q >= E17) {
			x++;
			continue;
		}
		if (q < E16) {
			x--;
			continue;
		}
		q += (uint64_t)up;
		if (q == E17) {
			q = E16;
			x++;
		}
		*digits = q;
		*exp10 = x;
		return 0;
	}
	return -1;
}

/* v as "%.17g" would print it; returns the length. */
static size_t
format_g17(char *out, double v)
{
	char d[17];
	uint64_t q;
	int x, nd = 17;
	size_t n = 0;

	if (digits17(v, &q, &x) < 0)
		return (size_t)snprintf(out, 32, "%.17g", v);
	for (int j = 16; j >= 0; j--, q /= 10)
		d[j] = (char)('0' + q % 10);
	while (nd > 1 && d[nd - 1] == '0')
		nd--;

	if (x < -4) {		/* 1.2345e-05 */
		out[n++] = d[0];
		if (nd > 1) {
			out[n++] = '.';
			memcpy(out + n, d + 1, (size_t)nd - 1);
			n += (size_t)nd - 1;
		}
		out[n++] = 'e';
		out[n++] = '-';
		out[n++] = (char)('0' + (-x) / 10);
		out[n++] = (char)('0' + (-x) % 10);
	} else if (x < 0) {	/* 0.00012345 */
		out[n++] = '0';
		out[n++] = '.';
		for (int j = 0; j < -x - 1; j++)
			out[n++] = '0';
		memcpy(out + n, d, (size_t)nd);
		n += (size_t)nd;
	} else {		/* 123.45 */
		memcpy(out + n, d, (size_t)x + 1);
		n += (size_t)x + 1;
		if (nd > x + 1) {
			out[n++] = '.';
			memcpy(out + n, d + x + 1, (size_t)(nd - x - 1));
			n += (size_t)(nd - x - 1);
		}
	}
	out[n] = '\0';
	return n;
}
#else
static size_t
format_g17(char *out, double v)
{
	return (size_t)snprintf(out, 32, "%.17g", v);
}
#endif

static size_t
format_long(char *out, long v)
{
	char tmp[24];
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
	size_t n = 0, k = 0;

	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		out[n++] = '-';
	while (k > 0)
		out[n++] = tmp[--k];
	out[n] = '\0';
	return n;
}

static size_t
put(char *out, const char *s)
{
	size_t n = strlen(s);

	memcpy(out, s, n);
	return n;
}

size_t
sc_sched_format_row(char *buf, long i, double lr, double momentum,
    int json)
{
	size_t n = 0;

	n += put(buf + n, json ? "{\"iter\":" : "");
	n += format_long(buf + n, i);
	n += put(buf + n, json ? ",\"lr\":" : ",");
	n += format_g17(buf + n, lr);
	n += put(buf + n, json ? ",\"momentum\":" : ",");
	n += format_g17(buf + n, momentum);
	n += put(buf + n, json ? "}\n" : "\n");
	buf[n] = '\0';
	return n;
}

int
sc_sched_write(const struct sc_sched *s, FILE *f, int json)
{
	char buf[1 << 14];
	size_t used = 0;

	if (!json)
		used = put(buf, "iter,lr,momentum\n");
	for (long i = 0; i < s->n_iters; i++) {
		double lr, mom;

		if (used > sizeof(buf) - SC_SCHED_ROW_MAX) {
			if (fwrite(buf, 1, used, f) != used)
				return -1;
			used = 0;
		}
		sc_sched_at(s, i, &lr, &mom);
		used += sc_sched_format_row(buf + used, i, lr, mom, json);
	}
	if (used > 0 && fwrite(buf, 1, used, f) != used)
		return -1;
	return ferror(f) ? -1 : 0;
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

int
sc_schedule_fill(const struct sc_sched *s, struct sc_schedule_table *t)
{
	memset(t, 0, sizeof(*t));
	t->lr = malloc((size_t)s->n_iters * sizeof(double));
	t->momentum = malloc((size_t)s->n_iters * sizeof(double));
	if (t->lr == NULL || t->momentum == NULL) {
		sc_schedule_free(t);
		return sc_fail("out of memory for a schedule of %ld updates",
		    s->n_iters);
	}
	for (long i = 0; i < s->n_iters; i++)
		sc_sched_at(s, i, &t->lr[i], &t->momentum[i]);
	t->n = s->n_iters;
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
