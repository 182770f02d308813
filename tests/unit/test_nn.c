/*
 * Numeric kernels against finite differences and naive loops: dense,
 * ReLU, softmax cross-entropy, a whole MLP, and one SGD update computed
 * by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc_blas.h"
#include "sc_nn.h"
#include "sc_optim.h"
#include "sc_rng.h"

static void
fill(struct sc_rng *rng, float *p, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * scale);
}

/* Keep inputs away from ReLU's kink so differences are clean. */
static void
fill_off_zero(struct sc_rng *rng, float *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double v = 0.1 + sc_rng_uniform(rng);

		p[i] = (float)(sc_rng_uniform(rng) < 0.5 ? -v : v);
	}
}

/* L = sum(y * r): its gradient with respect to y is r. */
static double
probe_loss(struct sc_layer *l, const float *x, float *y, const float *r,
    int n)
{
	double sum = 0.0;

	l->ops->forward(l, x, y, n, 1);
	for (size_t i = 0; i < (size_t)n * sc_shape_size(l->out); i++)
		sum += (double)y[i] * r[i];
	return sum;
}

/* Central differences of probe_loss with respect to each p[i] against
 * the analytic gradient g[i]. */
static void
check_gradient(const char *what, struct sc_layer *l, const float *x,
    float *y, const float *r, int n, float *p, const float *g, size_t len)
{
	const float eps = 1e-2f;
	int bad = 0;

	for (size_t i = 0; i < len; i++) {
		float keep = p[i];
		double up, down, numeric;

		p[i] = keep + eps;
		up = probe_loss(l, x, y, r, n);
		p[i] = keep - eps;
		down = probe_loss(l, x, y, r, n);
		p[i] = keep;
		numeric = (up - down) / (2.0 * eps);
		if (fabs(numeric - g[i]) > 2e-3 * (1.0 + fabs(numeric))) {
			if (bad++ < 3)
				fprintf(stderr, "%s[%zu]: analytic %g, "
				    "numeric %g\n", what, i, g[i], numeric);
		}
	}
	CHECK(bad == 0);
}

static void
test_dense_gradients(struct sc_rng *rng)
{
	enum { N = 3, IN = 7, OUT = 5 };
	struct sc_shape in = { IN, 1, 1 };
	struct sc_layer l;
	float w[OUT * IN], b[OUT], dw[OUT * IN], db[OUT];
	float x[N * IN], y[N * OUT], r[N * OUT], dx[N * IN];

	sc_dense_setup(&l, in, OUT);
	CHECK(l.n_w == OUT * IN && l.n_b == OUT);
	l.w = w, l.b = b, l.dw = dw, l.db = db;
	fill(rng, w, OUT * IN, 1.0);
	fill(rng, b, OUT, 1.0);
	fill(rng, x, N * IN, 1.0);
	fill(rng, r, N * OUT, 1.0);
	memset(dw, 0, sizeof(dw));
	memset(db, 0, sizeof(db));

	probe_loss(&l, x, y, r, N);
	l.ops->backward(&l, x, y, r, dx, N);
	check_gradient("dense dW", &l, x, y, r, N, w, dw, OUT * IN);
	check_gradient("dense db", &l, x, y, r, N, b, db, OUT);
	check_gradient("dense dx", &l, x, y, r, N, x, dx, N * IN);

	/* The backward pass adds to the parameter gradients. */
	l.ops->backward(&l, x, y, r, dx, N);
	for (int j = 0; j < OUT; j++)
		CHECK_NEAR(db[j], 2.0 * (r[j] + r[OUT + j] + r[2 * OUT + j]),
		    1e-5);
}

