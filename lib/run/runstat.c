/* runstat: see runstat.h. */
#include "runstat.h"
#include "json.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double parse_iso(const char* s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
    return (double)timegm(&tm);
}

int runstat_load(RunStat* s, const char* run_dir, double stale_sec) {
    char p[4200], err[ERR_LEN];
    memset(s, 0, sizeof *s);
    snprintf(s->status, sizeof s->status, "none");
    /* a heartbeat path that does not fit is longer than the system allows: there is none */
    if (path_join(p, sizeof p, run_dir, "_run_tracker/heartbeat.json", err) || !path_exists(p)) return -1;
    s->hb = json_load_path(p, err);
    if (!s->hb) return -1;
    snprintf(s->status, sizeof s->status, "%s", jget_str(s->hb, "status", "unknown"));
    s->age_sec = now_wall() - parse_iso(jget_str(s->hb, "updated_at", NULL));
    if (!strcmp(s->status, "running") && s->age_sec > stale_sec) {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        int pid = (int)jget_int(s->hb, "pid", 0);
        int same_host = !strcmp(host, jget_str(s->hb, "host", ""));
        int alive = pid > 0 && same_host && (kill(pid, 0) == 0 || errno == EPERM);
        if (!alive) snprintf(s->status, sizeof s->status, "crashed");
    }
    return 0;
}

void runstat_free(RunStat* s) { json_decref(s->hb); s->hb = NULL; }

void fmt_duration(char* out, size_t cap, double sec) {
    if (!(sec >= 0) || sec > 1e9) { snprintf(out, cap, "--"); return; }
    long s = (long)(sec + 0.5);
    if (s >= 3600) snprintf(out, cap, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60) snprintf(out, cap, "%ldm%02lds", s / 60, s % 60);
    else snprintf(out, cap, "%lds", s);
}
