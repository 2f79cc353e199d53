/*
 * The broker's side of the supervisor socket (fd 3 under moldaud): HELLO,
 * READY with the bound listeners, HEALTH answers, STOP and live log level.
 * The broker stops when the supervisor asks or its socket closes.
 */
#ifndef MO_IPC_CHILD_H
#define MO_IPC_CHILD_H

struct broker;
struct ipc_child;

#define IPC_CHILD_FD	3

/* Talk to the supervisor on fd (taken); NULL if fd is not a socket. */
struct ipc_child *ipc_child_open(struct broker *, int fd);
/* Tell the supervisor the broker serves (after net_listen). */
void	ipc_child_ready(struct ipc_child *);
void	ipc_child_free(struct ipc_child *);

#endif
