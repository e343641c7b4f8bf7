/* fwd.c: see fwd.h. */
#include "fwd.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "block.h"
#include "gate.h"

/* Orders sample indices by their query x_1, coordinate by coordinate. */
static const mot_data *sort_data;
static int cmp_query(const void *a, const void *b)
{
    const double *x = sort_data->X + *(const size_t *)a * sort_data->L * sort_data->d;
    const double *y = sort_data->X + *(const size_t *)b * sort_data->L * sort_data->d;
    for (size_t j = 0; j < sort_data->d; j++)
        if (x[j] != y[j])
            return x[j] < y[j] ? -1 : 1;
    return 0;
}

/* The attention query x_1 of a generated sample is beta c_n: only N distinct
 * values. Listing the distinct queries once lets W^T x_1 be computed for
 * each of them instead of for every sample, exactly (the same products on
 * the same numbers). Data without repeated queries gets nq = n and loses
 * nothing. Returns 0 on ENOMEM. */
static int find_unique_queries(mot_fwd *f, const mot_data *D)
{
    size_t n = D->n, d = D->d, L = D->L;
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        return 0;
    for (size_t k = 0; k < n; k++)
        order[k] = k;
    sort_data = D; /* qsort has no context argument; this runs once per set */
    qsort(order, n, sizeof *order, cmp_query);
    size_t nq = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || cmp_query(&order[i - 1], &order[i]) != 0)
            memcpy(f->Xu + nq++ * d, D->X + order[i] * L * d, d * sizeof *f->Xu);
        f->qid[order[i]] = nq - 1;
    }
    f->nq = nq;
    free(order);
    return 1;
}

mot_fwd *mot_fwd_alloc(const mot_model *m, const mot_data *D, mot_router_input rin)
{
    mot_fwd *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    size_t n = D->n, L = D->L, d = D->d, E = m->E, V = mot_model_views(m);
    f->n = n, f->L = L, f->d = d, f->V = V, f->E = E;
    f->S = malloc(V * n * L * sizeof *f->S);
    f->Z = malloc(V * n * d * sizeof *f->Z);
    f->F = malloc(n * E * sizeof *f->F);
    f->stamp = malloc(V * n * sizeof *f->stamp);
    f->stale = malloc(n * sizeof *f->stale);
    f->qid = malloc(n * sizeof *f->qid);
    f->Xu = malloc(n * d * sizeof *f->Xu);
    f->use_unique = 1;
    f->Xq = malloc(n * d * sizeof *f->Xq);
    f->Q = malloc(n * d * sizeof *f->Q);
    int ok = f->S && f->Z && f->F && f->stamp && f->stale && f->Xq && f->Q && f->qid && f->Xu;
    if (m->gated) {
        f->H = malloc(n * E * sizeof *f->H);
        f->P = malloc(n * E * sizeof *f->P);
        f->Rg = malloc(n * d * sizeof *f->Rg);
        f->Hg = malloc(n * E * sizeof *f->Hg);
        ok = ok && f->H && f->P && f->Rg && f->Hg;
        if (ok && rin == MOT_ROUTER_SUM) {
            f->Rsum = calloc(n * d, sizeof *f->Rsum);
            ok = f->Rsum != NULL;
        }
    }
    if (!ok) {
        mot_fwd_free(f);
        return NULL;
    }
    if (f->Rsum) {
        for (size_t k = 0; k < n; k++)
            for (size_t l = 0; l < L; l++)
                cblas_daxpy((int)d, 1.0, D->X + (k * L + l) * d, 1, f->Rsum + k * d, 1);
        f->R = f->Rsum, f->ldr = d;
    } else {
        f->R = D->X, f->ldr = L * d; /* the class token x_1 of each sample */
    }
    if (!find_unique_queries(f, D)) {
        mot_fwd_free(f);
        return NULL;
    }
    /* No sample has attention yet: a stamp the model cannot have. */
    for (size_t i = 0; i < V * n; i++)
        f->stamp[i] = m->version - 1;
    return f;
}

void mot_fwd_free(mot_fwd *f)
{
    if (!f)
        return;
    free(f->S), free(f->Z), free(f->F), free(f->H), free(f->P);
    free(f->Rsum), free(f->stamp), free(f->stale), free(f->qid), free(f->Xu);
    free(f->Xq), free(f->Q), free(f->Rg), free(f->Hg);
    free(f);
}

