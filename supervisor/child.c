/*
 * Children of the supervisor: fork+exec with a socketpair end on fd 3,
 * the IPC conversation (HELLO, READY, HEALTH), exit handling and restart
 * with exponential backoff.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "supervisor.h"
#include "xmalloc.h"

const struct role_def sup_roles[SUP_NROLES] = {
	{ "controller", "moldau-controller", "controller", true },
	{ "broker", "moldau-broker", "broker", true },
	{ "connect", "moldau-connectd", "connectd", false },
	{ "streams", "moldau-streamsd", "streamsd", false },
};

static const char *const child_state_names[] = {
	[CHILD_UNAVAILABLE] = "unavailable",
	[CHILD_DISABLED] = "disabled",
	[CHILD_STOPPED] = "stopped",
	[CHILD_STARTING] = "starting",
	[CHILD_RUNNING] = "running",
	[CHILD_BACKOFF] = "backoff",
	[CHILD_STOPPING] = "stopping",
};

static void	child_timer_cb(evutil_socket_t, short, void *);
static void	child_exited(struct child *, int);
static void	child_health_cb(evutil_socket_t, short, void *);

static char *
child_find_binary(const struct sup *sup, const struct role_def *d)
{
	char *p;

	/* Installed: beside moldaud.  Build tree: ../<subdir>/. */
	xasprintf(&p, "%s/%s", sup->exe_dir, d->binary);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	xasprintf(&p, "%s/../%s/%s", sup->exe_dir, d->subdir, d->binary);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return NULL;
}

void
child_init(struct child *c, struct sup *sup, const struct role_def *d)
{
	memset(c, 0, sizeof(*c));
	c->def = d;
	c->sup = sup;
	c->path = child_find_binary(sup, d);
	c->state = c->path == NULL ? CHILD_UNAVAILABLE : CHILD_STOPPED;
	c->timer = evtimer_new(sup->base, child_timer_cb, c);
	c->health = event_new(sup->base, -1, EV_PERSIST, child_health_cb, c);
	if (c->timer == NULL || c->health == NULL)
		fatalx("moldaud: cannot create timers");
}

void
child_clear(struct child *c)
{
	ipc_peer_free(c->peer);
	c->peer = NULL;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->health != NULL)
		event_free(c->health);
	free(c->path);
	free(c->listeners);
	free(c->pinned);
	memset(c, 0, sizeof(*c));
}

bool
child_wanted(const struct child *c)
{
	const struct mo_strlist *roles = &c->sup->cfg->roles;

	for (size_t i = 0; i < roles->n; i++)
		if (strcmp(roles->v[i], c->def->role) == 0)
			return true;
	return false;
}

bool
child_has_process(const struct child *c)
{
	return c->pid > 0;
}

const char *
child_state_name(const struct child *c)
{
	if (c->state == CHILD_BACKOFF && c->quick_exits >= SUP_CRASH_LOOP)
		return "crash-loop";
	return child_state_names[c->state];
}

static void
child_timer_after(struct child *c, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* ---- IPC with the child ---- */

static int
child_on_ready(struct child *c, struct rd *r)
{
	struct ipc_str v[IPC_MAX_LISTENERS];
	char buf[IPC_MAX_STR + 1];
	size_t n, len = 0;

	if (ipc_strs_get(r, v, IPC_MAX_LISTENERS, &n) != 0)
		return -1;
	free(c->listeners);
	c->listeners = xcalloc(1, 1);
	for (size_t i = 0; i < n; i++) {
		ipc_str_copy(buf, sizeof(buf), &v[i]);
		c->listeners = xrealloc(c->listeners, len + strlen(buf) + 2);
		len += (size_t)sprintf(c->listeners + len, "%s%s",
		    i > 0 ? "," : "", buf);
	}
	/* A listener on port 0 keeps the port it got across restarts. */
	if (c->pinned == NULL && n > 0)
		for (size_t i = 0; i < c->sup->cfg->listeners.n; i++) {
			const char *l = c->sup->cfg->listeners.v[i];
			size_t ll = strlen(l);

			if (ll >= 2 && strcmp(l + ll - 2, ":0") == 0)
				c->pinned = xstrdup(c->listeners);
		}
	if (c->state == CHILD_STARTING)
		c->state = CHILD_RUNNING;
	log_info("moldaud: %s pid %d ready%s%s", c->def->role, (int)c->pid,
	    n > 0 ? ": " : "", c->listeners);
	return 0;
}

static int
child_msg_cb(struct ipc_peer *p, const struct ipc_hdr *h, struct rd *r,
    void *arg)
{
	struct child *c = arg;
	uint32_t seq;

	(void)p;
	switch (h->type) {
	case IPC_CHILD_READY:
		return child_on_ready(c, r);
	case IPC_CHILD_HEALTH:
		rd_u32(r, &seq);
		if (rd_done(r) != 0)
			break;
		c->health_acked = seq;
		return 0;
	default:
		break;
	}
	log_warnx("moldaud: %s: unexpected or malformed %s", c->def->role,
	    ipc_type_name(h->type));
	return -1;
}

static void
child_close_cb(struct ipc_peer *p, const char *why, void *arg)
{
	struct child *c = arg;

	int status;

	(void)p;
	if (c->pid <= 0)
		return;
	/* Usually the child died: its exit closed the socket. */
	if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
		child_exited(c, status);
		return;
	}
	/* Or it is exiting right now: give it a moment.  A child still
	 * alive without its socket is broken and gets terminated. */
	if (c->state != CHILD_STOPPING) {
		log_debug("moldaud: %s pid %d: IPC %s", c->def->role,
		    (int)c->pid, why);
		c->ipc_lost = true;
		child_timer_after(c, SUP_IPC_GRACE_MS);
	}
}

