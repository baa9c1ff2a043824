/* runstat: reading a run's state back from its tracker files.
 * Owns: loading heartbeat.json and deciding the displayed status (a heartbeat
 * that says `running` but whose pid is gone and which is stale is `crashed`),
 * and formatting durations. Used by watch and check-artifacts.
 * Does not own: writing those files (track). */
#ifndef DD_RUNSTAT_H
#define DD_RUNSTAT_H
#include <jansson.h>

typedef struct {
    json_t* hb;            /* heartbeat object, NULL when the run has none */
    char    status[16];    /* heartbeat status, or crashed, or none */
    double  age_sec;       /* seconds since updated_at */
} RunStat;

int  runstat_load(RunStat* s, const char* run_dir, double stale_sec);   /* 0 if a heartbeat exists */
void runstat_free(RunStat* s);
void fmt_duration(char* out, size_t cap, double sec);                   /* 1h02m, 3m05s, 42s, -- */

#endif
