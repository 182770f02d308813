/*
 * Building a network (from a preset or a description file) and running it
 * forward and back.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sc_error.h"
#include "sc_nn.h"
#include "sc_opt.h"
#include "sc_simd.h"
#include "sc_suggest.h"

static const int mlp_default_hidden[] = { 512, 256 };

static const char *const presets[] = {
	"mlp", "lenet", "cnn", "resnet8", "resnet20", "resnet56", NULL,
};

static int
is_description_file(const char *name)
{
	struct stat st;
	size_t len = strlen(name);

	return stat(name, &st) == 0 ||
	    (len > 5 && strcmp(name + len - 5, ".json") == 0);
}

static int
parse_hidden(struct sc_model_spec *spec, const char *hidden)
{
	for (const char *p = hidden; *p != '\0';) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 1 || v > 65536 ||
		    (*end != ',' && *end != '\0'))
			return sc_fail_usage("--hidden '%s': expected widths from 1 "
			    "to 65536 separated by commas", hidden);
		if (spec->n_hidden == SC_MAX_HIDDEN)
			return sc_fail_usage("--hidden '%s': at most %d layers",
			    hidden, SC_MAX_HIDDEN);
		spec->hidden[spec->n_hidden++] = (int)v;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return sc_fail_usage("--hidden '%s': trailing comma",
			    hidden);
	}
	return 0;
}

int
sc_model_spec_parse(struct sc_model_spec *spec, const char *name,
    const char *hidden)
{
	int known = 0;

	memset(spec, 0, sizeof(*spec));
	for (int i = 0; presets[i] != NULL; i++)
		known |= strcmp(name, presets[i]) == 0;
	if (!known && !is_description_file(name))
		return sc_fail_usage("--model: '%s' is neither a preset (mlp, lenet, "
		    "cnn, resnet8, resnet20, resnet56) nor a description file",
		    name);
	if (hidden != NULL && strcmp(name, "mlp") != 0)
		return sc_fail_usage("--hidden: applies to the mlp model only");
	if (!known) {
		if (strlen(name) >= sizeof(spec->path))
			return sc_fail_usage("--model: path too long");
		snprintf(spec->name, sizeof(spec->name), "file");
		snprintf(spec->path, sizeof(spec->path), "%s", name);
		return 0;
	}
	snprintf(spec->name, sizeof(spec->name), "%s", name);
	if (strcmp(name, "mlp") != 0)
		return 0;
	if (hidden == NULL) {
		spec->n_hidden = 2;
		memcpy(spec->hidden, mlp_default_hidden,
		    sizeof(mlp_default_hidden));
		return 0;
	}
	return parse_hidden(spec, hidden);
}

/*
 * The builder appends layers to a model and tracks the layer whose
 * output the next one reads.
 */
struct builder {
	struct sc_model *m;
	int cur;		/* layer index of the current output */
	struct sc_shape shape;	/* its shape */
};

static struct sc_layer *
append(struct builder *b, int src0, int src1)
{
	struct sc_model *m = b->m;
	struct sc_layer *l;

	if (m->n_layers == SC_MAX_LAYERS) {
		sc_fail("more than %d layers", SC_MAX_LAYERS);
		return NULL;
	}
	l = &m->layers[m->n_layers];
	memset(l, 0, sizeof(*l));
	l->src[0] = src0;
	l->src[1] = src1;
	l->n_src = src1 == -2 ? 1 : 2;
	return l;
}

/* Make the appended layer the current output. */
static int
commit(struct builder *b, int rc)
{
	struct sc_layer *l = &b->m->layers[b->m->n_layers];

	if (rc < 0)
		return -1;
	b->cur = b->m->n_layers++;
	b->shape = l->out;
	return 0;
}

#define ADD1(b, setup_call) \
	(append((b), (b)->cur, -2) == NULL ? -1 : commit((b), (setup_call)))
#define NEW(b) (&(b)->m->layers[(b)->m->n_layers])

static int
add_dense(struct builder *b, int n_out)
{
	return ADD1(b, sc_dense_setup(NEW(b), b->shape, n_out));
}

static int
add_relu(struct builder *b)
{
	return ADD1(b, sc_relu_setup(NEW(b), b->shape));
}

static int
add_conv(struct builder *b, int filters, int k, int stride, int pad,
    int bias)
{
	return ADD1(b, sc_conv_setup(NEW(b), b->shape, filters, k, stride,
	    pad, bias));
}

static int
add_bn(struct builder *b)
{
	return ADD1(b, sc_bn_setup(NEW(b), b->shape, 0.1f, 1e-5f));
}

static int
add_maxpool(struct builder *b, int k, int stride)
{
	return ADD1(b, sc_maxpool_setup(NEW(b), b->shape, k, stride));
}

static int
add_gap(struct builder *b)
{
	return ADD1(b, sc_gap_setup(NEW(b), b->shape));
}

