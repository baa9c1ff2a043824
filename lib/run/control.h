/* control: how a user stops a run without losing it.
 *
 * Owns: SIGINT/SIGTERM handling (the first signal asks for a graceful pause,
 * the second exits at once: the last checkpoint stands), polling of
 * <run>/control/pause.request, and the pause protocol: the tool saves its
 * progress, then control_pause writes control/pause_ack.json, consumes the
 * request and marks the run `paused`; the tool exits 75. Also <run>/control/hold: a
 * run whose progress has reached the step the file names (empty: any step)
 * waits at its next pause check until the file is removed, a pause is asked
 * for or a signal comes; control/hold_ack.json says it is waiting (how a test
 * or an operator stops a run at a known point without racing it).
 * Failures (a control or tracker file not written) are the tracker's: -1 with
 * t->err and t->err_exit, for the Tracker given to control_install.
 * Does not own: what "saving progress" means for a tool. */
#ifndef DD_CONTROL_H
#define DD_CONTROL_H
#include "track.h"

/* Signals, and the control files of t->dir; clears a hold_ack.json left by a killed run. */
void control_install(Tracker* t);
/* 1 once a signal arrived or the pause file exists (checked at most every 0.25 s), else 0;
 * -1 when a write failed (t->err). Waits here while control/hold applies (see above). */
int  control_pause_requested(void);
/* Call after progress is saved, then exit EXIT_PAUSED. `resume_state` names what a rerun
 * continues from. 0, or -1 (t->err) when the ack or the tracker's files were not written. */
int  control_pause(Tracker* t, const char* resume_state);

#endif
