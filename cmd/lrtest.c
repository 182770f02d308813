/*
 * lrtest - run an LR range test and write the range CSV.
 */
#include <errno.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_ckpt.h"
#include "sc_csv.h"
#include "sc_io.h"
#include "sc_opt.h"
#include "sc_train.h"
#include "tool.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lrtest [--sweep linear|exp] [--min-lr LR] [--max-lr LR]\n"
"              [--iters N] [--momentum M] [--smooth BETA]\n"
"              [--stop-factor K] [--no-stop] [--eval-every K]\n"
"              [--eval-size N] [--bn-batches N] [--epochs E]\n"
"              [--accumulate N]\n"
"              [--init FILE] [--estimate-lr K] [--data SPEC]\n"
"              [--label COLUMN]\n"
"              [--val-split F] [--augment crop:PAD,flip]\n"
"              [--model NAME|FILE]\n"
"              [--hidden W,W,...] [--batch B] [--drop-last] [--seed N]\n"
"              [--threads N] [--weight-decay WD] [--nesterov]\n"
"              [-o FILE] [-q]\n");
}

enum {
	OPT_CONFIG = 256, OPT_SWEEP, OPT_MIN_LR, OPT_MAX_LR, OPT_ITERS,
	OPT_MOM, OPT_SMOOTH, OPT_STOP_FACTOR, OPT_NO_STOP, OPT_EVAL_EVERY,
	OPT_EVAL_SIZE, OPT_EPOCHS, OPT_ACCUMULATE, OPT_INIT, OPT_ESTIMATE,
	OPT_BN_BATCHES,
};

static const struct option options[] = {
	/* Shared with train: see sc_train_option. */
	{ "data", required_argument, NULL, OPT_CONFIG },
	{ "label", required_argument, NULL, OPT_CONFIG },
	{ "val-split", required_argument, NULL, OPT_CONFIG },
	{ "augment", required_argument, NULL, OPT_CONFIG },
	{ "model", required_argument, NULL, OPT_CONFIG },
	{ "hidden", required_argument, NULL, OPT_CONFIG },
	{ "batch", required_argument, NULL, OPT_CONFIG },
	{ "drop-last", no_argument, NULL, OPT_CONFIG },
	{ "seed", required_argument, NULL, OPT_CONFIG },
	{ "threads", required_argument, NULL, OPT_CONFIG },
	{ "weight-decay", required_argument, NULL, OPT_CONFIG },
	{ "nesterov", no_argument, NULL, OPT_CONFIG },

	{ "sweep", required_argument, NULL, OPT_SWEEP },
	{ "min-lr", required_argument, NULL, OPT_MIN_LR },
	{ "max-lr", required_argument, NULL, OPT_MAX_LR },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "momentum", required_argument, NULL, OPT_MOM },
	{ "smooth", required_argument, NULL, OPT_SMOOTH },
	{ "stop-factor", required_argument, NULL, OPT_STOP_FACTOR },
	{ "no-stop", no_argument, NULL, OPT_NO_STOP },
	{ "eval-every", required_argument, NULL, OPT_EVAL_EVERY },
	{ "eval-size", required_argument, NULL, OPT_EVAL_SIZE },
	{ "bn-batches", required_argument, NULL, OPT_BN_BATCHES },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "accumulate", required_argument, NULL, OPT_ACCUMULATE },
	{ "init", required_argument, NULL, OPT_INIT },
	{ "estimate-lr", required_argument, NULL, OPT_ESTIMATE },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	struct sc_train_config cfg;
	struct sc_range_config rc;
	const char *output;
	const char *init;
	long epochs;
	int have_iters;
	int quiet;
};

