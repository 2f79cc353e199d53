/*
 * Client connections: listeners, request framing, and responses sent in
 * request order (each request holds a slot until its response is ready).
 */
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <event2/listener.h>

#include "broker.h"
#include "log.h"
#include "xmalloc.h"

#define CONN_MAX_INFLIGHT	256
#define CONN_OUT_HIGH		(16u * 1024 * 1024)
/*
 * A frame with more than this still to come is read straight from the
 * socket into the request's buffer (libevent 2.1 reads 4 KiB per call and
 * would copy it once more out of the input evbuffer).
 */
#define CONN_DIRECT_MIN		(16u * 1024)
/* Its buffer grows with what arrived (a size alone reserves no memory). */
#define CONN_DIRECT_STEP	(1024u * 1024)

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct broker		*broker;
	struct bufferevent	*bev;
	char			 peer[64];
	char			 host[48];
	TAILQ_HEAD(, req)	 reqs;		/* in request order */
	size_t			 inflight;
	bool			 closing;	/* close once reqs drain */
	bool			 paused;
	struct event		*reaper;	/* frees a closing conn */
	/* A large frame being read directly (bufferevent reading off). */
	struct req		*partial;
	size_t			 partial_got;
	size_t			 partial_cap;	/* allocated of r->frame */
	struct event		*direct;	/* EV_READ on the socket; NULL: TLS */
	const struct listener	*lsn;		/* accepted on */
	struct conn_auth	 auth;
};

static void conn_read_cb(struct bufferevent *, void *);
static void conn_close_now(struct conn *, const char *);

static void
req_release_files(struct req *r)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (r->files[i].release != NULL)
			r->files[i].release(r->files[i].arg);
	free(r->files);
	r->files = NULL;
	r->nfiles = 0;
	kp_holes_clear(&r->holes);
}

static void
req_free(struct req *r)
{
	req_release_files(r);
	if (r->timer != NULL)
		event_free(r->timer);
	kp_arena_clear(&r->arena);
	wbuf_clear(&r->out);
	free(r->frame);
	free(r);
}

static void
conn_free(struct conn *c)
{
	struct req *r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		if (r->waiting && r->cancel != NULL)
			r->cancel(r);
		req_free(r);
	}
	TAILQ_REMOVE(&c->broker->conns, c, entry);
	if (c->reaper != NULL)
		event_free(c->reaper);
	if (c->direct != NULL)
		event_free(c->direct);
	if (c->partial != NULL)
		req_free(c->partial);
	bufferevent_free(c->bev);
	conn_auth_clear(&c->auth);
	free(c);
}

static void
conn_update_read(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool pause = c->inflight >= CONN_MAX_INFLIGHT ||
	    evbuffer_get_length(out) >= CONN_OUT_HIGH;

	/* A frame being read directly is finished first (it is bounded). */
	if (pause && !c->paused) {
		bufferevent_disable(c->bev, EV_READ);
		c->paused = true;
	} else if (!pause && c->paused && !c->closing) {
		c->paused = false;
		if (c->partial != NULL)
			return;		/* conn_direct_cb resumes */
		bufferevent_enable(c->bev, EV_READ);
		/* frames may already be buffered */
		conn_read_cb(c->bev, c);
	}
}

/* arg: the start of the allocation data points into. */
static void
free_ref(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	free(arg);
}

/*
 * A response with nothing queued before it, on plaintext: hand it to the
 * socket now instead of in a later round of the loop (which would also
 * cost two epoll changes, the write event's on and off).  What the socket
 * takes; errors are left for the bufferevent to meet.
 */
