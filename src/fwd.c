/* fwd.c: see fwd.h. */
#include "fwd.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "block.h"
#include "gate.h"

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
    f->stamp = malloc(n * sizeof *f->stamp);
    f->stale = malloc(n * sizeof *f->stale);
    f->Xq = malloc(n * d * sizeof *f->Xq);
    f->Q = malloc(n * d * sizeof *f->Q);
    int ok = f->S && f->Z && f->F && f->stamp && f->stale && f->Xq && f->Q;
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
    /* No sample has attention yet: a stamp the model cannot have. */
    for (size_t k = 0; k < n; k++)
        f->stamp[k] = m->version - 1;
    return f;
}

void mot_fwd_free(mot_fwd *f)
{
    if (!f)
        return;
    free(f->S), free(f->Z), free(f->F), free(f->H), free(f->P);
    free(f->Rsum), free(f->stamp), free(f->stale);
    free(f->Xq), free(f->Q), free(f->Rg), free(f->Hg);
    free(f);
}

void mot_fwd_attention(mot_fwd *f, const mot_model *m, const mot_data *D,
                       const size_t *idx, size_t B)
{
    size_t L = f->L, d = f->d, n = f->n, ns = 0;
    for (size_t i = 0; i < B; i++) {
        size_t k = idx ? idx[i] : i;
        if (f->stamp[k] != m->version)
            f->stale[ns++] = k;
    }
    if (!ns)
        return;
    for (size_t a = 0; a < f->V; a++) {
        const double *W = mot_model_W(m, a);
        if (W) { /* Q = Xq W: row i is (W^T x_1)^T of the i-th stale sample */
            for (size_t i = 0; i < ns; i++)
                memcpy(f->Xq + i * d, D->X + f->stale[i] * L * d, d * sizeof *f->Xq);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ns, (int)d, (int)d,
                        1.0, f->Xq, (int)d, W, (int)d, 0.0, f->Q, (int)d);
        }
        for (size_t i = 0; i < ns; i++) {
            size_t k = f->stale[i];
            mot_block_attend(f->Z + (a * n + k) * d, f->S + (a * n + k) * L,
                             D->X + k * L * d, W ? f->Q + i * d : NULL, L, d);
        }
    }
    for (size_t i = 0; i < ns; i++)
        f->stamp[f->stale[i]] = m->version;
}

void mot_fwd_outputs(mot_fwd *f, const mot_model *m, const size_t *idx, size_t B)
{
    size_t d = f->d, E = f->E;
    for (size_t i = 0; i < B; i++) {
        size_t k = idx ? idx[i] : i;
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
