/*
 * IPC: frame header edges, payload codecs (round trips, every truncation,
 * bad counts and strings) and two peers talking over a socketpair on a
 * libevent base (HELLO exchange, a message, version mismatch, garbage).
 */
#include <sys/socket.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ipc.h"

static void
test_frame_roundtrip(void **state)
{
	struct wbuf w = { 0 };
	struct ipc_hdr h;

	(void)state;
	ipc_frame_put(&w, IPC_CHILD_STOP, 7, "abc", 3);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, IPC_HDR_LEN + 3);
	/* Every prefix is "need more", the whole is a frame. */
	for (size_t i = 0; i < w.len; i++)
		assert_int_equal(ipc_frame_parse(w.data, i, &h), MO_ESHORT);
	assert_int_equal(ipc_frame_parse(w.data, w.len, &h), 0);
	assert_int_equal(h.type, IPC_CHILD_STOP);
	assert_int_equal(h.len, IPC_HDR_LEN + 3);
	assert_int_equal(h.peerid, 7);
	assert_int_equal(h.pid, (uint32_t)getpid());
	assert_memory_equal(w.data + IPC_HDR_LEN, "abc", 3);
	/* Network order on the wire. */
	assert_int_equal(w.data[2], 0x01);
	assert_int_equal(w.data[3], 0x03);
	wbuf_clear(&w);
}

static void
test_frame_bad_len(void **state)
{
	uint8_t hdr[IPC_HDR_LEN] = { 0, 0, 0, 1 };
	struct ipc_hdr h;
	struct wbuf w = { 0 };

	(void)state;
	/* len smaller than the header */
	hdr[7] = 15;
	assert_int_equal(ipc_frame_parse(hdr, sizeof(hdr), &h), MO_EMALFORMED);
	/* len above the cap: rejected from the header alone */
	hdr[4] = 0x7f;
	assert_int_equal(ipc_frame_parse(hdr, sizeof(hdr), &h), MO_ETOOBIG);
	hdr[4] = 0;
	hdr[5] = (uint8_t)((IPC_MAX_FRAME + 1) >> 16);
	hdr[6] = (uint8_t)((IPC_MAX_FRAME + 1) >> 8);
	hdr[7] = (uint8_t)(IPC_MAX_FRAME + 1);
	assert_int_equal(ipc_frame_parse(hdr, sizeof(hdr), &h), MO_ETOOBIG);
	/* an encoder refuses a payload that would not fit */
	ipc_frame_put(&w, 1, 0, hdr, IPC_MAX_FRAME);
	assert_int_equal(w.err, MO_ETOOBIG);
	wbuf_clear(&w);
}

static void
test_hello(void **state)
{
	struct wbuf w = { 0 };
	struct ipc_str name;
	uint32_t v;
	struct rd r;

	(void)state;
	ipc_hello_put(&w, "broker");
	rd_init(&r, w.data, w.len);
	assert_int_equal(ipc_hello_get(&r, &v, &name), 0);
	assert_int_equal(v, IPC_VERSION);
	assert_true(ipc_str_eq(&name, "broker"));
	for (size_t i = 0; i < w.len; i++) {
		rd_init(&r, w.data, i);
		assert_int_not_equal(ipc_hello_get(&r, &v, &name), 0);
	}
	/* a trailing byte is malformed */
	wbuf_put_i8(&w, 0);
	rd_init(&r, w.data, w.len);
	assert_int_equal(ipc_hello_get(&r, &v, &name), MO_EMALFORMED);
	wbuf_clear(&w);
}

