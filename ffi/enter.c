/* The enter stage of a container with a user namespace (see spawn.c).
 *
 * The runtime execs its own binary with this C object preloaded; this
 * constructor runs before the runtime's own code and before its first
 * thread, so it can still join and make namespaces. It acts only when
 * _BUNC_ENTER names the fd of a request the runtime's child wrote (the
 * runtime itself, loading this object later, has no such variable). It
 * joins the given namespaces (the user namespace first), makes the new
 * ones (a new user namespace first, its mappings written by the runtime),
 * becomes the namespace's root, and forks: the child goes on to be the
 * container's init, the stage reports its pid and exits. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void become_ns_root(int errfd)
{
	if (syscall(SYS_setresgid, 0, 0, 0) < 0)
		bunc_child_fail(errfd, "setresgid to the user namespace's root");
	/* A joined namespace may deny setgroups; no supplementary groups then. */
	if (syscall(SYS_setgroups, 0, NULL) < 0 && errno != EPERM)
		bunc_child_fail(errfd, "setgroups in the user namespace");
	if (syscall(SYS_setresuid, 0, 0, 0) < 0)
		bunc_child_fail(errfd, "setresuid to the user namespace's root");
	/* A change of credentials resets dumpable to fs.suid_dumpable. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bunc_child_fail(errfd, "make the init non-dumpable");
}

static void set_time_offsets(const char *offsets, int errfd)
{
	if (!offsets[0])
		return;
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bunc_child_fail(errfd, "open timens_offsets");
	if (bunc_write_full(fd, offsets, strlen(offsets)) < 0)
		bunc_child_fail(errfd, "write linux.timeOffsets");
	close(fd);
}

static void new_user_namespace(const struct bunc_enter *e)
{
	char go;
	if (unshare(CLONE_NEWUSER) < 0)
		bunc_child_fail(e->err_fd, "unshare a user namespace");
	/* A runtime that is not the host's root (or its newuidmap) can open our
	 * uid_map only while we are dumpable: /proc/<pid> of a non-dumpable
	 * process is root's. We are then the caller's own ids, which nothing
	 * else may trace; nothing else is in the new namespace yet, and
	 * become_ns_root makes us non-dumpable again once the maps are
	 * written. For the host's root we stay non-dumpable: as root we could
	 * be traced by any process with uid 0. */
	if (e->unprivileged && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		bunc_child_fail(e->err_fd, "let the runtime write the id mappings");
	if (bunc_write_full(e->sync_fd, "U", 1) < 0 || bunc_read_full(e->sync_fd, &go, 1) < 0 || go != 'G')
		bunc_child_fail(e->err_fd, "wait for the runtime to write the id mappings");
}

static void enter(const struct bunc_enter *e)
{
	int errfd = e->err_fd;
	for (uint64_t i = 0; i < e->njoins; i++) {
		if (setns(e->joins[i].fd, e->joins[i].type) < 0)
			bunc_child_fail(errfd, "setns");
		close(e->joins[i].fd);
	}
	if (e->clone_flags & CLONE_NEWUSER)
		new_user_namespace(e);
	become_ns_root(errfd);
	/* Owned by the user namespace we are now in, as clone would make them. */
	int rest = (int)(e->clone_flags & ~(uint64_t)CLONE_NEWUSER);
	if (rest && unshare(rest) < 0)
		bunc_child_fail(errfd, "unshare the container's namespaces");
	if (rest & CLONE_NEWTIME)
		set_time_offsets(e->time_offsets, errfd);

	pid_t init = fork();
	if (init < 0)
		bunc_child_fail(errfd, "fork the init");
	if (init > 0) {
		int32_t pid = init;
		if (bunc_write_full(e->pid_fd, &pid, sizeof pid) < 0) {
			kill(init, SIGKILL);
			bunc_child_fail(errfd, "report the init's pid");
		}
		_exit(0);
	}
	/* A session of its own, so that a terminal can become its controlling one. */
	if (setsid() < 0)
		bunc_child_fail(errfd, "setsid");
	/* The init keeps only its own fds; the stage's (error pipe included,
	 * whose end of file tells the runtime all went well) close here. */
	syscall(SYS_close_range, (unsigned)e->nfds, ~0U, 0);
}

__attribute__((constructor)) static void bunc_enter_stage(void)
{
	const char *spec = getenv("_BUNC_ENTER");
	if (!spec)
		return;
	/* Nothing of this stage may reach the init's environment. */
	int fd = atoi(spec);
	unsetenv("_BUNC_ENTER");
	unsetenv("LD_PRELOAD");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(127);
	struct bunc_enter e;
	if (fd < 3 || bunc_read_full(fd, &e, sizeof e) < 0 || e.size != sizeof e || e.njoins > BUNC_MAX_JOINS ||
	    e.err_fd < 3 || e.nfds < 3)
		_exit(127);
	close(fd);
	e.time_offsets[sizeof e.time_offsets - 1] = 0;
	enter(&e);
}
