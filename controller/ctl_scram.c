/*
 * AlterUserScramCredentials on the controller (forwarded by brokers, which
 * have authorized it): the client sends a salt and a salted password per
 * user and mechanism; the controller keeps only the keys SCRAM needs
 * (RFC 5802: StoredKey = H(HMAC(salted, "Client Key")), ServerKey =
 * HMAC(salted, "Server Key")) as UserScramCredentialRecords, and answers
 * once they are committed.  Brokers authenticate from their image and
 * answer DescribeUserScramCredentials from it.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "ctl.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_image.h"
#include "raft.h"

/* Kafka's bounds on the iteration count. */
#define SCRAM_MIN_ITERATIONS	4096
#define SCRAM_MAX_ITERATIONS	16384

typedef struct kp_alter_user_scram_credentials_response_alter_user_scram_credentials_result
    scram_result;

static const EVP_MD *
scram_md(int8_t mech)
{
	return mech == MI_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

/* The keys a salted password gives; false if OpenSSL fails. */
static bool
scram_keys(int8_t mech, struct kbytes salted, uint8_t *stored,
    uint8_t *server)
{
	const EVP_MD *md = scram_md(mech);
	uint8_t client[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	return HMAC(md, salted.p, salted.len, (const uint8_t *)"Client Key",
	    10, client, &n) != NULL && EVP_Digest(client, n, stored, NULL,
	    md, NULL) == 1 && HMAC(md, salted.p, salted.len,
	    (const uint8_t *)"Server Key", 10, server, &n) != NULL;
}

/* The result slot of user (added in order of first mention). */
static scram_result *
scram_slot(scram_result *res, int32_t *n, struct kstr user)
{
	for (int32_t i = 0; i < *n; i++)
		if (kstr_eq(res[i].user, user))
			return &res[i];
	kp_init(&kp_alter_user_scram_credentials_response_alter_user_scram_credentials_result_desc,
	    &res[*n]);
	res[*n].user = user;
	res[*n].error_message.len = -1;
	return &res[(*n)++];
}

static void
scram_fail(scram_result *r, int16_t code, const char *msg)
{
	if (r->error_code != KERR_NONE)
		return;		/* the first error stands */
	r->error_code = code;
	r->error_message.p = msg;
	r->error_message.len = msg != NULL ? (int32_t)strlen(msg) : -1;
}

/* Checks shared by deletions and upsertions; false after a failure. */
static bool
scram_check(scram_result *r, bool leader, struct kstr user, int8_t mech)
{
	if (!leader) {
		scram_fail(r, KERR_NOT_CONTROLLER, NULL);
		return false;
	}
	if (user.len <= 0) {
		scram_fail(r, KERR_UNACCEPTABLE_CREDENTIAL,
		    "Username must not be empty");
		return false;
	}
	if (mi_scram_key_len(mech) == 0) {
		scram_fail(r, KERR_UNSUPPORTED_SASL_MECHANISM,
		    "Unknown SCRAM mechanism");
		return false;
	}
	return true;
}

/* Does (user, mech) come up more than once in the request? */
static bool
scram_dup(const struct kp_alter_user_scram_credentials_request *q,
    struct kstr user, int8_t mech)
{
	int n = 0;

	for (int32_t i = 0; i < q->deletions.n; i++)
		if (q->deletions.v[i].mechanism == mech &&
		    kstr_eq(q->deletions.v[i].name, user))
			n++;
	for (int32_t i = 0; i < q->upsertions.n; i++)
		if (q->upsertions.v[i].mechanism == mech &&
		    kstr_eq(q->upsertions.v[i].name, user))
			n++;
	return n > 1;
}

static void
ctl_scram_lost(void *arg)
{
	struct kp_alter_user_scram_credentials_response *r = arg;

	for (int32_t i = 0; i < r->results.n; i++)
		if (r->results.v[i].error_code == KERR_NONE)
			r->results.v[i].error_code = KERR_NOT_CONTROLLER;
}

int
ctl_alter_scram(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_alter_user_scram_credentials_request q;
	struct kp_alter_user_scram_credentials_response resp;
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	struct wbuf recs = { 0 };
	scram_result *res;
	int32_t nd, nu, n = 0;
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	nd = q.deletions.n > 0 ? q.deletions.n : 0;
	nu = q.upsertions.n > 0 ? q.upsertions.n : 0;
	res = kp_arena_alloc(a, ((size_t)nd + (size_t)nu + 1) * sizeof(*res));
	/* Check everything first: a user with any error changes nothing. */
	for (int32_t i = 0; i < nd; i++) {
		const struct kp_alter_user_scram_credentials_request_scram_credential_deletion
		    *d = &q.deletions.v[i];
		scram_result *r = scram_slot(res, &n, d->name);

		if (!scram_check(r, leader, d->name, d->mechanism))
			continue;
		if (scram_dup(&q, d->name, d->mechanism))
			scram_fail(r, KERR_DUPLICATE_RESOURCE, "A user "
			    "credential cannot be altered twice in the same "
			    "request");
		else if (meta_image_scram(c->img, d->name.p,
		    (size_t)d->name.len, d->mechanism) == NULL)
			scram_fail(r, KERR_RESOURCE_NOT_FOUND, "Attempt to "
			    "delete a user credential that does not exist");
	}
	for (int32_t i = 0; i < nu; i++) {
		const struct kp_alter_user_scram_credentials_request_scram_credential_upsertion
		    *u = &q.upsertions.v[i];
		scram_result *r = scram_slot(res, &n, u->name);

		if (!scram_check(r, leader, u->name, u->mechanism))
			continue;
		if (scram_dup(&q, u->name, u->mechanism))
			scram_fail(r, KERR_DUPLICATE_RESOURCE, "A user "
			    "credential cannot be altered twice in the same "
			    "request");
		else if (u->iterations < SCRAM_MIN_ITERATIONS)
			scram_fail(r, KERR_UNACCEPTABLE_CREDENTIAL,
			    "Too few iterations");
		else if (u->iterations > SCRAM_MAX_ITERATIONS)
			scram_fail(r, KERR_UNACCEPTABLE_CREDENTIAL,
			    "Too many iterations");
		else if (u->salt.len <= 0 || u->salted_password.len <= 0)
			scram_fail(r, KERR_UNACCEPTABLE_CREDENTIAL,
			    "Salt and salted password must not be empty");
	}
	for (int32_t i = 0; i < nd; i++) {
		const struct kp_alter_user_scram_credentials_request_scram_credential_deletion
		    *d = &q.deletions.v[i];
		struct kp_remove_user_scram_credential_record rr;

		if (scram_slot(res, &n, d->name)->error_code != KERR_NONE)
			continue;
		kp_init(&kp_remove_user_scram_credential_record_desc, &rr);
		rr.name = d->name;
		rr.mechanism = d->mechanism;
		meta_record_put(&recs, MI_REC_REMOVE_SCRAM, 0,
		    &kp_remove_user_scram_credential_record_desc, &rr);
		log_info("controller %d: SCRAM credential removed: %.*s "
		    "(mechanism %d)", c->cfg->node_id, (int)d->name.len,
		    d->name.p, d->mechanism);
	}
	for (int32_t i = 0; i < nu; i++) {
		const struct kp_alter_user_scram_credentials_request_scram_credential_upsertion
		    *u = &q.upsertions.v[i];
		struct kp_user_scram_credential_record ur;
		uint8_t *stored, *server;
		size_t kl = mi_scram_key_len(u->mechanism);
		scram_result *r = scram_slot(res, &n, u->name);

		if (r->error_code != KERR_NONE)
			continue;
		stored = kp_arena_alloc(a, EVP_MAX_MD_SIZE);
		server = kp_arena_alloc(a, EVP_MAX_MD_SIZE);
		if (!scram_keys(u->mechanism, u->salted_password, stored,
		    server)) {
			scram_fail(r, KERR_UNKNOWN_SERVER_ERROR, NULL);
			continue;
		}
		kp_init(&kp_user_scram_credential_record_desc, &ur);
		ur.name = u->name;
		ur.mechanism = u->mechanism;
		ur.salt = u->salt;
		ur.stored_key.p = stored;
		ur.stored_key.len = (int32_t)kl;
		ur.server_key.p = server;
		ur.server_key.len = (int32_t)kl;
		ur.iterations = u->iterations;
		meta_record_put(&recs, MI_REC_SCRAM, 0,
		    &kp_user_scram_credential_record_desc, &ur);
		log_info("controller %d: SCRAM credential set: %.*s "
		    "(mechanism %d, %d iterations)", c->cfg->node_id,
		    (int)u->name.len, u->name.p, u->mechanism, u->iterations);
	}
	resp.results.v = res;
	resp.results.n = n;
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_scram_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}
