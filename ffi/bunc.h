/* The C side of bunc: acts that must run start to finish on one thread or in
 * a fresh single-threaded child, and thin system-call wrappers. TypeScript
 * computes every value; these functions only carry them out.
 *
 * The interface is checked on both sides: every request struct starts with
 * its size, which the act compares with its own sizeof; every field is 64
 * bits wide (arrays of smaller elements are separate buffers); the layouts are
 * pinned with _Static_assert below; and src/sys/abi.ts describes the same
 * structs field by field, which test/unit/abi.test.ts compares with this
 * file. Error buffers come with their length. Counts are bounded here. */
#ifndef BUNC_H
#define BUNC_H
#include <stddef.h>
#include <stdint.h>

/* Upper bounds of the counts the acts loop over. */
#define BUNC_MAX_JOINS 8       /* one per namespace type */
#define BUNC_MAX_FDMAP 8
#define BUNC_MAX_GROUPS 65536  /* NGROUPS_MAX */
#define BUNC_MAX_RLIMITS 16    /* RLIM_NLIMITS */
#define BUNC_MAX_CGROUP_FDS 32
#define BUNC_MAX_CAP 63
#define BUNC_MAX_MASK_BYTES 1024
#define BUNC_ENTER_TEXT 512    /* timens_offsets text carried to the enter stage */
#define BUNC_MAX_FILTER 4096   /* BPF_MAXINSNS */

/* ---- Element types of the arrays the requests point to ---- */

/* One namespace to join: an fd the runtime opened and its CLONE_NEW* type. */
struct bunc_join {
	int32_t fd;
	int32_t type;
};

/* What exec sets that the init sets from TypeScript: process.oomScoreAdj
 * and process.consoleSize (rows 0: leave the size). */
struct bunc_exec_extra {
	int32_t set_oom_score_adj;
	int32_t oom_score_adj;
	uint32_t rows;
	uint32_t cols;
};

/* An fd to place at a fixed number in the init. */
struct bunc_fdmap {
	int32_t src;
	int32_t dst;
};

struct bunc_rlimit {
	uint64_t type;
	uint64_t soft;
	uint64_t hard;
};

/* ---- Requests ---- */

/* Spawning the container's init (spawn.c). */
struct bunc_spawn {
	uint64_t size;
	uint64_t clone_flags;  /* CLONE_NEW* of the namespaces to create */
	uint64_t joins;        /* struct bunc_join *, user namespace first */
	uint64_t njoins;
	uint64_t fdmap;        /* struct bunc_fdmap *: fds the init finds in place */
	uint64_t nfdmap;
	uint64_t exe_fd;       /* sealed fd of our own binary */
	uint64_t lib_fd;       /* where the init finds the C object's sealed memfd (an fdmap target) */
	uint64_t argv;         /* char ** */
	uint64_t envp;         /* char ** */
	uint64_t errbuf;       /* char * */
	uint64_t errlen;
	int64_t cgroup_fd;     /* cgroup2 directory to start in, or -1 */
	uint64_t uid_map;      /* char *: uid_map of a new user namespace, or 0 */
	uint64_t gid_map;      /* char *: gid_map of a new user namespace, or 0 */
	uint64_t time_offsets; /* char *: timens_offsets of a new time namespace, or 0 */
	uint64_t pass_fds;     /* fds 3 to 3+pass_fds-1 reach the init at their numbers (--preserve-fds, LISTEN_FDS) */
	uint64_t uid_helper;   /* char *: newuidmap to write uid_map with (an unprivileged caller's ranges), or 0: written directly */
	uint64_t gid_helper;   /* char *: newgidmap likewise, or 0 */
	uint64_t deny_setgroups; /* write "deny" to setgroups before gid_map (what an unprivileged direct write needs) */
	uint64_t set_oom_score_adj; /* process.oomScoreAdj given */
	int64_t oom_score_adj;
	uint64_t unprivileged; /* the runtime is not the host's root (see bunc_enter) */
};

