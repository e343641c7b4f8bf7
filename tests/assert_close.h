/* assert_close.h: the one tolerance helper of the test suites. Compares
 * arrays elementwise with |a - e| <= atol + rtol |e| and, on failure, reports
 * the worst index with both values, so a failing gradient test says where. */
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

#endif
