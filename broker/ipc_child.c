/*
 * Supervised broker: the IPC conversation with moldaud (ipc_child.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "broker.h"
#include "ipc.h"
#include "ipc_child.h"
#include "log.h"
#include "xmalloc.h"

struct ipc_child {
	struct broker	*b;
	struct ipc_peer	*peer;
};

static void
ipc_child_stop(struct ipc_child *ic, const char *why)
{
	log_info("broker: %s, shutting down", why);
	event_base_loopbreak(ic->b->base);
}

static int
ipc_child_msg(struct ipc_peer *p, const struct ipc_hdr *h, struct rd *r,
    void *arg)
{
	struct ipc_child *ic = arg;
	struct wbuf w = { 0 };
	struct ipc_str s;
	enum log_level lvl;
	char level[16];
	uint32_t seq;
	int rc;

	switch (h->type) {
	case IPC_CHILD_HEALTH_REQ:
		rd_u32(r, &seq);
		if (rd_done(r) != 0)
			break;
		wbuf_put_u32(&w, seq);
		rc = ipc_send(p, IPC_CHILD_HEALTH, &w);
		wbuf_clear(&w);
		return rc;
	case IPC_CHILD_STOP:
		if (rd_done(r) != 0)
			break;
		ipc_child_stop(ic, "stop requested by moldaud");
		return 0;
	case IPC_CHILD_LOG_LEVEL:
		ipc_get_str(r, &s);
		if (rd_done(r) != 0)
			break;
		ipc_str_copy(level, sizeof(level), &s);
		if (log_level_parse(level, &lvl) != 0)
			break;
		log_set_level(lvl);
		log_info("broker: log level now %s", level);
		return 0;
	default:
		break;
	}
	log_warnx("broker: moldaud sent an unexpected or malformed %s",
	    ipc_type_name(h->type));
	return -1;
}

static void
ipc_child_close(struct ipc_peer *p, const char *why, void *arg)
{
	struct ipc_child *ic = arg;
	char msg[128];

	(void)p;
	snprintf(msg, sizeof(msg), "supervisor socket %s", why);
	ipc_child_stop(ic, msg);
}

struct ipc_child *
ipc_child_open(struct broker *b, int fd)
{
	struct ipc_child *ic;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		log_warnx("broker: --supervised but fd %d is not a socket", fd);
		return NULL;
	}
	ic = xcalloc(1, sizeof(*ic));
	ic->b = b;
	ic->peer = ipc_peer_new(b->base, fd, "broker", "moldaud",
	    ipc_child_msg, ipc_child_close, ic);
	if (ic->peer == NULL) {
		free(ic);
		return NULL;
	}
	return ic;
}

void
ipc_child_ready(struct ipc_child *ic)
{
	const struct mo_strlist *l = &ic->b->cfg->listeners;
	char *v[IPC_MAX_LISTENERS] = { NULL };
	struct wbuf w = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < ic->b->nlisteners && n < IPC_MAX_LISTENERS &&
	    i < l->n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		const char *colon = strrchr(l->v[i], ':');
		int port;

		if (colon == NULL || getsockname(evconnlistener_get_fd(
		    ic->b->listeners[i]), (struct sockaddr *)&ss, &sl) != 0)
			continue;
		port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
		xasprintf(&v[n++], "%.*s:%d", (int)(colon - l->v[i]), l->v[i],
		    port);
	}
	ipc_strs_put(&w, (const char *const *)v, n);
	ipc_send(ic->peer, IPC_CHILD_READY, &w);
	wbuf_clear(&w);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

void
ipc_child_free(struct ipc_child *ic)
{
	if (ic == NULL)
		return;
	ipc_peer_free(ic->peer);
	free(ic);
}
