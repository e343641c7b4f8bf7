/* parse.h: strict text-to-value conversion for config values and command
 * line options. Numbers go through strtol/strtoul/strtod and are checked for
 * errno, an empty string, trailing junk (trailing whitespace is fine), NaN and
 * infinities. These functions know nothing of keys or ranges: on failure they
 * record a generic message ("not a number: \"abc\"") that the caller, which
 * knows the key and its range, usually replaces with a better one. */
#ifndef MOT_PARSE_H
#define MOT_PARSE_H

#include <stddef.h>

/* Skips leading whitespace of *s (advancing *s) and returns the length of
 * what remains without trailing whitespace. */
size_t mot_parse_trim(const char **s);

/* A base-10 integer that fits a long. MOT_OK or MOT_EINVAL; *out is written
 * only on success. */
int mot_parse_long(const char *s, long *out);

/* A base-10 unsigned integer that fits an unsigned long; a minus sign is an
 * error (strtoul would wrap it). MOT_OK or MOT_EINVAL. */
int mot_parse_ulong(const char *s, unsigned long *out);

/* A finite double (strtod syntax). Overflow, and underflow all the way to
 * zero, are errors. MOT_OK or MOT_EINVAL. */
int mot_parse_double(const char *s, double *out);

/* true/false, yes/no, on/off, 1/0 (lower case) into 1/0. MOT_OK or
 * MOT_EINVAL. */
int mot_parse_bool(const char *s, int *out);

/* A comma-separated list of finite doubles ("1, 2.5,3"); an empty or
 * all-blank string is the empty list. Writes at most `max` values to `out`
 * and their count to *n. Empty items ("1,,2", "1,") and more than `max`
 * items are errors. MOT_OK or MOT_EINVAL; on error `out` may be partly
 * written and *n is untouched. */
int mot_parse_double_list(const char *s, double *out, int max, int *n);

/* Writes s[0..n) for a one-line message into buf: at most its first 80
 * characters, control characters (newline, carriage return, escape) as
 * \xNN, then "..." if there is more. Returns buf. */
#define MOT_PARSE_SHOWN_CAP (80 * 4 + 4)
const char *mot_parse_shown(const char *s, size_t n, char buf[MOT_PARSE_SHOWN_CAP]);

#endif
