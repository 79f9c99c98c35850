/* Helpers the acts share; not exported from the C object. */
#ifndef BUNC_INTERNAL_H
#define BUNC_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* memfd_create's MFD_EXEC (linux 6.3), which older headers lack. */
#define BUNC_MFD_EXEC 0x0010U

/* A wrapper's result: the value, or -errno. */
#define RET(x)                        \
	do {                                  \
		long ret_ = (long)(x);         \
		return ret_ < 0 ? -errno : (int)ret_; \
	} while (0)

#define BUNC_HIDDEN __attribute__((visibility("hidden")))

/* Formats "<what>: <errno text>" into errbuf and returns -err. err is the
 * errno the caller saved right after the failing call. */
BUNC_HIDDEN int bunc_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Formats a message with no errno (a bad request) and returns -err. */
BUNC_HIDDEN int bunc_refuse(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* read/write that retry on EINTR and treat a short transfer as failure:
 * 0 when all n bytes moved, -errno otherwise (-EPIPE for a short one). */
BUNC_HIDDEN int bunc_read_full(int fd, void *buf, size_t n);
BUNC_HIDDEN int bunc_write_full(int fd, const void *buf, size_t n);
struct bunc_final;
/* The request inside a flat blob, its pointers made addresses; NULL if the blob is malformed. */
BUNC_HIDDEN struct bunc_final *bunc_flat_request(void *blob, uint64_t size);
/* waitpid retrying on EINTR; status may be NULL. */
BUNC_HIDDEN pid_t bunc_waitpid(pid_t pid, int *status, int flags);

/* A fork-style child of a multi-threaded process. All signals are blocked
 * across the clone; the child resets every handler to the default and then
 * restores the mask before it returns, so no handler of the parent's
 * runtime ever runs in it. With a cgroup fd the child starts in that
 * cgroup2 directory (CLONE_INTO_CGROUP). Returns 0 in the child, the pid in
 * the parent, -errno on failure. */
BUNC_HIDDEN long bunc_clone_child(uint64_t flags, int64_t cgroup_fd);

/* The same, but the child shares our memory on a stack of its own and we
 * wait until it has exec'd or exited (vfork): no page tables are copied, so
 * the child starts at once and we take no copy-on-write faults after. The
 * child runs fn(arg), which must end in execve or _exit, and may change
 * nothing of ours but its stack. Where this is not built (an architecture
 * without the trampoline) it falls back to a copy and runs fn there. */
BUNC_HIDDEN long bunc_clone_run(uint64_t flags, int64_t cgroup_fd, int (*fn)(void *), void *arg);

/* In a child: write errno and what failed to errfd, then _exit(127). */
BUNC_HIDDEN void bunc_child_fail(int errfd, const char *what) __attribute__((noreturn));
/* The parent's side of that pipe: 0 on EOF (the child exec'd or went on),
 * -errno with the message in errbuf when it reported a failure. */
BUNC_HIDDEN int bunc_child_result(int errfd, char *errbuf, size_t errlen, const char *stage);

/* seccomp(SET_MODE_FILTER): the listener fd with NEW_LISTENER, else 0; -errno. */
BUNC_HIDDEN int bunc_seccomp_load(const void *prog, uint32_t len, uint32_t flags);
/* One sendmsg of a payload with fd as SCM_RIGHTS: 0, or -errno (-EMSGSIZE when cut short). */
BUNC_HIDDEN int bunc_sendmsg_fd(int sock, int fd, const void *data, size_t len);

/* Writes a uid_map or gid_map of pid. */
BUNC_HIDDEN int bunc_write_map(long pid, const char *file, const char *map, char *errbuf, size_t errlen);
/* Writes a uid_map or gid_map of pid through newuidmap/newgidmap (helper). */
BUNC_HIDDEN int bunc_helper_map(long pid, const char *file, const char *map, const char *helper, char *errbuf,
				size_t errlen);

#endif
