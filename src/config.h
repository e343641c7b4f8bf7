/* config.h: every knob of a run, its default, its allowed range, and how it
 * is read (INI file through libinih, `--set key=value` overrides) and written
 * (JSON through jansson). One table in config.c lists each key once; the
 * parser, the validator, the JSON writer and the README's key list all read
 * that table, so they cannot drift apart. This module does not run anything. */
#ifndef MOT_CONFIG_H
#define MOT_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define MOT_MAX_CLASSES 64

typedef enum { MOT_GEOM_ORTHOGONAL, MOT_GEOM_CONFLICT, MOT_GEOM_CORRELATED } mot_geometry;
typedef enum { MOT_MODEL_MOT, MOT_MODEL_SINGLE, MOT_MODEL_MOE_NOATTN, MOT_MODEL_MOE_FFN } mot_model_kind;
typedef enum { MOT_GATE_COMPETE, MOT_GATE_SWITCH } mot_gate_kind;
typedef enum { MOT_ROUTER_QUERY, MOT_ROUTER_SUM } mot_router_input;
typedef enum { MOT_LOSS_SQUARED, MOT_LOSS_LOGISTIC } mot_loss_kind;
typedef enum { MOT_STAGE3_ALL, MOT_STAGE3_THETA } mot_stage3;
typedef enum { MOT_SCHED_THREE_STAGE, MOT_SCHED_JOINT } mot_schedule;
typedef enum { MOT_NORM_EXPERT, MOT_NORM_GLOBAL } mot_grad_norm;

typedef struct {
    /* [data] */
    int N;                  /* classes */
    int d;                  /* dimension */
    int L;                  /* tokens per sample, >= 4 */
    int n_train, n_test;
    double alpha, beta, kappa, gamma, sigma_p;
    mot_geometry geometry;
    double rho;             /* <v_n, v_m> for geometry = correlated */
    int rotate;             /* bool */
    int n_class_weights;    /* 0: uniform; else == N */
    double class_weights[MOT_MAX_CLASSES];
    /* [model] */
    mot_model_kind model;
    int M;                  /* experts */
    int heads;              /* H, for model = single */
    mot_gate_kind gate;
    mot_router_input router_input;
    double lambda_r;        /* exploration noise width */
    double sigma0;          /* theta init std */
    mot_loss_kind loss;
    mot_stage3 single_stage3;
    /* [train] */
    mot_schedule schedule;
    int T1, T2, T;
    double eta, eta_W, eta_r, lr_scale;
    int batch;              /* 0: full batch */
    mot_grad_norm grad_norm;
    unsigned long seed;
    /* [output] */
    int log_every;
    int save_routing;       /* bool */
    /* [check] (read by proofs-check) */
    double min_traffic, delta, alpha_test, uniform_tol;
    int uniform_window;
    double attn_gain, attn_dip, w_align, rho_tol, hp_eps;
    int precision;
} mot_config;

/* Fills `c` with the defaults of every key (docs/model.md's). Cannot fail. */
void mot_config_defaults(mot_config *c);

/* Sets one key from its text value. `key` is either bare ("eta") or
 * qualified ("train.eta"). Returns MOT_OK, or MOT_EINVAL with a message of
 * the form "eta must be a number > 0 (got \"abc\")" naming key, value and
 * the allowed range (mot_status_message). Range checks of single keys happen
 * here; checks across keys happen in mot_config_validate. */
int mot_config_set(mot_config *c, const char *key, const char *value);

/* Reads an INI file into `c` (which should hold defaults first). Unknown
 * sections or keys, malformed values and out-of-range values are errors:
 * returns MOT_EINVAL with "config FILE line K: <reason>", or MOT_EIO when the
 * file cannot be read. The [sweep] section is skipped here (src/sweep.h
 * reads it); every other unknown section is an error. */
int mot_config_load(mot_config *c, const char *path);

/* Checks the constraints between keys (2N <= d for orthogonal geometry,
 * N+1 <= d for conflict, 2N+1 <= d for correlated, T1 <= T2 <= T,
 * class_weights has N entries summing to > 0, batch <= n_train, ...).
 * Returns MOT_OK or MOT_EINVAL with a message naming the key. */
int mot_config_validate(const mot_config *c);

/* The full resolved config as a JSON object {"data": {...}, "model": {...},
 * ...} with every key; enums as their names. New reference, NULL on ENOMEM. */
json_t *mot_config_to_json(const mot_config *c);

/* Reads back what mot_config_to_json wrote (for runs started from a saved
 * config.json). Same errors as mot_config_set. */
int mot_config_from_json(mot_config *c, const json_t *obj);

/* Name of an enum value of a key, e.g. mot_config_enum_name("model", 1)
 * == "single"; NULL when out of range. */
const char *mot_config_enum_name(const char *key, int value);

/* Writes the key table as Markdown (section, key, type, default, allowed,
 * meaning): the README's key list is generated from this. */
void mot_config_print_table(FILE *out);

#endif
