/*
 * tool.h - what every superconv command does the same way: its name in
 * messages, the exit statuses, and reporting a library error.
 */
#ifndef TOOL_H
#define TOOL_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sc_error.h"
#include "sc_io.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static const char *tool_name;

/* Name the tool in messages.  A closed pipe on standard output then
 * fails the next write (EPIPE), which the tool reports and exits 1 for,
 * instead of dying silently of SIGPIPE. */
static void
tool_start(const char *name)
{
	tool_name = name;
	signal(SIGPIPE, SIG_IGN);
}

/* "tool: message" on stderr. */
static void
tool_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Report the library's last error; returns status for the caller's
 * return statement. */
static int
tool_fail(int status)
{
	tool_warn("%s", sc_error());
	return status;
}

/* Whether an option's value is empty, which names no file, number or
 * choice: said as a usage error.  short_name is the option's letter, or
 * 0 for the long option long_name. */
static int
tool_empty_value(int short_name, const char *long_name, const char *arg)
{
	if (arg == NULL || *arg != '\0')
		return 0;
	if (short_name != 0)
		tool_warn("-%c: an empty value", short_name);
	else
		tool_warn("--%s: an empty value", long_name);
	return 1;
}

/* Whether output (given as out_opt) is the existing file input names,
 * which writing the output would replace: said as a usage error, with
 * what as the input's description ("the file of --bounds").  Standard
 * input and output, devices and pipes never are. */
static int
tool_output_is_input(const char *out_opt, const char *output,
    const char *what, const char *input)
{
	if (input == NULL || output == NULL || access(input, F_OK) != 0 ||
	    !sc_out_same(input, output))
		return 0;
	tool_warn("%s %s: it is also %s, which writing would replace",
	    out_opt, output, what);
	return 1;
}

/* Close standard output and report a failed write (full disk, closed
 * pipe) as a runtime error. */
static int
tool_close_stdout(int status)
{
	if (fclose(stdout) != 0 && status == EXIT_OK) {
		tool_warn("<stdout>: write failed: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return status;
}

#endif
