/* test_checks.c: Definition 2 and Propositions 1 and 2 on constructed runs,
 * one that must hold and, for each condition, one that must fail: a class
 * split across a specialized and an unspecialized expert, an uncovered
 * class, a skewed split within M_n, label attention that does not rise, dips
 * or is not aligned, a loss that rises over stage II. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "assert_close.h"
#include "check.h"
#include "fake_run.h"
#include "status.h"

static char root[64];

/* Writes f under a fresh directory, runs `check` on it, returns the verdict. */
static mot_verdict_kind verdict_of(const fake_run *f, int (*check)(const mot_runrec *, mot_verdict *),
                                   const char *tag)
{
    static int count;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/run%d", root, count++);
    fake_run_write(f, dir);
    mot_runrec *r = mot_runrec_load(dir);
    CU_ASSERT_FATAL(r != NULL);
    mot_verdict v;
    CU_ASSERT_FATAL(check(r, &v) == MOT_OK);
    mot_verdict_kind k = v.verdict;
    printf("\n    %s: %s: %s", tag, mot_verdict_name(k), v.reason);
    mot_verdict_free(&v);
    mot_runrec_free(r);
    return k;
}

static void test_def2(void)
{
    fake_run f;
    fake_run_init(&f, 2, 3, 8, 2, 4, 6);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_definition2, "def2 clean"), MOT_VERDICT_HOLDS);
    /* (experts 0 and 2 serve class 0, expert 1 class 1.) Expert 2 takes 20%
     * of class 1 besides its half of class 0: purity 0.71 */
    f.share[6][1][1] = 0.8, f.share[6][1][2] = 0.2;
    fake_run_derive(&f);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_definition2, "def2 impure"), MOT_VERDICT_FAILS);
    /* ... unless it carries less than min_traffic: then it is idle */
    fake_run_init(&f, 2, 3, 8, 2, 4, 6);
    f.share[6][1][1] = 0.99, f.share[6][1][2] = 0.01, f.share[6][0][0] = 0.99, f.share[6][0][2] = 0.01;
    fake_run_derive(&f);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_definition2, "def2 idle"), MOT_VERDICT_HOLDS);
}

static void test_prop1_holds(void)
{
    fake_run f;
    fake_run_init(&f, 2, 3, 8, 2, 4, 6);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_prop1, "prop1 clean"), MOT_VERDICT_HOLDS);
}

/* CHECKS.md's example: class 1 split across a specialized expert (1) and an
 * unspecialized one (2, which also serves half of class 0). */
static void test_prop1_split_class(void)
{
    fake_run f;
    fake_run_init(&f, 2, 3, 8, 2, 4, 6);
    for (int t = 0; t <= 6; t++)
        f.share[t][1][1] = 0.85, f.share[t][1][2] = 0.15;
    fake_run_derive(&f);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_prop1, "prop1 split"), MOT_VERDICT_FAILS);
}

static void test_prop1_uncovered(void)
{
    fake_run f;
    fake_run_init(&f, 3, 3, 8, 2, 4, 6); /* expert 2 serves classes 1 and 2 half each */
    for (int t = 0; t <= 6; t++) {
        f.share[t][2][2] = 0, f.share[t][2][1] = 1;
    }
    fake_run_derive(&f);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_prop1, "prop1 uncovered"), MOT_VERDICT_FAILS);
}

/* Both experts of M_0 (0 and 2) are pure, but training routes 70/30
 * between them. */
static void test_prop1_not_uniform(void)
{
    fake_run f;
    fake_run_init(&f, 2, 3, 8, 2, 4, 6);
    for (int t = 0; t < 6; t++)
        f.train_count[t][0][0] = 350, f.train_count[t][0][2] = 150;
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_prop1, "prop1 skewed"), MOT_VERDICT_FAILS);
    /* a small imbalance the chi-square test accepts: 251/249 */
    for (int t = 0; t < 6; t++)
        f.train_count[t][0][0] = 251, f.train_count[t][0][2] = 249;
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_prop1, "prop1 near-uniform"), MOT_VERDICT_HOLDS);
}

static void test_prop2(void)
{
    fake_run f;
    fake_run_init(&f, 2, 3, 8, 2, 10, 12);
    CU_ASSERT_EQUAL(verdict_of(&f, mot_check_prop2, "prop2 clean"), MOT_VERDICT_HOLDS);
    fake_run g = f; /* label attention reaches only 0.2 = 1.6 / L */
    for (int t = 2; t <= 12; t++)
        for (int e = 0; e < 3; e++)
            g.label_attention[t][e] = 0.125 + (t >= 10 ? 0.075 : 0.075 * (t - 2) / 8.0);
    CU_ASSERT_EQUAL(verdict_of(&g, mot_check_prop2, "prop2 small gain"), MOT_VERDICT_FAILS);
    g = f; /* a dip of 0.05 mid-stage */
    g.label_attention[6][1] -= 0.1;
    CU_ASSERT_EQUAL(verdict_of(&g, mot_check_prop2, "prop2 dip"), MOT_VERDICT_FAILS);
    g = f; /* W not aligned with its class */
    g.attn_align[10][1][1] = 0.5;
    CU_ASSERT_EQUAL(verdict_of(&g, mot_check_prop2, "prop2 unaligned"), MOT_VERDICT_FAILS);
    g = f; /* training loss rises over stage II */
    g.train_loss[10] = g.train_loss[2] * 1.01;
    CU_ASSERT_EQUAL(verdict_of(&g, mot_check_prop2, "prop2 loss up"), MOT_VERDICT_FAILS);
}

static void test_unfinished_refused(void)
{
    fake_run f;
    fake_run_init(&f, 2, 3, 8, 2, 4, 6);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/unfinished", root);
    fake_run_write(&f, dir);
    char path[160];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    unlink(path);
    CU_ASSERT(mot_runrec_load(dir) == NULL);
    CU_ASSERT(strstr(mot_status_message(), "summary.json") != NULL);
}

int main(void)
{
    strcpy(root, "/tmp/test_checks_XXXXXX");
    if (!mkdtemp(root) || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("checks", NULL, NULL);
    CU_add_test(s, "Definition 2", test_def2);
    CU_add_test(s, "Proposition 1 holds on a clean run", test_prop1_holds);
    CU_add_test(s, "Proposition 1: class split across an unspecialized expert", test_prop1_split_class);
    CU_add_test(s, "Proposition 1: uncovered class", test_prop1_uncovered);
    CU_add_test(s, "Proposition 1: non-uniform split within M_n", test_prop1_not_uniform);
    CU_add_test(s, "Proposition 2: holds, and each way to fail", test_prop2);
    CU_add_test(s, "an unfinished run is refused", test_unfinished_refused);
    int status = run_cunit_suites();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        return 1;
    return status;
}
