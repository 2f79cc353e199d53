/*
 * SASL on SASL_PLAINTEXT and SASL_SSL listeners: SaslHandshake (v1) picks
 * a mechanism of broker.sasl.enabled.mechanisms, SaslAuthenticate carries
 * its exchange.  Until it succeeds the connection serves only ApiVersions
 * and these two (api_dispatch); a failure is answered with
 * SASL_AUTHENTICATION_FAILED and the connection closed.
 *
 * Users come from broker.sasl.users ("name:password").  PLAIN compares the
 * password.  SCRAM-SHA-256/512 (RFC 5802, 7677) salts the password afresh
 * for each exchange (PBKDF2, 4096 iterations): holding the password, the
 * broker needs no stored credentials.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_client.h"
#include "meta_image.h"
#include "sasl_msg.h"
#include "xmalloc.h"

enum {
	SASL_MECH_PLAIN = 1,
	SASL_MECH_SCRAM_256,
	SASL_MECH_SCRAM_512
};

#define SCRAM_ITERATIONS	4096
#define SCRAM_MAX_MSG		1024

/* An exchange under way: the keys come from the metadata image (users
   made with AlterUserScramCredentials) or from a configured password. */
struct scram {
	char		*client_first_bare;
	char		*server_first;
	char		*nonce;		/* client's + ours */
	char		*user;
	unsigned char	 stored_key[EVP_MAX_MD_SIZE];
	unsigned char	 server_key[EVP_MAX_MD_SIZE];
};

static const char *const mech_names[] = {
	[SASL_MECH_PLAIN] = "PLAIN",
	[SASL_MECH_SCRAM_256] = "SCRAM-SHA-256",
	[SASL_MECH_SCRAM_512] = "SCRAM-SHA-512",
};

static void
scram_free(struct scram *s)
{
	if (s == NULL)
		return;
	free(s->client_first_bare);
	free(s->server_first);
	free(s->nonce);
	free(s->user);
	OPENSSL_cleanse(s->stored_key, sizeof(s->stored_key));
	OPENSSL_cleanse(s->server_key, sizeof(s->server_key));
	free(s);
}

void
conn_auth_clear(struct conn_auth *a)
{
	free(a->user);
	free(a->principal);
	scram_free(a->scram);
	memset(a, 0, sizeof(*a));
}

/* The password of user (len bytes) from broker.sasl.users, or NULL. */
static const char *
sasl_password(const struct broker *b, const char *user, size_t len)
{
	const struct mo_strlist *l = &b->cfg->sasl_users;

	for (size_t i = 0; i < l->n; i++) {
		const char *colon = strchr(l->v[i], ':');

		if (colon != NULL && (size_t)(colon - l->v[i]) == len &&
		    memcmp(l->v[i], user, len) == 0)
			return colon + 1;
	}
	return NULL;
}

