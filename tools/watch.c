/* watch: live progress of one run, or a table of every run under a root. */
#include "config.h"
#include "specs.h"
#include "json.h"
#include "runstat.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int table(const WatchArgs* a) {
    static char found[1024][4096];
    int n = 0;
    if (!is_dir(a->root)) die(EXIT_BADINPUT, "%s: no such directory", a->root);
    runstat_find(a->root, 6, found, &n, 1024);
    printf("%-44s %-16s %-10s %7s %19s %8s %8s %s\n", "run", "phase", "status", "progress", "step", "eta", "age", "last");
    for (int i = 0; i < n; i++) {
        RunStat s;
        runstat_load(&s, found[i], a->stale_sec);
        char line[1024];
        runstat_line(found[i], &s, line, sizeof line, 1);
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
        else runstat_line(dir, &s, line, sizeof line, 0);
        if (tty && a.follow) printf("\r\033[K%s", line);
        else printf("%s\n", line);
        if (!a.follow) {
            char sp[512];
            runstat_sparkline(dir, sp, sizeof sp);
            if (*sp) printf("%s\n", sp);
        }
        fflush(stdout);
        /* A terminal heartbeat written before this watch began is an earlier run's: the
         * same command may be restarting it. It counts only once --wait has passed. */
        int done = runstat_terminal(s.status) && (s.age_sec <= now_wall() - t0 + 1 || now_wall() - t0 >= a.wait);
        runstat_free(&s);
        if (!a.follow || (a.stop_on_terminal && done)) break;
        usleep((useconds_t)(a.interval * 1e6));
    }
    if (tty && a.follow) printf("\n");
    return 0;
}
