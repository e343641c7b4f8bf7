/* cli.c: see cli.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "status.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mot: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(int status)
{
    const char *msg = mot_status_message();
    cli_error("%s", *msg ? msg : "unknown failure");
    switch (status) {
    case MOT_EINVAL: return EXIT_USAGE;
    case MOT_EDIVERGED: return EXIT_DIVERGED;
    default: return EXIT_FAIL;
    }
}

static int allows(const char *allowed, const char *name)
{
    return allowed && strstr(allowed, name) != NULL;
}

int cli_parse(int argc, char **argv, const char *usage, const char *allowed,
              cli_options *opt, mot_config *cfg)
{
    memset(opt, 0, sizeof *opt);
    opt->threads = 1;
    mot_config_defaults(cfg);
    /* The config file first, so --set overrides it wherever it appears. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return -1;
        }
        int takes_value = !strcmp(a, "--out") || !strcmp(a, "--set") || !strcmp(a, "--data")
                       || !strcmp(a, "--init") || !strcmp(a, "--routing") || !strcmp(a, "--threads");
        if (takes_value) {
            if (i + 1 >= argc) {
                cli_error("%s needs a value", a);
                return EXIT_USAGE;
            }
            i++;
            continue;
        }
        if (a[0] == '-' && strcmp(a, "--check")) {
            cli_error("unknown option %s (see --help)", a);
            return EXIT_USAGE;
        }
        if (a[0] != '-') {
            if (opt->config_path) {
                cli_error("one CONFIG expected, got %s and %s", opt->config_path, a);
                return EXIT_USAGE;
            }
            opt->config_path = a;
        }
    }
    if (!opt->config_path) {
        cli_error("missing CONFIG (see --help)");
        return EXIT_USAGE;
    }
    int status = mot_config_load(cfg, opt->config_path), overridden = 0;
    if (status) {
        cli_error("%s", mot_status_message());
        return EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--check")) {
            if (!allows(allowed, "--check")) {
                cli_error("--check is not an option of this command");
                return EXIT_USAGE;
            }
            opt->check = 1;
            continue;
        }
        if (a[0] != '-')
            continue;
        i++;
        if (!strcmp(a, "--out")) {
            opt->out_dir = v;
        } else if (!strcmp(a, "--set")) {
            overridden = 1;
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                char shown[MOT_PARSE_SHOWN_CAP];
                cli_error("--set expects key=value (got \"%s\")", mot_parse_shown(v, strlen(v), shown));
                return EXIT_USAGE;
            }
            char key[128];
            size_t len = (size_t)(eq - v);
            if (len >= sizeof key) {
                cli_error("--set: key too long (got \"%.40s...\")", v);
                return EXIT_USAGE;
            }
            memcpy(key, v, len);
            key[len] = '\0';
            if ((status = mot_config_set(cfg, key, eq + 1))) {
                cli_error("--set %s", mot_status_message());
                return EXIT_USAGE;
            }
        } else if (!allows(allowed, a)) {
            cli_error("%s is not an option of this command", a);
            return EXIT_USAGE;
        } else if (!strcmp(a, "--data")) {
            opt->data_dir = v;
        } else if (!strcmp(a, "--init")) {
            opt->init_dir = v;
        } else if (!strcmp(a, "--routing")) {
            opt->routing_path = v;
        } else if (!strcmp(a, "--threads")) {
            char *end;
            errno = 0;
            long t = strtol(v, &end, 10);
            if (errno || *end || t < 1 || t > 1024) {
                cli_error("--threads must be an integer in 1..1024 (got \"%s\")", v);
                return EXIT_USAGE;
            }
            opt->threads = (int)t;
        }
    }
    if ((status = mot_config_validate(cfg))) {
        cli_error("%s%s: %s", opt->config_path, overridden ? " with --set" : "", mot_status_message());
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

const char *cli_default_out(const char *config_path)
{
    static char buf[512];
    const char *base = strrchr(config_path, '/');
    base = base ? base + 1 : config_path;
    size_t len = strlen(base);
    if (len > 5 && !strcmp(base + len - 5, ".conf"))
        len -= 5;
    snprintf(buf, sizeof buf, "runs/%.*s", (int)len, base);
    return buf;
}

void cli_progress(void *ctx, int epoch, int T, double objective)
{
    static double start;
    struct timespec ts;
    if (!isatty(STDERR_FILENO))
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    if (epoch == 1)
        start = t;
    if (epoch % 10 && epoch != T)
        return;
    double eta = epoch > 1 ? (t - start) / (epoch - 1) * (T - epoch) : 0;
    fprintf(stderr, "\r%s epoch %d/%d  loss %.3e  %.0f s left   ", ctx ? (const char *)ctx : "",
            epoch, T, objective, eta);
    if (epoch == T)
        fputc('\n', stderr);
}
