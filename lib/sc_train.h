/*
 * sc_train.h - the training loop and the LR range test.
 *
 * A trainer owns the data, the network, the optimiser and every buffer a
 * training step needs; all of it is allocated when it is created, none in
 * the step.  The same trainer drives `train` (a whole schedule) and
 * `lrtest` (a sweep of learning rates).
 */
#ifndef SC_TRAIN_H
#define SC_TRAIN_H

#include <stdint.h>

#include "sc_data.h"
#include "sc_nn.h"
#include "sc_optim.h"
#include "sc_rng.h"

struct cJSON;

struct sc_train_config {
	struct sc_data_options data;	/* --data, --label, --val-split */
	struct sc_augment augment;	/* --augment */
	char augment_spec[64];
	char model_name[1024];		/* --model: preset or file */
	char hidden[256];		/* --hidden; "" for the default */
	struct sc_model_spec model;	/* parsed by sc_train_config_finish */
	int batch;
	uint64_t seed;
	int threads;			/* 0: every core */
	double weight_decay;
	int nesterov;
	int drop_last;			/* skip each epoch's partial batch */
	double momentum;		/* when the schedule gives none */
	int log_every;			/* training CSV row every k updates */
	long estimate_every;		/* secant LR estimate every k
					 * updates; 0: none */
};

/* The defaults every tool starts from. */
void sc_train_config_default(struct sc_train_config *c);

/* Apply one of the options that train and lrtest share: data, label,
 * val-split, augment, model, hidden, batch, drop-last, seed, threads,
 * weight-decay, nesterov (name without the dashes; arg NULL for flags).  Returns 0, 1 when name is
 * not one of them, or -1 with a message naming the option. */
int sc_train_option(struct sc_train_config *c, const char *name,
    const char *arg);

/* Check the options together and parse the model; returns 0 or -1. */
int sc_train_config_finish(struct sc_train_config *c);

/* The configuration as a JSON object (for summaries and checkpoints). */
struct cJSON *sc_train_config_json(const struct sc_train_config *c,
    const struct sc_model *m);

/* Smith and Topin's secant estimate of the optimal learning rate: from
 * weight snapshots theta1, theta2, theta3 taken `every` updates apart,
 *   every * lr * sum |theta2 - theta1| / sum |2 theta2 - theta1 - theta3|
 * summed over all parameters, smoothed by an EMA weighing each new
 * estimate 0.1. */
struct sc_lr_estimator {
	long every;
	size_t n;
	float *snap[2];		/* the two latest snapshots */
	int n_snaps;
	double value;		/* NaN until the first estimate */
};

int sc_estimator_init(struct sc_lr_estimator *e, size_t n_theta,
    long every);
void sc_estimator_free(struct sc_lr_estimator *e);

/* After update number `update` (from 0) made with learning rate lr. */
void sc_estimator_observe(struct sc_lr_estimator *e, long update,
    const float *theta, double lr);

struct sc_trainer {
	struct sc_train_config cfg;
	struct sc_dataset data;
	struct sc_model *model;
	struct sc_sgd opt;
	struct sc_rng rng;		/* data order */
	long steps_per_epoch;
	long update;			/* updates done */
	int grad_clear;			/* the model's gradient is all
					 * zeros: the last update cleared it */
	long batches;			/* batches drawn (several an update
					 * when gradients accumulate) */
	double gather_seconds;		/* with model->profile: drawing */
	double update_seconds;		/* batches, and the SGD updates */

	/* Where a run over a schedule stands besides the update counter,
	 * so that a checkpoint can carry it (see sc_ckpt_save_run): the
	 * sums of the training CSV row being gathered, and the learning
	 * rate estimate when cfg.estimate_every asks for it. */
	double row_loss_sum;		/* loss * samples since the last row */
	long row_correct, row_seen;
	struct sc_lr_estimator est;

	uint32_t *order;		/* this epoch's sample order */
	uint32_t *eval_idx;		/* scratch indices for scoring */
	float *x;			/* batch inputs [batch, shape] */
	uint8_t *y;			/* batch labels */
	float *dlogits;			/* [batch, classes] */
};

/* Load the data, build and initialise the network from the seed.
 * Returns NULL with a message. */
struct sc_trainer *sc_trainer_create(const struct sc_train_config *cfg);
void sc_trainer_free(struct sc_trainer *tr);

struct sc_step {
	double loss;		/* mean over the samples, before the update */
	int n;			/* samples used */
	int n_correct;
};

/* One parameter update at the given learning rate and momentum, from the
 * gradient of the next `accumulate` batches of the data order (their
 * mean loss, as one batch of all their samples would give). */
