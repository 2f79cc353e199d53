/*
 * What librdkafka 2.0 has no API for, asked with the project's own codec
 * over a blocking connection to the bootstrap server (plaintext or TLS):
 * topic ids (Metadata v12), and any request and response of the codec
 * (cli_raw_rpc).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "kproto.h"
#include "kproto_gen.h"
#include "xmalloc.h"

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

struct cli_raw {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;		/* NULL: plaintext */
};

/* The host and port of the first "host:port" of bootstrap ([v6] too). */
static bool
raw_host(const char *bootstrap, char *host, size_t hlen, char *port,
    size_t plen)
{
	char buf[300], *colon;

	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(bootstrap, ","),
	    bootstrap);
	if ((colon = strrchr(buf, ':')) == NULL)
		return false;
	*colon = '\0';
	snprintf(port, plen, "%s", colon + 1);
	if (buf[0] == '[' && colon > buf + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		snprintf(host, hlen, "%s", buf + 1);
	} else
		snprintf(host, hlen, "%s", buf);
	return true;
}

struct cli_raw *
cli_raw_connect(const char *bootstrap)
{
	char host[300], port[32];
	struct addrinfo hints, *ai, *a;
	struct timeval tv = { RAW_TIMEOUT_S, 0 };
	struct cli_raw *r;
	int fd = -1;

	if (!raw_host(bootstrap, host, sizeof(host), port, sizeof(port)))
		return NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return NULL;
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
	if (fd == -1)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	return r;
}

/* "what: the first OpenSSL error" into err. */
static void
raw_ssl_err(char *err, size_t errsz, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errsz, "%s: %s", what, buf);
	} else
		snprintf(err, errsz, "%s", what);
	ERR_clear_error();
}

/*
 * The name the server's certificate must carry: an IP address is matched
 * against its IP addresses, a host name against its DNS names (and sent as
 * SNI, which may not carry an address).
 */
static int
raw_name(SSL *ssl, const char *host, bool check)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;

	if (!ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (!check)
		return 0;
	if (ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) == 1 ? 0 : -1;
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

int
cli_raw_start_tls(struct cli_raw *r, const char *bootstrap,
    const struct cli_tls *t, char *err, size_t errsz)
{
	char host[300], port[32];
	long verify;

	if (!raw_host(bootstrap, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errsz, "bad bootstrap server %s", bootstrap);
		return -1;
	}
	if ((r->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION) != 1) {
		raw_ssl_err(err, errsz, "TLS");
		return -1;
	}
	if ((t->ca != NULL ? SSL_CTX_load_verify_locations(r->ctx, t->ca,
	    NULL) : SSL_CTX_set_default_verify_paths(r->ctx)) != 1) {
		raw_ssl_err(err, errsz, t->ca != NULL ? t->ca :
		    "the system's CA certificates");
		return -1;
	}
	if (t->cert != NULL && (SSL_CTX_use_certificate_chain_file(r->ctx,
	    t->cert) != 1 || SSL_CTX_use_PrivateKey_file(r->ctx,
	    t->key != NULL ? t->key : t->cert, SSL_FILETYPE_PEM) != 1)) {
		raw_ssl_err(err, errsz, t->cert);
		return -1;
	}
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if ((r->ssl = SSL_new(r->ctx)) == NULL ||
	    SSL_set_fd(r->ssl, r->fd) != 1 || raw_name(r->ssl, host,
	    t->check_host) != 0) {
		raw_ssl_err(err, errsz, "TLS");
		return -1;
	}
	if (SSL_connect(r->ssl) != 1) {
		verify = SSL_get_verify_result(r->ssl);
		if (verify != X509_V_OK)
			snprintf(err, errsz, "TLS handshake with %s: %s", host,
			    X509_verify_cert_error_string(verify));
		else
			raw_ssl_err(err, errsz, "TLS handshake");
		return -1;
	}
	return 0;
}

void
cli_raw_close(struct cli_raw *r)
{
	if (r == NULL)
		return;
	if (r->ssl != NULL) {
		(void)SSL_shutdown(r->ssl);
		SSL_free(r->ssl);
	}
	SSL_CTX_free(r->ctx);
	close(r->fd);
	free(r);
}

static int
io_full(struct cli_raw *r, void *p, size_t len, bool wr)
{
	size_t done = 0;

	while (done < len) {
		uint8_t *at = (uint8_t *)p + done;
		size_t want = len - done > INT_MAX ? INT_MAX : len - done;
		ssize_t n;

		if (r->ssl != NULL)
			n = wr ? SSL_write(r->ssl, at, (int)want) :
			    SSL_read(r->ssl, at, (int)want);
		else
			n = wr ? write(r->fd, at, want) : read(r->fd, at, want);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Send one request, return the response body (caller frees). */
uint8_t *
cli_raw_call(struct cli_raw *r, int16_t key, int16_t ver, const struct kp_struct *d,
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
	if (w.err != 0 || io_full(r, w.data, w.len, true) != 0 ||
	    io_full(r, szb, 4, false) != 0)
		goto out;
	sz = (uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 |
	    (uint32_t)szb[2] << 8 | szb[3];
	if (sz < 4 || sz > RAW_MAX_FRAME || (resp = malloc(sz)) == NULL)
		goto out;
	if (io_full(r, resp, sz, false) != 0) {
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
cli_raw_rpc(struct cli_raw *c, int16_t key, int16_t ver, const void *req, void *resp,
    struct kp_arena *a, uint8_t **buf)
{
	const struct kp_msg *m = kp_msg_get(key);
	uint32_t ntags = 0;
	int32_t corr = 0;
	size_t len = 0;
	struct rd r;

	if ((*buf = cli_raw_call(c, key, ver, m->req, req, &len)) == NULL)
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
	struct cli_raw *raw = cli_raw_connect(c->bootstrap);
	int rc = -1;

	c->ids_loaded = true;
	if (raw == NULL)
		return -1;
	kp_init(&kp_metadata_request_desc, &req);
	req.topics.n = -1;
	buf = cli_raw_call(raw, KP_API_METADATA, RAW_METADATA_VERSION,
	    &kp_metadata_request_desc, &req, &len);
	cli_raw_close(raw);
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
