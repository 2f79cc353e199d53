/*
 * SCRAM credentials (KIP-554): DescribeUserScramCredentials is answered
 * from the broker's metadata image; AlterUserScramCredentials goes to the
 * controller (ctl_scram.c) once the principal may ALTER the cluster.
 */
#include <string.h>

#include "api_util.h"
#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "meta_acl.h"
#include "meta_client.h"
#include "meta_image.h"

typedef struct kp_describe_user_scram_credentials_response_describe_user_scram_credentials_result
    ds_result;
typedef struct kp_describe_user_scram_credentials_response_credential_info
    ds_info;

/* The credentials of the n image entries from i on (one user's). */
static void
describe_user(struct req *r, const struct meta_image *img, size_t i,
    size_t n, ds_result *out)
{
	ds_info *ci = api_new(r,
	    &kp_describe_user_scram_credentials_response_credential_info_desc,
	    n);

	for (size_t k = 0; k < n; k++) {
		ci[k].mechanism = img->scram[i + k].mechanism;
		ci[k].iterations = img->scram[i + k].iterations;
	}
	out->user = api_kstr(img->scram[i].user);
	out->error_code = KERR_NONE;
	out->error_message = api_kstr_null();
	out->credential_infos.v = ci;
	out->credential_infos.n = (int32_t)n;
}

/* Entries [*first, *first + return) of the image are user's. */
static size_t
user_range(const struct meta_image *img, const char *user, size_t len,
    size_t *first)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nscram; i++) {
		if (strlen(img->scram[i].user) != len ||
		    memcmp(img->scram[i].user, user, len) != 0)
			continue;
		if (n++ == 0)
			*first = i;
	}
	return n;
}

static bool
named_before(const struct kp_describe_user_scram_credentials_request *q,
    int32_t i)
{
	for (int32_t j = 0; j < i; j++)
		if (kstr_eq(q->users.v[j].name, q->users.v[i].name))
			return true;
	return false;
}

void
api_describe_scram(struct broker *b, struct req *r)
{
	const struct kp_describe_user_scram_credentials_request *q = r->msg;
	struct kp_describe_user_scram_credentials_response resp;
	const struct meta_image *img = meta_client_image(b->mc);
	struct meta_image empty = { 0 };
	ds_result *res;
	int32_t n = 0;

	kp_init(&kp_describe_user_scram_credentials_response_desc, &resp);
	resp.error_message = api_kstr_null();
	if (img == NULL)
		img = &empty;
	if (!authz_cluster(b, r, ACL_OP_DESCRIBE)) {
		resp.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
		req_respond(r, &kp_describe_user_scram_credentials_response_desc,
		    &resp);
		return;
	}
	if (q->users.n < 0) {
		/* Everyone: one result per user, in the image's order. */
		res = api_new(r, &kp_describe_user_scram_credentials_response_describe_user_scram_credentials_result_desc,
		    img->nscram);
		for (size_t i = 0; i < img->nscram;) {
			size_t first = i, k = user_range(img, img->scram[i].user,
			    strlen(img->scram[i].user), &first);

			describe_user(r, img, first, k, &res[n++]);
			i = first + k;
		}
	} else {
		res = api_new(r, &kp_describe_user_scram_credentials_response_describe_user_scram_credentials_result_desc,
		    (size_t)q->users.n);
		for (int32_t i = 0; i < q->users.n; i++) {
			struct kstr u = q->users.v[i].name;
			size_t first = 0, k = u.len > 0 ? user_range(img, u.p,
			    (size_t)u.len, &first) : 0;
			ds_result *o = &res[n++];

			if (k > 0 && !named_before(q, i)) {
				describe_user(r, img, first, k, o);
				continue;
			}
			o->user = u;
			o->error_code = k > 0 ? KERR_DUPLICATE_RESOURCE :
			    KERR_RESOURCE_NOT_FOUND;
			o->error_message = api_kstr(k > 0 ? "Cannot describe "
			    "the same user twice in one request" : "Attempt "
			    "to describe a user credential that does not "
			    "exist");
		}
	}
	resp.results.v = res;
	resp.results.n = n;
	req_respond(r, &kp_describe_user_scram_credentials_response_desc,
	    &resp);
}

void
api_alter_scram(struct broker *b, struct req *r)
{
	const struct kp_alter_user_scram_credentials_request *q = r->msg;
	struct kp_alter_user_scram_credentials_response resp;
	struct kp_alter_user_scram_credentials_response_alter_user_scram_credentials_result
	    *res;
	int32_t nd = q->deletions.n > 0 ? q->deletions.n : 0;
	int32_t nu = q->upsertions.n > 0 ? q->upsertions.n : 0, n = 0;

	if (authz_cluster(b, r, ACL_OP_ALTER)) {
		meta_client_forward(b->mc, r);
		return;
	}
	kp_init(&kp_alter_user_scram_credentials_response_desc, &resp);
	res = api_new(r,
	    &kp_alter_user_scram_credentials_response_alter_user_scram_credentials_result_desc,
	    (size_t)nd + (size_t)nu);
	for (int32_t i = 0; i < nd + nu; i++) {
		struct kstr u = i < nd ? q->deletions.v[i].name :
		    q->upsertions.v[i - nd].name;
		int32_t k;

		for (k = 0; k < n; k++)
			if (kstr_eq(res[k].user, u))
				break;
		if (k < n)
			continue;
		res[n].user = u;
		res[n].error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
		res[n].error_message = api_kstr_null();
		n++;
	}
	resp.results.v = res;
	resp.results.n = n;
	req_respond(r, &kp_alter_user_scram_credentials_response_desc, &resp);
}
