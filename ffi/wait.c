/* Waiting for a container started in the foreground (`run`) while passing on
 * the signals the runtime receives, as runc does. The handler runs on
 * whichever thread takes the signal, so it only calls kill(). */
#define _GNU_SOURCE
#include "bunc.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static volatile pid_t forward_to;

static void forward(int sig)
{
	int saved = errno;
	if (forward_to > 0)
		kill(forward_to, sig);
	errno = saved;
}

void bunc_forward_signals(int pid)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	forward_to = pid;
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

int bunc_wait_forward(int pid, int32_t *out_status)
{
	bunc_forward_signals(pid);
	int status;
	pid_t r;
	do
		r = waitpid(pid, &status, __WALL);
	while (r < 0 && errno == EINTR);
	forward_to = 0;
	if (r < 0)
		return -errno;
	*out_status = status;
	return 0;
}
