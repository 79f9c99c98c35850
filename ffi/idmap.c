/* Detached mount trees: id-mapped clones with a user namespace carrying a
 * mount's mappings, plain clones (read-only paths), and attaching
 * such a tree where the init wants it. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


/* A user namespace holding the given mappings: made by a child that waits
 * until we have opened its namespace, then exits. */
int bunc_userns_fd(const char *uid_map, const char *gid_map, char *errbuf, size_t errlen)
{
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		return bunc_fail(errbuf, errlen, errno, "pipe for an id-mapped mount's user namespace");
	long pid = bunc_clone_child(CLONE_NEWUSER, -1);
	if (pid < 0) {
		close(hold[0]);
		close(hold[1]);
		return bunc_fail(errbuf, errlen, (int)-pid, "clone a user namespace for an id-mapped mount");
	}
	if (pid == 0) {
		char c;
		close(hold[1]);
		/* Returns at end of file: when the runtime is done or gone. */
		(void)bunc_read_full(hold[0], &c, 1);
		_exit(0);
	}
	close(hold[0]);
	int rc = bunc_write_map(pid, "uid_map", uid_map, errbuf, errlen);
	if (rc == 0)
		rc = bunc_write_map(pid, "gid_map", gid_map, errbuf, errlen);
	int fd = -1;
	if (rc == 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			rc = bunc_fail(errbuf, errlen, errno, "open %s", path);
	}
	close(hold[1]);
	bunc_waitpid((pid_t)pid, NULL, 0);
	return rc < 0 ? rc : fd;
}

/* A detached clone of the mount at source, id-mapped through userns_fd. */
int bunc_idmapped_tree(const char *source, int userns_fd, int recursive, char *errbuf, size_t errlen)
{
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (fd < 0)
		return bunc_fail(errbuf, errlen, errno, "open_tree %s", source);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0) {
		int rc = bunc_fail(errbuf, errlen, errno, "id-map %s", source);
		close(fd);
		return rc;
	}
	return fd;
}

/* Attaches a detached mount tree at to_path. */
int bunc_move_mount(int from_fd, const char *to_path)
{
	/* to_path is a /proc/self/fd magic link: follow it. */
	if (syscall(SYS_move_mount, from_fd, "", AT_FDCWD, to_path, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
		return -errno;
	return 0;
}

/* A detached clone of the mount tree at fd (itself and, recursively, what is below). */
int bunc_clone_tree(int fd, int recursive)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	int tree = (int)syscall(SYS_open_tree, fd, "", flags);
	return tree < 0 ? -errno : tree;
}
