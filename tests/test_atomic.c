/* atomic: whole files (atomic_write), and whole directories published over an
 * existing one (atomic_publish_dir): the new content in place, the old one gone, no
 * temporary left beside it; a tmp that does not exist is an error naming the
 * target, and the existing one is kept. */
#include "check.h"
#include "atomic.h"
#include <dirent.h>
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

static int holds(const char* path, const char* text) {
    char err[ERR_LEN];
    size_t n = 0;
    char* b = read_file(path, &n, err);
    int ok = b && n == strlen(text) && !memcmp(b, text, n);
    free(b);
    return ok;
}

int main(void) {
    char root[64], err[ERR_LEN], final[128], tmp[160], p[256];
    snprintf(root, sizeof root, "/tmp/test_atomic_%d", (int)getpid());
    rm_tree(root);
    snprintf(final, sizeof final, "%s/state", root);
    snprintf(p, sizeof p, "%s/f.txt", root);
    CHECK("mkdir", mkdir_p(root, err) == 0, "%s", err);
    CHECK("write", atomic_write(p, "one", 3, err) == 0 && holds(p, "one"), "%s", err);
    CHECK("overwrite", atomic_write(p, "two!", 4, err) == 0 && holds(p, "two!"), "%s", err);

    /* First publish: nothing there yet. */
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", final, (int)getpid());
    check_put(tmp, "a.txt", "first");
    CHECK("publish_new", atomic_publish_dir(tmp, final, err) == 0, "%s", err);
    snprintf(p, sizeof p, "%s/a.txt", final);
    CHECK("publish_new_content", holds(p, "first") && !is_dir(tmp), "content or tmp left");
    /* Over an existing one: its files are replaced as a whole (b.txt only in the new). */
    check_put(tmp, "b.txt", "second");
    CHECK("publish_over", atomic_publish_dir(tmp, final, err) == 0, "%s", err);
    snprintf(p, sizeof p, "%s/b.txt", final);
    char a[256];
    snprintf(a, sizeof a, "%s/a.txt", final);
    CHECK("publish_over_content", holds(p, "second") && !path_exists(a), "old content survived");
    CHECK("publish_leaves_nothing_beside", entries(root) == 2, "%d entries in %s (f.txt and state expected)", entries(root), root);
    /* A tmp that is not there: an error naming the target; the published one stays. */
    CHECK("publish_missing_tmp", atomic_publish_dir(tmp, final, err) == -1 && strstr(err, final) && holds(p, "second"),
          "err '%s'", err);
    /* Temporaries of a writer that died are cleared; a live writer's (this process) stays. */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char dead[256], live[256];
    snprintf(dead, sizeof dead, "%s/s.json.tmp.%d", root, (int)child);
    snprintf(live, sizeof live, "%s/t.json.tmp.%d", root, (int)getpid());
    CHECK("temps_made", atomic_write(dead, "x", 1, err) == 0 && atomic_write(live, "y", 1, err) == 0, "%s", err);
    atomic_clear_dead_temps(root);
    CHECK("dead_writer_temp_cleared", !path_exists(dead) && path_exists(live), "dead %d live %d", path_exists(dead), path_exists(live));
    rm_tree(root);
    return check_status();
}
