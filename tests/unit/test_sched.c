/*
 * Schedules with exact values: every policy's rows, phase boundaries and
 * last rows, the momentum's direction, presets, lengths and refusals, the
 * rows against PyTorch 1.13.1's OneCycleLR and CyclicLR as recorded in
 * tests/fixtures/reference, and the row writer against printf.
 */
#include <float.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc_csv.h"
#include "sc_error.h"
#include "sc_sched.h"
#include "sc_train.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

struct reference {
	long n;
	double lr[256], momentum[256];
};

static int
ref_row(void *ctx, const struct sc_csv_row *row)
{
	struct reference *r = ctx;
	double step;

	if (sc_csv_number(row, 0, &step) < 0 ||
	    sc_csv_number(row, 1, &r->lr[r->n]) < 0 ||
	    sc_csv_number(row, 2, &r->momentum[r->n]) < 0)
		return -1;
	r->n++;
	return r->n == 256;
}

static void
compare(const struct sc_sched *s, const char *file)
{
	struct reference ref = { 0 };
	double worst_lr = 0.0, worst_m = 0.0;

	if (!CHECK(sc_csv_read(file, NULL, ref_row, &ref) == 0))
		return;
	CHECK(ref.n == s->n_iters);
	for (long i = 0; i < ref.n; i++) {
		double lr, m;

		sc_sched_at(s, i, &lr, &m);
		if (fabs(lr - ref.lr[i]) / ref.lr[i] > worst_lr)
			worst_lr = fabs(lr - ref.lr[i]) / ref.lr[i];
		if (fabs(m - ref.momentum[i]) / ref.momentum[i] > worst_m)
			worst_m = fabs(m - ref.momentum[i]) / ref.momentum[i];
	}
	CHECK(worst_lr < 1e-9);
	CHECK(worst_m < 1e-9);
}

static struct sc_sched
onecycle(long n, double min, double max, double final)
{
	struct sc_sched s;

	memset(&s, 0, sizeof(s));
	s.policy = SC_POLICY_ONECYCLE;
	s.n_iters = n;
	s.min_lr = min;
	s.max_lr = max;
	s.final_lr = final;
	s.pct_start = 0.45;
	s.phases = 3;
	s.anneal = SC_ANNEAL_LINEAR;
	s.mom_low = 0.85;
	s.mom_high = 0.95;
	s.cycle_momentum = 1;
	return s;
}

static void
test_pytorch_onecycle(void)
{
	/* OneCycleLR(max_lr=1, total_steps=100): initial 1/25, final
	 * initial/1e4, cos, two phases, pct_start 0.3. */
	struct sc_sched s = onecycle(100, 1.0 / 25.0, 1.0, 1.0 / 25.0 / 1e4);

	s.phases = 2;
	s.pct_start = 0.3;
	s.anneal = SC_ANNEAL_COS;
	CHECK(sc_sched_prepare(&s) == 0);
	compare(&s, FIXTURES "/reference/pytorch-onecycle-cos.csv");
}

static void
test_pytorch_triangular(void)
{
	struct sc_sched s;

	memset(&s, 0, sizeof(s));
	s.policy = SC_POLICY_TRIANGULAR;
	s.n_iters = 60;
	s.min_lr = 0.1;
	s.max_lr = 1.0;
	s.step_up = 10;
	s.mom_low = 0.8;
	s.mom_high = 0.9;
	s.cycle_momentum = 1;
	CHECK(sc_sched_prepare(&s) == 0);
	CHECK(s.step_down == 10);
	compare(&s, FIXTURES "/reference/pytorch-cyclic-triangular.csv");
}

/* Smith's shape on 201 updates, pct 0.45: the rise ends at update
 * 0.45 * 201 - 1 = 89.45, the fall at 178.9, the tail at 200. */
static void
test_onecycle_boundaries(void)
{
	struct sc_sched s = onecycle(201, 0.1, 1.0, 1e-4);
	double lr, m, prev = 0.0;

	CHECK(sc_sched_prepare(&s) == 0);
	CHECK(s.end[0] == 0.45 * 201 - 1.0);
	CHECK(s.end[1] == 2.0 * 0.45 * 201 - 2.0);
	CHECK(s.end[2] == 200.0);

	sc_sched_at(&s, 0, &lr, &m);
	CHECK(lr == 0.1 && m == 0.95);
	sc_sched_at(&s, 200, &lr, &m);
	CHECK(lr == 1e-4);		/* the last row is the final LR */
	CHECK(m == 0.95);

	/* Rising up to update 89, falling from 90 to 178, then the tail;
	 * momentum moves the other way and stays at 0.95 in the tail. */
	for (long i = 0; i <= 200; i++) {
		sc_sched_at(&s, i, &lr, &m);
		if (i > 0 && i <= 89)
			CHECK(lr > prev);
		if (i >= 90)
			CHECK(lr < prev);
		if (i >= 179)
			CHECK(lr < 0.1 && m == 0.95);
		CHECK(lr > 0.0);
		prev = lr;
	}
	sc_sched_at(&s, 89, &lr, &m);
	CHECK_NEAR(lr, 0.1 + 0.9 * 89.0 / 89.45, 1e-15);
	CHECK_NEAR(m, 0.95 - 0.1 * 89.0 / 89.45, 1e-15);
	sc_sched_at(&s, 90, &lr, &m);
	/* Phase two starts at 89.45: p = 0.55 / 89.45. */
	CHECK_NEAR(lr, 1.0 - 0.9 * 0.55 / 89.45, 1e-15);
}

