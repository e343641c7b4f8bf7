/* assert_close.c: see assert_close.h. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include "assert_close.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

int assert_close_array(const double *actual, const double *expected, size_t n,
                       double rtol, double atol, const char *what)
{
    size_t worst = 0;
    double worst_excess = -INFINITY;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double tol = atol + rtol * fabs(expected[i]);
        double diff = fabs(actual[i] - expected[i]);
        double excess = isnan(diff) ? INFINITY : diff - tol;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
        if (!(diff <= tol))
            ok = 0;
    }
    if (!ok) {
        double tol = atol + rtol * fabs(expected[worst]);
        fprintf(stderr, "%s: worst at [%zu]: actual %.17g expected %.17g (|diff| %.3g > tol %.3g)\n",
                what, worst, actual[worst], expected[worst],
                fabs(actual[worst] - expected[worst]), tol);
    }
    return ok;
}

unsigned long test_seed(void)
{
    const char *s = getenv("MOT_TEST_SEED");
    return s && *s ? strtoul(s, NULL, 10) : 12345UL;
}

int run_cunit_suites(void)
{
    printf("test seed %lu (set MOT_TEST_SEED to change)\n", test_seed());
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit error: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    unsigned failures = CU_get_number_of_failures();
    unsigned failed_tests = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures == 0 && failed_tests == 0 ? 0 : 1;
}

static char tmpdir[256]; /* the directory of the last test_tmpdir_make */

const char *test_tmpdir_make(const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
    return mkdtemp(tmpdir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int test_tmpdir_remove(void)
{
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
