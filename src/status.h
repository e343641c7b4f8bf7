/* status.h: the status codes every libmot function returns, and the one
 * place errors are reported. The library never prints to stdout and never
 * exits: it records the reason of the last failure (mot_status_message) and
 * returns a code; only the `mot` program decides what the user sees. */
#ifndef MOT_STATUS_H
#define MOT_STATUS_H

typedef enum {
    MOT_OK = 0,        /* success */
    MOT_EINVAL = 1,    /* bad user input: config key, value, file contents */
    MOT_ENOMEM = 2,    /* an allocation failed */
    MOT_EIO = 3,       /* a file could not be read or written */
    MOT_EDIVERGED = 4, /* training produced a non-finite loss or parameter */
    MOT_ENUMERIC = 5,  /* a numerical routine (GSL, MPFR) failed */
    MOT_EFAILED = 6    /* a check ran and its claim does not hold */
} mot_status;

/* Records the reason of a failure (printf-style) and returns `code`, so
 * `return MOT_ERROR(MOT_EINVAL, "eta must be > 0 (got %g)", x);` both reports
 * and propagates. The message is kept in a thread-local buffer until the next
 * error. */
#define MOT_ERROR(code, ...) mot_status_set((code), __FILE__, __LINE__, __VA_ARGS__)

int mot_status_set(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The message of the last error, without file and line ("" if none). */
const char *mot_status_message(void);

/* Where the last error was raised, "file:line" (for debugging). */
const char *mot_status_where(void);

/* Clears the recorded error. */
void mot_status_clear(void);

#endif
