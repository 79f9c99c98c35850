/* Terminals and fd passing: pty allocation and SCM_RIGHTS. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Opens the peer through the master fd (TIOCGPTPEER), never by a path that a
 * container process could swap (CVE-2025-52565). */
int bunc_pty_open(int32_t *out_master, int32_t *out_slave, char *errbuf, size_t errlen)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return bunc_fail(errbuf, errlen, errno, "open /dev/ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "unlock the pty");
		close(master);
		return rc;
	}
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "open the pty peer");
		close(master);
		return rc;
	}
	*out_master = master;
	*out_slave = slave;
	return 0;
}

/* One sendmsg: the payload, and fd as SCM_RIGHTS; 0 once all of it went. */
BUNC_HIDDEN int bunc_sendmsg_fd(int sock, int fd, const void *data, size_t len)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int bunc_send_fd(int sock, int fd)
{
	char byte = 0;
	return bunc_sendmsg_fd(sock, fd, &byte, 1);
}

int bunc_recv_fd(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	/* More fds than asked for were cut off: do not trust this one either. */
	if (msg.msg_flags & MSG_CTRUNC) {
		close(fd);
		return -EBADMSG;
	}
	return fd;
}

int bunc_socketpair(int32_t *out)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	out[0] = sv[0];
	out[1] = sv[1];
	return 0;
}

/* A unix socket of this type for path (a leading '@' names an abstract
 * socket, as systemd's NOTIFY_SOCKET may): the fd, or -errno; *len is the
 * address's length. */
static int unix_socket(const char *path, int type, struct sockaddr_un *addr, socklen_t *len)
{
	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof addr->sun_path)
		return -ENAMETOOLONG;
	memcpy(addr->sun_path, path, n);
	if (path[0] == '@')
		addr->sun_path[0] = 0;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int bunc_connect_unix(const char *path)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd = unix_socket(path, SOCK_STREAM, &addr, &len);
	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&addr, len) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int bunc_bind_dgram(const char *path, uint32_t mode)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd = unix_socket(path, SOCK_DGRAM, &addr, &len);
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&addr, len) < 0 || (path[0] != '@' && chmod(path, (mode_t)mode) < 0)) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int bunc_send_dgram(const char *path, const void *data, uint64_t len)
{
	struct sockaddr_un addr;
	socklen_t alen;
	int fd = unix_socket(path, SOCK_DGRAM, &addr, &alen);
	if (fd < 0)
		return fd;
	ssize_t n;
	do
		n = sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
	while (n < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	return n < 0 ? -err : 0;
}

int bunc_set_winsize(int fd, uint32_t rows, uint32_t cols)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	RET(ioctl(fd, TIOCSWINSZ, &ws));
}

int bunc_get_winsize(int fd, uint32_t *out)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return -errno;
	out[0] = ws.ws_row;
	out[1] = ws.ws_col;
	return 0;
}
