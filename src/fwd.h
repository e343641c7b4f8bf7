/* fwd.h: the forward pass of a model over a data set, cached. For every
 * sample it keeps each attention view's weights S and attended token Z,
 * every expert's output F, and the gate's logits H and probabilities P.
 * Attention is recomputed only for samples whose cached value predates the
 * last change of W (model->version): W is frozen in stages I and III, so
 * there the attention of the whole data set is computed once. Queries of a
 * batch are gathered and multiplied by W with one dgemm per view.
 * Allocated once per (model, data set); the calls below never allocate. */
#ifndef MOT_FWD_H
#define MOT_FWD_H

#include <stddef.h>

#include "config.h"
#include "data.h"
#include "model.h"

typedef struct {
    size_t n, L, d, V, E;
    double *S;            /* (V, n, L) attention weights */
    double *Z;            /* (V, n, d) attended tokens */
    double *F;            /* (n, E) expert outputs f_e */
    double *H, *P;        /* (n, E) gate logits and probabilities, or NULL */
    const double *R;      /* router inputs r(X): rows of stride ldr */
    size_t ldr;
    double *Rsum;         /* (n, d) sum of tokens, for router_input = sum */
    unsigned long *stamp; /* (V, n) model version each view of each sample was computed at */
    double *Xq, *Q;       /* (n, d) scratch: gathered x_1, then W^T x_1 */
    double *Rg, *Hg;      /* (n, d), (n, E) scratch: gathered router rows, logits */
    size_t *stale;        /* (n) scratch: samples to recompute */
    size_t *qid, nq;      /* (n) index of each sample's query among the nq distinct ones */
    double *Xu;           /* (nq, d) the distinct queries x_1 */
    int use_unique;       /* compute W^T x_1 once per distinct query (default 1) */
} mot_fwd;

/* Allocates the cache for model m on data set D. NULL on ENOMEM. */
mot_fwd *mot_fwd_alloc(const mot_model *m, const mot_data *D, mot_router_input rin);
void mot_fwd_free(mot_fwd *f);

/* Brings S and Z up to date for the B samples idx[0..B) (idx == NULL: all
 * n samples in order). */
void mot_fwd_attention(mot_fwd *f, const mot_model *m, const mot_data *D,
                       const size_t *idx, size_t B);

/* Brings up to date only the view that each sample's expert route[k]
 * (n) reads: what inference needs, M times less than every view. */
void mot_fwd_attention_routed(mot_fwd *f, const mot_model *m, const mot_data *D,
                              const int *route);

/* F[k][e] = theta_e^T Z[view(e)][k] for the batch (attention must be current). */
void mot_fwd_outputs(mot_fwd *f, const mot_model *m, const size_t *idx, size_t B);

/* H and P for the batch (gated models only). Leaves the batch's router rows,
 * in batch order, where mot_fwd_router_rows finds them. */
void mot_fwd_gate(mot_fwd *f, const mot_model *m, const size_t *idx, size_t B);

/* The router inputs of the batch last passed to mot_fwd_gate, as rows in
 * batch order, and their stride. */
const double *mot_fwd_router_rows(const mot_fwd *f, const size_t *idx, size_t *ldr);

/* All of the above for the whole data set. */
void mot_fwd_all(mot_fwd *f, const mot_model *m, const mot_data *D);

/* Attention weights and attended token of sample k in view a. */
static inline const double *mot_fwd_s(const mot_fwd *f, size_t a, size_t k)
{
    return f->S + (a * f->n + k) * f->L;
}
static inline const double *mot_fwd_z(const mot_fwd *f, size_t a, size_t k)
{
    return f->Z + (a * f->n + k) * f->d;
}

#endif
