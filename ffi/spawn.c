/* Spawning the container's init: clone with the namespace flags, join the
 * namespaces the config gives by path (opened by the runtime, joined by fd),
 * then re-execute our own (sealed) binary.
 * Between clone and execve the child is a copy of a multi-threaded process,
 * so it makes raw system calls only. */
#define _GNU_SOURCE
#include "bunc.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Child side: write "what failed" and errno to the error pipe, exit. */
static void child_fail(int errfd, const char *what)
{
	int err = errno;
	(void)!write(errfd, &err, sizeof err);
	(void)!write(errfd, what, strlen(what));
	_exit(127);
}

/* fork-style clone (no new stack: the child continues here). With a cgroup
 * fd the child starts in that cgroup2 directory (CLONE_INTO_CGROUP), which
 * unlike a later cgroup.procs write takes no lock that waits for an RCU
 * grace period. */
static long raw_clone(uint64_t flags, int64_t cgroup_fd)
{
	if (cgroup_fd < 0)
		return syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = (flags & ~(uint64_t)CSIGNAL) | CLONE_INTO_CGROUP;
	/* With CLONE_PARENT the child inherits our exit signal; clone3 wants 0. */
	args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
	args.cgroup = (uint64_t)cgroup_fd;
	return syscall(SYS_clone3, &args, sizeof args);
}

static void place_fds(const struct bunc_spawn *req, int errfd)
{
	const struct bunc_fdmap *map = (const void *)(uintptr_t)req->fdmap;
	int tmp[48];
	if (req->nfdmap > 48)
		child_fail(errfd, "too many fds to pass");
	/* Two passes so a source that equals another entry's target survives. */
	for (uint64_t i = 0; i < req->nfdmap; i++) {
		tmp[i] = fcntl(map[i].src, F_DUPFD_CLOEXEC, 64);
		if (tmp[i] < 0)
			child_fail(errfd, "dup fd for init");
	}
	for (uint64_t i = 0; i < req->nfdmap; i++)
		if (dup2(tmp[i], map[i].dst) < 0)
			child_fail(errfd, "dup2 fd for init");
}

static void join_namespaces(const struct bunc_spawn *req, int errfd)
{
	const struct bunc_join *joins = (const void *)(uintptr_t)req->joins;
	/* The caller orders joins (user first); setns by fd. */
	for (uint64_t i = 0; i < req->njoins; i++)
		if (setns(joins[i].fd, joins[i].type) < 0)
			child_fail(errfd, "setns");
}

static int has_join(const struct bunc_spawn *req, int type)
{
	const struct bunc_join *joins = (const void *)(uintptr_t)req->joins;
	for (uint64_t i = 0; i < req->njoins; i++)
		if (joins[i].type == type)
			return 1;
	return 0;
}

/* In a user namespace, the init runs as its root: the uid and gid that the
 * mappings give to container uid 0 on the host. */
static void become_ns_root(int errfd)
{
	if (syscall(SYS_setresgid, 0, 0, 0) < 0)
		child_fail(errfd, "setresgid to the user namespace's root");
	/* A joined namespace may deny setgroups; no supplementary groups then. */
	if (syscall(SYS_setgroups, 0, NULL) < 0 && errno != EPERM)
		child_fail(errfd, "setgroups in the user namespace");
	if (syscall(SYS_setresuid, 0, 0, 0) < 0)
		child_fail(errfd, "setresuid to the user namespace's root");
}

/* A time namespace cannot be made by clone with offsets: unshare it for
 * our children, set its offsets while no process is in it yet, and let
 * execve move us into it. */
static void new_time_namespace(const char *offsets, int errfd)
{
	if (unshare(CLONE_NEWTIME) < 0)
		child_fail(errfd, "unshare a time namespace");
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		child_fail(errfd, "open timens_offsets");
	if (offsets[0] && write(fd, offsets, strlen(offsets)) != (ssize_t)strlen(offsets))
		child_fail(errfd, "write linux.timeOffsets");
	close(fd);
}

static void exec_init(const struct bunc_spawn *req, int errfd, int in_userns)
{
	/* Out of the way of the fixed numbers place_fds writes. */
	errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 64);
	int exe = fcntl((int)req->exe_fd, F_DUPFD_CLOEXEC, 64);
	if (errfd < 0 || exe < 0)
		_exit(127);
	place_fds(req, errfd);
	if (setsid() < 0)
		child_fail(errfd, "setsid");
	if (in_userns)
		become_ns_root(errfd);
	else if (syscall(SYS_setresgid, 65534, 0, 0) < 0)
		/* A real gid unlike the effective one makes execve start the init
		 * non-dumpable: no window before it says so itself in which a
		 * process of a joined pid namespace could ptrace it (CVE-2016-9962).
		 * The final act sets all three gids. */
		child_fail(errfd, "setresgid");
	if (req->time_offsets)
		new_time_namespace((const char *)(uintptr_t)req->time_offsets, errfd);
	syscall(SYS_execveat, exe, "", (char *const *)(uintptr_t)req->argv,
		(char *const *)(uintptr_t)req->envp, AT_EMPTY_PATH);
	child_fail(errfd, "execveat of the runtime binary");
}

