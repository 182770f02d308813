/* The LR range test: one short run with a rising learning rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sc_error.h"
#include "sc_train.h"

const char *const sc_range_columns[] = {
	"iter", "lr", "loss", "smooth_loss", "acc", "val_loss", "val_acc",
	NULL,
};

double
sc_range_lr(const struct sc_range_config *rc, long i)
{
	double r;

	if (rc->n_iters < 2 || i == 0)
		return rc->min_lr;
	if (i == rc->n_iters - 1)
		return rc->max_lr;
	r = (double)i / (double)(rc->n_iters - 1);
	if (rc->sweep == SC_SWEEP_EXP)
		return rc->min_lr * pow(rc->max_lr / rc->min_lr, r);
	return rc->min_lr + (rc->max_lr - rc->min_lr) * r;
}

/* The divergence rule: smooth has moved above best by more than
 * (factor - 1) times best's magnitude.  For a positive best this is
 * smooth > factor * best, fastai's and pytorch-lr-finder's rule; written
 * this way it keeps its meaning when the losses are negative, and a best
 * of exactly 0 is measured against the first smoothed loss instead. */
int
sc_range_diverged(double smooth, double best, double first,
    double factor)
{
	double scale = best != 0.0 ? fabs(best) : fabs(first);

	if (scale == 0.0)
		return 0;
	return smooth - best > (factor - 1.0) * scale;
}

/* A fixed sample of the test set, the same for every row. */
static uint32_t *
held_out_sample(const struct sc_trainer *tr)
{
	uint32_t *all = malloc((size_t)tr->data.test.n * sizeof(uint32_t));
	struct sc_rng rng;

	if (all == NULL)
		return NULL;
	for (int i = 0; i < tr->data.test.n; i++)
		all[i] = (uint32_t)i;
	sc_rng_seed(&rng, tr->cfg.seed ^ 0x7e575a3b1eULL);
	sc_rng_shuffle(&rng, all, tr->data.test.n);
	return all;
}

int
sc_range_run(struct sc_trainer *tr, const struct sc_range_config *rc,
    int (*on_row)(void *ctx, const struct sc_range_row *row),
    void (*on_update)(void *ctx, long done, long total), void *ctx,
    char *stop_reason, size_t reason_len)
{
	double avg = 0.0, best = INFINITY, first = 0.0, beta_pow = 1.0;
	int eval_n = rc->eval_size;
	uint32_t *sample = NULL;
	struct sc_lr_estimator est = { 0 };
	int rc_out = 0;

	stop_reason[0] = '\0';
	if (eval_n > tr->data.test.n)
		eval_n = tr->data.test.n;
	if (rc->estimate_every > 0 && sc_estimator_init(&est,
	    tr->model->n_theta, rc->estimate_every) < 0)
		return -1;
	if (rc->eval_every > 0) {
		sample = held_out_sample(tr);
		if (sample == NULL) {
			sc_estimator_free(&est);
			return sc_fail("out of memory");
		}
	}

	for (long i = 0; i < rc->n_iters; i++) {
		struct sc_range_row row = { 0 };
		struct sc_step st;

		row.iter = i;
		row.lr = sc_range_lr(rc, i);
		sc_trainer_step(tr, (float)row.lr, (float)rc->momentum,
		    rc->accumulate, &st);
		row.loss = st.loss;
		row.acc = (double)st.n_correct / st.n;
		row.lr_estimate = NAN;
		if (rc->estimate_every > 0) {
			sc_estimator_observe(&est, i, tr->model->theta,
			    row.lr);
			row.lr_estimate = est.value;
		}

		/* Bias-corrected exponential moving average. */
		avg = rc->smooth * avg + (1.0 - rc->smooth) * st.loss;
		beta_pow *= rc->smooth;
		row.smooth_loss = beta_pow < 1.0 ? avg / (1.0 - beta_pow) :
		    st.loss;

		if (sample != NULL && ((i + 1) % rc->eval_every == 0 ||
		    i == rc->n_iters - 1)) {
			sc_trainer_score(tr, &tr->data.test, sample, eval_n,
			    &row.val_loss, &row.val_acc);
			row.scored = 1;
		}
		if (on_row(ctx, &row) != 0) {
			rc_out = -1;
			break;
		}
		if (on_update != NULL)
			on_update(ctx, i + 1, rc->n_iters);

		if (!isfinite(row.loss) || !isfinite(row.smooth_loss)) {
			snprintf(stop_reason, reason_len, "stopped at update "
			    "%ld (lr %g): the loss is %g", i, row.lr,
			    row.loss);
			break;
		}
		if (i == 0)
			first = row.smooth_loss;
		if (row.smooth_loss < best)
			best = row.smooth_loss;
		if (!rc->no_stop && sc_range_diverged(row.smooth_loss, best, first,
		    rc->stop_factor)) {
			snprintf(stop_reason, reason_len, "stopped at update "
			    "%ld (lr %g): smoothed loss %g passed %g times "
			    "the best, %g", i, row.lr, row.smooth_loss,
			    rc->stop_factor, best);
			break;
		}
	}
	free(sample);
	sc_estimator_free(&est);
	return rc_out;
}