static int
parse_option(int c, const char *name, const char *arg, struct args *a)
{
	struct sc_range_config *rc = &a->rc;

	switch (c) {
	case OPT_CONFIG:
		return sc_train_option(&a->cfg, name, arg);
	case OPT_SWEEP:
		if (strcmp(arg, "linear") == 0)
			rc->sweep = SC_SWEEP_LINEAR;
		else if (strcmp(arg, "exp") == 0)
			rc->sweep = SC_SWEEP_EXP;
		else
			return sc_fail("--sweep: expected linear or exp, not "
			    "'%s'", arg);
		return 0;
	case OPT_MIN_LR:
		return sc_opt_positive("--min-lr", arg, &rc->min_lr);
	case OPT_MAX_LR:
		return sc_opt_positive("--max-lr", arg, &rc->max_lr);
	case OPT_ITERS:
		a->have_iters = 1;
		return sc_opt_long("--iters", arg, 2, 1L << 40, &rc->n_iters);
	case OPT_EPOCHS:
		return sc_opt_long("--epochs", arg, 1, 1L << 20, &a->epochs);
	case OPT_ACCUMULATE:
		return sc_opt_int("--accumulate", arg, 1, 1 << 20,
		    &rc->accumulate);
	case OPT_INIT:
		a->init = arg;
		return 0;
	case OPT_ESTIMATE:
		return sc_opt_long("--estimate-lr", arg, 1, 1L << 30,
		    &rc->estimate_every);
	case OPT_MOM:
		return sc_opt_double("--momentum", arg, 0.0, 0.999999999,
		    &rc->momentum);
	case OPT_SMOOTH:
		return sc_opt_double("--smooth", arg, 0.0, 0.999999,
		    &rc->smooth);
	case OPT_STOP_FACTOR:
		if (sc_opt_double("--stop-factor", arg, 1.0, 1e12,
		    &rc->stop_factor) < 0 || !(rc->stop_factor > 1.0))
			return sc_fail("--stop-factor: must be above 1 and at "
			    "most 1e12, not %s", arg);
		return 0;
	case OPT_NO_STOP:
		rc->no_stop = 1;
		return 0;
	case OPT_EVAL_EVERY:
		return sc_opt_long("--eval-every", arg, 0, 1L << 40,
		    &rc->eval_every);
	case OPT_EVAL_SIZE:
		return sc_opt_int("--eval-size", arg, 1, 1 << 30,
		    &rc->eval_size);
	case OPT_BN_BATCHES:
		return sc_opt_int("--bn-batches", arg, 0, 1 << 20,
		    &rc->bn_batches);
	case 'o':
		a->output = arg;
		return 0;
	case 'q':
		a->quiet = 1;
		return 0;
	}
	return sc_fail("unexpected option");
}

struct run {
	struct sc_csv_writer w;
	int estimate;		/* the lr_estimate column is written */
	struct sc_progress progress;
	const char *out_name;
};

static int
on_row(void *ctx, const struct sc_range_row *r)
{
	struct run *run = ctx;
	struct sc_csv_writer *w = &run->w;

	sc_csv_put_long(w, r->iter);
	sc_csv_put_double(w, r->lr);
	sc_csv_put_float(w, (float)r->loss);
	sc_csv_put_float(w, (float)r->smooth_loss);
	sc_csv_put_float(w, (float)r->acc);
	if (r->scored) {
		sc_csv_put_float(w, (float)r->val_loss);
		sc_csv_put_float(w, (float)r->val_acc);
	} else {
		sc_csv_put_empty(w);
		sc_csv_put_empty(w);
	}
	if (run->estimate)
		sc_csv_put_double_or_empty(w, r->lr_estimate);
	if (sc_csv_end_row(w) < 0)
		return sc_fail("%s: write failed: %s", run->out_name,
		    strerror(errno));
	return 0;
}

static void
on_update(void *ctx, long done, long total)
{
	struct run *run = ctx;

	sc_progress_update(&run->progress, done, total);
}

/* The length in updates from --epochs, and the starting weights from
 * --init (only read: the range test changes nothing the user has). */
static int
prepare(struct args *a, struct sc_trainer *tr)
{
	if (a->epochs > 0) {
		a->rc.n_iters = a->epochs * tr->steps_per_epoch /
		    a->rc.accumulate;
		if (a->rc.n_iters < 2)
			return sc_fail_usage("--epochs: %ld epochs of %ld "
			    "batches make fewer than 2 updates of %d batches",
			    a->epochs, tr->steps_per_epoch, a->rc.accumulate);
	}
	if (a->init != NULL) {
		struct cJSON *head = NULL;
		const cJSON *was;
		char here[256];
		int differs;

		if (sc_ckpt_load(a->init, tr->model, &head) < 0)
			return -1;
		sc_model_describe(tr->model, here, sizeof(here));
		was = cJSON_GetObjectItemCaseSensitive(head, "layers");
		differs = cJSON_IsString(was) &&
		    strcmp(was->valuestring, here) != 0;
		if (differs)
			sc_fail("%s: saved from a %s network, this one is %s",
			    a->init, was->valuestring, here);
		cJSON_Delete(head);
		if (differs)
			return -1;
	}
	return 0;
}

