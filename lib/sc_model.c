/* Building a network from a preset, and running it forward and back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_error.h"
#include "sc_nn.h"

static const int mlp_default_hidden[] = { 512, 256 };

int
sc_model_spec_parse(struct sc_model_spec *spec, const char *name,
    const char *hidden)
{
	memset(spec, 0, sizeof(*spec));
	if (strcmp(name, "mlp") != 0)
		return sc_fail("--model: unknown model '%s' (known: mlp)",
		    name);
	if (hidden != NULL && strcmp(name, "mlp") != 0)
		return sc_fail("--hidden applies to the mlp model only");
	snprintf(spec->name, sizeof(spec->name), "%s", name);

	if (hidden == NULL) {
		spec->n_hidden = 2;
		memcpy(spec->hidden, mlp_default_hidden,
		    sizeof(mlp_default_hidden));
		return 0;
	}
	for (const char *p = hidden; *p != '\0';) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 1 || v > 65536 ||
		    (*end != ',' && *end != '\0'))
			return sc_fail("--hidden '%s': expected widths "
			    "from 1 to 65536 separated by commas", hidden);
		if (spec->n_hidden == SC_MAX_HIDDEN)
			return sc_fail("--hidden '%s': at most %d layers",
			    hidden, SC_MAX_HIDDEN);
		spec->hidden[spec->n_hidden++] = (int)v;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return sc_fail("--hidden '%s': trailing comma",
			    hidden);
	}
	return 0;
}

void
sc_model_describe(const struct sc_model *m, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%s:%zu", m->spec.name,
	    sc_shape_size(m->input));

	for (int i = 0; i < m->spec.n_hidden && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "-%d",
		    m->spec.hidden[i]);
	if (used < len)
		snprintf(buf + used, len - used, "-%d", m->n_classes);
}

/* Lay out the layers of an MLP: (dense, relu) per hidden width, then a
 * dense layer to the class scores. */
static void
build_mlp(struct sc_model *m)
{
	struct sc_shape s = m->input;

	for (int i = 0; i < m->spec.n_hidden; i++) {
		sc_dense_setup(&m->layers[m->n_layers++], s,
		    m->spec.hidden[i]);
		s = m->layers[m->n_layers - 1].out;
		sc_relu_setup(&m->layers[m->n_layers++], s);
	}
	sc_dense_setup(&m->layers[m->n_layers++], s, m->n_classes);
}

static float *
alloc_floats(size_t n)
{
	/* 64-byte alignment suits the BLAS kernels' vector loads. */
	size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
	float *p = aligned_alloc(64, bytes > 0 ? bytes : 64);

	if (p != NULL)
		memset(p, 0, bytes);
	return p;
}

/* Point each layer's parameters into the flat arrays. */
static void
place_parameters(struct sc_model *m)
{
	size_t at = 0;

	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i];

		l->w = m->theta + at;
		l->dw = m->grad + at;
		at += l->n_w;
		l->b = m->theta + at;
		l->db = m->grad + at;
		at += l->n_b;
	}
}

struct sc_model *
sc_model_create(const struct sc_model_spec *spec, struct sc_shape input,
    int n_classes, int max_batch)
{
	struct sc_model *m = calloc(1, sizeof(*m));
	size_t widest = 0;

	if (m == NULL) {
		sc_fail("model: out of memory");
		return NULL;
	}
	m->spec = *spec;
	m->input = input;
	m->n_classes = n_classes;
	m->max_batch = max_batch;
	build_mlp(m);

	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i];
		size_t out = sc_shape_size(l->out), in = sc_shape_size(l->in);

		m->n_theta += l->n_w + l->n_b;
		m->acts[i] = alloc_floats((size_t)max_batch * out);
		if (m->acts[i] == NULL)
			goto oom;
		widest = out > widest ? out : widest;
		widest = in > widest ? in : widest;
	}
	m->theta = alloc_floats(m->n_theta);
	m->grad = alloc_floats(m->n_theta);
	m->velocity = alloc_floats(m->n_theta);
	m->dbuf[0] = alloc_floats((size_t)max_batch * widest);
	m->dbuf[1] = alloc_floats((size_t)max_batch * widest);
	if (m->theta == NULL || m->grad == NULL || m->velocity == NULL ||
	    m->dbuf[0] == NULL || m->dbuf[1] == NULL)
		goto oom;
	place_parameters(m);
	return m;

oom:
	sc_model_free(m);
	sc_fail("model: out of memory for %d-sample batches", max_batch);
	return NULL;
}

void
sc_model_free(struct sc_model *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->n_layers; i++)
		free(m->acts[i]);
	free(m->theta);
	free(m->grad);
	free(m->velocity);
	free(m->dbuf[0]);
	free(m->dbuf[1]);
	free(m);
}

void
sc_model_init(struct sc_model *m, struct sc_rng *rng)
{
	for (int i = 0; i < m->n_layers; i++)
		if (m->layers[i].ops->init != NULL)
			m->layers[i].ops->init(&m->layers[i], rng);
	memset(m->velocity, 0, m->n_theta * sizeof(float));
}

const float *
sc_model_forward(struct sc_model *m, const float *x, int n, int train)
{
	const float *in = x;

	for (int i = 0; i < m->n_layers; i++) {
		m->layers[i].ops->forward(&m->layers[i], in, m->acts[i], n,
		    train);
		in = m->acts[i];
	}
	return in;
}

void
sc_model_backward(struct sc_model *m, const float *x, const float *dlogits,
    int n)
{
	const float *dy = dlogits;
	int turn = 0;

	for (int i = m->n_layers - 1; i >= 0; i--) {
		struct sc_layer *l = &m->layers[i];
		const float *in = i > 0 ? m->acts[i - 1] : x;
		float *dx = i > 0 ? m->dbuf[turn] : NULL;

		l->ops->backward(l, in, m->acts[i], dy, dx, n);
		dy = dx;
		turn ^= 1;
	}
}

void
sc_model_zero_grad(struct sc_model *m)
{
	memset(m->grad, 0, m->n_theta * sizeof(float));
}