static void
test_strings(void **state)
{
	const char *v[] = { "PLAINTEXT://127.0.0.1:9092", "", "x" };
	struct ipc_str got[IPC_MAX_LISTENERS];
	static const uint8_t nul[] = { 0, 1, 0, 2, 'a', 0 };
	static const uint8_t many[] = { 0xff, 0xff };
	static const uint8_t huge[] = { 0, 1, 0xff, 0xff };
	struct wbuf w = { 0 };
	char buf[8];
	size_t n;
	struct rd r;

	(void)state;
	ipc_strs_put(&w, v, 3);
	rd_init(&r, w.data, w.len);
	assert_int_equal(ipc_strs_get(&r, got, IPC_MAX_LISTENERS, &n), 0);
	assert_int_equal(n, 3);
	assert_true(ipc_str_eq(&got[0], v[0]));
	assert_true(ipc_str_eq(&got[1], ""));
	ipc_str_copy(buf, sizeof(buf), &got[0]);
	assert_string_equal(buf, "PLAINTE");	/* cut to fit */
	for (size_t i = 0; i < w.len; i++) {
		rd_init(&r, w.data, i);
		assert_int_not_equal(ipc_strs_get(&r, got, 16, &n), 0);
		assert_int_equal(n, 0);
	}
	/* more than the caller's array */
	rd_init(&r, w.data, w.len);
	assert_int_equal(ipc_strs_get(&r, got, 2, &n), MO_ETOOBIG);
	/* a NUL inside a string, a count the bytes cannot hold, a length
	 * above IPC_MAX_STR */
	rd_init(&r, nul, sizeof(nul));
	assert_int_equal(ipc_strs_get(&r, got, 16, &n), MO_EMALFORMED);
	rd_init(&r, many, sizeof(many));
	assert_int_not_equal(ipc_strs_get(&r, got, 0xffff, &n), 0);
	rd_init(&r, huge, sizeof(huge));
	assert_int_equal(ipc_strs_get(&r, got, 16, &n), MO_ETOOBIG);
	wbuf_clear(&w);
}

static void
set_view(struct ipc_str *s, const char *c)
{
	s->p = c;
	s->len = strlen(c);
}

static void
test_status(void **state)
{
	struct ipc_status st, got;
	struct wbuf w = { 0 };
	struct rd r;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.pid = 42;
	st.uptime_ms = 123456789012LL;
	set_view(&st.state, "running");
	set_view(&st.config, "/etc/moldau/moldau.yaml");
	st.nchildren = 2;
	set_view(&st.children[0].role, "controller");
	set_view(&st.children[0].state, "unavailable");
	set_view(&st.children[0].last_exit, "");
	set_view(&st.children[0].detail, "no moldau-controller binary");
	set_view(&st.children[1].role, "broker");
	set_view(&st.children[1].state, "running");
	st.children[1].pid = 4242;
	st.children[1].uptime_ms = 1500;
	st.children[1].restarts = 3;
	set_view(&st.children[1].last_exit, "killed by signal 9 (Killed)");
	set_view(&st.children[1].detail, "PLAINTEXT://127.0.0.1:9092");
	ipc_status_put(&w, &st);
	assert_int_equal(w.err, 0);
	rd_init(&r, w.data, w.len);
	assert_int_equal(ipc_status_get(&r, &got), 0);
	assert_int_equal(got.pid, 42);
	assert_true(got.uptime_ms == 123456789012LL);
	assert_true(ipc_str_eq(&got.config, "/etc/moldau/moldau.yaml"));
	assert_int_equal(got.nchildren, 2);
	assert_true(ipc_str_eq(&got.children[0].detail,
	    "no moldau-controller binary"));
	assert_int_equal(got.children[1].pid, 4242);
	assert_int_equal(got.children[1].restarts, 3);
	assert_true(got.children[1].uptime_ms == 1500);
	assert_true(ipc_str_eq(&got.children[1].last_exit,
	    "killed by signal 9 (Killed)"));
	for (size_t i = 0; i < w.len; i++) {
		rd_init(&r, w.data, i);
		assert_int_not_equal(ipc_status_get(&r, &got), 0);
		assert_int_equal(got.nchildren, 0);
	}
	/* more children than the reply may carry */
	w.data[4 + 8 + 2 + 7 + 2 + 23] = 0;
	w.data[4 + 8 + 2 + 7 + 2 + 23 + 1] = IPC_MAX_CHILDREN + 1;
	rd_init(&r, w.data, w.len);
	assert_int_equal(ipc_status_get(&r, &got), MO_ETOOBIG);
	wbuf_clear(&w);
}

/* ---- two peers on an event loop ---- */

struct side {
	struct ipc_peer	*peer;
	struct event_base *base;
	uint32_t	 got_type;
	uint32_t	 got_seq;
	int		 nmsg;
	int		 closed;
	const char	*why;
};

