/*
 * moldaud: the node supervisor.  It validates the config tree, runs one
 * child process per role of the node (each with a socketpair end on fd 3),
 * restarts crashes with exponential backoff, reloads on SIGHUP, stops the
 * children in dependency order on SIGTERM and answers `moldau status` on a
 * control socket in node.run_dir.
 */
#ifndef MO_SUPERVISOR_H
#define MO_SUPERVISOR_H

#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "ipc.h"

struct event;
struct event_base;
struct evconnlistener;
struct logpipe;

#define SUP_STOP_TIMEOUT_MS	8000	/* per child, then SIGKILL */
#define SUP_BACKOFF_MIN_MS	250
#define SUP_BACKOFF_MAX_MS	30000
#define SUP_STABLE_MS		10000	/* a run this long resets backoff */
#define SUP_CRASH_LOOP		5	/* quick exits in a row */
#define SUP_HEALTH_MS		5000
#define SUP_HEALTH_MISSES	3
#define SUP_IPC_GRACE_MS	1000	/* socket closed, not exited yet */

/* A role and the daemon that runs it, in start order. */
struct role_def {
	const char	*role;		/* node.roles value */
	const char	*binary;	/* installed name */
	const char	*subdir;	/* build-tree directory */
	bool		 ipc;		/* speaks IPC on fd 3 (--supervised) */
};

enum child_state {
	CHILD_UNAVAILABLE,	/* no binary for this role */
	CHILD_DISABLED,		/* not in node.roles */
	CHILD_STOPPED,
	CHILD_STARTING,		/* forked, not READY yet */
	CHILD_RUNNING,
	CHILD_BACKOFF,		/* waiting to restart */
	CHILD_STOPPING,
};

struct sup;

struct child {
	const struct role_def	*def;
	struct sup		*sup;
	char			*path;		/* binary, NULL: unavailable */
	enum child_state	 state;
	pid_t			 pid;
	struct ipc_peer		*peer;
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	uint32_t		 restarts;
	unsigned		 quick_exits;	/* in a row, for backoff */
	char			 last_exit[96];
	char			*listeners;	/* from READY, comma-joined */
	char			*pinned;	/* listeners kept on restart */
	struct event		*timer;		/* backoff or stop timeout */
	struct event		*health;
	uint32_t		 health_sent, health_acked;
	bool			 unresponsive;
	bool			 ipc_lost;	/* socket closed, still alive */
};

#define SUP_NROLES	4

struct sup {
	struct event_base	*base;
	const char		*config_path;	/* NULL: embedded defaults */
	char			*const *sets;
	size_t			 nsets;
	struct mo_config	*cfg;
	char			*effective;	/* run_dir/moldaud.yaml */
	char			*sock_path;	/* run_dir/moldaud.sock */
	char			*exe_dir;
	struct child		 children[SUP_NROLES];
	pid_t			 pid;		/* ours, for the children */
	bool			 stopping;
	struct timespec		 started;
	struct evconnlistener	*ctl;
	struct ctl_client	*clients;
	struct event		*sig[5];
	struct logpipe		*logpipes;	/* children's stderr */
};

extern const struct role_def sup_roles[SUP_NROLES];

/* ---- moldaud.c ---- */
int64_t	sup_now_ms(void);
int64_t	sup_since_ms(const struct timespec *);
/* Write the effective config the children are started with. */
int	sup_write_effective(struct sup *);

/* ---- child.c ---- */
void	child_init(struct child *, struct sup *, const struct role_def *);
void	child_clear(struct child *);
bool	child_wanted(const struct child *);
void	child_start(struct child *);
/* Ask a running child to stop; false if it has no process. */
bool	child_stop(struct child *);
/* Reap exited children (SIGCHLD). */
void	child_reap_all(struct sup *);
void	child_send_log_level(struct child *, const char *);
const char *child_state_name(const struct child *);
bool	child_has_process(const struct child *);

/* ---- control.c ---- */
int	control_open(struct sup *);
void	control_close(struct sup *);

/* ---- logfile.c ---- */
/* Open, reopen or close log_dir/moldau.log as cfg says. */
int	logfile_configure(const struct mo_config *);
void	logfile_close(void);
/* A pipe for a child's stderr; returns its write end, -1 on error. */
int	logpipe_new(struct sup *);
/* Pass on what is left and close every pipe. */
void	logpipe_free_all(struct sup *);

/* ---- moldaud.c: called by child.c when a child is gone for good ---- */
void	sup_child_stopped(struct sup *, struct child *);

#endif
