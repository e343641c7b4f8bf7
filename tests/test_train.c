/* test_train.c: the training schedule and the trainer's contracts. The
 * three-stage schedule freezes exactly what MODEL.md's table says (a frozen
 * group is bit-identical across an epoch, a trained one moves), the joint
 * schedule trains everything, `single_stage3` chooses what single trains in
 * stage III; an expert that received no sample does not move under
 * grad_norm = expert; the same seed gives bit-identical parameters; a
 * mini-batch epoch takes ceil(n / B) steps; a non-finite step is refused
 * with the parameters left as they were, and non-finite parameters after a
 * step are refused naming the group and the expert; routing ties go to the
 * lowest index; the stability bound of the learning rate on constructed
 * data with known eigenvalues. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "assert_close.h"
#include "config.h"
#include "fwd.h"
#include "gate.h"
#include "model.h"
#include "rng.h"
#include "stability.h"
#include "status.h"
#include "store.h"
#include "trainer.h"

typedef struct {
    mot_config cfg;
    mot_dataset *ds;
    mot_model *m;
    mot_trainer *tr;
} setup;

static void setup_make(setup *S, mot_model_kind kind)
{
    mot_config *c = &S->cfg;
    mot_config_defaults(c);
    c->N = 3, c->d = 8, c->L = 5, c->n_train = 60, c->n_test = 10, c->M = 5, c->heads = 2;
    c->T1 = 3, c->T2 = 6, c->T = 9, c->model = kind, c->seed = test_seed();
    S->ds = mot_dataset_make(c);
    S->m = mot_model_alloc(c);
    CU_ASSERT_FATAL(S->ds && S->m);
    gsl_rng *r = mot_rng_alloc(c->seed, "init");
    mot_model_init(S->m, c->sigma0, r);
    gsl_rng_free(r);
    S->tr = mot_trainer_alloc(c, S->m, S->ds->train);
    CU_ASSERT_FATAL(S->tr != NULL);
}

static void setup_free(setup *S)
{
    mot_trainer_free(S->tr);
    mot_model_free(S->m);
    mot_dataset_free(S->ds);
}

/* Which groups changed over epoch t, as MOT_GROUP_* flags. */
static unsigned moved_over(setup *S, int t)
{
    mot_model *m = S->m;
    size_t d = m->d;
    double *before = malloc(m->n_params * sizeof *before);
    memcpy(before, m->params, m->n_params * sizeof *before);
    CU_ASSERT_FATAL(mot_trainer_epoch(S->tr, t) == MOT_OK);
    unsigned moved = 0;
    size_t nt = m->E * d, nW = m->A * d * d, nw = m->gated ? m->E * d : 0;
    if (memcmp(before, m->theta, nt * sizeof *before))
        moved |= MOT_GROUP_THETA;
    if (nW && memcmp(before + nt, m->W, nW * sizeof *before))
        moved |= MOT_GROUP_W;
    if (nw && memcmp(before + nt + nW, m->w, nw * sizeof *before))
        moved |= MOT_GROUP_ROUTER;
    free(before);
    return moved;
}

static void test_three_stage_freezes(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOT);
    unsigned want[9] = {5, 5, 5, 6, 6, 6, 5, 5, 5}; /* theta|router, W|router, theta|router */
    for (int t = 0; t < 9; t++)
        CU_ASSERT_EQUAL(moved_over(&S, t), want[t]);
    setup_free(&S);
}

static void test_joint_trains_all(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOT);
    S.cfg.schedule = MOT_SCHED_JOINT;
    for (int t = 0; t < 9; t++)
        CU_ASSERT_EQUAL(moved_over(&S, t), MOT_GROUP_THETA | MOT_GROUP_W | MOT_GROUP_ROUTER);
    setup_free(&S);
}

static void test_single_stage3(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_SINGLE);
    unsigned all[9] = {1, 1, 1, 2, 2, 2, 3, 3, 3};
    for (int t = 0; t < 9; t++)
        CU_ASSERT_EQUAL(moved_over(&S, t), all[t]);
    setup_free(&S);
    setup_make(&S, MOT_MODEL_SINGLE);
    S.cfg.single_stage3 = MOT_STAGE3_THETA;
    for (int t = 0; t < 9; t++)
        CU_ASSERT_EQUAL(moved_over(&S, t), all[t] & (t >= 6 ? 1u : 3u));
    setup_free(&S);
}

static void test_noattn_has_no_W(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOE_NOATTN);
    CU_ASSERT(S.m->A == 0 && S.m->W == NULL);
    for (int t = 0; t < 9; t++) /* stage II trains only the router */
        CU_ASSERT_EQUAL(moved_over(&S, t), t >= 3 && t < 6 ? 4u : 5u);
    setup_free(&S);
}

