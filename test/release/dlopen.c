/* Loads a bunc C object the way Bun does (dlopen, dlsym) and calls two of
 * its functions: run in a root that holds musl and nothing of glibc, it
 * shows the object needs only musl. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dlopen OBJECT\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	const char *(*strerror_of)(int) = (const char *(*)(int))dlsym(h, "bunc_strerror");
	int (*get_rlimit)(int, uint64_t *) = (int (*)(int, uint64_t *))dlsym(h, "bunc_getrlimit");
	if (!strerror_of || !get_rlimit) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	uint64_t lim[2];
	int rc = get_rlimit(RLIMIT_NOFILE, lim);
	if (rc < 0) {
		fprintf(stderr, "bunc_getrlimit: %s\n", strerror_of(-rc));
		return 1;
	}
	printf("%s; open files limit %llu\n", strerror_of(2), (unsigned long long)lim[1]);
	return 0;
}