static bool
same_secret(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

static void
sasl_fail(struct req *r, struct kp_sasl_authenticate_response *resp,
    const char *msg)
{
	resp->error_code = KERR_SASL_AUTHENTICATION_FAILED;
	resp->error_message.p = msg;
	resp->error_message.len = (int32_t)strlen(msg);
	log_warnx("broker: conn %s: SASL %s: %s", req_peer_host(r),
	    req_auth(r)->mech > 0 ? mech_names[req_auth(r)->mech] : "-", msg);
	req_respond_close(r, &kp_sasl_authenticate_response_desc, resp,
	    "SASL authentication failed");
}

static void
sasl_ok(struct req *r, struct kp_sasl_authenticate_response *resp,
    const char *user, size_t len)
{
	struct conn_auth *a = req_auth(r);

	a->done = true;
	a->user = xstrndup(user, len);
	free(a->principal);	/* User:<name> from now on */
	a->principal = NULL;
	log_info("broker: conn %s: authenticated as %s (%s)",
	    req_peer_host(r), a->user, mech_names[a->mech]);
	req_respond(r, &kp_sasl_authenticate_response_desc, resp);
}

void
api_sasl_handshake(struct broker *b, struct req *r)
{
	const struct kp_sasl_handshake_request *req = r->msg;
	const struct mo_strlist *en = &b->cfg->sasl_enabled_mechanisms;
	struct kp_sasl_handshake_response resp;
	struct conn_auth *a = req_auth(r);
	struct kstr *v;

	kp_init(&kp_sasl_handshake_response_desc, &resp);
	v = kp_arena_alloc(&r->arena, (en->n ? en->n : 1) * sizeof(*v));
	for (size_t i = 0; i < en->n; i++)
		v[i] = (struct kstr){ en->v[i], (int32_t)strlen(en->v[i]) };
	resp.mechanisms.v = v;
	resp.mechanisms.n = (int32_t)en->n;
	if (!req_listener(r)->sasl || a->done || a->mech != 0) {
		resp.error_code = KERR_ILLEGAL_SASL_STATE;
		req_respond_close(r, &kp_sasl_handshake_response_desc, &resp,
		    "unexpected SaslHandshake");
		return;
	}
	/* v0 is followed by raw tokens (kafka-python 2.0 speaks only v0):
	   served for PLAIN, a single token. */
	if (r->hdr.api_version < 1 && (req->mechanism.len != 5 ||
	    memcmp(req->mechanism.p, "PLAIN", 5) != 0)) {
		resp.error_code = KERR_UNSUPPORTED_SASL_MECHANISM;
		req_respond_close(r, &kp_sasl_handshake_response_desc, &resp,
		    "SaslHandshake v0 (raw SASL tokens) serves PLAIN only");
		return;
	}
	resp.error_code = KERR_UNSUPPORTED_SASL_MECHANISM;
	for (size_t i = 0; i < en->n; i++) {
		if (req->mechanism.len < 0 ||
		    strlen(en->v[i]) != (size_t)req->mechanism.len ||
		    memcmp(en->v[i], req->mechanism.p,
		    (size_t)req->mechanism.len) != 0)
			continue;
		for (int m = SASL_MECH_PLAIN; m <= SASL_MECH_SCRAM_512; m++)
			if (strcmp(mech_names[m], en->v[i]) == 0)
				a->mech = m;
		resp.error_code = KERR_NONE;
	}
	if (resp.error_code != KERR_NONE) {
		req_respond_close(r, &kp_sasl_handshake_response_desc, &resp,
		    "unsupported SASL mechanism");
		return;
	}
	a->raw = r->hdr.api_version < 1;
	req_respond(r, &kp_sasl_handshake_response_desc, &resp);
}

/*
 * The PLAIN token that follows SaslHandshake v0: an empty frame answers
 * success; a failure closes the connection, as Kafka does.
 */
void
api_sasl_raw(struct broker *b, struct req *r)
{
	struct conn_auth *a = req_auth(r);
	const char *user, *pw, *want;
	size_t ulen, pwlen;

	if (sasl_plain_parse(r->frame, r->framelen, &user, &ulen, &pw,
	    &pwlen) != 0 || (want = sasl_password(b, user, ulen)) == NULL ||
	    !same_secret(pw, pwlen, want)) {
		log_warnx("broker: conn %s: SASL PLAIN (v0): Authentication "
		    "failed", req_peer_host(r));
		req_close_conn(r, "SASL authentication failed");
		return;
	}
	a->done = true;
	a->user = xstrndup(user, ulen);
	free(a->principal);
	a->principal = NULL;
	log_info("broker: conn %s: authenticated as %s (PLAIN, v0)",
	    req_peer_host(r), a->user);
	req_respond_raw(r, NULL, 0);
}

/* PLAIN: [authzid] NUL authcid NUL password. */
static void
sasl_plain(struct broker *b, struct req *r, const uint8_t *p, size_t n,
    struct kp_sasl_authenticate_response *resp)
{
	const char *user, *pw, *want;
	size_t ulen, pwlen;

	if (sasl_plain_parse(p, n, &user, &ulen, &pw, &pwlen) != 0) {
		sasl_fail(r, resp, "Authentication failed: malformed PLAIN "
		    "message");
		return;
	}
	want = sasl_password(b, user, ulen);
	if (want == NULL || !same_secret(pw, pwlen, want)) {
		sasl_fail(r, resp, "Authentication failed: Invalid username "
		    "or password");
		return;
	}
	sasl_ok(r, resp, user, ulen);
}

static const EVP_MD *
scram_md(int mech)
{
	return mech == SASL_MECH_SCRAM_512 ? EVP_sha512() : EVP_sha256();
}

static char *
b64(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* StoredKey and ServerKey of a password (RFC 5802). */
static bool
scram_password_keys(const EVP_MD *md, const char *pw, const unsigned char
    *salt, size_t saltlen, int iterations, unsigned char *stored,
    unsigned char *server)
{
	unsigned char salted[EVP_MAX_MD_SIZE], client[EVP_MAX_MD_SIZE];
	unsigned int n;
	bool ok;

	ok = PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)saltlen,
	    iterations, md, EVP_MD_size(md), salted) == 1 &&
	    HMAC(md, salted, EVP_MD_size(md), (const unsigned char *)
	    "Client Key", 10, client, &n) != NULL &&
	    EVP_Digest(client, n, stored, NULL, md, NULL) == 1 &&
	    HMAC(md, salted, EVP_MD_size(md), (const unsigned char *)
	    "Server Key", 10, server, &n) != NULL;
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client, sizeof(client));
	return ok;
}

