/* The C side of bunc: acts that must run start to finish on one thread or in
 * a fresh single-threaded child. TypeScript computes every value; these
 * functions only carry them out. The struct layouts here are mirrored where they are packed:
 * src/container/spawn.ts (bunc_spawn) and src/init/final.ts (bunc_final). */
#ifndef BUNC_H
#define BUNC_H
#include <stdint.h>

#define BUNC_ERRLEN 512

/* One namespace to join by path: fd opened by the parent, CLONE_NEW* type. */
struct bunc_join {
	int32_t fd;
	int32_t type;
};

/* fd to place at a fixed number in the init (dup2 in the child). */
struct bunc_fdmap {
	int32_t src;
	int32_t dst;
};

struct bunc_spawn {
	uint64_t clone_flags;  /* CLONE_NEW* for namespaces to create */
	uint64_t joins;        /* struct bunc_join * */
	uint64_t njoins;
	uint64_t fdmap;        /* struct bunc_fdmap * */
	uint64_t nfdmap;
	uint64_t exe_fd;       /* sealed fd of our own binary */
	uint64_t argv;         /* char ** */
	uint64_t envp;         /* char ** */
	uint64_t errbuf;       /* char[BUNC_ERRLEN] */
	int64_t cgroup_fd;     /* cgroup2 directory to start the init in, or -1 */
	uint64_t uid_map;      /* char *: uid_map for a new user namespace, or 0 */
	uint64_t gid_map;      /* char *: gid_map for a new user namespace, or 0 */
	uint64_t time_offsets; /* char *: timens_offsets of a new time namespace, or 0 */
};

struct bunc_rlimit {
	uint64_t type;
	uint64_t soft;
	uint64_t hard;
};

struct bunc_final {
	uint64_t uid;
	uint64_t gid;
	uint64_t groups;       /* uint32_t * */
	uint64_t ngroups;
	uint64_t caps[5];      /* bounding, effective, permitted, inheritable, ambient */
	uint64_t cap_last;
	uint64_t no_new_privs;
	uint64_t rlimits;      /* struct bunc_rlimit * */
	uint64_t nrlimits;
	uint64_t cgroup_fds;   /* int32_t *: open cgroup files to join (v1 tasks, v2 cgroup.procs) */
	uint64_t ncgroup_fds;
	uint64_t new_cgroupns;
	uint64_t umask;        /* UINT64_MAX: leave as is */
	uint64_t tty_fd;       /* UINT64_MAX: none; else slave pty made the controlling tty and stdio */
	uint64_t keep_fds;     /* fds below this survive execve */
	uint64_t cwd;          /* char * */
	uint64_t path;         /* char *: resolved program */
	uint64_t argv;         /* char ** */
	uint64_t envp;         /* char ** */
	uint64_t errbuf;       /* char[BUNC_ERRLEN] */
	uint64_t personality;  /* UINT64_MAX: leave as is */
	uint64_t ioprio;       /* UINT64_MAX: leave as is */
	uint64_t sched_attr;   /* struct sched_attr *, or 0 */
	uint64_t cpus_initial; /* cpu mask bytes before joining the cgroup, or 0 */
	uint64_t cpus_final;   /* cpu mask bytes after joining it, or 0 */
	uint64_t cpus_size;    /* bytes in each mask */
	uint64_t keyring;      /* char *: session keyring to create and join, or 0 */
	uint64_t mpol_mode;    /* UINT64_MAX: leave as is; else mode | flags for set_mempolicy */
	uint64_t mpol_nodes;   /* node mask bytes, or 0 */
	uint64_t mpol_maxnode; /* bits in the mask */
};

int bunc_spawn(const struct bunc_spawn *req, int32_t *out_pid);
int bunc_wait_start(int dir_fd, char *errbuf);
int bunc_exec_final(const struct bunc_final *req);
int bunc_wait_forward(int pid, int32_t *out_status);
int bunc_pty_open(int32_t *out_master, int32_t *out_slave, char *errbuf);
int bunc_send_fd(int sock, int fd);
int bunc_recv_fd(int sock);
int bunc_seal_self(char *errbuf);

int bunc_write_id_map(long pid, const char *file, const char *map, char *errbuf);
int bunc_userns_fd(const char *uid_map, const char *gid_map, char *errbuf);
int bunc_idmapped_tree(const char *source, int userns_fd, int recursive, char *errbuf);
int bunc_move_mount(int from_fd, const char *to_path);
int bunc_clone_tree(int fd, int recursive);

#endif
