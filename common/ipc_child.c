/*
 * Supervised daemon: the IPC conversation with moldaud (ipc_child.h).
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>

#include "ipc.h"
#include "ipc_child.h"
#include "log.h"
#include "xmalloc.h"

struct ipc_child {
	const char		*self;
	struct ipc_peer		*peer;
	ipc_child_stop_fn	*stop;
	void			*arg;
	int			 stopping;
};

static void
ipc_child_stop(struct ipc_child *ic, const char *why)
{
	if (ic->stopping)
		return;
	ic->stopping = 1;
	log_info("%s: %s, shutting down", ic->self, why);
	ic->stop(ic->arg, why);
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
		log_info("%s: log level now %s", ic->self, level);
		log_debug("%s: debug logging on", ic->self);
		return 0;
	default:
		break;
	}
	log_warnx("%s: moldaud sent an unexpected or malformed %s", ic->self,
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
ipc_child_open(struct event_base *base, int fd, const char *self,
    ipc_child_stop_fn *stop, void *arg)
{
	struct ipc_child *ic;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		log_warnx("%s: --supervised but fd %d is not a socket", self,
		    fd);
		return NULL;
	}
	ic = xcalloc(1, sizeof(*ic));
	ic->self = self;
	ic->stop = stop;
	ic->arg = arg;
	ic->peer = ipc_peer_new(base, fd, self, "moldaud", ipc_child_msg,
	    ipc_child_close, ic);
	if (ic->peer == NULL) {
		free(ic);
		return NULL;
	}
	return ic;
}

void
ipc_child_ready(struct ipc_child *ic, const char *const *listeners,
    size_t n)
{
	struct wbuf w = { 0 };

	if (n > IPC_MAX_LISTENERS)
		n = IPC_MAX_LISTENERS;
	ipc_strs_put(&w, listeners, n);
	ipc_send(ic->peer, IPC_CHILD_READY, &w);
	wbuf_clear(&w);
}

void
ipc_child_free(struct ipc_child *ic)
{
	if (ic == NULL)
		return;
	ipc_peer_free(ic->peer);
	free(ic);
}
