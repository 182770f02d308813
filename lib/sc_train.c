/* The trainer: one training step, scoring, and the run over a schedule. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sc_blas.h"
#include "sc_error.h"
#include "sc_opt.h"
#include "sc_train.h"

const char *const sc_log_columns[] = {
	"iter", "epoch", "lr", "momentum", "loss", "acc", "val_loss",
	"val_acc", NULL,
};

void
sc_train_config_default(struct sc_train_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->data.spec, sizeof(c->data.spec), "fashion-mnist");
	snprintf(c->data.label, sizeof(c->data.label), "label");
	snprintf(c->augment_spec, sizeof(c->augment_spec), "none");
	snprintf(c->model_name, sizeof(c->model_name), "mlp");
	sc_model_spec_parse(&c->model, "mlp", NULL);
	c->batch = 128;
	c->seed = 1;
	c->threads = 0;
	c->weight_decay = 5e-4;
	c->momentum = 0.9;
	c->log_every = 10;
}

static int
copy_text(char *dst, size_t len, const char *name, const char *arg)
{
	if (strlen(arg) >= len)
		return sc_fail("--%s: '%.40s...' is too long", name, arg);
	snprintf(dst, len, "%s", arg);
	return 0;
}

int
sc_train_option(struct sc_train_config *c, const char *name,
    const char *arg)
{
	if (strcmp(name, "data") == 0)
		return copy_text(c->data.spec, sizeof(c->data.spec), name, arg);
	if (strcmp(name, "label") == 0)
		return copy_text(c->data.label, sizeof(c->data.label), name,
		    arg);
	if (strcmp(name, "val-split") == 0) {
		/* A share of the rows: some, not all, so 0 and 1 are out
		 * as well as what lies beyond them. */
		if (sc_opt_double("--val-split", arg, -HUGE_VAL, HUGE_VAL,
		    &c->data.val_split) < 0)
			return -1;
		if (!(c->data.val_split > 0.0 && c->data.val_split < 1.0))
			return sc_fail("--val-split: must be between 0 and 1, "
			    "0 and 1 excluded, not %s", arg);
		return 0;
	}
	if (strcmp(name, "augment") == 0) {
		if (copy_text(c->augment_spec, sizeof(c->augment_spec), name,
		    arg) < 0)
			return -1;
		return sc_augment_parse(&c->augment, arg);
	}
	if (strcmp(name, "model") == 0)
		return copy_text(c->model_name, sizeof(c->model_name), name,
		    arg);
	if (strcmp(name, "hidden") == 0) {
		if (*arg == '\0')
			return sc_fail_usage("--hidden: no widths given");
		return copy_text(c->hidden, sizeof(c->hidden), name, arg);
	}
	if (strcmp(name, "batch") == 0)
		return sc_opt_int("--batch", arg, 1, 1 << 20, &c->batch);
	if (strcmp(name, "seed") == 0)
		return sc_opt_u64("--seed", arg, &c->seed);
	if (strcmp(name, "threads") == 0)
		return sc_opt_int("--threads", arg, 1, 1024, &c->threads);
	if (strcmp(name, "weight-decay") == 0)
		return sc_opt_double("--weight-decay", arg, 0.0, 1.0,
		    &c->weight_decay);
	if (strcmp(name, "drop-last") == 0) {
		c->drop_last = 1;
		return 0;
	}
	if (strcmp(name, "nesterov") == 0) {
		c->nesterov = 1;
		return 0;
	}
	return 1;
}

int
sc_train_config_finish(struct sc_train_config *c)
{
	return sc_model_spec_parse(&c->model, c->model_name,
	    c->hidden[0] != '\0' ? c->hidden : NULL);
}

cJSON *
sc_train_config_json(const struct sc_train_config *c,
    const struct sc_model *m)
{
	cJSON *o = cJSON_CreateObject();
	char desc[256];

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "data", c->data.spec);
	if (strncmp(c->data.spec, "csv:", 4) == 0)
		cJSON_AddStringToObject(o, "label", c->data.label);
	if (c->data.val_split > 0.0)
		cJSON_AddNumberToObject(o, "val_split", c->data.val_split);
	cJSON_AddStringToObject(o, "augment", c->augment_spec);
	cJSON_AddStringToObject(o, "model", c->model_name);
	if (c->hidden[0] != '\0')
		cJSON_AddStringToObject(o, "hidden", c->hidden);
	if (m != NULL) {
		sc_model_describe(m, desc, sizeof(desc));
		cJSON_AddStringToObject(o, "layers", desc);
		cJSON_AddNumberToObject(o, "parameters", (double)m->n_theta);
	}
	cJSON_AddNumberToObject(o, "batch", c->batch);
	cJSON_AddNumberToObject(o, "seed", (double)c->seed);
	cJSON_AddNumberToObject(o, "threads", sc_threads());
	cJSON_AddStringToObject(o, "blas_core", sc_blas_core());
	cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
	cJSON_AddBoolToObject(o, "nesterov", c->nesterov);
	cJSON_AddBoolToObject(o, "drop_last", c->drop_last);
	return o;
}

