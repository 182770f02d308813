/*
 * train - train a network with a learning-rate schedule.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_ckpt.h"
#include "sc_csv.h"
#include "sc_io.h"
#include "sc_opt.h"
#include "sc_sched.h"
#include "sc_train.h"
#include "tool.h"

#include <zlib.h>

static void
usage(FILE *f)
{
	fprintf(f,
"usage: train (--schedule FILE | --policy NAME [schedule options]\n"
"                (--iters N | --epochs E)) [--data SPEC] [--label COLUMN]\n"
"             [--val-split F] [--augment crop:PAD,flip]\n"
"             [--model NAME|FILE] [--hidden W,W,...] [--batch B]\n"
"             [--drop-last] [--seed N]\n"
"             [--threads N] [--weight-decay WD] [--nesterov]\n"
"             [--momentum M] [--iters N] [--epochs E] [--log-every K]\n"
"             [--summary FILE] [--save FILE] [--profile]\n"
"             [--estimate-lr K] [-o FILE] [-q]\n"
"             [--checkpoint FILE [--checkpoint-every N|Ne]\n"
"              [--stop-after N]] [--resume FILE [--force]]\n"
"       train --model-info [--model NAME|FILE] [--data SPEC] ...\n"
"       train --checkpoint-info FILE\n"
"schedule options, as clrgen(1) takes them:\n"
"       [--like smith|pytorch|fastai] [--min-lr LR | --div D]\n"
"       [--max-lr LR | --bounds FILE] [--final-lr LR | --final-div D]\n"
"       [--pct-start P] [--phases 2|3] [--anneal linear|cos]\n"
"       [--step-size N] [--step-size-down N] [--gamma G]\n"
"       [--exp-range-decay amplitude|bounds] [--milestones I,I,...]\n"
"       [--warmup N] [--momentum-range LOW:HIGH]\n");
}

enum {
	OPT_CONFIG = 256, OPT_SCHEDULE, OPT_SCHED, OPT_ITERS, OPT_EPOCHS,
	OPT_LOG_EVERY, OPT_SUMMARY, OPT_SAVE, OPT_MODEL_INFO, OPT_PROFILE,
	OPT_ESTIMATE, OPT_CHECKPOINT, OPT_EVERY, OPT_STOP_AFTER, OPT_RESUME,
	OPT_FORCE, OPT_CKPT_INFO,
};

/* With the schedule options of sc_sched_getopt (--policy, --max-lr, ...,
 * and --momentum) added in main. */
static const struct option own_options[] = {
	/* Shared with lrtest: see sc_train_option. */
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

	{ "schedule", required_argument, NULL, OPT_SCHEDULE },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "log-every", required_argument, NULL, OPT_LOG_EVERY },
	{ "summary", required_argument, NULL, OPT_SUMMARY },
	{ "save", required_argument, NULL, OPT_SAVE },
	{ "model-info", no_argument, NULL, OPT_MODEL_INFO },
	{ "profile", no_argument, NULL, OPT_PROFILE },
	{ "estimate-lr", required_argument, NULL, OPT_ESTIMATE },
	{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
	{ "checkpoint-every", required_argument, NULL, OPT_EVERY },
	{ "stop-after", required_argument, NULL, OPT_STOP_AFTER },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "checkpoint-info", required_argument, NULL, OPT_CKPT_INFO },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	struct sc_train_config cfg;
	const char *schedule, *summary, *save, *output;
	long iters, epochs;
	int quiet;
	int model_info;
	int profile;
	int have_momentum;
	int have_momentum_column;

	/* Checkpoints. */
	const char *checkpoint, *resume, *checkpoint_info;
	long every_updates, every_epochs;	/* --checkpoint-every */
	long stop_after;
	int force;

	/* --policy: the schedule computed here instead of read. */
	struct sc_sched_args sched_args;
	int have_policy;
	const char *sched_option;	/* the first schedule option given
					 * besides --policy and --momentum */
	struct sc_sched sched;
	char sched_desc[2048];
};

