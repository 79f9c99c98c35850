/* Spawning the container's init: our own (sealed) binary, re-executed inside
 * the container's namespaces. Between clone and execve the child runs in the
 * memory of a multi-threaded process (shared, vfork-style: see
 * bunc_clone_run), so it makes system calls only and writes nothing but
 * its own stack.
 *
 * Two ways, chosen by whether the container has a user namespace:
 *
 * direct  (no user namespace): the child is cloned with the new namespaces
 *         (or, to join a pid namespace, a first stage joins and clones the
 *         init as our sibling) and execs the init with a real gid unlike its
 *         effective one, so the kernel starts it non-dumpable: no process of
 *         the container can ptrace it at any point.
 * enter   (a new or a joined user namespace): the child execs the init in the
 *         host's user namespace with the C object preloaded; its constructor
 *         (enter.c) runs before the runtime's first thread, joins and makes
 *         the namespaces, and forks the init. Exec'd in the host's user
 *         namespace, the init's memory belongs to it: even a process with
 *         CAP_SYS_PTRACE in the container's user namespace cannot ptrace it.
 *         Exec'd inside that namespace, nothing would stop such a process:
 *         non-dumpable only keeps out those without the capability. This is
 *         the order runc follows (exec, then join in C before Go starts). */
#define _GNU_SOURCE
#include "bunc.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Where a child keeps its own fds while it places the init's: above those
 * it passes through and those it places. */
#define SCRATCH_FD(req) (64 + (int)(req)->pass_fds)

struct pipes {
	int err[2];
	int pid[2];
	int sync[2];
};

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

static void close_pipes(struct pipes *p)
{
	close_pair(p->err);
	close_pair(p->pid);
	close_pair(p->sync);
}

/* The init's fds end up at the numbers the plan gives, after the caller's
 * it passes through; every other fd the runtime holds (some an engine passed
 * without close-on-exec) is closed at execve. Returns the first fd number
 * above the init's. */
static int place_fds(const struct bunc_spawn *req, int errfd)
{
	const struct bunc_fdmap *map = (const void *)(uintptr_t)req->fdmap;
	int tmp[BUNC_MAX_FDMAP];
	int next = 3 + (int)req->pass_fds;
	/* The runtime holds them close-on-exec: the init keeps them until its final act. */
	for (int fd = 3; fd < next; fd++)
		if (fcntl(fd, F_SETFD, 0) < 0)
			bunc_child_fail(errfd, "pass the caller's fds on to the init");
	/* Two passes so a source that equals another entry's target survives. */
	for (uint64_t i = 0; i < req->nfdmap; i++) {
		tmp[i] = fcntl(map[i].src, F_DUPFD_CLOEXEC, SCRATCH_FD(req));
		if (tmp[i] < 0)
			bunc_child_fail(errfd, "dup an fd for the init");
		if (map[i].dst >= next)
			next = map[i].dst + 1;
	}
	for (uint64_t i = 0; i < req->nfdmap; i++)
		if (dup2(tmp[i], map[i].dst) < 0)
			bunc_child_fail(errfd, "place an fd for the init");
	return next;
}

/* Marks every fd from `from` on close-on-exec. */
static void close_rest_on_exec(int from, int errfd)
{
	if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		bunc_child_fail(errfd, "close the runtime's fds before the init");
}

/* ---- direct ---- */

static void join_namespaces(const struct bunc_spawn *req, int errfd)
{
	const struct bunc_join *joins = (const void *)(uintptr_t)req->joins;
	for (uint64_t i = 0; i < req->njoins; i++)
		if (setns(joins[i].fd, joins[i].type) < 0)
			bunc_child_fail(errfd, "setns");
}

/* A time namespace cannot be made by clone with offsets: unshare it for our
 * children, set its offsets while no process is in it yet, and let execve
 * move us into it. */
static void new_time_namespace(const char *offsets, int errfd)
{
	if (unshare(CLONE_NEWTIME) < 0)
		bunc_child_fail(errfd, "unshare a time namespace");
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bunc_child_fail(errfd, "open timens_offsets");
	if (offsets[0] && bunc_write_full(fd, offsets, strlen(offsets)) < 0)
		bunc_child_fail(errfd, "write linux.timeOffsets");
	close(fd);
}