/* With the routing replayed so that expert 4 gets nothing, it stays put. */
static void test_idle_expert_does_not_move(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOT);
    size_t n = S.ds->train->n, d = S.m->d;
    int *replay = malloc(9 * n * sizeof *replay);
    for (size_t i = 0; i < 9 * n; i++)
        replay[i] = (int)(i % 4);
    S.tr->replay = replay;
    double before[8];
    memcpy(before, S.m->theta + 4 * d, sizeof before);
    CU_ASSERT(mot_trainer_epoch(S.tr, 0) == MOT_OK);
    CU_ASSERT(memcmp(before, S.m->theta + 4 * d, sizeof before) == 0);
    CU_ASSERT(memcmp(S.tr->route, replay, n * sizeof *replay) == 0);
    CU_ASSERT_EQUAL(S.tr->dispatch[0 * 5 + 4] + S.tr->dispatch[1 * 5 + 4] + S.tr->dispatch[2 * 5 + 4], 0);
    S.tr->replay = NULL;
    free(replay);
    setup_free(&S);
}

static void test_same_seed_bit_identical(void)
{
    setup A, B;
    setup_make(&A, MOT_MODEL_MOT);
    setup_make(&B, MOT_MODEL_MOT);
    A.cfg.batch = B.cfg.batch = 16;
    for (int t = 0; t < 9; t++) {
        CU_ASSERT(mot_trainer_epoch(A.tr, t) == MOT_OK);
        CU_ASSERT(mot_trainer_epoch(B.tr, t) == MOT_OK);
    }
    CU_ASSERT(memcmp(A.m->params, B.m->params, A.m->n_params * sizeof(double)) == 0);
    setup_free(&B);
    B.cfg = A.cfg;
    setup_make(&B, MOT_MODEL_MOT);
    B.cfg.seed = A.cfg.seed + 1; /* the route/shuffle streams were made from the old seed: */
    mot_trainer_free(B.tr);      /* remake them from the new one */
    B.tr = mot_trainer_alloc(&B.cfg, B.m, A.ds->train);
    for (int t = 0; t < 9; t++)
        CU_ASSERT(mot_trainer_epoch(B.tr, t) == MOT_OK);
    CU_ASSERT(memcmp(A.m->params, B.m->params, A.m->n_params * sizeof(double)) != 0);
    setup_free(&A);
    setup_free(&B);
}

/* A mini-batch epoch makes ceil(n / B) descent steps, so from the same
 * start it ends elsewhere than one full-batch step. */
static void test_minibatch_differs(void)
{
    setup A, B;
    setup_make(&A, MOT_MODEL_MOT);
    setup_make(&B, MOT_MODEL_MOT);
    B.cfg.batch = 25; /* 25 + 25 + 10 */
    CU_ASSERT(mot_trainer_epoch(A.tr, 0) == MOT_OK);
    CU_ASSERT(mot_trainer_epoch(B.tr, 0) == MOT_OK);
    CU_ASSERT(memcmp(A.m->theta, B.m->theta, A.m->E * A.m->d * sizeof(double)) != 0);
    setup_free(&A);
    setup_free(&B);
}

static void test_divergence_refused(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOT);
    S.cfg.eta = 1e200;
    int status = MOT_OK, t;
    double *before = malloc(S.m->n_params * sizeof *before);
    for (t = 0; t < 9 && status == MOT_OK; t++) {
        memcpy(before, S.m->params, S.m->n_params * sizeof *before);
        status = mot_trainer_epoch(S.tr, t);
    }
    CU_ASSERT_EQUAL(status, MOT_EDIVERGED);
    CU_ASSERT(strstr(mot_status_message(), "epoch") != NULL);
    CU_ASSERT(memcmp(before, S.m->params, S.m->n_params * sizeof *before) == 0);
    free(before);
    setup_free(&S);
}

/* The index after "<unit> " in the message, or -1. */
static long named_index(const char *unit)
{
    const char *p = strstr(mot_status_message(), unit);
    return p ? strtol(p + strlen(unit), NULL, 10) : -1;
}

/* The first of `rows` rows of `cols` holding a non-finite value, or -1. */
static long first_bad_row(const double *x, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(x[i]))
            return (long)(i / cols);
    return -1;
}

/* A step whose loss and gradients are finite but whose rate overflows
 * (eta * lr_scale = 1e600: each key alone is a valid config value) leaves
 * non-finite parameters: refused, naming the epoch, the group and the
 * expert (the first one that is not finite). One case per group: theta
 * (stage I), W (stage II), router w (stage I), the shared W of moe_ffn and
 * the heads of single. */
