/* The container's init while it waits for `start` (when it may: see
 * usesWaiter in src/plan/init.ts). The Bun init, its work done, execs this
 * small static program with the final act's request laid out flat: a
 * waiting container then holds ~60 KiB instead of a Bun runtime's ~39 MiB.
 * It makes the calls the Bun init would: bunc_wait_start, then
 * bunc_exec_final.
 *
 *   bunc-wait BLOB_FD STATE_DIR_FD
 */
#define _GNU_SOURCE
#include "../bunc.h"
#include "../internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *msg)
{
	dprintf(2, "bunc init: %s\n", msg);
}

int main(int argc, char **argv)
{
	/* As the Bun init was: no process of the container may trace or read us. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc != 3) {
		say("usage: bunc-wait BLOB_FD STATE_DIR_FD");
		return 127;
	}
	int blob_fd = atoi(argv[1]), dir_fd = atoi(argv[2]);
	struct stat st;
	void *blob = MAP_FAILED;
	if (fstat(blob_fd, &st) == 0 && st.st_size > 0)
		blob = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, blob_fd, 0);
	close(blob_fd);
	struct bunc_final *req = blob == MAP_FAILED ? NULL : bunc_flat_request(blob, (uint64_t)st.st_size);
	if (!req) {
		say("the final request from the init is malformed");
		return 127;
	}
	char *errbuf = (char *)(uintptr_t)req->errbuf;
	int fifo = bunc_wait_start(dir_fd, errbuf, (size_t)req->errlen);
	if (fifo < 0) {
		say(errbuf);
		return 127;
	}
	bunc_exec_final(req);
	/* `start` may be reading the fifo to its end: the reason goes there too. */
	bunc_write_full(fifo, errbuf, strlen(errbuf));
	say(errbuf);
	return 127;
}