static int
run_test(const struct args *a, struct sc_trainer *tr)
{
	char reason[256];
	struct sc_out out;
	struct run run;

	if (sc_out_open(&out, a->output) < 0)
		return -1;
	memset(&run, 0, sizeof(run));
	sc_csv_writer_init(&run.w, out.f);
	sc_progress_start(&run.progress, a->quiet ? NULL : stderr, "lrtest");
	run.out_name = sc_out_name(&out);
	run.estimate = a->rc.estimate_every > 0;
	if ((sc_csv_header_plus(&run.w, sc_range_columns,
	    run.estimate ? "lr_estimate" : NULL) < 0 &&
	    sc_fail("%s: write failed: %s", run.out_name,
	    strerror(errno)) < 0) ||
	    sc_range_run(tr, &a->rc, on_row, on_update, &run, reason,
	    sizeof(reason)) < 0) {
		sc_progress_clear(&run.progress);
		sc_out_abort(&out);
		return -1;
	}
	sc_progress_clear(&run.progress);
	if (sc_out_commit(&out) < 0)
		return -1;
	if (!a->quiet) {
		if (reason[0] != '\0')
			fprintf(stderr, "lrtest: %s\n", reason);
		else
			fprintf(stderr, "lrtest: %ld updates from lr %g to "
			    "%g\n", a->rc.n_iters, a->rc.min_lr,
			    a->rc.max_lr);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sc_trainer *tr;
	struct args a;
	int c, rc, k = 0;

	tool_start("lrtest");
	setvbuf(stdout, NULL, _IOLBF, 0);	/* a closed pipe shows at once */
	argv[0] = (char *)tool_name;	/* getopt names the tool */
	memset(&a, 0, sizeof(a));
	sc_train_config_default(&a.cfg);
	a.rc.sweep = SC_SWEEP_LINEAR;
	a.rc.min_lr = 1e-3;
	a.rc.max_lr = 3.0;
	a.rc.n_iters = 600;
	a.rc.momentum = 0.9;
	a.rc.smooth = 0.98;
	a.rc.stop_factor = 4.0;
	a.rc.eval_every = 10;
	a.rc.eval_size = 1000;
	a.rc.accumulate = 1;

	while ((c = getopt_long(argc, argv, "ho:q", options, &k)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return tool_close_stdout(EXIT_OK);
		}
		if (c == '?') {
			usage(stderr);
			return EXIT_USAGE;
		}
		if (tool_empty_value(c == 'o' ? 'o' : 0, options[k].name,
		    optarg))
			return EXIT_USAGE;
		if (parse_option(c, options[k].name, optarg, &a) < 0)
			return tool_fail(EXIT_USAGE);
	}
	if (optind != argc) {
		tool_warn("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a.have_iters && a.epochs > 0) {
		tool_warn("--iters: give the length as --iters or --epochs, "
		    "not both");
		return EXIT_USAGE;
	}
	if (tool_output_is_input("-o", a.output, "the file of --init",
	    a.init) || tool_output_is_input("-o", a.output,
	    "the file of --model", a.cfg.model_name))
		return EXIT_USAGE;
	if (!(a.rc.min_lr < a.rc.max_lr)) {
		tool_warn("--min-lr: %g must be below --max-lr %g",
		    a.rc.min_lr, a.rc.max_lr);
		return EXIT_USAGE;
	}
	if (sc_train_config_finish(&a.cfg) < 0)
		return tool_fail(EXIT_USAGE);

	tr = sc_trainer_create(&a.cfg);
	if (tr == NULL)
		return tool_fail(sc_error_is_usage() ?
		    EXIT_USAGE : EXIT_RUNTIME);
	rc = prepare(&a, tr);
	if (rc < 0 && sc_error_is_usage()) {
		sc_trainer_free(tr);
		return tool_fail(EXIT_USAGE);
	}
	if (rc == 0)
		rc = run_test(&a, tr);
	if (rc < 0)
		tool_warn("%s", sc_error());
	sc_trainer_free(tr);
	return tool_close_stdout(rc < 0 ? EXIT_RUNTIME : EXIT_OK);
}
