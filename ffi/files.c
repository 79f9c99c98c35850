/* The file operations an image layer needs beyond sys.c's, each relative to
 * a directory fd (opened inside the root by the caller) and never following
 * a symlink in its last component. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

int bunc_linkat(int olddirfd, const char *oldname, int newdirfd, const char *newname)
{
	RET(linkat(olddirfd, oldname, newdirfd, newname, 0));
}

/* fchmodat has no AT_SYMLINK_NOFOLLOW before fchmodat2, and a name can be
 * a symlink even for a hardlink entry (a hardlink to a symlink): the inode
 * is pinned by an O_PATH fd and changed through it, and a symlink, which
 * has no mode of its own, is left as it is. */
int bunc_fchmodat(int dirfd, const char *name, uint32_t mode)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
	} else if (!S_ISLNK(st.st_mode)) {
		char path[32];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if (chmod(path, (mode_t)mode) < 0)
			rc = -errno;
	}
	close(fd);
	return rc;
}

int bunc_utimensat(int dirfd, const char *name, int64_t sec, int64_t nsec)
{
	struct timespec t[2] = {{.tv_sec = sec, .tv_nsec = nsec}, {.tv_sec = sec, .tv_nsec = nsec}};
	RET(utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW));
}

/* lsetxattr of name in dirfd, reached through the fd's magic link: the
 * directory is the fd's, whatever its path has become. */
int bunc_setxattrat(int dirfd, const char *name, const char *key, const void *value, uint64_t len)
{
	char path[4200];
	if (snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof path)
		return -ENAMETOOLONG;
	RET(lsetxattr(path, key, value, (size_t)len, 0));
}
