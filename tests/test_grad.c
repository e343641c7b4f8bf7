/* test_grad.c: every gradient of section 6 against central finite
 * differences of the objective it claims to descend, on random small
 * instances: theta, W and the router, for every model kind, both gates,
 * both losses and both normalizations, on the full set and on a mini-batch.
 * Also: the batched forward against the per-sample reference, the distinct-
 * query shortcut against the general path, and softmax and loss stability. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>

#include "assert_close.h"
#include "block.h"
#include "config.h"
#include "fwd.h"
#include "loss.h"
#include "model.h"
#include "rng.h"
#include "store.h"
#include "trainer.h"

typedef struct {
    mot_config cfg;
    mot_dataset *ds;
    mot_model *m;
    mot_trainer *tr;
} instance;

/* A random small instance with random (nonzero) W and router, so neither
 * the attention nor the gate is uniform, and a random routing in which
 * every expert gets at least one sample. */
static void instance_make(instance *I, mot_model_kind kind, mot_gate_kind gate,
                          mot_loss_kind loss, mot_grad_norm norm)
{
    mot_config *c = &I->cfg;
    mot_config_defaults(c);
    c->N = 3, c->d = 7, c->L = 5, c->n_train = 24, c->n_test = 4, c->M = 4, c->heads = 3;
    c->model = kind, c->gate = gate, c->loss = loss, c->grad_norm = norm;
    c->seed = test_seed();
    I->ds = mot_dataset_make(c);
    I->m = mot_model_alloc(c);
    CU_ASSERT_FATAL(I->ds && I->m);
    I->tr = mot_trainer_alloc(c, I->m, I->ds->train);
    CU_ASSERT_FATAL(I->tr != NULL);
    gsl_rng *r = mot_rng_alloc(c->seed, "test-params");
    for (size_t i = 0; i < I->m->n_params; i++)
        I->m->params[i] = gsl_ran_gaussian(r, 0.6);
    mot_model_touch(I->m);
    for (size_t k = 0; k < I->ds->train->n; k++)
        I->tr->route[k] = (int)(k < I->m->E ? k : gsl_rng_uniform_int(r, I->m->E));
    gsl_rng_free(r);
}

static void instance_free(instance *I)
{
    mot_trainer_free(I->tr);
    mot_model_free(I->m);
    mot_dataset_free(I->ds);
}

/* Compares the analytic gradient of `group` with central differences of
 * mot_trainer_objective, parameter by parameter, with step eps^(1/3) max(|x|, 1).
 * Criterion: elementwise |g - fd| <= 1e-6 |fd| + 1e-7 max|fd|. */
static void check_group(instance *I, const size_t *idx, size_t B, unsigned group,
                        double *grad, double *param, size_t count, const char *what)
{
    if (!count)
        return;
    mot_model *m = I->m;
    double loss;
    mot_trainer_gradients(I->tr, idx, B, group, &loss);
    double *g = malloc(count * sizeof *g), *fd = malloc(count * sizeof *fd);
    memcpy(g, grad, count * sizeof *g);
    double big = 0;
    for (size_t i = 0; i < count; i++) {
        double x = param[i], h = cbrt(DBL_EPSILON) * fmax(fabs(x), 1.0);
        param[i] = x + h;
        mot_model_touch(m);
        double jp = mot_trainer_objective(I->tr, idx, B, group);
        param[i] = x - h;
        mot_model_touch(m);
        double jm = mot_trainer_objective(I->tr, idx, B, group);
        param[i] = x;
        mot_model_touch(m);
        fd[i] = (jp - jm) / (2 * h);
        big = fmax(big, fabs(fd[i]));
    }
    CU_ASSERT(big > 0); /* a zero gradient would make the test vacuous */
    if (!assert_close_array(g, fd, count, 1e-6, 1e-7 * big, what)) {
        CU_FAIL("gradient differs from finite differences");
    }
    free(g);
    free(fd);
}

static void check_instance(mot_model_kind kind, mot_gate_kind gate, mot_loss_kind loss,
                           mot_grad_norm norm, int minibatch)
{
    instance I;
    instance_make(&I, kind, gate, loss, norm);
    mot_model *m = I.m;
    size_t d = m->d, B = I.ds->train->n;
    size_t sub[9] = {3, 0, 7, 11, 2, 20, 5, 1, 14}, *idx = NULL;
    if (minibatch)
        idx = sub, B = 9;
    char what[128];
    snprintf(what, sizeof what, "kind %d gate %d loss %d norm %d batch %zu: ", kind, gate, loss, norm, B);
    char w1[160], w2[160], w3[160];
    snprintf(w1, sizeof w1, "%stheta", what);
    snprintf(w2, sizeof w2, "%sW", what);
    snprintf(w3, sizeof w3, "%srouter", what);
    check_group(&I, idx, B, MOT_GROUP_THETA, m->gtheta, m->theta, m->E * d, w1);
    check_group(&I, idx, B, MOT_GROUP_W, m->gW, m->W, m->A * d * d, w2);
    if (m->gated)
        check_group(&I, idx, B, MOT_GROUP_ROUTER, m->gw, m->w, m->E * d, w3);
    instance_free(&I);
}

static void test_grad_mot(void)
{
    for (int gate = 0; gate < 2; gate++)
        for (int loss = 0; loss < 2; loss++)
            for (int norm = 0; norm < 2; norm++)
                for (int mb = 0; mb < 2; mb++)
                    check_instance(MOT_MODEL_MOT, gate, loss, norm, mb);
}

static void test_grad_single(void)
{
    for (int loss = 0; loss < 2; loss++)
        for (int mb = 0; mb < 2; mb++)
            check_instance(MOT_MODEL_SINGLE, MOT_GATE_COMPETE, loss, MOT_NORM_EXPERT, mb);
}

