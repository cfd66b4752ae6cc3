/* fileio.c - see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int ckpt_open_regular(const char *path, int *fd, struct stat *st, ckpt_err *err)
{
    *fd = -1;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0)
        return ckpt_err_set(err, errno == ENOENT ? CKPT_E_NOTFOUND : CKPT_E_IO, "%s: %s", path,
                            strerror(errno));
    if (fstat(f, st) != 0) {
        int e = errno;
        close(f);
        return ckpt_err_set(err, CKPT_E_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(f);
        return ckpt_err_set(err, CKPT_E_IO, "%s: not a regular file", path);
    }
    /* Regular files ignore O_NONBLOCK for reads, but clear it to say what we mean. */
    int fl = fcntl(f, F_GETFL);
    if (fl >= 0)
        fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
    *fd = f;
    return 0;
}

int ckpt_map_file(const char *path, void **map, size_t *len, ckpt_err *err)
{
    int fd;
    struct stat st;
    *map = NULL;
    *len = 0;
    int rc = ckpt_open_regular(path, &fd, &st, err);
    if (rc)
        return rc;
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ckpt_err_set(err, CKPT_E_IO, "%s: mmap: %s", path, strerror(e));
        }
        *map = m;
        *len = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

int ckpt_is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ckpt_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ckpt_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -ENODATA;
        done += (size_t)r;
    }
    return 0;
}
