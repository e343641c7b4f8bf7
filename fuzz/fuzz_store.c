/* fuzz_store.c: libFuzzer harness of the shape-checked loaders of store.h
 * that `mot run --data`, `--init` and `--routing` use: mot_dataset_load,
 * mot_params_load and mot_routing_load. At start-up it writes a complete
 * tiny run (N = 2, d = 4, L = 4, three training and two test samples, two
 * experts, T = 3) for each model kind; each input then replaces one of its
 * files: the first byte chooses the file (and, for parameter files, the
 * model kind), the rest is the file's contents. The loader must accept it
 * (with values that pass the checks the loader promises) or refuse it with
 * MOT_EINVAL and a one-line message; the original file is put back after. */
#include "fuzz.h"

#include <math.h>

#include <gsl/gsl_rng.h>

#include "config.h"
#include "io.h"
#include "npy.h"
#include "rng.h"
#include "store.h"

enum { DATASET, PARAMS, ROUTING };

static const struct { const char *name; int loader; } files[] = {
    {"signals_c.npy", DATASET}, {"signals_v.npy", DATASET}, {"train_X.npy", DATASET},
    {"train_y.npy", DATASET},   {"train_class.npy", DATASET}, {"test_X.npy", DATASET},
    {"test_y.npy", DATASET},    {"test_class.npy", DATASET}, {"theta_init.npy", PARAMS},
    {"W_init.npy", PARAMS},     {"router_init.npy", PARAMS}, {"routing.npy", ROUTING},
};
#define NFILES (sizeof files / sizeof files[0])
#define NKINDS 4

static mot_config cfg[NKINDS];
static char dirs[NKINDS][300];
static uint8_t *saved[NKINDS][NFILES];   /* the files as written, to restore */
static size_t saved_size[NKINDS][NFILES];

static void set(mot_config *c, const char *key, const char *value)
{
    if (mot_config_set(c, key, value) != MOT_OK) {
        fprintf(stderr, "%s\n", mot_status_message());
        abort();
    }
}

static void slurp(const char *path, uint8_t **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    *data = NULL, *size = 0;
    if (!fp)
        return;   /* a file this model kind does not have */
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    rewind(fp);
    *data = malloc(*size ? *size : 1);
    if (!*data || fread(*data, 1, *size, fp) != *size)
        abort();
    fclose(fp);
}

/* Writes the tiny run of model kind k into dirs[k]. */
static void make_run(int k)
{
    static const char *kinds[NKINDS] = {"mot", "single", "moe_noattn", "moe_ffn"};
    mot_config *c = &cfg[k];
    mot_config_defaults(c);
    set(c, "N", "2"), set(c, "d", "4"), set(c, "L", "4"), set(c, "n_train", "3");
    set(c, "n_test", "2"), set(c, "M", "2"), set(c, "heads", "2"), set(c, "T1", "1");
    set(c, "T2", "2"), set(c, "T", "3"), set(c, "model", kinds[k]);
    if (mot_config_validate(c) != MOT_OK)
        abort();
    snprintf(dirs[k], sizeof dirs[k], "%s/%s", fuzz_dir(), kinds[k]);
    mot_dataset *ds = mot_dataset_make(c);
    mot_model *m = mot_model_alloc(c);
    gsl_rng *r = mot_rng_alloc(c->seed, "init");
    if (!ds || !m || !r || mot_io_mkdir_p(dirs[k]) != MOT_OK)
        abort();
    mot_model_init(m, c->sigma0, r);
    int route[3 * 3] = {0, 1, 1, 1, 0, 0, 1, 1, 0};
    size_t shape[2] = {3, 3};
    char *path = mot_io_join(dirs[k], "routing.npy");
    if (mot_dataset_write(ds, dirs[k]) != MOT_OK || mot_params_write(m, dirs[k], "init") != MOT_OK
        || mot_npy_write(path, MOT_NPY_I32, 2, shape, route) != MOT_OK)
        abort();
    free(path);
    gsl_rng_free(r);
    mot_model_free(m);
    mot_dataset_free(ds);
    for (size_t i = 0; i < NFILES; i++) {
        char *p = mot_io_join(dirs[k], files[i].name);
        slurp(p, &saved[k][i], &saved_size[k][i]);
        free(p);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int k = 0; k < NKINDS; k++)
        make_run(k);
    return 0;
}

static void check_dataset(const mot_dataset *ds)
{
    const mot_data *sets[2] = {ds->train, ds->test};
    for (int s = 0; s < 2; s++) {
        const mot_data *D = sets[s];
        for (size_t i = 0; i < D->n; i++)
            if ((D->y[i] != 1 && D->y[i] != -1) || D->cls[i] < 0 || (size_t)D->cls[i] >= D->N)
                abort();
        for (size_t i = 0; i < D->n * D->L * D->d; i++)
            if (!isfinite(D->X[i]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t which = data[0] % NFILES;
    int k = files[which].loader == PARAMS ? (data[0] / NFILES) % NKINDS : 0;
    if (!saved[k][which])
        return 0;   /* e.g. W_init.npy of moe_noattn */
    char *path = mot_io_join(dirs[k], files[which].name);
    fuzz_write(path, data + 1, size - 1);
    mot_status_clear();
    int status = MOT_OK;
    if (files[which].loader == DATASET) {
        mot_dataset *ds = mot_dataset_load(&cfg[k], dirs[k]);
        if (ds)
            check_dataset(ds);
        else
            status = MOT_EINVAL;
        mot_dataset_free(ds);
    } else if (files[which].loader == PARAMS) {
        mot_model *m = mot_model_alloc(&cfg[k]);
        if (!m)
            abort();
        status = mot_params_load(m, dirs[k]);
        for (size_t i = 0; status == MOT_OK && i < m->n_params; i++)
            if (!isfinite(m->params[i]))
                abort();
        mot_model_free(m);
    } else {
        int *route = mot_routing_load(path, 3, 3, 2);
        if (route) {
            for (size_t i = 0; i < 9; i++)
                if (route[i] < 0 || route[i] > 1)
                    abort();
        } else {
            status = MOT_EINVAL;
        }
        free(route);
    }
    if (status != MOT_OK)
        fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), files[which].name);
    fuzz_write(path, saved[k][which], saved_size[k][which]);
    free(path);
    return 0;
}
