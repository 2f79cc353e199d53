/*
 * The control socket (node.run_dir/moldaud.sock): `moldau status` connects,
 * exchanges HELLO and asks for IPC_CTL_STATUS.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "supervisor.h"
#include "xmalloc.h"

struct ctl_client {
	struct ctl_client	*next;
	struct sup		*sup;
	struct ipc_peer		*peer;
};

static void
control_client_free(struct sup *sup, struct ctl_client *cl)
{
	struct ctl_client **pp;

	for (pp = &sup->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	ipc_peer_free(cl->peer);
	free(cl);
}

static void
control_status(struct sup *sup, struct wbuf *w)
{
	struct ipc_status st;
	char detail[SUP_NROLES][160];

	memset(&st, 0, sizeof(st));
	st.pid = (int32_t)getpid();
	st.uptime_ms = sup_since_ms(&sup->started);
	st.state.p = sup->stopping ? "stopping" : "running";
	st.state.len = strlen(st.state.p);
	st.config.p = sup->config_path != NULL ? sup->config_path :
	    "(defaults)";
	st.config.len = strlen(st.config.p);
	for (size_t i = 0; i < SUP_NROLES; i++) {
		const struct child *c = &sup->children[i];
		struct ipc_child_status *cs = &st.children[st.nchildren++];

		cs->role.p = c->def->role;
		cs->state.p = child_state_name(c);
		cs->pid = (int32_t)c->pid;
		cs->uptime_ms = c->pid > 0 ? sup_since_ms(&c->started) : 0;
		cs->restarts = c->restarts;
		cs->last_exit.p = c->last_exit;
		if (c->state == CHILD_UNAVAILABLE)
			snprintf(detail[i], sizeof(detail[i]), "no %s binary",
			    c->def->binary);
		else
			snprintf(detail[i], sizeof(detail[i]), "%s",
			    c->listeners != NULL && c->pid > 0 ?
			    c->listeners : "");
		cs->detail.p = detail[i];
		cs->role.len = strlen(cs->role.p);
		cs->state.len = strlen(cs->state.p);
		cs->last_exit.len = strlen(cs->last_exit.p);
		cs->detail.len = strlen(cs->detail.p);
	}
	ipc_status_put(w, &st);
}

static int
control_msg_cb(struct ipc_peer *p, const struct ipc_hdr *h, struct rd *r,
    void *arg)
{
	struct ctl_client *cl = arg;
	struct wbuf w = { 0 };
	int rc;

	if (h->type != IPC_CTL_STATUS_REQ || rd_done(r) != 0) {
		log_warnx("moldaud: control: unexpected or malformed %s",
		    ipc_type_name(h->type));
		return -1;
	}
	control_status(cl->sup, &w);
	rc = ipc_send(p, IPC_CTL_STATUS, &w);
	wbuf_clear(&w);
	return rc;
}

static void
control_close_cb(struct ipc_peer *p, const char *why, void *arg)
{
	struct ctl_client *cl = arg;

	(void)p;
	(void)why;
	control_client_free(cl->sup, cl);
}

static void
control_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sup *sup = arg;
	struct ctl_client *cl = xcalloc(1, sizeof(*cl));

	(void)l;
	(void)sa;
	(void)salen;
	cl->sup = sup;
	cl->peer = ipc_peer_new(sup->base, fd, "moldaud", "control client",
	    control_msg_cb, control_close_cb, cl);
	if (cl->peer == NULL) {
		free(cl);
		return;
	}
	cl->next = sup->clients;
	sup->clients = cl;
}

/* Is another supervisor answering on path? */
static bool
control_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd == -1)
		return false;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

int
control_open(struct sup *sup)
{
	struct sockaddr_un sun;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sup->sock_path) >= sizeof(sun.sun_path)) {
		log_warnx("moldaud: control socket path %s is too long",
		    sup->sock_path);
		return -1;
	}
	memcpy(sun.sun_path, sup->sock_path, strlen(sup->sock_path));
	if (control_in_use(&sun)) {
		log_warnx("moldaud: another moldaud is running (%s answers)",
		    sup->sock_path);
		return -1;
	}
	if (unlink(sup->sock_path) != 0 && errno != ENOENT) {
		log_warn("moldaud: unlink %s", sup->sock_path);
		return -1;
	}
	old = umask(007);
	sup->ctl = evconnlistener_new_bind(sup->base, control_accept_cb, sup,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, (int)sizeof(sun));
	umask(old);
	if (sup->ctl == NULL) {
		log_warn("moldaud: control socket %s", sup->sock_path);
		return -1;
	}
	return 0;
}

void
control_close(struct sup *sup)
{
	while (sup->clients != NULL)
		control_client_free(sup, sup->clients);
	if (sup->ctl != NULL) {
		evconnlistener_free(sup->ctl);
		sup->ctl = NULL;
		unlink(sup->sock_path);
	}
}
