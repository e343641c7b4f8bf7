/* model.c: see model.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

mot_model *mot_model_alloc(const mot_config *cfg)
{
    mot_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t d = (size_t)cfg->d;
    m->kind = cfg->model;
    m->d = d;
    m->E = (size_t)(cfg->model == MOT_MODEL_SINGLE ? cfg->heads : cfg->M);
    m->A = cfg->model == MOT_MODEL_MOE_NOATTN ? 0 : cfg->model == MOT_MODEL_MOE_FFN ? 1 : m->E;
    m->gated = cfg->model != MOT_MODEL_SINGLE;
    size_t nt = m->E * d, nW = m->A * d * d, nw = m->gated ? m->E * d : 0;
    m->n_params = nt + nW + nw;
    m->params = calloc(m->n_params, sizeof *m->params);
    m->grads = calloc(m->n_params, sizeof *m->grads);
    if (!m->params || !m->grads) {
        mot_model_free(m);
        return NULL;
    }
    m->theta = m->params, m->gtheta = m->grads;
    m->W = m->A ? m->params + nt : NULL, m->gW = m->A ? m->grads + nt : NULL;
    m->w = m->gated ? m->params + nt + nW : NULL;
    m->gw = m->gated ? m->grads + nt + nW : NULL;
    return m;
}

void mot_model_free(mot_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m);
}

void mot_model_init(mot_model *m, double sigma0, gsl_rng *r)
{
    memset(m->params, 0, m->n_params * sizeof *m->params);
    for (size_t i = 0; i < m->E * m->d; i++)
        m->theta[i] = gsl_ran_gaussian_ziggurat(r, sigma0);
    mot_model_touch(m);
}

size_t mot_model_views(const mot_model *m) { return m->A ? m->A : 1; }

size_t mot_model_view_of(const mot_model *m, size_t e) { return m->A == m->E ? e : 0; }

const double *mot_model_W(const mot_model *m, size_t a)
{
    return m->A ? m->W + a * m->d * m->d : NULL;
}

int mot_stage_of(const mot_config *cfg, int t)
{
    return t < cfg->T1 ? 1 : t < cfg->T2 ? 2 : 3;
}

unsigned mot_model_groups_at(const mot_model *m, const mot_config *cfg, int t)
{
    unsigned g;
    if (cfg->schedule == MOT_SCHED_JOINT) {
        g = MOT_GROUP_THETA | MOT_GROUP_W | MOT_GROUP_ROUTER;
    } else {
        switch (mot_stage_of(cfg, t)) {
        case 1: g = MOT_GROUP_THETA | MOT_GROUP_ROUTER; break;
        case 2: g = MOT_GROUP_W | MOT_GROUP_ROUTER; break;
        default:
            g = MOT_GROUP_THETA | MOT_GROUP_ROUTER;
            if (m->kind == MOT_MODEL_SINGLE && cfg->single_stage3 == MOT_STAGE3_ALL)
                g |= MOT_GROUP_W;
        }
    }
    if (!m->A)
        g &= ~(unsigned)MOT_GROUP_W;
    if (!m->gated)
        g &= ~(unsigned)MOT_GROUP_ROUTER;
    return g;
}

void mot_model_touch(mot_model *m) { m->version++; }
