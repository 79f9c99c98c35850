/* Loading a seccomp filter: in the init's last act, and in a throwaway
 * child at create so that a filter the kernel refuses fails early. With
 * SCMP_ACT_NOTIFY the kernel hands back a listener fd, which final.c sends
 * with the container process state to the agent's socket (runtime-spec
 * config-linux "The Container Process State"). */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fd of a new listener, 0 without one, -errno on failure. */
BUNC_HIDDEN int bunc_seccomp_load(const void *prog, uint32_t len, uint32_t flags)
{
	struct sock_fprog fprog = {.len = (unsigned short)len, .filter = (struct sock_filter *)prog};
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	if (rc < 0)
		return -errno;
	return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? (int)rc : 0;
}

struct check {
	const void *prog;
	uint32_t len;
	uint32_t flags;
};

/* Exits with 0, or with the errno of what failed. */
static int check_child(void *arg)
{
	const struct check *c = arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(errno & 0xff);
	int rc = bunc_seccomp_load(c->prog, c->len, c->flags);
	_exit(rc < 0 ? -rc & 0xff : 0);
}

int bunc_seccomp_check(const void *prog, uint32_t len, uint32_t flags, char *errbuf, size_t errlen)
{
	if (len == 0 || len > BUNC_MAX_FILTER)
		return bunc_refuse(errbuf, errlen, EINVAL, "a filter of %u instructions", len);
	struct check c = {.prog = prog, .len = len, .flags = flags};
	long pid = bunc_clone_run(0, -1, check_child, &c);
	if (pid < 0)
		return bunc_fail(errbuf, errlen, (int)-pid, "clone to try the seccomp filter");
	int status = 0;
	if (bunc_waitpid((pid_t)pid, &status, 0) < 0)
		return bunc_fail(errbuf, errlen, errno, "wait for the seccomp trial");
	if (!WIFEXITED(status))
		return bunc_refuse(errbuf, errlen, EIO, "the seccomp trial ended by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return bunc_fail(errbuf, errlen, WEXITSTATUS(status), "the kernel refuses the filter");
	return 0;
}
