/* store.c: see store.h. */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "npy.h"
#include "rng.h"
#include "signals.h"
#include "status.h"

void mot_dataset_free(mot_dataset *ds)
{
    if (!ds)
        return;
    free(ds->c), free(ds->v);
    mot_data_free(ds->train), mot_data_free(ds->test);
    free(ds);
}

static mot_dataset *dataset_alloc(const mot_config *cfg)
{
    mot_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    size_t N = (size_t)cfg->N, d = (size_t)cfg->d, L = (size_t)cfg->L;
    ds->N = N, ds->d = d;
    ds->c = malloc(N * d * sizeof *ds->c);
    ds->v = malloc(N * d * sizeof *ds->v);
    ds->train = mot_data_alloc((size_t)cfg->n_train, L, d, N);
    ds->test = mot_data_alloc((size_t)cfg->n_test, L, d, N);
    if (!ds->c || !ds->v || !ds->train || !ds->test) {
        mot_dataset_free(ds);
        return NULL;
    }
    return ds;
}

mot_dataset *mot_dataset_make(const mot_config *cfg)
{
    mot_dataset *ds = dataset_alloc(cfg);
    gsl_rng *rs = mot_rng_alloc(cfg->seed, "signals");
    gsl_rng *rtrain = mot_rng_alloc(cfg->seed, "train");
    gsl_rng *rtest = mot_rng_alloc(cfg->seed, "test");
    int status = MOT_ENOMEM;
    if (!ds || !rs || !rtrain || !rtest)
        MOT_ERROR(MOT_ENOMEM, "cannot allocate the data set");
    else if ((status = mot_signals_make(ds->c, ds->v, cfg, rs)) == MOT_OK
             && (status = mot_data_generate(ds->train, ds->c, ds->v, cfg, rtrain)) == MOT_OK)
        status = mot_data_generate(ds->test, ds->c, ds->v, cfg, rtest);
    gsl_rng_free(rs), gsl_rng_free(rtrain), gsl_rng_free(rtest);
    if (status != MOT_OK) {
        mot_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* Reads dir/name into dst, which must have exactly the given shape. */
static int load_exact(const char *dir, const char *name, mot_npy_type type, int ndim,
                      const size_t *shape, void *dst)
{
    size_t count = 1, got[MOT_NPY_MAX_DIM];
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    size_t bytes = count * (type == MOT_NPY_F64 ? sizeof(double) : sizeof(int));
    char *path = mot_io_join(dir, name);
    if (!path)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    void *data = NULL;
    int gdim = 0;
    /* Read arrays up to 64 MiB whatever their shape, so that a wrong shape is
     * reported as one; beyond that, the expected size bounds the read. */
    size_t bound = bytes > ((size_t)64 << 20) ? bytes : (size_t)64 << 20;
    int status = mot_npy_read(path, type, &gdim, got, &data, bound);
    if (status == MOT_OK) {
        int same = gdim == ndim;
        for (int i = 0; same && i < ndim; i++)
            same = got[i] == shape[i];
        if (!same) {
            char want[128] = "", have[128] = "";
            for (int i = 0; i < ndim; i++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", i ? ", " : "", shape[i]);
            for (int i = 0; i < gdim; i++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%zu", i ? ", " : "", got[i]);
            status = MOT_ERROR(MOT_EINVAL, "%s has shape (%s) but the config implies (%s)", path, have, want);
        } else {
            memcpy(dst, data, bytes);
        }
    }
    free(data);
    free(path);
    return status;
}

static int load_set(const char *dir, const char *prefix, mot_data *D)
{
    char name[64];
    size_t sx[3] = {D->n, D->L, D->d}, sy[1] = {D->n};
    int status;
    snprintf(name, sizeof name, "%s_X.npy", prefix);
    if ((status = load_exact(dir, name, MOT_NPY_F64, 3, sx, D->X)))
        return status;
    snprintf(name, sizeof name, "%s_y.npy", prefix);
    if ((status = load_exact(dir, name, MOT_NPY_I32, 1, sy, D->y)))
        return status;
    snprintf(name, sizeof name, "%s_class.npy", prefix);
    if ((status = load_exact(dir, name, MOT_NPY_I32, 1, sy, D->cls)))
        return status;
    return mot_data_validate(D, prefix);
}

mot_dataset *mot_dataset_load(const mot_config *cfg, const char *dir)
{
    mot_dataset *ds = dataset_alloc(cfg);
    if (!ds) {
        MOT_ERROR(MOT_ENOMEM, "cannot allocate the data set");
        return NULL;
    }
    size_t sig[2] = {ds->N, ds->d};
    if (load_exact(dir, "signals_c.npy", MOT_NPY_F64, 2, sig, ds->c)
        || load_exact(dir, "signals_v.npy", MOT_NPY_F64, 2, sig, ds->v)
        || load_set(dir, "train", ds->train) || load_set(dir, "test", ds->test)) {
        mot_dataset_free(ds);
        return NULL;
    }
    return ds;
}

static int write_array(const char *dir, const char *name, mot_npy_type type, int ndim,
                       const size_t *shape, const void *data)
{
    char *path = mot_io_join(dir, name);
    if (!path)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    int status = mot_npy_write(path, type, ndim, shape, data);
    free(path);
    return status;
}

static int write_set(const char *dir, const char *prefix, const mot_data *D)
{
    char name[64];
    size_t sx[3] = {D->n, D->L, D->d}, sy[1] = {D->n};
    int status;
    snprintf(name, sizeof name, "%s_X.npy", prefix);
    if ((status = write_array(dir, name, MOT_NPY_F64, 3, sx, D->X)))
        return status;
    snprintf(name, sizeof name, "%s_y.npy", prefix);
    if ((status = write_array(dir, name, MOT_NPY_I32, 1, sy, D->y)))
        return status;
    snprintf(name, sizeof name, "%s_class.npy", prefix);
    return write_array(dir, name, MOT_NPY_I32, 1, sy, D->cls);
}

int mot_dataset_write(const mot_dataset *ds, const char *dir)
{
    size_t sig[2] = {ds->N, ds->d};
    int status;
    if ((status = write_array(dir, "signals_c.npy", MOT_NPY_F64, 2, sig, ds->c))
        || (status = write_array(dir, "signals_v.npy", MOT_NPY_F64, 2, sig, ds->v))
        || (status = write_set(dir, "train", ds->train)))
        return status;
    return write_set(dir, "test", ds->test);
}

int mot_params_write(const mot_model *m, const char *dir, const char *tag)
{
    char name[64];
    size_t st[2] = {m->E, m->d}, sW[3] = {m->A, m->d, m->d};
    int status;
    snprintf(name, sizeof name, "theta_%s.npy", tag);
    if ((status = write_array(dir, name, MOT_NPY_F64, 2, st, m->theta)))
        return status;
    snprintf(name, sizeof name, "W_%s.npy", tag);
    if (m->A && (status = write_array(dir, name, MOT_NPY_F64, 3, sW, m->W)))
        return status;
    snprintf(name, sizeof name, "router_%s.npy", tag);
    if (m->gated && (status = write_array(dir, name, MOT_NPY_F64, 2, st, m->w)))
        return status;
    return MOT_OK;
}

int mot_params_load_tag(mot_model *m, const char *dir, const char *tag)
{
    size_t st[2] = {m->E, m->d}, sW[3] = {m->A, m->d, m->d};
    char name[64];
    int status;
    snprintf(name, sizeof name, "theta_%s.npy", tag);
    if ((status = load_exact(dir, name, MOT_NPY_F64, 2, st, m->theta)))
        return status;
    snprintf(name, sizeof name, "W_%s.npy", tag);
    if (m->A && (status = load_exact(dir, name, MOT_NPY_F64, 3, sW, m->W)))
        return status;
    snprintf(name, sizeof name, "router_%s.npy", tag);
    if (m->gated && (status = load_exact(dir, name, MOT_NPY_F64, 2, st, m->w)))
        return status;
    for (size_t i = 0; i < m->n_params; i++)
        if (!isfinite(m->params[i]))
            return MOT_ERROR(MOT_EINVAL, "%s: the parameters tagged \"%s\" are not all finite", dir, tag);
    mot_model_touch(m);
    return MOT_OK;
}

int mot_params_load(mot_model *m, const char *dir)
{
    return mot_params_load_tag(m, dir, "init");
}

int *mot_routing_load(const char *path, size_t T, size_t n, size_t E)
{
    int ndim = 0;
    size_t shape[MOT_NPY_MAX_DIM];
    void *data = NULL;
    /* A longer history than needed is fine; bound the read by a generous size. */
    size_t bound = (T + 1) * n * sizeof(int) * 16;
    if (mot_npy_read(path, MOT_NPY_I32, &ndim, shape, &data, bound))
        return NULL;
    int *route = data;
    if (ndim != 2 || shape[0] < T || shape[1] != n) {
        MOT_ERROR(MOT_EINVAL, "%s must have shape (>= %zu, %zu): T epochs of n_train samples", path, T, n);
        free(data);
        return NULL;
    }
    for (size_t i = 0; i < T * n; i++)
        if (route[i] < 0 || (size_t)route[i] >= E) {
            MOT_ERROR(MOT_EINVAL, "%s: epoch %zu sample %zu routes to expert %d, not in 0..%zu",
                      path, i / n, i % n, route[i], E - 1);
            free(data);
            return NULL;
        }
    return route;
}
