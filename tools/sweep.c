/* sweep: hyper-parameter search over any tool, with parallel workers sharing an
 * Optuna-compatible journal (lib/sweep/sweep.h; docs/sweeps.md). */
#include "atomic.h"
#include "specs.h"
#include "config.h"
#include "json.h"
#include "sweep.h"
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t g_signal;
static void on_signal(int s) { g_signal = s; }

static int control_file(const char* root, const char* name) {
    char p[4300], err[ERR_LEN];
    return path_fmt(p, sizeof p, err, "%s/control/%s", root, name) == 0 && path_exists(p);   /* too long: none */
}

/* Runs the tool for one trial; returns its exit code (75 when paused). */
static int run_tool(const SweepConfig* sc, const char* bin_dir, const char* root, Journal* j, int trial, double* value, int* paused_out) {
    char dir[4200], err[ERR_LEN], tool[4300], log[4300];
    if (sweep_trial_dir(dir, sizeof dir, root, trial, err) || path_join(tool, sizeof tool, bin_dir, sc->tool, err) ||
        path_join(log, sizeof log, dir, "sweep_tool.log", err))
        die(EXIT_BADINPUT, "%s", err);
    Study s;
    if (journal_replay(j->path, sc, &s, err)) die(EXIT_FAIL, "%s", err);
    TrialArgs* ta = malloc_check(sizeof *ta);
    sweep_trial_args(ta, sc, &s, trial, tool, dir);
    study_free(&s);
    printf("sweep: trial %d:%s\n", trial, ta->shown);
    fflush(stdout);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) die(EXIT_FAIL, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* The tool dies with its worker, so a dead worker never leaves a live trial. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        FILE* f = freopen(log, "a", stdout);
        if (f) dup2(fileno(stdout), 2);
        execv(tool, ta->argv);
        _exit(127);
    }
    int status = 0, pause_sent = 0;
    double last_claim = now_mono();
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) die(EXIT_FAIL, "waitpid: %s", strerror(errno));
        if (!pause_sent && (control_file(root, "pause.request") || g_signal)) {
            char cd[4300], cp[4400];
            if (path_join(cd, sizeof cd, dir, "control", err) || path_join(cp, sizeof cp, cd, "pause.request", err))
                die(EXIT_BADINPUT, "%s", err);
            if (mkdir_p(cd, err) == 0 && atomic_write(cp, "", 0, err) == 0) pause_sent = 1;
            printf("sweep: trial %d: pause requested\n", trial);
        }
        if (now_mono() - last_claim > 1.0) {      /* liveness for workers on other hosts */
            sweep_claim_write(root, trial, j->worker_id, "running", err);
            last_claim = now_mono();
        }
        usleep(100000);
    }
    free(ta);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    *paused_out = rc == EXIT_PAUSED;
    if (rc == 0 && sweep_read_objective(sc, dir, value, err)) {
        fprintf(stderr, "sweep: trial %d: %s\n", trial, err);
        rc = EXIT_FAIL;
    }
    return rc;
}

static int worker(const SweepConfig* sc, const char* bin_dir, const char* root, int resume, int id) {
    Journal j;
    char err[ERR_LEN];
    if (journal_open(&j, root, err)) die(EXIT_FAIL, "%s", err);
    int paused = 0;
    for (;;) {
        if (control_file(root, "stop.request")) { printf("sweep: worker %d: stop requested\n", id); break; }
        if (control_file(root, "pause.request") || g_signal) { paused = 1; break; }
        Next nx;
        if (journal_lock(&j, err)) die(EXIT_FAIL, "%s", err);
        int rc = sweep_next(&j, sc, root, resume, &nx, err);
        journal_unlock(&j);
        if (rc) die(EXIT_FAIL, "%s", err);
        if (nx.kind == NEXT_DONE) break;
        if (nx.kind == NEXT_WAIT) { usleep(300000); continue; }
        double t0 = now_mono(), v = 0;
        int was_paused = 0;
        int trc = run_tool(sc, bin_dir, root, &j, nx.trial, &v, &was_paused);
        if (was_paused) {
            sweep_claim_write(root, nx.trial, j.worker_id, "paused", err);
            printf("sweep: trial %d: paused (continue with --resume)\n", nx.trial);
            paused = 1;
            break;
        }
        int state = trc == 0 ? TRIAL_COMPLETE : trc == EXIT_GATED ? TRIAL_PRUNED : TRIAL_FAIL;
        if (sweep_finish(&j, sc, nx.trial, state, state == TRIAL_COMPLETE ? &v : NULL, err)) die(EXIT_FAIL, "%s", err);
        if (state == TRIAL_COMPLETE)
            printf("sweep: trial %d: COMPLETE %s = %.6g (%.1fs)\n", nx.trial, sc->objective, v, now_mono() - t0);
        else
            printf("sweep: trial %d: %s (exit %d; see %s/trials/trial_%04d/sweep_tool.log)\n", nx.trial, trial_state_name(state),
                   trc, root, nx.trial);
        fflush(stdout);
    }
    journal_close(&j);
    return paused ? EXIT_PAUSED : 0;
}

