/* run.c: see run.h. The loop records the state at epoch t (before that
 * epoch's step), then trains epoch t; so the row of epoch t describes the
 * parameters after t steps, and the last row (epoch T) the trained model. */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "mot_autoconf.h"
#include "npy.h"
#include "rng.h"
#include "status.h"
#include "trainer.h"

const char *mot_build_blas(void) { return MOT_BLAS_NAME; }
const char *mot_build_cflags(void) { return MOT_BUILD_CFLAGS; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int is_record_epoch(const mot_config *cfg, int t)
{
    return t % cfg->log_every == 0 || t == cfg->T1 || t == cfg->T2 || t == cfg->T;
}

/* A JSON number, or null for a value that is not finite (JSON has no NaN). */
static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *head_json(const mot_record_head *h)
{
    return json_pack("{s:i, s:o, s:o, s:o, s:o}", "epoch", h->epoch,
                     "train_loss", number(h->train_loss), "train_error", number(h->train_error),
                     "test_loss", number(h->test_loss), "test_error", number(h->test_error));
}

static int write_summary(const mot_config *cfg, const char *dir, const mot_run_result *res,
                         const mot_record_head *at_stage)
{
    json_t *stages = json_object();
    static const char *names[3] = {"T1", "T2", "T"};
    for (int i = 0; i < 3; i++)
        if (at_stage[i].epoch >= 0)
            json_object_set_new(stages, names[i], head_json(&at_stage[i]));
    json_t *s = json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:f, s:f, s:s}",
                          "model", mot_config_enum_name("model", cfg->model),
                          "status", res->diverged_at >= 0 ? "diverged" : "completed",
                          "epochs_planned", cfg->T, "epochs_run", res->epochs_run,
                          "diverged_at", res->diverged_at >= 0 ? json_integer(res->diverged_at) : json_null(),
                          "final", head_json(&res->last), "stage_ends", stages,
                          "seconds", res->seconds,
                          "seconds_per_epoch", res->epochs_run ? res->seconds / res->epochs_run : 0.0,
                          "blas", mot_build_blas());
    if (!s)
        return MOT_ERROR(MOT_ENOMEM, "cannot build summary.json");
    char *path = mot_io_join(dir, "summary.json");
    int status = path ? mot_io_write_json(path, s) : MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    free(path);
    json_decref(s);
    return status;
}

static int write_config(const mot_config *cfg, const char *dir)
{
    json_t *j = mot_config_to_json(cfg);
    char *path = mot_io_join(dir, "config.json");
    int status = j && path ? mot_io_write_json(path, j) : MOT_ERROR(MOT_ENOMEM, "cannot write config.json");
    free(path);
    json_decref(j);
    return status;
}

/* Everything one run owns, freed in one place. */
typedef struct {
    mot_dataset *own_data;
    mot_model *model;
    mot_trainer *tr;
    mot_fwd *ftest;
    mot_recorder *rec;
    int *replay;
    int *history; /* (T, n) routing, when saved */
} run_state;

static void run_state_free(run_state *s, int commit)
{
    mot_recorder_close(s->rec, commit);
    mot_fwd_free(s->ftest);
    mot_trainer_free(s->tr);
    mot_model_free(s->model);
    mot_dataset_free(s->own_data);
    free(s->replay);
    free(s->history);
}

static int setup(run_state *s, const mot_config *cfg, const mot_run_options *opt,
                 const mot_dataset **ds)
{
    *ds = opt->dataset;
    if (!*ds) {
        s->own_data = opt->data_dir ? mot_dataset_load(cfg, opt->data_dir) : mot_dataset_make(cfg);
        if (!s->own_data)
            return MOT_EINVAL;
        *ds = s->own_data;
    }
    s->model = mot_model_alloc(cfg);
    if (!s->model)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the model");
    if (opt->init_dir) {
        int status = mot_params_load(s->model, opt->init_dir);
        if (status) /* a missing or unreadable --init file is bad input too */
            return status == MOT_EIO ? MOT_EINVAL : status;
    } else {
        gsl_rng *r = mot_rng_alloc(cfg->seed, "init");
        if (!r)
            return MOT_ENOMEM;
        mot_model_init(s->model, cfg->sigma0, r);
        gsl_rng_free(r);
    }
    size_t n = (*ds)->train->n;
    if (opt->routing_path) {
        s->replay = mot_routing_load(opt->routing_path, (size_t)cfg->T, n, s->model->E);
        if (!s->replay)
            return MOT_EINVAL;
    }
    if (cfg->save_routing && s->model->gated) {
        s->history = calloc((size_t)cfg->T * n, sizeof *s->history);
        if (!s->history)
            return MOT_ERROR(MOT_ENOMEM, "cannot allocate the routing history (%d x %zu)", cfg->T, n);
    }
    s->tr = mot_trainer_alloc(cfg, s->model, (*ds)->train);
    s->ftest = mot_fwd_alloc(s->model, (*ds)->test, cfg->router_input);
    if (!s->tr || !s->ftest)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the trainer");
    if (opt->threads > 1 && mot_trainer_set_threads(s->tr, opt->threads))
        return MOT_ENOMEM;
    s->tr->replay = s->replay;
    return MOT_OK;
}

