/*
 * clrgen - write a learning-rate and momentum schedule.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sc_csv.h"
#include "sc_io.h"
#include "sc_opt.h"
#include "sc_sched.h"
#include "sc_suggest.h"
#include "tool.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: clrgen [--policy 1cycle|triangular] [--min-lr LR] [--max-lr LR]\n"
"              [--bounds FILE] [--div D] [--final-lr LR] [--final-div D]\n"
"              [--pct-start P] [--phases 2|3] [--anneal linear|cos]\n"
"              [--step-size N] [--step-size-down N]\n"
"              [--momentum-range LOW:HIGH | --momentum M]\n"
"              (--iters N | --epochs E (--steps-per-epoch S |\n"
"               --data-size N --batch B [--drop-last]))\n"
"              [--format csv|json] [-o FILE]\n");
}

enum {
	OPT_POLICY = 256, OPT_MIN_LR, OPT_MAX_LR, OPT_FINAL_LR, OPT_DIV,
	OPT_FINAL_DIV, OPT_PCT, OPT_PHASES, OPT_ANNEAL, OPT_STEP,
	OPT_STEP_DOWN, OPT_MOM_RANGE, OPT_MOM, OPT_ITERS, OPT_EPOCHS,
	OPT_SPE, OPT_DATA_SIZE, OPT_BATCH, OPT_DROP_LAST, OPT_BOUNDS,
	OPT_FORMAT,
};

static const struct option options[] = {
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "min-lr", required_argument, NULL, OPT_MIN_LR },
	{ "max-lr", required_argument, NULL, OPT_MAX_LR },
	{ "final-lr", required_argument, NULL, OPT_FINAL_LR },
	{ "div", required_argument, NULL, OPT_DIV },
	{ "final-div", required_argument, NULL, OPT_FINAL_DIV },
	{ "pct-start", required_argument, NULL, OPT_PCT },
	{ "phases", required_argument, NULL, OPT_PHASES },
	{ "anneal", required_argument, NULL, OPT_ANNEAL },
	{ "step-size", required_argument, NULL, OPT_STEP },
	{ "step-size-down", required_argument, NULL, OPT_STEP_DOWN },
	{ "momentum-range", required_argument, NULL, OPT_MOM_RANGE },
	{ "momentum", required_argument, NULL, OPT_MOM },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "steps-per-epoch", required_argument, NULL, OPT_SPE },
	{ "data-size", required_argument, NULL, OPT_DATA_SIZE },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "drop-last", no_argument, NULL, OPT_DROP_LAST },
	{ "bounds", required_argument, NULL, OPT_BOUNDS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line said, before defaults are filled in. */
struct args {
	struct sc_sched s;
	double div, final_div;
	int have_min, have_max, have_final, have_div, have_final_div;
	int have_pct, have_phases, have_anneal, have_step, have_step_down;
	int have_mom_range, have_mom;
	long iters, epochs, steps_per_epoch, data_size, batch;
	int drop_last;
	const char *bounds;
	int json;
	const char *output;
};

static int
parse_momentum_range(const char *arg, struct sc_sched *s)
{
	char low[64], *colon = strchr(arg, ':');

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(low))
		return sc_fail("--momentum-range: expected LOW:HIGH, not "
		    "'%s'", arg);
	memcpy(low, arg, colon - arg);
	low[colon - arg] = '\0';
	if (sc_opt_double("--momentum-range", low, 0.0, 0.999999999,
	    &s->mom_low) < 0 ||
	    sc_opt_double("--momentum-range", colon + 1, 0.0, 0.999999999,
	    &s->mom_high) < 0)
		return -1;
	if (s->mom_low > s->mom_high)
		return sc_fail("--momentum-range: LOW %g is above HIGH %g",
		    s->mom_low, s->mom_high);
	return 0;
}

