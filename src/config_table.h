/* config_table.h: the key table of config.c as config.c and config_json.c
 * share it: the description of a key, the table itself, and the helpers
 * that look a key up, store a value given as text (the only path by which
 * text becomes a value) and word the error messages. Private to libmot and
 * not installed (config.h is the API); the names have no mot_ prefix, so
 * the library does not export them. The table's lines are in config.c. */
#ifndef MOT_CONFIG_TABLE_H
#define MOT_CONFIG_TABLE_H

#include <limits.h>
#include <stddef.h>

#include "config.h"
#include "parse.h"

typedef enum { KEY_INT, KEY_REAL, KEY_BOOL, KEY_ENUM, KEY_LIST, KEY_ULONG } key_type;

enum { LO_OPEN = 1, HI_OPEN = 2 };

typedef struct {
    const char *section;
    const char *name;           /* also the field's name */
    key_type type;
    size_t offset;              /* of the field in mot_config */
    const char *def;            /* default, as text: parsed by the setter */
    double min, max;            /* KEY_INT, KEY_REAL; KEY_LIST: entries >= min */
    int open;                   /* KEY_REAL: LO_OPEN, HI_OPEN bits */
    const char *const *names;   /* KEY_ENUM: names in enum order, NULL-ended */
    size_t count_offset;        /* KEY_LIST: the int field holding the length */
    const char *meaning;
} key_info;

/* Seeds go to JSON as integers, which jansson holds in a long long. */
#if ULONG_MAX > LLONG_MAX
#define SEED_MAX ((unsigned long)LLONG_MAX)
#else
#define SEED_MAX ULONG_MAX
#endif

/* The table, one entry per key, and its length. */
extern const key_info config_keys[];
extern const size_t config_nkeys;

/* Text from the input for a one-line message: its first n characters up to
 * 80, control characters (a newline, a carriage return, an escape
 * sequence) written as \xNN, then "..." if there is more. Returns buf. */
#define SHOWN_CAP MOT_PARSE_SHOWN_CAP
const char *config_shown(const char *s, size_t n, char buf[SHOWN_CAP]);

/* Is s[0..n) the name of a section? */
int config_is_section(const char *s, size_t n);
/* The key named `name` (bare, no section), or NULL. */
const key_info *config_find_key(const char *name);
/* The number of names of an enum key. */
int config_count_names(const key_info *k);

/* Parses `text` as the value of `k` and stores it; on error `c` is
 * unchanged and the status is recorded. */
int config_set_entry(mot_config *c, const key_info *k, const char *text);
/* Records "<key> must be <what it must be> (got <got>)", returns MOT_EINVAL.
 * `got` is cut to a readable length; `quote` puts it in double quotes. */
int config_reject(const key_info *k, const char *got, int quote);
/* Records that key k was given in section[0..n), returns MOT_EINVAL. */
int config_wrong_section(const key_info *k, const char *section, size_t n);

#endif