static size_t
conn_send_now(struct conn *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (c->lsn->tls ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return 0;
	do
		n = send(bufferevent_getfd(c->bev), p, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}

static void
file_cleanup_cb(const struct evbuffer_file_segment *fs, int flags, void *arg)
{
	struct req_file *f = arg;

	(void)fs;
	(void)flags;
	f->release(f->arg);
	free(f);
}

/* Queue a response with holes: bytes of out between file ranges. */
static void
conn_queue_pieces(struct evbuffer *out, struct req *r)
{
	size_t prev = 0;

	for (size_t i = 0; i < r->holes.n; i++) {
		struct req_file *f = &r->files[i], *keep;
		struct evbuffer_file_segment *fs;

		evbuffer_add(out, r->out.data + prev, r->holes.v[i].at - prev);
		prev = r->holes.v[i].at;
		/* TLS: read into memory now (a later truncation of the
		   segment must not fault a mapping); else sendfile(2). */
		fs = evbuffer_file_segment_new(f->fd, (ev_off_t)f->pos,
		    (ev_off_t)f->len, r->conn->lsn->tls ?
		    EVBUF_FS_DISABLE_MMAP : 0);
		if (fs == NULL) {
			log_warnx("broker: conn %s: cannot queue file range",
			    r->conn->peer);
			continue;
		}
		keep = xmalloc(sizeof(*keep));
		*keep = *f;
		f->release = NULL;	/* the segment owns it now */
		evbuffer_file_segment_add_cleanup_cb(fs, file_cleanup_cb,
		    keep);
		evbuffer_add_file_segment(out, fs, 0, (ev_off_t)f->len);
		evbuffer_file_segment_free(fs);
	}
	evbuffer_add(out, r->out.data + prev, r->out.len - prev);
}

/* Send every finished response at the head of the queue. */
static void
conn_flush(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct req *r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL && r->done) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		c->inflight--;
		if (!r->noresp && r->nfiles > 0)
			conn_queue_pieces(out, r);
		else if (!r->noresp && r->out.len > 0) {
			size_t len, sent = conn_send_now(c, r->out.data,
			    r->out.len);
			uint8_t *data;

			if (sent < r->out.len) {
				data = wbuf_steal(&r->out, &len);
				if (evbuffer_add_reference(out, data + sent,
				    len - sent, free_ref, data) != 0)
					free(data);
			}
		}
		req_free(r);
	}
	if (c->closing && TAILQ_EMPTY(&c->reqs) &&
	    evbuffer_get_length(out) == 0) {
		/* Callers may still hold c: free it from the loop. */
		if (!evtimer_pending(c->reaper, NULL)) {
			struct timeval tv = { 0, 0 };
			evtimer_add(c->reaper, &tv);
		}
		return;
	}
	conn_update_read(c);
}

void
req_respond_files(struct req *r, const struct kp_struct *desc,
    const void *msg, struct req_file *files, size_t nfiles)
{
	const struct kp_msg *m = kp_msg_get(r->hdr.api_key);
	struct req_file *ordered;
	size_t at, extra = 0;

	r->files = files;
	r->nfiles = nfiles;
	wbuf_reset(&r->out);
	at = wbuf_mark(&r->out, 4);
	kp_resp_hdr_encode(&r->out, r->resp_hdr_version, r->hdr.correlation_id);
	kp_encode_holes(&r->out, desc, r->hdr.api_version,
	    m != NULL && kp_flexible(m, r->hdr.api_version), msg, &r->holes);
	if (r->out.err == 0 && r->holes.n != nfiles)
		r->out.err = MO_EINVAL;
	/* Put the files in hole order. */
	ordered = xcalloc(nfiles ? nfiles : 1, sizeof(*ordered));
	for (size_t i = 0; i < r->holes.n && r->out.err == 0; i++) {
		size_t j;

		for (j = 0; j < nfiles; j++)
			if (files[j].field == r->holes.v[i].field)
				break;
		if (j == nfiles || files[j].release == NULL) {
			r->out.err = MO_EINVAL;
			break;
		}
		ordered[i] = files[j];
		files[j].release = NULL;
		extra += ordered[i].len;
	}
	for (size_t j = 0; j < nfiles; j++)	/* unmatched on error */
		if (files[j].release != NULL)
			files[j].release(files[j].arg);
	free(files);
	r->files = ordered;
	if (r->out.err != 0) {
		log_warnx("broker: conn %s: cannot encode response to api %d "
		    "v%d: %s", r->conn->peer, r->hdr.api_key,
		    r->hdr.api_version, mo_strerror(r->out.err));
		req_close_conn(r, "encode failure");
		return;
	}
	wbuf_patch_i32(&r->out, at, (int32_t)(r->out.len - 4 + extra));
	r->done = true;
	conn_flush(r->conn);
}