static void
test_dense_against_naive(struct sc_rng *rng)
{
	enum { N = 9, IN = 33, OUT = 17 };
	struct sc_shape in = { IN, 1, 1 };
	struct sc_layer l;
	static float w[OUT * IN], b[OUT], x[N * IN], y[N * OUT];
	double worst = 0.0;

	sc_dense_setup(&l, in, OUT);
	l.w = w, l.b = b;
	fill(rng, w, OUT * IN, 1.0);
	fill(rng, b, OUT, 1.0);
	fill(rng, x, N * IN, 1.0);
	l.ops->forward(&l, x, y, N, 1);
	for (int r = 0; r < N; r++)
		for (int o = 0; o < OUT; o++) {
			double s = b[o];

			for (int i = 0; i < IN; i++)
				s += (double)x[r * IN + i] * w[o * IN + i];
			if (fabs(s - y[r * OUT + o]) > worst)
				worst = fabs(s - y[r * OUT + o]);
		}
	CHECK(worst < 1e-4);
}

static void
test_relu_gradients(struct sc_rng *rng)
{
	enum { N = 4, C = 6 };
	struct sc_shape in = { C, 1, 1 };
	struct sc_layer l;
	float x[N * C], y[N * C], r[N * C], dx[N * C];

	sc_relu_setup(&l, in);
	fill_off_zero(rng, x, N * C);
	fill(rng, r, N * C, 1.0);
	probe_loss(&l, x, y, r, N);
	for (int i = 0; i < N * C; i++)
		CHECK(y[i] == (x[i] > 0.0f ? x[i] : 0.0f));
	l.ops->backward(&l, x, y, r, dx, N);
	check_gradient("relu dx", &l, x, y, r, N, x, dx, N * C);
}

static void
test_softmax_xent(struct sc_rng *rng)
{
	enum { N = 5, K = 4 };
	float z[N * K], d[N * K];
	uint8_t labels[N] = { 0, 3, 1, 2, 3 };
	const float eps = 1e-2f;
	int correct, bad = 0;
	double loss;

	fill(rng, z, N * K, 2.0);
	loss = sc_softmax_xent(z, labels, N, K, d, &correct);
	CHECK(loss > 0.0);
	for (int i = 0; i < N * K; i++) {
		float keep = z[i];
		double up, down, numeric;

		z[i] = keep + eps;
		up = sc_softmax_xent(z, labels, N, K, NULL, NULL);
		z[i] = keep - eps;
		down = sc_softmax_xent(z, labels, N, K, NULL, NULL);
		z[i] = keep;
		numeric = (up - down) / (2.0 * eps);
		bad += fabs(numeric - d[i]) > 1e-4;
	}
	CHECK(bad == 0);

	/* Two classes with logits 0 and ln 3: p = (1/4, 3/4). */
	{
		float two[2] = { 0.0f, (float)log(3.0) };
		uint8_t y0 = 0;

		loss = sc_softmax_xent(two, &y0, 1, 2, d, &correct);
		CHECK_NEAR(loss, log(4.0), 1e-6);
		CHECK_NEAR(d[0], 0.25 - 1.0, 1e-6);
		CHECK_NEAR(d[1], 0.75, 1e-6);
		CHECK(correct == 0);
	}
}

/* The whole MLP's parameter gradient against finite differences of the
 * mean cross-entropy. */
static void
test_mlp_gradients(struct sc_rng *rng)
{
	enum { N = 4, IN = 6, K = 3 };
	struct sc_model_spec spec;
	struct sc_shape in = { IN, 1, 1 };
	struct sc_model *m;
	float x[N * IN], d[N * K];
	uint8_t y[N] = { 0, 1, 2, 1 };
	double worst = 0.0;

	CHECK(sc_model_spec_parse(&spec, "mlp", "5,4") == 0);
	m = sc_model_create(&spec, in, K, N);
	if (!CHECK(m != NULL))
		return;
	CHECK(m->n_theta == (size_t)(6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3));
	sc_model_init(m, rng);
	fill(rng, x, N * IN, 1.0);

	sc_model_zero_grad(m);
	sc_softmax_xent(sc_model_forward(m, x, N, 1), y, N, K, d, NULL);
	sc_model_backward(m, x, d, N);
	for (size_t i = 0; i < m->n_theta; i++) {
		const float eps = 1e-2f;
		float keep = m->theta[i];
		double up, down, numeric;

		m->theta[i] = keep + eps;
		up = sc_softmax_xent(sc_model_forward(m, x, N, 1), y, N, K,
		    NULL, NULL);
		m->theta[i] = keep - eps;
		down = sc_softmax_xent(sc_model_forward(m, x, N, 1), y, N, K,
		    NULL, NULL);
		m->theta[i] = keep;
		numeric = (up - down) / (2.0 * eps);
		if (fabs(numeric - m->grad[i]) > worst)
			worst = fabs(numeric - m->grad[i]);
	}
	CHECK(worst < 2e-3);
	sc_model_free(m);
}

