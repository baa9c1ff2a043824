/* sdftdata: the SDFT demonstration file (data/sdft/<name>.jsonl, SPEC §5).
 *
 * One JSON object per line, built by build-sdft from a discovery suite's results:
 *   {"task_id": str, "family": str, "prompt": str (the task prompt, ending " :"),
 *    "demonstration": str (the discovered solution), "reward": number in [0, 1],
 *    "source_run": str (the suite root it came from)}
 * Owns: the Demo record, a strict loader and an atomic writer.
 * Does not own: which demos to keep (build-sdft), how they are used (sdft).
 * Library code: never prints, never exits; errors return -1 and fill err. */
#ifndef DD_SDFTDATA_H
#define DD_SDFTDATA_H
#include "util.h"

typedef struct {
    char*  task_id;
    char*  family;          /* a task family name (lib/data/tasks.h) */
    char*  prompt;
    char*  demonstration;   /* may be "" (an empty best solution) */
    double reward;
    char*  source_run;
} Demo;

/* Strict: invalid JSON, an empty line, a missing, unknown or wrong-typed key, an
 * unknown family, a reward outside [0, 1] or a duplicate task_id -> -1 and
 * "path:line: why". Returns the count (0 for an empty file, *out = NULL);
 * *out is malloc'd; free it with sdft_demos_free. */
long sdft_demos_load(const char* path, Demo** out, char err[ERR_LEN]);
/* Writes n demos (n may be 0: an empty file) atomically, one compact line each. */
int  sdft_demos_write(const char* path, const Demo* demos, long n, char err[ERR_LEN]);
void sdft_demos_free(Demo* demos, long n);

#endif