static void exec_direct(const struct bunc_spawn *req, int errfd)
{
	/* Out of the way of the numbers place_fds writes. */
	errfd = fcntl(errfd, F_DUPFD_CLOEXEC, SCRATCH_FD(req));
	int exe = fcntl((int)req->exe_fd, F_DUPFD_CLOEXEC, SCRATCH_FD(req));
	if (errfd < 0 || exe < 0)
		_exit(127);
	close_rest_on_exec(place_fds(req, errfd), errfd);
	if (setsid() < 0)
		bunc_child_fail(errfd, "setsid");
	/* A real gid unlike the effective one makes execve start the init
	 * non-dumpable (CVE-2016-9962); the final act sets all three gids. */
	if (syscall(SYS_setresgid, 65534, 0, 0) < 0)
		bunc_child_fail(errfd, "setresgid");
	if (req->time_offsets)
		new_time_namespace((const char *)(uintptr_t)req->time_offsets, errfd);
	syscall(SYS_execveat, exe, "", (char *const *)(uintptr_t)req->argv, (char *const *)(uintptr_t)req->envp,
		AT_EMPTY_PATH);
	bunc_child_fail(errfd, "execveat of the runtime binary");
}

static int has_join(const struct bunc_spawn *req, int type)
{
	const struct bunc_join *joins = (const void *)(uintptr_t)req->joins;
	for (uint64_t i = 0; i < req->njoins; i++)
		if (joins[i].type == type)
			return 1;
	return 0;
}

/* Joining a pid namespace takes a second process: the first joins, then
 * clones the init as our sibling (CLONE_PARENT), so that we can still wait
 * for it, and reports its pid. */
static void first_stage(const struct bunc_spawn *req, const struct pipes *p)
{
	close(p->pid[0]);
	join_namespaces(req, p->err[1]);
	long init = bunc_clone_child(req->clone_flags | CLONE_PARENT, req->cgroup_fd);
	if (init < 0) {
		errno = (int)-init;
		bunc_child_fail(p->err[1], "clone the init into the joined namespaces");
	}
	if (init == 0)
		exec_direct(req, p->err[1]);
	int32_t pid = (int32_t)init;
	if (bunc_write_full(p->pid[1], &pid, sizeof pid) < 0) {
		kill((pid_t)init, SIGKILL);
		bunc_child_fail(p->err[1], "report the init's pid");
	}
	_exit(0);
}

/* ---- enter ---- */

static void exec_enter(const struct bunc_spawn *req, const struct pipes *p)
{
	int errfd = fcntl(p->err[1], F_DUPFD_CLOEXEC, SCRATCH_FD(req));
	int exe = fcntl((int)req->exe_fd, F_DUPFD_CLOEXEC, SCRATCH_FD(req));
	if (errfd < 0 || exe < 0)
		_exit(127);
	struct bunc_enter e;
	memset(&e, 0, sizeof e);
	e.size = sizeof e;
	e.clone_flags = req->clone_flags;
	e.njoins = req->njoins;
	e.unprivileged = req->unprivileged != 0;
	/* The stage's fds follow the init's; it closes them before the init runs.
	 * Every one is moved above the init's numbers before place_fds writes
	 * those, which could otherwise replace one of them. */
	int req_pipe[2];
	if (pipe2(req_pipe, O_CLOEXEC) < 0)
		bunc_child_fail(errfd, "pipe for the enter stage");
	const struct bunc_join *joins = (const void *)(uintptr_t)req->joins;
	int sources[4 + BUNC_MAX_JOINS] = {req_pipe[0], errfd, p->pid[1], p->sync[1]};
	int n = 4;
	for (uint64_t i = 0; i < req->njoins; i++)
		sources[n++] = joins[i].fd;
	int tmp[4 + BUNC_MAX_JOINS];
	for (int i = 0; i < n; i++) {
		tmp[i] = -1;
		if (sources[i] >= 0 && (tmp[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, SCRATCH_FD(req))) < 0)
			bunc_child_fail(errfd, "dup an fd for the enter stage");
	}
	int req_w = fcntl(req_pipe[1], F_DUPFD_CLOEXEC, SCRATCH_FD(req));
	if (req_w < 0)
		bunc_child_fail(errfd, "dup an fd for the enter stage");
	int base = place_fds(req, errfd);
	e.nfds = base;
	int fd = base;
	int lib = (int)req->lib_fd, reqfd = fd++;
	e.err_fd = fd++;
	e.pid_fd = fd++;
	e.sync_fd = p->sync[1] >= 0 ? fd++ : -1;
	int targets[4 + BUNC_MAX_JOINS] = {reqfd, e.err_fd, e.pid_fd, e.sync_fd};
	for (uint64_t i = 0; i < req->njoins; i++) {
		e.joins[i].type = joins[i].type;
		e.joins[i].fd = fd++;
		targets[4 + i] = e.joins[i].fd;
	}
	for (int i = 0; i < n; i++)
		if (targets[i] >= 0 && dup2(tmp[i], targets[i]) < 0)
			bunc_child_fail(errfd, "place an fd for the enter stage");
	close_rest_on_exec(fd, errfd);
	if (req->time_offsets) {
		const char *t = (const char *)(uintptr_t)req->time_offsets;
		if (strlen(t) >= sizeof e.time_offsets) {
			errno = E2BIG;
			bunc_child_fail(errfd, "linux.timeOffsets is too long");
		}
		strcpy(e.time_offsets, t);
	}
	if (bunc_write_full(req_w, &e, sizeof e) < 0)
		bunc_child_fail(errfd, "hand the enter stage its request");
	char preload[64], enter[64];
	snprintf(preload, sizeof preload, "LD_PRELOAD=/proc/self/fd/%d", lib);
	snprintf(enter, sizeof enter, "_BUNC_ENTER=%d", reqfd);
	char *envp[] = {preload, enter, NULL};
	syscall(SYS_execveat, exe, "", (char *const *)(uintptr_t)req->argv, envp, AT_EMPTY_PATH);
	bunc_child_fail(errfd, "execveat of the runtime binary");
}

