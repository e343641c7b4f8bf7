/* cmd_sweep.c: `mot sweep CONFIG --out DIR [--jobs N] [--shard i/K]
 * [--set k=v ...]`: every point of the config's [sweep] grid (src/sweep.h)
 * trained into DIR/runs/<name>, then DIR/sweep.csv. Locally the points run
 * in a pool of N forked workers, one point per child; under mpirun (a build
 * configured --with-mpi) sweep_mpi.c schedules them over the ranks. Either
 * way the run directories hold the results, and a point whose directory has
 * summary.json is done: a sweep killed at any moment and started again
 * redoes only the points that were in flight. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli.h"
#include "status.h"
#include "sweep_exec.h"

static const char usage[] =
    "usage: mot sweep CONFIG --out DIR [--jobs N] [--shard i/K] [--set key=value ...]\n\n"
    "Runs every point of the grid that CONFIG's [sweep] section spans, e.g.\n"
    "  [sweep]\n"
    "  lr_scale = 0.5, 1, 2      ; a list\n"
    "  sigma0 = 0.01:1:x10       ; a geometric range: 0.01, 0.1, 1\n"
    "  M = 4:32:+4               ; a linear range: 4, 8, ..., 32\n"
    "  seeds = 1:10              ; seeds 1 to 10\n"
    "(the product of the keys' values, in file order, the last varying fastest,\n"
    "then the seeds), each into DIR/runs/<name> (e.g. lr_scale=0.5_sigma0=0.01_M=8_seed=3),\n"
    "and writes DIR/sweep.csv: one row per finished point, in grid order, with the\n"
    "swept values, N, M, lr_scale, sigma0, eta, T_spec, coverage_T1 (every class\n"
    "covered at T1), prop1, the final test loss and error, status (done, diverged,\n"
    "failed) and seconds. `mot check DIR` fits the T1 scaling and tabulates coverage.\n"
    "Points already finished in DIR are skipped, unfinished ones redone.\n\n"
    "  --out DIR       the sweep directory (required)\n"
    "  --jobs N        local worker processes (default: the number of online cores)\n"
    "  --shard i/K     run only the points whose index % K == i (0 <= i < K)\n"
    "  --set key=value override a key of the base config (repeatable; not a swept key)\n\n"
    "Under mpirun (mpirun -np K mot sweep ...), rank 0 hands the points out to the\n"
    "other ranks one at a time; --jobs is then ignored.\n"
    "Exit status: 0 every point ran (done or diverged), 1 some point failed, 2 bad input\n"
    "(nothing written).\n"
#ifdef HAVE_MPI
    "This build runs sweeps under mpirun (MPI: yes).\n";
#else
    "This build has no MPI (MPI: no): configure --with-mpi to run sweeps under mpirun.\n";
#endif

/* Parses "i/K". */
static int parse_shard(const char *v, int *i, int *k)
{
    char *slash, *end;
    errno = 0;
    long a = strtol(v, &slash, 10);
    if (slash == v || *slash != '/')
        return 0;
    long b = strtol(slash + 1, &end, 10);
    if (errno || end == slash + 1 || *end || b < 1 || b > 1000000 || a < 0 || a >= b)
        return 0;
    *i = (int)a, *k = (int)b;
    return 1;
}

/* Splits our options from those cli_parse reads (CONFIG, --out, --set). */
static int parse_args(int argc, char **argv, sweep_ctx *c, char **rest, int *nrest)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    c->jobs = online > 0 ? (int)online : 1;
    c->shard_i = 0, c->shard_k = 1;
    *nrest = 0;
    rest[(*nrest)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--jobs") || !strcmp(a, "--shard")) {
            if (i + 1 >= argc) {
                cli_error("%s needs a value", a);
                return EXIT_USAGE;
            }
            const char *v = argv[++i];
            char *end;
            errno = 0;
            long n = !strcmp(a, "--jobs") ? strtol(v, &end, 10) : 0;
            if (!strcmp(a, "--jobs") && (errno || end == v || *end || n < 1 || n > 1024)) {
                cli_error("--jobs must be an integer in 1..1024 (got \"%s\")", v);
                return EXIT_USAGE;
            }
            if (!strcmp(a, "--jobs"))
                c->jobs = (int)n;
            else if (!parse_shard(v, &c->shard_i, &c->shard_k)) {
                cli_error("--shard must be i/K with integers 0 <= i < K (got \"%s\")", v);
                return EXIT_USAGE;
            }
            continue;
        }
        rest[(*nrest)++] = argv[i];
    }
    rest[*nrest] = NULL;
    return EXIT_OK;
}