static void *
checked_alloc(size_t n, size_t size, int *failed)
{
	void *p = calloc(n > 0 ? n : 1, size);

	if (p == NULL)
		*failed = 1;
	return p;
}

struct sc_trainer *
sc_trainer_create(const struct sc_train_config *cfg)
{
	struct sc_trainer *tr = calloc(1, sizeof(*tr));
	struct sc_rng init_rng;
	size_t sample;
	int failed = 0;

	if (tr == NULL) {
		sc_fail("out of memory");
		return NULL;
	}
	tr->cfg = *cfg;
	if (cfg->batch < 1) {
		sc_fail_usage("--batch: must be at least 1, not %d", cfg->batch);
		goto fail;
	}
	tr->cfg.data.seed = cfg->seed;
	if (sc_blas_init(cfg->threads) < 0 ||
	    sc_data_load(&tr->data, &tr->cfg.data) < 0)
		goto fail;
	if (tr->data.is_table && (cfg->augment.crop_pad > 0 ||
	    cfg->augment.flip)) {
		sc_fail_usage("--augment: crops and flips apply to images, and %s "
		    "is a table", cfg->data.spec);
		goto fail;
	}
	if (cfg->batch > tr->data.train.n) {
		sc_fail_usage("--batch: %d is more than the %d training samples",
		    cfg->batch, tr->data.train.n);
		goto fail;
	}
	tr->model = sc_model_create(&cfg->model, tr->data.shape,
	    tr->data.n_classes, cfg->batch);
	if (tr->model == NULL)
		goto fail;

	/* Separate streams, so that a change in one (say a different
	 * network) leaves the data order the same. */
	sc_rng_seed(&init_rng, cfg->seed);
	sc_rng_seed(&tr->rng, cfg->seed ^ 0x5eedda7a0de5ULL);
	sc_model_init(tr->model, &init_rng);
	tr->opt.weight_decay = (float)cfg->weight_decay;
	tr->opt.nesterov = cfg->nesterov;

	tr->steps_per_epoch = cfg->drop_last ?
	    tr->data.train.n / cfg->batch :
	    (tr->data.train.n + cfg->batch - 1) / cfg->batch;
	sample = sc_shape_size(tr->data.shape);
	tr->order = checked_alloc(tr->data.train.n, sizeof(uint32_t), &failed);
	tr->eval_idx = checked_alloc(cfg->batch, sizeof(uint32_t), &failed);
	tr->x = checked_alloc((size_t)cfg->batch * sample, sizeof(float),
	    &failed);
	tr->y = checked_alloc(cfg->batch, 1, &failed);
	tr->dlogits = checked_alloc((size_t)cfg->batch * tr->data.n_classes,
	    sizeof(float), &failed);
	if (failed) {
		sc_fail("out of memory for the batch buffers");
		goto fail;
	}
	if (cfg->estimate_every > 0 && sc_estimator_init(&tr->est,
	    tr->model->n_theta, cfg->estimate_every) < 0)
		goto fail;
	for (int i = 0; i < tr->data.train.n; i++)
		tr->order[i] = (uint32_t)i;
	return tr;

fail:
	sc_trainer_free(tr);
	return NULL;
}

void
sc_trainer_free(struct sc_trainer *tr)
{
	if (tr == NULL)
		return;
	sc_model_free(tr->model);
	sc_data_free(&tr->data);
	free(tr->order);
	free(tr->eval_idx);
	free(tr->x);
	free(tr->y);
	free(tr->dlogits);
	sc_estimator_free(&tr->est);
	free(tr);
}

static int
all_finite(const float *v, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (!isfinite(v[j]))
			return 0;
	return 1;
}

int
sc_trainer_finite(const struct sc_trainer *tr)
{
	const struct sc_model *m = tr->model;

	return all_finite(m->theta, m->n_theta) &&
	    all_finite(m->velocity, m->n_theta) &&
	    all_finite(m->state, m->n_state);
}

/* Draw the next batch of the data order into tr->x and tr->y; returns
 * its size. */
