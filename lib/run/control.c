/* control: see control.h. */
#include "control.h"
#include "json.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_signals;
static Tracker* g_t;
static char   g_request[4200], g_hold[4200], g_hold_ack[4200];
static double g_last_poll;
static int    g_file_seen;
static long   g_hold_at = -1;    /* control/hold's step as last read; -1: none */
static const char* g_reason = "signal";

static void on_signal(int sig) {
    (void)sig;
    if (g_signals++ > 0) {
        static const char msg[] = "\nsecond signal: exiting now; the last checkpoint stands\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    static const char msg[] = "\npause requested: saving progress (signal again to exit at once)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

void control_install(Tracker* t) {
    char err[ERR_LEN];
    g_t = t;
    /* t->dir fits in 4096 bytes (track_open), so each fits in 4200 */
    internal_check(path_join(g_request, sizeof g_request, t->dir, "control/pause.request", err) == 0 &&
                   path_join(g_hold, sizeof g_hold, t->dir, "control/hold", err) == 0 &&
                   path_join(g_hold_ack, sizeof g_hold_ack, t->dir, "control/hold_ack.json", err) == 0, "%s", err);
    unlink(g_hold_ack);    /* a killed run's; this run holds the run dir's lock */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int request_seen(void) {
    if (g_signals) { g_reason = "signal"; return 1; }
    if (g_file_seen) return 1;
    if (g_request[0] && access(g_request, F_OK) == 0) { g_file_seen = 1; g_reason = "pause.request"; return 1; }
    return 0;
}

/* The step control/hold names (0 for an empty file); -1 when there is no hold. */
static long hold_step(void) {
    FILE* f = fopen(g_hold, "r");
    if (!f) return -1;
    long step = 0;
    if (fscanf(f, "%ld", &step) != 1) step = 0;
    fclose(f);
    return step;
}

/* Waits while control/hold applies; returns 1 when a pause ends the wait, -1 when a
 * write failed (g_t->err). */
static int hold(void) {
    long at = hold_step();
    g_hold_at = at;
    if (at < 0 || g_t->step < at) return 0;
    char now[32];
    iso_time(now, now_wall());
    json_t* ack = json_pack("{s:s, s:I, s:i}", "held_at", now, "step", (json_int_t)g_t->step, "pid", (int)getpid());
    int rc = json_write_atomic(g_hold_ack, ack, g_t->err);
    json_decref(ack);
    if (rc) { g_t->err_exit = EXIT_FAIL; return -1; }
    if (track_event(g_t, "hold", NULL)) return -1;
    double beat = now_mono();
    int paused = 0;
    while (!(paused = request_seen()) && hold_step() >= 0) {
        usleep(20000);
        if (now_mono() - beat >= 1.0) {   /* held, not stalled */
            if (track_heartbeat_now(g_t)) return -1;
            beat = now_mono();
        }
    }
    unlink(g_hold_ack);
    if (!paused) {
        g_hold_at = -1;
        if (track_event(g_t, "release", NULL)) return -1;
    }
    return paused;
}

int control_pause_requested(void) {
    if (g_signals || g_file_seen) return request_seen();
    double now = now_mono();
    /* A hold already seen is checked at the step it names, however soon: a
     * fast run must not finish between two polls and step over it. */
    int due = g_t && g_hold_at >= 0 && g_t->step >= g_hold_at;
    if (now - g_last_poll < 0.25 && !due) return 0;
    g_last_poll = now;
    if (request_seen()) return 1;
    return g_t ? hold() : 0;
}

int control_pause(Tracker* t, const char* resume_state) {
    char p[4200], now[32];
    iso_time(now, now_wall());
    json_t* ack = json_pack("{s:s, s:I, s:I, s:s, s:s, s:i}", "paused_at", now, "step", (json_int_t)t->step,
                            "total_steps", (json_int_t)t->total, "reason", g_reason, "resume_state",
                            resume_state ? resume_state : "", "pid", (int)getpid());
    internal_check(path_join(p, sizeof p, t->dir, "control/pause_ack.json", t->err) == 0, "%s", t->err);   /* see control_install */
    int rc = json_write_atomic(p, ack, t->err);
    json_decref(ack);
    if (rc) { t->err_exit = EXIT_FAIL; return -1; }
    /* Consume the request only after the ack is durable, so a crash in
     * between leaves the request and the rerun pauses again, never loses it. */
    internal_check(path_join(p, sizeof p, t->dir, "control/pause.request", t->err) == 0, "%s", t->err);
    unlink(p);
    track_say(t, "paused at step %ld/%ld (%s); rerun the same command to resume", t->step, t->total, g_reason);
    return track_finish(t, "paused", g_reason);
}
