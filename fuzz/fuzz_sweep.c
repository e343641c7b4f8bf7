/* fuzz_sweep.c: libFuzzer harness of the [sweep] section reader
 * (mot_sweep_load, src/sweep.h; `make fuzz` builds it only when that file
 * exists). The input is a config file; its [sweep] section is read on the
 * default config. It either loads, and then every point checked (the first
 * 64 and the last) has a config that is accepted or refused with a one-line
 * message and a name of at most MOT_SWEEP_MAX_NAME file-name-safe
 * characters, or it is refused with MOT_EINVAL and a one-line message. Not a
 * test of which sweeps are right: the sweep's own tests do that. */
#include "fuzz.h"

#include <ctype.h>

#include "config.h"
#include "sweep.h"

static void check_point(const mot_sweep *s, const mot_config *base, size_t point)
{
    mot_config c;
    mot_status_clear();
    int status = mot_sweep_point_config(s, base, point, &c);
    if (status != MOT_OK)
        fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), "mot_sweep_point_config");
    char name[MOT_SWEEP_MAX_NAME + 1];
    mot_sweep_point_name(s, point, name, sizeof name);
    size_t len = strlen(name);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!(isalnum(ch) || strchr(".+-_=", ch))) {
            fprintf(stderr, "point %zu: name \"%s\" is not file-name safe\n", point, name);
            abort();
        }
    }
    if (len == 0 || len > MOT_SWEEP_MAX_NAME) {
        fprintf(stderr, "point %zu: name of %zu characters\n", point, len);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path("sweep.conf");
    fuzz_write(path, data, size);
    mot_config base;
    mot_config_defaults(&base);
    mot_status_clear();
    mot_sweep *s = mot_sweep_load(path, &base);
    if (!s) {
        /* mot_sweep_load returns no status: its message must still be one. */
        fuzz_check_rejection(MOT_EINVAL, FUZZ_BIT(MOT_EINVAL), "mot_sweep_load");
        return 0;
    }
    if (s->n_points == 0 || s->n_points > MOT_SWEEP_MAX_POINTS) {
        fprintf(stderr, "a sweep of %zu points\n", s->n_points);
        abort();
    }
    for (size_t p = 0; p < s->n_points && p < 64; p++)
        check_point(s, &base, p);
    check_point(s, &base, s->n_points - 1);
    mot_sweep_free(s);
    return 0;
}
