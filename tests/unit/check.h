/*
 * check.h - the smallest test harness: CHECK and CHECK_NEAR record a
 * failure with its file and line and carry on; check_report prints the
 * totals as "N passed, N failed" and gives the exit status.
 */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond) check_true((cond), #cond, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol) \
	check_near((double)(a), (double)(b), (tol), #a, __FILE__, __LINE__)

static int
check_true(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		check_passed++;
		return 1;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: failed: %s\n", file, line, what);
	return 0;
}

/* |a - b| <= tol * max(1, |b|): relative for large values. */
static int
check_near(double a, double b, double tol, const char *what,
    const char *file, int line)
{
	double scale = fabs(b) > 1.0 ? fabs(b) : 1.0;

	if (fabs(a - b) <= tol * scale) {
		check_passed++;
		return 1;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: %s is %.17g, expected %.17g (tol %g)\n",
	    file, line, what, a, b, tol);
	return 0;
}

static int
check_report(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, check_passed,
	    check_failed);
	return check_failed == 0 ? 0 : 1;
}

#endif
