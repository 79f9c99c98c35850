/* A sealed view of our own binary for re-executing it as the init
 * (CVE-2019-5736): a detached clone of its mount, made read-only, so no
 * container process can reopen the inode for writing. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int bunc_seal_self(char *errbuf, size_t errlen)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return bunc_fail(errbuf, errlen, errno, "open_tree /proc/self/exe");
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "mount_setattr on our binary");
		close(fd);
		return rc;
	}
	return fd;
}
