/*
 * clrgen - write a learning-rate and momentum schedule.
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sc_io.h"
#include "sc_sched.h"
#include "tool.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: clrgen [--policy constant|step|triangular|triangular2|exp_range|\n"
"                        1cycle|cosine] [--like smith|pytorch|fastai]\n"
"              [--min-lr LR | --div D] [--max-lr LR | --bounds FILE]\n"
"              [--final-lr LR | --final-div D]\n"
"              [--pct-start P] [--phases 2|3] [--anneal linear|cos]\n"
"              [--step-size N] [--step-size-down N] [--gamma G]\n"
"              [--exp-range-decay amplitude|bounds] [--milestones I,I,...]\n"
"              [--warmup N] [--momentum-range LOW:HIGH | --momentum M]\n"
"              (--iters N | --epochs E (--steps-per-epoch S |\n"
"               --data-size N --batch B [--drop-last]))\n"
"              [--format csv|json] [-o FILE]\n");
}

enum { OPT_SCHED = 256, OPT_FORMAT };

static const struct option own_options[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	struct sc_sched_args sched;
	int json;
	const char *output;
};

static int
parse_option(int c, const char *name, const char *arg, struct args *a)
{
	switch (c) {
	case OPT_SCHED:
		return sc_sched_option(&a->sched, name, arg) < 0 ? -1 : 0;
	case OPT_FORMAT:
		if (strcmp(arg, "csv") == 0 || strcmp(arg, "json") == 0) {
			a->json = strcmp(arg, "json") == 0;
			return 0;
		}
		return sc_fail("--format: expected csv or json, not '%s'",
		    arg);
	case 'o':
		a->output = arg;
		return 0;
	}
	return sc_fail("unexpected option");
}

/* The options as a schedule: length, then the rest, then the checks of
 * every row.  Without --max-lr or --bounds, a bounds JSON is read from
 * standard input when that is not a terminal (a pipe from lrsuggest). */
static int
build_schedule(struct args *a, struct sc_sched *s)
{
	int implicit = 0;
	long n;

	if (sc_sched_length(&a->sched, &n) < 0)
		return -1;
	if (a->sched.bounds == NULL && !sc_sched_given(&a->sched, "max-lr") &&
	    !isatty(STDIN_FILENO)) {
		a->sched.bounds = "-";
		implicit = 1;
	}
	if (sc_sched_resolve(&a->sched, s) < 0) {
		/* Nothing piped in: the user meant to give bounds as
		 * options. */
		if (implicit && strstr(sc_error(), "empty") != NULL)
			return sc_fail_usage("--max-lr: no bounds given "
			    "(--max-lr, or --bounds FILE, or a bounds JSON on "
			    "standard input)");
		return -1;
	}
	s->n_iters = n;
	return sc_sched_prepare(s);
}

/* The fewest bytes n rows can take: each holds its update's number,
 * two values of a character or more, two commas and a newline. */
static double
least_bytes(long n)
{
	double total = 0.0;
	long lo = 0, hi = 10;

	for (int digits = 1; lo < n; digits++, lo = hi, hi *= 10)
		total += (double)((hi < n ? hi : n) - lo) * (digits + 5);
	return total;
}

static int
write_schedule(const struct args *a, const struct sc_sched *s)
{
	struct sc_out out;
	struct statvfs fs;

	if (sc_out_open(&out, a->output) < 0)
		return -1;
	/* A schedule larger than the free space would fill the disk for
	 * minutes or hours before failing. */
	if (out.tmp[0] != '\0' && fstatvfs(fileno(out.f), &fs) == 0) {
		double need = least_bytes(s->n_iters);
		double have = (double)fs.f_bavail * (double)fs.f_frsize;

		if (need > have) {
			sc_out_abort(&out);
			return sc_fail("%s: %ld rows take %.0f MB or more, and "
			    "the file system has %.0f MB free", a->output,
			    s->n_iters, need / 1e6, have / 1e6);
		}
	}
	if (sc_sched_write(s, out.f, a->json) < 0) {
		int e = errno;

		sc_out_abort(&out);
		return sc_fail("%s: write failed: %s", sc_out_name(&out),
		    strerror(e));
	}
	return sc_out_commit(&out);
}

int
main(int argc, char **argv)
{
	struct option options[64];
	struct sc_sched s;
	struct args a;
	int c, k = 0;

	tool_start("clrgen");
	argv[0] = (char *)tool_name;	/* getopt names the tool */
	memset(&a, 0, sizeof(a));
	sc_sched_args_init(&a.sched);
	if (sc_sched_getopt(options, sizeof(options) / sizeof(*options),
	    own_options, SC_SCHED_SHAPE | SC_SCHED_LENGTH, OPT_SCHED) < 0) {
		tool_warn("internal error: option table too small");
		return EXIT_RUNTIME;
	}

	while ((c = getopt_long(argc, argv, "ho:", options, &k)) != -1) {
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
	if (tool_output_is_input("-o", a.output, "the file of --bounds",
	    a.sched.bounds))
		return EXIT_USAGE;
	if (build_schedule(&a, &s) < 0)
		return tool_fail(sc_error_is_usage() ?
		    EXIT_USAGE : EXIT_RUNTIME);
	if (write_schedule(&a, &s) < 0)
		return tool_fail(EXIT_RUNTIME);
	return tool_close_stdout(EXIT_OK);
}