/* One update by hand: theta 1, grad 0.5, wd 0.1, momentum 0.9, lr 0.1.
 * g = 0.5 + 0.1 * 1 = 0.6; v = 0.9 * 0 + 0.6 = 0.6; theta = 1 - 0.06.
 * Second update with the same gradient at theta 0.94:
 * g = 0.5 + 0.094 = 0.594; v = 0.54 + 0.594 = 1.134;
 * theta = 0.94 - 0.1134 = 0.8266. */
static void
test_sgd_by_hand(void)
{
	struct sc_sgd opt = { 0.1f, 0 };
	struct sc_sgd nesterov = { 0.0f, 1 };
	float theta = 1.0f, grad = 0.5f, v = 0.0f;

	sc_sgd_update(&opt, &theta, &grad, &v, 1, 0.1f, 0.9f);
	CHECK_NEAR(v, 0.6, 1e-7);
	CHECK_NEAR(theta, 0.94, 1e-7);
	sc_sgd_update(&opt, &theta, &grad, &v, 1, 0.1f, 0.9f);
	CHECK_NEAR(v, 1.134, 1e-6);
	CHECK_NEAR(theta, 0.8266, 1e-6);

	/* Nesterov, no decay: v = 0.5, step g + m v = 0.5 + 0.45. */
	theta = 1.0f, v = 0.0f;
	sc_sgd_update(&nesterov, &theta, &grad, &v, 1, 0.1f, 0.9f);
	CHECK_NEAR(v, 0.5, 1e-7);
	CHECK_NEAR(theta, 1.0 - 0.1 * 0.95, 1e-7);
}

static void
test_init_is_seeded(void)
{
	struct sc_model_spec spec;
	struct sc_shape in = { 10, 1, 1 };
	struct sc_model *a, *b;
	struct sc_rng ra, rb;

	sc_model_spec_parse(&spec, "mlp", "8");
	a = sc_model_create(&spec, in, 3, 2);
	b = sc_model_create(&spec, in, 3, 2);
	sc_rng_seed(&ra, 42);
	sc_rng_seed(&rb, 42);
	sc_model_init(a, &ra);
	sc_model_init(b, &rb);
	CHECK(memcmp(a->theta, b->theta, a->n_theta * sizeof(float)) == 0);
	sc_rng_seed(&rb, 43);
	sc_model_init(b, &rb);
	CHECK(memcmp(a->theta, b->theta, a->n_theta * sizeof(float)) != 0);
	sc_model_free(a);
	sc_model_free(b);
}

static void
test_spec_errors(void)
{
	struct sc_model_spec spec;

	CHECK(sc_model_spec_parse(&spec, "mlp", NULL) == 0);
	CHECK(spec.n_hidden == 2 && spec.hidden[0] == 512 &&
	    spec.hidden[1] == 256);
	CHECK(sc_model_spec_parse(&spec, "mlp", "64,0") < 0);
	CHECK(sc_model_spec_parse(&spec, "mlp", "64,") < 0);
	CHECK(sc_model_spec_parse(&spec, "mlp", "x") < 0);
	CHECK(sc_model_spec_parse(&spec, "vgg", NULL) < 0);
}

int
main(void)
{
	struct sc_rng rng;

	if (sc_blas_init(1) < 0) {
		fprintf(stderr, "test_nn: cannot load the BLAS\n");
		return 1;
	}
	sc_rng_seed(&rng, 7);
	test_dense_gradients(&rng);
	test_dense_against_naive(&rng);
	test_relu_gradients(&rng);
	test_softmax_xent(&rng);
	test_mlp_gradients(&rng);
	test_sgd_by_hand();
	test_init_is_seeded();
	test_spec_errors();
	return check_report("test_nn");
}
