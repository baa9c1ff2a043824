/* atomic: see atomic.h. */

#include "atomic.h"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

int fsync_dir(const char* dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int atomic_open(AtomicFile* a, const char* path, char err[ERR_LEN]) {
    a->f = NULL;
    if (path_fmt(a->path, sizeof a->path, err, "%s", path) ||
        path_fmt(a->tmp, sizeof a->tmp, err, "%s.tmp.%d", path, (int)getpid()))
        return -1;
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        errf(err, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int atomic_commit(AtomicFile* a, char err[ERR_LEN]) {
    int bad = fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0;
    int saved = errno;
    if (fclose(a->f) != 0) bad = 1;
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return errf(err, "%s: write failed: %s", a->path, strerror(saved ? saved : EIO));
    }
    if (rename(a->tmp, a->path) != 0) {
        saved = errno;
        unlink(a->tmp);
        return errf(err, "%s: cannot rename into place: %s", a->path, strerror(saved));
    }
    char dir[4096];
    if (path_dirname(dir, sizeof dir, a->path, err) == 0) fsync_dir(dir);   /* it fits: a->path did */
    return 0;
}

void atomic_abort(AtomicFile* a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}

int atomic_write(const char* path, const void* buf, size_t len, char err[ERR_LEN]) {
    AtomicFile a;
    if (atomic_open(&a, path, err) != 0) return -1;
    if (len && fwrite(buf, 1, len, a.f) != len) {
        atomic_abort(&a);
        errf(err, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return atomic_commit(&a, err);
}

int append_record(const char* path, const char* line, char err[ERR_LEN]) {
    size_t n = strlen(line);
    char* rec = malloc_check(n + 1);
    memcpy(rec, line, n);
    rec[n] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) {
        free(rec);
        errf(err, "%s: cannot append: %s", path, strerror(errno));
        return -1;
    }
    ssize_t w = write(fd, rec, n + 1);      /* one write: a crash cuts at most this line */
    int saved = errno;
    fdatasync(fd);
    close(fd);
    free(rec);
    if (w != (ssize_t)(n + 1)) {
        errf(err, "%s: append failed: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

int symlink_swap(const char* target, const char* link, char err[ERR_LEN]) {
    char tmp[4200], dir[4096];
    if (path_fmt(tmp, sizeof tmp, err, "%s.tmp.%d", link, (int)getpid()) || path_dirname(dir, sizeof dir, link, err)) return -1;
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        errf(err, "%s: cannot point at %s: %s", link, target, strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir(dir);
    return 0;
}
