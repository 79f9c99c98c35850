/* OCI hooks: a program run with its input (the state, or for precreate the
 * config) on stdin, its stdout and stderr captured, in a process group of
 * its own so that a timeout ends everything it started, and with nothing of
 * ours open in it. Run from the runtime and, for the stages that run in the
 * container's namespaces, from the init: the child is a vfork-style clone
 * that runs only this C up to execve, never JavaScript. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct hook_child {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int in_fd, out_fd, err_fd, errpipe;
};

static int run_hook_child(void *p)
{
	const struct hook_child *h = p;
	if (setpgid(0, 0) < 0)
		bunc_child_fail(h->errpipe, "setpgid");
	if (h->cwd && chdir(h->cwd) < 0)
		bunc_child_fail(h->errpipe, h->cwd);
	if (dup2(h->in_fd, 0) < 0 || dup2(h->out_fd, 1) < 0 || dup2(h->err_fd, 2) < 0)
		bunc_child_fail(h->errpipe, "dup2");
	/* Everything else closes on exec: the error pipe only once exec worked. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		bunc_child_fail(h->errpipe, "close_range");
	execve(h->path, h->argv, h->envp);
	bunc_child_fail(h->errpipe, h->path);
}

static int memfd_with(const char *name, const void *data, uint64_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = len ? bunc_write_full(fd, data, len) : 0;
	if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Waits for pid up to timeout_ms (< 0: without limit): 0 when it exited,
 * 1 when the time ran out (its group is then SIGKILLed and it is reaped). */
static int wait_hook(pid_t pid, int timeout_ms, int *status)
{
	if (timeout_ms >= 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			return -errno;
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int n;
		do
			n = poll(&p, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		int err = errno;
		close(pidfd);
		if (n < 0)
			return -err;
		if (n == 0) {
			kill(-pid, SIGKILL);
			bunc_waitpid(pid, status, 0);
			return 1;
		}
	}
	if (bunc_waitpid(pid, status, 0) < 0)
		return -errno;
	return 0;
}

int bunc_run_hook(const char *path, char *const *argv, char *const *envp, const char *cwd, const void *input,
		  uint64_t input_len, int32_t timeout_ms, int32_t *out, char *errbuf, size_t errlen)
{
	int fds[3] = {-1, -1, -1};
	static const char *const names[3] = {"bunc-hook-in", "bunc-hook-out", "bunc-hook-err"};
	for (int i = 0; i < 3; i++) {
		fds[i] = memfd_with(names[i], i == 0 ? input : NULL, i == 0 ? input_len : 0);
		if (fds[i] < 0) {
			int err = -fds[i];
			for (int j = 0; j < i; j++)
				close(fds[j]);
			return bunc_fail(errbuf, errlen, err, "hook %s: memfd", path);
		}
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		int err = errno;
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		return bunc_fail(errbuf, errlen, err, "hook %s: pipe", path);
	}
	struct hook_child h = {path, argv, envp, cwd, fds[0], fds[1], fds[2], pipefd[1]};
	long pid = bunc_clone_run(0, -1, run_hook_child, &h);
	close(pipefd[1]);
	close(fds[0]);
	int rc = pid < 0 ? bunc_fail(errbuf, errlen, (int)-pid, "hook %s: clone", path)
			 : bunc_child_result(pipefd[0], errbuf, errlen, "hook");
	close(pipefd[0]);
	int status = 0;
	int waited = pid < 0 ? 0 : wait_hook((pid_t)pid, timeout_ms, &status);
	if (rc == 0 && waited < 0)
		rc = bunc_fail(errbuf, errlen, -waited, "hook %s: wait", path);
	if (rc < 0) {
		close(fds[1]);
		close(fds[2]);
		return rc;
	}
	out[0] = status;
	out[1] = fds[1];
	out[2] = fds[2];
	out[3] = waited;
	return 0;
}
