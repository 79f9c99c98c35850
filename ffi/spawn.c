/* Spawning the container's init: clone with the namespace flags, join the
 * namespaces given by path, then re-execute our own (sealed) binary.
 * Between clone and execve the child is a copy of a multi-threaded process,
 * so it makes raw system calls only. */
#define _GNU_SOURCE
#include "bunc.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
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

static int has_pid_join(const struct bunc_spawn *req)
{
	const struct bunc_join *joins = (const void *)(uintptr_t)req->joins;
	for (uint64_t i = 0; i < req->njoins; i++)
		if (joins[i].type == CLONE_NEWPID)
			return 1;
	return 0;
}

static void exec_init(const struct bunc_spawn *req, int errfd)
{
	place_fds(req, errfd);
	if (setsid() < 0)
		child_fail(errfd, "setsid");
	syscall(SYS_execveat, (int)req->exe_fd, "", (char *const *)(uintptr_t)req->argv,
		(char *const *)(uintptr_t)req->envp, AT_EMPTY_PATH);
	child_fail(errfd, "execveat of the runtime binary");
}

int bunc_spawn(const struct bunc_spawn *req, int32_t *out_pid)
{
	char *errbuf = (char *)(uintptr_t)req->errbuf;
	int errpipe[2], pidpipe[2] = {-1, -1};
	int pidjoin = has_pid_join(req);

	errbuf[0] = 0;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	if (pidjoin && pipe2(pidpipe, O_CLOEXEC) < 0) {
		int err = errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return -err;
	}

	/* Joining a pid namespace only affects children, so that case needs a
	 * second process: the first joins, then clones the init as our sibling
	 * (CLONE_PARENT) so that we can wait for it. */
	long pid = pidjoin ? raw_clone(0, -1) : raw_clone(req->clone_flags, req->cgroup_fd);
	if (pid < 0) {
		int err = errno;
		close(errpipe[0]);
		close(errpipe[1]);
		if (pidjoin) {
			close(pidpipe[0]);
			close(pidpipe[1]);
		}
		return -err;
	}
	if (pid == 0) {
		close(errpipe[0]);
		join_namespaces(req, errpipe[1]);
		if (!pidjoin)
			exec_init(req, errpipe[1]);
		long init = raw_clone(req->clone_flags | CLONE_PARENT, req->cgroup_fd);
		if (init < 0)
			child_fail(errpipe[1], "clone into the joined pid namespace");
		if (init == 0)
			exec_init(req, errpipe[1]);
		int32_t p = (int32_t)init;
		(void)!write(pidpipe[1], &p, sizeof p);
		_exit(0);
	}

	close(errpipe[1]);
	if (pidjoin) {
		int32_t p = -1;
		close(pidpipe[1]);
		ssize_t n = read(pidpipe[0], &p, sizeof p);
		close(pidpipe[0]);
		waitpid((pid_t)pid, NULL, 0);
		if (n == sizeof p)
			pid = p;
		else
			pid = -1;
	}

	/* EOF on the error pipe means execveat succeeded (the pipe is CLOEXEC). */
	int err = 0;
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
