/* assert_close.h: the shared helpers of the test suites. The one tolerance
 * helper compares arrays elementwise with |a - e| <= atol + rtol |e| and, on
 * failure, reports the worst index with both values, so a failing gradient
 * test says where; beside it, the CUnit runner, the test seed, and a
 * suite's temporary directory. It holds no test of its own. */
#ifndef MOT_ASSERT_CLOSE_H
#define MOT_ASSERT_CLOSE_H

#include <stddef.h>

#include <CUnit/CUnit.h>

/* Returns 1 when every element is close, else 0 after printing
 * "<what>: worst at [i]: actual A expected E (|diff| D > tol T)" to stderr. */
int assert_close_array(const double *actual, const double *expected, size_t n,
                       double rtol, double atol, const char *what);

#define ASSERT_CLOSE(a, e, n, rtol, atol) \
    CU_ASSERT(assert_close_array((a), (e), (n), (rtol), (atol), #a))

/* Runs the registered CUnit suites in basic mode and returns the process
 * exit status: 0 when all passed, 1 when any assertion failed or CUnit itself
 * failed (CU_basic_run_tests alone returns success even then). Prints the
 * test seed first (environment MOT_TEST_SEED overrides it). */
int run_cunit_suites(void);

/* The seed tests draw from: MOT_TEST_SEED from the environment, else 12345. */
unsigned long test_seed(void);

/* Makes a fresh directory "$TMPDIR/<name>.XXXXXX" (TMPDIR unset or empty:
 * /tmp) for a suite's files and returns its path, NULL when it cannot.
 * One directory at a time: the path lives until the next call. */
const char *test_tmpdir_make(const char *name);

/* Removes the directory of the last test_tmpdir_make and everything in it
 * (symbolic links are removed, not followed): 0, or -1 on failure. */
int test_tmpdir_remove(void);

#endif
