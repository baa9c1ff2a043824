/* control: how a user stops a run without losing it.
 *
 * Owns: SIGINT/SIGTERM handling (the first signal asks for a graceful pause,
 * the second exits at once: the last checkpoint stands), polling of
 * <run>/control/pause.request, and the pause protocol: the tool saves its
 * progress, then control_pause_exit writes control/pause_ack.json, consumes
 * the request, marks the run `paused` and exits 75.
 * Does not own: what "saving progress" means for a tool. */
#ifndef DD_CONTROL_H
#define DD_CONTROL_H
#include "track.h"

void control_install(const char* run_dir);
/* True once a signal arrived or the pause file exists (checked at most every 0.25 s). */
int  control_pause_requested(void);
/* Call after progress is saved. `resume_state` names what a rerun continues from. */
__attribute__((noreturn)) void control_pause_exit(Tracker* t, const char* resume_state);

#endif