static int
add_dropout(struct builder *b, float p)
{
	return ADD1(b, sc_dropout_setup(NEW(b), b->shape, p));
}

enum shortcut { SHORTCUT_AUTO_PAD, SHORTCUT_PROJECTION };

/* Join a residual body (ending at the current output) with its block
 * input: identity when the shapes agree, else zero-padding (option A)
 * or a 1x1 convolution with batch norm (option B). */
static int
add_join(struct builder *b, int in, struct sc_shape in_shape,
    enum shortcut how)
{
	int body = b->cur, cut = in;
	struct sc_shape body_shape = b->shape;
	/* Rounded up: a stride of 2 takes 7 rows to 4. */
	int stride = body_shape.h > 0 ? (in_shape.h + body_shape.h - 1) /
	    body_shape.h : 0;

	if (in_shape.c != body_shape.c || in_shape.h != body_shape.h ||
	    in_shape.w != body_shape.w) {
		if (stride < 1 || (in_shape.h - 1) / stride + 1 !=
		    body_shape.h || (in_shape.w - 1) / stride + 1 !=
		    body_shape.w)
			return sc_fail("residual: cannot join a %dx%dx%d "
			    "input to a %dx%dx%d body", in_shape.c,
			    in_shape.h, in_shape.w, body_shape.c,
			    body_shape.h, body_shape.w);
		b->cur = in;
		b->shape = in_shape;
		if (how == SHORTCUT_PROJECTION) {
			if (add_conv(b, body_shape.c, 1, stride, 0, 0) < 0 ||
			    add_bn(b) < 0)
				return -1;
		} else if (ADD1(b, sc_padcut_setup(NEW(b), in_shape,
		    body_shape.c, stride)) < 0) {
			return -1;
		}
		cut = b->cur;
	}
	if (append(b, body, cut) == NULL)
		return -1;
	return commit(b, sc_add_setup(NEW(b), body_shape,
	    cut == in ? in_shape : b->shape));
}

/* A CIFAR ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN, plus the
 * shortcut, then ReLU. */
static int
add_basic_block(struct builder *b, int filters, int stride)
{
	int in = b->cur;
	struct sc_shape in_shape = b->shape;

	if (add_conv(b, filters, 3, stride, 1, 0) < 0 || add_bn(b) < 0 ||
	    add_relu(b) < 0 || add_conv(b, filters, 3, 1, 1, 0) < 0 ||
	    add_bn(b) < 0 || add_join(b, in, in_shape,
	    SHORTCUT_AUTO_PAD) < 0)
		return -1;
	return add_relu(b);
}

static int
build_mlp(struct builder *b)
{
	for (int i = 0; i < b->m->spec.n_hidden; i++)
		if (add_dense(b, b->m->spec.hidden[i]) < 0 || add_relu(b) < 0)
			return -1;
	return add_dense(b, b->m->n_classes);
}

/* Caffe's MNIST LeNet: conv5x5 20, max-pool, conv5x5 50, max-pool,
 * dense 500, ReLU, dense. */
static int
build_lenet(struct builder *b)
{
	if (add_conv(b, 20, 5, 1, 0, 1) < 0 || add_maxpool(b, 2, 2) < 0 ||
	    add_conv(b, 50, 5, 1, 0, 1) < 0 || add_maxpool(b, 2, 2) < 0 ||
	    add_dense(b, 500) < 0 || add_relu(b) < 0)
		return -1;
	return add_dense(b, b->m->n_classes);
}

static int
build_cnn(struct builder *b)
{
	static const int widths[] = { 32, 64, 128 };

	for (int i = 0; i < 3; i++) {
		if (add_conv(b, widths[i], 3, 1, 1, 1) < 0 || add_bn(b) < 0 ||
		    add_relu(b) < 0)
			return -1;
		if (i < 2 && add_maxpool(b, 2, 2) < 0)
			return -1;
	}
	if (add_gap(b) < 0)
		return -1;
	return add_dense(b, b->m->n_classes);
}

/* He et al.'s CIFAR ResNet with 6n + 2 layers. */
static int
build_resnet(struct builder *b, int blocks)
{
	static const int widths[] = { 16, 32, 64 };

	if (add_conv(b, 16, 3, 1, 1, 0) < 0 || add_bn(b) < 0 ||
	    add_relu(b) < 0)
		return -1;
	for (int stage = 0; stage < 3; stage++)
		for (int i = 0; i < blocks; i++)
			if (add_basic_block(b, widths[stage],
			    stage > 0 && i == 0 ? 2 : 1) < 0)
				return -1;
	if (add_gap(b) < 0)
		return -1;
	return add_dense(b, b->m->n_classes);
}

/* Description files. */

