/* trainer.h: section 6. One epoch is one gradient step on the whole
 * training set, or with batch = B > 0 one pass of mini-batches in a seeded
 * shuffled order. Each step routes every sample of its batch (fresh
 * exploration noise, or a recorded routing being replayed), computes the
 * forward, the gradients of the groups the schedule trains at that epoch,
 * and descends. Everything is allocated by mot_trainer_alloc; an epoch
 * allocates nothing. */
#ifndef MOT_TRAINER_H
#define MOT_TRAINER_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "batch.h"
#include "config.h"
#include "data.h"
#include "fwd.h"
#include "model.h"

typedef struct {
    const mot_config *cfg;
    mot_model *m;
    const mot_data *D;
    mot_fwd *f;               /* forward cache on D (the recorder's, and the distinct queries) */
    mot_batch *b;             /* the fast step (batch.h) */
    gsl_rng *route_rng[MOT_BATCH_MAX_TASKS]; /* exploration noise, one stream per task */
    gsl_rng *shuffle_rng;     /* mini-batch order */
    const int *replay;        /* (T, n) routing to replay instead of drawing, or NULL */
    size_t *perm;             /* (n) sample order of the epoch */
    int *route;               /* (n) expert chosen for each sample this epoch */
    size_t *count;            /* (E) samples routed to each expert in the batch (the reference
                               * paths; the fast step counts in b->count) */
    size_t *dispatch;         /* (N, E) training-time dispatch counts of the epoch */
    double *C;                /* (n, E) gate coefficients, batch order */
    double *lossE, *r;        /* (E), (d) scratch */
    double objective;         /* mean training loss over the epoch's steps */
    double gnorm[3];          /* |grad| of theta, W, router at the last step (0 if frozen) */
} mot_trainer;

/* Allocates a trainer of model m on data set D; the random streams are
 * derived from cfg->seed. m, D and cfg must outlive it. NULL on ENOMEM. */
mot_trainer *mot_trainer_alloc(const mot_config *cfg, mot_model *m, const mot_data *D);
void mot_trainer_free(mot_trainer *tr);

/* The OpenMP threads of an epoch (>= 1). The result does not depend on
 * it, bit for bit. MOT_OK or MOT_ENOMEM. */
int mot_trainer_set_threads(mot_trainer *tr, int threads);

/* Runs epoch t. Returns MOT_OK, or MOT_EDIVERGED (message names the epoch
 * and the parameter group) when the loss or a gradient is not finite; the
 * parameters are then left as they were before the failing step. Also
 * MOT_EDIVERGED when a parameter is not finite after a step whose loss and
 * gradients were (the message names the group and the expert); the
 * parameters are then those of that step. */
int mot_trainer_epoch(mot_trainer *tr, int t);

/* The gradients of `groups` (MOT_GROUP_* flags) on the batch idx[0..B)
 * (NULL: the whole set) for the routing in tr->route, into m->grads (zeroed
 * first); *loss receives the batch's mean loss. Computes the forward first. */
void mot_trainer_gradients(mot_trainer *tr, const size_t *idx, size_t B,
                           unsigned groups, double *loss);

/* The same as mot_trainer_gradients, the plain way: the cached forward of
 * fwd.h, then sample by sample through mot_block_backward. The reference
 * the fast step is tested against; training does not use it. */
void mot_trainer_gradients_naive(mot_trainer *tr, const size_t *idx, size_t B,
                                 unsigned groups, double *loss);

/* The objective whose gradient mot_trainer_gradients returns for `group`
 * (one MOT_GROUP_* flag), at the current parameters and tr->route: for
 * theta and W, sum over the batch of l(y, F) divided by the normalization of
 * the expert the sample was routed to (grad_norm); for the router, the mean
 * of the gate's training signal. Exists for finite-difference tests. */
double mot_trainer_objective(mot_trainer *tr, const size_t *idx, size_t B, unsigned group);

#endif