/* A --set of a swept key would be silently overridden: refuse it. */
static int check_sets(const sweep_ctx *c, char **argv, int argc)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--set"))
            continue;
        const char *v = argv[++i], *eq = strchr(v, '='), *dot = memchr(v, '.', eq ? (size_t)(eq - v) : 0);
        const char *key = dot ? dot + 1 : v;
        size_t len = eq ? (size_t)(eq - key) : strlen(key);
        for (size_t a = 0; a < c->sweep->n_axes; a++)
            if (strlen(c->sweep->axes[a].key) == len && !strncmp(c->sweep->axes[a].key, key, len)) {
                cli_error("--set %s: %s is swept in [sweep] of %s", v, c->sweep->axes[a].key, c->config_path);
                return EXIT_USAGE;
            }
        if (len == 4 && !strncmp(key, "seed", 4) && c->sweep->seeds_line) {
            cli_error("--set %s: the seeds are swept in [sweep] of %s", v, c->config_path);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

/* The child's life: run one point, exit with its outcome. */
static void child(const sweep_ctx *c, size_t point, pid_t parent, const sigset_t *old_mask)
{
    sigprocmask(SIG_SETMASK, old_mask, NULL);
#ifdef __linux__
    /* A sweep killed outright must not leave its workers running. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(EXIT_FAIL);
#endif
    int outcome = sweep_run_point(c, point);
    _exit(outcome == POINT_DONE ? EXIT_OK : outcome == POINT_DIVERGED ? EXIT_DIVERGED : EXIT_FAIL);
}

/* The local pool: at most c->jobs children, each running one point. */
static int run_pool(const sweep_ctx *c, const size_t *pending, size_t n, sweep_progress *pr)
{
    pid_t *pid = calloc((size_t)c->jobs, sizeof *pid);
    size_t *point = calloc((size_t)c->jobs, sizeof *point);
    if (!pid || !point) {
        free(pid), free(point);
        return cli_fail(MOT_ERROR(MOT_ENOMEM, "out of memory"));
    }
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);   /* so sigtimedwait can wait for it */
    pid_t self = getpid();
    size_t next = 0;
    int code = EXIT_OK;
    while (next < n || pr->running > 0) {
        while (pr->running < (size_t)c->jobs && next < n && code == EXIT_OK) {
            int slot = 0;
            while (pid[slot])
                slot++;
            fflush(NULL);
            pid_t p = fork();
            if (p < 0) {
                if (pr->running == 0) {
                    cli_error("cannot start a worker: %s", strerror(errno));
                    code = EXIT_FAIL;
                }
                break;
            }
            if (p == 0)
                child(c, pending[next], self, &old);
            pid[slot] = p, point[slot] = pending[next++];
            pr->running++;
        }
        if (code != EXIT_OK && pr->running == 0)
            break;
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == 0 || (p < 0 && errno == EINTR)) {
            struct timespec wait = {0, 500000000};
            sigtimedwait(&chld, NULL, &wait);
            sweep_progress_tick(pr);
            continue;
        }
        if (p < 0)
            break;
        int slot = 0;
        while (slot < c->jobs && pid[slot] != p)
            slot++;
        if (slot == c->jobs)
            continue;
        pid[slot] = 0;
        pr->running--;
        /* The directory, not the exit status, says how the point ended. */
        int outcome = sweep_point_outcome(c, point[slot]);
        if (outcome == POINT_FAILED) {
            char why[64];
            if (WIFSIGNALED(st))
                snprintf(why, sizeof why, "worker killed by signal %d", WTERMSIG(st));
            else
                snprintf(why, sizeof why, "worker exited with status %d", WEXITSTATUS(st));
            sweep_record_failure(c, point[slot], why);
        }
        sweep_progress_point(pr, c, point[slot], outcome);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(pid), free(point);
    return code;
}

int cmd_sweep(int argc, char **argv)
{
    sweep_ctx c;
    memset(&c, 0, sizeof c);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0, code = rest ? parse_args(argc, argv, &c, rest, &nrest) : EXIT_FAIL;
    cli_options opt;
    if (code == EXIT_OK)
        code = cli_parse(nrest, rest, usage, "", &opt, &c.base);
    if (code == EXIT_OK && !opt.out_dir) {
        cli_error("mot sweep needs --out DIR (see --help)");
        code = EXIT_USAGE;
    }
    if (code == EXIT_OK && strlen(opt.out_dir) > 2048) {
        cli_error("--out: a path of at most 2048 characters, please");
        code = EXIT_USAGE;
    }
    if (code == EXIT_OK) {
        c.out = opt.out_dir, c.config_path = opt.config_path;
        if (!(c.sweep = mot_sweep_load(c.config_path, &c.base)))
            code = cli_fail(mot_status_message()[0] ? MOT_EINVAL : MOT_ENOMEM);
    }
    if (code == EXIT_OK)
        code = check_sets(&c, rest, nrest);
    /* Every point's config is checked before anything is written. */
    for (size_t p = 0; code == EXIT_OK && p < (c.sweep ? c.sweep->n_points : 0); p++) {
        mot_config cfg;
        if (mot_sweep_point_config(c.sweep, &c.base, p, &cfg) != MOT_OK) {
            cli_error("%s: %s", c.config_path, mot_status_message());
            code = EXIT_USAGE;
        }
    }
    free(rest);
    if (code != EXIT_OK) {
        mot_sweep_free(c.sweep);
        return code < 0 ? EXIT_OK : code;
    }
    if (sweep_under_mpirun()) {
#ifdef HAVE_MPI
        code = sweep_mpi_main(&c);
#else
        cli_error("mot sweep runs under mpirun only in a build configured --with-mpi");
        code = EXIT_USAGE;
#endif
        mot_sweep_free(c.sweep);
        return code;
    }
    size_t *pending = NULL, n_pending = 0, skipped = 0;
    sweep_progress pr;
    code = sweep_prepare(&c, &pending, &n_pending, &skipped);
    if (code == EXIT_OK) {
        sweep_progress_start(&pr, n_pending + skipped, skipped);
        code = run_pool(&c, pending, n_pending, &pr);
        sweep_progress_end(&pr);
        int fin = sweep_finish(&c, &pr);
        code = code ? code : fin;
    }
    free(pending);
    mot_sweep_free(c.sweep);
    return code;
}