/* --checkpoint-every N (updates) or Ne (epochs). */
static int
parse_every(const char *arg, struct args *a)
{
	size_t len = strlen(arg);
	char num[32];

	a->every_updates = a->every_epochs = 0;
	if (len > 0 && arg[len - 1] != 'e' &&
	    sc_opt_long("--checkpoint-every", arg, 1, 1L << 40,
	    &a->every_updates) == 0)
		return 0;
	if (len == 0 || arg[len - 1] != 'e' || len >= sizeof(num))
		return sc_fail("--checkpoint-every: '%s' is not a count of "
		    "updates or of epochs (such as 500 or 2e)", arg);
	memcpy(num, arg, len - 1);
	num[len - 1] = '\0';
	if (sc_opt_long("--checkpoint-every", num, 1, 1L << 30,
	    &a->every_epochs) < 0)
		return sc_fail("--checkpoint-every: '%s' is not a count of "
		    "updates or of epochs (such as 500 or 2e)", arg);
	return 0;
}

static int
parse_option(int c, const char *name, const char *arg, struct args *a)
{
	struct sc_train_config *cfg = &a->cfg;

	switch (c) {
	case OPT_CONFIG:
		return sc_train_option(cfg, name, arg);
	case OPT_SCHEDULE:
		a->schedule = arg;
		return 0;
	case OPT_SCHED:
		if (sc_sched_option(&a->sched_args, name, arg) < 0)
			return -1;
		if (strcmp(name, "momentum") == 0) {
			/* Also the momentum of a schedule file without a
			 * momentum column. */
			a->have_momentum = 1;
			cfg->momentum = a->sched_args.momentum;
		} else if (strcmp(name, "policy") == 0) {
			a->have_policy = 1;
		} else if (a->sched_option == NULL) {
			a->sched_option = name;
		}
		return 0;
	case OPT_ITERS:
		return sc_opt_long("--iters", arg, 1, 1L << 40, &a->iters);
	case OPT_EPOCHS:
		return sc_opt_long("--epochs", arg, 1, 1L << 30, &a->epochs);
	case OPT_LOG_EVERY:
		return sc_opt_int("--log-every", arg, 1, 1 << 30,
		    &cfg->log_every);
	case OPT_SUMMARY:
		a->summary = arg;
		return 0;
	case OPT_SAVE:
		a->save = arg;
		return 0;
	case OPT_MODEL_INFO:
		a->model_info = 1;
		return 0;
	case OPT_PROFILE:
		a->profile = 1;
		return 0;
	case OPT_ESTIMATE:
		return sc_opt_long("--estimate-lr", arg, 1, 1L << 30,
		    &a->cfg.estimate_every);
	case OPT_CHECKPOINT:
		a->checkpoint = arg;
		return 0;
	case OPT_EVERY:
		return parse_every(arg, a);
	case OPT_STOP_AFTER:
		return sc_opt_long("--stop-after", arg, 1, 1L << 40,
		    &a->stop_after);
	case OPT_RESUME:
		a->resume = arg;
		return 0;
	case OPT_FORCE:
		a->force = 1;
		return 0;
	case OPT_CKPT_INFO:
		a->checkpoint_info = arg;
		return 0;
	case 'o':
		a->output = arg;
		return 0;
	case 'q':
		a->quiet = 1;
		return 0;
	}
	return sc_fail("unexpected option");
}

/* A length given on the command line must agree with the schedule's. */
static int
check_length(const struct args *a, const struct sc_trainer *tr, long rows)
{
	if (a->iters > 0 && a->iters != rows)
		return sc_fail("--iters: %ld updates asked for, the schedule "
		    "%s has %ld rows", a->iters, a->schedule, rows);
	if (a->epochs > 0 && a->epochs * tr->steps_per_epoch != rows)
		return sc_fail("--epochs: %ld epochs of %ld updates is %ld "
		    "updates, the schedule %s has %ld rows", a->epochs,
		    tr->steps_per_epoch, a->epochs * tr->steps_per_epoch,
		    a->schedule, rows);
	return 0;
}

struct run {
	struct sc_csv_writer w;
	int estimate;		/* the lr_estimate column is written */
	struct sc_progress progress;
	long steps_per_epoch;
	double n_epochs;	/* the run's length in epochs */
	int quiet;
	const char *out_name;

	/* Checkpoints: where, how often, when to stop. */
	const char *checkpoint;
	const cJSON *config;	/* saved in each checkpoint */
	const double *lr;	/* the schedule, for messages */
	long n_updates;
	long every;		/* updates between checkpoints; 0: none */
	long stop_after;	/* 0: none */
	long saved_update;	/* the last checkpoint written; -1: none */
};