void
req_respond(struct req *r, const struct kp_struct *desc, const void *msg)
{
	const struct kp_msg *m = kp_msg_get(r->hdr.api_key);
	size_t at;

	wbuf_reset(&r->out);
	at = wbuf_mark(&r->out, 4);
	kp_resp_hdr_encode(&r->out, r->resp_hdr_version, r->hdr.correlation_id);
	kp_encode(&r->out, desc, r->hdr.api_version,
	    m != NULL && kp_flexible(m, r->hdr.api_version), msg);
	if (r->out.err != 0) {
		log_warnx("broker: conn %s: cannot encode response to api %d "
		    "v%d: %s", r->conn->peer, r->hdr.api_key,
		    r->hdr.api_version, mo_strerror(r->out.err));
		req_close_conn(r, "encode failure");
		return;
	}
	wbuf_patch_i32(&r->out, at, (int32_t)(r->out.len - 4));
	r->done = true;
	conn_flush(r->conn);
}

void
req_respond_raw(struct req *r, const void *p, size_t len)
{
	size_t at;

	wbuf_reset(&r->out);
	at = wbuf_mark(&r->out, 4);
	if (len > 0)
		wbuf_put(&r->out, p, len);
	wbuf_patch_i32(&r->out, at, (int32_t)(r->out.len - 4));
	r->done = true;
	conn_flush(r->conn);
}

const char *
req_peer_host(const struct req *r)
{
	return r->conn->host;
}

void
req_finish_silent(struct req *r)
{
	r->noresp = true;
	r->done = true;
	conn_flush(r->conn);
}

void
req_close_conn(struct req *r, const char *why)
{
	struct conn *c = r->conn;

	log_info("broker: conn %s: closing: %s", c->peer, why);
	r->noresp = true;
	r->done = true;
	/* Drop everything not yet answered; flush what is ready. */
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (c->partial != NULL) {
		event_del(c->direct);
		req_free(c->partial);
		c->partial = NULL;
	}
	{
		struct req *q, *next;
		for (q = TAILQ_FIRST(&c->reqs); q != NULL; q = next) {
			next = TAILQ_NEXT(q, entry);
			if (!q->done) {
				if (q->waiting && q->cancel != NULL)
					q->cancel(q);
				q->noresp = true;
				q->done = true;
			}
		}
	}
	conn_flush(c);
}

static void
conn_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg);
}

static void
conn_close_now(struct conn *c, const char *why)
{
	log_debug("broker: conn %s: closing: %s", c->peer, why);
	conn_free(c);
}

/* A whole frame is in r->frame: decode its header and dispatch it. */
static int
conn_dispatch(struct conn *c, struct req *r)
{
	rd_init(&r->body, r->frame, r->framelen);
	if (c->auth.raw) {
		/* After SaslHandshake v0: a token, not a request. */
		c->auth.raw = false;
		TAILQ_INSERT_TAIL(&c->reqs, r, entry);
		c->inflight++;
		api_sasl_raw(c->broker, r);
		return 1;
	}
	if (kp_req_hdr_decode(&r->body, &r->hdr) != 0) {
		log_warnx("broker: conn %s: malformed request header", c->peer);
		req_free(r);
		return -1;
	}
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->inflight++;
	api_dispatch(c->broker, r);
	return 1;
}

/* A frame's bytes could not be taken: close as conn_read_cb does. */
static void
conn_bad_frame(struct conn *c)
{
	if (TAILQ_EMPTY(&c->reqs))
		conn_close_now(c, "bad frame");
	else {
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		conn_flush(c);
	}
}

