/* Shared helpers: error text, full reads and writes, and the hardened clone
 * every act uses to make a child of the (multi-threaded) runtime. */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

const char *bunc_strerror(int err)
{
	/* glibc's strerror may write a per-thread buffer for unknown numbers;
	 * musl's returns constant strings only, so it is safe from any thread. */
#ifdef __GLIBC__
	const char *s = strerrordesc_np(err);
#else
	const char *s = strerror(err);
#endif
	return s ? s : "unknown error";
}

static int vformat(char *errbuf, size_t errlen, int err, int with_errno, const char *fmt, va_list ap)
{
	if (!errbuf || errlen == 0)
		return -err;
	int n = vsnprintf(errbuf, errlen, fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < errlen)
		snprintf(errbuf + n, errlen - (size_t)n, ": %s", bunc_strerror(err));
	return -err;
}

int bunc_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vformat(errbuf, errlen, err ? err : EIO, 1, fmt, ap);
	va_end(ap);
	return r;
}

int bunc_refuse(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vformat(errbuf, errlen, err, 0, fmt, ap);
	va_end(ap);
	return r;
}

int bunc_read_full(int fd, void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t r = read(fd, (char *)buf + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		off += (size_t)r;
	}
	return 0;
}

int bunc_write_full(int fd, const void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t r = write(fd, (const char *)buf + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		off += (size_t)r;
	}
	return 0;
}

pid_t bunc_waitpid(pid_t pid, int *status, int flags)
{
	pid_t r;
	do
		r = waitpid(pid, status, flags | __WALL);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Child side: handlers to default (ignored signals stay ignored, as
 * posix_spawn leaves them; the init resets those before the final exec),
 * then the mask the thread had. glibc keeps two signals for itself and
 * refuses to change them; its handlers for them are harmless here. */
static void reset_signals(const sigset_t *mask)
{
	struct sigaction dfl, old;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL)
			sigaction(sig, &dfl, NULL);
	}
	sigprocmask(SIG_SETMASK, mask, NULL);
}

static void clone_args_for(struct clone_args *args, uint64_t flags, int64_t cgroup_fd)
{
	memset(args, 0, sizeof *args);
	args->flags = flags & ~(uint64_t)CSIGNAL;
	/* With CLONE_PARENT the child inherits our exit signal; clone3 wants 0. */
	args->exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
	if (cgroup_fd >= 0) {
		args->flags |= CLONE_INTO_CGROUP;
		args->cgroup = (uint64_t)cgroup_fd;
	}
}

long bunc_clone_child(uint64_t flags, int64_t cgroup_fd)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	struct clone_args args;
	clone_args_for(&args, flags, cgroup_fd);
	long pid = syscall(SYS_clone3, &args, sizeof args);
	int err = errno;
	if (pid == 0) {
		reset_signals(&old);
		return 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid < 0 ? -err : pid;
}

/* clone3 that starts the child on the stack the args give, running
 * fn(arg) and exiting with its result; returns the raw result in the parent.
 * C cannot express a child that must not touch the parent's stack frame. */
#if defined(__x86_64__)
#define HAVE_CLONE3_RUN 1
__attribute__((naked, noinline)) static long clone3_run(struct clone_args *args, size_t size, int (*fn)(void *),
							void *arg)
{
	(void)args, (void)size, (void)fn, (void)arg;
	/* syscall keeps rdx (fn) and r8; the kernel set the child's rsp. */
	__asm__ volatile("mov %rcx, %r8\n\t"
			 "mov $435, %eax\n\t"
			 "syscall\n\t"
			 "test %rax, %rax\n\t"
			 "jnz 1f\n\t"
			 "xor %ebp, %ebp\n\t"
			 "mov %r8, %rdi\n\t"
			 "call *%rdx\n\t"
			 "mov %eax, %edi\n\t"
			 "mov $60, %eax\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:\n\t"
			 "ret\n\t");
}
#elif defined(__aarch64__)
#define HAVE_CLONE3_RUN 1
/* Top-level assembly: GCC before 14 ignores `naked` on aarch64.
 * svc keeps x9 and x10; the kernel set the child's sp. */
__attribute__((visibility("hidden"))) long bunc_clone3_run(struct clone_args *args, size_t size,
							   int (*fn)(void *), void *arg);
__asm__(".text\n\t"
	".p2align 2\n\t"
	".globl bunc_clone3_run\n\t"
	".hidden bunc_clone3_run\n\t"
	".type bunc_clone3_run, %function\n"
	"bunc_clone3_run:\n\t"
	"mov x9, x2\n\t"
	"mov x10, x3\n\t"
	"mov x8, #435\n\t"
	"svc #0\n\t"
	"cbnz x0, 1f\n\t"
	"mov x29, xzr\n\t"
	"mov x30, xzr\n\t"
	"mov x0, x10\n\t"
	"blr x9\n\t"
	"mov x8, #93\n\t"
	"svc #0\n"
	"1:\n\t"
	"ret\n\t"
	".size bunc_clone3_run, .-bunc_clone3_run\n");