static int
parse_option(int c, const char *arg, struct args *a)
{
	struct sc_sched *s = &a->s;
	double m;

	switch (c) {
	case OPT_POLICY:
		return sc_policy_parse(arg, &s->policy);
	case OPT_MIN_LR:
		a->have_min = 1;
		return sc_opt_positive("--min-lr", arg, &s->min_lr);
	case OPT_MAX_LR:
		a->have_max = 1;
		return sc_opt_positive("--max-lr", arg, &s->max_lr);
	case OPT_FINAL_LR:
		a->have_final = 1;
		return sc_opt_positive("--final-lr", arg, &s->final_lr);
	case OPT_DIV:
		a->have_div = 1;
		return sc_opt_double("--div", arg, 1.0, 1e12, &a->div);
	case OPT_FINAL_DIV:
		a->have_final_div = 1;
		return sc_opt_double("--final-div", arg, 1.0, 1e12,
		    &a->final_div);
	case OPT_PCT:
		a->have_pct = 1;
		return sc_opt_double("--pct-start", arg, -HUGE_VAL, HUGE_VAL,
		    &s->pct_start);
	case OPT_PHASES:
		a->have_phases = 1;
		return sc_opt_int("--phases", arg, 2, 3, &s->phases);
	case OPT_ANNEAL:
		a->have_anneal = 1;
		if (strcmp(arg, "linear") == 0)
			s->anneal = SC_ANNEAL_LINEAR;
		else if (strcmp(arg, "cos") == 0)
			s->anneal = SC_ANNEAL_COS;
		else
			return sc_fail("--anneal: expected linear or cos, not "
			    "'%s'", arg);
		return 0;
	case OPT_STEP:
		a->have_step = 1;
		return sc_opt_long("--step-size", arg, 1, 1L << 40,
		    &s->step_up);
	case OPT_STEP_DOWN:
		a->have_step_down = 1;
		return sc_opt_long("--step-size-down", arg, 1, 1L << 40,
		    &s->step_down);
	case OPT_MOM_RANGE:
		a->have_mom_range = 1;
		return parse_momentum_range(arg, s);
	case OPT_MOM:
		a->have_mom = 1;
		if (sc_opt_double("--momentum", arg, 0.0, 0.999999999, &m) < 0)
			return -1;
		s->mom_low = s->mom_high = m;
		s->cycle_momentum = 0;
		return 0;
	case OPT_ITERS:
		return sc_opt_long("--iters", arg, 1, 1L << 40, &a->iters);
	case OPT_EPOCHS:
		return sc_opt_long("--epochs", arg, 1, 1L << 30, &a->epochs);
	case OPT_SPE:
		return sc_opt_long("--steps-per-epoch", arg, 1, 1L << 40,
		    &a->steps_per_epoch);
	case OPT_DATA_SIZE:
		return sc_opt_long("--data-size", arg, 1, 1L << 40,
		    &a->data_size);
	case OPT_BATCH:
		return sc_opt_long("--batch", arg, 1, 1L << 30, &a->batch);
	case OPT_DROP_LAST:
		a->drop_last = 1;
		return 0;
	case OPT_BOUNDS:
		a->bounds = arg;
		return 0;
	case OPT_FORMAT:
		if (strcmp(arg, "csv") == 0 || strcmp(arg, "json") == 0) {
			a->json = strcmp(arg, "json") == 0;
			return 0;
		}
		return sc_fail("--format: expected csv or json, not '%s'",
		    arg);
	case 'o':
		a->output = arg;
		return 0;
	}
	return sc_fail("unexpected option");
}

/* The number of updates from --iters, or from --epochs and the size of
 * an epoch. */
static int
resolve_length(struct args *a)
{
	long per_epoch;

	if (a->iters > 0 && (a->epochs > 0 || a->steps_per_epoch > 0 ||
	    a->data_size > 0 || a->batch > 0 || a->drop_last))
		return sc_fail("--iters: give the length either as --iters "
		    "or as --epochs with the epoch's size, not both");
	if (a->iters > 0) {
		a->s.n_iters = a->iters;
		return 0;
	}
	if (a->epochs == 0)
		return sc_fail("--iters: no length given (--iters N, or "
		    "--epochs E with --steps-per-epoch or --data-size and "
		    "--batch)");
	if (a->steps_per_epoch > 0) {
		if (a->data_size > 0 || a->batch > 0 || a->drop_last)
			return sc_fail("--steps-per-epoch: contradicts "
			    "--data-size, --batch and --drop-last");
		per_epoch = a->steps_per_epoch;
	} else {
		if (a->data_size == 0 || a->batch == 0)
			return sc_fail("--epochs: needs --steps-per-epoch, "
			    "or both --data-size and --batch");
		per_epoch = a->drop_last ? a->data_size / a->batch :
		    (a->data_size + a->batch - 1) / a->batch;
		if (per_epoch == 0)
			return sc_fail("--batch: %ld is larger than "
			    "--data-size %ld, and --drop-last leaves no "
			    "update", a->batch, a->data_size);
	}
	if (per_epoch > (1L << 40) / a->epochs)
		return sc_fail("--epochs: %ld epochs of %ld updates is too "
		    "long", a->epochs, per_epoch);
	a->s.n_iters = a->epochs * per_epoch;
	return 0;
}

