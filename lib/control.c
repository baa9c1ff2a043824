/* control: see control.h. */
#include "control.h"
#include "json.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_signals;
static char   g_request[4200];
static double g_last_poll;
static int    g_file_seen;
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

void control_install(const char* run_dir) {
    path_join(g_request, sizeof g_request, run_dir, "control/pause.request");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int control_pause_requested(void) {
    if (g_signals) { g_reason = "signal"; return 1; }
    if (g_file_seen) return 1;
    double now = now_mono();
    if (now - g_last_poll < 0.25) return 0;
    g_last_poll = now;
    if (g_request[0] && access(g_request, F_OK) == 0) { g_file_seen = 1; g_reason = "pause.request"; return 1; }
    return 0;
}

void control_pause_exit(Tracker* t, const char* resume_state) {
    char p[4200], err[ERR_LEN], now[32];
    iso_time(now, now_wall());
    json_t* ack = json_pack("{s:s, s:I, s:I, s:s, s:s, s:i}", "paused_at", now, "step", (json_int_t)t->step,
                            "total_steps", (json_int_t)t->total, "reason", g_reason, "resume_state",
                            resume_state ? resume_state : "", "pid", (int)getpid());
    path_join(p, sizeof p, t->dir, "control/pause_ack.json");
    if (json_write_atomic(p, ack, err)) die(EXIT_FAIL, "%s", err);
    json_decref(ack);
    /* Consume the request only after the ack is durable, so a crash in
     * between leaves the request and the rerun pauses again, never loses it. */
    path_join(p, sizeof p, t->dir, "control/pause.request");
    unlink(p);
    track_say(t, "paused at step %ld/%ld (%s); rerun the same command to resume", t->step, t->total, g_reason);
    track_finish(t, "paused", g_reason);
    exit(EXIT_PAUSED);
}
