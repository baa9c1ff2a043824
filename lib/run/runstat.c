/* runstat: see runstat.h. */
#include "runstat.h"
#include "json.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
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
        int alive = same_host && pid_alive(pid);
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

int runstat_terminal(const char* st) {
    return !strcmp(st, "completed") || !strcmp(st, "failed") || !strcmp(st, "paused") ||
           !strcmp(st, "gated") || !strcmp(st, "crashed");
}

/* The heartbeat's live numbers, short: "loss 2.345 val 2.401 12,345 tok/s" (pretrain),
 * "step 12 mean 0.031 best 0.600" (ttt), "kl 0.0123 val ppl 24.3 GREEN" (sdft); "" when none. */
static void live_text(const json_t* hb, char* out, size_t cap, int brief) {
    const json_t* lv = json_object_get(hb, "live");
    out[0] = 0;
    if (!json_is_object(lv)) return;
    size_t o = 0;
#define LV(key, fmt) do { const json_t* v_ = json_object_get(lv, key); \
        if (json_is_number(v_) && o < cap) o += snprintf(out + o, cap - o, fmt, o ? " " : "", json_number_value(v_)); } while (0)
    if (brief) {   /* one number for the table: the loss, else the best reward, else the KL */
        LV("loss", "%sloss %.4g");
        if (!o) LV("best_reward", "%sbest %.3f");
        if (!o) LV("kl", "%skl %.4g");
        return;
    }
    LV("loss", "%sloss %.4f");
    LV("val_loss", "%sval %.4f");
    LV("tokens_per_s", "%s%.0f tok/s");
    LV("task_step", "%sstep %.0f");
    LV("mean_reward", "%smean %.3f");
    LV("best_reward", "%sbest %.3f");
    LV("kl", "%skl %.4f");
    LV("val_ppl", "%sval ppl %.3f");
#undef LV
    const char* g = json_string_value(json_object_get(lv, "gate"));
    if (g && o < cap) snprintf(out + o, cap - o, "%s%s", o ? " " : "", g);
}

/* A one-line sparkline of the last values of metrics.jsonl's `loss` (pretrain) or `kl`
 * (sdft): "loss ▇▅▄▃▂▂▁ 2.131" scaled from their min to their max; "" when there are
 * fewer than 2. */
void runstat_sparkline(const char* dir, char* out, size_t cap) {
    static const char* const BAR[8] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    enum { W = 40 };
    char p[4200], line[4096], err[ERR_LEN];
    double v[W];
    int n = 0, total = 0;
    const char* key = NULL;
    out[0] = 0;
    if (path_join(p, sizeof p, dir, "metrics.jsonl", err)) return;   /* too long to exist */
    FILE* f = fopen(p, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        json_t* j = json_loads(line, 0, NULL);   /* a torn last line is skipped */
        if (!j) continue;
        if (!key) key = json_is_number(json_object_get(j, "loss")) ? "loss" : json_is_number(json_object_get(j, "kl")) ? "kl" : NULL;
        json_t* x = key ? json_object_get(j, key) : NULL;
        if (json_is_number(x)) { v[total % W] = json_number_value(x); total++; }
        json_decref(j);
    }
    fclose(f);
    n = total < W ? total : W;
    if (n < 2) return;
    double lo = 1e300, hi = -1e300;
    for (int i = 0; i < n; i++) { lo = v[i] < lo ? v[i] : lo; hi = v[i] > hi ? v[i] : hi; }
    size_t o = (size_t)snprintf(out, cap, "%s ", key);
    for (int i = 0; i < n && o + 4 < cap; i++) {
        double x = v[(total - n + i) % W];
        int k = hi > lo ? (int)((x - lo) / (hi - lo) * 7.999) : 0;
        o += (size_t)snprintf(out + o, cap - o, "%s", BAR[k]);
    }
    if (o < cap) snprintf(out + o, cap - o, " %.4g", v[(total - 1) % W]);
}

void runstat_line(const char* dir, const RunStat* s, char* out, size_t cap, int table) {
    char eta[32], age[32];
    json_t* hb = s->hb;
    double e = jget_num(hb, "eta_sec", -1);
    fmt_duration(eta, sizeof eta, e);
    fmt_duration(age, sizeof age, s->age_sec);
    long step = jget_int(hb, "step", 0), total = jget_int(hb, "total_steps", 0);
    double pct = 100.0 * jget_num(hb, "progress", 0);
    char live[160];
    live_text(hb, live, sizeof live, table);
    if (table)
        snprintf(out, cap, "%-44s %-16s %-10s %6.1f%% %9ld/%-9ld %8s %8s %s", dir, jget_str(hb, "phase", "?"), s->status, pct,
                 step, total, eta, age, live);
    else {
        char bar[31];
        int fill = (int)(pct * 0.3);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        const char* unit = jget_str(hb, "current_unit", "");
        snprintf(out, cap, "%s %s [%s] %5.1f%% %ld/%ld %.2f/s eta %s (heartbeat %s ago)%s%s%s%s", jget_str(hb, "phase", "?"),
                 s->status, bar, pct, step, total, jget_num(hb, "rate", 0), eta, age, *unit ? " " : "", unit, *live ? " | " : "", live);
    }
}

void runstat_find(const char* dir, int depth, char (*found)[4096], int* n, int cap) {
    /* A path that does not fit p is longer than the system allows: nothing is there. */
    char p[4200], err[ERR_LEN];
    if (path_join(p, sizeof p, dir, "_run_tracker/heartbeat.json", err) == 0 && path_exists(p) && *n < cap)
        memcpy(found[(*n)++], dir, strlen(dir) + 1);   /* dir exists: under 4096 bytes */
    if (depth == 0) return;
    DIR* d = opendir(dir);
    if (!d) return;
    struct dirent* e;
    char names[512][256];
    int m = 0;
    while ((e = readdir(d)) && m < 512)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "_run_tracker")) snprintf(names[m++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, m, sizeof names[0], (int (*)(const void*, const void*))strcmp);
    for (int i = 0; i < m; i++) {
        if (path_join(p, sizeof p, dir, names[i], err) == 0 && is_dir(p)) runstat_find(p, depth - 1, found, n, cap);
    }
}