/* Runtime side of a new user namespace: once the stage has made it, write
 * its mappings and let it go on. */
static int map_user_namespace(const struct bunc_spawn *req, long stage, int sync, char *errbuf, size_t errlen)
{
	char c;
	if (bunc_read_full(sync, &c, 1) < 0 || c != 'U')
		return 1; /* the stage failed: its error pipe says why */
	const char *uid_helper = (const char *)(uintptr_t)req->uid_helper;
	const char *gid_helper = (const char *)(uintptr_t)req->gid_helper;
	const char *uid_map = (const char *)(uintptr_t)req->uid_map;
	const char *gid_map = (const char *)(uintptr_t)req->gid_map;
	int rc = uid_helper ? bunc_helper_map(stage, "uid_map", uid_map, uid_helper, errbuf, errlen)
			    : bunc_write_map(stage, "uid_map", uid_map, errbuf, errlen);
	if (rc == 0 && req->deny_setgroups)
		rc = bunc_write_map(stage, "setgroups", "deny", errbuf, errlen);
	if (rc == 0)
		rc = gid_helper ? bunc_helper_map(stage, "gid_map", gid_map, gid_helper, errbuf, errlen)
				: bunc_write_map(stage, "gid_map", gid_map, errbuf, errlen);
	if (rc < 0)
		return rc;
	if (bunc_write_full(sync, "G", 1) < 0)
		return 1;
	return 0;
}

struct child {
	const struct bunc_spawn *req;
	struct pipes *p;
	int enter;
	int twostage;
};

/* The runtime's child: it shares the runtime's memory until it execs, so it
 * reads the request and pipes but changes nothing outside its own stack. */
static int child_main(void *arg)
{
	const struct child *c = arg;
	close(c->p->err[0]);
	/* Set here, while still the runtime's and in the host's /proc, so that
	 * the init inherits it: in a user namespace the init could not open its
	 * own /proc entry, which belongs to the host's root. */
	if (c->req->set_oom_score_adj) {
		char v[24], what[96];
		int n = snprintf(v, sizeof v, "%lld", (long long)c->req->oom_score_adj);
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || bunc_write_full(fd, v, (size_t)n) < 0) {
			/* Below what the caller may go (EACCES) takes CAP_SYS_RESOURCE. */
			snprintf(what, sizeof what, "process.oomScoreAdj: write \"%s\" to /proc/self/oom_score_adj", v);
			bunc_child_fail(c->p->err[1], what);
		}
		close(fd);
	}
	if (c->enter) {
		if (c->p->sync[0] >= 0)
			close(c->p->sync[0]);
		exec_enter(c->req, c->p);
	}
	if (c->twostage)
		first_stage(c->req, c->p);
	join_namespaces(c->req, c->p->err[1]);
	exec_direct(c->req, c->p->err[1]);
	return 127;
}

