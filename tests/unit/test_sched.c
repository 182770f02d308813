/*
 * Schedules with exact values: 1cycle phase boundaries and last row,
 * the triangular cycle, and rows against PyTorch 1.13.1's OneCycleLR and
 * CyclicLR as recorded in tests/fixtures/reference.
 */
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

int
main(void)
{
	test_pytorch_onecycle();
	test_pytorch_triangular();
	test_onecycle_boundaries();
	test_refusals();
	test_range_sweeps();
	return check_report("test_sched");
}
