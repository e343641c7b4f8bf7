/* cmd_run.c: `mot run CONFIG [--out DIR] [--set k=v ...] [--data DIR]
 * [--init DIR] [--routing FILE]`: one training run, recorded. */
#include <stdio.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "run.h"
#include "stability.h"
#include "store.h"
#include "status.h"

static const char usage[] =
    "usage: mot run CONFIG [--out DIR] [--set key=value ...] [--data DIR] [--init DIR]\n"
    "               [--routing FILE] [--threads N] [--check]\n\n"
    "Trains the model CONFIG describes and writes into DIR (default runs/<config name>):\n"
    "config.json, metrics.csv, dispatch.csv, gate.csv, alignment.csv, attention.csv,\n"
    "experts.csv, steps.csv, train_dispatch.csv, timing.csv, the data set and signals\n"
    "(.npy), the parameters at init and at the end of each stage (.npy), routing.npy\n"
    "(save_routing = true) and summary.json, written last.\n\n"
    "  --set key=value  override a config key (repeatable; see the README for keys)\n"
    "  --data DIR       use the data set saved in DIR instead of generating one\n"
    "  --init DIR       start from DIR/theta_init.npy, W_init.npy, router_init.npy\n"
    "  --routing FILE   replay a recorded routing.npy instead of drawing routing noise\n"
    "  --threads N      train with N OpenMP threads (default 1); the results are\n"
    "                   the same, bit for bit, for every N\n"
    "  --check          run `mot check DIR` on the finished run\n\n"
    "Exit status: 0 done (with --check: and every claim holds), 2 bad input\n"
    "(nothing written), 3 training diverged (summary.json records the epoch),\n"
    "1 other failures (with --check: some claim fails or is inconclusive).\n";

void print_summary(const char *dir, const mot_run_result *res);

void print_summary(const char *dir, const mot_run_result *res)
{
    printf("%s: %d epochs in %.2f s (%.3f ms/epoch)\n", dir, res->epochs_run, res->seconds,
           res->epochs_run ? 1e3 * res->seconds / res->epochs_run : 0.0);
    printf("  epoch %d: train loss %.6g, test loss %.6g, test error %.4f\n", res->last.epoch,
           res->last.train_loss, res->last.test_loss, res->last.test_error);
}

/* Warns on stderr when the experts' learning rate exceeds the stability
 * bound of the training data at initialization (stability.h). Only a
 * warning: such a run may still be what the user wants to see. */
static void warn_unstable(const mot_config *cfg, const mot_dataset *ds)
{
    double bound, eta = cfg->lr_scale * cfg->eta;
    if (mot_stability_bound(ds->train, cfg->loss, &bound) != MOT_OK || !(eta > bound))
        return;
    fprintf(stderr, "mot: warning: %s = %g exceeds the stability bound 2/lambda_max = %.2g of the data at "
            "initialization\n", cfg->lr_scale == 1.0 ? "eta" : "eta * lr_scale", eta, bound);
}

int cmd_run(int argc, char **argv)
{
    cli_options opt;
    mot_config cfg;
    int code = cli_parse(argc, argv, usage, "--data --init --routing --threads --check", &opt, &cfg);
    if (code)
        return code < 0 ? EXIT_OK : code;
    /* The data set is made (or loaded) here, so the learning rate can be
     * checked against it before training; mot_run then uses it as it is. */
    mot_dataset *ds = opt.data_dir ? mot_dataset_load(&cfg, opt.data_dir) : mot_dataset_make(&cfg);
    if (!ds)
        return cli_fail(MOT_EINVAL);
    warn_unstable(&cfg, ds);
    mot_run_options ro = {
        .out_dir = opt.out_dir ? opt.out_dir : cli_default_out(opt.config_path),
        .data_dir = opt.data_dir, .init_dir = opt.init_dir, .routing_path = opt.routing_path,
        .dataset = ds, .threads = opt.threads, .progress = cli_progress, .progress_ctx = "mot run:"};
    mot_run_result res;
    int status = mot_run(&cfg, &ro, &res);
    mot_dataset_free(ds);
    if (status == MOT_EDIVERGED) {
        cli_error("%s; outputs and summary.json written to %s", mot_status_message(), ro.out_dir);
        return EXIT_DIVERGED;
    }
    if (status)
        return cli_fail(status);
    print_summary(ro.out_dir, &res);
    return opt.check ? check_dir(ro.out_dir, 0) : EXIT_OK;
}
