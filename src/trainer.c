/* trainer.c: see trainer.h. */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>

#include "block.h"
#include "gate.h"
#include "loss.h"
#include "rng.h"
#include "status.h"

mot_trainer *mot_trainer_alloc(const mot_config *cfg, mot_model *m, const mot_data *D)
{
    mot_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    size_t n = D->n, E = m->E;
    tr->cfg = cfg, tr->m = m, tr->D = D;
    tr->f = mot_fwd_alloc(m, D, cfg->router_input);
    tr->b = tr->f ? mot_batch_alloc(m, D, tr->f) : NULL;
    int rngs_ok = 1;
    for (int t = 0; t < MOT_BATCH_MAX_TASKS; t++) {
        char name[32];
        snprintf(name, sizeof name, "route.%d", t);
        rngs_ok &= (tr->route_rng[t] = mot_rng_alloc_type(gsl_rng_taus2, cfg->seed, name)) != NULL;
    }
    tr->shuffle_rng = mot_rng_alloc(cfg->seed, "shuffle");
    tr->perm = malloc(n * sizeof *tr->perm);
    tr->route = calloc(n, sizeof *tr->route);
    tr->count = malloc(E * sizeof *tr->count);
    tr->dispatch = malloc(D->N * E * sizeof *tr->dispatch);
    tr->C = malloc(n * E * sizeof *tr->C);
    tr->lossE = malloc(E * sizeof *tr->lossE);
    tr->r = malloc(m->d * sizeof *tr->r);
    if (!tr->f || !tr->b || !rngs_ok || !tr->shuffle_rng || !tr->perm || !tr->route || !tr->count
        || !tr->dispatch || !tr->C || !tr->lossE || !tr->r) {
        mot_trainer_free(tr);
        return NULL;
    }
    for (size_t k = 0; k < n; k++)
        tr->perm[k] = k;
    return tr;
}

void mot_trainer_free(mot_trainer *tr)
{
    if (!tr)
        return;
    mot_batch_free(tr->b);
    mot_fwd_free(tr->f);
    for (int t = 0; t < MOT_BATCH_MAX_TASKS; t++)
        gsl_rng_free(tr->route_rng[t]);
    gsl_rng_free(tr->shuffle_rng);
    free(tr->perm), free(tr->route), free(tr->count), free(tr->dispatch);
    free(tr->C), free(tr->lossE), free(tr->r);
    free(tr);
}

/* The divisor of expert e's gradient for `group`: its own sample count
 * (grad_norm = expert) or the batch size. A shared W and the heads of
 * `single` see every sample, so they always divide by the batch. */
static double divisor(const mot_trainer *tr, size_t e, size_t B, unsigned group)
{
    const mot_model *m = tr->m;
    if (m->kind == MOT_MODEL_SINGLE || tr->cfg->grad_norm == MOT_NORM_GLOBAL)
        return (double)B;
    if (group == MOT_GROUP_W && m->A == 1)
        return (double)B;
    return (double)tr->count[e];
}

static void count_routes(mot_trainer *tr, const size_t *idx, size_t B)
{
    memset(tr->count, 0, tr->m->E * sizeof *tr->count);
    for (size_t i = 0; i < B; i++)
        tr->count[tr->route[idx ? idx[i] : i]]++;
}

/* The model's output F on sample k, and the gate factor a (pi_m for switch). */
static double output(const mot_trainer *tr, size_t k, double *a)
{
    const mot_model *m = tr->m;
    const double *F = tr->f->F + k * m->E;
    *a = 1.0;
    if (m->kind == MOT_MODEL_SINGLE) {
        double sum = 0;
        for (size_t e = 0; e < m->E; e++)
            sum += F[e];
        return sum;
    }
    size_t e = (size_t)tr->route[k];
    if (tr->cfg->gate == MOT_GATE_SWITCH)
        *a = tr->f->P[k * m->E + e];
    return *a * F[e];
}

static void forward(mot_trainer *tr, const size_t *idx, size_t B)
{
    if (tr->m->gated)
        mot_fwd_gate(tr->f, tr->m, idx, B);
    mot_fwd_attention(tr->f, tr->m, tr->D, idx, B);
    mot_fwd_outputs(tr->f, tr->m, idx, B);
}

/* Backward of one sample through expert (or head) e with output weight
 * coefficients for theta and W. */
static void backward_expert(mot_trainer *tr, size_t k, size_t e, double ct, double cw,
                            unsigned groups)
{
    mot_model *m = tr->m;
    size_t d = m->d, L = tr->D->L, a = mot_model_view_of(m, e);
    const double *X = tr->D->X + k * L * d;
    const double *s = mot_fwd_s(tr->f, a, k), *z = mot_fwd_z(tr->f, a, k);
    const double *theta = m->theta + e * d;
    if (groups & MOT_GROUP_THETA)
        cblas_daxpy((int)d, ct, z, 1, m->gtheta + e * d, 1);
    if (groups & MOT_GROUP_W)
        mot_block_backward(m->gW + a * d * d, NULL, tr->r, cw, s, z, X, theta, L, d);
}

