/* testsupport.h — small helpers shared by the CUnit test programs: fixture paths, reading a
 * file, and a runner that prints "CASES <passed> <failed>" for scripts/test to count. */
#ifndef JITRD_TESTSUPPORT_H
#define JITRD_TESTSUPPORT_H

#include <stddef.h>
#include <time.h>

#include <CUnit/CUnit.h>

/* The moment fixture tests judge at: 2030-06-01T00:00:00Z (see make-fixtures.sh). */
#define JITRD_TEST_NOW ((time_t)1906502400)

struct tsupport_case {
	const char *name;
	CU_TestFunc fn;
};

/* Path of a fixture file under $JITRD_FIXTURES (static buffer; aborts the test program when
 * the variable is unset, which is a harness error, not a test result). */
const char *tsupport_fixture(const char *relpath);

/* Whole file, NUL-terminated; NULL if unreadable. *len excludes the NUL. Caller frees. */
char *tsupport_read(const char *path, size_t *len);

/* Reads a fixture; fails the current test (CU_FAIL) and returns NULL when unreadable. */
char *tsupport_read_fixture(const char *relpath, size_t *len);

/* Points every proxy variable libcurl reads (http_proxy, HTTPS_PROXY, ALL_PROXY, ...) at a
 * loopback port where nothing listens, and unsets no_proxy: a request sent through a proxy then
 * fails. For tests that a request goes direct. 0, or -1 when no such port could be found.
 * tsupport_dead_proxy_clear() unsets them again. */
int tsupport_dead_proxy_set(void);
void tsupport_dead_proxy_clear(void);

/* Runs one suite of cases (NULL-name-terminated), prints CUnit's summary and the CASES line.
 * Returns the process exit status (0 when every case passed). */
int tsupport_run(const char *suite, const struct tsupport_case *cases);

#endif