/* Options that the chosen policy would silently ignore are errors. */
static int
check_policy_options(const struct args *a)
{
	if (a->s.policy == SC_POLICY_TRIANGULAR) {
		if (a->have_pct || a->have_phases || a->have_anneal ||
		    a->have_final || a->have_final_div)
			return sc_fail("--policy triangular: --pct-start, "
			    "--phases, --anneal, --final-lr and --final-div "
			    "are 1cycle options");
		if (!a->have_step)
			return sc_fail("--step-size: the triangular policy "
			    "needs the number of updates of a half cycle");
	} else if (a->have_step || a->have_step_down) {
		return sc_fail("--step-size: applies to the triangular "
		    "policy, not 1cycle");
	}
	if (a->have_mom && a->have_mom_range)
		return sc_fail("--momentum: contradicts --momentum-range");
	if (a->have_final && a->have_final_div)
		return sc_fail("--final-lr: contradicts --final-div");
	if (a->have_min && a->have_div)
		return sc_fail("--min-lr: contradicts --div");
	return 0;
}

/* Fill in the bounds: from the options, or from a bounds JSON (named by
 * --bounds, or piped in on standard input). */
static int
resolve_bounds(struct args *a)
{
	struct sc_sched *s = &a->s;
	const char *bounds = a->bounds;
	double file_min = 0.0;

	if (bounds == NULL && !a->have_max && !isatty(STDIN_FILENO))
		bounds = "-";
	if (bounds != NULL) {
		if (a->have_max)
			return sc_fail_usage("--max-lr: contradicts --bounds");
		if (sc_bounds_read(bounds, &file_min, &s->max_lr) < 0) {
			/* Nothing piped in: the user meant to give bounds
			 * as options. */
			if (a->bounds == NULL && strstr(sc_error(), "empty"))
				return sc_fail_usage("--max-lr: no bounds "
				    "given (--max-lr, or --bounds FILE, or a "
				    "bounds JSON on standard input)");
			return -1;
		}
		if (!a->have_min && !a->have_div && file_min > 0.0)
			s->min_lr = file_min;
		else if (!a->have_min)
			s->min_lr = s->max_lr / a->div;
	} else if (!a->have_max) {
		return sc_fail_usage("--max-lr: no bounds given (--max-lr, "
		    "or --bounds FILE, or a bounds JSON on standard input)");
	} else if (!a->have_min) {
		s->min_lr = s->max_lr / a->div;
	}
	if (s->policy == SC_POLICY_ONECYCLE && !a->have_final)
		s->final_lr = s->min_lr / a->final_div;
	return 0;
}

static int
write_schedule(const struct args *a)
{
	struct sc_csv_writer w;
	struct sc_out out;
	static const char *const columns[] = { "iter", "lr", "momentum",
		NULL };

	if (sc_out_open(&out, a->output) < 0)
		return -1;
	sc_csv_writer_init(&w, out.f);
	if (!a->json)
		sc_csv_header(&w, columns);
	for (long i = 0; i < a->s.n_iters; i++) {
		double lr, mom;

		sc_sched_at(&a->s, i, &lr, &mom);
		if (a->json) {
			fprintf(out.f, "{\"iter\":%ld,\"lr\":%.17g,"
			    "\"momentum\":%.17g}\n", i, lr, mom);
		} else {
			sc_csv_put_long(&w, i);
			sc_csv_put_double(&w, lr);
			sc_csv_put_double(&w, mom);
			sc_csv_end_row(&w);
		}
		if (ferror(out.f))
			break;
	}
	if (ferror(out.f)) {
		sc_out_abort(&out);
		return sc_fail("%s: write failed", sc_out_name(&out));
	}
	return sc_out_commit(&out);
}

int
main(int argc, char **argv)
{
	struct args a;
	int c;

	tool_name = "clrgen";
	argv[0] = (char *)tool_name;	/* getopt names the tool */
	memset(&a, 0, sizeof(a));
	/* Smith's runs: linear, three phases, min = max/10, a tail to
	 * min/1000 over the last 10 %, momentum 0.95 -> 0.85 -> 0.95. */
	a.s.policy = SC_POLICY_ONECYCLE;
	a.s.anneal = SC_ANNEAL_LINEAR;
	a.s.phases = 3;
	a.s.pct_start = 0.45;
	a.s.mom_low = 0.85;
	a.s.mom_high = 0.95;
	a.s.cycle_momentum = 1;
	a.div = 10.0;
	a.final_div = 1000.0;

	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return tool_close_stdout(EXIT_OK);
		}
		if (c == '?') {
			usage(stderr);
			return EXIT_USAGE;
		}
		if (parse_option(c, optarg, &a) < 0)
			return tool_fail(EXIT_USAGE);
	}
	if (optind != argc) {
		tool_warn("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check_policy_options(&a) < 0 || resolve_length(&a) < 0)
		return tool_fail(EXIT_USAGE);
	if (resolve_bounds(&a) < 0)
		return tool_fail(sc_error_is_usage() ?
		    EXIT_USAGE : EXIT_RUNTIME);
	if (sc_sched_prepare(&a.s) < 0)
		return tool_fail(EXIT_USAGE);
	if (write_schedule(&a) < 0)
		return tool_fail(EXIT_RUNTIME);
	return tool_close_stdout(EXIT_OK);
}