static int
json_int(const cJSON *o, const char *key, int def, int lo, int hi,
    const char *where, int *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (x == NULL) {
		if (def < lo)
			return sc_fail("%s: needs \"%s\"", where, key);
		*v = def;
		return 0;
	}
	if (cJSON_IsBool(x) && lo == 0 && hi == 1) {
		*v = cJSON_IsTrue(x);
		return 0;
	}
	if (!cJSON_IsNumber(x) || x->valuedouble != (int)x->valuedouble ||
	    x->valuedouble < lo || x->valuedouble > hi) {
		if (lo == 0 && hi == 1)
			return sc_fail("%s: \"%s\" must be true or false (or "
			    "1 or 0)", where, key);
		return sc_fail("%s: \"%s\" must be an integer from %d to %d",
		    where, key, lo, hi);
	}
	*v = (int)x->valuedouble;
	return 0;
}

static int build_layers(struct builder *b, const cJSON *list,
    const char *where, const char *noun);

/* A layer's own refusal (a kernel that does not fit, say), placed in
 * the description file. */
static int
placed(int rc, const char *where)
{
	return rc < 0 ? sc_fail_prefix("%s", where) : rc;
}

/* The members each layer type takes besides "type", space-separated. */
static const char *const layer_members[][2] = {
	{ "dense", "units" },
	{ "conv", "filters kernel stride pad bias" },
	{ "batchnorm", "" },
	{ "relu", "" },
	{ "maxpool", "size stride" },
	{ "gap", "" },
	{ "dropout", "p" },
	{ "residual", "layers shortcut" },
};

/* Whether word is one of the space-separated words of list. */
static int
listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (*(list += strspn(list, " ")) != '\0') {
		size_t len = strcspn(list, " ");

		if (len == n && strncmp(list, word, n) == 0)
			return 1;
		list += len;
	}
	return 0;
}

/* Refuses a member of object o that is not "type" or one of members: a
 * misspelt "stride" would otherwise leave the default in place unsaid.
 * what names the object in the message. */
static int
members_known(const cJSON *o, const char *what, const char *members,
    int typed, const char *where)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, o) {
		if ((typed && strcmp(m->string, "type") == 0) ||
		    listed(members, m->string))
			continue;
		if (*members == '\0')
			return sc_fail("%s: %s takes no member \"%s\" (only "
			    "\"type\")", where, what, m->string);
		return sc_fail("%s: %s takes no member \"%s\" (it takes: "
		    "%s)", where, what, m->string, members);
	}
	return 0;
}

static int
build_one(struct builder *b, const cJSON *o, const char *where)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
	const char *t;
	int f, k, s, p, bias;

	if (!cJSON_IsObject(o) || !cJSON_IsString(type))
		return sc_fail("%s: a layer is an object with a \"type\"",
		    where);
	t = type->valuestring;
	for (size_t i = 0; i < sizeof(layer_members) /
	    sizeof(layer_members[0]); i++) {
		char what[64];

		if (strcmp(t, layer_members[i][0]) != 0)
			continue;
		snprintf(what, sizeof(what), "a %s layer", t);
		if (members_known(o, what, layer_members[i][1], 1,
		    where) < 0)
			return -1;
	}
	if (strcmp(t, "dense") == 0) {
		if (json_int(o, "units", -1, 1, 1 << 20, where, &f) < 0)
			return -1;
		return placed(add_dense(b, f), where);
	}
	if (strcmp(t, "conv") == 0) {
		if (json_int(o, "filters", -1, 1, 1 << 16, where, &f) < 0 ||
		    json_int(o, "kernel", 3, 1, 64, where, &k) < 0 ||
		    json_int(o, "stride", 1, 1, 64, where, &s) < 0 ||
		    json_int(o, "pad", k / 2, 0, 63, where, &p) < 0 ||
		    json_int(o, "bias", 1, 0, 1, where, &bias) < 0)
			return -1;
		return placed(add_conv(b, f, k, s, p, bias), where);
	}
	if (strcmp(t, "batchnorm") == 0)
		return placed(add_bn(b), where);
	if (strcmp(t, "relu") == 0)
		return placed(add_relu(b), where);
	if (strcmp(t, "maxpool") == 0) {
		if (json_int(o, "size", 2, 1, 64, where, &k) < 0 ||
		    json_int(o, "stride", k, 1, 64, where, &s) < 0)
			return -1;
		return placed(add_maxpool(b, k, s), where);
	}
	if (strcmp(t, "gap") == 0)
		return placed(add_gap(b), where);
	if (strcmp(t, "dropout") == 0) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "p");

		if (!cJSON_IsNumber(x))
			return sc_fail("%s: dropout needs a number \"p\"",
			    where);
		return placed(add_dropout(b, (float)x->valuedouble),
		    where);
	}
	if (strcmp(t, "residual") == 0) {
		const cJSON *cut = cJSON_GetObjectItemCaseSensitive(o,
		    "shortcut");
		enum shortcut how = SHORTCUT_AUTO_PAD;
		int in = b->cur;
		struct sc_shape in_shape = b->shape;

		if (cut != NULL) {
			if (cJSON_IsString(cut) &&
			    strcmp(cut->valuestring, "projection") == 0)
				how = SHORTCUT_PROJECTION;
			else if (!cJSON_IsString(cut) ||
			    strcmp(cut->valuestring, "pad") != 0)
				return sc_fail("%s: \"shortcut\" is \"pad\" "
				    "or \"projection\"", where);
		}
		if (build_layers(b, cJSON_GetObjectItemCaseSensitive(o,
		    "layers"), where, "body layer") < 0)
			return -1;
		return placed(add_join(b, in, in_shape, how), where);
	}
	return sc_fail("%s: unknown layer type \"%s\" (known: dense, conv, "
	    "batchnorm, relu, maxpool, gap, dropout, residual)", where, t);
}