static int
side_msg(struct ipc_peer *p, const struct ipc_hdr *h, struct rd *r,
    void *arg)
{
	struct side *s = arg;

	(void)p;
	s->nmsg++;
	s->got_type = h->type;
	rd_u32(r, &s->got_seq);
	event_base_loopbreak(s->base);
	return rd_done(r) == 0 ? 0 : -1;
}

static void
side_close(struct ipc_peer *p, const char *why, void *arg)
{
	struct side *s = arg;

	(void)p;
	s->closed++;
	s->why = why;
	event_base_loopbreak(s->base);
}

static void
run_until(struct event_base *base, const int *flag)
{
	struct timeval tv = { 5, 0 };

	event_base_loopexit(base, &tv);	/* deadline */
	while (*flag == 0 && event_base_got_exit(base) == 0)
		event_base_loop(base, EVLOOP_ONCE);
}

static void
test_peers(void **state)
{
	struct event_base *base = event_base_new();
	struct side a = { 0 }, b = { 0 };
	struct wbuf w = { 0 };
	int sv[2];

	(void)state;
	assert_non_null(base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a.base = b.base = base;
	a.peer = ipc_peer_new(base, sv[0], "moldaud", "broker", side_msg,
	    side_close, &a);
	b.peer = ipc_peer_new(base, sv[1], "broker", "moldaud", side_msg,
	    side_close, &b);
	wbuf_put_u32(&w, 77);
	assert_int_equal(ipc_send(a.peer, IPC_CHILD_HEALTH_REQ, &w), 0);
	run_until(base, &b.nmsg);
	assert_int_equal(b.nmsg, 1);
	assert_int_equal(b.got_type, IPC_CHILD_HEALTH_REQ);
	assert_int_equal(b.got_seq, 77);
	assert_string_equal(ipc_peer_name(b.peer), "moldaud");
	assert_int_equal(ipc_peer_pid(b.peer), (uint32_t)getpid());
	assert_true(ipc_peer_ready(b.peer));
	/* a malformed payload (trailing bytes) drops the peer */
	wbuf_put_u32(&w, 1);
	assert_int_equal(ipc_send(a.peer, IPC_CHILD_HEALTH, &w), 0);
	run_until(base, &b.closed);
	assert_int_equal(b.closed, 1);
	assert_string_equal(b.why, "protocol error");
	ipc_peer_free(b.peer);
	run_until(base, &a.closed);
	assert_int_equal(a.closed, 1);
	assert_int_equal(ipc_send(a.peer, IPC_CHILD_STOP, NULL), -1);
	ipc_peer_free(a.peer);
	wbuf_clear(&w);
	event_base_free(base);
}

/* Raw bytes written to a peer: it must close, having seen no message. */
static void
expect_dropped(const void *bytes, size_t len, const char *why)
{
	struct event_base *base = event_base_new();
	struct side a = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a.base = base;
	a.peer = ipc_peer_new(base, sv[0], "moldaud", "test", side_msg,
	    side_close, &a);
	assert_int_equal(write(sv[1], bytes, len), (ssize_t)len);
	run_until(base, &a.closed);
	assert_int_equal(a.closed, 1);
	assert_int_equal(a.nmsg, 0);
	assert_string_equal(a.why, why);
	ipc_peer_free(a.peer);
	close(sv[1]);
	event_base_free(base);
}

static void
test_peer_rejects(void **state)
{
	struct wbuf w = { 0 }, f = { 0 };
	uint8_t junk[IPC_HDR_LEN];

	(void)state;
	/* wrong version */
	wbuf_put_u32(&w, IPC_VERSION + 1);
	ipc_put_str(&w, "old");
	ipc_frame_put(&f, IPC_HELLO, 0, w.data, w.len);
	expect_dropped(f.data, f.len, "protocol error");
	wbuf_reset(&f);
	/* a message before HELLO */
	ipc_frame_put(&f, IPC_CHILD_STOP, 0, NULL, 0);
	expect_dropped(f.data, f.len, "protocol error");
	/* a header claiming a frame above the cap */
	memset(junk, 0xff, sizeof(junk));
	expect_dropped(junk, sizeof(junk), "bad frame");
	wbuf_clear(&w);
	wbuf_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_bad_len),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_peer_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
