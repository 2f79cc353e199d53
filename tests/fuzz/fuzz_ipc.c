/*
 * Fuzz target: a byte stream arriving on an IPC socket.  Frames are split
 * as the peer code does and each payload goes through the decoder of its
 * type; decoders must never read past the frame and must accept only
 * payloads they consume exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_str(const struct ipc_str *s, const uint8_t *lo, const uint8_t *hi)
{
	if (s->len > 0 && ((const uint8_t *)s->p < lo ||
	    (const uint8_t *)s->p + s->len > hi ||
	    memchr(s->p, '\0', s->len) != NULL))
		abort();
}

static void
decode(const struct ipc_hdr *h, const uint8_t *p, size_t len)
{
	struct ipc_str v[IPC_MAX_LISTENERS], name;
	struct ipc_status st;
	uint32_t u;
	size_t n;
	struct rd r;

	rd_init(&r, p, len);
	switch (h->type) {
	case IPC_HELLO:
		if (ipc_hello_get(&r, &u, &name) == 0)
			check_str(&name, p, p + len);
		break;
	case IPC_CHILD_READY:
		if (ipc_strs_get(&r, v, IPC_MAX_LISTENERS, &n) == 0)
			for (size_t i = 0; i < n; i++)
				check_str(&v[i], p, p + len);
		break;
	case IPC_CHILD_HEALTH_REQ:
	case IPC_CHILD_HEALTH:
		rd_u32(&r, &u);
		(void)rd_done(&r);
		break;
	case IPC_CHILD_LOG_LEVEL:
		ipc_get_str(&r, &name);
		if (rd_done(&r) == 0)
			check_str(&name, p, p + len);
		break;
	case IPC_CTL_STATUS:
		if (ipc_status_get(&r, &st) == 0) {
			if (st.nchildren > IPC_MAX_CHILDREN)
				abort();
			for (size_t i = 0; i < st.nchildren; i++) {
				check_str(&st.children[i].role, p, p + len);
				check_str(&st.children[i].detail, p, p + len);
			}
		}
		break;
	default:
		(void)rd_done(&r);
		break;
	}
	if (r.p > r.end)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_hdr h;
	size_t off = 0;
	int rc;

	while (off < size) {
		rc = ipc_frame_parse(data + off, size - off, &h);
		if (rc != 0)
			break;
		if (h.len < IPC_HDR_LEN || h.len > size - off ||
		    h.len > IPC_MAX_FRAME)
			abort();
		decode(&h, data + off + IPC_HDR_LEN, h.len - IPC_HDR_LEN);
		off += h.len;
	}
	return 0;
}