/* The layers of list, each named in messages as where: noun N. */
static int
build_layers(struct builder *b, const cJSON *list, const char *where,
    const char *noun)
{
	char here[512];
	int i = 0;
	const cJSON *o;

	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
		return sc_fail("%s: \"layers\" must be a non-empty array",
		    where);
	cJSON_ArrayForEach(o, list) {
		snprintf(here, sizeof(here), "%s: %s %d", where, noun, ++i);
		if (build_one(b, o, here) < 0)
			return -1;
	}
	return 0;
}

static int
build_file(struct builder *b)
{
	const char *path = b->m->spec.path;
	char *text = sc_read_file(path, 1 << 20);
	const char *end = NULL, *twice;
	cJSON *doc;
	long line;
	int rc;

	if (text == NULL)
		return sc_fail_prefix("--model");
	doc = cJSON_ParseWithOpts(text, &end, 1);
	line = end != NULL ? sc_line_at(text, end) : 1L;
	if (doc == NULL) {
		sc_fail("%s: line %ld: %s", path, line, sc_json_fault(text,
		    end));
		free(text);
		return -1;
	}
	free(text);
	if ((twice = sc_json_repeated(doc)) != NULL) {
		sc_fail("%s: the member \"%s\" is given twice", path, twice);
		cJSON_Delete(doc);
		return -1;
	}
	if (cJSON_IsObject(doc) && members_known(doc, "a description",
	    "layers", 0, path) < 0) {
		cJSON_Delete(doc);
		return -1;
	}
	rc = build_layers(b, cJSON_GetObjectItemCaseSensitive(doc, "layers"),
	    path, "layer");
	cJSON_Delete(doc);
	if (rc == 0 && sc_shape_size(b->shape) != (size_t)b->m->n_classes)
		return sc_fail("%s: the last layer gives %zu outputs, the data "
		    "has %d classes", path, sc_shape_size(b->shape),
		    b->m->n_classes);
	return rc;
}

static int
build(struct sc_model *m)
{
	struct builder b = { m, SC_INPUT, m->input };
	const char *name = m->spec.name;

	if (strcmp(name, "mlp") == 0)
		return build_mlp(&b);
	if (strcmp(name, "lenet") == 0)
		return build_lenet(&b);
	if (strcmp(name, "cnn") == 0)
		return build_cnn(&b);
	if (strcmp(name, "resnet8") == 0)
		return build_resnet(&b, 1);
	if (strcmp(name, "resnet20") == 0)
		return build_resnet(&b, 3);
	if (strcmp(name, "resnet56") == 0)
		return build_resnet(&b, 9);
	return build_file(&b);
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

/* Point each layer's parameters, statistics and memory into the model's
 * arrays. */
static void
place(struct sc_model *m)
{
	size_t at = 0, st = 0, pv = 0;

	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i];

		l->w = m->theta + at;
		l->dw = m->grad + at;
		at += l->n_w;
		l->b = m->theta + at;
		l->db = m->grad + at;
		at += l->n_b;
		l->state = m->state + st;
		st += l->n_state;
		l->priv = m->priv + pv;
		if (l->ops->priv_size != NULL)
			pv += (l->ops->priv_size(l, m->max_batch) + 15) / 16 *
			    16;
		l->work = m->work;
		l->rng = &m->rng;
		l->max_batch = m->max_batch;
	}
}

/* How many layers read layer i's output. */
static int
readers(const struct sc_model *m, int i)
{
	int n = 0;

	for (int j = 0; j < m->n_layers; j++)
		for (int k = 0; k < m->layers[j].n_src; k++)
			n += m->layers[j].src[k] == i;
	return n;
}

/* A ReLU that reads a dense layer, a batch norm or a residual addition
 * no other layer reads is folded into it: that layer writes the ReLU's
 * output and takes its gradient, and the ReLU shares its buffers and is
 * not run. */
static void
fold_relus(struct sc_model *m)
{
	for (int i = 0; i + 1 < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i], *r = &m->layers[i + 1];

		if (!l->ops->takes_relu ||
		    strcmp(r->ops->kind, "relu") != 0 || r->n_src != 1 ||
		    r->src[0] != i || readers(m, i) != 1)
			continue;
		l->relu = r->fused = 1;
		r->done_by = i;
	}
}

