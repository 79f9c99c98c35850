/* Thin system-call wrappers for the TypeScript side. Each returns the result
 * or -errno, so no errno has to be fetched across the FFI boundary. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int bunc_mount(const char *src, const char *target, const char *fstype, uint64_t flags, const char *data)
{
	RET(mount(src, target, fstype, (unsigned long)flags, data));
}

int bunc_umount(const char *target, int flags) { RET(umount2(target, flags)); }

int bunc_pivot_root(const char *new_root, const char *put_old)
{
	RET((int)syscall(SYS_pivot_root, new_root, put_old));
}

int bunc_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
	RET((int)syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int bunc_mkdirat(int dirfd, const char *name, uint32_t mode) { RET(mkdirat(dirfd, name, mode)); }

int bunc_mknodat(int dirfd, const char *name, uint32_t mode, uint32_t major, uint32_t minor)
{
	RET(mknodat(dirfd, name, mode, makedev(major, minor)));
}

int bunc_symlinkat(const char *target, int dirfd, const char *name) { RET(symlinkat(target, dirfd, name)); }

int bunc_fchownat(int dirfd, const char *name, uint32_t uid, uint32_t gid)
{
	RET(fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH)));
}

int bunc_mkfifo(const char *path, uint32_t mode) { RET(mkfifo(path, mode)); }

int bunc_sethostname(const char *name) { RET(sethostname(name, strlen(name))); }

int bunc_setdomainname(const char *name) { RET(setdomainname(name, strlen(name))); }

int bunc_set_dumpable(int on) { RET(prctl(PR_SET_DUMPABLE, on, 0, 0, 0)); }

int bunc_kill(int pid, int sig) { RET(kill(pid, sig)); }

/* Reaps pid if it has exited: 1 and its status; 0 while it runs; -errno. */
int bunc_reap(int pid, int32_t *status)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG | __WALL);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	*status = st;
	return 1;
}

int bunc_close(int fd) { RET(close(fd)); }

int bunc_dup2(int from, int to) { RET(dup2(from, to)); }

/* A close-on-exec copy of fd, above stdio. */
int bunc_dup(int fd) { RET(fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

int bunc_loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	int err = errno;
	close(fd);
	return rc < 0 ? -err : 0;
}

int bunc_fchdir(int fd) { RET(fchdir(fd)); }

int bunc_chroot(const char *path) { RET(chroot(path)); }

/* The MS_* flags a mount currently has, for a remount that must keep them. */
int bunc_mount_flags(const char *path)
{
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return -errno;
	int out = 0;
	static const struct { unsigned long st, ms; } map[] = {
		{ST_RDONLY, MS_RDONLY}, {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV},
		{ST_NOEXEC, MS_NOEXEC}, {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
		{ST_RELATIME, MS_RELATIME}, {ST_SYNCHRONOUS, MS_SYNCHRONOUS}, {ST_MANDLOCK, MS_MANDLOCK},
	};
	for (unsigned i = 0; i < sizeof map / sizeof map[0]; i++)
		if (st.f_flag & map[i].st)
			out |= map[i].ms;
	return out;
}

/* The CLONE_NEW* type of a namespace fd (NS_GET_NSTYPE). */
int bunc_ns_type(int fd) { RET(ioctl(fd, _IO(0xb7, 0x3))); }

/* bpf(2) with an attr the TypeScript side laid out. */
int bunc_bpf(int cmd, void *attr, uint32_t size) { RET(syscall(SYS_bpf, cmd, attr, size)); }

/* The soft and hard limit of a resource of this process. */
int bunc_getrlimit(int resource, uint64_t *out)
{
	struct rlimit lim;
	if (getrlimit(resource, &lim) < 0)
		return -errno;
	out[0] = lim.rlim_cur;
	out[1] = lim.rlim_max;
	return 0;
}

/* The filesystem type (statfs f_type) of an fd, to check that a /proc is procfs. */
long bunc_fs_magic(int fd)
{
	struct statfs st;
	if (fstatfs(fd, &st) < 0)
		return -errno;
	return (long)(unsigned long)st.f_type;
}

int bunc_unlinkat(int dirfd, const char *name, int flags) { RET(unlinkat(dirfd, name, flags)); }

/* rename(2) with flags such as RENAME_NOREPLACE, which fs.renameSync lacks. */
int bunc_renameat2(int olddirfd, const char *oldname, int newdirfd, const char *newname, uint32_t flags)
{
	RET(syscall(SYS_renameat2, olddirfd, oldname, newdirfd, newname, flags));
}

/* mount_setattr(2) on path (relative to dirfd), recursively when asked. */
int bunc_mount_setattr(int dirfd, const char *path, int recursive, uint64_t set, uint64_t clr, uint64_t propagation)
{
	struct mount_attr attr = {.attr_set = set, .attr_clr = clr, .propagation = propagation};
	unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	RET(syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr));
}
