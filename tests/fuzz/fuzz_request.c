/*
 * Fuzz target: a request frame body (without the size prefix).  Decodes the
 * header, then the body as the request of that API and version, then the
 * same bytes as its response.  A successful decode must re-encode into a
 * canonical form that decodes and encodes back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kproto.h"
#include "rd.h"
#include "wbuf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Decode with s; on success, check that encoding is a fixed point. */
static void
fuzz_body(const struct kp_struct *s, int16_t ver, bool flex,
    const uint8_t *p, size_t len)
{
	struct kp_arena a = { 0 };
	struct wbuf w1 = { 0 }, w2 = { 0 };
	void *o1 = kp_arena_alloc(&a, s->size);
	void *o2 = kp_arena_alloc(&a, s->size);
	struct rd r;

	rd_init(&r, p, len);
	if (kp_decode(&r, s, ver, flex, o1, &a) != 0)
		goto out;
	if (kp_encode(&w1, s, ver, flex, o1) != 0)
		goto out;
	/* rd_init does pointer arithmetic: never hand it NULL. */
	rd_init(&r, w1.data != NULL ? w1.data : p, w1.len);
	if (kp_decode(&r, s, ver, flex, o2, &a) != 0 || rd_done(&r) != 0)
		abort();
	if (kp_encode(&w2, s, ver, flex, o2) != 0 || w1.len != w2.len ||
	    (w1.len != 0 && memcmp(w1.data, w2.data, w1.len) != 0))
		abort();
out:
	wbuf_clear(&w1);
	wbuf_clear(&w2);
	kp_arena_clear(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kp_msg *m;
	struct kp_req_hdr h;
	struct rd r;
	bool flex;

	rd_init(&r, data, size);
	if (kp_req_hdr_decode(&r, &h) != 0)
		return 0;
	if ((m = kp_msg_get(h.api_key)) == NULL ||
	    h.api_version < m->vmin || h.api_version > m->vmax)
		return 0;
	flex = kp_flexible(m, h.api_version);
	fuzz_body(m->req, h.api_version, flex, r.p, rd_left(&r));
	fuzz_body(m->resp, h.api_version, flex, r.p, rd_left(&r));
	return 0;
}