/* Writes a uid_map or gid_map of process pid; the error names the config field. */
int bunc_write_id_map(long pid, const char *file, const char *map, char *errbuf)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) {
		int err = errno;
		snprintf(errbuf, BUNC_ERRLEN, "write %s (%sMappings): %s", file, file[0] == 'u' ? "uid" : "gid",
			 strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	close(fd);
	return 0;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* The init is cloned with the new namespaces. Joining a pid or user
 * namespace takes a second process: the first joins, then clones the init
 * as our sibling (CLONE_PARENT), so that joined namespaces own the new ones
 * and we can still wait for the init. A new user namespace gets its id
 * mappings from us while the child waits. */
int bunc_spawn(const struct bunc_spawn *req, int32_t *out_pid)
{
	char *errbuf = (char *)(uintptr_t)req->errbuf;
	int errpipe[2] = {-1, -1}, pidpipe[2] = {-1, -1}, syncpipe[2] = {-1, -1};
	int newuser = (req->clone_flags & CLONE_NEWUSER) != 0;
	int userjoin = has_join(req, CLONE_NEWUSER);
	int twostage = has_join(req, CLONE_NEWPID) || userjoin;
	int err;

	errbuf[0] = 0;
	if (newuser && twostage) {
		strcpy(errbuf, "a new user namespace cannot be combined with joined pid or user namespaces");
		return -EINVAL;
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0 || (twostage && pipe2(pidpipe, O_CLOEXEC) < 0) ||
	    (newuser && pipe2(syncpipe, O_CLOEXEC) < 0)) {
		err = errno;
		close_pair(errpipe);
		close_pair(pidpipe);
		return -err;
	}

	long pid = twostage ? raw_clone(0, -1) : raw_clone(req->clone_flags, req->cgroup_fd);
	if (pid < 0) {
		err = errno;
		close_pair(errpipe);
		close_pair(pidpipe);
		close_pair(syncpipe);
		return -err;
	}
	if (pid == 0) {
		close(errpipe[0]);
		if (!twostage) {
			if (newuser) {
				char go;
				close(syncpipe[1]);
				if (read(syncpipe[0], &go, 1) != 1)
					_exit(1);
			}
			join_namespaces(req, errpipe[1]);
			exec_init(req, errpipe[1], newuser);
		}
		join_namespaces(req, errpipe[1]);
		long init = raw_clone(req->clone_flags | CLONE_PARENT, req->cgroup_fd);
		if (init < 0)
			child_fail(errpipe[1], "clone into the joined namespaces");
		if (init == 0)
			exec_init(req, errpipe[1], userjoin);
		int32_t p = (int32_t)init;
		(void)!write(pidpipe[1], &p, sizeof p);
		_exit(0);
	}

	close(errpipe[1]);
	if (newuser) {
		close(syncpipe[0]);
		int rc = bunc_write_id_map(pid, "uid_map", (const char *)(uintptr_t)req->uid_map, errbuf);
		if (rc == 0)
			rc = bunc_write_id_map(pid, "gid_map", (const char *)(uintptr_t)req->gid_map, errbuf);
		if (rc < 0) {
			close(syncpipe[1]);
			close(errpipe[0]);
			kill((pid_t)pid, SIGKILL);
			waitpid((pid_t)pid, NULL, 0);
			return rc;
		}
		(void)!write(syncpipe[1], "1", 1);
		close(syncpipe[1]);
	}
	if (twostage) {
		int32_t p = -1;
		close(pidpipe[1]);
		ssize_t n = read(pidpipe[0], &p, sizeof p);
		close(pidpipe[0]);
		waitpid((pid_t)pid, NULL, 0);
		pid = n == sizeof p ? p : -1;
	}

	/* EOF on the error pipe means execveat succeeded (the pipe is CLOEXEC). */
	err = 0;
	ssize_t n = read(errpipe[0], &err, sizeof err);
	if (n == sizeof err) {
		ssize_t m = read(errpipe[0], errbuf, BUNC_ERRLEN - 1);
		errbuf[m > 0 ? m : 0] = 0;
		close(errpipe[0]);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return err ? -err : -EIO;
	}
	close(errpipe[0]);
	if (pid < 0) {
		strcpy(errbuf, "lost the init's pid");
		return -EIO;
	}
	*out_pid = (int32_t)pid;
	return 0;
}
