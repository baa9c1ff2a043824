/* sweep_report: see sweep_report.h. */
#include "sweep_report.h"
#include "atomic.h"
#include <math.h>
#include <time.h>
#include <string.h>
#include <stdlib.h>

/* ---- report ------------------------------------------------------------ */

static double parse_local(const char* s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char* rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return NAN;
    tm.tm_isdst = -1;
    return (double)mktime(&tm) + (*rest == '.' ? atof(rest) : 0);
}

static const SweepConfig* g_sc;
static const Study* g_s;
static int cmp_value(const void* a, const void* b) {
    double x = g_s->trials[*(const int*)a].value, y = g_s->trials[*(const int*)b].value;
    if (g_sc->maximize) { double t = x; x = y; y = t; }
    return x < y ? -1 : x > y;
}
static const double* g_keys;
static int cmp_key(const void* a, const void* b) {
    double x = g_keys[*(const int*)a], y = g_keys[*(const int*)b];
    return x < y ? -1 : x > y;
}

void sweep_importance(const SweepConfig* sc, const Study* s, double* eta) {
    int n = 0;
    int* idx = malloc_check(sizeof(int) * (s->n + 1));
    for (int i = 0; i < s->n; i++) if (s->trials[i].state == TRIAL_COMPLETE && s->trials[i].has_value) idx[n++] = i;
    double mean = 0, sst = 0;
    for (int k = 0; k < n; k++) mean += s->trials[idx[k]].value;
    mean = n ? mean / n : 0;
    for (int k = 0; k < n; k++) sst += pow(s->trials[idx[k]].value - mean, 2);
    double* keys = malloc_check(sizeof(double) * (s->n + 1));
    int* ord = malloc_check(sizeof(int) * (n + 1));
    int* bin = malloc_check(sizeof(int) * (s->n + 1));
    for (int p = 0; p < sc->np; p++) {
        eta[p] = -1;
        if (n < 2 || sst <= 0) continue;
        for (int k = 0; k < n; k++) { keys[idx[k]] = s->trials[idx[k]].internal[p]; ord[k] = idx[k]; }
        int nb;
        if (sc->params[p].type == PARAM_CAT) {
            nb = (int)json_array_size(sc->params[p].choices);
            for (int k = 0; k < n; k++) bin[idx[k]] = (int)keys[idx[k]];
        } else {
            /* rank bins: equal counts, ties share a bin */
            g_keys = keys;
            qsort(ord, n, sizeof(int), cmp_key);
            nb = n < 4 ? n : 4;
            int b = 0;
            for (int k = 0; k < n; k++) {
                int want = k * nb / n;
                if (want > b && keys[ord[k]] != keys[ord[k - 1]]) b = want;
                bin[ord[k]] = b;
            }
            nb = b + 1;
        }
        double ssb = 0;
        for (int b = 0; b < nb; b++) {
            double sum = 0;
            int c = 0;
            for (int k = 0; k < n; k++) if (bin[idx[k]] == b) { sum += s->trials[idx[k]].value; c++; }
            if (c) ssb += c * pow(sum / c - mean, 2);
        }
        eta[p] = ssb / sst;
    }
    free(keys); free(ord); free(bin); free(idx);
}

static void yaml_scalar(char* out, size_t cap, const json_t* v) {
    /* Flag values are text: plain when YAML reads them back as the same scalar
     * text (numbers stay numbers for the config loader), quoted otherwise. */
    const char* t = json_is_string(v) ? json_string_value(v) : NULL;
    if (t && *t && !strpbrk(t, ":#{}[],&*!|>'\"%@`\n") && !strchr("-? ", t[0]) && t[strlen(t) - 1] != ' ' &&
        strcmp(t, "true") && strcmp(t, "false") && strcmp(t, "null") && strcmp(t, "~")) {
        snprintf(out, cap, "%s", t);
    } else if (json_is_string(v)) {
        char* q = json_dumps(v, JSON_ENCODE_ANY);
        snprintf(out, cap, "%s", q);
        free(q);
    } else if (json_is_real(v)) journal_fmt_real(out, cap, json_real_value(v));
    else if (json_is_integer(v)) snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
}

