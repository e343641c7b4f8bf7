/* batch.h: the trainer's fast step. For one batch it computes the gate,
 * then, given the routing, every expert's output, the loss and the gradients
 * of section 6.3, with the same equations as the per-sample reference
 * (mot_trainer_gradients_naive) but organized for speed:
 *
 * - Caches over the data set, each recomputed only when what it depends on
 *   changed: the attention weights S of every view and the attended tokens
 *   Z (W's version; W is frozen in stages I and III), and the token
 *   projections T[e][k][l] = theta_e^T x_{k,l} (theta's content; frozen in
 *   stage II).
 * - While theta trains, f_e = theta_e^T z_e from Z. While it is frozen,
 *   f_e = sum_l s_l T[e][l], so that the attended tokens need not be
 *   formed after each change of W; T comes from one dgemm over many
 *   samples, and also gives the W gradient's theta_e^T x_l. When Z would
 *   not fit MOT_BATCH_Z_BUDGET, T serves throughout. While only the router
 *   trains, the outputs of the last full-batch step are kept.
 * - The compete gate's gradient by distinct query needs only the sums, by
 *   query, of every expert's loss. While W is frozen and theta trains (full
 *   batch, squared loss) they come from QR factors of each query's attended
 *   tokens (batch_lsq.c), so only the routed expert's output is formed.
 * - The routing noise is drawn only for the experts that can win, inside
 *   the tasks.
 * - Views whose W are equal bit for bit (every W is 0 in stage I) share
 *   their attended tokens: Z is formed for the first of them only, and
 *   when all are equal F = Z theta^T is one dgemm, as for one view.
 * - Exact shortcuts when queries repeat (generated data has N distinct
 *   x_1): W_a^T x_1 once per distinct query, and the W gradient
 *   sum_k c_k x_{k,1} phi_k^T as sum_q x_q (sum_{k: x_{k,1} = x_q} c_k phi_k)^T;
 *   with router_input = query, the gate's logits once per distinct query
 *   and its gradient sum_k c_k x_{k,1} as sum_q (sum_{k: x_{k,1} = x_q} c_k) x_q.
 *   use_unique = 0 selects the general path, which handles any data.
 * - OpenMP over tasks: the batch is cut into tasks of a size that depends
 *   only on the batch (never on the thread count); each task writes its own
 *   rows and its own partial sums, and partial sums are added in task
 *   order. So the result is the same, bit for bit, for any thread count.
 *
 * It is not a forward for recording (fwd.h is) and keeps no results beyond
 * the step's buffers. Allocated once per (model, data set); nothing below
 * allocates. */
#ifndef MOT_BATCH_H
#define MOT_BATCH_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "config.h"
#include "data.h"
#include "fwd.h"
#include "model.h"

/* Queries at most this many distinct values use the distinct-query path. */
#define MOT_BATCH_MAX_QUERIES 64
/* Models with several views cache their attended tokens (V n d doubles)
 * only up to this many bytes; above it the outputs come from T. */
#define MOT_BATCH_Z_BUDGET ((size_t)256 << 20)
/* A batch is cut into at most this many tasks (the partial sums' count). */
#define MOT_BATCH_MAX_TASKS 64

typedef struct mot_batch_scratch mot_batch_scratch;

