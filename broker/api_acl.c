/*
 * Authorization (authz_allowed, Kafka's StandardAuthorizer rules over the
 * ACLs of the metadata image) and the ACL APIs: DescribeAcls answered from
 * the broker's image; CreateAcls and DeleteAcls authorized here (ALTER on
 * the cluster) and forwarded to the controller, answered once this
 * broker's image has the change.  Without authorizer.class.name every
 * request is allowed and the ACL APIs answer SECURITY_DISABLED, as Kafka.
 */
#include <string.h>

#include "api_util.h"
#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_client.h"
#include "meta_image.h"

bool
authz_enabled(const struct broker *b)
{
	return b->cfg->authorizer_class_name[0] != '\0';
}

/* Is principal among super.users ("User:a;User:b")? */
static bool
authz_super(const char *list, const char *principal)
{
	size_t plen = strlen(principal);
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ';');
		size_t n;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == plen && memcmp(p, principal, n) == 0)
			return true;
		p = *end == ';' ? end + 1 : end;
	}
	return false;
}

static struct acl_str
authz_s(const char *p, size_t len)
{
	struct acl_str s = { p, len };

	return s;
}

bool
authz_allowed(struct broker *b, struct req *r, int8_t type,
    const char *name, size_t len, int8_t op)
{
	const struct meta_image *img;
	const char *who, *host;
	enum acl_verdict v;

	if (!authz_enabled(b))
		return true;
	who = req_principal(r);
	if (authz_super(b->cfg->super_users, who))
		return true;
	host = req_peer_host(r);
	/* Fail closed until the image is there. */
	if ((img = meta_client_image(b->mc)) == NULL)
		return false;
	v = acl_authorize(img, authz_s(who, strlen(who)),
	    authz_s(host, strlen(host)), type, authz_s(name, len), op);
	if (v == ACL_NONE)
		v = b->cfg->allow_everyone_if_no_acl_found ? ACL_ALLOWED :
		    ACL_DENIED;
	if (v == ACL_DENIED)
		log_debug("broker: %s from %s denied operation %d on "
		    "resource %d %.*s", who, host, op, type, (int)len, name);
	return v == ACL_ALLOWED;
}

bool
authz_some(struct broker *b, struct req *r, int8_t type, int8_t op)
{
	const struct meta_image *img;
	const char *who, *host;

	if (!authz_enabled(b))
		return true;
	who = req_principal(r);
	if (authz_super(b->cfg->super_users, who))
		return true;
	if ((img = meta_client_image(b->mc)) == NULL)
		return false;
	host = req_peer_host(r);
	return acl_allows_some(img, authz_s(who, strlen(who)),
	    authz_s(host, strlen(host)), type, op);
}

bool
authz_cluster(struct broker *b, struct req *r, int8_t op)
{
	return authz_allowed(b, r, ACL_RES_CLUSTER, ACL_CLUSTER_NAME,
	    strlen(ACL_CLUSTER_NAME), op);
}

bool
authz_kstr(struct broker *b, struct req *r, int8_t type, struct kstr name,
    int8_t op)
{
	return authz_allowed(b, r, type, name.p, name.len > 0 ?
	    (size_t)name.len : 0, op);
}

static struct acl_str
acl_kstr(struct kstr k)
{
	return authz_s(k.len < 0 ? NULL : k.p, k.len < 0 ? 0 : (size_t)k.len);
}

static const char security_disabled[] = "No Authorizer is configured.";