/*
 * Read the rest of the frame being read directly (c->partial) from the
 * socket: 1 when it is whole, 0 when the socket has no more for now, -1
 * when the peer closed or the read failed (*why says which).
 */
static int
conn_direct_fill(struct conn *c, const char **why)
{
	struct req *r = c->partial;
	int fd = bufferevent_getfd(c->bev);
	ssize_t n;

	while (c->partial_got < r->framelen) {
		if (c->partial_got == c->partial_cap) {
			c->partial_cap = c->partial_cap * 2 < r->framelen ?
			    c->partial_cap * 2 : r->framelen;
			r->frame = xrealloc(r->frame, c->partial_cap);
		}
		n = read(fd, r->frame + c->partial_got,
		    c->partial_cap - c->partial_got);
		if (n > 0) {
			c->partial_got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		*why = n == 0 ? "peer closed" : strerror(errno);
		return -1;
	}
	c->partial = NULL;
	return 1;
}

/* The socket is readable while a large frame is read directly. */
static void
conn_direct_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct req *r = c->partial;
	const char *why;
	int rc;

	(void)fd;
	(void)what;
	if (r == NULL || c->closing) {
		event_del(c->direct);
		return;
	}
	if ((rc = conn_direct_fill(c, &why)) == 0)
		return;
	if (rc < 0) {
		conn_close_now(c, why);
		return;
	}
	event_del(c->direct);
	if (conn_dispatch(c, r) < 0) {
		conn_bad_frame(c);
		return;
	}
	/* The handler may have closed the conn or paused reading. */
	if (c->closing || c->paused)
		return;
	if (c->inflight >= CONN_MAX_INFLIGHT) {
		conn_update_read(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
}

/*
 * Take one frame from in (and, for a large one, the socket): 1 when one
 * was dispatched, 0 when more bytes must come first, -1 on a bad frame,
 * -2 when the peer went away in the middle of a frame.
 */
static int
conn_take_frame(struct conn *c, struct evbuffer *in)
{
	struct broker *b = c->broker;
	uint8_t szb[4];
	const char *why;
	int32_t size;
	size_t have;
	struct req *r;

	if (evbuffer_get_length(in) < 4)
		return 0;
	evbuffer_copyout(in, szb, 4);
	size = (int32_t)((uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 |
	    (uint32_t)szb[2] << 8 | szb[3]);
	if (size < 8 || size > b->cfg->socket_request_max_bytes) {
		log_warnx("broker: conn %s: request size %d outside 8..%d",
		    c->peer, size, b->cfg->socket_request_max_bytes);
		return -1;
	}
	have = evbuffer_get_length(in);
	if (have < (size_t)size + 4 && (c->direct == NULL ||
	    (size_t)size + 4 - have < CONN_DIRECT_MIN)) {
		bufferevent_setwatermark(c->bev, EV_READ, (size_t)size + 4, 0);
		return 0;
	}
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	evbuffer_drain(in, 4);
	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->broker = b;
	r->framelen = (size_t)size;
	if (have < (size_t)size + 4) {
		/* The rest goes straight from the socket into r->frame. */
		c->partial_got = have - 4;
		c->partial_cap = c->partial_got + CONN_DIRECT_STEP;
		if (c->partial_cap > r->framelen)
			c->partial_cap = r->framelen;
		r->frame = xmalloc(c->partial_cap);
		evbuffer_remove(in, r->frame, c->partial_got);
		c->partial = r;
		/*
		 * The rest is usually in the socket already: read it now
		 * rather than after a round of the loop (and the epoll
		 * changes of switching events back and forth).
		 */
		switch (conn_direct_fill(c, &why)) {
		case 1:
			return conn_dispatch(c, r);
		case 0:
			bufferevent_disable(c->bev, EV_READ);
			event_add(c->direct, NULL);
			return 0;
		default:
			log_debug("broker: conn %s: %s", c->peer, why);
			return -2;
		}
	}
	r->frame = xmalloc(r->framelen);
	evbuffer_remove(in, r->frame, r->framelen);
	return conn_dispatch(c, r);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	while (!c->closing && !c->paused && c->partial == NULL) {
		rc = conn_take_frame(c, in);
		if (rc == -2) {
			/* Gone mid-frame: drop it, free c from the loop. */
			c->closing = true;
			bufferevent_disable(c->bev, EV_READ);
			req_free(c->partial);
			c->partial = NULL;
			conn_flush(c);
			return;
		}
		if (rc < 0) {
			conn_bad_frame(c);
			return;
		}
		if (rc == 0)
			break;
		/* conn may be closing now; the loop condition checks */
		if (c->inflight >= CONN_MAX_INFLIGHT) {
			conn_update_read(c);
			break;
		}
	}
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing) {
		conn_flush(c);
		return;
	}
	conn_update_read(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	unsigned long e;

	if (what & BEV_EVENT_EOF)
		conn_close_now(c, "peer closed");
	else if ((what & BEV_EVENT_ERROR) && c->lsn->tls &&
	    (e = bufferevent_get_openssl_error(bev)) != 0) {
		char buf[256];

		ERR_error_string_n(e, buf, sizeof(buf));
		conn_close_now(c, buf);
	} else if (what & BEV_EVENT_ERROR)
		conn_close_now(c, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	const struct listener *lsn = arg;
	struct broker *b = lsn->b;
	struct conn *c;
	char host[INET6_ADDRSTRLEN] = "?";
	int one = 1, port = 0;

	(void)l;
	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->broker = b;
	TAILQ_INIT(&c->reqs);
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	snprintf(c->host, sizeof(c->host), "/%s", host);
	c->lsn = lsn;
	c->auth.done = !lsn->sasl;
	if (lsn->tls) {
		SSL *ssl = SSL_new(b->ssl_ctx);

		c->bev = ssl == NULL ? NULL : bufferevent_openssl_socket_new(
		    b->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL && ssl != NULL)
			SSL_free(ssl);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else
		c->bev = bufferevent_socket_new(b->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->reaper = evtimer_new(b->base, conn_reap_cb, c);
	/* Large frames skip the bufferevent only on plaintext. */
	if (!lsn->tls)
		c->direct = event_new(b->base, fd, EV_READ | EV_PERSIST,
		    conn_direct_cb, c);
	TAILQ_INSERT_TAIL(&b->conns, c, entry);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("broker: conn %s: accepted", c->peer);
}

/*
 * Parse "NAME://host:port" (host may be [v6] or empty); NAME is the
 * security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.  -1:
 * malformed, -2: another protocol.
 * A name may come more than once (one port on IPv4 and on IPv6): the
 * first of a name is the one advertised.
 */
static int
parse_listener(const char *s, char *name, size_t namelen, char *host,
    size_t hostlen, int *port)
{
	const char *hp, *colon, *sep = strstr(s, "://");
	char *end;
	long p;
	size_t n;

	if (sep == NULL || (size_t)(sep - s) >= namelen || sep == s)
		return -1;
	memcpy(name, s, (size_t)(sep - s));
	name[sep - s] = '\0';
	hp = sep + 3;
	colon = strrchr(hp, ':');
	if (colon == NULL)
		return -1;
	n = (size_t)(colon - hp);
	if (n > 1 && hp[0] == '[' && hp[n - 1] == ']') {
		hp++;
		n -= 2;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, hp, n);
	host[n] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	if (strcmp(name, "PLAINTEXT") != 0 && strcmp(name, "SSL") != 0 &&
	    strcmp(name, "SASL_PLAINTEXT") != 0 &&
	    strcmp(name, "SASL_SSL") != 0)
		return -2;
	return 0;
}

/* The openssl errors queued, as one line (for a log message). */
static const char *
ssl_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t at = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0 && at + 2 < len) {
		if (at > 0)
			buf[at++] = ';';
		ERR_error_string_n(e, buf + at, len - at);
		at += strlen(buf + at);
	}
	return buf;
}

static int
ssl_password_cb(char *buf, int size, int rw, void *arg)
{
	const char *pw = arg;
	size_t n = strlen(pw);

	(void)rw;
	if (n >= (size_t)size)
		return -1;
	memcpy(buf, pw, n);
	return (int)n;
}

/* The TLS context of SSL listeners from the broker's ssl.* settings. */
static bool
scram_enabled(const struct mo_config *cfg)
{
	for (size_t i = 0; i < cfg->sasl_enabled_mechanisms.n; i++)
		if (strncmp(cfg->sasl_enabled_mechanisms.v[i], "SCRAM-", 6) == 0)
			return true;
	return false;
}

static int
net_ssl_ctx(struct broker *b)
{
	const struct mo_config *cfg = b->cfg;
	const char *ks = cfg->ssl_keystore_location;
	const char *ts = cfg->ssl_truststore_location;
	char err[512];
	SSL_CTX *ctx;

	if (ks[0] == '\0') {
		log_warnx("broker: an SSL listener needs "
		    "broker.ssl.keystore.location (a PEM file with the "
		    "certificate chain and the private key)");
		return -1;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		log_warnx("broker: TLS: %s", ssl_errors(err, sizeof(err)));
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (cfg->ssl_key_password[0] != '\0') {
		SSL_CTX_set_default_passwd_cb(ctx, ssl_password_cb);
		SSL_CTX_set_default_passwd_cb_userdata(ctx,
		    cfg->ssl_key_password);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, ks) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, ks, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_warnx("broker: ssl.keystore.location %s: %s", ks,
		    ssl_errors(err, sizeof(err)));
		SSL_CTX_free(ctx);
		return -1;
	}
	if (strcmp(cfg->ssl_client_auth, "none") != 0) {
		int mode = SSL_VERIFY_PEER;

		if (ts[0] == '\0') {
			log_warnx("broker: ssl.client.auth %s needs "
			    "broker.ssl.truststore.location (PEM CA "
			    "certificates)", cfg->ssl_client_auth);
			SSL_CTX_free(ctx);
			return -1;
		}
		if (SSL_CTX_load_verify_locations(ctx, ts, NULL) != 1) {
			log_warnx("broker: ssl.truststore.location %s: %s", ts,
			    ssl_errors(err, sizeof(err)));
			SSL_CTX_free(ctx);
			return -1;
		}
		if (strcmp(cfg->ssl_client_auth, "required") == 0)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
	}
	b->ssl_ctx = ctx;
	return 0;
}

int
net_listen(struct broker *b)
{
	struct mo_config *cfg = b->cfg;

	b->listeners = xcalloc(cfg->listeners.n, sizeof(*b->listeners));
	for (size_t i = 0; i < cfg->listeners.n; i++) {
		struct listener *lsn = &b->listeners[i];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char host[256];
		int port, rc;

		lsn->b = b;
		rc = parse_listener(cfg->listeners.v[i], lsn->name,
		    sizeof(lsn->name), host, sizeof(host), &port);
		if (rc != 0) {
			log_warnx("broker: listener %s: %s",
			    cfg->listeners.v[i], rc == -2 ? "security "
			    "protocol not supported (PLAINTEXT, SSL, "
			    "SASL_PLAINTEXT, SASL_SSL)" :
			    "expected PROTOCOL://host:port");
			return -1;
		}
		lsn->tls = strcmp(lsn->name, "SSL") == 0 ||
		    strcmp(lsn->name, "SASL_SSL") == 0;
		lsn->sasl = strncmp(lsn->name, "SASL_", 5) == 0;
		/* SCRAM users may come later (AlterUserScramCredentials);
		   PLAIN has only the configured ones. */
		if (lsn->sasl && cfg->sasl_users.n == 0 && !scram_enabled(cfg)) {
			log_warnx("broker: listener %s: SASL needs "
			    "broker.sasl.users (name:password entries) or a "
			    "SCRAM mechanism in broker.sasl.enabled.mechanisms",
			    cfg->listeners.v[i]);
			return -1;
		}
		if (lsn->tls && b->ssl_ctx == NULL && net_ssl_ctx(b) != 0)
			return -1;
		memset(&ss, 0, sizeof(ss));
		if (evutil_parse_sockaddr_port(host[0] == '\0' ? "0.0.0.0" :
		    host, (struct sockaddr *)&ss, (int *)&sl) != 0) {
			log_warnx("broker: listener %s: host must be an IP "
			    "address", cfg->listeners.v[i]);
			return -1;
		}
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		lsn->l = evconnlistener_new_bind(b->base, accept_cb, lsn,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
		    LEV_OPT_CLOSE_ON_EXEC, 512, (struct sockaddr *)&ss, (int)sl);
		if (lsn->l == NULL) {
			log_warn("broker: listener %s: bind",
			    cfg->listeners.v[i]);
			return -1;
		}
		b->nlisteners++;
		sl = sizeof(ss);
		getsockname(evconnlistener_get_fd(lsn->l),
		    (struct sockaddr *)&ss, &sl);
		lsn->adv_port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
		lsn->adv_host = xstrdup(host[0] == '\0' ||
		    strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host);
	}
	for (size_t i = 0; i < cfg->advertised_listeners.n; i++) {
		char name[16], host[256];
		int port;
		size_t j;

		if (parse_listener(cfg->advertised_listeners.v[i], name,
		    sizeof(name), host, sizeof(host), &port) != 0 ||
		    host[0] == '\0') {
			log_warnx("broker: advertised listener %s: expected "
			    "NAME://host:port (NAME of a listener)",
			    cfg->advertised_listeners.v[i]);
			return -1;
		}
		for (j = 0; j < b->nlisteners; j++)
			if (strcmp(b->listeners[j].name, name) == 0)
				break;
		if (j == b->nlisteners) {
			log_warnx("broker: advertised listener %s: no "
			    "listener named %s", cfg->advertised_listeners.v[i],
			    name);
			return -1;
		}
		free(b->listeners[j].adv_host);
		b->listeners[j].adv_host = xstrdup(host);
		b->listeners[j].adv_port = port;
	}
	free(b->adv_host);
	b->adv_host = xstrdup(b->listeners[0].adv_host);
	b->adv_port = b->listeners[0].adv_port;
	return 0;
}

const struct listener *
req_listener(const struct req *r)
{
	return r->conn->lsn;
}

struct conn_auth *
req_auth(struct req *r)
{
	return &r->conn->auth;
}

/* "User:" and the subject of the TLS client's certificate, or NULL. */
static char *
conn_cert_principal(struct conn *c)
{
	SSL *ssl = c->lsn->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	X509 *cert;
	BIO *bio;
	char *out = NULL, *data;
	long n;

	if (ssl == NULL || (cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(bio, &data)) > 0)
		xasprintf(&out, "User:%.*s", (int)n, data);
	BIO_free(bio);
	X509_free(cert);
	return out;
}

const char *
req_principal(struct req *r)
{
	struct conn_auth *a = &r->conn->auth;

	if (a->principal != NULL)
		return a->principal;
	if (a->user != NULL)
		xasprintf(&a->principal, "User:%s", a->user);
	else if ((a->principal = conn_cert_principal(r->conn)) == NULL)
		a->principal = xstrdup("User:ANONYMOUS");
	return a->principal;
}

void
req_respond_close(struct req *r, const struct kp_struct *desc,
    const void *msg, const char *why)
{
	struct conn *c = r->conn;

	log_info("broker: conn %s: closing: %s", c->peer, why);
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	req_respond(r, desc, msg);
}

void
net_close_all(struct broker *b)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&b->conns)) != NULL)
		conn_free(c);
	for (size_t i = 0; i < b->nlisteners; i++) {
		evconnlistener_free(b->listeners[i].l);
		free(b->listeners[i].adv_host);
	}
	free(b->listeners);
	if (b->ssl_ctx != NULL)
		SSL_CTX_free(b->ssl_ctx);
	b->ssl_ctx = NULL;
	b->listeners = NULL;
	b->nlisteners = 0;
}
