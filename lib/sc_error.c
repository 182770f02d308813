#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sc_error.h"

static _Thread_local char last_error[1024];
static _Thread_local int last_is_usage;

static int
record(int is_usage, const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	last_is_usage = is_usage;
	return -1;
}

int
sc_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(0, fmt, ap);
	va_end(ap);
	return -1;
}

int
sc_fail_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(1, fmt, ap);
	va_end(ap);
	return -1;
}

int
sc_error_is_usage(void)
{
	return last_is_usage;
}

int
sc_fail_prefix(const char *fmt, ...)
{
	char prefix[512], old[sizeof(last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, last_error, sizeof(old));
	/* Truncation keeps the start of the message, which names the
	 * object; the precision bounds each part explicitly. */
	snprintf(last_error, sizeof(last_error), "%.511s: %.509s", prefix,
	    old);
	return -1;
}

const char *
sc_error(void)
{
	return last_error;
}
