/* test_parallel.c: the fast step (batch.c) against its references. Its
 * gradients equal the per-sample reference mot_trainer_gradients_naive
 * (every model kind, both gates, both losses, both normalizations, both
 * router inputs, full and mini-batch, through Z and through T, with and
 * without the distinct-query
 * shortcuts, on generated data and on data whose queries never repeat) to
 * 1e-12; its outputs and attention equal mot_block_forward's; its caches
 * follow changes of W and theta; views whose W are equal share their
 * attended tokens; the shortcuts' epochs equal the general
 * path's; the routing draws noise only for the experts that can win and
 * follows the law of argmax (h + noise); and epochs with 2, 3 or 4 OpenMP threads equal the serial epochs
 * bit for bit (parameters, routing, objective, gradient norms). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>

#include "assert_close.h"
#include "batch.h"
#include "block.h"
#include "config.h"
#include "model.h"
#include "rng.h"
#include "status.h"
#include "store.h"
#include "trainer.h"

typedef struct {
    mot_config cfg;
    mot_dataset *ds;
    mot_model *m;
    mot_trainer *tr;
} instance;

/* A small instance with random parameters (attention and gate not uniform)
 * and a random routing that gives every expert a sample. distinct: make
 * every query x_1 different, so the general path is the only one. */
static void instance_make_rin(instance *I, mot_model_kind kind, mot_gate_kind gate,
                              mot_loss_kind loss, mot_grad_norm norm, int distinct,
                              mot_router_input rin)
{
    mot_config *c = &I->cfg;
    mot_config_defaults(c);
    c->router_input = rin;
    c->N = 3, c->d = 9, c->L = 5, c->n_train = 150, c->n_test = 4, c->M = 4, c->heads = 3;
    c->T1 = 2, c->T2 = 4, c->T = 6;
    c->model = kind, c->gate = gate, c->loss = loss, c->grad_norm = norm;
    c->seed = test_seed();
    I->ds = mot_dataset_make(c);
    CU_ASSERT_FATAL(I->ds != NULL);
    gsl_rng *r = mot_rng_alloc(c->seed, "test-params");
    if (distinct)
        for (size_t k = 0; k < I->ds->train->n; k++)
            I->ds->train->X[k * c->L * c->d] += 1e-3 * (double)(k + 1);
    I->m = mot_model_alloc(c);
    CU_ASSERT_FATAL(I->m != NULL);
    I->tr = mot_trainer_alloc(c, I->m, I->ds->train);
    CU_ASSERT_FATAL(I->tr != NULL);
    for (size_t i = 0; i < I->m->n_params; i++)
        I->m->params[i] = gsl_ran_gaussian(r, 0.4);
    mot_model_touch(I->m);
    for (size_t k = 0; k < I->ds->train->n; k++)
        I->tr->route[k] = (int)(k < I->m->E ? k : gsl_rng_uniform_int(r, I->m->E));
    gsl_rng_free(r);
}

static void instance_make(instance *I, mot_model_kind kind, mot_gate_kind gate, mot_loss_kind loss,
                          mot_grad_norm norm, int distinct)
{
    instance_make_rin(I, kind, gate, loss, norm, distinct, MOT_ROUTER_QUERY);
}

static void instance_free(instance *I)
{
    mot_trainer_free(I->tr);
    mot_model_free(I->m);
    mot_dataset_free(I->ds);
}

/* Fast against naive gradients of `all` (MOT_GROUP_* flags) on batch idx[0..B). */
static int compare_groups(instance *I, const size_t *idx, size_t B, unsigned all, const char *what)
{
    mot_model *m = I->m;
    double *want = malloc(m->n_params * sizeof *want), lw, lf;
    mot_trainer_gradients_naive(I->tr, idx, B, all, &lw);
    memcpy(want, m->grads, m->n_params * sizeof *want);
    mot_trainer_gradients(I->tr, idx, B, all, &lf);
    double big = 0;
    for (size_t i = 0; i < m->n_params; i++)
        big = fmax(big, fabs(want[i]));
    int ok = assert_close_array(m->grads, want, m->n_params, 1e-12, 1e-12 * big, what)
           && assert_close_array(&lf, &lw, 1, 1e-12, 0, what);
    free(want);
    return ok;
}

/* Fast against naive gradients of every group on batch idx[0..B). */
static int compare_gradients(instance *I, const size_t *idx, size_t B, const char *what)
{
    return compare_groups(I, idx, B, MOT_GROUP_THETA | MOT_GROUP_W | MOT_GROUP_ROUTER, what);
}

