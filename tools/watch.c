/* watch: live progress of one run, or a table of every run under a root. */
#include "config.h"
#include "specs.h"
#include "json.h"
#include "runstat.h"
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int terminal(const char* st) {
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
static void sparkline(const char* dir, char* out, size_t cap) {
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

static void line_for(const char* dir, const RunStat* s, char* out, size_t cap, int table) {
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

static void collect(const char* dir, int depth, char (*found)[4096], int* n, int cap) {
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
        if (path_join(p, sizeof p, dir, names[i], err) == 0 && is_dir(p)) collect(p, depth - 1, found, n, cap);
    }
}

static int table(const WatchArgs* a) {
    static char found[1024][4096];
    int n = 0;
    if (!is_dir(a->root)) die(EXIT_BADINPUT, "%s: no such directory", a->root);
    collect(a->root, 6, found, &n, 1024);
    printf("%-44s %-16s %-10s %7s %19s %8s %8s %s\n", "run", "phase", "status", "progress", "step", "eta", "age", "last");
    for (int i = 0; i < n; i++) {
        RunStat s;
        runstat_load(&s, found[i], a->stale_sec);
        char line[1024];
        line_for(found[i], &s, line, sizeof line, 1);
        printf("%s\n", line);
        runstat_free(&s);
    }
    if (n == 0) printf("(no runs under %s)\n", a->root);
    if (!a->costs) return 0;
    /* Time and cost per tool, from every run's record (durations summed over resumes). */
    char tools[64][64];
    double sec[64] = {0}, usd[64] = {0};
    int runs[64] = {0}, nt = 0;
    double all_s = 0, all_u = 0;
    for (int i = 0; i < n; i++) {
        char p[4200], err[ERR_LEN];
        json_t* r = path_join(p, sizeof p, found[i], "run_record.json", err) == 0 && path_exists(p) ? json_load_path(p, err) : NULL;
        if (!r) continue;
        const char* tool = jget_str(r, "tool", "?");
        int k = 0;
        while (k < nt && strcmp(tools[k], tool)) k++;
        if (k == nt && nt < 64) snprintf(tools[nt++], 64, "%s", tool);
        if (k < 64) {
            double d = jget_num(r, "duration_sec", 0), u = jget_num(json_object_get(r, "cost"), "estimate_usd", 0);
            sec[k] += d; usd[k] += u; runs[k]++; all_s += d; all_u += u;
        }
        json_decref(r);
    }
    printf("\n%-20s %6s %12s %12s\n", "tool", "runs", "time", "cost ($)");
    for (int k = 0; k < nt; k++) {
        char t[32];
        fmt_duration(t, sizeof t, sec[k]);
        printf("%-20s %6d %12s %12.4f\n", tools[k], runs[k], t, usd[k]);
    }
    char t[32];
    fmt_duration(t, sizeof t, all_s);
    printf("%-20s %6d %12s %12.4f\n", "total", n, t, all_u);
    return 0;
}

int main(int argc, char** argv) {
    /* --follow / --stop_on_terminal are switches: accept them bare. */
    char* av[256];
    int ac = 0;
    for (int i = 0; i < argc && ac < 250; i++) {
        av[ac++] = argv[i];
        int sw = !strcmp(argv[i], "--follow") || !strcmp(argv[i], "--stop_on_terminal");
        if (sw && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) av[ac++] = "1";
    }
    WatchArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&WATCH_SPEC, ac, av, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    const char* dir = c.run_dir;
    if (*a.root) {
        do {
            if (a.watch > 0) printf("\033[H\033[J");
            table(&a);
            fflush(stdout);
            if (a.watch > 0) usleep((useconds_t)(a.watch * 1e6));
        } while (a.watch > 0);
        return 0;
    }
    if (!dir || !*dir) die(EXIT_BADINPUT, "give --run_dir DIR or --root DIR (see --help)");
    double t0 = now_wall();
    /* --follow waits for a run that has not started yet (--wait seconds). */
    while (a.follow && !is_dir(dir) && now_wall() - t0 < a.wait) usleep((useconds_t)(a.interval * 1e6));
    if (!is_dir(dir)) die(EXIT_BADINPUT, "%s: no such run directory%s", dir, a.follow ? " (waited --wait seconds)" : "");
    int tty = isatty(1);
    for (;;) {
        RunStat s;
        char line[1024];
        if (runstat_load(&s, dir, a.stale_sec) != 0) snprintf(line, sizeof line, "%s: no heartbeat yet", dir);
        else line_for(dir, &s, line, sizeof line, 0);
        if (tty && a.follow) printf("\r\033[K%s", line);
        else printf("%s\n", line);
        if (!a.follow) {
            char sp[512];
            sparkline(dir, sp, sizeof sp);
            if (*sp) printf("%s\n", sp);
        }
        fflush(stdout);
        /* A terminal heartbeat written before this watch began is an earlier run's: the
         * same command may be restarting it. It counts only once --wait has passed. */
        int done = terminal(s.status) && (s.age_sec <= now_wall() - t0 + 1 || now_wall() - t0 >= a.wait);
        runstat_free(&s);
        if (!a.follow || (a.stop_on_terminal && done)) break;
        usleep((useconds_t)(a.interval * 1e6));
    }
    if (tty && a.follow) printf("\n");
    return 0;
}