void
api_describe_acls(struct broker *b, struct req *r)
{
	const struct kp_describe_acls_request *q = r->msg;
	struct kp_describe_acls_response resp;
	struct kp_describe_acls_response_describe_acls_resource *res;
	const struct meta_image *img = meta_client_image(b->mc);
	struct acl_binding f = { q->resource_type_filter,
	    acl_kstr(q->resource_name_filter),
	    r->hdr.api_version == 0 ? ACL_PAT_LITERAL : q->pattern_type_filter,
	    acl_kstr(q->principal_filter), acl_kstr(q->host_filter),
	    q->operation, q->permission_type };
	const char *why;
	int32_t nres = 0;

	kp_init(&kp_describe_acls_response_desc, &resp);
	resp.error_message = api_kstr_null();
	if (!authz_enabled(b)) {
		resp.error_code = KERR_SECURITY_DISABLED;
		resp.error_message = api_kstr(security_disabled);
	} else if (!authz_cluster(b, r, ACL_OP_DESCRIBE)) {
		resp.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
	} else if ((why = acl_filter_check(&f)) != NULL) {
		resp.error_code = KERR_INVALID_REQUEST;
		resp.error_message = api_kstr(why);
	} else if (img != NULL && img->nacls > 0) {
		/* One resource entry per (type, name, pattern), in the
		   image's order. */
		res = api_new(r,
		    &kp_describe_acls_response_describe_acls_resource_desc,
		    img->nacls);
		for (size_t i = 0; i < img->nacls; i++) {
			const struct mi_acl *a = &img->acls[i];
			struct kp_describe_acls_response_describe_acls_resource
			    *d = NULL;
			struct kp_describe_acls_response_acl_description *e;

			if (!acl_filter_match(&f, a))
				continue;
			for (int32_t k = 0; k < nres && d == NULL; k++)
				if (res[k].resource_type == a->resource_type &&
				    res[k].pattern_type == a->pattern &&
				    strcmp(res[k].resource_name.p,
				    a->resource) == 0)
					d = &res[k];
			if (d == NULL) {
				d = &res[nres++];
				d->resource_type = a->resource_type;
				d->resource_name = api_kstr_dup(r, a->resource);
				d->pattern_type = a->pattern;
				d->acls.v = api_new(r,
				    &kp_describe_acls_response_acl_description_desc,
				    img->nacls);
			}
			e = &d->acls.v[d->acls.n++];
			e->principal = api_kstr_dup(r, a->principal);
			e->host = api_kstr_dup(r, a->host);
			e->operation = a->operation;
			e->permission_type = a->permission;
		}
		resp.resources.v = res;
	}
	resp.resources.n = nres;
	req_respond(r, &kp_describe_acls_response_desc, &resp);
}

/* CreateAcls or DeleteAcls refused as a whole: every entry says why. */
static void
acls_refuse(struct req *r, int16_t code, const char *msg)
{
	struct kstr m = msg != NULL ? api_kstr(msg) : api_kstr_null();

	if (r->hdr.api_key == KP_API_CREATE_ACLS) {
		const struct kp_create_acls_request *q = r->msg;
		struct kp_create_acls_response resp;
		int32_t n = q->creations.n > 0 ? q->creations.n : 0;
		struct kp_create_acls_response_acl_creation_result *v = api_new(r,
		    &kp_create_acls_response_acl_creation_result_desc,
		    (size_t)n);

		kp_init(&kp_create_acls_response_desc, &resp);
		for (int32_t i = 0; i < n; i++) {
			v[i].error_code = code;
			v[i].error_message = m;
		}
		resp.results.v = v;
		resp.results.n = n;
		req_respond(r, &kp_create_acls_response_desc, &resp);
	} else {
		const struct kp_delete_acls_request *q = r->msg;
		struct kp_delete_acls_response resp;
		int32_t n = q->filters.n > 0 ? q->filters.n : 0;
		struct kp_delete_acls_response_delete_acls_filter_result *v =
		    api_new(r,
		    &kp_delete_acls_response_delete_acls_filter_result_desc,
		    (size_t)n);

		kp_init(&kp_delete_acls_response_desc, &resp);
		for (int32_t i = 0; i < n; i++) {
			v[i].error_code = code;
			v[i].error_message = m;
		}
		resp.filter_results.v = v;
		resp.filter_results.n = n;
		req_respond(r, &kp_delete_acls_response_desc, &resp);
	}
}

void
api_alter_acls(struct broker *b, struct req *r)
{
	if (!authz_enabled(b)) {
		acls_refuse(r, KERR_SECURITY_DISABLED, security_disabled);
		return;
	}
	if (!authz_cluster(b, r, ACL_OP_ALTER)) {
		acls_refuse(r, KERR_CLUSTER_AUTHORIZATION_FAILED, NULL);
		return;
	}
	/* v0 has no pattern types: literal, as Kafka reads it. */
	if (r->hdr.api_version == 0 && r->hdr.api_key == KP_API_CREATE_ACLS) {
		struct kp_create_acls_request *q = r->msg;

		for (int32_t i = 0; i < q->creations.n; i++)
			q->creations.v[i].resource_pattern_type =
			    ACL_PAT_LITERAL;
	} else if (r->hdr.api_version == 0) {
		struct kp_delete_acls_request *q = r->msg;

		for (int32_t i = 0; i < q->filters.n; i++)
			q->filters.v[i].pattern_type_filter = ACL_PAT_LITERAL;
	}
	meta_client_forward(b->mc, r);
}
