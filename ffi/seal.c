/* A sealed view of our own binary for re-executing it as the init
 * (CVE-2019-5736): a detached clone of its mount, made read-only, so no
 * container process can reopen the inode for writing. */
#define _GNU_SOURCE
#include "bunc.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int bunc_seal_self(char *errbuf)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0) {
		snprintf(errbuf, BUNC_ERRLEN, "open_tree /proc/self/exe: %s", strerror(errno));
		return -errno;
	}
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
		int err = errno;
		snprintf(errbuf, BUNC_ERRLEN, "mount_setattr on our binary: %s", strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}
