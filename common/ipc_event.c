/*
 * IPC peers on a libevent base: a bufferevent per socket, frames split
 * incrementally from its input, the HELLO exchange checked before any other
 * message is handed to the owner.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "xmalloc.h"

struct ipc_peer {
	struct bufferevent	*bev;
	char			*name;		/* for log messages */
	char			 hello[64];	/* the other side's name */
	uint32_t		 pid;
	bool			 hello_seen;
	bool			 closed;
	ipc_msg_fn		*on_msg;
	ipc_close_fn		*on_close;
	void			*arg;
};

static void
ipc_peer_close(struct ipc_peer *p, const char *why)
{
	if (p->closed)
		return;
	p->closed = true;
	bufferevent_disable(p->bev, EV_READ | EV_WRITE);
	p->on_close(p, why, p->arg);
}

/* The HELLO: right version or the peer goes. */
static int
ipc_peer_hello(struct ipc_peer *p, const struct ipc_hdr *h, struct rd *r)
{
	struct ipc_str name;
	uint32_t version;

	if (h->type != IPC_HELLO) {
		log_warnx("ipc: %s: %s before HELLO", p->name,
		    ipc_type_name(h->type));
		return -1;
	}
	if (ipc_hello_get(r, &version, &name) != 0) {
		log_warnx("ipc: %s: malformed HELLO", p->name);
		return -1;
	}
	if (version != IPC_VERSION) {
		log_warnx("ipc: %s: protocol version %u, expected %u",
		    p->name, version, IPC_VERSION);
		return -1;
	}
	ipc_str_copy(p->hello, sizeof(p->hello), &name);
	p->pid = h->pid;
	p->hello_seen = true;
	return 0;
}

static void
ipc_read_cb(struct bufferevent *bev, void *arg)
{
	struct ipc_peer *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hbuf[IPC_HDR_LEN];
	struct ipc_hdr h;
	struct rd r;
	uint8_t *frame;
	size_t avail;
	int rc;

	while (!p->closed) {
		avail = evbuffer_get_length(in);
		if (avail < IPC_HDR_LEN)
			return;
		if (evbuffer_copyout(in, hbuf, sizeof(hbuf)) !=
		    (ssize_t)sizeof(hbuf))
			return;
		rc = ipc_frame_parse(hbuf, sizeof(hbuf), &h);
		if (rc != 0 && rc != MO_ESHORT) {
			log_warnx("ipc: %s: bad frame header (%s)", p->name,
			    mo_strerror(rc));
			ipc_peer_close(p, "bad frame");
			return;
		}
		if (avail < h.len)
			return;
		if ((frame = evbuffer_pullup(in, (ssize_t)h.len)) == NULL) {
			ipc_peer_close(p, "out of memory");
			return;
		}
		rd_init(&r, frame + IPC_HDR_LEN, h.len - IPC_HDR_LEN);
		if (!p->hello_seen)
			rc = ipc_peer_hello(p, &h, &r);
		else
			rc = p->on_msg(p, &h, &r, p->arg);
		evbuffer_drain(in, h.len);
		if (rc != 0) {
			ipc_peer_close(p, "protocol error");
			return;
		}
	}
}

static void
ipc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ipc_peer *p = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		ipc_peer_close(p, "closed");
	else if (what & BEV_EVENT_ERROR)
		ipc_peer_close(p, strerror(EVUTIL_SOCKET_ERROR()));
}

struct ipc_peer *
ipc_peer_new(struct event_base *base, int fd, const char *self,
    const char *name, ipc_msg_fn *on_msg, ipc_close_fn *on_close, void *arg)
{
	struct ipc_peer *p = xcalloc(1, sizeof(*p));
	struct wbuf w = { 0 };

	evutil_make_socket_nonblocking(fd);
	p->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		close(fd);
		free(p);
		return NULL;
	}
	p->name = xstrdup(name);
	p->on_msg = on_msg;
	p->on_close = on_close;
	p->arg = arg;
	bufferevent_setcb(p->bev, ipc_read_cb, NULL, ipc_event_cb, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, IPC_MAX_FRAME * 2);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	ipc_hello_put(&w, self);
	ipc_send(p, IPC_HELLO, &w);
	wbuf_clear(&w);
	return p;
}

void
ipc_peer_free(struct ipc_peer *p)
{
	if (p == NULL)
		return;
	bufferevent_free(p->bev);
	free(p->name);
	free(p);
}

int
ipc_send(struct ipc_peer *p, uint32_t type, const struct wbuf *payload)
{
	struct wbuf w = { 0 };
	int rc = 0;

	if (p->closed)
		return -1;
	if (payload != NULL && payload->err != 0) {
		log_warnx("ipc: %s: cannot encode %s", p->name,
		    ipc_type_name(type));
		return -1;
	}
	ipc_frame_put(&w, type, 0, payload != NULL ? payload->data : NULL,
	    payload != NULL ? payload->len : 0);
	if (w.err != 0 || bufferevent_write(p->bev, w.data, w.len) != 0) {
		log_warnx("ipc: %s: cannot queue %s", p->name,
		    ipc_type_name(type));
		rc = -1;
	}
	wbuf_clear(&w);
	return rc;
}

const char *
ipc_peer_name(const struct ipc_peer *p)
{
	return p->hello;
}

uint32_t
ipc_peer_pid(const struct ipc_peer *p)
{
	return p->pid;
}

bool
ipc_peer_ready(const struct ipc_peer *p)
{
	return p->hello_seen && !p->closed;
}