/* Brings view a up to date for the ns samples list[0..ns), all stale. */
static void attend_view(mot_fwd *f, const mot_model *m, const mot_data *D, size_t a,
                        const size_t *list, size_t ns)
{
    size_t L = f->L, d = f->d, n = f->n;
    const double *W = mot_model_W(m, a);
    /* The queries: the distinct ones (when fewer than the samples), read in
     * place (stride L d) when the list is the whole set, else gathered.
     * Row `row` of Q then holds (W^T x_1)^T of the sample. */
    int unique = f->use_unique && f->nq < ns;
    if (W) {
        const double *X1 = D->X;
        size_t ldx = L * d, rows = ns;
        if (unique) {
            X1 = f->Xu, ldx = d, rows = f->nq;
        } else if (ns < n) {
            for (size_t i = 0; i < ns; i++)
                memcpy(f->Xq + i * d, D->X + list[i] * L * d, d * sizeof *f->Xq);
            X1 = f->Xq, ldx = d;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)d, (int)d,
                    1.0, X1, (int)ldx, W, (int)d, 0.0, f->Q, (int)d);
    }
    for (size_t i = 0; i < ns; i++) {
        size_t k = list[i], row = unique ? f->qid[k] : i;
        mot_block_attend(f->Z + (a * n + k) * d, f->S + (a * n + k) * L,
                         D->X + k * L * d, W ? f->Q + row * d : NULL, L, d);
        f->stamp[a * n + k] = m->version;
    }
}

void mot_fwd_attention(mot_fwd *f, const mot_model *m, const mot_data *D,
                       const size_t *idx, size_t B)
{
    size_t n = f->n;
    for (size_t a = 0; a < f->V; a++) {
        size_t ns = 0;
        for (size_t i = 0; i < B; i++) {
            size_t k = idx ? idx[i] : i;
            if (f->stamp[a * n + k] != m->version)
                f->stale[ns++] = k;
        }
        if (ns)
            attend_view(f, m, D, a, f->stale, ns);
    }
}

void mot_fwd_attention_routed(mot_fwd *f, const mot_model *m, const mot_data *D,
                              const int *route)
{
    size_t n = f->n;
    for (size_t a = 0; a < f->V; a++) {
        size_t ns = 0;
        for (size_t k = 0; k < n; k++)
            if (mot_model_view_of(m, (size_t)route[k]) == a && f->stamp[a * n + k] != m->version)
                f->stale[ns++] = k;
        if (ns)
            attend_view(f, m, D, a, f->stale, ns);
    }
}

void mot_fwd_outputs(mot_fwd *f, const mot_model *m, const size_t *idx, size_t B)
{
    size_t d = f->d, E = f->E, n = f->n;
    if (!idx && m->A == E) { /* expert e reads its own view: F[:, e] = Z_e theta_e */
        for (size_t e = 0; e < E; e++)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, f->Z + e * n * d,
                        (int)d, m->theta + e * d, 1, 0.0, f->F + e, (int)E);
        return;
    }
    if (!idx) { /* one view for all: F = Z_0 theta^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)E, (int)d, 1.0,
                    f->Z, (int)d, m->theta, (int)d, 0.0, f->F, (int)E);
        return;
    }
    for (size_t i = 0; i < B; i++) {
        size_t k = idx[i];
        for (size_t e = 0; e < E; e++)
            f->F[k * E + e] = cblas_ddot((int)d, m->theta + e * d, 1,
                                         mot_fwd_z(f, mot_model_view_of(m, e), k), 1);
    }
}

const double *mot_fwd_router_rows(const mot_fwd *f, const size_t *idx, size_t *ldr)
{
    if (!idx) {
        *ldr = f->ldr;
        return f->R;
    }
    *ldr = f->d;
    return f->Rg;
}

void mot_fwd_gate(mot_fwd *f, const mot_model *m, const size_t *idx, size_t B)
{
    size_t d = f->d, E = f->E;
    if (!idx && !f->Rsum && f->use_unique && 2 * f->nq <= B) {
        /* the router reads x_1: the logits and softmax of each distinct
         * query once (rows [0, nq) and [nq, 2 nq) of Hg), copied to its
         * samples */
        double *Hq = f->Hg, *Pq = f->Hg + f->nq * E;
        mot_gate_logits(Hq, f->Xu, d, m->w, f->nq, E, d);
        for (size_t q = 0; q < f->nq; q++)
            mot_block_softmax(Pq + q * E, Hq + q * E, E);
        for (size_t k = 0; k < B; k++) {
            memcpy(f->H + k * E, Hq + f->qid[k] * E, E * sizeof *f->H);
            memcpy(f->P + k * E, Pq + f->qid[k] * E, E * sizeof *f->P);
        }
        return;
    }
    if (!idx) {
        mot_gate_logits(f->H, f->R, f->ldr, m->w, B, E, d);
        mot_gate_probs(f->P, f->H, B, E);
        return;
    }
    for (size_t i = 0; i < B; i++)
        memcpy(f->Rg + i * d, f->R + idx[i] * f->ldr, d * sizeof *f->Rg);
    mot_gate_logits(f->Hg, f->Rg, d, m->w, B, E, d);
    for (size_t i = 0; i < B; i++) {
        memcpy(f->H + idx[i] * E, f->Hg + i * E, E * sizeof *f->H);
        mot_block_softmax(f->P + idx[i] * E, f->Hg + i * E, E);
    }
}

void mot_fwd_all(mot_fwd *f, const mot_model *m, const mot_data *D)
{
    mot_fwd_attention(f, m, D, NULL, f->n);
    mot_fwd_outputs(f, m, NULL, f->n);
    if (m->gated)
        mot_fwd_gate(f, m, NULL, f->n);
}
