/* atomic: whole files (atomic_write, over an existing one too), records appended one
 * line each (append_record), and a symlink repointed in one step (symlink_swap). */
#include "check.h"
#include "atomic.h"
#include "lifecycle.h"
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char root[64], err[ERR_LEN], p[256], l[256], target[PATH_MAX];
    snprintf(root, sizeof root, "/tmp/test_atomic_%d", (int)getpid());
    life_rm_tree(root);
    snprintf(p, sizeof p, "%s/f.txt", root);
    CHECK("mkdir", mkdir_p(root, err) == 0, "%s", err);
    CHECK("write", atomic_write(p, "one", 3, err) == 0 && check_holds(p, "one"), "%s", err);
    CHECK("overwrite", atomic_write(p, "two!", 4, err) == 0 && check_holds(p, "two!"), "%s", err);
    snprintf(p, sizeof p, "%s/log.jsonl", root);
    CHECK("append", append_record(p, "{\"a\":1}", err) == 0 && append_record(p, "{\"b\":2}", err) == 0, "%s", err);
    CHECK("append_lines", check_holds(p, "{\"a\":1}\n{\"b\":2}\n"), "log content");
    snprintf(l, sizeof l, "%s/latest", root);
    CHECK("symlink_new", symlink_swap("f.txt", l, err) == 0, "%s", err);
    CHECK("symlink_swap", symlink_swap("log.jsonl", l, err) == 0, "%s", err);
    ssize_t n = readlink(l, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    CHECK("symlink_target", !strcmp(target, "log.jsonl") && check_holds(l, "{\"a\":1}\n{\"b\":2}\n"), "points at '%s'", target);
    int entries = 0;
    DIR* d = opendir(root);
    for (struct dirent* e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK("no_temps_beside", entries == 3, "%d entries in %s (f.txt, log.jsonl, latest expected)", entries, root);
    life_rm_tree(root);
    return check_status();
}