static int check_request(const struct bunc_spawn *req, char *errbuf, size_t errlen, int enter)
{
	if (req->size != sizeof *req)
		return bunc_refuse(errbuf, errlen, EINVAL, "bunc_spawn: request of %llu bytes, expected %zu",
				   (unsigned long long)req->size, sizeof *req);
	if (req->njoins > BUNC_MAX_JOINS || req->nfdmap > BUNC_MAX_FDMAP)
		return bunc_refuse(errbuf, errlen, E2BIG, "bunc_spawn: too many namespaces to join or fds to pass");
	const struct bunc_fdmap *map = (const void *)(uintptr_t)req->fdmap;
	for (uint64_t i = 0; i < req->nfdmap; i++)
		if (map[i].dst < 3 + (int64_t)req->pass_fds || map[i].dst >= SCRATCH_FD(req))
			return bunc_refuse(errbuf, errlen, EINVAL, "bunc_spawn: fd target %d out of range", map[i].dst);
	if ((req->clone_flags & CLONE_NEWUSER) && (!req->uid_map || !req->gid_map))
		return bunc_refuse(errbuf, errlen, EINVAL, "bunc_spawn: a new user namespace needs its mappings");
	int lib_placed = 0;
	for (uint64_t i = 0; i < req->nfdmap; i++)
		lib_placed |= (uint64_t)map[i].dst == req->lib_fd;
	if (enter && !lib_placed)
		return bunc_refuse(errbuf, errlen, EINVAL, "bunc_spawn: the enter stage needs the C object among the init's fds");
	return 0;
}

int bunc_spawn(const struct bunc_spawn *req, int32_t *out_pid)
{
	char *errbuf = (char *)(uintptr_t)req->errbuf;
	size_t errlen = (size_t)req->errlen;
	int newuser = (req->clone_flags & CLONE_NEWUSER) != 0;
	int enter = newuser || has_join(req, CLONE_NEWUSER);
	int twostage = !enter && has_join(req, CLONE_NEWPID);
	struct pipes p = {{-1, -1}, {-1, -1}, {-1, -1}};
	int rc;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if ((rc = check_request(req, errbuf, errlen, enter)) < 0)
		return rc;
	if (pipe2(p.err, O_CLOEXEC) < 0 || ((twostage || enter) && pipe2(p.pid, O_CLOEXEC) < 0) ||
	    (newuser && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p.sync) < 0)) {
		rc = bunc_fail(errbuf, errlen, errno, "make the pipes to the init");
		close_pipes(&p);
		return rc;
	}
	/* The enter stage exits once it has forked the init: as a subreaper we
	 * stay the init's parent and can wait for it. */
	if (enter && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		rc = bunc_fail(errbuf, errlen, errno, "become a child subreaper");
		close_pipes(&p);
		return rc;
	}

	uint64_t flags = (enter || twostage) ? 0 : req->clone_flags;
	int64_t cgroup_fd = twostage ? -1 : req->cgroup_fd;
	struct child c = {.req = req, .p = &p, .enter = enter, .twostage = twostage};
	long pid = bunc_clone_run(flags, cgroup_fd, child_main, &c);
	if (pid < 0) {
		close_pipes(&p);
		return bunc_fail(errbuf, errlen, (int)-pid, "clone the init");
	}

	close(p.err[1]);
	p.err[1] = -1;
	if (p.pid[1] >= 0)
		close(p.pid[1]);
	p.pid[1] = -1;
	if (p.sync[1] >= 0)
		close(p.sync[1]);
	p.sync[1] = -1;

	long init = pid;
	rc = 0;
	if (newuser) {
		rc = map_user_namespace(req, pid, p.sync[0], errbuf, errlen);
		if (rc < 0) {
			kill((pid_t)pid, SIGKILL);
			bunc_waitpid((pid_t)pid, NULL, 0);
			close_pipes(&p);
			return rc;
		}
	}
	if (enter || twostage) {
		int32_t reported = -1;
		int got = bunc_read_full(p.pid[0], &reported, sizeof reported);
		bunc_waitpid((pid_t)pid, NULL, 0);
		init = got == 0 ? reported : -1;
	}
	/* EOF on the error pipe: the init exec'd (direct) or went on (enter). */
	rc = bunc_child_result(p.err[0], errbuf, errlen, "init");
	close_pipes(&p);
	if (rc < 0) {
		if (init > 0) {
			kill((pid_t)init, SIGKILL);
			bunc_waitpid((pid_t)init, NULL, 0);
		}
		return rc;
	}
	if (init <= 0)
		return bunc_refuse(errbuf, errlen, EIO, "the init's first stage exited without its pid");
	*out_pid = (int32_t)init;
	return 0;
}
