/* runstat: reading a run's state back from its tracker files.
 * Owns: loading heartbeat.json and deciding the displayed status (a heartbeat
 * that says `running` but whose pid is gone and which is stale is `crashed`),
 * formatting durations; finding the run dirs under a root; the one-line views of a run
 * that watch prints (progress line, table row, live numbers, a sparkline of the loss).
 * Used by watch and check-artifacts.
 * Does not own: writing those files (track). */
#ifndef DD_RUNSTAT_H
#define DD_RUNSTAT_H
#include <jansson.h>
#include <stddef.h>

typedef struct {
    json_t* hb;            /* heartbeat object, NULL when the run has none */
    char    status[16];    /* heartbeat status, or crashed, or none */
    double  age_sec;       /* seconds since updated_at */
} RunStat;

int  runstat_load(RunStat* s, const char* run_dir, double stale_sec);   /* 0 if a heartbeat exists */
void runstat_free(RunStat* s);
void fmt_duration(char* out, size_t cap, double sec);                   /* 1h02m, 3m05s, 42s, -- */
/* completed, failed, paused, gated or crashed: the run will not move by itself. */
int  runstat_terminal(const char* status);
/* The run dirs (those with _run_tracker/heartbeat.json) at dir and up to depth levels
 * below it, names sorted, into found[*n..cap). */
void runstat_find(const char* dir, int depth, char (*found)[4096], int* n, int cap);
/* One line for a run: a table row (table) or a progress line with a bar, the rate, the
 * ETA, the heartbeat's age and the live numbers ("loss 2.345 val 2.401 12,345 tok/s"). */
void runstat_line(const char* dir, const RunStat* s, char* out, size_t cap, int table);
/* "loss ▇▅▄▃▂▂▁ 2.131": the last 40 values of metrics.jsonl's loss (pretrain) or kl
 * (sdft), scaled from their min to their max; "" when there are fewer than 2. */
void runstat_sparkline(const char* dir, char* out, size_t cap);

#endif
