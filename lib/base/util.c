/* util: see util.h. */

#include "util.h"
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char* g_prog = "dd";
static void (*g_die_hook)(const char*) = NULL;

void set_progname(const char* argv0) {
    const char* s = strrchr(argv0, '/');
    g_prog = s ? s + 1 : argv0;
}
const char* progname(void) { return g_prog; }
void util_set_die_hook(void (*hook)(const char*)) { g_die_hook = hook; }

void die(int code, const char* fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", g_prog, msg);
    if (g_die_hook) {
        void (*h)(const char*) = g_die_hook;
        g_die_hook = NULL;               /* a hook that dies must not recurse */
        char line[2200];
        snprintf(line, sizeof line, "%s: %s", g_prog, msg);
        h(line);
    }
    exit(code);
}

int errf(char err[ERR_LEN], const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

void internal_fail(const char* file, int line, const char* fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die(EXIT_FAIL, "internal error at %s:%d: %s", file, line, msg);
}

static void oom(size_t n, const char* file, int line) {
    fprintf(stderr, "%s: out of memory allocating %zu bytes at %s:%d\n", g_prog, n, file, line);
    exit(EXIT_FAIL);
}
void* malloc_check_(size_t n, const char* file, int line) {
    void* p = malloc(n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}
void* calloc_check_(size_t n, size_t sz, const char* file, int line) {
    void* p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) oom(n * sz, file, line);
    return p;
}
void* realloc_check_(void* q, size_t n, const char* file, int line) {
    void* p = realloc(q, n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}
char* strdup_check_(const char* s, const char* file, int line) {
    size_t n = strlen(s) + 1;
    char* p = malloc_check_(n, file, line);
    memcpy(p, s, n);
    return p;
}

char* read_file(const char* path, size_t* len, char err[ERR_LEN]) {
    FILE* f = fopen(path, "rb");
    if (!f) { snprintf(err, ERR_LEN, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    if (is_dir(path)) { fclose(f); snprintf(err, ERR_LEN, "%s: is a directory", path); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char* buf = malloc_check(cap);
    for (;;) {
        if (n + 1 >= cap) { cap *= 2; buf = realloc_check(buf, cap); }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); snprintf(err, ERR_LEN, "%s: read error", path); return NULL; }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int mkdir_p(const char* path, char err[ERR_LEN]) {
    char tmp[4096];
    if (path_fmt(tmp, sizeof tmp, err, "%s", path)) return -1;
    size_t n = strlen(tmp);
    if (n == 0) return 0;
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == 0) {
            char c = tmp[i];
            tmp[i] = 0;
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
                snprintf(err, ERR_LEN, "%s: cannot create directory: %s", tmp, strerror(errno));
                return -1;
            }
            tmp[i] = c;
        }
    }
    if (!is_dir(path)) { snprintf(err, ERR_LEN, "%s: exists and is not a directory", path); return -1; }
    return 0;
}

int path_exists(const char* path) { struct stat st; return stat(path, &st) == 0; }

int is_stale_temp(const char* name) {
    const char* d = strrchr(name, '.');
    if (!d || !d[1] || d - name < 4) return 0;
    for (const char* c = d + 1; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return !strncmp(d - 4, ".tmp", 4) || !strncmp(d - 4, ".old", 4);
}
int is_dir(const char* path) { struct stat st; return stat(path, &st) == 0 && S_ISDIR(st.st_mode); }

int path_fmt(char* out, size_t cap, char err[ERR_LEN], const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < cap) return 0;
    errf(err, "path too long (over %zu bytes): %.200s...", cap - 1, out);
    if (cap) out[0] = 0;   /* nothing usable is left behind */
    return -1;
}

int path_join(char* out, size_t cap, const char* a, const char* b, char err[ERR_LEN]) {
    size_t n = strlen(a);
    return path_fmt(out, cap, err, n && a[n - 1] == '/' ? "%s%s" : "%s/%s", a, b);
}

int path_dirname(char* out, size_t cap, const char* path, char err[ERR_LEN]) {
    const char* s = strrchr(path, '/');
    if (!s) return path_fmt(out, cap, err, ".");
    if (s == path) return path_fmt(out, cap, err, "/");
    return path_fmt(out, cap, err, "%.*s", (int)(s - path), path);
}

const char* path_basename(const char* path) {
    const char* s = strrchr(path, '/');
    return s ? s + 1 : path;
}

double now_wall(void) { struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
double now_mono(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }

void iso_time(char out[32], double t) {
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Jobs of the `make -jN` this process runs under (MAKEFLAGS "-j2", " -j 2" or "--jobs=2"),
 * 1 when none or unlimited. */
static int make_jobs(void) {
    const char* env = getenv("MAKEFLAGS");
    if (!env) return 1;
    char f[1024];   /* the flags only: variable definitions follow " -- " (CONFIG=x-j2.yaml is not a -j) */
    snprintf(f, sizeof f, "%s", env);
    char* vars = strstr(f, " -- ");
    if (vars) *vars = 0;
    const char* j = strstr(f, "-j");
    const char* jobs = strstr(f, "--jobs=");
    long n = 0;
    if (j) n = strtol(j + 2, NULL, 10);
    else if (jobs) n = strtol(jobs + 7, NULL, 10);
    return n > 1 ? (int)n : 1;
}

/* Busy and total jiffies of all cpus, from /proc/stat's first line; -1 when unreadable. */
static int cpu_jiffies(unsigned long long* busy, unsigned long long* total) {
    FILE* f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4) return -1;
    *total = 0;
    for (int i = 0; i < 8; i++) *total += v[i];
    *busy = *total - v[3] - v[4];   /* less idle and iowait */
    return 0;
}

int pid_alive(long pid) {
    if (pid <= 0) return 0;
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM) return 0;
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%ld/stat", pid);
    FILE* f = fopen(p, "r");
    if (!f) return 1;   /* no /proc: kill's answer stands */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char* r = strrchr(buf, ')');   /* "pid (comm) S ...": comm may hold spaces and ')' */
    return !(r && r[1] == ' ' && (r[2] == 'Z' || r[2] == 'X'));
}

int threads_share(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    long share = cores / make_jobs();
    /* The cores others kept busy while this process slept 40 ms (jiffies tick every 10 ms:
     * a neighbour that keeps a core busy shows, one that passes mostly does not). */
    unsigned long long b0, t0, b1, t1;
    if (cpu_jiffies(&b0, &t0) == 0) {
        struct timespec ts = {0, 40 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (cpu_jiffies(&b1, &t1) == 0 && t1 > t0) {
            long idle = (long)(cores - (double)(b1 - b0) / (double)(t1 - t0) * cores + 0.5);
            if (idle < share) share = idle;
        }
    }
    return share < 1 ? 1 : (int)share;
}