/* A zero-padding shortcut that only a residual addition reads, as its
 * source 1, is done by the addition (see cut in sc_nn.h). */
static void
fold_cuts(struct sc_model *m)
{
	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i], *p;

		if (!l->ops->takes_cut || l->n_src != 2 || l->src[1] < 0)
			continue;
		p = &m->layers[l->src[1]];
		if (strcmp(p->ops->kind, "padcut") != 0 ||
		    readers(m, l->src[1]) != 1)
			continue;
		l->cut = 1;
		l->cut_in = p->in[0];
		l->stride = p->stride;
		l->pad_lo = p->pad_lo;
		p->fused = 1;
		p->done_by = i;
	}
}

/* A batch norm that is the only reader of a layer able to do it, which
 * reads the network's input, is done by that layer (see bn in sc_nn.h);
 * the batch norm's folded ReLU goes with it, and so does a 2x2 max pool
 * of stride 2 that is the only reader of their output. */
static void
fold_bns(struct sc_model *m)
{
	for (int i = 0; i + 1 < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i], *b = &m->layers[i + 1];
		int last = i + 1;	/* whose output the pool would read */

		if (l->ops->takes_bn == NULL || !l->ops->takes_bn(l) ||
		    l->src[0] != SC_INPUT ||
		    strcmp(b->ops->kind, "batchnorm") != 0 ||
		    b->n_src != 1 || b->src[0] != i || readers(m, i) != 1)
			continue;
		l->bn = b;
		b->fused = 1;
		b->done_by = i;
		/* So is the batch norm's ReLU, then. */
		for (int j = i + 2; j < m->n_layers; j++) {
			struct sc_layer *r = &m->layers[j];

			if (r->fused && r->done_by == i + 1) {
				r->done_by = i;
				last = j;
			}
		}
		for (int j = last + 1; j < m->n_layers; j++) {
			struct sc_layer *p = &m->layers[j];

			if (p->n_src != 1 || p->src[0] != last)
				continue;
			if (strcmp(p->ops->kind, "maxpool") == 0 &&
			    p->k == 2 && p->stride == 2 &&
			    readers(m, last) == 1) {
				l->pool = p;
				p->fused = 1;
				p->done_by = i;
			}
			break;
		}
	}
}

/* The layer whose output source k of l reads, and that output's values
 * per sample: through a folded shortcut, the shortcut's input. */
static int
source(const struct sc_model *m, const struct sc_layer *l, int k)
{
	return k == 1 && l->cut ? m->layers[l->src[1]].src[0] : l->src[k];
}

static size_t
source_size(const struct sc_layer *l, int k)
{
	return sc_shape_size(k == 1 && l->cut ? l->cut_in : l->in[k]);
}

/* A layer's outputs for a batch: a layer doing a pool writes the
 * pool's. */
static size_t
batch_out(const struct sc_model *m, const struct sc_layer *l)
{
	return (size_t)m->max_batch * sc_shape_size(l->pool != NULL ?
	    l->pool->out : l->out);
}

/* The layer whose buffer holds layer i's output (a folded layer's is
 * the folding one's), or -1 for a folded shortcut, which has none. */
static int
holder_of(const struct sc_model *m, int i)
{
	const struct sc_layer *l = &m->layers[i];

	if (!l->fused)
		return i;
	return l->done_by < i ? l->done_by : -1;
}

/*
 * The scoring pass's buffers (scores in sc_nn.h).  Outputs are given
 * buffers in the order the layers run; an output is live from its
 * layer to the last layer reading it.  Each output takes a grads buffer
 * of its own size that holds no live output, so a layer never writes
 * over an input it or a later layer still reads: one an earlier output
 * had, which the pass has in the cache, where there is one; where none
 * is free, its own acts buffer, which no other output takes.
 *
 * Only outputs of one size share: layers split a batch's samples among
 * the threads, so each thread then writes the part of the buffer it
 * wrote before.  Shared across sizes, one thread writes part of what
 * another did, and on the machine measured (two cores) that made the
 * first convolution's scoring pass up to 5x slower in some runs.
 */
static void
plan_scores(struct sc_model *m)
{
	int last[SC_MAX_LAYERS], held[SC_MAX_LAYERS];

	for (int i = 0; i < m->n_layers; i++) {
		const struct sc_layer *l = &m->layers[i];

		last[i] = i;
		held[i] = -1;
		for (int k = 0; k < l->n_src && !l->fused; k++) {
			int s = source(m, l, k), h;

			if (s != SC_INPUT && (h = holder_of(m, s)) >= 0 &&
			    last[h] < i)
				last[h] = i;
		}
	}
	for (int i = 0; i < m->n_layers; i++) {
		size_t need = batch_out(m, &m->layers[i]);
		int best = -1;

		if (m->layers[i].fused) {
			int h = holder_of(m, i);

			m->scores[i] = h >= 0 ? m->scores[h] : NULL;
			continue;
		}
		for (int b = 0; b < m->n_layers; b++) {
			if (m->layers[b].fused ||
			    batch_out(m, &m->layers[b]) != need ||
			    (held[b] >= 0 && last[held[b]] >= i))
				continue;
			if (best < 0 || (held[b] >= 0 && held[best] < 0))
				best = b;
		}
		if (best >= 0)
			held[best] = i;
		m->scores[i] = best >= 0 ? m->grads[best] : m->acts[i];
	}
}

