/* util: process-wide conventions every tool shares.
 *
 * Owns: the exit codes of SPEC §4, the one place a tool dies (with a one-line
 * message on stderr, prefixed by the program name), checked allocation and
 * file wrappers that name the call site, and small path helpers.
 * Library code does not call die(): it returns -1 and fills an `err` buffer of
 * ERR_LEN bytes with one line naming the file and the place; the tool decides the
 * exit code. Two exceptions: the *_check wrappers (running out of memory is not an
 * input error) and internal_check (a broken invariant is a bug, not an input error).
 * Paths are built with path_fmt / path_join / path_dirname, which refuse (never
 * shorten) a path that does not fit its buffer.
 * Does not own: what a tool's exit means for a run (lib/run/track marks it failed through
 * the die hook), writing files atomically (lib/base/atomic), reading config (lib/base/config). */
#ifndef DD_UTIL_H
#define DD_UTIL_H
/* A failure a caller must act on (it is in err): ignoring the result is a warning. */
#define DD_MUST __attribute__((warn_unused_result))
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_BADINPUT = 2, EXIT_GATED = 3, EXIT_PAUSED = 75 };
#define ERR_LEN 512

void        set_progname(const char* argv0);
const char* progname(void);

/* Print "prog: message" to stderr (and to the run log when one is open), exit. */
__attribute__((noreturn, format(printf, 2, 3))) void die(int code, const char* fmt, ...);
/* Registered by the run tracker so die() also lands in logs/stdout.log. */
void util_set_die_hook(void (*hook)(const char* line));

/* Fills err with one line (cut at ERR_LEN - 1 bytes: a message may be shortened, a path
 * never) and returns -1, so a library function can `return errf(err, ...)`. */
__attribute__((format(printf, 2, 3))) int errf(char err[ERR_LEN], const char* fmt, ...);

/* An internal invariant: a programming error, not bad input. When cond is false:
 * "prog: internal error at lib/model.c:275: <message>" (through die, so a run is
 * marked failed), exit 1. Allowed in library code. */
#define internal_check(cond, ...) ((cond) ? (void)0 : internal_fail(__FILE__, __LINE__, __VA_ARGS__))
__attribute__((noreturn, format(printf, 3, 4))) void internal_fail(const char* file, int line, const char* fmt, ...);

void* malloc_check_(size_t n, const char* file, int line);
void* calloc_check_(size_t n, size_t sz, const char* file, int line);
void* realloc_check_(void* p, size_t n, const char* file, int line);
char* strdup_check_(const char* s, const char* file, int line);
#define malloc_check(n)     malloc_check_((n), __FILE__, __LINE__)
#define calloc_check(n, s)  calloc_check_((n), (s), __FILE__, __LINE__)
#define realloc_check(p, n) realloc_check_((p), (n), __FILE__, __LINE__)
#define strdup_check(s)     strdup_check_((s), __FILE__, __LINE__)

/* Read a whole file; returns NULL and fills err (naming the path) on failure.
 * The buffer is NUL-terminated (not counted in *len). */
char* read_file(const char* path, size_t* len, char err[ERR_LEN]);

int   mkdir_p(const char* path, char err[ERR_LEN]);   /* like mkdir -p; 0 or -1 */
int   path_exists(const char* path);
/* Whether name ends in ".tmp.<digits>" or ".old.<digits>": a temporary of lib/base/atomic or
 * lib/run/lifecycle that only a process killed mid-write leaves behind. */
int   is_stale_temp(const char* name);
int   is_dir(const char* path);
/* Checked paths: each returns 0, or -1 with err = "path too long (over N bytes): <its
 * start>..." when the result does not fit in cap bytes. A path is never silently cut. */
__attribute__((format(printf, 4, 5))) int path_fmt(char* out, size_t cap, char err[ERR_LEN], const char* fmt, ...);
int   path_join(char* out, size_t cap, const char* a, const char* b, char err[ERR_LEN]);   /* a/b, one slash */
int   path_dirname(char* out, size_t cap, const char* path, char err[ERR_LEN]);           /* "." when none */
const char* path_basename(const char* path);

/* Worker threads for `threads: 0`, "my share" of the machine: the online cores, divided
 * by Make's job count when a `make -jN` started this process (MAKEFLAGS), and no more than
 * the cores other processes left idle while it slept 40 ms (/proc/stat), at least 1. Results
 * never depend on it (every kernel is deterministic in the thread count). */
int threads_share(void);
/* Whether process pid (on this host) still runs: kill(pid, 0) succeeds or is refused
 * (EPERM: someone else's), and it is not a zombie. A process killed while its parent
 * died too stays a zombie until init reaps it (seconds on some machines); it writes
 * nothing more, so what it left is stale. */
int pid_alive(long pid);

double now_wall(void);          /* seconds since the epoch, sub-second */
double now_mono(void);          /* monotonic seconds */
void   iso_time(char out[32], double t);   /* 2026-11-22T10:26:00Z */

#endif
