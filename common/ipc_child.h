/*
 * A daemon's side of the supervisor socket (fd 3 under moldaud, with
 * --supervised): HELLO, READY with the bound listeners, HEALTH answers,
 * STOP and live log level.  The daemon is asked to stop when the
 * supervisor says so or its socket closes.
 */
#ifndef MO_IPC_CHILD_H
#define MO_IPC_CHILD_H

#include <stddef.h>

struct event_base;
struct ipc_child;

#define IPC_CHILD_FD	3

/* Shut the daemon down cleanly; why is for the log. */
typedef void	ipc_child_stop_fn(void *arg, const char *why);

/*
 * Talk to the supervisor on fd (taken) on base; self names the daemon
 * ("broker") in HELLO and log lines.  NULL if fd is not a socket.
 */
struct ipc_child *ipc_child_open(struct event_base *, int fd,
		    const char *self, ipc_child_stop_fn *, void *arg);
/* Tell the supervisor the daemon serves, on these listeners. */
void	ipc_child_ready(struct ipc_child *, const char *const *listeners,
	    size_t n);
void	ipc_child_free(struct ipc_child *);

#endif