static void
test_refusals(void)
{
	struct sc_sched s = onecycle(10, 0.1, 1.0, 1e-4);

	s.pct_start = 1.0;
	CHECK(sc_sched_prepare(&s) < 0);
	CHECK(strstr(sc_error(), "--pct-start") != NULL);
	s = onecycle(3, 0.1, 1.0, 1e-4);	/* no update in a phase */
	CHECK(sc_sched_prepare(&s) < 0);
	s = onecycle(10, 1.0, 0.5, 1e-4);
	CHECK(sc_sched_prepare(&s) < 0);
	s = onecycle(10, 0.1, 1.0, 0.0);
	CHECK(sc_sched_prepare(&s) < 0);
	CHECK(strstr(sc_error(), "--final-lr") != NULL);
	s = onecycle(0, 0.1, 1.0, 1e-4);
	CHECK(sc_sched_prepare(&s) < 0);
	s = onecycle(10, 0.1, 1.0, 1e-4);
	s.mom_high = 1.0;
	CHECK(sc_sched_prepare(&s) < 0);
	s = onecycle(10, 0.1, 1.0, 1e-4);
	s.policy = SC_POLICY_TRIANGULAR;
	s.step_up = 0;
	CHECK(sc_sched_prepare(&s) < 0);
	CHECK(strstr(sc_error(), "--step-size") != NULL);
}

static void
test_range_sweeps(void)
{
	struct sc_range_config rc;

	memset(&rc, 0, sizeof(rc));
	rc.min_lr = 1e-3;
	rc.max_lr = 3.0;
	rc.n_iters = 7;
	rc.sweep = SC_SWEEP_LINEAR;
	CHECK(sc_range_lr(&rc, 0) == 1e-3);
	CHECK(sc_range_lr(&rc, 6) == 3.0);
	CHECK_NEAR(sc_range_lr(&rc, 3), (1e-3 + 3.0) / 2.0, 1e-15);
	rc.sweep = SC_SWEEP_EXP;
	CHECK(sc_range_lr(&rc, 0) == 1e-3);
	CHECK(sc_range_lr(&rc, 6) == 3.0);
	CHECK_NEAR(sc_range_lr(&rc, 3), sqrt(1e-3 * 3.0), 1e-15);
}

/* Build a schedule from clrgen-style options in one string, as the tools
 * do: option by option, then length, resolve and prepare.  Returns 0 or
 * -1 with the library's message. */