int mot_trainer_set_threads(mot_trainer *tr, int threads)
{
    return mot_batch_set_threads(tr->b, threads);
}

/* The fast gradients, the gate being current (mot_batch_gate); with
 * noise, the step draws the routing first. */
static double batch_gradients(mot_trainer *tr, const mot_batch_noise *noise, const size_t *idx,
                              size_t B, unsigned groups)
{
    const mot_config *cfg = tr->cfg;
    mot_batch_rule rule = {cfg->loss, cfg->gate, cfg->grad_norm};
    return mot_batch_gradients(tr->b, tr->m, tr->D, &rule, noise, tr->route, idx, B, groups);
}

void mot_trainer_gradients(mot_trainer *tr, const size_t *idx, size_t B,
                           unsigned groups, double *loss)
{
    if (tr->m->gated)
        mot_batch_gate(tr->b, tr->m, idx, B);
    *loss = batch_gradients(tr, NULL, idx, B, groups);
}

void mot_trainer_gradients_naive(mot_trainer *tr, const size_t *idx, size_t B,
                                 unsigned groups, double *loss)
{
    mot_model *m = tr->m;
    const mot_config *cfg = tr->cfg;
    size_t E = m->E;
    forward(tr, idx, B);
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    if (m->gated)
        count_routes(tr, idx, B);
    double sum = 0;
    for (size_t i = 0; i < B; i++) {
        size_t k = idx ? idx[i] : i;
        double y = tr->D->y[k], a;
        double F = output(tr, k, &a);
        double g = mot_loss_grad(cfg->loss, y, F);
        sum += mot_loss_value(cfg->loss, y, F);
        if (!m->gated) {
            for (size_t e = 0; e < E; e++)
                backward_expert(tr, k, e, g / (double)B, g / (double)B, groups);
            continue;
        }
        size_t e = (size_t)tr->route[k];
        backward_expert(tr, k, e, g * a / divisor(tr, e, B, MOT_GROUP_THETA),
                        g * a / divisor(tr, e, B, MOT_GROUP_W), groups);
        if (!(groups & MOT_GROUP_ROUTER))
            continue;
        const double *Fk = tr->f->F + k * E, *Pk = tr->f->P + k * E;
        if (cfg->gate == MOT_GATE_COMPETE) {
            for (size_t j = 0; j < E; j++)
                tr->lossE[j] = mot_loss_value(cfg->loss, y, Fk[j]);
            mot_gate_coef_compete(tr->C + i * E, Pk, tr->lossE, E);
        } else {
            mot_gate_coef_switch(tr->C + i * E, Pk, e, g, Fk[e], E);
        }
    }
    if (m->gated && (groups & MOT_GROUP_ROUTER)) {
        size_t ldr;
        const double *R = mot_fwd_router_rows(tr->f, idx, &ldr);
        mot_gate_backward(m->gw, tr->C, R, ldr, 1.0 / (double)B, B, E, m->d);
    }
    *loss = sum / (double)B;
}

double mot_trainer_objective(mot_trainer *tr, const size_t *idx, size_t B, unsigned group)
{
    const mot_model *m = tr->m;
    const mot_config *cfg = tr->cfg;
    forward(tr, idx, B);
    if (m->gated)
        count_routes(tr, idx, B);
    double J = 0;
    for (size_t i = 0; i < B; i++) {
        size_t k = idx ? idx[i] : i;
        double y = tr->D->y[k], a;
        double l = mot_loss_value(cfg->loss, y, output(tr, k, &a));
        if (!m->gated) {
            J += l / (double)B;
        } else if (group != MOT_GROUP_ROUTER) {
            J += l / divisor(tr, (size_t)tr->route[k], B, group);
        } else if (cfg->gate == MOT_GATE_SWITCH) {
            J += l / (double)B;
        } else { /* compete: the gate-weighted loss sum_e pi_e l(y, f_e) */
            const double *Fk = tr->f->F + k * m->E, *Pk = tr->f->P + k * m->E;
            for (size_t e = 0; e < m->E; e++)
                J += Pk[e] * mot_loss_value(cfg->loss, y, Fk[e]) / (double)B;
        }
    }
    return J;
}

/* Counts the dispatch of the batch's routing by class. */
static void count_dispatch(mot_trainer *tr, const size_t *idx, size_t B)
{
    size_t E = tr->m->E;
    for (size_t i = 0; i < B; i++) {
        size_t k = idx ? idx[i] : i;
        tr->dispatch[(size_t)tr->D->cls[k] * E + (size_t)tr->route[k]]++;
    }
}

static double group_norm(const double *g, size_t n)
{
    return n ? cblas_dnrm2((int)n, g, 1) : 0.0;
}