static void
scram_first(struct broker *b, struct req *r, const char *msg,
    struct kp_sasl_authenticate_response *resp)
{
	struct conn_auth *a = req_auth(r);
	const EVP_MD *md = scram_md(a->mech);
	unsigned char salt[16], rnd[18];
	const char *bare, *cnonce, *pw;
	const struct meta_image *img;
	const struct mi_scram *cred;
	int iterations = SCRAM_ITERATIONS;
	size_t clen;
	struct scram *s;
	char *salt64, *rnd64, *user;

	if (scram_first_parse(msg, &bare, &user, &cnonce, &clen) != 0) {
		free(user);
		sasl_fail(r, resp, "Authentication failed: malformed SCRAM "
		    "client-first message");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	a->scram = s;
	s->user = user;
	img = b->mc != NULL ? meta_client_image(b->mc) : NULL;
	cred = img != NULL ? meta_image_scram(img, user, strlen(user),
	    a->mech == SASL_MECH_SCRAM_512 ? MI_SCRAM_SHA_512 :
	    MI_SCRAM_SHA_256) : NULL;
	if (cred != NULL) {
		memcpy(s->stored_key, cred->stored_key, cred->key_len);
		memcpy(s->server_key, cred->server_key, cred->key_len);
		iterations = cred->iterations;
		salt64 = b64(cred->salt, cred->salt_len);
	} else if ((pw = sasl_password(b, s->user, strlen(s->user))) ==
	    NULL) {
		sasl_fail(r, resp, "Authentication failed: Invalid username "
		    "or password");
		return;
	} else if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    !scram_password_keys(md, pw, salt, sizeof(salt), iterations,
	    s->stored_key, s->server_key)) {
		sasl_fail(r, resp, "Authentication failed: no randomness");
		return;
	} else
		salt64 = b64(salt, sizeof(salt));
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		free(salt64);
		sasl_fail(r, resp, "Authentication failed: no randomness");
		return;
	}
	s->client_first_bare = xstrdup(bare);
	rnd64 = b64(rnd, sizeof(rnd));
	xasprintf(&s->nonce, "%.*s%s", (int)clen, cnonce, rnd64);
	xasprintf(&s->server_first, "r=%s,s=%s,i=%d", s->nonce, salt64,
	    iterations);
	free(salt64);
	free(rnd64);
	resp->auth_bytes.p = (const uint8_t *)s->server_first;
	resp->auth_bytes.len = (int32_t)strlen(s->server_first);
	req_respond(r, &kp_sasl_authenticate_response_desc, resp);
}