#define clone3_run bunc_clone3_run
#endif

struct run_ctx {
	int (*fn)(void *);
	void *arg;
	sigset_t mask;
};

static int run_child(void *p)
{
	struct run_ctx *ctx = p;
	reset_signals(&ctx->mask);
	return ctx->fn(ctx->arg);
}

#define CHILD_STACK (256 * 1024)

long bunc_clone_run(uint64_t flags, int64_t cgroup_fd, int (*fn)(void *), void *arg)
{
#ifdef HAVE_CLONE3_RUN
	void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	struct run_ctx ctx = {.fn = fn, .arg = arg};
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &ctx.mask);
	struct clone_args args;
	clone_args_for(&args, flags | CLONE_VM | CLONE_VFORK, cgroup_fd);
	args.stack = (uint64_t)(uintptr_t)stack;
	args.stack_size = CHILD_STACK;
	long pid = clone3_run(&args, sizeof args, run_child, &ctx);
	/* Back here once the child exec'd or exited: its stack is free again. */
	pthread_sigmask(SIG_SETMASK, &ctx.mask, NULL);
	munmap(stack, CHILD_STACK);
	return pid;
#else
	long pid = bunc_clone_child(flags, cgroup_fd);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
#endif
}

void bunc_child_fail(int errfd, const char *what)
{
	int err = errno;
	(void)bunc_write_full(errfd, &err, sizeof err);
	(void)bunc_write_full(errfd, what, strlen(what));
	_exit(127);
}

int bunc_child_result(int errfd, char *errbuf, size_t errlen, const char *stage)
{
	int err = 0;
	ssize_t n;
	do
		n = read(errfd, &err, sizeof err);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return bunc_fail(errbuf, errlen, errno, "read the error pipe of the %s", stage);
	if (n != sizeof err)
		return bunc_refuse(errbuf, errlen, EIO, "the %s reported a failure it could not finish", stage);
	char what[256];
	size_t got = 0;
	while (got < sizeof what - 1) {
		ssize_t m = read(errfd, what + got, sizeof what - 1 - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			break;
		got += (size_t)m;
	}
	what[got] = 0;
	return bunc_fail(errbuf, errlen, err ? err : EIO, "%s", got ? what : stage);
}

int bunc_write_map(long pid, const char *file, const char *map, char *errbuf, size_t errlen)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
	const char *field = file[0] == 'u' ? "uid" : "gid";
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return bunc_fail(errbuf, errlen, errno, "open %s (%sMappings)", file, field);
	size_t len = strlen(map);
	ssize_t n;
	do
		n = write(fd, map, len);
	while (n < 0 && errno == EINTR);
	int err = n < 0 ? errno : EINVAL;
	close(fd);
	/* The kernel takes the whole map in one write or none of it. */
	if (n != (ssize_t)len)
		return bunc_fail(errbuf, errlen, err, "write %s (%sMappings)", file, field);
	return 0;
}

/* newuidmap PID ID HOSTID COUNT...: the map's lines as words. The helper is
 * setuid root and checks the ranges against /etc/subuid (or subgid); what
 * it prints on failure becomes the error. Spawned with vfork semantics, as
 * every child of this multi-threaded process is. */
int bunc_helper_map(long pid, const char *file, const char *map, const char *helper, char *errbuf, size_t errlen)
{
	const char *field = file[0] == 'u' ? "uid" : "gid";
	char words[16384];
	size_t len = strlen(map);
	if (len >= sizeof words)
		return bunc_refuse(errbuf, errlen, E2BIG, "%sMappings: too long for %s", field, helper);
	memcpy(words, map, len + 1);
	char pidtext[24];
	snprintf(pidtext, sizeof pidtext, "%ld", pid);
	char *argv[3 * 340 + 3] = {(char *)helper, pidtext};
	int argc = 2;
	for (char *save = NULL, *w = strtok_r(words, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
		if (argc >= (int)(sizeof argv / sizeof *argv) - 1)
			return bunc_refuse(errbuf, errlen, E2BIG, "%sMappings: too many for %s", field, helper);
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return bunc_fail(errbuf, errlen, errno, "pipe for %s", helper);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *envp[] = {NULL};
	pid_t child;
	int err = posix_spawn(&child, helper, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(out[1]);
	if (err) {
		close(out[0]);
		return bunc_fail(errbuf, errlen, err, "run %s", helper);
	}
	char said[512];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(out[0], said + got, sizeof said - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof said - 1)
			break;
	}
	close(out[0]);
	while (got && (said[got - 1] == '\n' || said[got - 1] == ' '))
		got--;
	said[got] = 0;
	int status = 0;
	bunc_waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return bunc_refuse(errbuf, errlen, EPERM, "%sMappings: %s failed: %s", field, helper,
				   got ? said : "no reason given");
	return 0;
}
