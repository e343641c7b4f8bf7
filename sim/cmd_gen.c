/* cmd_gen.c: `mot gen CONFIG --out DIR`: the data set and signals only. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "io.h"
#include "run.h"
#include "status.h"

static const char usage[] =
    "usage: mot gen CONFIG [--out DIR] [--set key=value ...]\n\n"
    "Writes the signals (signals_c.npy, signals_v.npy), the training and test sets\n"
    "({train,test}_{X,y,class}.npy) and config.json of CONFIG into DIR, without\n"
    "training. `mot run --data DIR` trains on them.\n";

int cmd_gen(int argc, char **argv)
{
    cli_options opt;
    mot_config cfg;
    int code = cli_parse(argc, argv, usage, "", &opt, &cfg);
    if (code)
        return code < 0 ? EXIT_OK : code;
    const char *dir = opt.out_dir ? opt.out_dir : cli_default_out(opt.config_path);
    mot_dataset *ds = mot_dataset_make(&cfg);
    if (!ds)
        return cli_fail(MOT_ENOMEM);
    int status = mot_io_mkdir_p(dir);
    json_t *j = status ? NULL : mot_config_to_json(&cfg);
    char *path = j ? mot_io_join(dir, "config.json") : NULL;
    if (!status)
        status = path ? mot_io_write_json(path, j) : MOT_ERROR(MOT_ENOMEM, "cannot write config.json");
    if (!status)
        status = mot_dataset_write(ds, dir);
    json_decref(j);
    free(path);
    mot_dataset_free(ds);
    if (status)
        return cli_fail(status);
    printf("%s: %d training and %d test samples, N=%d d=%d L=%d\n", dir, cfg.n_train, cfg.n_test,
           cfg.N, cfg.d, cfg.L);
    return EXIT_OK;
}
