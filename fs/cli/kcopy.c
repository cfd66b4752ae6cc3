/*
 * kcopy.c - see kcopy.h.
 */
#include "kcopy.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32c.h"

/* The CRC-32C of out_fd's n bytes at off, read through a mapping (the pages are in the page
 * cache, just written: no copy), or with pread where the file cannot be mapped. 0, or -1 with
 * errno. */
static int crc_back(int out_fd, uint64_t off, uint64_t n, uint32_t *crc)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t lead = off % (uint64_t)page;
    void *m = mmap(NULL, (size_t)(n + lead), PROT_READ, MAP_SHARED | MAP_POPULATE, out_fd,
                   (off_t)(off - lead));
    if (m != MAP_FAILED) {
        *crc = ckpt_crc32c_extend(0, (const uint8_t *)m + lead, (size_t)n);
        munmap(m, (size_t)(n + lead));
        return 0;
    }
    size_t bufsize = 1u << 20;
    uint8_t *buf = malloc(bufsize);
    if (!buf)
        return -1;
    uint32_t c = 0;
    for (uint64_t at = 0; at < n;) {
        size_t want = n - at < bufsize ? (size_t)(n - at) : bufsize;
        ssize_t r = pread(out_fd, buf, want, (off_t)(off + at));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* what was just written is not there */
            free(buf);
            return -1;
        }
        c = ckpt_crc32c_extend(c, buf, (size_t)r);
        at += (uint64_t)r;
    }
    free(buf);
    *crc = c;
    return 0;
}

int cli_kcopy(int in_fd, uint64_t in_off, int out_fd, uint64_t n, uint32_t *crc, uint64_t *done)
{
    *done = 0;
    off_t start = lseek(out_fd, 0, SEEK_CUR);
    if (start < 0)
        return errno == ESPIPE ? CLI_KCOPY_UNSUPPORTED : -1;
    loff_t from = (loff_t)in_off;
    while (*done < n) {
        uint64_t want = n - *done;
        if (want > (1u << 30))
            want = 1u << 30;
        ssize_t r = copy_file_range(in_fd, &from, out_fd, NULL, (size_t)want, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            /* Refused before any byte moved (another file system, a special file, an old
             * kernel): the caller copies another way. */
            if (*done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                               errno == EOPNOTSUPP || errno == EBADF))
                return CLI_KCOPY_UNSUPPORTED;
            return -1;
        }
        if (r == 0)
            return CLI_KCOPY_SHORT;
        *done += (uint64_t)r;
    }
    return crc_back(out_fd, (uint64_t)start, n, crc);
}
