/* The last steps of the init, on one thread with nothing in between: wait for
 * `start`, join the container's cgroups, set limits and credentials, reset
 * what Bun changed in the process, execve the user's program. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The failure of the last call, in the request's error buffer. */
#define FAIL(r, ...) bunc_fail((char *)(uintptr_t)(r)->errbuf, (size_t)(r)->errlen, errno, __VA_ARGS__)

static void die_on_signal(int sig)
{
	_exit(128 + sig);
}

/* A created container's init is PID 1 of its namespace: without a handler the
 * signals `kill` sends would be ignored, so each of them ends it. Faults and
 * the signals Bun's runtime uses for itself keep their handlers. */
static const int EXIT_SIGNALS[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};

static void exit_on_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = die_on_signal;
	for (unsigned i = 0; i < sizeof EXIT_SIGNALS / sizeof EXIT_SIGNALS[0]; i++)
		sigaction(EXIT_SIGNALS[i], &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/* Opens the fifo through the state directory's fd: no /proc needed, which
 * a non-dumpable init in a user namespace may not be allowed to use. */
int bunc_wait_start(int dir_fd, char *errbuf, size_t errlen)
{
	exit_on_signals();
	int fd;
	do
		fd = openat(dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return bunc_fail(errbuf, errlen, errno, "open exec fifo");
	int rc = bunc_write_full(fd, "0", 1);
	if (rc < 0) {
		close(fd);
		return bunc_fail(errbuf, errlen, -rc, "write exec fifo");
	}
	close(dir_fd);
	/* Kept open (close-on-exec) until the final execve: `start` may wait
	 * for its end, or read why the container failed before it. */
	return fd;
}

static int join_cgroups(const struct bunc_final *r)
{
	const int32_t *fds = (const void *)(uintptr_t)r->cgroup_fds;
	for (uint64_t i = 0; i < r->ncgroup_fds; i++) {
		int rc = bunc_write_full(fds[i], "0", 1);
		if (rc < 0) {
			errno = -rc;
			return FAIL(r, "join the container's cgroup");
		}
		close(fds[i]);
	}
	return 0;
}

static int set_rlimits(const struct bunc_final *r)
{
	const struct bunc_rlimit *rl = (const void *)(uintptr_t)r->rlimits;
	for (uint64_t i = 0; i < r->nrlimits; i++) {
		struct rlimit lim = {.rlim_cur = rl[i].soft, .rlim_max = rl[i].hard};
		if (setrlimit((int)rl[i].type, &lim) < 0)
			return FAIL(r, "process.rlimits[%llu]: setrlimit", (unsigned long long)i);
	}
	return 0;
}

static int set_tty(const struct bunc_final *r)
{
	int fd = (int)r->tty_fd;
	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		return FAIL(r, "make the pty the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return FAIL(r, "dup pty to stdio");
	if (fd > 2)
		close(fd);
	return 0;
}

/* Raw system calls: they change this thread only, the one that execs. */
static int set_credentials(const struct bunc_final *r)
{
	for (uint64_t cap = 0; cap <= r->cap_last; cap++)
		if (!(r->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return FAIL(r, "process.capabilities.bounding: drop capability %llu", (unsigned long long)cap);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return FAIL(r, "keep capabilities across the change of user");
	/* A user namespace mapped by an unprivileged caller itself denies
	 * setgroups: with no groups asked for, the process keeps those it has. */
	if (syscall(SYS_setgroups, (size_t)r->ngroups, (const uint32_t *)(uintptr_t)r->groups) < 0 &&
	    !(errno == EPERM && r->ngroups == 0))
		return FAIL(r, "process.user.additionalGids: setgroups");
	if (syscall(SYS_setresgid, (gid_t)r->gid, (gid_t)r->gid, (gid_t)r->gid) < 0)
		return FAIL(r, "process.user.gid: setresgid");
	if (syscall(SYS_setresuid, (uid_t)r->uid, (uid_t)r->uid, (uid_t)r->uid) < 0)
		return FAIL(r, "process.user.uid: setresuid");

	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(r->cap_effective >> (32 * i));
		data[i].permitted = (uint32_t)(r->cap_permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(r->cap_inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return FAIL(r, "process.capabilities: capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return FAIL(r, "clear ambient capabilities");
	for (uint64_t cap = 0; cap <= r->cap_last; cap++)
		if ((r->cap_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return FAIL(r, "process.capabilities.ambient: raise capability %llu", (unsigned long long)cap);
	if (r->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return FAIL(r, "process.noNewPrivileges: set no_new_privs");
	return 0;
}

/* Undo what the Bun process changed that execve keeps: ignored signals
 * (handled ones are reset by execve itself), the mask, O_NONBLOCK. */
static void reset_process(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			sigaction(sig, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (int fd = 0; fd < 3; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
}

static int set_affinity(const struct bunc_final *r, uint64_t mask, const char *field)
{
	if (mask && syscall(SYS_sched_setaffinity, 0, (size_t)r->cpus_size, (void *)(uintptr_t)mask) < 0)
		return FAIL(r, "%s: sched_setaffinity", field);
	return 0;
}

/* Per-thread attributes, set on the thread that execs (before credentials
 * drop the capabilities some of them need). */
static int set_scheduling(const struct bunc_final *r)
{
	if (r->personality != UINT64_MAX && syscall(SYS_personality, (unsigned long)r->personality) < 0)
		return FAIL(r, "linux.personality: personality");
	/* ioprio_set(IOPRIO_WHO_PROCESS, 0 = this thread, value) */
	if (r->ioprio != UINT64_MAX && syscall(SYS_ioprio_set, 1, 0, (int)r->ioprio) < 0)
		return FAIL(r, "process.ioPriority: ioprio_set");
	if (r->sched_attr && syscall(SYS_sched_setattr, 0, (void *)(uintptr_t)r->sched_attr, 0) < 0)
		return FAIL(r, "process.scheduler: sched_setattr");
	if (r->mpol_mode != UINT64_MAX &&
	    syscall(SYS_set_mempolicy, (int)r->mpol_mode, (void *)(uintptr_t)r->mpol_nodes,
		    (unsigned long)r->mpol_maxnode) < 0)
		return FAIL(r, "linux.memoryPolicy: set_mempolicy");
	return 0;
}

/* A session keyring of the container's own, so it shares no keys with the
 * host's session (KEYCTL_JOIN_SESSION_KEYRING makes a new one by name). */
static int join_keyring(const struct bunc_final *r)
{
	const char *name = (const char *)(uintptr_t)r->keyring;
	if (!name)
		return 0;
	long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
	if (id < 0)
		return FAIL(r, "join a session keyring (--no-new-keyring avoids it)");
	/* Possessor: all; user: view, read, search, link, as runc grants. */
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f1b0000) < 0)
		return FAIL(r, "set the session keyring's permissions");
	return 0;
}

/* The filter, and with a listener the notify fd and state to the agent. */
static int load_seccomp(const struct bunc_final *r)
{
	int fd = bunc_seccomp_load((const void *)(uintptr_t)r->seccomp_prog, (uint32_t)r->seccomp_len,
				   (uint32_t)r->seccomp_flags);
	if (fd < 0) {
		errno = -fd;
		return FAIL(r, "linux.seccomp: load the filter");
	}
	if (fd == 0)
		return 0;
	int sock = (int)r->seccomp_listener;
	const char *state = (const char *)(uintptr_t)r->seccomp_state;
	int rc = bunc_sendmsg_fd(sock, fd, state, strlen(state));
	close(fd);
	close(sock);
	if (rc < 0) {
		errno = -rc;
		return FAIL(r, "linux.seccomp.listenerPath: send the seccomp fd");
	}
	return 0;
}

/* execve, searching the process's own PATH when path has no slash (exec
 * resolves the program here, inside the container's mounts, as runc does). */
static void exec_path(const char *path, char *const argv[], char *const envp[])
{
	if (strchr(path, '/')) {
		execve(path, argv, envp);
		return;
	}
	const char *dirs = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char *const *e = envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			dirs = *e + 5;
	int denied = 0;
	char full[4096];
	for (const char *d = dirs;; d++) {
		const char *end = strchrnul(d, ':');
		int n = snprintf(full, sizeof full, "%.*s/%s", (int)(end - d), end == d ? "." : d, path);
		if (n > 0 && (size_t)n < sizeof full) {
			execve(full, argv, envp);
			if (errno == EACCES)
				denied = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return;
		}
		if (!*end)
			break;
		d = end;
	}
	errno = denied ? EACCES : ENOENT;
}

static int check_request(const struct bunc_final *r)
{
	char *errbuf = (char *)(uintptr_t)r->errbuf;
	size_t errlen = (size_t)r->errlen;
	if (r->size != sizeof *r)
		return bunc_refuse(errbuf, errlen, EINVAL, "bunc_exec_final: request of %llu bytes, expected %zu",
				   (unsigned long long)r->size, sizeof *r);
	if (r->ngroups > BUNC_MAX_GROUPS || r->nrlimits > BUNC_MAX_RLIMITS || r->ncgroup_fds > BUNC_MAX_CGROUP_FDS ||
	    r->cap_last > BUNC_MAX_CAP || r->cpus_size > BUNC_MAX_MASK_BYTES ||
	    r->mpol_maxnode > 8 * BUNC_MAX_MASK_BYTES + 1 || r->seccomp_len > BUNC_MAX_FILTER)
		return bunc_refuse(errbuf, errlen, E2BIG, "bunc_exec_final: a count is above its bound");
	return 0;
}

int bunc_exec_final(const struct bunc_final *r)
{
	int rc;
	if ((rc = check_request(r)) < 0)
		return rc;
	if ((rc = set_affinity(r, r->cpus_initial, "process.execCPUAffinity.initial")) < 0)
		return rc;
	if ((rc = join_cgroups(r)) < 0)
		return rc;
	if ((rc = set_affinity(r, r->cpus_final, "process.execCPUAffinity.final")) < 0)
		return rc;
	if (r->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		return FAIL(r, "unshare the cgroup namespace");
	if ((rc = set_rlimits(r)) < 0)
		return rc;
	if (r->tty_fd != UINT64_MAX && (rc = set_tty(r)) < 0)
		return rc;
	if (chdir((const char *)(uintptr_t)r->cwd) < 0)
		return FAIL(r, "process.cwd: chdir");
	/* The kernel reports a cwd outside our root as unreachable. */
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/') {
		errno = EXDEV;
		return FAIL(r, "process.cwd is outside the container root");
	}
	if ((rc = set_scheduling(r)) < 0)
		return rc;
	if ((rc = join_keyring(r)) < 0)
		return rc;
	/* The caller's fds above stdio (--preserve-fds, LISTEN_FDS) go on; the
	 * runtime and Bun hold them close-on-exec. */
	for (int fd = 3; fd < (int)r->keep_fds; fd++)
		if (fcntl(fd, F_SETFD, 0) < 0)
			return FAIL(r, "--preserve-fds: fd %d", fd);
	/* Without no_new_privs, loading a filter takes CAP_SYS_ADMIN: before
	 * the credentials drop it. Else as late as possible, so that the
	 * filter sees the fewest of our own syscalls. */
	int filter = r->seccomp_prog != 0;
	if (filter && r->seccomp_early && (rc = load_seccomp(r)) < 0)
		return rc;
	if ((rc = set_credentials(r)) < 0)
		return rc;
	if (r->umask != UINT64_MAX)
		umask((mode_t)r->umask);
	reset_process();
	if (syscall(SYS_close_range, (unsigned)r->keep_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return FAIL(r, "close the init's fds");
	if (filter && !r->seccomp_early && (rc = load_seccomp(r)) < 0)
		return rc;
	exec_path((const char *)(uintptr_t)r->path, (char *const *)(uintptr_t)r->argv,
		  (char *const *)(uintptr_t)r->envp);
	return FAIL(r, "process.args[0]: execve %s", (const char *)(uintptr_t)r->path);
}

struct bunc_final *bunc_flat_request(void *blob, uint64_t size)
{
	unsigned char *b = blob;
	const struct bunc_flat *h = blob;
	if (size < sizeof *h + sizeof(struct bunc_final) || h->magic != BUNC_FLAT_MAGIC || h->total != size ||
	    h->request % 8 || h->request > size - sizeof(struct bunc_final) || h->relocs % 8 || h->relocs > size ||
	    h->nrelocs > (size - h->relocs) / 8)
		return NULL;
	const uint64_t *relocs = (const void *)(b + h->relocs);
	for (uint64_t i = 0; i < h->nrelocs; i++) {
		uint64_t at = relocs[i];
		if (at % 8 || at > size - 8)
			return NULL;
		uint64_t *field = (void *)(b + at);
		if (*field >= size)
			return NULL;
		*field += (uint64_t)(uintptr_t)b;
	}
	return (void *)(b + h->request);
}

int bunc_exec_waiter(int waiter_fd, int blob_fd, int dir_fd, int keep_below, const int32_t *keep, uint64_t nkeep,
		     char *errbuf, size_t errlen)
{
	if (nkeep > BUNC_MAX_CGROUP_FDS + 2)
		return bunc_refuse(errbuf, errlen, E2BIG, "bunc_exec_waiter: too many fds to keep");
	for (int fd = 3; fd < keep_below; fd++)
		if (fcntl(fd, F_SETFD, 0) < 0)
			return bunc_fail(errbuf, errlen, errno, "keep fd %d for the waiting init", fd);
	int fds[2] = {blob_fd, dir_fd};
	for (int i = 0; i < 2; i++)
		if (fcntl(fds[i], F_SETFD, 0) < 0)
			return bunc_fail(errbuf, errlen, errno, "keep fd %d for the waiting init", fds[i]);
	for (uint64_t i = 0; i < nkeep; i++)
		if (fcntl(keep[i], F_SETFD, 0) < 0)
			return bunc_fail(errbuf, errlen, errno, "keep fd %d for the waiting init", keep[i]);
	char blob_arg[16], dir_arg[16];
	snprintf(blob_arg, sizeof blob_arg, "%d", blob_fd);
	snprintf(dir_arg, sizeof dir_arg, "%d", dir_fd);
	char *const argv[] = {"bunc-wait", blob_arg, dir_arg, NULL};
	char *const envp[] = {NULL};
	/* PID 1 of a namespace drops the signals it has no handler for: those
	 * `kill` sends a created container stay blocked, and so pending across
	 * execve, until bunc_wait_start has its handlers and unblocks them. */
	sigset_t block, old;
	sigemptyset(&block);
	for (unsigned i = 0; i < sizeof EXIT_SIGNALS / sizeof EXIT_SIGNALS[0]; i++)
		sigaddset(&block, EXIT_SIGNALS[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	syscall(SYS_execveat, waiter_fd, "", argv, envp, AT_EMPTY_PATH);
	int err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return bunc_fail(errbuf, errlen, err, "execve the waiting init");
}