static void test_updated_params_checked(void)
{
    static const struct {
        mot_model_kind kind;
        int t;                       /* epoch: its stage decides the groups */
        double eta, eta_W, eta_r;
        const char *want, *unit;     /* message, and the word before the index */
        unsigned group;
    } cases[] = {
        {MOT_MODEL_MOT, 0, 1e300, 0, 0, "theta of expert", "expert ", MOT_GROUP_THETA},
        {MOT_MODEL_MOT, 3, 0, 1e300, 0, "W of expert", "expert ", MOT_GROUP_W},
        {MOT_MODEL_MOT, 0, 0, 0, 1e300, "router w of expert", "expert ", MOT_GROUP_ROUTER},
        {MOT_MODEL_MOE_FFN, 3, 0, 1e300, 0, "the shared W (all experts)", NULL, MOT_GROUP_W},
        {MOT_MODEL_SINGLE, 0, 1e300, 0, 0, "theta of head", "head ", MOT_GROUP_THETA},
        {MOT_MODEL_SINGLE, 3, 0, 1e300, 0, "W of head", "head ", MOT_GROUP_W},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup S;
        setup_make(&S, cases[i].kind);
        S.cfg.eta = cases[i].eta, S.cfg.eta_W = cases[i].eta_W, S.cfg.eta_r = cases[i].eta_r;
        S.cfg.lr_scale = 1e300;
        CU_ASSERT_EQUAL_FATAL(mot_config_validate(&S.cfg), MOT_OK);
        CU_ASSERT_EQUAL(mot_trainer_epoch(S.tr, cases[i].t), MOT_EDIVERGED);
        const char *msg = mot_status_message();
        char epoch[32];
        snprintf(epoch, sizeof epoch, "epoch %d:", cases[i].t);
        int ok = strstr(msg, cases[i].want) && strstr(msg, epoch) && strstr(msg, "not finite after the step");
        /* the gradients were finite: the step's own check let it through */
        for (int g = 0; g < 3; g++)
            ok = ok && isfinite(S.tr->gnorm[g]);
        const mot_model *m = S.m;
        const double *x = cases[i].group == MOT_GROUP_THETA ? m->theta
                        : cases[i].group == MOT_GROUP_W     ? m->W : m->w;
        size_t rows = cases[i].group == MOT_GROUP_W ? m->A : m->E;
        size_t cols = cases[i].group == MOT_GROUP_W ? m->d * m->d : m->d;
        long bad = first_bad_row(x, rows, cols);
        ok = ok && bad >= 0 && (!cases[i].unit || named_index(cases[i].unit) == bad);
        if (!ok)
            fprintf(stderr, "\ncase %zu: \"%s\" (first non-finite row %ld)\n", i, msg, bad);
        CU_ASSERT(ok);
        setup_free(&S);
    }
}

/* moe_noattn: every attention weight of every sample is exactly 1/L after
 * training epochs of every stage. */
static void test_noattn_uniform_throughout(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOE_NOATTN);
    size_t n = S.ds->train->n, L = S.ds->train->L, bad = 0;
    for (int t = 0; t < 9; t++) {
        CU_ASSERT(mot_trainer_epoch(S.tr, t) == MOT_OK);
        mot_fwd_all(S.tr->f, S.m, S.ds->train);
        for (size_t i = 0; i < n * L; i++)
            bad += S.tr->f->S[i] != 1.0 / (double)L;
    }
    CU_ASSERT_EQUAL(S.tr->f->V, 1);
    CU_ASSERT_EQUAL(bad, 0);
    setup_free(&S);
}

/* moe_ffn: one W for all experts. A change made through expert 0's view
 * changes the attention, hence the output, of every expert; the stage-II
 * step moves that one matrix. */
static void test_ffn_shared_W(void)
{
    setup S;
    setup_make(&S, MOT_MODEL_MOE_FFN);
    mot_model *m = S.m;
    CU_ASSERT_EQUAL(m->A, 1);
    for (size_t e = 0; e < m->E; e++)
        CU_ASSERT(mot_model_W(m, mot_model_view_of(m, e)) == m->W);
    mot_fwd_all(S.tr->f, m, S.ds->train);
    size_t nF = S.ds->train->n * m->E;
    double *before = malloc(nF * sizeof *before);
    memcpy(before, S.tr->f->F, nF * sizeof *before);
    double *W0 = (double *)mot_model_W(m, mot_model_view_of(m, 0));
    for (size_t i = 0; i < m->d * m->d; i++)
        W0[i] += 0.3 * (double)(i % 7) - 0.9;
    mot_model_touch(m);
    mot_fwd_all(S.tr->f, m, S.ds->train);
    for (size_t e = 0; e < m->E; e++) {
        size_t changed = 0;
        for (size_t k = 0; k < S.ds->train->n; k++)
            changed += S.tr->f->F[k * m->E + e] != before[k * m->E + e];
        CU_ASSERT(changed > 0);
    }
    free(before);
    setup_free(&S);
}

/* Data whose uniformly attended tokens z are given: every token of a sample
 * is its z, so the mean of its tokens is z exactly. */
