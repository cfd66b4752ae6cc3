/* logger.c - see logger.h. */
#include "logger.h"

#include "ll.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define SYSLOG_PATH "/dev/log"
/* Longest line sent; longer ones are cut (a logger's own limit is often 1-8 KiB). */
#define SYSLOG_LINE_MAX 2048

void ckfs_syslog_init(ckfs_syslog *s)
{
    pthread_mutex_init(&s->mu, NULL);
    s->fd = -1;
    s->dropped = 0;
}

/* The connected socket, connecting first if needed; -1 when there is no logger. */
static int connected(ckfs_syslog *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->fd < 0) {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, SYSLOG_PATH, sizeof SYSLOG_PATH);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            fd = -1;
        }
        s->fd = fd;
    }
    int fd = s->fd;
    pthread_mutex_unlock(&s->mu);
    return fd;
}

/* Send one line at error priority of the daemon facility, tagged "ckptfs[pid]". */
static void syslog_line(ckfs_syslog *s, const char *msg)
{
    char line[SYSLOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "<%d>ckptfs[%ld]: %s", LOG_DAEMON | LOG_ERR, (long)getpid(),
                     msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int fd = connected(s);
    if (fd < 0 || send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        return;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        __atomic_add_fetch(&s->dropped, 1, __ATOMIC_RELAXED);
        return;
    }
    /* The logger went away (restarted): reconnect for the next line. */
    pthread_mutex_lock(&s->mu);
    if (s->fd == fd) {
        close(fd);
        s->fd = -1;
    }
    pthread_mutex_unlock(&s->mu);
}

void ckfs_syslog_close(ckfs_syslog *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    pthread_mutex_destroy(&s->mu);
}

void ckfs_log(const ckfs *fs, const char *fmt, ...)
{
    char line[CKFS_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (fs->foreground)
        fprintf(stderr, "ckptfs: %s\n", line);
    else
        syslog_line((ckfs_syslog *)&fs->syslog, line);
}

void ckfs_log_line(void *ctx, const char *msg)
{
    ckfs_log(ctx, "%s", msg);
}
