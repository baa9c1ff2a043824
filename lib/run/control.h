/* control: how a user stops a run without losing it.
 *
 * Owns: SIGINT/SIGTERM handling (the first signal asks for a graceful pause,
 * the second exits at once: the last checkpoint stands), polling of
 * <run>/control/pause.request, and the pause protocol: the tool saves its
 * progress, then control_pause_exit writes control/pause_ack.json, consumes
 * the request, marks the run `paused` and exits 75. Also <run>/control/hold: a
 * run whose progress has reached the step the file names (empty: any step)
 * waits at its next pause check until the file is removed, a pause is asked
 * for or a signal comes; control/hold_ack.json says it is waiting (how a test
 * or an operator stops a run at a known point without racing it).
 * Does not own: what "saving progress" means for a tool. */
#ifndef DD_CONTROL_H
#define DD_CONTROL_H
#include "track.h"

/* Signals, and the control files of t->dir; clears a hold_ack.json left by a killed run. */
void control_install(Tracker* t);
/* True once a signal arrived or the pause file exists (checked at most every 0.25 s).
 * Waits here while control/hold applies (see above). */
int  control_pause_requested(void);
/* Call after progress is saved. `resume_state` names what a rerun continues from. */
__attribute__((noreturn)) void control_pause_exit(Tracker* t, const char* resume_state);

#endif