static int
next_batch(struct sc_trainer *tr)
{
	struct sc_model *m = tr->model;
	long k = tr->batches % tr->steps_per_epoch;
	long first = k * tr->cfg.batch;
	int n = tr->cfg.batch;
	double t0 = m->profile ? sc_seconds() : 0.0;

	/* Each epoch sees the training set in a fresh order. */
	if (k == 0)
		sc_rng_shuffle(&tr->rng, tr->order, tr->data.train.n);
	if (first + n > tr->data.train.n)
		n = (int)(tr->data.train.n - first);
	sc_data_gather(&tr->data, &tr->data.train, tr->order + first, n,
	    tr->x, tr->y, &tr->cfg.augment, &tr->rng);
	tr->batches++;
	if (m->profile)
		tr->gather_seconds += sc_seconds() - t0;
	return n;
}

void
sc_trainer_step(struct sc_trainer *tr, float lr, float momentum,
    int accumulate, struct sc_step *out)
{
	struct sc_model *m = tr->model;
	double loss_sum = 0.0, t0;

	memset(out, 0, sizeof(*out));
	if (!tr->grad_clear)
		sc_model_zero_grad(m);
	tr->grad_clear = 0;
	for (int a = 0; a < accumulate; a++) {
		int n = next_batch(tr), correct;
		const float *logits = sc_model_forward(m, tr->x, n, 1);
		size_t len = (size_t)n * m->n_classes;

		loss_sum += sc_softmax_xent(logits, tr->y, n, m->n_classes,
		    tr->dlogits, &correct) * n;
		/* Gradients of the batches add up; each is scaled to its
		 * share of the update's mean. */
		if (accumulate > 1)
			for (size_t j = 0; j < len; j++)
				tr->dlogits[j] /= (float)accumulate;
		sc_model_backward(m, tr->x, tr->dlogits, n);
		out->n += n;
		out->n_correct += correct;
	}
	out->loss = loss_sum / out->n;

	t0 = m->profile ? sc_seconds() : 0.0;
	sc_sgd_update(&tr->opt, m->theta, m->grad, m->velocity, m->n_theta,
	    lr, momentum);
	tr->grad_clear = 1;
	if (m->profile)
		tr->update_seconds += sc_seconds() - t0;
	tr->update++;
}

int
sc_estimator_init(struct sc_lr_estimator *e, size_t n_theta, long every)
{
	memset(e, 0, sizeof(*e));
	e->every = every;
	e->n = n_theta;
	e->value = NAN;
	e->snap[0] = malloc(n_theta * sizeof(float));
	e->snap[1] = malloc(n_theta * sizeof(float));
	if (e->snap[0] == NULL || e->snap[1] == NULL) {
		sc_estimator_free(e);
		return sc_fail("out of memory for the weight snapshots");
	}
	return 0;
}

void
sc_estimator_free(struct sc_lr_estimator *e)
{
	free(e->snap[0]);
	free(e->snap[1]);
	e->snap[0] = e->snap[1] = NULL;
}

void
sc_estimator_observe(struct sc_lr_estimator *e, long update,
    const float *theta, double lr)
{
	const float *t1 = e->snap[0], *t2 = e->snap[1];
	double step = 0.0, bend = 0.0, estimate;
	float *oldest;

	if ((update + 1) % e->every != 0)
		return;
	if (e->n_snaps == 2) {
		for (size_t j = 0; j < e->n; j++) {
			step += fabs((double)t2[j] - t1[j]);
			bend += fabs(2.0 * t2[j] - t1[j] - theta[j]);
		}
		if (bend > 0.0) {
			estimate = e->every * lr * step / bend;
			e->value = isnan(e->value) ? estimate :
			    0.9 * e->value + 0.1 * estimate;
		}
	}
	/* The oldest snapshot makes room for this one. */
	oldest = e->snap[0];
	if (e->n_snaps < 2) {
		memcpy(e->snap[e->n_snaps++], theta, e->n * sizeof(float));
		return;
	}
	e->snap[0] = e->snap[1];
	e->snap[1] = oldest;
	memcpy(oldest, theta, e->n * sizeof(float));
}

