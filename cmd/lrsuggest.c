/*
 * lrsuggest - read a range-test curve and propose learning-rate bounds.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_io.h"
#include "sc_opt.h"
#include "sc_suggest.h"
#include "tool.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lrsuggest [--method peak|valley|steep|minimum|all] [--div D]\n"
"                 [--skip-start N] [--skip-end N] [--smooth BETA]\n"
"                 [--tolerance T] [-o FILE] [FILE]\n");
}

enum { OPT_METHOD = 256, OPT_DIV, OPT_SKIP_START, OPT_SKIP_END,
	OPT_SMOOTH, OPT_TOLERANCE };

static const struct option options[] = {
	{ "method", required_argument, NULL, OPT_METHOD },
	{ "div", required_argument, NULL, OPT_DIV },
	{ "skip-start", required_argument, NULL, OPT_SKIP_START },
	{ "skip-end", required_argument, NULL, OPT_SKIP_END },
	{ "smooth", required_argument, NULL, OPT_SMOOTH },
	{ "tolerance", required_argument, NULL, OPT_TOLERANCE },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
write_json(const char *path, const cJSON *o)
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

int
main(int argc, char **argv)
{
	struct sc_suggest_opts so = { "peak", 10.0, -1, -1,
	    SC_PEAK_TOLERANCE };
	const char *input = "-", *output = NULL;
	double beta = 0.98;
	struct sc_curve curve;
	cJSON *result;
	int c, rc, k = 0;

	tool_start("lrsuggest");
	argv[0] = (char *)tool_name;	/* getopt names the tool */
	while ((c = getopt_long(argc, argv, "ho:", options, &k)) != -1) {
		if (tool_empty_value(c == 'o' ? 'o' : 0, options[k].name,
		    optarg))
			return EXIT_USAGE;
		switch (c) {
		case 'h':
			usage(stdout);
			return tool_close_stdout(EXIT_OK);
		case OPT_METHOD:
			if (!sc_suggest_method_known(optarg)) {
				tool_warn("--method: unknown method '%s' "
				    "(known: peak, valley, steep, minimum, "
				    "all)", optarg);
				return EXIT_USAGE;
			}
			so.method = optarg;
			break;
		case OPT_DIV:
			rc = sc_opt_double("--div", optarg, -HUGE_VAL,
			    HUGE_VAL, &so.div);
			if (rc == 0 && !(so.div > 1.0 && so.div <= 1e12)) {
				tool_warn("--div: must be above 1 (so that "
				    "min_lr < max_lr) and at most 1e12, not "
				    "%s", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_SKIP_START:
			rc = sc_opt_long("--skip-start", optarg, 0, 1L << 40,
			    &so.skip_start);
			break;
		case OPT_SKIP_END:
			rc = sc_opt_long("--skip-end", optarg, 0, 1L << 40,
			    &so.skip_end);
			break;
		case OPT_SMOOTH:
			rc = sc_opt_double("--smooth", optarg, 0.0, 0.999999,
			    &beta);
			break;
		case OPT_TOLERANCE:
			rc = sc_opt_double("--tolerance", optarg, 0.0, 1.0,
			    &so.tolerance);
			break;
		case 'o':
			output = optarg;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
		if (c != 'o' && c != OPT_METHOD && rc < 0)
			return tool_fail(EXIT_USAGE);
	}
	if (argc - optind > 1) {
		tool_warn("one range CSV at most, not %d", argc - optind);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (optind < argc)
		input = argv[optind];
	if (*input == '\0') {
		tool_warn("an empty file name for the range CSV (\"-\" is "
		    "standard input)");
		return EXIT_USAGE;
	}
	if (tool_output_is_input("-o", output, "the range CSV", input))
		return EXIT_USAGE;

	if (sc_curve_load(input, beta, &curve) < 0)
		return tool_fail(EXIT_RUNTIME);
	rc = sc_suggest(&curve, &so, &result);
	sc_curve_free(&curve);
	if (rc < 0) {
		tool_warn("%s: %s", strcmp(input, "-") == 0 ? "<stdin>" :
		    input, sc_error());
		return EXIT_RUNTIME;
	}

	if (write_json(output, result) < 0) {
		cJSON_Delete(result);
		return tool_fail(EXIT_RUNTIME);
	}
	if (rc == 1)
		tool_warn("no suggestion: %s", cJSON_GetObjectItem(result,
		    "reason")->valuestring);
	cJSON_Delete(result);
	return tool_close_stdout(rc == 1 ? EXIT_RUNTIME : EXIT_OK);
}
