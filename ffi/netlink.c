/* A netlink socket in a given network namespace. A socket belongs to the
 * network namespace of the thread that makes it, and stays there: the
 * calling thread (Bun's JavaScript thread) enters the namespace only for the
 * socket(2) call and goes straight back, so no other code runs in it. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int bunc_netlink_socket(int netns_fd, int protocol)
{
	if (netns_fd < 0) {
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
		return fd < 0 ? -errno : fd;
	}
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		int err = errno;
		close(self);
		return -err;
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	int err = errno;
	/* A thread left in the container's namespace would make every later
	 * socket of the runtime there: never go on from that. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
	return fd < 0 ? -err : fd;
}
