/* config_ini.c: a configuration from an INI file (see config.h,
 * mot_config_load), read with libinih. Each `key = value` of a known
 * section goes through config.c's setter (config_table.h), so INI and JSON
 * values meet the same checks; this file adds what only a file has: line
 * numbers in messages, sections, keys set twice, lines too long, and the
 * [sweep] section left to sweep.c. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config_table.h"
#include "status.h"

typedef struct {
    mot_config *c;
    const char *path;
    FILE *fp;
    int line;               /* lines read so far: the one being parsed */
    int failed;             /* line of the error recorded, 0 if none */
    int *set_on;            /* (config_nkeys) line where each key was set, 0 if not yet */
} ini_state;

/* Puts "config FILE line K: " before the recorded message, marks the parse
 * failed and returns 0 (what an inih handler returns on error). */
static int fail_here(ini_state *st)
{
    char reason[512];
    snprintf(reason, sizeof reason, "%s", mot_status_message());
    st->failed = st->line;
    MOT_ERROR(MOT_EINVAL, "config %s line %d: %s", st->path, st->line, reason);
    return 0;
}

/* inih's fgets-like reader. Counting lines here gives the handler the line
 * number inih itself keeps. It also ends the parse at the first error (by
 * returning NULL), rejects lines too long for inih's buffer (which would
 * otherwise be split silently) and unknown section headers, and removes
 * indentation, which inih would read as the continuation of a value. */
static char *read_line(char *buf, int size, void *stream)
{
    ini_state *st = stream;
    if (st->failed || !fgets(buf, size, st->fp))
        return NULL;
    st->line++;
    size_t n = strlen(buf);
    if (n + 1 == (size_t)size && buf[n - 1] != '\n') {
        int next = getc(st->fp);
        if (next != EOF) {
            MOT_ERROR(MOT_EINVAL, "line longer than %d characters", size - 3);
            fail_here(st);
            return NULL;
        }
    }
    size_t indent = 0;
    while (buf[indent] != '\n' && isspace((unsigned char)buf[indent]))
        indent++;
    memmove(buf, buf + indent, n - indent + 1);
    char *close = buf[0] == '[' ? strchr(buf, ']') : NULL;
    /* [sweep] belongs to mot sweep (sweep.c reads it in its own pass). */
    int sweep = close && close - buf - 1 == 5 && strncmp(buf + 1, "sweep", 5) == 0;
    if (close && !sweep && !config_is_section(buf + 1, (size_t)(close - buf - 1))) {
        char text[SHOWN_CAP];
        MOT_ERROR(MOT_EINVAL, "unknown section [%s]", config_shown(buf + 1, (size_t)(close - buf - 1), text));
        fail_here(st);
        return NULL;
    }
    return buf;
}

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
    ini_state *st = user;
    if (strcmp(section, "sweep") == 0)
        return 1;
    const key_info *k = config_find_key(name);
    if (!k) {
        char buf[SHOWN_CAP];
        MOT_ERROR(MOT_EINVAL, "unknown key \"%s\"", config_shown(name, strlen(name), buf));
        return fail_here(st);
    }
    if (section[0] == '\0') {
        MOT_ERROR(MOT_EINVAL, "key \"%s\" must come after a section header ([%s])", name, k->section);
        return fail_here(st);
    }
    if (strcmp(section, k->section) != 0) {
        config_wrong_section(k, section, strlen(section));
        return fail_here(st);
    }
    size_t i = (size_t)(k - config_keys);
    if (st->set_on[i]) {
        MOT_ERROR(MOT_EINVAL, "key \"%s\" is set twice (lines %d and %d)", name, st->set_on[i], st->line);
        return fail_here(st);
    }
    st->set_on[i] = st->line;
    if (config_set_entry(st->c, k, value) != MOT_OK)
        return fail_here(st);
    return 1;
}

int mot_config_load(mot_config *c, const char *path)
{
    mot_config tmp;
    memcpy(&tmp, c, sizeof tmp);
    ini_state st = {.c = &tmp, .path = path};
    st.set_on = calloc(config_nkeys, sizeof *st.set_on);
    if (!st.set_on)
        return MOT_ERROR(MOT_ENOMEM, "config %s: out of memory", path);
    st.fp = fopen(path, "r");
    if (!st.fp) {
        free(st.set_on);
        return MOT_ERROR(MOT_EIO, "config %s: cannot open: %s", path, strerror(errno));
    }
    int rc = ini_parse_stream(read_line, &st, on_ini_pair, &st);
    int read_error = ferror(st.fp);
    fclose(st.fp);
    free(st.set_on);
    /* inih reports lines it cannot parse only through rc, after the fact:
     * such a line before the one that failed is the first error. */
    if (rc > 0 && (!st.failed || rc < st.failed))
        return MOT_ERROR(MOT_EINVAL, "config %s line %d: expected [section], key = value, or a comment", path, rc);
    if (st.failed)
        return MOT_EINVAL;
    if (read_error)
        return MOT_ERROR(MOT_EIO, "config %s: read error", path);
    if (rc != 0)
        return MOT_ERROR(MOT_ENOMEM, "config %s: out of memory", path);
    memcpy(c, &tmp, sizeof tmp);
    return MOT_OK;
}