/* The machine's memory in bytes, or 0 where it cannot be told. */
static double
machine_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

/* Every buffer the model uses.  Returns -1 when one cannot be had,
 * with *bad the layer whose outputs it was for (-1: the parameters and
 * the memory layers share), or -2 when together they need more than the
 * machine's memory (*need_out bytes against *have_out), with *bad the
 * layer whose outputs need the most (-1: the parameters need more). */
static int
allocate(struct sc_model *m, int *bad, double *need_out, double *have_out)
{
	size_t widest = 0, work = 0, priv = 0, most = 0;
	double need = 0.0, have = machine_bytes();

	*bad = -1;

	fold_relus(m);
	fold_cuts(m);
	fold_bns(m);

	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i];
		size_t out = batch_out(m, l);

		m->n_theta += l->n_w + l->n_b;
		m->n_state += l->n_state;
		if (l->ops->priv_size != NULL)
			priv += (l->ops->priv_size(l, m->max_batch) + 15) /
			    16 * 16;
		if (l->ops->work_size != NULL &&
		    l->ops->work_size(l, m->max_batch) > work)
			work = l->ops->work_size(l, m->max_batch);
		widest = out > widest ? out : widest;
		if (!l->fused) {
			need += 2.0 * (double)out;
			if (out > most)
				most = out, *bad = i;
		}
	}
	/* Parameters, their gradient and velocity, then the rest; memory
	 * the system promises but cannot give would end the run unnamed,
	 * when the buffers are first written, so a network larger than the
	 * machine is refused before. */
	need = (need + 3.0 * (double)m->n_theta + (double)m->n_state +
	    2.0 * (double)widest + (double)work + (double)priv) *
	    sizeof(float);
	if (have > 0.0 && need > have) {
		/* *bad: the layer with the most outputs, or the parameters
		 * where they need more. */
		if (3.0 * (double)m->n_theta >= 2.0 * (double)most)
			*bad = -1;
		*need_out = need;
		*have_out = have;
		return -2;
	}
	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i];
		size_t out = batch_out(m, l);

		if (l->fused) {
			/* A folded ReLU or batch norm shares the buffers
			 * of the layer before; a folded shortcut needs
			 * none. */
			int h = holder_of(m, i);

			m->acts[i] = h >= 0 ? m->acts[h] : NULL;
			m->grads[i] = h >= 0 ? m->grads[h] : NULL;
		} else if ((m->acts[i] = alloc_floats(out)) == NULL ||
		    (m->grads[i] = alloc_floats(out)) == NULL) {
			*bad = i;
			return -1;
		}
	}
	*bad = -1;
	m->theta = alloc_floats(m->n_theta);
	m->grad = alloc_floats(m->n_theta);
	m->velocity = alloc_floats(m->n_theta);
	m->state = alloc_floats(m->n_state);
	m->n_spare = widest;
	m->spare = alloc_floats(2 * widest);
	m->work = alloc_floats(work);
	m->priv = alloc_floats(priv);
	if (m->theta == NULL || m->grad == NULL || m->velocity == NULL ||
	    m->state == NULL || m->spare == NULL || m->work == NULL ||
	    m->priv == NULL)
		return -1;
	place(m);
	plan_scores(m);
	return 0;
}