/* The last steps of the init (final.c). */
struct bunc_final {
	uint64_t size;
	uint64_t uid;
	uint64_t gid;
	uint64_t groups;       /* uint32_t * */
	uint64_t ngroups;
	uint64_t cap_bounding;
	uint64_t cap_effective;
	uint64_t cap_permitted;
	uint64_t cap_inheritable;
	uint64_t cap_ambient;
	uint64_t cap_last;
	uint64_t no_new_privs;
	uint64_t rlimits;      /* struct bunc_rlimit * */
	uint64_t nrlimits;
	uint64_t cgroup_fds;   /* int32_t *: open cgroup files to join (v1 tasks, v2 cgroup.procs) */
	uint64_t ncgroup_fds;
	uint64_t new_cgroupns;
	uint64_t umask;        /* UINT64_MAX: leave as is */
	uint64_t tty_fd;       /* UINT64_MAX: none; else the pty peer, made controlling tty and stdio */
	uint64_t keep_fds;     /* fds below this survive execve */
	uint64_t cwd;          /* char * */
	uint64_t path;         /* char *: the resolved program */
	uint64_t argv;         /* char ** */
	uint64_t envp;         /* char ** */
	uint64_t errbuf;       /* char * */
	uint64_t errlen;
	uint64_t personality;  /* UINT64_MAX: leave as is */
	uint64_t ioprio;       /* UINT64_MAX: leave as is */
	uint64_t sched_attr;   /* struct sched_attr *, or 0 */
	uint64_t cpus_initial; /* cpu mask before joining the cgroup, or 0 */
	uint64_t cpus_final;   /* cpu mask after joining it, or 0 */
	uint64_t cpus_size;    /* bytes in each mask */
	uint64_t keyring;      /* char *: session keyring to create and join, or 0 */
	uint64_t mpol_mode;    /* UINT64_MAX: leave as is; else mode | flags for set_mempolicy */
	uint64_t mpol_nodes;   /* node mask, or 0 */
	uint64_t mpol_maxnode; /* bits in the mask, plus one */
	uint64_t seccomp_prog; /* struct sock_filter *, or 0: no filter */
	uint64_t seccomp_len;  /* instructions */
	uint64_t seccomp_flags;
	uint64_t seccomp_early;    /* load before credentials drop the capabilities (no no_new_privs) */
	uint64_t seccomp_listener; /* UINT64_MAX: none; else a connected socket for the notify fd */
	uint64_t seccomp_state;    /* char *: the container process state sent with it */
};

/* A bunc_final laid out with everything it points to in one blob, for the
 * waiting init (ffi/waiter/): pointer fields hold offsets into the blob,
 * and `relocs` lists where each such field is. */
#define BUNC_FLAT_MAGIC 0x74616c66636e7562ULL /* "buncflat" */
struct bunc_flat {
	uint64_t magic;
	uint64_t total;   /* bytes in the whole blob */
	uint64_t request; /* offset of the struct bunc_final */
	uint64_t relocs;  /* offset of nrelocs uint64_t offsets, each of a pointer field */
	uint64_t nrelocs;
};

/* What the runtime's child hands the enter stage (enter.c) through a pipe:
 * built in C from a bunc_spawn, never by TypeScript. */
struct bunc_enter {
	uint64_t size;
	uint64_t clone_flags;
	uint64_t njoins;
	struct bunc_join joins[BUNC_MAX_JOINS];
	int32_t err_fd;
	int32_t pid_fd;
	int32_t sync_fd;
	int32_t nfds;          /* fds 0..nfds-1 are the init's; the stage closes the rest */
	int32_t unprivileged;  /* the runtime is not the host's root: it (or newuidmap) must open our uid_map */
	char time_offsets[BUNC_ENTER_TEXT];
};

_Static_assert(sizeof(struct bunc_join) == 8, "bunc_join layout");
_Static_assert(sizeof(struct bunc_exec_extra) == 16, "bunc_exec_extra layout");
_Static_assert(sizeof(struct bunc_fdmap) == 8, "bunc_fdmap layout");
_Static_assert(sizeof(struct bunc_rlimit) == 24, "bunc_rlimit layout");
_Static_assert(sizeof(struct bunc_spawn) == 23 * 8, "bunc_spawn: 23 fields of 64 bits");
_Static_assert(offsetof(struct bunc_spawn, cgroup_fd) == 12 * 8, "bunc_spawn layout");
_Static_assert(sizeof(struct bunc_final) == 42 * 8, "bunc_final: 42 fields of 64 bits");
_Static_assert(offsetof(struct bunc_final, errlen) == 25 * 8, "bunc_final layout");
_Static_assert(sizeof(void *) == 8, "bunc passes pointers as 64-bit fields");

/* ---- Acts: whole sequences on one thread or in a fresh child ---- */

/* Clone the init with its namespaces, join those given by fd, exec our sealed binary. */
int bunc_spawn(const struct bunc_spawn *req, int32_t *out_pid);
/* In the init: wait until `start` opens the exec fifo (under dir_fd) and
 * write it one byte. Returns the fifo's fd, left open until execve. */
int bunc_wait_start(int dir_fd, char *errbuf, size_t errlen);
/* In the init: cgroups, limits, credentials, execve. Returns only on failure. */
int bunc_exec_final(const struct bunc_final *req);
/* In the init, instead of waiting itself: execve the waiter (ffi/waiter/,
 * from waiter_fd) with the flat request in blob_fd and the state directory
 * dir_fd; those, fds 3..keep_below-1 and the fds in keep[] stay open across
 * it. Returns only on failure (then the init can still wait itself). */
int bunc_exec_waiter(int waiter_fd, int blob_fd, int dir_fd, int keep_below, const int32_t *keep, uint64_t nkeep,
		     char *errbuf, size_t errlen);
/* `exec`: a process in the container whose namespaces are given (pid and
 * time joined by the caller for its children, the others by the child,
 * user first), started in cgroup_fd's cgroup2 directory (-1: none), with a
 * pty from the container's devpts whose master goes to console_sock (-1:
 * no terminal), made by the final act. The pid, or -errno with the reason
 * in final's errbuf. */
