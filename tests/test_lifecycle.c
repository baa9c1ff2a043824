/* lifecycle: whole directories published over an existing one (life_publish_dir): the
 * new content in place, the old one gone, no temporary left beside it; a tmp that does
 * not exist is an error naming the target, and the existing one is kept. Temporaries of
 * dead writers cleared, a live writer's kept; a run dir's temporaries cleared except in
 * nested run dirs and .trash. Step dirs listed newest first (temporaries skipped), their
 * resume state pruned to the newest `keep`. Trees removed without a shell, whatever the
 * path holds (a quote, a space), without following symlinks. */
#include "check.h"
#include "lifecycle.h"
#include "atomic.h"
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Entries of dir other than . and .. */
static int entries(const char* dir) {
    DIR* d = opendir(dir);
    int n = 0;
    for (struct dirent* e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

int main(void) {
    char root[64], err[ERR_LEN], final[128], tmp[160], p[256];
    snprintf(root, sizeof root, "/tmp/test_atomic_%d", (int)getpid());
    life_rm_tree(root);
    snprintf(final, sizeof final, "%s/state", root);
    snprintf(p, sizeof p, "%s/f.txt", root);
    CHECK("mkdir", mkdir_p(root, err) == 0, "%s", err);
    CHECK("write", atomic_write(p, "two!", 4, err) == 0 && check_holds(p, "two!"), "%s", err);

    /* First publish: nothing there yet. */
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", final, (int)getpid());
    check_put(tmp, "a.txt", "first");
    CHECK("publish_new", life_publish_dir(tmp, final, err) == 0, "%s", err);
    snprintf(p, sizeof p, "%s/a.txt", final);
    CHECK("publish_new_content", check_holds(p, "first") && !is_dir(tmp), "content or tmp left");
    /* Over an existing one: its files are replaced as a whole (b.txt only in the new). */
    check_put(tmp, "b.txt", "second");
    CHECK("publish_over", life_publish_dir(tmp, final, err) == 0, "%s", err);
    snprintf(p, sizeof p, "%s/b.txt", final);
    char a[256];
    snprintf(a, sizeof a, "%s/a.txt", final);
    CHECK("publish_over_content", check_holds(p, "second") && !path_exists(a), "old content survived");
    CHECK("publish_leaves_nothing_beside", entries(root) == 2, "%d entries in %s (f.txt and state expected)", entries(root), root);
    /* A tmp that is not there: an error naming the target; the published one stays. */
    CHECK("publish_missing_tmp", life_publish_dir(tmp, final, err) == -1 && strstr(err, final) && check_holds(p, "second"),
          "err '%s'", err);
    /* Temporaries of a writer that died are cleared; a live writer's (this process) stays. */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char dead[256], live[256];
    snprintf(dead, sizeof dead, "%s/s.json.tmp.%d", root, (int)child);
    snprintf(live, sizeof live, "%s/t.json.tmp.%d", root, (int)getpid());
    CHECK("temps_made", atomic_write(dead, "x", 1, err) == 0 && atomic_write(live, "y", 1, err) == 0, "%s", err);
    life_clear_dead_temps(root);
    CHECK("dead_writer_temp_cleared", !path_exists(dead) && path_exists(live), "dead %d live %d", path_exists(dead), path_exists(live));
    /* A writer killed while its parent died too is a zombie until init reaps it (seconds
     * on some machines): kill(pid, 0) still answers, but it writes nothing more. Here a
     * child of ours, not yet reaped: dead to pid_alive, and its temporary goes. */
    child = fork();
    if (child == 0) _exit(0);
    siginfo_t si;
    waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT);   /* until it has exited, left unreaped */
    snprintf(dead, sizeof dead, "%s/z.json.tmp.%d", root, (int)child);
    CHECK("zombie_temp_made", atomic_write(dead, "z", 1, err) == 0, "%s", err);
    CHECK("zombie_is_not_alive", kill(child, 0) == 0 && !pid_alive(child) && pid_alive(getpid()),
          "kill %d pid_alive(zombie) %d pid_alive(self) %d", kill(child, 0), pid_alive(child), pid_alive(getpid()));
    life_clear_dead_temps(root);
    CHECK("zombie_writer_temp_cleared", !path_exists(dead) && path_exists(live), "zombie's %d live %d", path_exists(dead),
          path_exists(live));
    waitpid(child, NULL, 0);
    CHECK("reaped_is_not_alive", !pid_alive(child), "a reaped pid is alive");

    /* A run dir's temporaries: cleared at any depth, but not inside a nested run dir
     * (its own lock guards them) or .trash/. */
    char run[128], q[320];
    snprintf(run, sizeof run, "%s/run", root);
    check_put(run, "a.json.tmp.99999", "x");
    check_put(run, "sub/b.tmp.12", "x");
    check_put(run, "nested/_run_tracker/events.jsonl", "");
    check_put(run, "nested/c.json.tmp.77", "x");
    check_put(run, ".trash/d.tmp.5", "x");
    check_put(run, "keep.json", "x");
    life_clear_temps(run);
    snprintf(p, sizeof p, "%s/a.json.tmp.99999", run);
    snprintf(q, sizeof q, "%s/sub/b.tmp.12", run);
    CHECK("run_temps_cleared", !path_exists(p) && !path_exists(q), "a %d b %d", path_exists(p), path_exists(q));
    snprintf(p, sizeof p, "%s/nested/c.json.tmp.77", run);
    snprintf(q, sizeof q, "%s/.trash/d.tmp.5", run);
    CHECK("run_temps_nested_and_trash_kept", path_exists(p) && path_exists(q), "nested %d trash %d", path_exists(p), path_exists(q));
    snprintf(p, sizeof p, "%s/keep.json", run);
    CHECK("run_files_kept", path_exists(p), "keep.json gone");

    /* Step dirs: newest first, temporaries and other names skipped; pruning keeps the
     * newest `keep` whole and takes only the named file from the older ones. */
    const long made[] = {30, 10, 20};
    for (int i = 0; i < 3; i++) {
        char d[160];
        CHECK("step_dir", life_step_dir(d, sizeof d, run, "ckpt", made[i], err) == 0, "%s", err);
        check_put(d, "model.safetensors", "w");
        check_put(d, "optim.safetensors", "o");
    }
    check_put(run, "ckpt_step_0000040.tmp.123/model.safetensors", "w");
    check_put(run, "ckpt_step_0000050.old.123/model.safetensors", "w");
    check_put(run, "sdft_step_0000060/model.safetensors", "w");
    long steps[8];
    int n = life_steps(run, "ckpt", steps, 8);
    CHECK("steps_newest_first", n == 3 && steps[0] == 30 && steps[1] == 20 && steps[2] == 10, "n %d: %ld %ld %ld", n, steps[0],
          steps[1], steps[2]);
    CHECK("prune", life_prune_state(run, "ckpt", 2, "optim.safetensors", err) == 0, "%s", err);
    int kept = 0, weights = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/ckpt_step_%07ld/optim.safetensors", run, made[i]);
        snprintf(q, sizeof q, "%s/ckpt_step_%07ld/model.safetensors", run, made[i]);
        kept += path_exists(p) ? (int)made[i] : 0;
        weights += path_exists(q);
    }
    CHECK("prune_keeps_newest_state", kept == 50 && weights == 3, "state kept in steps summing to %d, %d weights", kept, weights);
    CHECK("prune_again", life_prune_state(run, "ckpt", 2, "optim.safetensors", err) == 0, "%s", err);

    /* Trees whose path a shell would misread are removed; a symlink in one is removed,
     * not followed. */
    char odd[160], outside[160], link[320];
    snprintf(odd, sizeof odd, "%s/it's a \"dir\" $(x)", root);
    snprintf(outside, sizeof outside, "%s/outside", root);
    check_put(odd, "deep/er/f.txt", "x");
    check_put(outside, "g.txt", "y");
    snprintf(link, sizeof link, "%s/deep/to_outside", odd);
    CHECK("symlink", symlink(outside, link) == 0, "cannot make %s", link);
    CHECK("rm_tree_odd_path", life_rm_tree(odd) == 0 && !path_exists(odd), "%s still there", odd);
    snprintf(p, sizeof p, "%s/g.txt", outside);
    CHECK("rm_tree_follows_no_symlink", check_holds(p, "y"), "%s removed through a symlink", p);
    CHECK("rm_tree_absent_is_fine", life_rm_tree(odd) == 0, "error on an absent path");
    life_rm_tree(root);
    return check_status();
}