/* The base config with the tool's section overridden by over: lines of the
 * section whose key is overridden are dropped, the new values go at its end. */
static int write_top(const SweepConfig* sc, const char* path, json_t* over, const char* header, char err[ERR_LEN]) {
    size_t len;
    char* base = read_file(sc->base_config, &len, err);
    if (!base) return -1;
    AtomicFile a;
    if (atomic_open(&a, path, err)) { free(base); return -1; }
    fprintf(a.f, "%s", header);
    int in_sec = 0, seen = 0;
    size_t sl = strlen(sc->section);
    char* save = NULL;
    for (char* line = strtok_r(base, "\n", &save); ; line = strtok_r(NULL, "\n", &save)) {
        int top = line && line[0] && line[0] != ' ' && line[0] != '\t' && line[0] != '#';
        if (in_sec && (!line || top)) {
            const char* k;
            json_t* v;
            char val[1200];
            json_object_foreach(over, k, v) { yaml_scalar(val, sizeof val, v); fprintf(a.f, "  %s: %s\n", k, val); }
            in_sec = 0;
        }
        if (!line) break;
        if (top && !strncmp(line, sc->section, sl) && line[sl] == ':') { in_sec = seen = 1; fprintf(a.f, "%s\n", line); continue; }
        if (in_sec) {
            const char* p = line + strspn(line, " \t");
            size_t kl = strcspn(p, ":");
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(kl < 127 ? kl : 127), p);
            if (p[kl] == ':' && json_object_get(over, key)) continue;
        }
        fprintf(a.f, "%s\n", line);
    }
    if (!seen) {
        fprintf(a.f, "\n%s:\n", sc->section);
        const char* k;
        json_t* v;
        char val[1200];
        json_object_foreach(over, k, v) { yaml_scalar(val, sizeof val, v); fprintf(a.f, "  %s: %s\n", k, val); }
    }
    free(base);
    return atomic_commit(&a, err);
}

