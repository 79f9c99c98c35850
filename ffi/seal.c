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
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Without the privilege to clone a mount (rootless): the binary itself, if
 * the caller can neither write it nor make it writable (it is not its
 * owner), since a container process has no more than the caller's rights
 * on host files; else a sealed memfd copy (slow and large, but safe). */
static int unprivileged_view(char *errbuf, size_t errlen)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bunc_fail(errbuf, errlen, errno, "open /proc/self/exe");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "fstat our binary");
		close(fd);
		return rc;
	}
	if (st.st_uid != geteuid() && faccessat(AT_FDCWD, "/proc/self/exe", W_OK, AT_EACCESS) < 0 &&
	    (errno == EACCES || errno == EROFS))
		return fd;
	/* MFD_EXEC: where vm.memfd_noexec is set, a memfd is otherwise not executable
	 * (kernels before 6.3 do not know the flag). */
	int copy = memfd_create("bunc", MFD_CLOEXEC | MFD_ALLOW_SEALING | BUNC_MFD_EXEC);
	if (copy < 0)
		copy = memfd_create("bunc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "memfd_create for a sealed copy of our binary");
		close(fd);
		return rc;
	}
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = sendfile(copy, fd, NULL, (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = bunc_fail(errbuf, errlen, n < 0 ? errno : EIO, "copy our binary into a memfd");
			close(fd);
			close(copy);
			return rc;
		}
		left -= n;
	}
	close(fd);
	if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "seal the copy of our binary");
		close(copy);
		return rc;
	}
	return copy;
}

int bunc_seal_self(char *errbuf, size_t errlen)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		return unprivileged_view(errbuf, errlen);
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
