/* The LR range test: one short run with a rising learning rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* 0 .. n-1 in an order drawn from seed; NULL when out of memory. */
static uint32_t *
shuffled(int n, uint64_t seed)
{
	uint32_t *all = malloc((size_t)n * sizeof(uint32_t));
	struct sc_rng rng;

	if (all == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
		all[i] = (uint32_t)i;
	sc_rng_seed(&rng, seed);
	sc_rng_shuffle(&rng, all, n);
	return all;
}

/* A fixed sample of the test set, the same for every row. */
static uint32_t *
held_out_sample(const struct sc_trainer *tr)
{
	return shuffled(tr->data.test.n, tr->cfg.seed ^ 0x7e575a3b1eULL);
}

/*
 * "Precise" batch-norm statistics for the scoring.  The running averages
 * follow the batches by a momentum, so they describe the weights of the
 * last ten or so updates; while the learning rate grows, those weights
 * move fast, and scoring with statistics that belong to older weights
 * makes the held-out accuracy jump about.  Before each scoring, a fixed
 * sample of training batches is run forward in training mode with each
 * batch-norm layer's momentum set to 1 / (k + 1) for batch k, which
 * leaves the plain mean of those batches' statistics at the current
 * weights.  Afterwards the running averages, the momenta and the dropout
 * stream are put back, so the test's training runs exactly as without.
 */
struct precise_bn {
	uint32_t *sample;	/* training samples, n_batches batches */
	int n_batches;
	float *saved;		/* the running averages training left */
	float momentum[SC_MAX_LAYERS];
	struct sc_rng dropout;
};

static int
is_bn(const struct sc_layer *l)
{
	return strcmp(l->ops->kind, "batchnorm") == 0;
}

/* Returns 0, with pb->n_batches 0 when there is nothing to re-estimate
 * (no batch-norm layer, or none asked for), or -1 out of memory. */
static int
precise_bn_init(struct precise_bn *pb, const struct sc_trainer *tr,
    int n_batches)
{
	const struct sc_model *m = tr->model;
	int n_bn = 0, n_train = tr->data.train.n;

	memset(pb, 0, sizeof(*pb));
	for (int j = 0; j < m->n_layers; j++)
		n_bn += is_bn(&m->layers[j]);
	if (n_bn == 0 || n_batches <= 0)
		return 0;
	if (n_batches > n_train / tr->cfg.batch)
		n_batches = n_train / tr->cfg.batch;
	pb->sample = shuffled(n_train, tr->cfg.seed ^ 0xb47c4e0125ULL);
	pb->saved = malloc(m->n_state * sizeof(float));
	if (pb->sample == NULL || pb->saved == NULL) {
		free(pb->sample);
		free(pb->saved);
		return sc_fail("out of memory");
	}
	pb->n_batches = n_batches;
	return 0;
}

static void
precise_bn_free(struct precise_bn *pb)
{
	free(pb->sample);
	free(pb->saved);
}

static void
precise_bn_estimate(struct precise_bn *pb, struct sc_trainer *tr)
{
	struct sc_model *m = tr->model;
	int B = tr->cfg.batch;

	memcpy(pb->saved, m->state, m->n_state * sizeof(float));
	pb->dropout = m->rng;
	for (int j = 0; j < m->n_layers; j++)
		pb->momentum[j] = m->layers[j].momentum;
	for (int k = 0; k < pb->n_batches; k++) {
		for (int j = 0; j < m->n_layers; j++)
			if (is_bn(&m->layers[j]))
				m->layers[j].momentum = 1.0f / (float)(k + 1);
		sc_data_gather(&tr->data, &tr->data.train,
		    pb->sample + (size_t)k * B, B, tr->x, tr->y, NULL, NULL);
		sc_model_forward(m, tr->x, B, 1);
	}
}

static void
precise_bn_restore(struct precise_bn *pb, struct sc_trainer *tr)
{
	struct sc_model *m = tr->model;

	memcpy(m->state, pb->saved, m->n_state * sizeof(float));
	m->rng = pb->dropout;
	for (int j = 0; j < m->n_layers; j++)
		m->layers[j].momentum = pb->momentum[j];
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
	struct precise_bn pb = { 0 };
	int rc_out = 0;

	stop_reason[0] = '\0';
	if (eval_n > tr->data.test.n)
		eval_n = tr->data.test.n;
	if (rc->estimate_every > 0 && sc_estimator_init(&est,
	    tr->model->n_theta, rc->estimate_every) < 0)
		return -1;
	if (rc->eval_every > 0) {
		sample = held_out_sample(tr);
		if (sample == NULL || precise_bn_init(&pb, tr,
		    rc->bn_batches) < 0) {
			free(sample);
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
			if (pb.n_batches > 0)
				precise_bn_estimate(&pb, tr);
			sc_trainer_score(tr, &tr->data.test, sample, eval_n,
			    &row.val_loss, &row.val_acc);
			if (pb.n_batches > 0)
				precise_bn_restore(&pb, tr);
			row.scored = 1;
		}
		if (on_row(ctx, &row) != 0) {
			rc_out = -1;
			break;
		}
		if (on_update != NULL)
			on_update(ctx, i + 1, rc->n_iters);

		if (!isfinite(row.loss) || !isfinite(row.smooth_loss)) {
			double bad = isfinite(row.loss) ? row.smooth_loss :
			    row.loss;

			snprintf(stop_reason, reason_len, "stopped at update "
			    "%ld (lr %g): the %sloss is %s", i, row.lr,
			    isfinite(row.loss) ? "smoothed " : "",
			    isnan(bad) ? "not a number" : "infinite");
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
	precise_bn_free(&pb);
	sc_estimator_free(&est);
	return rc_out;
}