struct sc_model *
sc_model_create(const struct sc_model_spec *spec, struct sc_shape input,
    int n_classes, int max_batch)
{
	struct sc_model *m = calloc(1, sizeof(*m));
	double need = 0.0, have = 0.0;
	int bad, rc;

	if (m == NULL) {
		sc_fail("model: out of memory");
		return NULL;
	}
	m->spec = *spec;
	m->input = input;
	m->n_classes = n_classes;
	m->max_batch = max_batch;
	if (build(m) < 0) {
		/* A description file's messages name the file already. */
		if (strcmp(spec->name, "file") != 0)
			sc_fail_prefix("--model %s", spec->name);
		sc_model_free(m);
		return NULL;
	}
	if ((rc = allocate(m, &bad, &need, &have)) < 0) {
		const char *name = strcmp(spec->name, "file") == 0 ?
		    spec->path : spec->name;
		char what[200];

		if (bad >= 0) {
			const struct sc_layer *l = &m->layers[bad];
			struct sc_shape o = l->pool != NULL ? l->pool->out :
			    l->out;
			double mb = (double)max_batch *
			    (double)sc_shape_size(o) * sizeof(float) / 1e6;

			snprintf(what, sizeof(what), ": the %s layer with %d x "
			    "%d x %d outputs a sample needs %.0f MB for them and "
			    "as much for their gradients", l->ops->kind, o.c,
			    o.h, o.w, mb);
		} else if (rc == -2)
			snprintf(what, sizeof(what), ": its %zu parameters "
			    "need %.0f MB with their gradients and velocities",
			    m->n_theta, 3.0 * (double)m->n_theta *
			    sizeof(float) / 1e6);
		else
			what[0] = '\0';
		if (rc == -2)
			sc_fail("%s: the network needs %.0f MB for %d-sample "
			    "batches, more than this machine's %.0f MB%s", name,
			    need / 1e6, max_batch, have / 1e6, what);
		else
			sc_fail("%s: out of memory for %d-sample batches%s",
			    name, max_batch, what);
		sc_model_free(m);
		return NULL;
	}
	return m;
}

void
sc_model_free(struct sc_model *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->n_layers; i++)
		if (!m->layers[i].fused) {
			free(m->acts[i]);
			free(m->grads[i]);
		}
	free(m->theta);
	free(m->grad);
	free(m->velocity);
	free(m->state);
	free(m->spare);
	free(m->work);
	free(m->priv);
	free(m);
}

void
sc_model_print(const struct sc_model *m, void *stream)
{
	FILE *f = stream;

	fprintf(f, "%5s  %-10s %-9s %-14s %10s\n", "layer", "kind", "input",
	    "output (c,h,w)", "parameters");
	fprintf(f, "%5s  %-10s %-9s %4d,%4d,%4d %10d\n", "-", "input", "-",
	    m->input.c, m->input.h, m->input.w, 0);
	for (int i = 0; i < m->n_layers; i++) {
		const struct sc_layer *l = &m->layers[i];
		char src[32], one[2][16];

		for (int k = 0; k < l->n_src; k++)
			if (l->src[k] == SC_INPUT)
				snprintf(one[k], sizeof(one[k]), "input");
			else
				snprintf(one[k], sizeof(one[k]), "%d",
				    l->src[k]);
		if (l->n_src == 2)
			snprintf(src, sizeof(src), "%s+%s", one[0], one[1]);
		else
			snprintf(src, sizeof(src), "%s", one[0]);
		fprintf(f, "%5d  %-10s %-9s %4d,%4d,%4d %10zu\n", i,
		    l->ops->kind, src, l->out.c, l->out.h, l->out.w,
		    l->n_w + l->n_b);
	}
	fprintf(f, "%zu parameters, %zu running statistics, %d layers\n",
	    m->n_theta, m->n_state, m->n_layers);
}

void
sc_model_init(struct sc_model *m, struct sc_rng *rng)
{
	for (int i = 0; i < m->n_layers; i++)
		if (m->layers[i].ops->init != NULL)
			m->layers[i].ops->init(&m->layers[i], rng);
	memset(m->velocity, 0, m->n_theta * sizeof(float));
	/* Dropout draws its masks from a stream of its own. */
	sc_rng_seed(&m->rng, sc_rng_next(rng));
}

/* Forward flops of one sample through layer l (a multiply-add counts 2):
 * n_w multiply-adds per output pixel of a convolution, per sample of a
 * dense layer; the rest counted as free. */
static double
layer_flops(const struct sc_layer *l)
{
	if (strcmp(l->ops->kind, "conv") == 0)
		return 2.0 * l->n_w * l->out.h * l->out.w;
	if (strcmp(l->ops->kind, "dense") == 0)
		return 2.0 * l->n_w;
	return 0.0;
}

double
sc_model_flops(const struct sc_model *m)
{
	double total = 0.0;

	for (int i = 0; i < m->n_layers; i++)
		total += layer_flops(&m->layers[i]);
	return total;
}