static void
scram_final(struct req *r, const char *msg,
    struct kp_sasl_authenticate_response *resp)
{
	struct conn_auth *a = req_auth(r);
	struct scram *s = a->scram;
	const EVP_MD *md = scram_md(a->mech);
	unsigned int klen = (unsigned int)EVP_MD_size(md), slen;
	unsigned char ckey[EVP_MAX_MD_SIZE];
	unsigned char csig[EVP_MAX_MD_SIZE], proof[EVP_MAX_MD_SIZE + 3];
	unsigned char ssig[EVP_MAX_MD_SIZE];
	unsigned char check[EVP_MAX_MD_SIZE];
	const char *nonce;
	size_t nlen, plen, wlen;
	char *auth, *sig64, *final;
	int n;

	/*
	 * The nonce must end with ours: librdkafka sends its own nonce
	 * again in front of the combined one, which Kafka accepts.  The
	 * proof covers the message as sent either way.
	 */
	if (scram_final_parse(msg, &nonce, &nlen, proof, sizeof(proof),
	    &plen, &wlen) != 0 || plen != klen ||
	    nlen < strlen(s->nonce) || memcmp(nonce + nlen -
	    strlen(s->nonce), s->nonce, strlen(s->nonce)) != 0) {
		sasl_fail(r, resp, "Authentication failed: malformed SCRAM "
		    "client-final message");
		return;
	}
	xasprintf(&auth, "%s,%s,%.*s", s->client_first_bare, s->server_first,
	    (int)wlen, msg);
	HMAC(md, s->stored_key, (int)klen, (const unsigned char *)auth,
	    strlen(auth), csig, &slen);
	for (unsigned int i = 0; i < klen; i++)
		ckey[i] = proof[i] ^ csig[i];
	EVP_Digest(ckey, klen, check, NULL, md, NULL);
	if (CRYPTO_memcmp(check, s->stored_key, klen) != 0) {
		free(auth);
		sasl_fail(r, resp, "Authentication failed during "
		    "authentication due to invalid credentials with SASL "
		    "mechanism");
		return;
	}
	HMAC(md, s->server_key, (int)klen, (const unsigned char *)auth,
	    strlen(auth), ssig, &slen);
	free(auth);
	sig64 = b64(ssig, klen);
	xasprintf(&final, "v=%s", sig64);
	free(sig64);
	/* the answer's bytes must outlive the request: its arena */
	n = (int)strlen(final);
	resp->auth_bytes.p = kp_arena_alloc(&r->arena, (size_t)n);
	memcpy((void *)(uintptr_t)resp->auth_bytes.p, final, (size_t)n);
	resp->auth_bytes.len = n;
	free(final);
	{
		char *user = xstrdup(s->user);

		scram_free(s);
		a->scram = NULL;
		sasl_ok(r, resp, user, strlen(user));
		free(user);
	}
}

void
api_sasl_authenticate(struct broker *b, struct req *r)
{
	const struct kp_sasl_authenticate_request *req = r->msg;
	struct kp_sasl_authenticate_response resp;
	struct conn_auth *a = req_auth(r);
	const uint8_t *p = req->auth_bytes.p;
	size_t n = req->auth_bytes.len > 0 ? (size_t)req->auth_bytes.len : 0;
	char msg[SCRAM_MAX_MSG + 1];

	kp_init(&kp_sasl_authenticate_response_desc, &resp);
	resp.error_message.len = -1;
	if (a->done || a->mech == 0) {
		resp.error_code = KERR_ILLEGAL_SASL_STATE;
		req_respond_close(r, &kp_sasl_authenticate_response_desc,
		    &resp, "SaslAuthenticate without a handshake");
		return;
	}
	if (a->mech == SASL_MECH_PLAIN) {
		sasl_plain(b, r, p, n, &resp);
		return;
	}
	if (n > SCRAM_MAX_MSG || memchr(p, '\0', n) != NULL) {
		sasl_fail(r, &resp, "Authentication failed: malformed SCRAM "
		    "message");
		return;
	}
	memcpy(msg, p, n);
	msg[n] = '\0';
	if (a->scram == NULL)
		scram_first(b, r, msg, &resp);
	else
		scram_final(r, msg, &resp);
}