static void test_grad_moe_noattn(void)
{
    for (int gate = 0; gate < 2; gate++)
        for (int loss = 0; loss < 2; loss++)
            check_instance(MOT_MODEL_MOE_NOATTN, gate, loss, MOT_NORM_EXPERT, 0);
}

static void test_grad_moe_ffn(void)
{
    for (int gate = 0; gate < 2; gate++)
        for (int loss = 0; loss < 2; loss++)
            for (int norm = 0; norm < 2; norm++)
                check_instance(MOT_MODEL_MOE_FFN, gate, loss, norm, norm);
}

/* The cached, batched forward equals the plain per-sample reference. */
static void test_forward_matches_reference(void)
{
    instance I;
    instance_make(&I, MOT_MODEL_MOT, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT);
    const mot_data *D = I.ds->train;
    mot_model *m = I.m;
    size_t d = D->d, L = D->L, E = m->E;
    mot_fwd_all(I.tr->f, m, D);
    double z[7], s[5], q[7];
    size_t bad = 0;
    for (size_t k = 0; k < D->n; k++)
        for (size_t e = 0; e < E; e++) {
            double f = mot_block_forward(z, s, q, D->X + k * L * d, mot_model_W(m, e),
                                         m->theta + e * d, L, d);
            bad += !assert_close_array(mot_fwd_z(I.tr->f, e, k), z, d, 1e-12, 1e-14, "z");
            bad += !assert_close_array(mot_fwd_s(I.tr->f, e, k), s, L, 1e-12, 1e-14, "s");
            bad += !assert_close_array(I.tr->f->F + k * E + e, &f, 1, 1e-12, 1e-14, "f");
        }
    CU_ASSERT_EQUAL(bad, 0);
    instance_free(&I);
}

/* Generated data repeats its queries (beta c_n): the distinct-query path and
 * the general path give the same attention and the same gate (the router
 * reads x_1: its logits once per distinct query). */
static void test_distinct_queries(void)
{
    instance I;
    instance_make(&I, MOT_MODEL_MOT, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT);
    mot_fwd *a = I.tr->f;
    mot_fwd *b = mot_fwd_alloc(I.m, I.ds->train, MOT_ROUTER_QUERY);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT(a->nq <= (size_t)I.cfg.N); /* generated data: one query per class */
    b->use_unique = 0;
    mot_fwd_all(a, I.m, I.ds->train);
    mot_fwd_all(b, I.m, I.ds->train);
    size_t n = a->V * a->n;
    ASSERT_CLOSE(a->Z, b->Z, n * a->d, 1e-13, 1e-15);
    ASSERT_CLOSE(a->S, b->S, n * a->L, 1e-13, 1e-15);
    ASSERT_CLOSE(a->H, b->H, a->n * a->E, 1e-14, 1e-300);
    ASSERT_CLOSE(a->P, b->P, a->n * a->E, 1e-14, 1e-300);
    mot_fwd_free(b);
    instance_free(&I);
}

static void test_softmax_stable(void)
{
    double u[5] = {1000, 999, -1000, 0, 1000}, s[5];
    mot_block_softmax(s, u, 5);
    double e1 = exp(-1.0), z = 2 + e1;
    double want[5] = {1 / z, e1 / z, 0, 0, 1 / z};
    ASSERT_CLOSE(s, want, 5, 1e-15, 1e-300);
    double big[3] = {-1e3, -1e3 - 1, -1e3 - 2}, t[3];
    mot_block_softmax(t, big, 3);
    double z2 = 1 + exp(-1.0) + exp(-2.0);
    double want2[3] = {1 / z2, exp(-1.0) / z2, exp(-2.0) / z2};
    ASSERT_CLOSE(t, want2, 3, 1e-15, 0);
}

static void test_losses_stable(void)
{
    /* logistic at large margins: no overflow, the right asymptotics */
    CU_ASSERT(mot_loss_value(MOT_LOSS_LOGISTIC, 1, 1e3) == 0 || mot_loss_value(MOT_LOSS_LOGISTIC, 1, 1e3) < 1e-300);
    double got[4] = {mot_loss_value(MOT_LOSS_LOGISTIC, 1, -1e3), mot_loss_grad(MOT_LOSS_LOGISTIC, 1, -1e3),
                     mot_loss_value(MOT_LOSS_LOGISTIC, -1, 0.5), mot_loss_grad(MOT_LOSS_LOGISTIC, -1, 0.5)};
    double want[4] = {1e3, -1, log1p(exp(0.5)), 1 / (1 + exp(-0.5))};
    ASSERT_CLOSE(got, want, 4, 1e-15, 0);
    CU_ASSERT(mot_loss_value(MOT_LOSS_SQUARED, 1, 3) == 2.0);
    CU_ASSERT(mot_loss_grad(MOT_LOSS_SQUARED, 1, 3) == 2.0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("gradients", NULL, NULL);
    CU_add_test(s, "mot: theta, W, router (both gates, losses, norms, batches)", test_grad_mot);
    CU_add_test(s, "single: theta, W of every head", test_grad_single);
    CU_add_test(s, "moe_noattn: theta, router", test_grad_moe_noattn);
    CU_add_test(s, "moe_ffn: theta, shared W, router", test_grad_moe_ffn);
    CU_pSuite f = CU_add_suite("forward", NULL, NULL);
    CU_add_test(f, "batched forward equals the reference", test_forward_matches_reference);
    CU_add_test(f, "distinct-query shortcut equals the general path", test_distinct_queries);
    CU_add_test(f, "softmax of scores of size 1e3", test_softmax_stable);
    CU_add_test(f, "losses at large margins", test_losses_stable);
    return run_cunit_suites();
}
