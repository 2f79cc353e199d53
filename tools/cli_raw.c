/*
 * What librdkafka 2.0 has no API for, asked with the project's own codec
 * over a blocking connection to the bootstrap server: topic ids (Metadata
 * v12), and any request and response of the codec (cli_raw_rpc).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kproto.h"
#include "kproto_gen.h"

#define RAW_METADATA_VERSION	12
#define RAW_MAX_FRAME		(64 * 1024 * 1024)
#define RAW_TIMEOUT_S		10

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Kafka's text form of a UUID: URL-safe base64, no padding. */
static void
uuid_text(const struct kuuid *u, char out[23])
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		acc = acc << 8 | u->b[i];
		for (bits += 8; bits >= 6; bits -= 6)
			out[o++] = b64url[(acc >> (bits - 6)) & 0x3f];
	}
	out[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
}

int
cli_raw_connect(const char *bootstrap)
{
	char host[256], *colon;
	struct addrinfo hints, *ai, *a;
	struct timeval tv = { RAW_TIMEOUT_S, 0 };
	int fd = -1;

	snprintf(host, sizeof(host), "%.*s", (int)strcspn(bootstrap, ","),
	    bootstrap);
	if ((colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	for (a = ai; a != NULL && fd == -1; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static int
io_full(int fd, void *p, size_t len, bool wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? write(fd, (uint8_t *)p + done, len - done) :
		    read(fd, (uint8_t *)p + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Send one request, return the response body (caller frees). */
uint8_t *
cli_raw_call(int fd, int16_t key, int16_t ver, const struct kp_struct *d,
    const void *msg, size_t *len)
{
	const struct kp_msg *m = kp_msg_get(key);
	struct kp_req_hdr h = { key, ver, 1, { "moldau", 6 } };
	struct wbuf w = { 0 };
	uint8_t szb[4], *resp = NULL;
	size_t mark;
	uint32_t sz;

	mark = wbuf_mark(&w, 4);
	kp_req_hdr_encode(&w, &h);
	kp_encode(&w, d, ver, kp_flexible(m, ver), msg);
	wbuf_patch_i32(&w, mark, (int32_t)(w.len - 4));
	if (w.err != 0 || io_full(fd, w.data, w.len, true) != 0 ||
	    io_full(fd, szb, 4, false) != 0)
		goto out;
	sz = (uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 |
	    (uint32_t)szb[2] << 8 | szb[3];
	if (sz < 4 || sz > RAW_MAX_FRAME || (resp = malloc(sz)) == NULL)
		goto out;
	if (io_full(fd, resp, sz, false) != 0) {
		free(resp);
		resp = NULL;
		goto out;
	}
	*len = sz;
out:
	wbuf_clear(&w);
	return resp;
}

int
cli_raw_rpc(int fd, int16_t key, int16_t ver, const void *req, void *resp,
    struct kp_arena *a, uint8_t **buf)
{
	const struct kp_msg *m = kp_msg_get(key);
	uint32_t ntags = 0;
	int32_t corr = 0;
	size_t len = 0;
	struct rd r;

	if ((*buf = cli_raw_call(fd, key, ver, m->req, req, &len)) == NULL)
		return -1;
	rd_init(&r, *buf, len);
	rd_i32(&r, &corr);
	if (kp_resp_hdr_version(key, ver) >= 1)
		rd_uvarint(&r, &ntags);	/* we send none, want none */
	if (r.err != 0 || corr != 1 || ntags != 0)
		return -1;
	return kp_decode(&r, m->resp, ver, kp_flexible(m, ver), resp, a) ==
	    0 ? 0 : -1;
}

static int
load_ids(struct cli *c)
{
	struct kp_metadata_request req;
	struct kp_metadata_response resp;
	struct kp_arena arena = { NULL };
	struct rd r;
	uint8_t *buf;
	size_t len = 0;
	int32_t corr;
	uint32_t ntags;
	int fd = cli_raw_connect(c->bootstrap), rc = -1;

	c->ids_loaded = true;
	if (fd == -1)
		return -1;
	kp_init(&kp_metadata_request_desc, &req);
	req.topics.n = -1;
	buf = cli_raw_call(fd, KP_API_METADATA, RAW_METADATA_VERSION,
	    &kp_metadata_request_desc, &req, &len);
	close(fd);
	if (buf == NULL)
		return -1;
	rd_init(&r, buf, len);
	rd_i32(&r, &corr);
	rd_uvarint(&r, &ntags);		/* response header v1: no tags */
	if (r.err == 0 && ntags == 0 && kp_decode(&r,
	    &kp_metadata_response_desc, RAW_METADATA_VERSION, true, &resp,
	    &arena) == 0) {
		int32_t n = resp.topics.n > 0 ? resp.topics.n : 0;
		c->ids = calloc((size_t)n + 1, sizeof(*c->ids));
		for (int32_t i = 0; c->ids != NULL && i < n; i++) {
			struct kp_metadata_response_metadata_response_topic
			    *t = &resp.topics.v[i];
			if (t->name.len < 0)
				continue;
			snprintf(c->ids[c->nids].name,
			    sizeof(c->ids[c->nids].name), "%.*s",
			    (int)t->name.len, t->name.p);
			uuid_text(&t->topic_id, c->ids[c->nids++].id);
		}
		rc = 0;
	}
	kp_arena_clear(&arena);
	free(buf);
	return rc;
}

int
cli_topic_id(struct cli *c, const char *topic, char *out, size_t outsz)
{
	if (!c->ids_loaded && load_ids(c) != 0)
		return -1;
	for (size_t i = 0; i < c->nids; i++) {
		if (strcmp(c->ids[i].name, topic) == 0) {
			snprintf(out, outsz, "%s", c->ids[i].id);
			return 0;
		}
	}
	return -1;
}