/*
 * SIGINT and SIGTERM ask the run to stop after the update in flight and
 * write a checkpoint; a second signal stops at once, removing whatever
 * temporary file is being written, so the previous checkpoint stays.
 * One that comes while the data is loaded or the schedule read or
 * computed stops the run before its first update, with nothing written;
 * a read it interrupts (a schedule from a pipe) fails for that reason.
 */
static volatile sig_atomic_t stop_signal;
static const int stop_signals[] = { SIGINT, SIGTERM };
static struct sigaction saved_actions[2];
static int caught[2];

static void
on_stop_signal(int sig)
{
	if (stop_signal != 0) {
		sc_io_remove_pending();
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

/* Catch the stop signals from the set-up to the end of the training,
 * leaving alone a signal the shell has ignored (a background job's
 * SIGINT). */
static void
catch_stop_signals(int on)
{
	for (int i = 0; i < 2; i++) {
		struct sigaction sa;

		if (!on) {
			if (caught[i])
				sigaction(stop_signals[i], &saved_actions[i],
				    NULL);
			caught[i] = 0;
			continue;
		}
		sigaction(stop_signals[i], NULL, &saved_actions[i]);
		if (saved_actions[i].sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(stop_signals[i], &sa, NULL);
		caught[i] = 1;
	}
}

static const char *
signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
	    "a signal";
}

/* A stop signal came before the first update: report it and return the
 * exit status, or 0 when none came. */
static int
stopped_before_training(void)
{
	int sig = stop_signal;

	if (sig == 0)
		return 0;
	tool_warn("stopped by %s before training started; nothing written",
	    signal_name(sig));
	return 128 + sig;
}

static int
on_row(void *ctx, const struct sc_log_row *r)
{
	struct run *run = ctx;
	struct sc_csv_writer *w = &run->w;

	sc_csv_put_long(w, r->iter);
	fprintf(w->f, ",%.9g", r->epoch);
	w->n_in_row++;
	sc_csv_put_double(w, r->lr);
	sc_csv_put_double(w, r->momentum);
	sc_csv_put_float(w, (float)r->loss);
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

static void
on_epoch(void *ctx, double epoch, double val_loss, double val_acc,
    double seconds)
{
	struct run *run = ctx;

	if (run->quiet)
		return;
	sc_progress_clear(&run->progress);
	fprintf(stderr, "train: epoch %.4g/%.4g: test loss %.4f, accuracy "
	    "%.2f %% (%.1f s training)\n", epoch, run->n_epochs, val_loss,
	    100.0 * val_acc, seconds);
}

/* After each update and its row: a checkpoint when one is due or the run
 * is to stop (a signal, or --stop-after), never of weights that stopped
 * being numbers. */
static int
after_update(void *ctx, struct sc_trainer *tr)
{
	struct run *run = ctx;
	long done = tr->update;
	int stop = (stop_signal != 0 && done < run->n_updates) ||
	    done == run->stop_after;

	if (run->checkpoint == NULL || !(stop || (run->every > 0 &&
	    done % run->every == 0)))
		return stop;
	if (!sc_trainer_finite(tr))
		return sc_fail("update %ld: the weights are no longer finite "
		    "numbers after lr %g: the run diverged", done - 1,
		    run->lr[done - 1]);
	if (sc_ckpt_save_run(run->checkpoint, tr, run->config) < 0)
		return -1;
	run->saved_update = done;
	return stop;
}

/* The configuration as the summary, the model file and checkpoints
 * record it; a resumed run must match it. */
static cJSON *
run_config(const struct args *a, const struct sc_trainer *tr,
    const struct sc_schedule_table *sched)
{
	cJSON *cfg = sc_train_config_json(&a->cfg, tr->model);
	uLong crc = crc32(0L, Z_NULL, 0);
	char text[16];

	if (cfg == NULL)
		return NULL;
	/* The file read, or the clrgen options that write the schedule
	 * computed. */
	cJSON_AddStringToObject(cfg, "schedule", a->have_policy ?
	    a->sched_desc : a->schedule);
	/* The rows themselves, whatever their source. */
	crc = crc32(crc, (const Bytef *)sched->lr,
	    (uInt)(sched->n * sizeof(double)));
	if (sched->momentum != NULL)
		crc = crc32(crc, (const Bytef *)sched->momentum,
		    (uInt)(sched->n * sizeof(double)));
	snprintf(text, sizeof(text), "%08lx", (unsigned long)crc);
	cJSON_AddNumberToObject(cfg, "schedule_rows", (double)sched->n);
	cJSON_AddStringToObject(cfg, "schedule_crc", text);
	if (!a->have_momentum_column)
		cJSON_AddNumberToObject(cfg, "momentum", a->cfg.momentum);
	cJSON_AddNumberToObject(cfg, "log_every", a->cfg.log_every);
	cJSON_AddNumberToObject(cfg, "steps_per_epoch",
	    (double)tr->steps_per_epoch);
	if (a->cfg.estimate_every > 0)
		cJSON_AddNumberToObject(cfg, "estimate_lr",
		    (double)a->cfg.estimate_every);
	return cfg;
}

static cJSON *
summary_json(const cJSON *config, const struct sc_trainer *tr,
    const struct sc_train_result *res, double wall)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *cfg = cJSON_Duplicate(config, 1);

	if (o == NULL || cfg == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(cfg);
		return NULL;
	}
	cJSON_AddNumberToObject(o, "test_loss", res->test_loss);
	cJSON_AddNumberToObject(o, "test_acc", res->test_acc);
	cJSON_AddNumberToObject(o, "samples_per_sec", res->samples_per_sec);
	cJSON_AddNumberToObject(o, "steady_samples_per_sec",
	    res->steady_samples_per_sec);
	cJSON_AddNumberToObject(o, "wall_seconds", wall);
	cJSON_AddNumberToObject(o, "updates", (double)res->updates);
	cJSON_AddNumberToObject(o, "peak_rss_mb", res->peak_rss_mb);
	/* Forward and backward (about twice the forward) per sample. */
	cJSON_AddNumberToObject(o, "gflops", 3.0 *
	    sc_model_flops(tr->model) * res->samples_per_sec / 1e9);
	cJSON_AddItemToObject(o, "config", cfg);
	return o;
}

static int
write_summary(const char *path, const cJSON *o)
{
	struct sc_out out;
	char *text = cJSON_Print(o);

	if (text == NULL)
		return sc_fail("out of memory");
	if (sc_out_open(&out, path) < 0) {
		free(text);
		return -1;
	}
	fprintf(out.f, "%s\n", text);
	free(text);
	return sc_out_commit(&out);
}

/* The run was stopped before its end, with a checkpoint written unless
 * none was asked for.  The training CSV keeps its rows up to the stop,
 * which are the rows before the checkpoint's update, so that the
 * resumed run's rows continue it; without a checkpoint there is nothing
 * to continue and a named CSV is left as it was.  Returns the exit
 * status. */
static int
stopped(const struct args *a, struct run *run, struct sc_out *out,
    long done)
{
	int sig = stop_signal;

	sc_progress_clear(&run->progress);
	if (run->checkpoint == NULL) {
		if (out->f == stdout)
			fflush(stdout);
		sc_out_abort(out);
		tool_warn("stopped by %s after update %ld of %ld; no "
		    "checkpoint written (no --checkpoint given)",
		    signal_name(sig), done, run->n_updates);
		return 128 + sig;
	}
	if (sc_out_commit(out) < 0)
		return -1;
	if (sig != 0)
		tool_warn("stopped by %s after update %ld of %ld; checkpoint "
		    "in %s (continue with --resume %s)", signal_name(sig),
		    done, run->n_updates, a->checkpoint, a->checkpoint);
	else if (!a->quiet)
		tool_warn("stopped after update %ld of %ld (--stop-after); "
		    "checkpoint in %s", done, run->n_updates, a->checkpoint);
	return sig != 0 ? 128 + sig : EXIT_OK;
}

/* Train, then write the model, the summary and the training CSV.
 * Returns the exit status, or -1 with a message. */
static int
run_training(const struct args *a, struct sc_trainer *tr,
    const struct sc_schedule_table *sched, const cJSON *config, double t0)
{
	struct sc_train_hooks hooks = { on_row, on_update, on_epoch,
	    after_update, NULL };
	struct sc_train_result res;
	struct sc_out out;
	struct run run;
	cJSON *summary;
	int rc;

	if ((rc = stopped_before_training()) != 0)
		return rc;
	/* An output that cannot be written is found before the training,
	 * not after it. */
	if (sc_out_check(a->summary) < 0 || sc_out_check(a->save) < 0 ||
	    sc_out_open(&out, a->output) < 0)
		return -1;
	memset(&run, 0, sizeof(run));
	sc_csv_writer_init(&run.w, out.f);
	sc_progress_start(&run.progress, a->quiet ? NULL : stderr, "train");
	run.steps_per_epoch = tr->steps_per_epoch;
	run.n_epochs = (double)sched->n / tr->steps_per_epoch;
	run.quiet = a->quiet;
	run.out_name = sc_out_name(&out);
	run.estimate = a->cfg.estimate_every > 0;
	run.checkpoint = a->checkpoint;
	run.config = config;
	run.lr = sched->lr;
	run.n_updates = sched->n;
	run.every = a->every_epochs > 0 ?
	    a->every_epochs * tr->steps_per_epoch : a->every_updates;
	run.stop_after = a->stop_after < sched->n ? a->stop_after : 0;
	run.saved_update = -1;
	hooks.ctx = &run;

	if (sc_csv_header_plus(&run.w, sc_log_columns,
	    a->cfg.estimate_every > 0 ? "lr_estimate" : NULL) < 0)
		rc = sc_fail("%s: write failed: %s", run.out_name,
		    strerror(errno));
	else
		rc = sc_train_run(tr, sched->n, sched->lr, sched->momentum,
		    &hooks, &res);
	if (rc < 0) {
		/* A named output is complete or absent: the file the user
		 * had stays as it was.  On standard output the rows so far
		 * have already gone out. */
		sc_progress_clear(&run.progress);
		if (out.f == stdout)
			fflush(stdout);
		sc_out_abort(&out);
		if (run.saved_update >= 0) {
			char why[1024];

			snprintf(why, sizeof(why), "%s", sc_error());
			sc_fail("%s; %s holds update %ld", why, a->checkpoint,
			    run.saved_update);
		}
		return -1;
	}
	if (rc == 1)
		return stopped(a, &run, &out, tr->update);
	if (stop_signal != 0 && !a->quiet)
		tool_warn("%s came after the last update: the run is complete",
		    signal_name(stop_signal));

	/* The training CSV goes into place last, so a run whose model or
	 * summary could not be written leaves the log the user had. */
	summary = summary_json(config, tr, &res, sc_seconds() - t0);
	if (summary == NULL) {
		sc_out_abort(&out);
		return sc_fail("out of memory");
	}
	rc = 0;
	if (a->save != NULL)
		rc = sc_ckpt_save(a->save, tr->model,
		    cJSON_GetObjectItem(summary, "config"));
	if (rc == 0 && a->summary != NULL)
		rc = write_summary(a->summary, summary);
	if (rc == 0)
		rc = sc_out_commit(&out);
	else
		sc_out_abort(&out);
	if (rc == 0 && !a->quiet)
		fprintf(stderr, "train: %ld updates, test accuracy %.2f %%, "
		    "%.0f samples/s\n", res.updates, 100.0 * res.test_acc,
		    res.samples_per_sec);
	if (rc == 0 && a->profile) {
		fprintf(stderr, "train: time by layer (scoring included):\n");
		sc_model_print_profile(tr->model, stderr);
		fprintf(stderr, "train: drawing batches %.3f s, SGD updates "
		    "%.3f s\n", tr->gather_seconds, tr->update_seconds);
	}
	cJSON_Delete(summary);
	return rc < 0 ? -1 : EXIT_OK;
}

/* Build the network for the data and list its layers on stdout. */
static int
model_info(struct args *a)
{
	struct sc_trainer *tr;

	if (sc_train_config_finish(&a->cfg) < 0)
		return tool_fail(EXIT_USAGE);
	tr = sc_trainer_create(&a->cfg);
	if (tr == NULL)
		return tool_fail(sc_error_is_usage() ?
		    EXIT_USAGE : EXIT_RUNTIME);
	printf("model %s on %s (%d classes), batch %d\n",
	    a->cfg.model_name, a->cfg.data.spec, tr->data.n_classes,
	    a->cfg.batch);
	sc_model_print(tr->model, stdout);
	sc_trainer_free(tr);
	return tool_close_stdout(EXIT_OK);
}

/* Check a model file or a checkpoint whole and print its JSON header. */
static int
checkpoint_info(const char *path)
{
	struct sc_ckpt_view v;
	char *text;

	if (sc_ckpt_read(path, &v) < 0)
		return tool_fail(EXIT_RUNTIME);
	text = cJSON_Print(v.header);
	sc_ckpt_view_free(&v);
	if (text == NULL) {
		tool_warn("out of memory");
		return EXIT_RUNTIME;
	}
	printf("%s\n", text);
	free(text);
	return tool_close_stdout(EXIT_OK);
}

/* The checkpoint options checked together, and the checkpoint's
 * directory tried, before the data is loaded. */
static int
checkpoint_options(const struct args *a)
{
	struct sc_out probe;

	if (a->checkpoint == NULL) {
		if (a->every_updates > 0 || a->every_epochs > 0)
			return sc_fail_usage("--checkpoint-every: needs "
			    "--checkpoint FILE to write to");
		if (a->stop_after > 0)
			return sc_fail_usage("--stop-after: needs --checkpoint "
			    "FILE to write the state to");
		return 0;
	}
	if (strcmp(a->checkpoint, "-") == 0)
		return sc_fail_usage("--checkpoint: needs a file, not standard "
		    "output");
	/* A fresh run would replace another run's state at its first
	 * checkpoint. */
	if (a->resume == NULL && !a->force &&
	    sc_ckpt_is_run_file(a->checkpoint))
		return sc_fail_usage("--checkpoint: %s holds a checkpoint; "
		    "resume it with --resume %s, or give --force to start over",
		    a->checkpoint, a->checkpoint);
	/* Nor a trained model, whose name a checkpoint took by mistake. */
	if (!a->force && sc_ckpt_file_kind(a->checkpoint) == SC_CKPT_MODEL)
		return sc_fail_usage("--checkpoint: %s holds a saved model; "
		    "give the checkpoint another name, or --force to replace "
		    "it", a->checkpoint);
	/* A file that cannot be created fails now, not after an hour of
	 * training; what is there stays untouched. */
	if (sc_out_open(&probe, a->checkpoint) < 0)
		return -1;
	sc_out_abort(&probe);
	return 0;
}

/* Standard input for one input at most, and no output on an input's
 * file, which writing it would replace (a checkpoint resumed from is the
 * one to go on with).  Returns 0, or -1 having said why. */
static int
inputs_apart(const struct args *a)
{
	const char *out_opt[] = { "-o", "--summary", "--save", "--checkpoint" };
	const char *outs[] = { a->output, a->summary, a->save, a->checkpoint };
	const char *readers[3];
	int n_readers = 0;

	if (a->schedule != NULL && strcmp(a->schedule, "-") == 0)
		readers[n_readers++] = "--schedule";
	if (a->sched_args.bounds != NULL &&
	    strcmp(a->sched_args.bounds, "-") == 0)
		readers[n_readers++] = "--bounds";
	if (strcmp(a->cfg.data.spec, "csv:-") == 0)
		readers[n_readers++] = "--data";
	if (n_readers > 1) {
		tool_warn("%s and %s both read standard input", readers[0],
		    readers[1]);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		if (tool_output_is_input(out_opt[i], outs[i],
		    "the file of --schedule", a->schedule) ||
		    tool_output_is_input(out_opt[i], outs[i],
		    "the file of --model", a->cfg.model_name) ||
		    (i < 3 && tool_output_is_input(out_opt[i], outs[i],
		    "the file of --resume", a->resume)))
			return -1;
	return 0;
}

/* Each output in a file of its own: two options naming the same file
 * would have one replace the other. */
static int
distinct_outputs(const struct args *a)
{
	const char *names[] = { "-o", "--summary", "--save", "--checkpoint" };
	const char *paths[] = { a->output, a->summary, a->save,
	    a->checkpoint };

	for (int i = 0; i < 4; i++) {
		for (int j = i + 1; j < 4; j++) {
			if (!sc_out_same(paths[i], paths[j]))
				continue;
			if (strcmp(paths[i], paths[j]) == 0)
				return sc_fail_usage("%s and %s both name %s: "
				    "each output needs a file of its own",
				    names[i], names[j], paths[j]);
			return sc_fail_usage("%s %s and %s %s are the same "
			    "file: each output needs a file of its own",
			    names[i], paths[i], names[j], paths[j]);
		}
	}
	return 0;
}

/* --resume: compare the checkpoint's configuration with this run's,
 * then restore the trainer to where the checkpoint stood. */
static int
resume(const struct args *a, struct sc_trainer *tr,
    const struct sc_schedule_table *sched, const cJSON *config,
    const struct sc_ckpt_view *v)
{
	const cJSON *saved = cJSON_GetObjectItemCaseSensitive(v->header,
	    "config");
	char diff[2048];
	int n_diff = 0;

	if (v->kind == SC_CKPT_RUN) {
		if (!cJSON_IsObject(saved))
			return sc_fail("%s: the header has no configuration",
			    a->resume);
		n_diff = sc_ckpt_config_diff(saved, config, diff,
		    sizeof(diff));
	}
	if (n_diff > 0 && !a->force)
		return sc_fail_usage("--resume: %s was written by a run "
		    "configured otherwise: %s (--force resumes anyway)",
		    a->resume, diff);
	if (n_diff > 0)
		tool_warn("--force: resuming %s although %s", a->resume, diff);
	if (sc_ckpt_restore_run(v, tr) < 0)
		return -1;
	if (tr->update >= sched->n)
		return sc_fail_usage("--resume: %s holds update %ld, and the "
		    "schedule has %ld rows: nothing is left to train",
		    a->resume, tr->update, sched->n);
	if (a->stop_after > 0 && a->stop_after <= tr->update)
		return sc_fail_usage("--stop-after: %ld updates are done "
		    "already in %s", tr->update, a->resume);
	if (!a->quiet)
		tool_warn("resuming from %s at update %ld of %ld (epoch %.4g)",
		    a->resume, tr->update, sched->n,
		    (double)tr->update / tr->steps_per_epoch);
	return 0;
}

/* --policy: the schedule options checked together, before the data is
 * loaded; with --iters the rows are checked too. */
static int
policy_options(struct args *a)
{
	if (a->schedule != NULL)
		return sc_fail_usage("--policy: contradicts --schedule (the "
		    "schedule is either computed or read, not both)");
	if (a->iters > 0 && a->epochs > 0)
		return sc_fail_usage("--iters: contradicts --epochs; with "
		    "--policy, give the length one way");
	if (a->iters == 0 && a->epochs == 0)
		return sc_fail_usage("--policy: needs the length of the run "
		    "(--iters N or --epochs E)");
	if (sc_sched_resolve(&a->sched_args, &a->sched) < 0)
		return -1;
	if (a->iters == 0)
		return 0;
	a->sched.n_iters = a->iters;
	return sc_sched_prepare(&a->sched);
}

/* The rows of --policy; with --epochs, the length is known once the
 * data is. */
static int
policy_schedule(struct args *a, const struct sc_trainer *tr,
    struct sc_schedule_table *t)
{
	if (a->epochs > 0) {
		if (tr->steps_per_epoch > (1L << 40) / a->epochs)
			return sc_fail_usage("--epochs: %ld epochs of %ld "
			    "updates is too long", a->epochs,
			    tr->steps_per_epoch);
		a->sched.n_iters = a->epochs * tr->steps_per_epoch;
		if (sc_sched_prepare(&a->sched) < 0)
			return -1;
	}
	sc_sched_describe(&a->sched, a->sched_desc, sizeof(a->sched_desc));
	return sc_schedule_fill(&a->sched, t);
}

/* The schedule file, read and checked before the data is loaded. */
static int
load_schedule(const struct args *a, struct sc_schedule_table *t)
{
	if (sc_schedule_load(a->schedule, t) < 0)
		return strcmp(a->schedule, "-") != 0 &&
		    access(a->schedule, R_OK) != 0 ?
		    sc_fail_prefix("--schedule") : -1;
	if (a->have_momentum && t->momentum != NULL) {
		sc_schedule_free(t);
		return sc_fail_usage("--momentum: the schedule %s has a "
		    "momentum column, which would override it", a->schedule);
	}
	return 0;
}

static int
exit_status(void)
{
	return sc_error_is_usage() ? EXIT_USAGE : EXIT_RUNTIME;
}

/* A step before the training failed: report why, or the stop signal
 * that cut it short.  Returns the exit status. */
static int
setup_failed(void)
{
	if (stop_signal != 0)
		return stopped_before_training();
	return tool_fail(exit_status());
}

int
main(int argc, char **argv)
{
	struct option options[96];
	struct sc_schedule_table sched;
	struct sc_trainer *tr;
	struct sc_ckpt_view resumed;
	cJSON *config = NULL;
	struct args a;
	double t0 = sc_seconds();
	int c, status, k = 0;

	tool_start("train");
	setvbuf(stdout, NULL, _IOLBF, 0);	/* a closed pipe shows at once */
	argv[0] = (char *)tool_name;	/* getopt names the tool */
	memset(&a, 0, sizeof(a));
	memset(&resumed, 0, sizeof(resumed));
	sc_train_config_default(&a.cfg);
	sc_sched_args_init(&a.sched_args);
	if (sc_sched_getopt(options, sizeof(options) / sizeof(*options),
	    own_options, SC_SCHED_SHAPE, OPT_SCHED) < 0) {
		tool_warn("internal error: option table too small");
		return EXIT_RUNTIME;
	}
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
	if (a.checkpoint_info != NULL &&
	    strcmp(a.checkpoint_info, "-") == 0) {
		tool_warn("--checkpoint-info: needs a file name, not standard "
		    "input");
		return EXIT_USAGE;
	}
	if (a.checkpoint_info != NULL)
		return checkpoint_info(a.checkpoint_info);
	if (a.model_info)
		return model_info(&a);
	if (distinct_outputs(&a) < 0)
		return tool_fail(EXIT_USAGE);
	if (inputs_apart(&a) < 0)
		return EXIT_USAGE;
	if (a.force && a.resume == NULL && a.checkpoint == NULL) {
		tool_warn("--force: applies to --resume and --checkpoint only");
		return EXIT_USAGE;
	}
	sc_io_watch_signals();
	catch_stop_signals(1);
	if (a.have_policy) {
		if (policy_options(&a) < 0)
			return setup_failed();
	} else if (a.sched_option != NULL) {
		tool_warn("--%s: a schedule option, for use with --policy",
		    a.sched_option);
		return EXIT_USAGE;
	} else if (a.schedule == NULL) {
		tool_warn("--schedule: no schedule given (a schedule CSV, "
		    "or - for standard input, or --policy to compute one)");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sc_train_config_finish(&a.cfg) < 0 ||
	    checkpoint_options(&a) < 0)
		return tool_fail(exit_status());
	/* A damaged checkpoint is reported before the data is loaded. */
	if (a.resume != NULL && sc_ckpt_read(a.resume, &resumed) < 0)
		return setup_failed();

	memset(&sched, 0, sizeof(sched));
	if (!a.have_policy && load_schedule(&a, &sched) < 0) {
		sc_ckpt_view_free(&resumed);
		return setup_failed();
	}
	tr = sc_trainer_create(&a.cfg);
	if (tr == NULL) {
		sc_ckpt_view_free(&resumed);
		sc_schedule_free(&sched);
		return setup_failed();
	}
	status = stopped_before_training();
	if (status == 0 && a.have_policy &&
	    policy_schedule(&a, tr, &sched) < 0)
		status = -1;
	a.have_momentum_column = sched.momentum != NULL;
	tr->model->profile = a.profile;
	if (status == 0 && !a.have_policy && check_length(&a, tr, sched.n) < 0)
		status = -1;
	if (status == 0 && (config = run_config(&a, tr, &sched)) == NULL)
		status = sc_fail("out of memory");
	if (status == 0 && a.resume != NULL &&
	    resume(&a, tr, &sched, config, &resumed) < 0)
		status = -1;
	sc_ckpt_view_free(&resumed);
	if (status == 0)
		status = run_training(&a, tr, &sched, config, t0);
	if (status < 0) {
		tool_warn("%s", sc_error());
		status = exit_status();
	}
	catch_stop_signals(0);
	cJSON_Delete(config);
	sc_trainer_free(tr);
	sc_schedule_free(&sched);
	return tool_close_stdout(status);
}