typedef struct {
    size_t n, L, d, E, A, V;   /* samples, tokens, dimension, experts, W's, views */
    int gated;
    mot_model_kind kind;
    int threads;               /* OpenMP threads of a step (1: serial) */
    int use_unique;            /* distinct-query shortcuts allowed (default 1) */
    int use_lsq;               /* the gate's loss sums from QR factors allowed (default 1;
                                * 0: every expert's output on every sample, in F) */
    int use_z;                 /* outputs from the cached Z while theta trains (default: when
                                * Z was allocated; 0 for the T path) */
    const mot_fwd *f;          /* the data set's distinct queries and router inputs */
    /* caches over the data set, by sample */
    double *S;                 /* (n, V, L) attention weights */
    unsigned long *sstamp;     /* (n) W version S was computed at */
    double *Z;                 /* (n, V, d) attended tokens, when they fit MOT_BATCH_Z_BUDGET */
    unsigned long *zstamp;     /* (n) W version Z was computed at */
    double *T;                 /* (E, n, L) token projections (models with attention) */
    unsigned long *tstamp;     /* (n) theta version T was computed at */
    double *theta_seen;        /* (E, d) theta of the current theta version */
    unsigned long theta_version;
    size_t *vsrc;              /* (V) the first view whose W equals view a's bit for bit:
                                * its Z serves both (all W are 0 in stage I) */
    int vone;                  /* every view's Z is view 0's */
    unsigned long vsrc_version;/* W version vsrc was matched at */
    double *Qu;                /* (nq, A d) W_a^T x_q of the distinct queries */
    unsigned long qu_version;
    /* the step, in batch order */
    double *H, *P;             /* (n, E) gate logits, probabilities: a row per batch row, or
                                * per distinct query when by_query (gate_row) */
    int by_query;              /* the gate's rows are the distinct queries' */
    size_t *cand, *ncand;      /* (MAX_QUERIES, E), (MAX_QUERIES): the experts that can win
                                * the routing of each distinct query */
    size_t *count;             /* (E) samples of the step routed to each expert */
    double *Rg;                /* (n, d) router rows of a mini-batch */
    double *F;                 /* (n, E) expert outputs */
    int f_full;                /* F holds the whole set, in order ... */
    unsigned long f_theta, f_w;/* ... at these theta and W versions */
    double *C;                 /* (n, E) gate coefficients */
    double *part;              /* (MAX_TASKS, 2 E d + 2 + MAX_QUERIES E) partial gtheta, gw,
                                * loss, flops, gate coefficients by query */
    double *Cq;                /* (2 MAX_QUERIES, E) gate coefficients by query; scratch */
    double *Phi;               /* (n Hc, d) c_k phi_k, sorted by view */
    double *X1g;               /* (n Hc, d) their queries x_{k,1} (general path) */
    size_t *rowk, *pos;        /* (n Hc) sample of each Phi row; (n Hc) row of each contribution */
    size_t *voff;              /* (V + 1) first Phi row of each view */
    double *Pq;                /* (V, MAX_QUERIES, d) Phi summed by query */
    double *pw;                /* (MAX_TASKS, V, nq, d) each task's phi summed by view and
                                * query (distinct-query path), or NULL */
    /* the compete gate's loss sums by query from QR factors (batch_lsq.c) */
    size_t lsq_n;              /* nq when they can be used (gated, Z cached, every query
                                * with >= d samples), else 0 */
    size_t *qsamp, *qoff;      /* (n), (nq + 1) the samples of each query, in order */
    double *lsqR, *lsqb, *lsqc;/* (V, nq, d, d) R, (V, nq, d) Q^T y, (V, nq) residual |.|^2 */
    double *lsqA, *lsqy, *lsqt;/* (n, d), (n), (d) scratch of a factorization */
    unsigned long lsq_version; /* W version the factors are of */
    int lsq_valid;
    size_t sub;                /* samples per sub-chunk of a task (cache-sized) */
    double flops;              /* floating-point operations done so far (additions and
                                * multiplications counted from the sizes; exp not counted):
                                * the caller may reset it */
    int nscratch;
    mot_batch_scratch **scratch;
} mot_batch;

/* Allocates the step of model m on data set D, whose distinct queries and
 * router inputs f (a forward cache on D) lists; m, D and f must outlive it.
 * NULL on ENOMEM. */
mot_batch *mot_batch_alloc(const mot_model *m, const mot_data *D, const mot_fwd *f);
void mot_batch_free(mot_batch *b);

/* Sets the number of OpenMP threads of a step (>= 1; without OpenMP the
 * step is serial whatever this says). Allocates their scratch: MOT_OK or
 * MOT_ENOMEM (the previous count is kept). */
int mot_batch_set_threads(mot_batch *b, int threads);

/* Gate logits H and probabilities P of the batch idx[0..B) (NULL: all n
 * samples in order), rows in batch order. Gated models only. */
void mot_batch_gate(mot_batch *b, const mot_model *m, const size_t *idx, size_t B);

/* Training routing of the batch, from H of mot_batch_gate: row i goes to
 * route[k] = argmax_e (h_e + lambda u_e), u_e ~ Uniform[0, 1), ties to the
 * lowest index. Task t of the batch (the same tasks as the gradients') draws
 * from rngs[t] (MOT_BATCH_MAX_TASKS streams), its rows in batch order, and
 * for each row only the u_e of the experts that can win, h_e + lambda >=
 * max_j h_j: the others' noise could not change the argmax. So the routing
 * does not depend on the thread count. Gated models only. */
void mot_batch_route(mot_batch *b, gsl_rng *const *rngs, double lambda, const size_t *idx,
                     size_t B, int *route);

/* How the gradients are formed: the configuration's choices. */
typedef struct {
    mot_loss_kind loss;
    mot_gate_kind gate;
    mot_grad_norm norm;
} mot_batch_rule;

/* The exploration noise of a step's routing: task t draws from rngs[t]. */
typedef struct {
    gsl_rng *const *rngs; /* MOT_BATCH_MAX_TASKS streams */
    double lambda;
} mot_batch_noise;

/* Given H, P of mot_batch_gate for the same batch, writes into m->grads
 * (zeroed first) the gradients of `groups` (MOT_GROUP_* flags) and returns
 * the batch's mean loss. The routing route[k] (by sample; ignored for
 * `single`) is given, or with noise (gated models) drawn first, as
 * mot_batch_route draws it, and written to route: while W is frozen each
 * task routes its own rows, so the step wakes its threads once. */
double mot_batch_gradients(mot_batch *b, mot_model *m, const mot_data *D,
                           const mot_batch_rule *rule, const mot_batch_noise *noise, int *route,
                           const size_t *idx, size_t B, unsigned groups);

#endif