void sc_trainer_step(struct sc_trainer *tr, float lr, float momentum,
    int accumulate, struct sc_step *out);

/* Score samples idx[0..n-1] of a split (all of it when idx is NULL) in
 * eval mode: mean loss and accuracy in 0..1. */
void sc_trainer_score(struct sc_trainer *tr, const struct sc_split *s,
    const uint32_t *idx, int n, double *loss, double *acc);

/* One logged row of a training run. */
struct sc_log_row {
	long iter;
	double epoch;		/* epochs done after this update */
	double lr, momentum;
	double loss, acc;	/* means since the previous row */
	int scored;		/* val_* hold the test set's score */
	double val_loss, val_acc;
	double lr_estimate;	/* NaN until there is one, or when off */
};

struct sc_train_hooks {
	/* A row of the training CSV; nonzero return stops the run. */
	int (*on_row)(void *ctx, const struct sc_log_row *row);
	/* After every update (for progress displays); may be NULL. */
	void (*on_update)(void *ctx, long done, long total);
	/* After each epoch's scoring; may be NULL. */
	void (*on_epoch)(void *ctx, double epoch, double val_loss,
	    double val_acc, double seconds);
	/* After every update and its row, where the whole state of the run
	 * is in tr and can be saved; returns 0 to go on, 1 to stop here, -1
	 * (with a message) to fail the run.  May be NULL. */
	int (*after_update)(void *ctx, struct sc_trainer *tr);
	void *ctx;
};

#define SC_WARMUP 10

struct sc_train_result {
	double test_loss, test_acc;
	double samples_per_sec;		/* training updates only */
	/* The same after the first SC_WARMUP updates of this process,
	 * which fault in its memory; 0 when it ran no more. */
	double steady_samples_per_sec;
	double train_seconds;
	long updates;
	long samples;
	double peak_rss_mb;		/* the process's, at the end */
};

/* Train up to update n with lr[i] and momentum[i] (momentum NULL: the
 * configured constant), from update tr->update: 0 for a fresh trainer,
 * or where a restored checkpoint stood.  The test set is scored at each
 * epoch's end and after the last update.  Returns 0 when update n is
 * done, 1 when after_update stopped the run before, or -1 with a message
 * when the loss stops being finite or a hook fails. */
int sc_train_run(struct sc_trainer *tr, long n, const double *lr,
    const double *momentum, const struct sc_train_hooks *hooks,
    struct sc_train_result *res);

/* Whether the parameters, the velocity and the running statistics are
 * all finite numbers: a state worth saving. */
int sc_trainer_finite(const struct sc_trainer *tr);

/* Header names of the training CSV, NULL-terminated. */
extern const char *const sc_log_columns[];

/* The LR range test. */
enum sc_sweep { SC_SWEEP_LINEAR, SC_SWEEP_EXP };

struct sc_range_config {
	enum sc_sweep sweep;
	double min_lr, max_lr;
	long n_iters;
	double momentum;
	double smooth;		/* EMA beta of the smoothed loss */
	double stop_factor;	/* stop past this many times the best */
	int no_stop;
	long eval_every;	/* 0: never */
	int eval_size;		/* test samples scored each time */
	int bn_batches;		/* training batches that re-estimate the
				 * batch-norm statistics before each
				 * scoring; 0: the running averages */
	int accumulate;		/* batches per update */
	long estimate_every;	/* secant LR estimate every k updates; 0:
				 * none */
};

struct sc_range_row {
	long iter;
	double lr, loss, smooth_loss, acc;
	int scored;
	double val_loss, val_acc;
	double lr_estimate;	/* NaN until there is one */
};

/* The range test's stop rule: whether a smoothed loss `smooth` has risen
 * above the best so far by more than (factor - 1) times the best's
 * magnitude (the first smoothed loss's when the best is 0). */
int sc_range_diverged(double smooth, double best, double first,
    double factor);

/* Learning rate of update i of a sweep; exact at both ends. */
double sc_range_lr(const struct sc_range_config *rc, long i);

/* Run the range test, one row per update through on_row (nonzero return
 * stops it).  *stop_reason is set to a message when the test stopped
 * early (divergence or a non-finite loss), else to "".  Returns 0 or -1. */
int sc_range_run(struct sc_trainer *tr, const struct sc_range_config *rc,
    int (*on_row)(void *ctx, const struct sc_range_row *row),
    void (*on_update)(void *ctx, long done, long total), void *ctx,
    char *stop_reason, size_t reason_len);

/* Header names of the range CSV, NULL-terminated. */
extern const char *const sc_range_columns[];

#endif
