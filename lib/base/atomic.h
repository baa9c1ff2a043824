/* atomic: crash-safe file output.
 *
 * Owns: the rule of SPEC §4 that every file appears whole or not at all. A file
 * is written to "<path>.tmp.<pid>" in the same directory, flushed, fsync'd, then
 * renamed over the target, and the directory is fsync'd so the rename survives
 * power loss. Append-only logs (events.jsonl, metrics.jsonl, stdout.log) are
 * written with one write(2) per record under O_APPEND, so a crash can only cut
 * the last line, which readers skip.
 * Does not own: what goes in the files, or directory layout. */
#ifndef DD_ATOMIC_H
#define DD_ATOMIC_H
#include <stdio.h>
#include "util.h"

typedef struct {
    FILE* f;              /* write through this */
    char  path[4096];     /* final name */
    char  tmp[4200];      /* temporary name beside it */
} AtomicFile;

int  atomic_open(AtomicFile* a, const char* path, char err[ERR_LEN]);
int  atomic_commit(AtomicFile* a, char err[ERR_LEN]);   /* flush, fsync, rename, fsync dir */
void atomic_abort(AtomicFile* a);                       /* remove the temporary; target untouched */

int  atomic_write(const char* path, const void* buf, size_t len, char err[ERR_LEN]);
int  append_record(const char* path, const char* line, char err[ERR_LEN]); /* adds '\n' */
int  fsync_dir(const char* dir);
/* Atomically point symlink `link` at `target` (relative target recommended). */
int  symlink_swap(const char* target, const char* link, char err[ERR_LEN]);

#endif