int bunc_exec_process(const struct bunc_final *final, const struct bunc_join *joins, uint64_t njoins,
		      int64_t cgroup_fd, int32_t console_sock, const struct bunc_exec_extra *extra, int32_t *out_pid);
/* In the runtime: pass on the signals we receive to pid from now on (0: to no one). */
void bunc_forward_signals(int pid);
/* In the runtime: wait for pid, passing on the signals we receive. */
int bunc_wait_forward(int pid, int32_t *out_status);
/* Run an OCI hook: input on its stdin, stdout and stderr each into a
 * memfd, in a process group of its own that is SIGKILLed past timeout_ms
 * (< 0: none), cwd NULL to keep ours. out = {wait status, stdout memfd,
 * stderr memfd (read each from offset 0, then close it), 1 if the time ran
 * out}. 0, or -errno with the message in errbuf when it could not start. */
int bunc_run_hook(const char *path, char *const *argv, char *const *envp, const char *cwd, const void *input,
		  uint64_t input_len, int32_t timeout_ms, int32_t *out, char *errbuf, size_t errlen);
/* In the runtime: whether the kernel takes a seccomp filter (loaded in a throwaway child). */
int bunc_seccomp_check(const void *prog, uint32_t len, uint32_t flags, char *errbuf, size_t errlen);

/* ---- Mount trees and user namespaces (idmap.c, seal.c, sys.c) ---- */

int bunc_seal_self(char *errbuf, size_t errlen);
int bunc_userns_fd(const char *uid_map, const char *gid_map, char *errbuf, size_t errlen);
int bunc_idmapped_tree(const char *source, int userns_fd, int recursive, char *errbuf, size_t errlen);
int bunc_move_mount(int from_fd, const char *to_path);
int bunc_clone_tree(int fd, int recursive);
int bunc_mount_setattr(int dirfd, const char *path, int recursive, uint64_t set, uint64_t clr,
		       uint64_t propagation);

/* ---- Terminals and fd passing (fds.c) ---- */

int bunc_pty_open(int32_t *out_master, int32_t *out_slave, char *errbuf, size_t errlen);
int bunc_send_fd(int sock, int fd);
int bunc_recv_fd(int sock);
int bunc_socketpair(int32_t *out);
int bunc_connect_unix(const char *path);
/* One datagram to a unix socket (the journal's, syslog's /dev/log). */
int bunc_send_dgram(const char *path, const void *data, uint64_t len);
/* files.c: an image layer's entries, each relative to a directory fd. */
int bunc_linkat(int olddirfd, const char *oldname, int newdirfd, const char *newname);
int bunc_fchmodat(int dirfd, const char *name, uint32_t mode);
int bunc_utimensat(int dirfd, const char *name, int64_t sec, int64_t nsec);
int bunc_setxattrat(int dirfd, const char *name, const char *key, const void *value, uint64_t len);
/* A netlink socket made in the network namespace netns_fd (-1: ours): the fd, or -errno. */
int bunc_netlink_socket(int netns_fd, int protocol);
/* A datagram socket bound at path, the file chmod'ed to mode: the fd, or -errno. */
int bunc_bind_dgram(const char *path, uint32_t mode);
int bunc_set_winsize(int fd, uint32_t rows, uint32_t cols);
int bunc_get_winsize(int fd, uint32_t *out);

/* ---- System-call wrappers: the result or -errno (sys.c) ---- */

int bunc_mount(const char *src, const char *target, const char *fstype, uint64_t flags, const char *data);
int bunc_umount(const char *target, int flags);
int bunc_pivot_root(const char *new_root, const char *put_old);
int bunc_chroot(const char *path);
int bunc_mount_flags(const char *path);
int bunc_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int bunc_mkdirat(int dirfd, const char *name, uint32_t mode);
int bunc_mknodat(int dirfd, const char *name, uint32_t mode, uint32_t major, uint32_t minor);
int bunc_symlinkat(const char *target, int dirfd, const char *name);
int bunc_fchownat(int dirfd, const char *name, uint32_t uid, uint32_t gid);
int bunc_unlinkat(int dirfd, const char *name, int flags);
int bunc_renameat2(int olddirfd, const char *oldname, int newdirfd, const char *newname, uint32_t flags);
int bunc_mkfifo(const char *path, uint32_t mode);
int bunc_fchdir(int fd);
int bunc_close(int fd);
int bunc_dup(int fd);
int bunc_dup2(int from, int to);
/* Bring up "lo" in the caller's network namespace (a new one has it down). */
int bunc_loopback_up(void);
long bunc_fs_magic(int fd);
int bunc_sethostname(const char *name);
int bunc_setdomainname(const char *name);
int bunc_set_dumpable(int on);
int bunc_kill(int pid, int sig);
int bunc_reap(int pid, int32_t *status);
int bunc_ns_type(int fd);
int bunc_bpf(int cmd, void *attr, uint32_t size);
int bunc_getrlimit(int resource, uint64_t *out);
/* The text of an errno value; never NULL. */
const char *bunc_strerror(int err);

#endif