static int train_loop(run_state *s, const mot_config *cfg, const mot_run_options *opt,
                      mot_run_result *res, mot_record_head *at_stage)
{
    const char *dir = opt->out_dir;
    size_t n = s->tr->D->n;
    double t0 = now();
    int status = MOT_OK;
    for (int t = 0; t <= cfg->T; t++) {
        if (is_record_epoch(cfg, t)) {
            if ((status = mot_recorder_record(s->rec, t)))
                return status;
            res->last = s->rec->head;
            if (opt->on_record)
                opt->on_record(opt->record_ctx, &s->rec->head);
            for (int i = 0; i < 3; i++)
                if (t == (i == 0 ? cfg->T1 : i == 1 ? cfg->T2 : cfg->T))
                    at_stage[i] = s->rec->head;
        }
        if (t == cfg->T1 && (status = mot_params_write(s->model, dir, "stage1")))
            return status;
        if (t == cfg->T2 && (status = mot_params_write(s->model, dir, "stage2")))
            return status;
        if (t == cfg->T)
            break;
        if ((status = mot_trainer_epoch(s->tr, t))) {
            if (status == MOT_EDIVERGED)
                res->diverged_at = t;
            break;
        }
        res->epochs_run = t + 1;
        if (s->history)
            memcpy(s->history + (size_t)t * n, s->tr->route, n * sizeof *s->history);
        if ((status = mot_recorder_step(s->rec, t, s->tr, now() - t0)))
            return status;
        if (opt->progress)
            opt->progress(opt->progress_ctx, t + 1, cfg->T, s->tr->objective);
    }
    res->seconds = now() - t0;
    return status;
}

int mot_run(const mot_config *cfg, const mot_run_options *opt, mot_run_result *res)
{
    run_state s = {0};
    const mot_dataset *ds = NULL;
    mot_record_head at_stage[3] = {{.epoch = -1}, {.epoch = -1}, {.epoch = -1}};
    memset(res, 0, sizeof *res);
    res->diverged_at = -1;
    res->last.epoch = -1;
    int status = setup(&s, cfg, opt, &ds);
    if (status == MOT_OK)
        status = mot_io_mkdir_p(opt->out_dir);
    if (status == MOT_OK)
        status = write_config(cfg, opt->out_dir);
    if (status == MOT_OK)
        status = mot_dataset_write(ds, opt->out_dir);
    if (status == MOT_OK)
        status = mot_params_write(s.model, opt->out_dir, "init");
    if (status == MOT_OK) {
        s.rec = mot_recorder_open(opt->out_dir, cfg, s.model, ds->train, ds->test, s.tr->f,
                                  s.ftest, ds->c, ds->v);
        if (!s.rec)
            status = MOT_EIO;
    }
    if (status == MOT_OK)
        status = train_loop(&s, cfg, opt, res, at_stage);
    int diverged = status == MOT_EDIVERGED;
    if (status == MOT_OK || diverged) {
        int st2 = mot_recorder_close(s.rec, 1);
        s.rec = NULL;
        if (st2 == MOT_OK && !diverged)
            st2 = mot_params_write(s.model, opt->out_dir, "final");
        if (st2 == MOT_OK && s.history) {
            size_t shape[2] = {(size_t)res->epochs_run, ds->train->n};
            char *path = mot_io_join(opt->out_dir, "routing.npy");
            st2 = path ? mot_npy_write(path, MOT_NPY_I32, 2, shape, s.history) : MOT_ENOMEM;
            free(path);
        }
        if (st2 == MOT_OK)
            st2 = write_summary(cfg, opt->out_dir, res, at_stage);
        if (st2 != MOT_OK)
            status = st2;
    }
    run_state_free(&s, 0);
    return status;
}
