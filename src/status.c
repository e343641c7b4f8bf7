/* status.c: the single reporting point for libmot errors (see status.h).
 * Set a breakpoint on mot_status_set to stop at any failure. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char message[512];
static _Thread_local char where[128];

int mot_status_set(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "%s:%d", file, line);
    return code;
}

const char *mot_status_message(void) { return message; }

const char *mot_status_where(void) { return where; }

void mot_status_clear(void)
{
    message[0] = '\0';
    where[0] = '\0';
}
