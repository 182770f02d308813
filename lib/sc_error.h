/*
 * sc_error.h - how the library reports what went wrong.
 *
 * Library functions return 0 (or a valid pointer) on success and -1 (or
 * NULL) on failure, after recording a one-line message of the form
 * "what failed: why".  The tools print it after their own name.
 */
#ifndef SC_ERROR_H
#define SC_ERROR_H

/* Record a message for the current thread; always returns -1. */
int sc_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Like sc_fail, and marks the fault as the caller's: a bad option or a
 * contradiction between options (exit status 2 in the tools). */
int sc_fail_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Whether the last recorded fault was marked by sc_fail_usage. */
int sc_error_is_usage(void);

/* Prefix the recorded message with "prefix: ", keeping its kind; always
 * returns -1. */
int sc_fail_prefix(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The last recorded message ("" when none); valid until the next call. */
const char *sc_error(void);

#endif