static void test_fast_equals_naive(void)
{
    static const size_t sub[11] = {3, 0, 7, 11, 2, 20, 5, 1, 14, 149, 80};
    int bad = 0;
    for (int kind = 0; kind < 4; kind++)
        for (int gate = 0; gate < 2; gate++)
            for (int loss = 0; loss < 2; loss++)
                for (int norm = 0; norm < 2; norm++)
                    for (int distinct = 0; distinct < 4; distinct++) {
                        if (kind == MOT_MODEL_SINGLE && (gate || norm || distinct > 1))
                            continue; /* no gate: the same model */
                        instance I; /* distinct 2, 3: router_input = sum */
                        instance_make_rin(&I, kind, gate, loss, norm, distinct & 1,
                                          distinct > 1 ? MOT_ROUTER_SUM : MOT_ROUTER_QUERY);
                        for (int unique = 0; unique < 2; unique++)
                            for (int usez = 0; usez < 2; usez++)
                                for (int mb = 0; mb < 2; mb++) {
                                    I.tr->b->use_unique = unique;
                                    I.tr->b->use_z = usez;
                                    char what[128];
                                    snprintf(what, sizeof what,
                                             "kind %d gate %d loss %d norm %d distinct %d unique %d "
                                             "z %d batch %d", kind, gate, loss, norm, distinct,
                                             unique, usez, mb);
                                    bad += !compare_gradients(&I, mb ? sub : NULL,
                                                              mb ? 11 : I.ds->train->n, what);
                                }
                        instance_free(&I);
                    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Views whose W are equal bit for bit share one attended token (vsrc):
 * all W equal (stage I: all zero), then only some (W_2 = W_0), then all
 * distinct again, for mot and single, full batch and mini-batch; each
 * time the fast step equals the reference, which knows nothing of it. */
static void test_equal_views_share(void)
{
    static const size_t sub[5] = {4, 0, 9, 149, 33};
    for (int kind = 0; kind < 2; kind++) {
        instance I;
        instance_make(&I, kind, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, 0);
        mot_model *m = I.m;
        size_t n = I.ds->train->n, dd = m->d * m->d;
        double *W1 = malloc(dd * sizeof *W1);
        memcpy(W1, m->W + dd, dd * sizeof *W1);
        for (int round = 0; round < 3; round++) {
            if (round == 0)
                for (size_t a = 1; a < m->A; a++)
                    memcpy(m->W + a * dd, m->W, dd * sizeof *m->W);
            else if (round == 1)
                memcpy(m->W + dd, W1, dd * sizeof *W1);
            else
                m->W[2 * dd] += 0.125;
            mot_model_touch(m);
            char what[64];
            snprintf(what, sizeof what, "kind %d, round %d", kind, round);
            CU_ASSERT(compare_gradients(&I, NULL, n, what));
            CU_ASSERT(compare_gradients(&I, sub, 5, what));
            CU_ASSERT_EQUAL(I.tr->b->vone, round == 0);
            CU_ASSERT_EQUAL(I.tr->b->vsrc[2], round == 2 ? 2 : 0);
        }
        free(W1);
        instance_free(&I);
    }
}

/* The caches follow the parameters: after theta changes (without a touch:
 * theta has no version) and after W changes (with one), the fast step
 * still equals the reference, in the stage-II pattern (W trains, T cached),
 * the stage-I pattern (theta trains, Z cached) and with the router alone
 * (the outputs of the last full-batch step kept while theta and W stand). */
static void test_caches_follow_changes(void)
{
    for (int kind = 0; kind < 4; kind++) {
        instance I;
        instance_make(&I, kind, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, 0);
        mot_model *m = I.m;
        size_t n = I.ds->train->n;
        double loss;
        for (int round = 0; round < 3; round++) {
            unsigned g1 = MOT_GROUP_W | MOT_GROUP_ROUTER, g2 = MOT_GROUP_THETA | MOT_GROUP_ROUTER;
            mot_trainer_gradients(I.tr, NULL, n, g1, &loss); /* fills T */
            mot_trainer_gradients(I.tr, NULL, n, g2, &loss);/* fills Z */
            CU_ASSERT(compare_groups(&I, NULL, n, g2, "stage I pattern"));
            CU_ASSERT(compare_groups(&I, NULL, n, MOT_GROUP_ROUTER, "router alone"));
            CU_ASSERT(compare_groups(&I, NULL, n, MOT_GROUP_ROUTER, "router alone, F kept"));
            m->theta[round] += 0.25;
            CU_ASSERT(compare_groups(&I, NULL, n, MOT_GROUP_ROUTER, "router alone, theta changed"));
            CU_ASSERT(compare_gradients(&I, NULL, n, "after theta changed"));
            CU_ASSERT(compare_groups(&I, NULL, n, g1, "stage II, after theta changed"));
            if (m->A) {
                m->W[round * 3] -= 0.5;
                mot_model_touch(m);
                CU_ASSERT(compare_gradients(&I, NULL, n, "after W changed"));
                CU_ASSERT(compare_groups(&I, NULL, n, g1, "stage II, after W changed"));
            }
        }
        instance_free(&I);
    }
}

/* After a step, the outputs F (batch order) and the attention S of the fast
 * step are mot_block_forward's, sample by sample. */
static void test_outputs_match_block_forward(void)
{
    for (int kind = 0; kind < 4; kind++)
        for (int distinct = 0; distinct < 2; distinct++) {
            instance I;
            instance_make(&I, kind, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, distinct);
            mot_model *m = I.m;
            const mot_data *D = I.ds->train;
            const mot_batch *b = I.tr->b;
            size_t d = D->d, L = D->L, E = m->E, bad = 0;
            double loss, z[9], s[5], q[9];
            I.tr->b->use_lsq = 0; /* F of every expert, not only the routed one */
            for (int usez = 0; usez < 2; usez++) {
                I.tr->b->use_z = usez;
                mot_model_touch(m);
                mot_trainer_gradients(I.tr, NULL, D->n, MOT_GROUP_THETA | MOT_GROUP_ROUTER, &loss);
                for (size_t k = 0; k < D->n; k++)
                    for (size_t e = 0; e < E; e++) {
                        size_t a = mot_model_view_of(m, e);
                        double f = mot_block_forward(z, s, q, D->X + k * L * d, mot_model_W(m, a),
                                                     m->theta + e * d, L, d);
                        bad += !assert_close_array(b->F + k * E + e, &f, 1, 1e-12, 1e-14, "f");
                        bad += !assert_close_array(b->S + (k * b->V + a) * L, s, L, 1e-12, 1e-14, "s");
                    }
            }
            CU_ASSERT_EQUAL(bad, 0);
            instance_free(&I);
        }
}

/* A run of `epochs` epochs of kind with `threads` threads, from the same
 * seed: its parameters, the last routing, objectives and gradient norms. */
typedef struct {
    double *params, objective[8], gnorm[8][3];
    int *route;
} trace;

static void run_epochs(trace *out, mot_model_kind kind, mot_gate_kind gate, int batch,
                       int threads, int unique, int epochs)
{
    instance I;
    instance_make(&I, kind, gate, MOT_LOSS_LOGISTIC, MOT_NORM_EXPERT, 0);
    I.cfg.batch = batch;
    I.cfg.lr_scale = 0.5;
    I.cfg.T1 = 2, I.cfg.T2 = 5, I.cfg.T = epochs;
    I.tr->b->use_unique = unique;
    CU_ASSERT_FATAL(mot_trainer_set_threads(I.tr, threads) == MOT_OK);
    for (int t = 0; t < epochs; t++) {
        CU_ASSERT_FATAL(mot_trainer_epoch(I.tr, t) == MOT_OK);
        out->objective[t] = I.tr->objective;
        memcpy(out->gnorm[t], I.tr->gnorm, sizeof out->gnorm[t]);
    }
    size_t n = I.ds->train->n;
    out->params = malloc(I.m->n_params * sizeof *out->params);
    out->route = malloc(n * sizeof *out->route);
    memcpy(out->params, I.m->params, I.m->n_params * sizeof *out->params);
    memcpy(out->route, I.tr->route, n * sizeof *out->route);
    instance_free(&I);
}

static size_t n_params_of(mot_model_kind kind)
{
    instance I;
    instance_make(&I, kind, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, 0);
    size_t np = I.m->n_params;
    instance_free(&I);
    return np;
}

/* Every stage of every kind, full batch and mini-batches (one of which is
 * smaller than a task), compete and switch: 2, 3 and 4 threads give the
 * serial epochs bit for bit. */
static void test_threads_bit_identical(void)
{
    enum { EPOCHS = 8 };
    int bad = 0;
    for (int kind = 0; kind < 4; kind++)
        for (int gate = 0; gate < 2; gate++)
            for (int bi = 0; bi < 3; bi++) {
                static const int batches[3] = {0, 40, 7};
                size_t np = n_params_of(kind);
                trace ref, got;
                run_epochs(&ref, kind, gate, batches[bi], 1, 1, EPOCHS);
                for (int threads = 2; threads <= 4; threads++) {
                    run_epochs(&got, kind, gate, batches[bi], threads, 1, EPOCHS);
                    int same = !memcmp(ref.params, got.params, np * sizeof(double))
                            && !memcmp(ref.route, got.route, 150 * sizeof(int))
                            && !memcmp(ref.objective, got.objective, sizeof ref.objective)
                            && !memcmp(ref.gnorm, got.gnorm, sizeof ref.gnorm);
                    if (!same)
                        fprintf(stderr, "\nkind %d gate %d batch %d: %d threads differ from 1\n",
                                kind, gate, batches[bi], threads);
                    bad += !same;
                    free(got.params), free(got.route);
                }
                free(ref.params), free(ref.route);
            }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Training with the distinct-query shortcuts and without them ends at the
 * same parameters (to rounding) and routes alike. */
static void test_shortcuts_equal_general_path(void)
{
    enum { EPOCHS = 8 };
    for (int kind = 0; kind < 4; kind++) {
        size_t np = n_params_of(kind);
        trace a, b;
        run_epochs(&a, kind, MOT_GATE_COMPETE, 0, 1, 1, EPOCHS);
        run_epochs(&b, kind, MOT_GATE_COMPETE, 0, 2, 0, EPOCHS);
        double big = 0;
        for (size_t i = 0; i < np; i++)
            big = fmax(big, fabs(b.params[i]));
        CU_ASSERT(assert_close_array(a.params, b.params, np, 1e-11, 1e-12 * big, "shortcut vs general"));
        CU_ASSERT(memcmp(a.route, b.route, 150 * sizeof(int)) == 0);
        free(a.params), free(a.route), free(b.params), free(b.route);
    }
}

/* The work counter: one full-batch stage-II step of mot with the shortcuts
 * (router_input = query) counts exactly what batch.c's table says. */
static void test_flop_count(void)
{
    instance I;
    instance_make(&I, MOT_MODEL_MOT, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, 0);
    mot_batch *b = I.tr->b;
    size_t n = I.ds->train->n, d = b->d, L = b->L, E = b->E, nq = I.tr->f->nq;
    double loss;
    /* first: fill T (theta frozen in stage II), then time a stage-II step */
    mot_trainer_gradients(I.tr, NULL, n, MOT_GROUP_W | MOT_GROUP_ROUTER, &loss);
    mot_model_touch(I.m);
    b->flops = 0;
    mot_trainer_gradients(I.tr, NULL, n, MOT_GROUP_W | MOT_GROUP_ROUTER, &loss);
    size_t nt = (n + 15) / 16, used = 0;
    for (size_t e = 0; e < E; e++)
        used += b->count[e] > 0;
    double want = 2.0 * nq * E * d                       /* gate, per query */
                + 2.0 * nq * E * d * d                   /* W_a^T x_q */
                + 2.0 * n * E * L * d                    /* scores */
                + 2.0 * n * E * L                        /* outputs from T */
                + n * (2.0 * L * d + 2.0 * d)            /* phi, added by view and query */
                + 4.0 * n * E + (double)nt * nq * E      /* router: losses by query */
                + 4.0 * nq * E                           /* their coefficients */
                + 2.0 * nq * E * d + (double)E * d
                + (double)nt * E * nq * d                /* the tasks' sums added */
                + used * (nq * (double)d + 2.0 * nq * d * d); /* divided; W by query */
    CU_ASSERT_DOUBLE_EQUAL(b->flops, want, 0.5);
    instance_free(&I);
}

/* Training routing (mot_batch_route): an expert with h_e + lambda < max h
 * is never chosen and costs no draw; among the others the law is that of
 * argmax (h_e + r_e), r_e ~ U[0, lambda): for two candidates h_1 = h,
 * h_3 = h - delta, P(3) = (lambda - delta)^2 / (2 lambda^2). */
static void test_route_law(void)
{
    enum { CALLS = 40 };
    instance I;
    instance_make(&I, MOT_MODEL_MOT, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, 0);
    mot_batch *b = I.tr->b;
    size_t n = I.ds->train->n, E = b->E, ts = 16, nt = (n + ts - 1) / ts, threes = 0, bad = 0;
    CU_ASSERT_FATAL(E == 4);
    double lambda = 0.2, delta = 0.05;
    b->by_query = 0;
    for (size_t i = 0; i < n; i++) {
        double *h = b->H + i * E;
        h[0] = 0.5 - lambda - 1e-3, h[1] = 0.5, h[2] = -1, h[3] = 0.5 - delta;
    }
    gsl_rng *clone[MOT_BATCH_MAX_TASKS];
    for (size_t t = 0; t < nt; t++)
        clone[t] = gsl_rng_clone(I.tr->route_rng[t]);
    for (int c = 0; c < CALLS; c++) {
        mot_batch_route(b, I.tr->route_rng, lambda, NULL, n, I.tr->route);
        for (size_t k = 0; k < n; k++) {
            bad += I.tr->route[k] != 1 && I.tr->route[k] != 3;
            threes += I.tr->route[k] == 3;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* two draws a row (task t: rows [16 t, 16 t + 16)), in each task's stream */
    int same = 1;
    for (size_t t = 0; t < nt; t++) {
        size_t rows = n - t * ts < ts ? n - t * ts : ts;
        for (size_t j = 0; j < 2 * rows * CALLS; j++)
            gsl_rng_get(clone[t]);
        same &= gsl_rng_get(clone[t]) == gsl_rng_get(I.tr->route_rng[t]);
        gsl_rng_free(clone[t]);
    }
    CU_ASSERT(same);
    double N = (double)(n * CALLS), p = (lambda - delta) * (lambda - delta) / (2 * lambda * lambda);
    double z = ((double)threes - N * p) / sqrt(N * p * (1 - p));
    if (fabs(z) >= 5)
        fprintf(stderr, "\nexpert 3 chosen %zu times of %.0f, expected %.1f (z = %.2f)\n", threes, N,
                N * p, z);
    CU_ASSERT(fabs(z) < 5);
    instance_free(&I);
}

/* A step that routes (noise given) draws what mot_batch_route draws, both
 * when its tasks route their own rows (W frozen) and when it routes first
 * (W trains), full batch and mini-batch. */
static void test_step_routes_as_route(void)
{
    static const size_t sub[7] = {5, 0, 77, 149, 12, 30, 2};
    static const unsigned groups[2] = {MOT_GROUP_THETA | MOT_GROUP_ROUTER,
                                       MOT_GROUP_W | MOT_GROUP_ROUTER};
    instance I;
    instance_make(&I, MOT_MODEL_MOT, MOT_GATE_COMPETE, MOT_LOSS_SQUARED, MOT_NORM_EXPERT, 0);
    mot_batch *b = I.tr->b;
    size_t n = I.ds->train->n;
    mot_batch_rule rule = {I.cfg.loss, I.cfg.gate, I.cfg.grad_norm};
    int *want = malloc(n * sizeof *want), same = 1;
    for (int g = 0; g < 2; g++)
        for (int mb = 0; mb < 2; mb++) {
            const size_t *idx = mb ? sub : NULL;
            size_t B = mb ? 7 : n;
            gsl_rng *clone[MOT_BATCH_MAX_TASKS];
            for (int t = 0; t < MOT_BATCH_MAX_TASKS; t++)
                clone[t] = gsl_rng_clone(I.tr->route_rng[t]);
            mot_batch_gate(b, I.m, idx, B);
            mot_batch_route(b, clone, I.cfg.lambda_r, idx, B, want);
            mot_batch_noise noise = {I.tr->route_rng, I.cfg.lambda_r};
            mot_batch_gradients(b, I.m, I.ds->train, &rule, &noise, I.tr->route, idx, B, groups[g]);
            for (size_t i = 0; i < B; i++) {
                size_t k = idx ? idx[i] : i;
                same &= I.tr->route[k] == want[k];
            }
            for (int t = 0; t < MOT_BATCH_MAX_TASKS; t++) /* the streams are where the clones are */
                same &= gsl_rng_get(clone[t]) == gsl_rng_get(I.tr->route_rng[t]), gsl_rng_free(clone[t]);
        }
    CU_ASSERT(same);
    free(want);
    instance_free(&I);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("fast step", NULL, NULL);
    CU_add_test(s, "gradients equal the per-sample reference", test_fast_equals_naive);
    CU_add_test(s, "caches follow changes of theta and W", test_caches_follow_changes);
    CU_add_test(s, "views with equal W share their attended tokens", test_equal_views_share);
    CU_add_test(s, "outputs and attention equal mot_block_forward", test_outputs_match_block_forward);
    CU_add_test(s, "distinct-query shortcuts equal the general path", test_shortcuts_equal_general_path);
    CU_add_test(s, "the work counter", test_flop_count);
    CU_add_test(s, "routing draws only for experts that can win, with the right law", test_route_law);
    CU_add_test(s, "a step routes as mot_batch_route does", test_step_routes_as_route);
    CU_pSuite p = CU_add_suite("threads", NULL, NULL);
    CU_add_test(p, "2, 3, 4 threads equal 1 thread bit for bit", test_threads_bit_identical);
    return run_cunit_suites();
}
