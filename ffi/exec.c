/* `exec`: a new process in a running container, made without the runtime's
 * JavaScript or binary ever entering the container. A vfork-style child
 * joins the container's namespaces, the user namespace first (a time
 * namespace takes effect at its execve) and the pid namespace last: setns
 * of a pid namespace affects only children, so the child clones the
 * process itself, as the runtime's child (CLONE_PARENT), for the runtime to
 * wait for. (The runtime cannot join the pid namespace for its children and
 * come back when it lacks CAP_SYS_ADMIN over its own, as when rootless, and
 * a process whose children's pid namespace is not its own cannot make the
 * threads Bun makes.) The process opens a pty in the container's devpts
 * when asked and makes the final act (final.c): cgroups, limits,
 * credentials, seccomp, execve. The runtime is made non-dumpable first: the
 * children share its memory while they run inside the container's user
 * namespace. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct exec_child {
	const struct bunc_final *final;
	const struct bunc_join *joins;
	uint64_t njoins;
	int console_sock;
	const struct bunc_exec_extra *extra;
	/* The pid namespace is joined by the child, last (after a user
	 * namespace that grants it the right), and the process is a second
	 * child, the runtime's by CLONE_PARENT: its pid goes here. */
	long process;
};

#define FAILX(c, ...) bunc_fail((char *)(uintptr_t)(c)->final->errbuf, (size_t)(c)->final->errlen, errno, __VA_ARGS__)

static int exec_process(void *p);

static int exec_child(void *p)
{
	struct exec_child *c = p;
	int pid_ns = -1;
	for (uint64_t i = 0; i < c->njoins; i++) {
		int type = c->joins[i].type;
		if (type == CLONE_NEWPID) {
			pid_ns = c->joins[i].fd;
			continue;
		}
		if (setns(c->joins[i].fd, type) < 0) {
			FAILX(c, "join the container's namespaces: setns");
			_exit(127);
		}
	}
	if (pid_ns >= 0) {
		if (setns(pid_ns, CLONE_NEWPID) < 0) {
			FAILX(c, "join the container's pid namespace for the process");
			_exit(127);
		}
		long pid = bunc_clone_run(CLONE_PARENT, -1, exec_process, c);
		if (pid < 0) {
			errno = (int)-pid;
			FAILX(c, "clone the process into the container's pid namespace");
			_exit(127);
		}
		c->process = pid;
		_exit(0);
	}
	return exec_process(c);
}

/* In every namespace of the container: the process's own settings, its
 * terminal, and the final act. */
static int exec_process(void *p)
{
	const struct exec_child *c = p;
	struct bunc_final f = *c->final;
	if (c->console_sock >= 0) {
		/* A terminal needs a session of its own to become its controlling one. */
		if (setsid() < 0) {
			FAILX(c, "setsid for the terminal");
			_exit(127);
		}
		int32_t master = -1, peer = -1;
		if (bunc_pty_open(&master, &peer, (char *)(uintptr_t)f.errbuf, (size_t)f.errlen) < 0)
			_exit(127);
		if (c->extra->rows && bunc_set_winsize(master, c->extra->rows, c->extra->cols) < 0) {
			FAILX(c, "process.consoleSize: set the terminal size");
			_exit(127);
		}
		int rc = bunc_send_fd(c->console_sock, master);
		close(master);
		close(c->console_sock);
		if (rc < 0) {
			errno = -rc;
			FAILX(c, "send the pty master to the console socket");
			_exit(127);
		}
		f.tty_fd = (uint64_t)peer;
	}
	bunc_exec_final(&f);
	_exit(127);
}

int bunc_exec_process(const struct bunc_final *final, const struct bunc_join *joins, uint64_t njoins,
		      int64_t cgroup_fd, int32_t console_sock, const struct bunc_exec_extra *extra, int32_t *out_pid)
{
	char *errbuf = (char *)(uintptr_t)final->errbuf;
	size_t errlen = (size_t)final->errlen;
	if (errlen)
		errbuf[0] = 0;
	if (njoins > BUNC_MAX_JOINS)
		return bunc_refuse(errbuf, errlen, E2BIG, "bunc_exec_process: too many namespaces to join");
	/* process.oomScoreAdj is set on ourselves, for the process to inherit, while
	 * our /proc entry is still ours to open: in a user namespace, or once we
	 * are non-dumpable, it is the host root's (as with create's spawn). */
	if (extra->set_oom_score_adj) {
		char v[16];
		int n = snprintf(v, sizeof v, "%d", (int)extra->oom_score_adj);
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		int rc = fd < 0 ? -1 : bunc_write_full(fd, v, (size_t)n);
		int err = errno;
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			return bunc_fail(errbuf, errlen, err, "process.oomScoreAdj: write \"%s\" to /proc/self/oom_score_adj", v);
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return bunc_fail(errbuf, errlen, errno, "make the runtime non-dumpable");
	struct exec_child c = {final, joins, njoins, console_sock, extra, -1};
	long pid = bunc_clone_run(0, cgroup_fd, exec_child, &c);
	if (pid < 0)
		return bunc_fail(errbuf, errlen, (int)-pid, "clone the process");
	if (c.process > 0) {
		bunc_waitpid((pid_t)pid, NULL, 0);
		pid = c.process;
	}
	/* The child shares our memory until it execs: a failure left its reason here. */
	if (errlen && errbuf[0]) {
		bunc_waitpid((pid_t)pid, NULL, 0);
		return -EIO;
	}
	*out_pid = (int32_t)pid;
	return 0;
}