int sweep_report(const SweepConfig* sc, const char* root, long top_k, FILE* f, char err[ERR_LEN]) {
    char jp[4200];
    if (path_join(jp, sizeof jp, root, "journal.log", err)) return -1;
    if (!path_exists(jp)) { errf(err, "%s: no journal (is this a sweep's --out_root?)", jp); return -1; }
    Study s;
    if (journal_replay(jp, sc, &s, err)) return -1;
    int cnt[5] = {0};
    for (int i = 0; i < s.n; i++) if (s.trials[i].state >= 0 && s.trials[i].state <= 4) cnt[s.trials[i].state]++;
    fprintf(f, "sweep %s: tool %s, sampler %s, objective %s (%s), journal %s\n", s.name, sc->tool, sc->sampler, sc->objective,
            sc->maximize ? "maximize" : "minimize", jp);
    fprintf(f, "trials: %d  COMPLETE %d  FAIL %d  PRUNED %d  RUNNING %d  WAITING %d\n", s.n, cnt[1], cnt[3], cnt[2], cnt[0], cnt[4]);
    int fin = cnt[1] + cnt[2] + cnt[3];
    fprintf(f, "failure rate: %.1f%% (%d of %d finished trials)\n", fin ? 100.0 * cnt[3] / fin : 0.0, cnt[3], fin);
    /* durations */
    double dsum = 0, dmax = 0, dmin = 1e300;
    int dn = 0;
    for (int i = 0; i < s.n; i++) {
        if (!trial_finished(s.trials[i].state) || !*s.trials[i].start || !*s.trials[i].complete) continue;
        double d = parse_local(s.trials[i].complete) - parse_local(s.trials[i].start);
        if (!isfinite(d)) continue;
        dsum += d; dn++;
        if (d > dmax) dmax = d;
        if (d < dmin) dmin = d;
    }
    if (dn) fprintf(f, "durations: mean %.1fs  min %.1fs  max %.1fs  (%d finished)\n", dsum / dn, dmin, dmax, dn);
    int* ord = malloc_check(sizeof(int) * (s.n + 1));
    int nc = 0;
    for (int i = 0; i < s.n; i++) if (s.trials[i].state == TRIAL_COMPLETE && s.trials[i].has_value) ord[nc++] = i;
    g_sc = sc; g_s = &s;
    qsort(ord, nc, sizeof(int), cmp_value);
    char val[1200];
    if (nc) {
        Trial* b = &s.trials[ord[0]];
        fprintf(f, "best: trial %d  %s = %.6g  params:", b->number, sc->objective, b->value);
        for (int p = 0; p < sc->np; p++) {
            json_t* x = param_external(&sc->params[p], b->internal[p]);
            yaml_scalar(val, sizeof val, x);
            json_decref(x);
            fprintf(f, " %s=%s", sc->params[p].name, val);
        }
        fprintf(f, "\n");
    } else fprintf(f, "best: none (no COMPLETE trial)\n");
    double eta[64];
    sweep_importance(sc, &s, eta);
    fprintf(f, "%-20s %-34s %s\n", "param", "explored (all trials)", "importance (one-way ANOVA eta^2, COMPLETE trials)");
    for (int p = 0; p < sc->np; p++) {
        const Param* pr = &sc->params[p];
        char range[256] = "";
        if (pr->type == PARAM_CAT) {
            size_t nch = json_array_size(pr->choices), o = 0;
            for (size_t c = 0; c < nch; c++) {
                int seen = 0;
                for (int i = 0; i < s.n; i++) seen += s.trials[i].has[p] && (size_t)s.trials[i].internal[p] == c;
                yaml_scalar(val, sizeof val, json_array_get(pr->choices, c));
                o += snprintf(range + o, o < sizeof range ? sizeof range - o : 0, "%s%s x%d", c ? ", " : "", val, seen);
                if (o >= sizeof range) break;
            }
        } else {
            double lo = 1e300, hi = -1e300;
            for (int i = 0; i < s.n; i++)
                if (s.trials[i].has[p]) { lo = fmin(lo, s.trials[i].internal[p]); hi = fmax(hi, s.trials[i].internal[p]); }
            if (lo <= hi) snprintf(range, sizeof range, "[%.4g, %.4g] of [%.4g, %.4g]%s", lo, hi, pr->low, pr->high, pr->log ? " log" : "");
            else snprintf(range, sizeof range, "--");
        }
        char imp[32];
        if (eta[p] >= 0) snprintf(imp, sizeof imp, "%.3f", eta[p]); else snprintf(imp, sizeof imp, "--");
        fprintf(f, "%-20s %-34s %s\n", pr->name, range, imp);
    }
    int rc = 0;
    if (top_k > 0) {
        char dir[4200];
        if (path_join(dir, sizeof dir, root, "top", err) || mkdir_p(dir, err)) { rc = -1; goto out; }
        for (long k = 0; k < top_k && k < nc; k++) {
            Trial* t = &s.trials[ord[k]];
            json_t* over = json_deep_copy(sc->fixed_args);
            for (int p = 0; p < sc->np; p++) json_object_set_new(over, sc->params[p].name, param_external(&sc->params[p], t->internal[p]));
            char path[4300], name[64], *header;
            snprintf(name, sizeof name, "top_%ld.yaml", k + 1);
            if (path_join(path, sizeof path, dir, name, err)) { json_decref(over); rc = -1; goto out; }
            internal_check(asprintf(&header,
                                    "# sweep %s: rank %ld, trial %d, %s = %.6g (%s)\n# base: %s, section %s overridden with the trial's params.\n"
                                    "# Run: bin/%s --config %s %s <run dir>\n",
                                    s.name, k + 1, t->number, sc->objective, t->value, sc->maximize ? "maximize" : "minimize",
                                    sc->base_config, sc->section, sc->tool, path, sc->run_dir_flag) >= 0, "out of memory");
            rc = write_top(sc, path, over, header, err);
            free(header);
            json_decref(over);
            if (rc) goto out;
            fprintf(f, "wrote %s\n", path);
        }
        if (top_k > nc) fprintf(f, "(only %d COMPLETE trials for --top_k %ld)\n", nc, top_k);
    }
out:
    free(ord);
    study_free(&s);
    return rc;
}

