/* model.h: the parameters of every model kind of docs/model.md as one layout.
 * A model has E feed-forward vectors theta_e (the experts, or the heads of
 * `single`), A attention matrices W_a and, when gated, E router vectors w_e:
 *
 *   kind        E        A        gated   expert e attends with
 *   mot         M        M        yes     W_e
 *   single      heads    heads    no      W_e (its own head); F = sum_e f_e
 *   moe_noattn  M        0        yes     uniform attention, s_l = 1/L
 *   moe_ffn     M        1        yes     the shared W_0
 *
 * So the baselines are values of this struct, not copies of the code. All
 * parameters live in one block, all gradients in another of the same layout;
 * theta, W, w (and gtheta, gW, gw) are named views into them. */
#ifndef MOT_MODEL_H
#define MOT_MODEL_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "config.h"

typedef struct {
    mot_model_kind kind;
    size_t d;
    size_t E;            /* feed-forward experts (or heads) */
    size_t A;            /* attention matrices: E, 1 or 0 */
    int gated;           /* router present */
    size_t n_params;
    double *params, *grads;
    double *theta, *W, *w;    /* (E, d), (A, d, d), (E, d) or NULL */
    double *gtheta, *gW, *gw; /* the same shapes */
    unsigned long version;    /* bumped whenever W changes: cached attention is stale */
} mot_model;

/* Parameter groups, as bit flags for what a step updates. */
enum { MOT_GROUP_THETA = 1, MOT_GROUP_W = 2, MOT_GROUP_ROUTER = 4 };

/* Allocates the parameters of cfg->model with cfg->M experts (cfg->heads for
 * single) in dimension cfg->d, all zero. NULL on ENOMEM. */
mot_model *mot_model_alloc(const mot_config *cfg);
void mot_model_free(mot_model *m);

/* Section 5: theta_e ~ N(0, sigma0^2 I) from r, W = 0, w = 0. */
void mot_model_init(mot_model *m, double sigma0, gsl_rng *r);

/* The number of distinct attended-token sets: max(A, 1). */
size_t mot_model_views(const mot_model *m);

/* The attention view expert e reads: e when every expert has its own W,
 * else 0 (shared W, or uniform attention). */
size_t mot_model_view_of(const mot_model *m, size_t e);

/* W of view a, or NULL for uniform attention. */
const double *mot_model_W(const mot_model *m, size_t a);

/* Which groups the three-stage (or joint) schedule trains at epoch t, as
 * MOT_GROUP_* flags, restricted to the groups the model has. */
unsigned mot_model_groups_at(const mot_model *m, const mot_config *cfg, int t);

/* The stage (1, 2 or 3) epoch t belongs to. */
int mot_stage_of(const mot_config *cfg, int t);

/* Marks W as changed (invalidates every cached attention). */
void mot_model_touch(mot_model *m);

#endif
