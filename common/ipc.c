/*
 * IPC codec: frame headers and the payloads of ipc_msg.h.  Nothing here
 * does I/O; decoders are bounds-checked readers over a borrowed payload.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "ipc.h"

void
ipc_frame_put(struct wbuf *w, uint32_t type, uint32_t peerid,
    const void *payload, size_t len)
{
	if (len > IPC_MAX_FRAME - IPC_HDR_LEN) {
		w->err = MO_ETOOBIG;
		return;
	}
	wbuf_put_u32(w, type);
	wbuf_put_u32(w, (uint32_t)(len + IPC_HDR_LEN));
	wbuf_put_u32(w, peerid);
	wbuf_put_u32(w, (uint32_t)getpid());
	if (len > 0)
		wbuf_put(w, payload, len);
}

int
ipc_frame_parse(const uint8_t *buf, size_t avail, struct ipc_hdr *h)
{
	struct rd r;

	memset(h, 0, sizeof(*h));
	if (avail < IPC_HDR_LEN)
		return MO_ESHORT;
	rd_init(&r, buf, IPC_HDR_LEN);
	rd_u32(&r, &h->type);
	rd_u32(&r, &h->len);
	rd_u32(&r, &h->peerid);
	rd_u32(&r, &h->pid);
	if (h->len < IPC_HDR_LEN)
		return MO_EMALFORMED;
	if (h->len > IPC_MAX_FRAME)
		return MO_ETOOBIG;
	return avail < h->len ? MO_ESHORT : 0;
}

void
ipc_put_str(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);

	if (n > IPC_MAX_STR)
		n = IPC_MAX_STR;
	wbuf_put_u16(w, (uint16_t)n);
	wbuf_put(w, s, n);
}

int
ipc_get_str(struct rd *r, struct ipc_str *s)
{
	const uint8_t *p;
	uint16_t n;

	s->p = "";
	s->len = 0;
	if (rd_u16(r, &n) != 0)
		return r->err;
	if (n > IPC_MAX_STR)
		return rd_fail(r, MO_ETOOBIG);
	if (rd_take(r, n, &p) != 0)
		return r->err;
	if (n > 0 && memchr(p, '\0', n) != NULL)
		return rd_fail(r, MO_EMALFORMED);
	s->p = n > 0 ? (const char *)p : "";
	s->len = n;
	return 0;
}

void
ipc_str_copy(char *buf, size_t size, const struct ipc_str *s)
{
	size_t n = s->len < size - 1 ? s->len : size - 1;

	if (n > 0)
		memcpy(buf, s->p, n);
	buf[n] = '\0';
}

bool
ipc_str_eq(const struct ipc_str *s, const char *c)
{
	return strlen(c) == s->len && (s->len == 0 ||
	    memcmp(s->p, c, s->len) == 0);
}

void
ipc_hello_put(struct wbuf *w, const char *name)
{
	wbuf_put_u32(w, IPC_VERSION);
	ipc_put_str(w, name);
}

int
ipc_hello_get(struct rd *r, uint32_t *version, struct ipc_str *name)
{
	rd_u32(r, version);
	ipc_get_str(r, name);
	return rd_done(r);
}

void
ipc_strs_put(struct wbuf *w, const char *const *v, size_t n)
{
	if (n > UINT16_MAX) {
		w->err = MO_ETOOBIG;
		return;
	}
	wbuf_put_u16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		ipc_put_str(w, v[i]);
}

int
ipc_strs_get(struct rd *r, struct ipc_str *v, size_t max, size_t *np)
{
	uint16_t n;

	*np = 0;
	if (rd_u16(r, &n) != 0)
		return r->err;
	if (n > max)
		return rd_fail(r, MO_ETOOBIG);
	if (rd_count(r, n, 2) != 0)
		return r->err;
	for (size_t i = 0; i < n; i++)
		if (ipc_get_str(r, &v[i]) != 0)
			return r->err;
	*np = n;
	return rd_done(r);
}

static void
ipc_put_view(struct wbuf *w, const struct ipc_str *s)
{
	size_t n = s->len > IPC_MAX_STR ? IPC_MAX_STR : s->len;

	wbuf_put_u16(w, (uint16_t)n);
	wbuf_put(w, s->p, n);
}

void
ipc_status_put(struct wbuf *w, const struct ipc_status *st)
{
	size_t n = st->nchildren > IPC_MAX_CHILDREN ? IPC_MAX_CHILDREN :
	    st->nchildren;

	wbuf_put_i32(w, st->pid);
	wbuf_put_i64(w, st->uptime_ms);
	ipc_put_view(w, &st->state);
	ipc_put_view(w, &st->config);
	wbuf_put_u16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct ipc_child_status *c = &st->children[i];

		ipc_put_view(w, &c->role);
		ipc_put_view(w, &c->state);
		wbuf_put_i32(w, c->pid);
		wbuf_put_i64(w, c->uptime_ms);
		wbuf_put_u32(w, c->restarts);
		ipc_put_view(w, &c->last_exit);
		ipc_put_view(w, &c->detail);
	}
}

int
ipc_status_get(struct rd *r, struct ipc_status *st)
{
	uint16_t n;

	memset(st, 0, sizeof(*st));
	rd_i32(r, &st->pid);
	rd_i64(r, &st->uptime_ms);
	ipc_get_str(r, &st->state);
	ipc_get_str(r, &st->config);
	if (rd_u16(r, &n) != 0)
		return r->err;
	if (n > IPC_MAX_CHILDREN)
		return rd_fail(r, MO_ETOOBIG);
	/* 4 strings, pid, uptime, restarts: at least 24 bytes each */
	if (rd_count(r, n, 24) != 0)
		return r->err;
	for (size_t i = 0; i < n; i++) {
		struct ipc_child_status *c = &st->children[i];

		ipc_get_str(r, &c->role);
		ipc_get_str(r, &c->state);
		rd_i32(r, &c->pid);
		rd_i64(r, &c->uptime_ms);
		rd_u32(r, &c->restarts);
		ipc_get_str(r, &c->last_exit);
		ipc_get_str(r, &c->detail);
	}
	if (r->err == 0)
		st->nchildren = n;
	return rd_done(r);
}

const char *
ipc_type_name(uint32_t type)
{
	switch (type) {
	case IPC_HELLO:
		return "HELLO";
	case IPC_CHILD_READY:
		return "READY";
	case IPC_CHILD_HEALTH_REQ:
		return "HEALTH_REQ";
	case IPC_CHILD_HEALTH:
		return "HEALTH";
	case IPC_CHILD_STOP:
		return "STOP";
	case IPC_CHILD_LOG_LEVEL:
		return "LOG_LEVEL";
	case IPC_CTL_STATUS_REQ:
		return "STATUS_REQ";
	case IPC_CTL_STATUS:
		return "STATUS";
	default:
		return "unknown";
	}
}