static int
build(const char *options, struct sc_sched *s)
{
	struct sc_sched_args a;
	char text[1024], *save = NULL, *tok;
	long n;

	sc_sched_args_init(&a);
	snprintf(text, sizeof(text), "%s", options);
	for (tok = strtok_r(text, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		const char *name = tok + 2, *arg = NULL;

		if (strcmp(name, "drop-last") != 0)
			arg = strtok_r(NULL, " ", &save);
		if (sc_sched_option(&a, name, arg) != 0)
			return -2;	/* the tools exit 2 on these too */
	}
	if (sc_sched_length(&a, &n) < 0 || sc_sched_resolve(&a, s) < 0)
		return -1;
	s->n_iters = n;
	return sc_sched_prepare(s);
}

/* The options are refused with a usage fault that names option. */
static void
refused(const char *options, const char *option)
{
	struct sc_sched s;
	int rc = build(options, &s);

	if (!CHECK(rc < 0)) {
		fprintf(stderr, "  accepted: %s\n", options);
		return;
	}
	CHECK(rc == -2 || sc_error_is_usage());
	if (!CHECK(strstr(sc_error(), option) != NULL))
		fprintf(stderr, "  %s: '%s' does not name %s\n", options,
		    sc_error(), option);
}

static double
lr_at(const struct sc_sched *s, long i)
{
	double lr, m;

	sc_sched_at(s, i, &lr, &m);
	return lr;
}

static double
mom_at(const struct sc_sched *s, long i)
{
	double lr, m;

	sc_sched_at(s, i, &lr, &m);
	return m;
}

/* The --like pytorch preset is OneCycleLR's defaults. */
static void
test_like_pytorch(void)
{
	struct sc_sched s;

	CHECK(build("--like pytorch --max-lr 1 --iters 100", &s) == 0);
	CHECK(s.anneal == SC_ANNEAL_COS && s.phases == 2);
	CHECK(s.pct_start == 0.3);
	CHECK(s.min_lr == 1.0 / 25.0 && s.final_lr == 1.0 / 25.0 / 1e4);
	CHECK(s.mom_low == 0.85 && s.mom_high == 0.95);
	compare(&s, FIXTURES "/reference/pytorch-onecycle-cos.csv");
	CHECK(lr_at(&s, 99) == 1.0 / 25.0 / 1e4);
}

/* fit_one_cycle: cos, pct 0.25, max/25 up to max and down to max/1e5,
 * momentum 0.95 -> 0.85 -> 0.95. */
static void
test_like_fastai(void)
{
	struct sc_sched s;

	CHECK(build("--like fastai --max-lr 0.5 --iters 101", &s) == 0);
	CHECK(s.anneal == SC_ANNEAL_COS && s.phases == 2);
	CHECK(s.pct_start == 0.25);
	CHECK(s.min_lr == 0.5 / 25.0);
	CHECK(s.final_lr == 0.5 / 1e5);
	CHECK(lr_at(&s, 0) == 0.5 / 25.0 && mom_at(&s, 0) == 0.95);
	CHECK(lr_at(&s, 100) == 0.5 / 1e5 && mom_at(&s, 100) == 0.95);
	/* The rise ends at 0.25 * 101 - 1 = 24.25: the LR rises to update
	 * 24 and falls from 25; the momentum does the opposite. */
	for (long i = 1; i < 101; i++) {
		CHECK(i <= 24 ? lr_at(&s, i) > lr_at(&s, i - 1) :
		    i == 25 || lr_at(&s, i) < lr_at(&s, i - 1));
		CHECK(i <= 24 ? mom_at(&s, i) < mom_at(&s, i - 1) :
		    i == 25 || mom_at(&s, i) > mom_at(&s, i - 1));
	}
	CHECK_NEAR(lr_at(&s, 24), 0.5 + (0.02 - 0.5) / 2.0 *
	    (1.0 + cos(M_PI * 24.0 / 24.25)), 1e-15);
	CHECK_NEAR(lr_at(&s, 25), 0.5 / 1e5 + (0.5 - 0.5 / 1e5) / 2.0 *
	    (1.0 + cos(M_PI * 0.75 / 75.75)), 1e-15);
	/* Its final LR stays max/1e5 whatever the start. */
	CHECK(build("--like fastai --max-lr 0.5 --div 10 --iters 101", &s) ==
	    0);
	CHECK(s.min_lr == 0.05 && s.final_lr == 0.5 / 1e5);
}

/* Smith's runs, the default: linear, three phases, pct 0.45, max/10,
 * min/1000. */
static void
test_like_smith(void)
{
	struct sc_sched a, b;

	CHECK(build("--like smith --max-lr 2 --iters 200", &a) == 0);
	CHECK(build("--max-lr 2 --iters 200", &b) == 0);
	CHECK(a.anneal == SC_ANNEAL_LINEAR && a.phases == 3);
	CHECK(a.pct_start == 0.45 && a.min_lr == 0.2);
	CHECK(a.final_lr == 0.2 / 1000.0);
	for (long i = 0; i < 200; i++) {
		CHECK(lr_at(&a, i) == lr_at(&b, i));
		CHECK(mom_at(&a, i) == mom_at(&b, i));
	}
	/* The tail is the last 10 %: updates 179 to 199, at momentum
	 * 0.95. */
	CHECK(lr_at(&a, 178) == 0.2 && lr_at(&a, 179) < 0.2);
	CHECK(mom_at(&a, 179) == 0.95 && mom_at(&a, 199) == 0.95);
	CHECK(lr_at(&a, 199) == 0.2 / 1000.0);
}

static void
test_like_overridden(void)
{
	struct sc_sched s;

	CHECK(build("--like pytorch --anneal linear --phases 3 --pct-start "
	    "0.4 --div 5 --final-div 100 --momentum-range 0.8:0.9 "
	    "--max-lr 1 --iters 100", &s) == 0);
	CHECK(s.anneal == SC_ANNEAL_LINEAR && s.phases == 3);
	CHECK(s.pct_start == 0.4 && s.min_lr == 0.2);
	CHECK(s.final_lr == 0.2 / 100.0);
	CHECK(s.mom_low == 0.8 && s.mom_high == 0.9);
	/* Options may come before the preset too. */
	CHECK(build("--min-lr 0.1 --final-lr 1e-6 --like pytorch --max-lr 1 "
	    "--iters 100", &s) == 0);
	CHECK(s.min_lr == 0.1 && s.final_lr == 1e-6);
	CHECK(lr_at(&s, 0) == 0.1 && lr_at(&s, 99) == 1e-6);
	CHECK(build("--like fastai --momentum 0.9 --max-lr 1 --iters 100",
	    &s) == 0);
	CHECK(!s.cycle_momentum && mom_at(&s, 0) == 0.9 &&
	    mom_at(&s, 50) == 0.9);
}

/* Two phases: end1 = pct*T - 1, end2 = T - 1. */
static void
test_onecycle_two_phases(void)
{
	struct sc_sched s;
	double prev = 0.0;

	CHECK(build("--max-lr 1 --min-lr 0.1 --final-lr 1e-4 --phases 2 "
	    "--pct-start 0.25 --iters 41", &s) == 0);
	CHECK(s.end[0] == 0.25 * 41 - 1.0 && s.end[1] == 40.0);
	CHECK(lr_at(&s, 0) == 0.1 && mom_at(&s, 0) == 0.95);
	CHECK_NEAR(lr_at(&s, 9), 0.1 + 0.9 * 9.0 / 9.25, 1e-15);
	CHECK_NEAR(mom_at(&s, 9), 0.95 - 0.1 * 9.0 / 9.25, 1e-15);
	CHECK_NEAR(lr_at(&s, 10), 1.0 + (1e-4 - 1.0) * 0.75 / 30.75, 1e-15);
	CHECK(lr_at(&s, 40) == 1e-4 && mom_at(&s, 40) == 0.95);
	for (long i = 0; i < 41; i++) {
		if (i > 0 && i <= 9)
			CHECK(lr_at(&s, i) > prev);
		if (i >= 10)
			CHECK(lr_at(&s, i) < prev);
		prev = lr_at(&s, i);
	}
}

/* The last row is the final LR to the bit, whatever the shape. */
static void
test_last_row_exact(void)
{
	static const char *const shapes[] = {
		"--anneal linear --phases 3", "--anneal linear --phases 2",
		"--anneal cos --phases 3", "--anneal cos --phases 2",
	};
	static const long lengths[] = { 7, 10, 97, 1000, 12345 };
	char options[256];
	struct sc_sched s;

	for (size_t k = 0; k < 4; k++)
		for (size_t j = 0; j < 5; j++) {
			snprintf(options, sizeof(options), "%s --max-lr 0.3 "
			    "--final-lr 3.3e-7 --iters %ld", shapes[k],
			    lengths[j]);
			CHECK(build(options, &s) == 0);
			CHECK(lr_at(&s, lengths[j] - 1) == 3.3e-7);
			CHECK(lr_at(&s, 0) == 0.03);
		}
}

static void
test_lengths(void)
{
	struct sc_sched s;

	CHECK(build("--max-lr 1 --iters 25", &s) == 0 && s.n_iters == 25);
	CHECK(build("--max-lr 1 --epochs 3 --steps-per-epoch 7", &s) == 0);
	CHECK(s.n_iters == 21);
	CHECK(build("--max-lr 1 --epochs 3 --data-size 1000 --batch 128", &s)
	    == 0);
	CHECK(s.n_iters == 24);		/* ceil(1000 / 128) = 8 */
	CHECK(build("--max-lr 1 --epochs 3 --data-size 1000 --batch 128 "
	    "--drop-last", &s) == 0);
	CHECK(s.n_iters == 21);		/* floor(1000 / 128) = 7 */
	CHECK(build("--max-lr 1 --epochs 2 --data-size 1024 --batch 128 "
	    "--drop-last", &s) == 0);
	CHECK(s.n_iters == 16);		/* a whole number of batches */
	CHECK(build("--policy constant --max-lr 1 --iters 1", &s) == 0);
	CHECK(s.n_iters == 1);
}

/* triangular2: the amplitude halves each cycle. */
static void
test_triangular2(void)
{
	struct sc_sched s;

	CHECK(build("--policy triangular2 --min-lr 0.25 --max-lr 2.25 "
	    "--step-size 2 --iters 17", &s) == 0);
	CHECK(lr_at(&s, 0) == 0.25 && mom_at(&s, 0) == 0.95);
	CHECK(lr_at(&s, 1) == 1.25);
	CHECK(lr_at(&s, 2) == 2.25 && mom_at(&s, 2) == 0.85);
	CHECK(lr_at(&s, 4) == 0.25);
	CHECK(lr_at(&s, 6) == 1.25);	/* 0.25 + 2 / 2 */
	CHECK(lr_at(&s, 10) == 0.75);	/* 0.25 + 2 / 4 */
	CHECK(lr_at(&s, 14) == 0.5);	/* 0.25 + 2 / 8 */
	CHECK(lr_at(&s, 16) == 0.25);
	CHECK_NEAR(mom_at(&s, 6), 0.95 - 0.1 / 2.0, 1e-15);
	CHECK_NEAR(mom_at(&s, 10), 0.95 - 0.1 / 4.0, 1e-15);
	/* Uneven steps: 1 up, 3 down. */
	CHECK(build("--policy triangular2 --min-lr 1 --max-lr 5 "
	    "--step-size 1 --step-size-down 3 --iters 9", &s) == 0);
	CHECK(lr_at(&s, 1) == 5.0 && lr_at(&s, 3) == 1.0 + 4.0 / 3.0);
	CHECK(lr_at(&s, 5) == 3.0 && lr_at(&s, 8) == 1.0);
}

/* exp_range: gamma^i with i the global update, on the amplitude or on
 * both bounds. */
static void
test_exp_range(void)
{
	struct sc_sched s;

	CHECK(build("--policy exp_range --min-lr 1 --max-lr 3 --step-size 2 "
	    "--gamma 0.5 --iters 9", &s) == 0);
	CHECK(lr_at(&s, 0) == 1.0);
	CHECK(lr_at(&s, 1) == 1.0 + 2.0 * 0.5 * 0.5);
	CHECK(lr_at(&s, 2) == 1.0 + 2.0 * 0.25);
	CHECK(lr_at(&s, 3) == 1.0 + 2.0 * 0.5 * 0.125);
	CHECK(lr_at(&s, 4) == 1.0);
	CHECK(lr_at(&s, 6) == 1.0 + 2.0 / 64.0);	/* gamma^6 */
	CHECK_NEAR(mom_at(&s, 2), 0.95 - 0.1 * 0.25, 1e-15);
	CHECK(mom_at(&s, 4) == 0.95);

	CHECK(build("--policy exp_range --exp-range-decay bounds --min-lr 1 "
	    "--max-lr 3 --step-size 2 --gamma 0.5 --iters 9", &s) == 0);
	CHECK(lr_at(&s, 0) == 1.0);
	CHECK(lr_at(&s, 1) == 2.0 * 0.5);
	CHECK(lr_at(&s, 2) == 3.0 * 0.25);
	CHECK(lr_at(&s, 4) == 1.0 / 16.0);	/* the base decays too */
	CHECK(lr_at(&s, 6) == 3.0 / 64.0);
	CHECK(lr_at(&s, 8) == 1.0 / 256.0);
	/* The momentum keeps its full range: the LR stays at the same
	 * place between its decayed bounds. */
	CHECK(mom_at(&s, 2) == 0.85 && mom_at(&s, 6) == 0.85);
	CHECK(mom_at(&s, 4) == 0.95);

	/* gamma 1 is triangular. */
	CHECK(build("--policy exp_range --min-lr 0.1 --max-lr 1 --step-size "
	    "10 --gamma 1 --momentum-range 0.8:0.9 --iters 60", &s) == 0);
	compare(&s, FIXTURES "/reference/pytorch-cyclic-triangular.csv");
}

/* step: the rate is multiplied by gamma at each milestone, from that
 * update on. */
static void
test_step(void)
{
	struct sc_sched s;

	CHECK(build("--policy step --max-lr 0.4 --milestones 3,5,6 --gamma "
	    "0.5 --iters 8", &s) == 0);
	CHECK(lr_at(&s, 0) == 0.4 && lr_at(&s, 2) == 0.4);
	CHECK(lr_at(&s, 3) == 0.2 && lr_at(&s, 4) == 0.2);
	CHECK(lr_at(&s, 5) == 0.1);
	CHECK(lr_at(&s, 6) == 0.05 && lr_at(&s, 7) == 0.05);
	for (long i = 0; i < 8; i++)
		CHECK(mom_at(&s, i) == 0.95);
	/* The default gamma is 0.1, applied in turn as MultiStepLR does. */
	CHECK(build("--policy step --max-lr 0.35 --milestones 40000,60000 "
	    "--iters 80000", &s) == 0);
	CHECK(lr_at(&s, 39999) == 0.35 && lr_at(&s, 40000) == 0.35 * 0.1);
	CHECK(lr_at(&s, 60000) == 0.35 * 0.1 * 0.1);
	CHECK(lr_at(&s, 79999) == 0.35 * 0.1 * 0.1);
	/* A momentum range: LOW at the highest rate, HIGH at the lowest. */
	CHECK(build("--policy step --max-lr 1 --milestones 2,4 --gamma 0.5 "
	    "--momentum-range 0.8:0.9 --iters 6", &s) == 0);
	CHECK(mom_at(&s, 0) == 0.8 && mom_at(&s, 5) == 0.9);
	CHECK_NEAR(mom_at(&s, 2), 0.9 - 0.1 * (0.5 - 0.25) / 0.75, 1e-15);
}

static void
test_cosine(void)
{
	struct sc_sched s;

	/* No warm-up: max at row 0, the final LR at the last. */
	CHECK(build("--policy cosine --max-lr 0.1 --iters 11", &s) == 0);
	CHECK(s.final_lr == 0.1 / 1e4);
	CHECK(lr_at(&s, 0) == 0.1 && lr_at(&s, 10) == 0.1 / 1e4);
	CHECK_NEAR(lr_at(&s, 5), (0.1 + 1e-5) / 2.0, 1e-15);
	CHECK_NEAR(lr_at(&s, 3), 1e-5 + (0.1 - 1e-5) / 2.0 *
	    (1.0 + cos(M_PI * 0.3)), 1e-15);
	for (long i = 0; i < 11; i++)
		CHECK(mom_at(&s, i) == 0.95);
	CHECK(build("--policy cosine --max-lr 0.1 --final-div 100 --iters 11",
	    &s) == 0);
	CHECK(lr_at(&s, 10) == 0.1 / 100.0);

	/* Warm-up over 4 updates from min, max at row 4, final at the
	 * last; a momentum range goes against it. */
	CHECK(build("--policy cosine --warmup 4 --min-lr 0.02 --max-lr 0.1 "
	    "--final-lr 1e-6 --momentum-range 0.85:0.95 --iters 14", &s) ==
	    0);
	CHECK(lr_at(&s, 0) == 0.02 && mom_at(&s, 0) == 0.95);
	CHECK_NEAR(lr_at(&s, 2), 0.06, 1e-15);
	CHECK(lr_at(&s, 4) == 0.1 && mom_at(&s, 4) == 0.85);
	CHECK(lr_at(&s, 13) == 1e-6 && mom_at(&s, 13) == 0.95);
	CHECK_NEAR(lr_at(&s, 9), (0.1 + 1e-6) / 2.0 + (0.1 - 1e-6) / 2.0 *
	    cos(M_PI * 5.0 / 9.0), 1e-15);
	/* The warm-up starts at max/10 by default, or max/--div. */
	CHECK(build("--policy cosine --warmup 4 --max-lr 0.1 --iters 14", &s)
	    == 0);
	CHECK(lr_at(&s, 0) == 0.1 / 10.0);
	CHECK(build("--policy cosine --warmup 4 --div 25 --max-lr 0.1 "
	    "--iters 14", &s) == 0);
	CHECK(lr_at(&s, 0) == 0.1 / 25.0);
}

static void
test_constant(void)
{
	struct sc_sched s;

	CHECK(build("--policy constant --max-lr 0.05 --iters 3", &s) == 0);
	for (long i = 0; i < 3; i++)
		CHECK(lr_at(&s, i) == 0.05 && mom_at(&s, i) == 0.95);
	CHECK(build("--policy constant --max-lr 0.05 --momentum 0.9 --iters 3",
	    &s) == 0);
	CHECK(mom_at(&s, 2) == 0.9);
}

/* Where the momentum is cycled it moves against the LR: its change
 * between two updates has the opposite sign (or is zero). */
static void
test_momentum_direction(void)
{
	static const char *const cycled[] = {
		"--policy triangular --step-size 7",
		"--policy triangular2 --step-size 5 --step-size-down 9",
		"--policy exp_range --step-size 6 --gamma 0.99",
		"--policy exp_range --step-size 6 --gamma 0.99 "
		    "--exp-range-decay bounds",
		"--policy 1cycle", "--policy 1cycle --anneal cos --phases 2",
		"--policy cosine --warmup 20 --momentum-range 0.85:0.95",
		"--policy cosine --momentum-range 0.85:0.95",
		"--policy step --milestones 30,60 --momentum-range 0.85:0.95",
	};
	static const char *const held[] = {
		"--policy constant", "--policy step --milestones 30,60",
		"--policy cosine --warmup 20",
		"--policy triangular --step-size 7 --momentum 0.9",
		"--policy 1cycle --momentum 0.9",
	};
	char options[256];
	struct sc_sched s;

	for (size_t k = 0; k < sizeof(cycled) / sizeof(*cycled); k++) {
		int moved = 0, against = 1;

		snprintf(options, sizeof(options), "%s --max-lr 1 --iters 100",
		    cycled[k]);
		CHECK(build(options, &s) == 0);
		for (long i = 1; i < 100; i++) {
			double dlr = lr_at(&s, i) - lr_at(&s, i - 1);
			double dm = mom_at(&s, i) - mom_at(&s, i - 1);

			/* The 1cycle tail holds the momentum; the bounds
			 * variant's base decays under a still momentum. */
			if (dm != 0.0)
				moved = 1;
			if ((dlr > 0.0 && dm > 0.0) || (dlr < 0.0 && dm < 0.0))
				against = 0;
		}
		if (!CHECK(moved && against))
			fprintf(stderr, "  momentum of: %s\n", cycled[k]);
	}
	for (size_t k = 0; k < sizeof(held) / sizeof(*held); k++) {
		double m0;

		snprintf(options, sizeof(options), "%s --max-lr 1 --iters 100",
		    held[k]);
		CHECK(build(options, &s) == 0);
		m0 = mom_at(&s, 0);
		CHECK(m0 == 0.95 || m0 == 0.9);
		for (long i = 1; i < 100; i++)
			CHECK(mom_at(&s, i) == m0);
	}
}

static void
test_option_refusals(void)
{
	/* Rates that would not be finite and > 0. */
	refused("--policy exp_range --exp-range-decay bounds --min-lr 1e-3 "
	    "--max-lr 1 --step-size 10 --gamma 0.5 --iters 2000", "--gamma");
	refused("--policy step --max-lr 1e-300 --milestones 2 --gamma 1e-20 "
	    "--iters 5", "--gamma");
	refused("--policy step --max-lr 1e300 --milestones 2 --gamma 1e20 "
	    "--iters 5", "--gamma");
	refused("--policy exp_range --min-lr 1 --max-lr 2 --step-size 2 "
	    "--gamma 2 --iters 5000", "--gamma");
	refused("--policy cosine --max-lr 1e-300 --final-div 1e12 --iters 5",
	    "--final-lr");
	refused("--max-lr 1e-310 --iters 10", "--max-lr");
	refused("--policy step --max-lr 1 --milestones 2 --gamma 0 --iters 5",
	    "--gamma");
	refused("--policy step --max-lr 1 --milestones 2 --gamma -1 "
	    "--iters 5", "--gamma");
	refused("--policy cosine --max-lr 1 --final-lr 0 --iters 5",
	    "--final-lr");
	refused("--policy cosine --max-lr 1 --final-lr 2 --iters 5",
	    "--final-lr");

	/* Phases, steps and milestones. */
	refused("--max-lr 1 --pct-start 0 --iters 10", "--pct-start");
	refused("--max-lr 1 --pct-start 1 --iters 10", "--pct-start");
	refused("--max-lr 1 --pct-start 0.05 --iters 10", "--pct-start");
	refused("--max-lr 1 --pct-start 0.6 --iters 10", "--pct-start");
	refused("--max-lr 1 --iters 3", "--pct-start");
	refused("--policy triangular --max-lr 1 --step-size 0 --iters 5",
	    "--step-size");
	refused("--policy triangular --max-lr 1 --step-size 2 "
	    "--step-size-down 0 --iters 5", "--step-size-down");
	refused("--policy triangular --max-lr 1 --iters 5", "--step-size");
	refused("--policy exp_range --max-lr 1 --step-size 2 --iters 5",
	    "--gamma");
	refused("--policy step --max-lr 1 --iters 5", "--milestones");
	refused("--policy step --max-lr 1 --milestones 3,2 --iters 5",
	    "--milestones");
	refused("--policy step --max-lr 1 --milestones 2,2 --iters 5",
	    "--milestones");
	refused("--policy step --max-lr 1 --milestones 5 --iters 5",
	    "--milestones");
	refused("--policy step --max-lr 1 --milestones 0 --iters 5",
	    "--milestones");
	refused("--policy cosine --max-lr 1 --warmup 9 --iters 10",
	    "--warmup");
	refused("--policy cosine --max-lr 1 --iters 1", "--iters");

	/* Momentum. */
	refused("--max-lr 1 --momentum-range 0.9:1 --iters 10",
	    "--momentum-range");
	refused("--max-lr 1 --momentum-range 0.9:0.8 --iters 10",
	    "--momentum-range");
	refused("--max-lr 1 --momentum-range -0.1:0.8 --iters 10",
	    "--momentum-range");
	refused("--max-lr 1 --momentum 1 --iters 10", "--momentum");
	refused("--max-lr 1 --momentum 0.9 --momentum-range 0.8:0.9 "
	    "--iters 10", "--momentum");

	/* Lengths. */
	refused("--max-lr 1", "--iters");
	refused("--max-lr 1 --iters 0", "--iters");
	refused("--max-lr 1 --iters 10 --epochs 2 --steps-per-epoch 5",
	    "--iters");
	refused("--max-lr 1 --epochs 2 --steps-per-epoch 5 --batch 10",
	    "--steps-per-epoch");
	refused("--max-lr 1 --epochs 2 --data-size 10", "--epochs");
	refused("--max-lr 1 --data-size 10 --batch 2", "--epochs");
	refused("--max-lr 1 --epochs 2 --data-size 10 --batch 20 "
	    "--drop-last", "--batch");
	refused("--max-lr 1 --epochs 0 --steps-per-epoch 5", "--epochs");

	/* Options the policy would ignore. */
	refused("--policy triangular --max-lr 1 --step-size 2 --pct-start 0.3 "
	    "--iters 10", "--pct-start");
	refused("--policy triangular --max-lr 1 --step-size 2 --gamma 0.9 "
	    "--iters 10", "--gamma");
	refused("--policy triangular2 --max-lr 1 --step-size 2 "
	    "--exp-range-decay bounds --iters 10", "--exp-range-decay");
	refused("--max-lr 1 --milestones 5 --iters 10", "--milestones");
	refused("--max-lr 1 --step-size 5 --iters 10", "--step-size");
	refused("--max-lr 1 --warmup 5 --iters 10", "--warmup");
	refused("--max-lr 1 --gamma 0.5 --iters 10", "--gamma");
	refused("--policy cosine --max-lr 1 --min-lr 0.1 --iters 10",
	    "--min-lr");
	refused("--policy cosine --max-lr 1 --div 4 --iters 10", "--div");
	refused("--policy cosine --max-lr 1 --anneal linear --iters 10",
	    "--anneal");
	refused("--policy constant --max-lr 1 --min-lr 0.1 --iters 10",
	    "--min-lr");
	refused("--policy constant --max-lr 1 --momentum-range 0.8:0.9 "
	    "--iters 10", "--momentum-range");
	refused("--policy step --max-lr 1 --milestones 5 --final-lr 0.1 "
	    "--iters 10", "--final-lr");
	refused("--policy triangular --max-lr 1 --step-size 2 --like pytorch "
	    "--iters 10", "--like");

	/* Contradictions and bounds. */
	refused("--max-lr 1 --min-lr 0.1 --div 4 --iters 10", "--min-lr");
	refused("--max-lr 1 --final-lr 0.1 --final-div 4 --iters 10",
	    "--final-lr");
	refused("--max-lr 1 --min-lr 1 --iters 10", "--min-lr");
	refused("--max-lr 1 --min-lr 2 --iters 10", "--min-lr");
	refused("--iters 10", "--max-lr");
}

static void
test_option_parsing(void)
{
	struct sc_sched_args a;
	struct option table[64];
	static const struct option own[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	size_t n = 0;

	sc_sched_args_init(&a);
	CHECK(sc_sched_option(&a, "hidden", "32") == 1);
	CHECK(sc_sched_option(&a, "policy", "sawtooth") < 0);
	CHECK(strstr(sc_error(), "triangular2") != NULL);
	CHECK(sc_sched_option(&a, "like", "keras") < 0);
	CHECK(sc_sched_option(&a, "anneal", "cosine") < 0);
	CHECK(sc_sched_option(&a, "milestones", "5,,6") < 0);
	CHECK(sc_sched_option(&a, "milestones", "5,-6") < 0);
	CHECK(sc_sched_option(&a, "milestones", "") < 0);
	CHECK(sc_sched_option(&a, "milestones", "5, 6") < 0);
	CHECK(sc_sched_option(&a, "max-lr", "nan") < 0);
	CHECK(sc_sched_option(&a, "max-lr", "inf") < 0);
	CHECK(sc_sched_option(&a, "max-lr", "0") < 0);
	CHECK(!sc_sched_given(&a, "max-lr"));
	CHECK(sc_sched_option(&a, "milestones", "5,60,700") == 0);
	CHECK(a.s.n_milestones == 3 && a.s.milestones[2] == 700);
	CHECK(sc_sched_given(&a, "milestones"));

	/* The getopt table: the tool's own entries, then the schedule's,
	 * with train's selection leaving out the length options. */
	CHECK(sc_sched_getopt(table, 64, own, SC_SCHED_SHAPE, 7) == 0);
	CHECK(strcmp(table[0].name, "format") == 0 && table[0].val == 'f');
	while (table[n].name != NULL)
		n++;
	CHECK(n > 15);
	for (size_t k = 1; k < n; k++) {
		CHECK(table[k].val == 7);
		CHECK(strcmp(table[k].name, "iters") != 0);
		CHECK(strcmp(table[k].name, "batch") != 0);
	}
	CHECK(sc_sched_getopt(table, 4, own, SC_SCHED_SHAPE, 7) < 0);
}

/* The description is the options that write the schedule again. */
static void
test_describe(void)
{
	static const char *const shapes[] = {
		"--like pytorch --max-lr 0.7 --iters 333",
		"--like fastai --max-lr 0.7 --iters 333",
		"--max-lr 0.3 --momentum 0.9 --epochs 3 --steps-per-epoch 10",
		"--policy triangular2 --max-lr 3 --step-size 7 "
		    "--step-size-down 4 --iters 100",
		"--policy exp_range --min-lr 0.001 --max-lr 0.006 --gamma "
		    "0.99994 --step-size 20 --exp-range-decay bounds "
		    "--iters 200",
		"--policy step --max-lr 0.35 --milestones 20,40 --gamma 0.3 "
		    "--momentum-range 0.8:0.9 --iters 80",
		"--policy cosine --max-lr 1.1 --warmup 10 --iters 50",
		"--policy constant --max-lr 0.123456789 --iters 5",
	};
	char desc[2048];
	struct sc_sched a, b;

	for (size_t k = 0; k < sizeof(shapes) / sizeof(*shapes); k++) {
		int same = 1;

		CHECK(build(shapes[k], &a) == 0);
		sc_sched_describe(&a, desc, sizeof(desc));
		if (!CHECK(build(desc, &b) == 0)) {
			fprintf(stderr, "  %s: %s\n", desc, sc_error());
			continue;
		}
		CHECK(b.n_iters == a.n_iters);
		for (long i = 0; i < a.n_iters; i++)
			same &= lr_at(&a, i) == lr_at(&b, i) &&
			    mom_at(&a, i) == mom_at(&b, i);
		if (!CHECK(same))
			fprintf(stderr, "  %s\n", desc);
	}
	CHECK(build("--like pytorch --max-lr 1 --iters 100", &a) == 0);
	sc_sched_describe(&a, desc, sizeof(desc));
	CHECK(strcmp(desc, "--policy 1cycle --min-lr 0.04 --max-lr 1 "
	    "--final-lr 4e-06 --pct-start 0.3 --phases 2 --anneal cos "
	    "--momentum-range 0.85:0.95 --iters 100") == 0);
}

/* Rows stay inside their phase's range even where rounding would take
 * them out: a cosine rise from a rate far below the peak, a billion
 * updates long, whose first steps barely move. */
static void
test_rows_stay_in_range(void)
{
	struct sc_sched s;
	int inside = 1;

	CHECK(build("--max-lr 1 --min-lr 1e-30 --final-lr 1e-31 --anneal cos "
	    "--phases 2 --iters 1000000000", &s) == 0);
	for (long i = 0; i < 1000; i++)
		inside &= lr_at(&s, i) >= 1e-30 && lr_at(&s, i) <= 1.0;
	for (long i = 999999000; i < 1000000000; i++)
		inside &= lr_at(&s, i) >= 1e-31 && lr_at(&s, i) <= 1.0;
	CHECK(inside);
	CHECK(lr_at(&s, 999999999) == 1e-31);
}

/* sc_schedule_fill holds the same rows as sc_sched_at. */
static void
test_fill(void)
{
	struct sc_schedule_table t;
	struct sc_sched s;
	int same = 1;

	CHECK(build("--like fastai --max-lr 0.4 --iters 1000", &s) == 0);
	CHECK(sc_schedule_fill(&s, &t) == 0);
	CHECK(t.n == 1000 && t.momentum != NULL);
	for (long i = 0; i < t.n; i++)
		same &= t.lr[i] == lr_at(&s, i) && t.momentum[i] == mom_at(&s,
		    i);
	CHECK(same);
	sc_schedule_free(&t);
}

/* The row writer prints what printf's %.17g prints. */
static int
row_as_printf(long i, double lr, double m, int json)
{
	char fast[SC_SCHED_ROW_MAX], slow[256];
	size_t n = sc_sched_format_row(fast, i, lr, m, json);

	if (json)
		snprintf(slow, sizeof(slow), "{\"iter\":%ld,\"lr\":%.17g,"
		    "\"momentum\":%.17g}\n", i, lr, m);
	else
		snprintf(slow, sizeof(slow), "%ld,%.17g,%.17g\n", i, lr, m);
	if (n == strlen(slow) && strcmp(fast, slow) == 0)
		return 1;
	fprintf(stderr, "  row: %s  printf: %s", fast, slow);
	return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
test_format_row(void)
{
	static const double edges[] = {
		1.0, 0.1, 0.95, 0.85, 1e-4, 4e-6, 1e-5, 1e-11, 9.99e-12,
		1e16, 9.999999999999998e15, 123456789.0, 0.0001, 0.00001,
		5e-324, DBL_MIN, DBL_MAX, 0.0, -0.5, 1e300,
		2.98023223876953125e-08,	/* 2^-25: a tie at 17 digits */
		8.94069671630859375e-08,	/* 3 * 2^-25 */
	};
	int bad = 0;

	for (size_t k = 0; k < sizeof(edges) / sizeof(*edges); k++)
		bad += !row_as_printf((long)k, edges[k], edges[k], 0);
	bad += !row_as_printf(9999999, 0.0001, 0.94999999999999996, 1);
	bad += !row_as_printf(-3, 0.5, 0.5, 0);

	/* Around each power of ten. */
	for (int e = -13; e <= 17; e++) {
		double v = pow(10.0, e), up = v, down = v;

		for (int j = 0; j < 50; j++) {
			bad += !row_as_printf(j, up, down, j & 1);
			up = nextafter(up, HUGE_VAL);
			down = nextafter(down, 0.0);
		}
	}

	/* Exact ties: j * 2^-t with j * 5^t of 18 digits ending in 5 lies
	 * half-way between two 17-digit numbers. */
	for (int t = 1; t <= 25; t++) {
		double lo = ceil(1e17 / pow(5.0, t)), hi = 1e18 / pow(5.0, t);

		for (int k = 0; k < 400 && lo < hi; k++) {
			double j = lo + floor((double)(next_random() >> 11) /
			    9007199254740992.0 * (hi - lo));

			if (fmod(j, 2.0) == 0.0)
				j += 1.0;
			bad += !row_as_printf(k, ldexp(j, -t), 0.9, 0);
		}
	}

	/* Random doubles from 1e-14 to 1e18. */
	for (long k = 0; k < 2000000 && bad < 10; k++) {
		uint64_t r = next_random();
		double mant = (double)(r >> 11) / 9007199254740992.0 + 0.5;
		double v = ldexp(mant, (int)(next_random() % 108) - 47);

		bad += !row_as_printf(k, v, mant - 0.5, 0);
	}
	CHECK(bad == 0);
}

/* The writer: a header, then every row, in the bytes printf would
 * write. */
static void
test_write(void)
{
	struct sc_sched s;
	char line[256], want[256];
	FILE *f = tmpfile();
	int same = 1;

	CHECK(build("--policy exp_range --min-lr 1e-7 --max-lr 3 --gamma "
	    "0.999 --step-size 300 --iters 20000", &s) == 0);
	if (!CHECK(f != NULL))
		return;
	CHECK(sc_sched_write(&s, f, 0) == 0);
	rewind(f);
	CHECK(fgets(line, sizeof(line), f) != NULL &&
	    strcmp(line, "iter,lr,momentum\n") == 0);
	for (long i = 0; i < s.n_iters; i++) {
		double lr, m;

		sc_sched_at(&s, i, &lr, &m);
		snprintf(want, sizeof(want), "%ld,%.17g,%.17g\n", i, lr, m);
		same &= fgets(line, sizeof(line), f) != NULL &&
		    strcmp(line, want) == 0;
	}
	CHECK(same);
	CHECK(fgets(line, sizeof(line), f) == NULL);
	fclose(f);
}

/* The stop rule: 4x the best for positive losses, the same rise for
 * negative ones, and the starting loss's scale for a best of 0. */
static void
test_stop_rule(void)
{
	CHECK(!sc_range_diverged(1.99, 0.5, 2.3, 4.0));
	CHECK(sc_range_diverged(2.01, 0.5, 2.3, 4.0));
	CHECK(!sc_range_diverged(-4.5, -6.0, -1.0, 4.0));  /* rose 1.5 */
	CHECK(sc_range_diverged(12.5, -6.0, -1.0, 4.0));   /* rose 18.5 */
	CHECK(!sc_range_diverged(6.0, 0.0, 2.3, 4.0));
	CHECK(sc_range_diverged(7.0, 0.0, 2.3, 4.0));
	CHECK(!sc_range_diverged(1e9, 0.0, 0.0, 4.0));
}

int
main(void)
{
	test_pytorch_onecycle();
	test_pytorch_triangular();
	test_onecycle_boundaries();
	test_onecycle_two_phases();
	test_last_row_exact();
	test_refusals();
	test_range_sweeps();
	test_like_pytorch();
	test_like_fastai();
	test_like_smith();
	test_like_overridden();
	test_lengths();
	test_triangular2();
	test_exp_range();
	test_step();
	test_cosine();
	test_constant();
	test_momentum_direction();
	test_option_refusals();
	test_option_parsing();
	test_describe();
	test_rows_stay_in_range();
	test_fill();
	test_format_row();
	test_write();
	test_stop_rule();
	return check_report("test_sched");
}