static void
child_health_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	struct wbuf w = { 0 };

	(void)fd;
	(void)what;
	if (c->peer == NULL || c->state != CHILD_RUNNING)
		return;
	if (c->health_sent - c->health_acked >= SUP_HEALTH_MISSES) {
		log_warnx("moldaud: %s pid %d: no health answer for %d s, "
		    "killing", c->def->role, (int)c->pid,
		    SUP_HEALTH_MISSES * SUP_HEALTH_MS / 1000);
		c->unresponsive = true;
		kill(c->pid, SIGKILL);
		return;
	}
	wbuf_put_u32(&w, ++c->health_sent);
	ipc_send(c->peer, IPC_CHILD_HEALTH_REQ, &w);
	wbuf_clear(&w);
}

void
child_send_log_level(struct child *c, const char *level)
{
	struct wbuf w = { 0 };

	if (c->peer == NULL || !ipc_peer_ready(c->peer))
		return;
	ipc_put_str(&w, level);
	ipc_send(c->peer, IPC_CHILD_LOG_LEVEL, &w);
	wbuf_clear(&w);
}

/* ---- process lifecycle ---- */

static void
child_exec(struct child *c, int fd, int errfd)
{
	char *argv[8];
	int n = 0;

	/* stderr into moldaud's log pipe (first: errfd may be 3). */
	if (errfd >= 0 && (errfd == 2 ? fcntl(2, F_SETFD, 0) :
	    dup2(errfd, 2)) == -1)
		_exit(127);
	if (fd != 3) {
		if (dup2(fd, 3) != 3)
			_exit(127);
	} else if (fcntl(3, F_SETFD, 0) != 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	/* Own process group: terminal signals reach moldaud only, which
	 * stops the children in order. */
	setpgid(0, 0);
	/* A child that does not watch its socket still goes with us. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 ||
	    getppid() != c->sup->pid)
		_exit(127);
	argv[n++] = c->path;
	if (c->def->ipc)
		argv[n++] = (char *)(uintptr_t)"--supervised";
	argv[n++] = (char *)(uintptr_t)"--config";
	argv[n++] = c->sup->effective;
	if (c->pinned != NULL && strcmp(c->def->role, "broker") == 0) {
		argv[n++] = (char *)(uintptr_t)"--set";
		xasprintf(&argv[n++], "broker.listeners=%s", c->pinned);
	}
	argv[n] = NULL;
	execv(c->path, argv);
	fprintf(stderr, "moldaud: exec %s: %s\n", c->path, strerror(errno));
	_exit(127);
}

void
child_start(struct child *c)
{
	struct sup *sup = c->sup;
	int sv[2], errfd;
	pid_t pid;

	if (c->path == NULL || child_has_process(c))
		return;
	if ((errfd = logpipe_new(sup)) == -1)
		log_warn("moldaud: %s: log pipe", c->def->role);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_warn("moldaud: %s: socketpair", c->def->role);
		if (errfd != -1)
			close(errfd);
		goto retry;
	}
	if ((pid = fork()) == -1) {
		log_warn("moldaud: %s: fork", c->def->role);
		close(sv[0]);
		close(sv[1]);
		if (errfd != -1)
			close(errfd);
		goto retry;
	}
	if (pid == 0)
		child_exec(c, sv[1], errfd);
	close(sv[1]);
	if (errfd != -1)
		close(errfd);
	c->pid = pid;
	c->state = c->def->ipc ? CHILD_STARTING : CHILD_RUNNING;
	c->unresponsive = false;
	c->ipc_lost = false;
	c->health_sent = c->health_acked = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	ipc_peer_free(c->peer);
	c->peer = NULL;
	if (c->def->ipc) {
		c->peer = ipc_peer_new(sup->base, sv[0], "moldaud",
		    c->def->role, child_msg_cb, child_close_cb, c);
		if (c->peer != NULL) {
			struct timeval tv = { SUP_HEALTH_MS / 1000, 0 };

			evtimer_add(c->health, &tv);
		}
	} else
		close(sv[0]);
	log_info("moldaud: started %s pid %d (%s)", c->def->role, (int)pid,
	    c->path);
	return;
retry:
	c->state = CHILD_BACKOFF;
	child_timer_after(c, SUP_BACKOFF_MAX_MS);
}

bool
child_stop(struct child *c)
{
	struct timeval tv = { SUP_STOP_TIMEOUT_MS / 1000,
	    (SUP_STOP_TIMEOUT_MS % 1000) * 1000 };

	evtimer_del(c->timer);
	if (!child_has_process(c)) {
		if (c->state == CHILD_BACKOFF)
			c->state = CHILD_STOPPED;
		return false;
	}
	if (c->state == CHILD_STOPPING)
		return true;
	c->state = CHILD_STOPPING;
	log_info("moldaud: stopping %s pid %d", c->def->role, (int)c->pid);
	if (c->peer == NULL || !ipc_peer_ready(c->peer) ||
	    ipc_send(c->peer, IPC_CHILD_STOP, NULL) != 0)
		kill(c->pid, SIGTERM);
	evtimer_add(c->timer, &tv);
	return true;
}

static void
child_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (c->ipc_lost && c->state != CHILD_STOPPING &&
	    child_has_process(c)) {
		log_warnx("moldaud: %s pid %d lost its IPC socket, "
		    "terminating", c->def->role, (int)c->pid);
		kill(c->pid, SIGTERM);
	} else if (c->state == CHILD_STOPPING && child_has_process(c)) {
		log_warnx("moldaud: %s pid %d did not stop within %d ms, "
		    "killing", c->def->role, (int)c->pid, SUP_STOP_TIMEOUT_MS);
		kill(c->pid, SIGKILL);
	} else if (c->state == CHILD_BACKOFF && !c->sup->stopping) {
		c->restarts++;
		child_start(c);
	}
}

static void
child_exit_reason(struct child *c, int status)
{
	if (c->unresponsive)
		snprintf(c->last_exit, sizeof(c->last_exit),
		    "killed: unresponsive");
	else if (WIFEXITED(status))
		snprintf(c->last_exit, sizeof(c->last_exit), "exited %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(c->last_exit, sizeof(c->last_exit),
		    "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(c->last_exit, sizeof(c->last_exit), "status %#x",
		    status);
}

/* Schedule the restart of a child that exited on its own. */
static void
child_backoff(struct child *c, int64_t ran_ms)
{
	int64_t delay = SUP_BACKOFF_MIN_MS;

	if (ran_ms >= SUP_STABLE_MS)
		c->quick_exits = 0;
	c->quick_exits++;
	for (unsigned i = 1; i < c->quick_exits && delay < SUP_BACKOFF_MAX_MS;
	    i++)
		delay *= 2;
	if (delay > SUP_BACKOFF_MAX_MS)
		delay = SUP_BACKOFF_MAX_MS;
	c->state = CHILD_BACKOFF;
	if (c->quick_exits >= SUP_CRASH_LOOP)
		log_warnx("moldaud: %s is crash-looping (%u quick exits in a "
		    "row, last: %s); next start in %lld ms", c->def->role,
		    c->quick_exits, c->last_exit, (long long)delay);
	else
		log_warnx("moldaud: %s %s; restarting in %lld ms",
		    c->def->role, c->last_exit, (long long)delay);
	child_timer_after(c, delay);
}

static void
child_exited(struct child *c, int status)
{
	int64_t ran = sup_since_ms(&c->started);

	child_exit_reason(c, status);
	c->pid = 0;
	evtimer_del(c->timer);
	evtimer_del(c->health);
	ipc_peer_free(c->peer);
	c->peer = NULL;
	if (c->state == CHILD_STOPPING || c->sup->stopping ||
	    !child_wanted(c)) {
		log_info("moldaud: %s stopped (%s)", c->def->role,
		    c->last_exit);
		c->state = CHILD_STOPPED;
		sup_child_stopped(c->sup, c);
		return;
	}
	child_backoff(c, ran);
}

void
child_reap_all(struct sup *sup)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < SUP_NROLES; i++)
			if (sup->children[i].pid == pid) {
				child_exited(&sup->children[i], status);
				break;
			}
	}
}