void
sc_model_print_profile(const struct sc_model *m, void *stream)
{
	FILE *f = stream;
	double fwd = 0.0, bwd = 0.0;

	for (int i = 0; i < m->n_layers; i++) {
		fwd += m->fwd_seconds[i];
		bwd += m->bwd_seconds[i];
	}
	fprintf(f, "%5s  %-10s %14s %10s %10s %6s %9s %9s\n", "layer",
	    "kind", "output (c,h,w)", "forward s", "backward s", "share",
	    "fwd GF/s", "bwd GF/s");
	for (int i = 0; i < m->n_layers; i++) {
		const struct sc_layer *l = &m->layers[i];
		double t = m->fwd_seconds[i] + m->bwd_seconds[i];
		double fl = layer_flops(l);
		/* The backward pass computes dW and, but for the first
		 * layer, dx: one forward's work each. */
		double bfl = fl * (i == 0 ? 1.0 : 2.0);

		if (l->fused) {
			fprintf(f, "%5d  %-10s %4d,%4d,%4d %21s  (done by "
			    "layer %d)\n", i, l->ops->kind, l->out.c, l->out.h,
			    l->out.w, "", l->done_by);
			continue;
		}
		fprintf(f, "%5d  %-10s %4d,%4d,%4d %10.3f %10.3f %5.1f%%",
		    i, l->ops->kind, l->out.c, l->out.h, l->out.w,
		    m->fwd_seconds[i], m->bwd_seconds[i],
		    fwd + bwd > 0.0 ? 100.0 * t / (fwd + bwd) : 0.0);
		if (fl > 0.0 && m->fwd_seconds[i] > 0.0 &&
		    m->bwd_seconds[i] > 0.0)
			fprintf(f, " %9.1f %9.1f", fl * m->fwd_samples /
			    m->fwd_seconds[i] / 1e9, bfl * m->bwd_samples /
			    m->bwd_seconds[i] / 1e9);
		fputc('\n', f);
	}
	fprintf(f, "%5s  %-10s %14s %10.3f %10.3f\n", "all", "", "", fwd,
	    bwd);
}

static const float *
act(const struct sc_model *m, const float *x, int src)
{
	return src == SC_INPUT ? x : m->acts[src];
}

const float *
sc_model_forward(struct sc_model *m, const float *x, int n, int train)
{
	float *const *out = train || m->keep_outputs ? m->acts : m->scores;

	for (int i = 0; i < m->n_layers; i++) {
		struct sc_layer *l = &m->layers[i];
		const float *in[2] = { NULL, NULL };
		double t0 = m->profile ? sc_seconds() : 0.0;

		if (l->fused)
			continue;
		for (int k = 0; k < l->n_src; k++) {
			int s = source(m, l, k);

			in[k] = s == SC_INPUT ? x : out[s];
		}
		l->ops->forward(l, in, out[i], n, train);
		if (m->profile)
			m->fwd_seconds[i] += sc_seconds() - t0;
	}
	if (m->profile)
		m->fwd_samples += n;
	return out[m->n_layers - 1];
}

SC_HOT static void
add_range(float *restrict g, const float *restrict more, long lo, long hi)
{
	for (long j = lo; j < hi; j++)
		g[j] += more[j];
}

/* g += more, over len values, on every thread. */
static void
add_gradient(float *g, const float *more, long len)
{
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(len, &lo, &hi);
		add_range(g, more, lo, hi);
	}
}

/* Gradients flow from the last layer back.  An output read by two layers
 * (a residual block's input) gets its gradient from both: the first
 * writes it, the second writes into a spare buffer (one per source),
 * which is then added. */
void
sc_model_backward(struct sc_model *m, const float *x, const float *dlogits,
    int n)
{
	unsigned char written[SC_MAX_LAYERS] = { 0 };
	int last = m->n_layers - 1;

	memcpy(m->grads[last], dlogits, (size_t)n * m->n_classes *
	    sizeof(float));
	for (int i = last; i >= 0; i--) {
		struct sc_layer *l = &m->layers[i];
		const float *in[2] = { act(m, x, l->src[0]), NULL };
		float *dx[2] = { NULL, NULL };
		int add[2] = { 0, 0 };

		if (l->fused)
			continue;
		for (int k = 0; k < l->n_src; k++) {
			int s = source(m, l, k);

			if (k == 1)
				in[1] = act(m, x, s);
			if (s == SC_INPUT)
				continue;
			/* A layer that can add into the gradient does so;
			 * another writes a spare buffer, added after. */
			l->dx_add[k] = written[s] && l->ops->adds_dx != NULL &&
			    l->ops->adds_dx(l);
			add[k] = written[s] && !l->dx_add[k];
			dx[k] = add[k] ? m->spare + k * m->n_spare :
			    m->grads[s];
			written[s] = 1;
		}
		double t0 = m->profile ? sc_seconds() : 0.0;

		l->ops->backward(l, in, m->acts[i], m->grads[i], dx, n);
		for (int k = 0; k < l->n_src; k++)
			if (add[k])
				add_gradient(m->grads[source(m, l, k)],
				    m->spare + k * m->n_spare, (long)n *
				    (long)source_size(l, k));
		if (m->profile)
			m->bwd_seconds[i] += sc_seconds() - t0;
		if (m->profile && i == 0)
			m->bwd_samples += n;
	}
	/* The next forward pass writes each output where its gradient was:
	 * the first layers' gradients, read last, are still in the cache
	 * when those layers write their outputs first. */
	for (int i = 0; i <= last; i++) {
		float *t = m->acts[i];

		m->acts[i] = m->grads[i];
		m->grads[i] = t;
	}
}

void
sc_model_zero_grad(struct sc_model *m)
{
	memset(m->grad, 0, m->n_theta * sizeof(float));
}