static mot_data *data_with_z(const double *z, const int *cls, size_t n, size_t d, size_t N)
{
    size_t L = 4;
    mot_data *D = mot_data_alloc(n, L, d, N);
    CU_ASSERT_FATAL(D != NULL);
    for (size_t k = 0; k < n; k++) {
        D->y[k] = k % 2 ? 1 : -1;
        D->cls[k] = cls[k];
        for (size_t l = 0; l < L; l++)
            memcpy(D->X + (k * L + l) * d, z + k * d, d * sizeof *z);
    }
    return D;
}

/* The bound 2 / max_n lambda_max(E_n[z z^T]) on data with known eigenvalues:
 * class 0 has z = +-2 e1, +-e2, so E_0 = diag(2, 1/2, 0, 0); class 1 has
 * z = (1, 1, 0, 0) twice and (0, 0, 1.5, 0), -(0, 0, 1.5, 0), so E_1 has the
 * block [[1/2, 1/2], [1/2, 1/2]] (eigenvalue 1) and 9/8 on e3: lambda_max =
 * max(2, 9/8) = 2, bound 1. Scaling class 1 by 2 makes its 9/2 the largest
 * (bound 4/9); the logistic loss has a quarter of the curvature; a class
 * without samples adds nothing; all-zero data has no bound. */
static void test_stability_bound(void)
{
    enum { n = 8, d = 4 };
    double z[n * d] = {
        2, 0, 0, 0,  -2, 0, 0, 0,  0, 1, 0, 0,  0, -1, 0, 0,                  /* class 0 */
        1, 1, 0, 0,  1, 1, 0, 0,  0, 0, 1.5, 0,  0, 0, -1.5, 0,              /* class 1 */
    };
    int cls[n] = {0, 0, 0, 0, 1, 1, 1, 1};
    double bound, want;
    mot_data *D = data_with_z(z, cls, n, d, 3);   /* class 2: no samples */
    CU_ASSERT_EQUAL(mot_stability_bound(D, MOT_LOSS_SQUARED, &bound), MOT_OK);
    want = 1.0;
    ASSERT_CLOSE(&bound, &want, 1, 1e-12, 0);
    CU_ASSERT_EQUAL(mot_stability_bound(D, MOT_LOSS_LOGISTIC, &bound), MOT_OK);
    want = 4.0;
    ASSERT_CLOSE(&bound, &want, 1, 1e-12, 0);
    mot_data_free(D);

    for (size_t i = 4 * d; i < n * d; i++)
        z[i] *= 2;   /* class 1: eigenvalues 4 and 9/2 */
    D = data_with_z(z, cls, n, d, 2);
    CU_ASSERT_EQUAL(mot_stability_bound(D, MOT_LOSS_SQUARED, &bound), MOT_OK);
    want = 2.0 / 4.5;
    ASSERT_CLOSE(&bound, &want, 1, 1e-12, 0);
    mot_data_free(D);

    memset(z, 0, sizeof z);
    D = data_with_z(z, cls, n, d, 2);
    CU_ASSERT_EQUAL(mot_stability_bound(D, MOT_LOSS_SQUARED, &bound), MOT_OK);
    CU_ASSERT(isinf(bound) && bound > 0);
    mot_data_free(D);
}

static void test_ties_lowest_index(void)
{
    double h[4] = {0.5, 1.0, 1.0, 0.2}, noise[4] = {0.5, 0, 0, 0};
    CU_ASSERT_EQUAL(mot_gate_choose(h, NULL, 4), 1);
    CU_ASSERT_EQUAL(mot_gate_choose(h, noise, 4), 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("trainer", NULL, NULL);
    CU_add_test(s, "three-stage schedule freezes what the table says", test_three_stage_freezes);
    CU_add_test(s, "joint schedule trains everything", test_joint_trains_all);
    CU_add_test(s, "single: single_stage3 = all | theta", test_single_stage3);
    CU_add_test(s, "moe_noattn has no W", test_noattn_has_no_W);
    CU_add_test(s, "an expert with no sample does not move", test_idle_expert_does_not_move);
    CU_add_test(s, "same seed, bit-identical parameters", test_same_seed_bit_identical);
    CU_add_test(s, "mini-batches take several steps", test_minibatch_differs);
    CU_add_test(s, "a non-finite step is refused", test_divergence_refused);
    CU_add_test(s, "non-finite parameters after a step are refused, by group and expert",
                test_updated_params_checked);
    CU_add_test(s, "the stability bound of constructed data", test_stability_bound);
    CU_add_test(s, "routing ties go to the lowest index", test_ties_lowest_index);
    CU_add_test(s, "moe_noattn attention is exactly 1/L throughout", test_noattn_uniform_throughout);
    CU_add_test(s, "moe_ffn has one W shared by all experts", test_ffn_shared_W);
    return run_cunit_suites();
}