void
sc_trainer_score(struct sc_trainer *tr, const struct sc_split *s,
    const uint32_t *idx, int n, double *loss, double *acc)
{
	struct sc_model *m = tr->model;
	double total = 0.0;
	long correct = 0;

	if (idx == NULL)
		n = s->n;
	for (int first = 0; first < n; first += tr->cfg.batch) {
		int k = n - first < tr->cfg.batch ? n - first : tr->cfg.batch;
		const uint32_t *chunk = tr->eval_idx;
		const float *logits;
		int c;

		if (idx != NULL)
			chunk = idx + first;
		else
			for (int j = 0; j < k; j++)
				tr->eval_idx[j] = (uint32_t)(first + j);
		sc_data_gather(&tr->data, s, chunk, k, tr->x, tr->y, NULL,
		    NULL);
		logits = sc_model_forward(m, tr->x, k, 0);
		total += sc_softmax_xent(logits, tr->y, k, m->n_classes, NULL,
		    &c) * k;
		correct += c;
	}
	*loss = total / n;
	*acc = (double)correct / n;
}


/* The row of the training CSV for update i, from the sums gathered since
 * the previous one; the held-out set is scored at an epoch's end and
 * after the last update. */
static int
log_row(struct sc_trainer *tr, long i, long n, double lr, double mom,
    const struct sc_train_hooks *hooks, struct sc_train_result *res,
    double *t_epoch)
{
	struct sc_log_row row;

	memset(&row, 0, sizeof(row));
	row.iter = i;
	row.epoch = (double)(i + 1) / tr->steps_per_epoch;
	row.lr = lr;
	row.momentum = mom;
	row.loss = tr->row_loss_sum / tr->row_seen;
	row.acc = (double)tr->row_correct / tr->row_seen;
	row.lr_estimate = tr->cfg.estimate_every > 0 ? tr->est.value : NAN;
	if ((i + 1) % tr->steps_per_epoch == 0 || i == n - 1) {
		sc_trainer_score(tr, &tr->data.test, NULL, 0, &row.val_loss,
		    &row.val_acc);
		row.scored = 1;
		res->test_loss = row.val_loss;
		res->test_acc = row.val_acc;
		if (hooks->on_epoch != NULL)
			hooks->on_epoch(hooks->ctx, row.epoch, row.val_loss,
			    row.val_acc, *t_epoch);
		*t_epoch = 0.0;
	}
	if (hooks->on_row(hooks->ctx, &row) != 0)
		return -1;
	tr->row_loss_sum = 0.0;
	tr->row_correct = tr->row_seen = 0;
	return 0;
}

int
sc_train_run(struct sc_trainer *tr, long n, const double *lr,
    const double *momentum, const struct sc_train_hooks *hooks,
    struct sc_train_result *res)
{
	double t_train = 0.0, t_epoch = 0.0, t_steady = 0.0;
	long samples = 0, steady = 0, first = tr->update;
	int log_every = tr->cfg.log_every > 0 ? tr->cfg.log_every : 1;
	int rc = 0;

	memset(res, 0, sizeof(res[0]));
	for (long i = tr->update; i < n; i++) {
		double mom = momentum != NULL ? momentum[i] : tr->cfg.momentum;
		int epoch_end = (i + 1) % tr->steps_per_epoch == 0;
		struct sc_step st;
		double t0 = sc_seconds(), dt;

		sc_trainer_step(tr, (float)lr[i], (float)mom, 1, &st);
		dt = sc_seconds() - t0;
		t_train += dt;
		t_epoch += dt;
		samples += st.n;
		if (i - first >= SC_WARMUP) {
			t_steady += dt;
			steady += st.n;
		}
		if (!isfinite(st.loss)) {
			rc = sc_fail("update %ld: training loss is %s at lr "
			    "%g: the run diverged", i, isnan(st.loss) ?
			    "NaN" : "infinite", lr[i]);
			break;
		}
		if (tr->cfg.estimate_every > 0)
			sc_estimator_observe(&tr->est, i, tr->model->theta,
			    lr[i]);
		tr->row_loss_sum += st.loss * st.n;
		tr->row_correct += st.n_correct;
		tr->row_seen += st.n;
		if (hooks->on_update != NULL)
			hooks->on_update(hooks->ctx, i + 1, n);

		if (((i + 1) % log_every == 0 || epoch_end || i == n - 1) &&
		    log_row(tr, i, n, lr[i], mom, hooks, res, &t_epoch) < 0) {
			rc = -1;
			break;
		}
		if (hooks->after_update != NULL &&
		    (rc = hooks->after_update(hooks->ctx, tr)) != 0)
			break;
	}
	if (rc < 0)
		return -1;
	res->updates = tr->update;
	res->samples = samples;
	res->train_seconds = t_train;
	res->samples_per_sec = t_train > 0.0 ? samples / t_train : 0.0;
	res->steady_samples_per_sec = t_steady > 0.0 ? steady / t_steady :
	    0.0;
	{
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			res->peak_rss_mb = ru.ru_maxrss / 1024.0;
	}
	return rc;
}