/* The first of `rows` rows of `cols` values that holds a non-finite value,
 * or `rows` if there is none. */
static size_t first_nonfinite_row(const double *x, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(x[i]))
            return i / cols;
    return rows;
}

/* After the descent: the updated groups are finite, expert by expert (a
 * finite gradient times a large rate can still overflow). */
static int check_updated(const mot_trainer *tr, int t, unsigned groups)
{
    const mot_model *m = tr->m;
    size_t d = m->d, e;
    const char *unit = m->kind == MOT_MODEL_SINGLE ? "head" : "expert";
    if ((groups & MOT_GROUP_THETA) && (e = first_nonfinite_row(m->theta, m->E, d)) < m->E)
        return MOT_ERROR(MOT_EDIVERGED, "epoch %d: theta of %s %zu is not finite after the step", t, unit, e);
    if ((groups & MOT_GROUP_W) && (e = first_nonfinite_row(m->W, m->A, d * d)) < m->A) {
        if (m->A == 1 && m->E > 1)
            return MOT_ERROR(MOT_EDIVERGED, "epoch %d: the shared W (all experts) is not finite after the step", t);
        return MOT_ERROR(MOT_EDIVERGED, "epoch %d: W of %s %zu is not finite after the step", t, unit, e);
    }
    if ((groups & MOT_GROUP_ROUTER) && (e = first_nonfinite_row(m->w, m->E, d)) < m->E)
        return MOT_ERROR(MOT_EDIVERGED, "epoch %d: router w of expert %zu is not finite after the step", t, e);
    return MOT_OK;
}

static int step(mot_trainer *tr, int t, const size_t *idx, size_t B, unsigned groups)
{
    mot_model *m = tr->m;
    const mot_config *cfg = tr->cfg;
    size_t d = m->d;
    mot_batch_noise noise = {tr->route_rng, cfg->lambda_r};
    if (m->gated) /* the gate once: routing and gradients share it */
        mot_batch_gate(tr->b, m, idx, B);
    if (m->gated && tr->replay)
        for (size_t i = 0; i < B; i++) {
            size_t k = idx ? idx[i] : i;
            tr->route[k] = tr->replay[(size_t)t * tr->D->n + k];
        }
    double loss = batch_gradients(tr, m->gated && !tr->replay ? &noise : NULL, idx, B, groups);
    if (m->gated)
        count_dispatch(tr, idx, B);
    tr->gnorm[0] = groups & MOT_GROUP_THETA ? group_norm(m->gtheta, m->E * d) : 0;
    tr->gnorm[1] = groups & MOT_GROUP_W ? group_norm(m->gW, m->A * d * d) : 0;
    tr->gnorm[2] = groups & MOT_GROUP_ROUTER ? group_norm(m->gw, m->E * d) : 0;
    static const char *names[3] = {"theta", "W", "router w"};
    if (!isfinite(loss))
        return MOT_ERROR(MOT_EDIVERGED, "epoch %d: the training loss is not finite (%g)", t, loss);
    for (int i = 0; i < 3; i++)
        if (!isfinite(tr->gnorm[i]))
            return MOT_ERROR(MOT_EDIVERGED, "epoch %d: the gradient of %s is not finite", t, names[i]);
    tr->objective += loss * (double)B / (double)tr->D->n;
    double s = cfg->lr_scale;
    if (groups & MOT_GROUP_THETA)
        cblas_daxpy((int)(m->E * d), -s * cfg->eta, m->gtheta, 1, m->theta, 1);
    if (groups & MOT_GROUP_W) {
        cblas_daxpy((int)(m->A * d * d), -s * cfg->eta_W, m->gW, 1, m->W, 1);
        mot_model_touch(m);
    }
    if (groups & MOT_GROUP_ROUTER)
        cblas_daxpy((int)(m->E * d), -s * cfg->eta_r, m->gw, 1, m->w, 1);
    return check_updated(tr, t, groups);
}

int mot_trainer_epoch(mot_trainer *tr, int t)
{
    const mot_config *cfg = tr->cfg;
    size_t n = tr->D->n;
    unsigned groups = mot_model_groups_at(tr->m, cfg, t);
    memset(tr->dispatch, 0, tr->D->N * tr->m->E * sizeof *tr->dispatch);
    tr->objective = 0;
    if (cfg->batch == 0 || (size_t)cfg->batch >= n)
        return step(tr, t, NULL, n, groups);
    gsl_ran_shuffle(tr->shuffle_rng, tr->perm, n, sizeof *tr->perm);
    for (size_t b = 0; b < n; b += (size_t)cfg->batch) {
        size_t B = n - b < (size_t)cfg->batch ? n - b : (size_t)cfg->batch;
        int status = step(tr, t, tr->perm + b, B, groups);
        if (status)
            return status;
    }
    return MOT_OK;
}
