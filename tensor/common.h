/* common.h: error reporting shared by every layer of nicex.
 *
 * Two kinds of failure, as DESIGN.md says:
 *  - programming errors (a shape mismatch inside an op, a CUDA op in a
 *    CPU-only build) stop the program at once with file:line and a message:
 *    NX_CHECK(cond, fmt, ...) and nx_fatal(fmt, ...).
 *  - errors caused by user input (a corrupt file, a bad flag) are returned:
 *    the function returns -1 (or NULL) after nx_error_set(fmt, ...); the
 *    caller prints nx_error_msg(), one line naming the file and the problem.
 */
#ifndef NX_COMMON_H
#define NX_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define NX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define NX_NORETURN __attribute__((noreturn))
#else
#define NX_PRINTF(a, b)
#define NX_NORETURN
#endif

NX_NORETURN NX_PRINTF(3, 4) void nx_fatal_at(const char *file, int line, const char *fmt, ...);
#define nx_fatal(...) nx_fatal_at(__FILE__, __LINE__, __VA_ARGS__)
#define NX_CHECK(cond, ...)                                  \
    do {                                                     \
        if (!(cond)) nx_fatal_at(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* User-facing errors: set the message, return -1 / NULL to the caller. */
NX_PRINTF(1, 2) void nx_error_set(const char *fmt, ...);
const char *nx_error_msg(void);

/* malloc / calloc that never return NULL (out of host memory is fatal). */
void *nx_malloc(size_t bytes);
void *nx_calloc(size_t n, size_t size);
void *nx_realloc(void *p, size_t bytes);

#endif
