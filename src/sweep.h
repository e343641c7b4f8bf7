/* sweep.h: the [sweep] section of a config file, and the grid of runs it
 * spans. The section names, for any config key, the values a sweep gives it:
 *
 *   [sweep]
 *   eta = 0.1, 0.3, 1.0        ; a list (any key: numbers, enums, booleans)
 *   sigma0 = 0.01:1:x10        ; a geometric range: 0.01, 0.1, 1
 *   M = 4:32:+4                ; a linear range: 4, 8, ..., 32
 *   seeds = 1:10               ; the seeds, integers, both ends included
 *
 * A range includes its end when the end is reached within 1e-9 relative.
 * The grid is the product of the keys' values and the seeds, in this order:
 * the keys in file order, the last one varying fastest, and the seeds
 * fastest of all. Point i of the grid is a full config (the base config with
 * the point's values set) and a name such as "eta=0.3_sigma0=0.01_seed=3",
 * built from the swept values only, so it is stable and safe as a file name.
 * mot_config_load skips this section; this module reads it in its own pass.
 * It runs nothing: `mot sweep` (sim/cmd_sweep.c) runs the points. */
#ifndef MOT_SWEEP_H
#define MOT_SWEEP_H

#include <stddef.h>

#include "config.h"

#define MOT_SWEEP_MAX_AXES 32          /* swept keys */
#define MOT_SWEEP_MAX_VALUES 10000     /* values of one key (or seeds) */
#define MOT_SWEEP_MAX_POINTS 1000000   /* points of the grid */
#define MOT_SWEEP_MAX_NAME 200         /* characters of a point's name */

typedef struct {
    char key[64];      /* bare key name, as mot_config_set takes it */
    int line;          /* line of the config file that set it */
    size_t n;          /* values */
    char **values;     /* (n) texts: what mot_config_set receives, and what
                        * the point names and sweep.csv show */
} mot_sweep_axis;

typedef struct {
    size_t n_axes;
    mot_sweep_axis axes[MOT_SWEEP_MAX_AXES]; /* in file order */
    size_t n_seeds;
    unsigned long *seeds;  /* (n_seeds); without a seeds key, the base seed */
    int seeds_line;        /* line of the seeds key, 0 when absent */
    size_t n_points;       /* product of every axis's n and n_seeds */
} mot_sweep;

/* Reads the [sweep] section of the INI file `path` (the rest of the file is
 * mot_config_load's; this pass ignores it) and checks every value by setting
 * it, with mot_config_set, on a copy of `base` (the config the file and any
 * `--set` produced), so a bad value gives mot_config_set's message. Errors
 * (MOT_EINVAL) read "config FILE line K: <reason>" and name the key:
 * an unknown key, a key given twice, `seed` (sweep seeds with `seeds`), an
 * empty list or list item, the same value twice, a malformed range (not a
 * number, a zero or negative step, a ratio <= 1, a start above the end, a
 * geometric range starting at 0 or below; the message lists the accepted
 * forms), too many values or points, or names longer than
 * MOT_SWEEP_MAX_NAME. MOT_EIO when the file cannot be read, MOT_ENOMEM.
 * A file without a [sweep] section is a grid of one point (the base config
 * and its seed). Returns the sweep (free with mot_sweep_free) or NULL. */
mot_sweep *mot_sweep_load(const char *path, const mot_config *base);

/* Frees s; NULL does nothing. */
void mot_sweep_free(mot_sweep *s);

/* The values one [sweep] line gives `key` (no base config involved): a list
 * of texts, or the texts of a range's values ("%.15g" of start + i step, or
 * start ratio^i). `key` decides only the accepted forms: "seeds" takes
 * integers (A:B, A:B:+STEP or a list); other keys take a list,
 * START:END:xRATIO or START:END:+STEP. On success *values is a malloc'd
 * array of *n malloc'd strings (free with mot_sweep_free_values). MOT_EINVAL
 * with a message naming the key and the accepted forms, or MOT_ENOMEM. */
int mot_sweep_parse_values(const char *key, const char *text, char ***values, size_t *n);

/* Frees what mot_sweep_parse_values returned. */
void mot_sweep_free_values(char **values, size_t n);

/* Index of point `point`'s value in axis `axis` (0 <= axis < n_axes), or
 * its seed index for axis == n_axes. */
size_t mot_sweep_coord(const mot_sweep *s, size_t point, size_t axis);

/* The config of point `point`: `base` with the point's values and seed set,
 * then validated (mot_config_validate: a combination of values can break a
 * constraint between keys, e.g. T1 > T2). MOT_OK, or MOT_EINVAL with a
 * message naming the point and the broken constraint. */
int mot_sweep_point_config(const mot_sweep *s, const mot_config *base, size_t point, mot_config *out);

/* The name of point `point` into buf (size >= MOT_SWEEP_MAX_NAME + 1):
 * "key=value" for each swept key, then "seed=S", joined by '_'; characters
 * other than letters, digits and ".+-" in values become '_'. */
void mot_sweep_point_name(const mot_sweep *s, size_t point, char *buf, size_t size);

#endif
