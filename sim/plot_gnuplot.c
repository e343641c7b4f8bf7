/* plot_gnuplot.c: see plot_gnuplot.h. gnuplot runs as a child process
 * (fork and execl, no shell), its output kept in a temporary file and shown
 * only when it failed. Each figure is written under a temporary name in
 * FIGDIR and renamed when gnuplot succeeded, so a failed figure leaves no
 * file and no figure is ever half written under its own name. */
#define _POSIX_C_SOURCE 200809L
#include "plot_gnuplot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

int plot_exists(const char *dir, const char *name)
{
    char *path = mot_io_join(dir, name);
    int ok = path && access(path, F_OK) == 0;
    free(path);
    return ok;
}

char *plot_find_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    while (*path) {
        size_t len = strcspn(path, ":");
        char dir[4096];
        if (len < sizeof dir) {
            memcpy(dir, len ? path : ".", len ? len : 1);
            dir[len ? len : 1] = '\0';
            char *cand = mot_io_join(dir, "gnuplot");
            if (cand && access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        path += len + (path[len] == ':');
    }
    return NULL;
}

const char *plot_find_scripts(void)
{
    const char *env = getenv("MOT_PLOTS_DIR");
    if (env && *env) {
        if (plot_exists(env, "style.gp"))
            return env;
        cli_error("MOT_PLOTS_DIR=%s holds no style.gp: not the plots/ directory", env);
        return NULL;
    }
    static const char *candidates[] = {"plots", MOT_SRCDIR "/plots", MOT_DATADIR "/plots"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (plot_exists(candidates[i], "style.gp"))
            return candidates[i];
    cli_error("the gnuplot scripts (plots/style.gp) are not in ./plots, " MOT_SRCDIR
              "/plots or " MOT_DATADIR "/plots; set MOT_PLOTS_DIR");
    return NULL;
}

void plot_gp_string(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s='", name);
    for (const char *c = value; *c; c++)
        fputs(*c == '\'' ? "''" : (char[]){*c, '\0'}, f);
    fputs("'; ", f);
}

/* Runs gnuplot on one script for one format: -e "<vars> out=...; term=...".
 * Returns gnuplot's exit status (-1 if it could not run); its output is left
 * in `log` (a tmpfile) for the caller to show on failure. */
static int run_gnuplot(const plotter *p, const char *script, const char *vars, const char *out,
                       const char *term, FILE *log)
{
    char *expr = NULL, *path = mot_io_join(p->scripts, script);
    size_t len = 0;
    FILE *f = open_memstream(&expr, &len);
    if (!f || !path) {
        if (f)
            fclose(f);
        free(expr), free(path);
        return -1;
    }
    fputs(vars, f);
    plot_gp_string(f, "out", out);
    plot_gp_string(f, "term", term);
    fclose(f);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
        execl(p->gnuplot, "gnuplot", "-e", expr, path, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", p->gnuplot, strerror(errno));
        _exit(127);
    }
    int status = -1, code = -1;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        code = WEXITSTATUS(status);
    free(expr), free(path);
    return code;
}

/* Prints gnuplot's output (kept in log) to stderr, indented. */
static void show_log(FILE *log)
{
    char line[1024];
    rewind(log);
    while (fgets(line, sizeof line, log))
        if (line[0] != '\n')
            fprintf(stderr, "  | %s%s", line, strchr(line, '\n') ? "" : "\n");
}

void plot_figure(plotter *p, const char *name, const char *script, const char *vars)
{
    const char *exts[] = {"png", "pdf"};
    int want[] = {p->png, p->pdf};
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        char base[256], tmpbase[320];
        snprintf(base, sizeof base, "%s.%s", name, exts[i]);
        snprintf(tmpbase, sizeof tmpbase, ".%s.tmp.%ld.%s", name, (long)getpid(), exts[i]);
        char *final = mot_io_join(p->figdir, base), *tmp = mot_io_join(p->figdir, tmpbase);
        FILE *log = tmpfile();
        if (!final || !tmp || !log) {
            cli_error("%s: cannot allocate a path or a temporary file", name);
            p->failed++;
        } else {
            int code = run_gnuplot(p, script, vars, tmp, exts[i], log);
            struct stat st;
            int drawn = stat(tmp, &st) == 0 && st.st_size > 0;
            if (code == 0 && drawn && rename(tmp, final) == 0) {
                printf("  %s\n", final);
                p->written++;
            } else if (code == 0 && !drawn) {
                unlink(tmp);
                /* The script says why on its last line, after any warning. */
                char line[480], msg[512] = "nothing to draw\n";
                rewind(log);
                while (fgets(line, sizeof line, log))
                    if (line[0] != '\n')
                        snprintf(msg, sizeof msg, "%s%s", line, strchr(line, '\n') ? "" : "\n");
                printf("  %s: skipped, %s", name, msg);
                fclose(log);
                free(final), free(tmp);
                return; /* the other format would say the same */
            } else {
                int err = errno;
                unlink(tmp);
                if (code == 0)
                    cli_error("%s: cannot rename to %s: %s", name, final, strerror(err));
                else if (code < 0)
                    cli_error("%s: cannot run %s on %s/%s", final, p->gnuplot, p->scripts, script);
                else
                    cli_error("%s: gnuplot %s/%s failed (exit status %d)", final, p->scripts,
                              script, code);
                show_log(log);
                p->failed++;
            }
        }
        if (log)
            fclose(log);
        free(final), free(tmp);
    }
}