int main(int argc, char** argv) {
    set_progname(argv[0]);
    int resume = 0, validate = 0, report = 0, n = 0;
    char** rest = malloc_check(sizeof(char*) * (argc + 1));
    for (int i = 0; i < argc; i++) {   /* bare mode flags; the rest is cfg_cli's */
        if (i && !strcmp(argv[i], "--resume")) resume = 1;
        else if (i && !strcmp(argv[i], "--validate")) validate = 1;
        else if (i && !strcmp(argv[i], "--report")) report = 1;
        else rest[n++] = argv[i];
    }
    rest[n] = NULL;
    SweepArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&SWEEP_SPEC, n, rest, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    char bin_dir[4096], exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    if (path_dirname(bin_dir, sizeof bin_dir, el > 0 ? exe : argv[0], err)) die(EXIT_BADINPUT, "%s", err);

    SweepConfig sc;
    char copy[4200] = "";
    if (*a.out_root && path_join(copy, sizeof copy, a.out_root, "sweep.yaml", err)) die(EXIT_BADINPUT, "--out_root: %s", err);
    if (report) {
        if (!*a.out_root) die(EXIT_BADINPUT, "--report needs --out_root");
        const char* cfg = *a.sweep_config ? a.sweep_config : copy;
        if (sweep_config_load(&sc, cfg, err)) die(EXIT_BADINPUT, "%s", err);
        if (sweep_report(&sc, a.out_root, a.top_k, stdout, err)) die(EXIT_BADINPUT, "%s", err);
        return 0;
    }
    if (!*a.sweep_config) die(EXIT_BADINPUT, "--sweep_config is required (see --help)");
    if (sweep_config_load(&sc, a.sweep_config, err) || sweep_config_check_paths(&sc, bin_dir, err)) die(EXIT_BADINPUT, "%s", err);
    if (validate) {
        long g = sweep_grid_size(&sc);
        printf("sweep: %s is valid: %s over %d params, sampler %s, %ld trials%s\n", a.sweep_config, sc.tool, sc.np, sc.sampler,
               !strcmp(sc.sampler, "grid") && g < sc.n_trials ? g : sc.n_trials, !strcmp(sc.sampler, "grid") ? " (grid)" : "");
        return 0;
    }
    if (!*a.out_root) die(EXIT_BADINPUT, "--out_root is required (see --help)");
    char jp[4200], p[4300];
    if (path_join(jp, sizeof jp, a.out_root, "journal.log", err) || path_fmt(p, sizeof p, err, "%s/control/pause.request", a.out_root))
        die(EXIT_BADINPUT, "--out_root: %s", err);   /* the longest path under it this tool makes */
    if (path_exists(jp) && !resume) die(EXIT_BADINPUT, "%s exists: continue that sweep with --resume, or use a new --out_root", jp);
    if (mkdir_p(a.out_root, err)) die(EXIT_FAIL, "%s", err);
    internal_check(path_join(p, sizeof p, a.out_root, "control", err) == 0, "%s", err);   /* shorter than the check above */
    if (mkdir_p(p, err)) die(EXIT_FAIL, "%s", err);
    if (resume)   /* a resume is the answer to an earlier stop or pause */
        for (int i = 0; i < 2; i++) {
            internal_check(path_fmt(p, sizeof p, err, "%s/control/%s", a.out_root, i ? "pause.request" : "stop.request") == 0, "%s", err);
            if (path_exists(p) && unlink(p) == 0) printf("sweep: --resume: removed %s\n", p);
        }
    {   /* the report and other hosts read the config from the sweep dir */
        size_t len;
        char* buf = read_file(a.sweep_config, &len, err);
        if (!buf || atomic_write(copy, buf, len, err)) die(EXIT_FAIL, "%s", err);
        free(buf);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("sweep: %s: %s, sampler %s, %ld trials, %ld worker(s), journal %s\n", sc.name, sc.tool, sc.sampler, sc.n_trials,
           a.workers, jp);
    fflush(stdout);
    int rc = 0;
    if (a.workers == 1) rc = worker(&sc, bin_dir, a.out_root, resume, 1);
    else {
        pid_t* pids = calloc_check(a.workers, sizeof(pid_t));
        for (long w = 0; w < a.workers; w++) {
            pids[w] = fork();
            if (pids[w] < 0) die(EXIT_FAIL, "fork: %s", strerror(errno));
            if (pids[w] == 0) { fflush(stdout); _exit(worker(&sc, bin_dir, a.out_root, resume, (int)w + 1)); }
            usleep(50000);   /* staggered: the first creates the study */
        }
        for (long w = 0; w < a.workers; w++) {
            int st;
            while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {}
            int wrc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
            if (wrc == EXIT_PAUSED && rc == 0) rc = EXIT_PAUSED;
            else if (wrc && wrc != EXIT_PAUSED) rc = EXIT_FAIL;
        }
        free(pids);
    }
    if (rc == 0) {
        printf("sweep: done; summary: bin/sweep --report --out_root %s\n", a.out_root);
        sweep_report(&sc, a.out_root, 0, stdout, err);
    } else if (rc == EXIT_PAUSED) printf("sweep: paused; continue with --resume\n");
    sweep_config_free(&sc);
    return rc;
}
