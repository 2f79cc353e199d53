/*
 * CreateAcls and DeleteAcls on the controller (forwarded by brokers, which
 * have authorized them): AccessControlEntryRecords and their removals,
 * answered once committed.  Brokers answer DescribeAcls from their image.
 */
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_image.h"
#include "raft.h"

static struct acl_str
acl_s(struct kstr k)
{
	struct acl_str s = { k.len < 0 ? NULL : k.p,
	    k.len < 0 ? 0 : (size_t)k.len };

	return s;
}

static struct kstr
acl_k(const char *s)
{
	struct kstr k = { s, s == NULL ? -1 : (int32_t)strlen(s) };

	return k;
}

/* An entry's error before it is acted on (why: its check's verdict). */
static int16_t
acl_precheck(bool leader, const char *why, struct kstr *msg)
{
	msg->len = -1;
	if (!leader)
		return KERR_NOT_CONTROLLER;
	if (why == NULL)
		return KERR_NONE;
	*msg = acl_k(why);
	return KERR_INVALID_REQUEST;
}

static void
ctl_create_acls_lost(void *arg)
{
	struct kp_create_acls_response *r = arg;

	for (int32_t i = 0; i < r->results.n; i++)
		if (r->results.v[i].error_code == KERR_NONE)
			r->results.v[i].error_code = KERR_NOT_CONTROLLER;
}

int
ctl_create_acls(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_create_acls_request q;
	struct kp_create_acls_response resp;
	struct kp_create_acls_response_acl_creation_result *res;
	struct wbuf recs = { 0 };
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	int32_t n;
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	n = q.creations.n > 0 ? q.creations.n : 0;
	res = kp_arena_alloc(a, ((size_t)n + 1) * sizeof(*res));
	resp.results.v = res;
	resp.results.n = n;
	for (int32_t i = 0; i < n; i++) {
		const struct kp_create_acls_request_acl_creation *cr =
		    &q.creations.v[i];
		struct acl_binding b = { cr->resource_type,
		    acl_s(cr->resource_name), cr->resource_pattern_type,
		    acl_s(cr->principal), acl_s(cr->host), cr->operation,
		    cr->permission_type };
		struct kp_access_control_entry_record ar;
		bool dup = false;

		kp_init(&kp_create_acls_response_acl_creation_result_desc,
		    &res[i]);
		res[i].error_code = acl_precheck(leader, acl_binding_check(&b),
		    &res[i].error_message);
		if (res[i].error_code != KERR_NONE)
			continue;
		for (size_t k = 0; k < c->img->nacls && !dup; k++)
			dup = acl_same(&b, &c->img->acls[k]);
		if (dup)
			continue;	/* there already: nothing to add */
		kp_init(&kp_access_control_entry_record_desc, &ar);
		ctl_new_uuid(&ar.id);
		ar.resource_type = b.resource_type;
		ar.resource_name = cr->resource_name;
		ar.pattern_type = b.pattern;
		ar.principal = cr->principal;
		ar.host = cr->host;
		ar.operation = b.operation;
		ar.permission_type = b.permission;
		meta_record_put(&recs, MI_REC_ACL, 0,
		    &kp_access_control_entry_record_desc, &ar);
		log_info("controller %d: ACL added: %.*s %s %.*s on %.*s "
		    "(resource type %d)", c->cfg->node_id,
		    (int)cr->principal.len, cr->principal.p,
		    b.permission == ACL_PERM_ALLOW ? "allowed" : "denied",
		    (int)cr->host.len, cr->host.p,
		    (int)cr->resource_name.len, cr->resource_name.p,
		    b.resource_type);
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_create_acls_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

static void
ctl_delete_acls_lost(void *arg)
{
	struct kp_delete_acls_response *r = arg;

	for (int32_t i = 0; i < r->filter_results.n; i++)
		if (r->filter_results.v[i].error_code == KERR_NONE)
			r->filter_results.v[i].error_code =
			    KERR_NOT_CONTROLLER;
}

int
ctl_delete_acls(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_delete_acls_request q;
	struct kp_delete_acls_response resp;
	struct kp_delete_acls_response_delete_acls_filter_result *res;
	struct wbuf recs = { 0 };
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	const struct meta_image *img = c->img;
	bool *gone;
	int32_t n;
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	n = q.filters.n > 0 ? q.filters.n : 0;
	res = kp_arena_alloc(a, ((size_t)n + 1) * sizeof(*res));
	gone = kp_arena_alloc(a, img->nacls + 1);
	memset(gone, 0, img->nacls + 1);
	resp.filter_results.v = res;
	resp.filter_results.n = n;
	for (int32_t i = 0; i < n; i++) {
		const struct kp_delete_acls_request_delete_acls_filter *fr =
		    &q.filters.v[i];
		struct acl_binding f = { fr->resource_type_filter,
		    acl_s(fr->resource_name_filter), fr->pattern_type_filter,
		    acl_s(fr->principal_filter), acl_s(fr->host_filter),
		    fr->operation, fr->permission_type };
		struct kp_delete_acls_response_delete_acls_matching_acl *m;
		int32_t nm = 0;

		kp_init(&kp_delete_acls_response_delete_acls_filter_result_desc,
		    &res[i]);
		res[i].error_code = acl_precheck(leader, acl_filter_check(&f),
		    &res[i].error_message);
		if (res[i].error_code != KERR_NONE)
			continue;
		m = kp_arena_alloc(a, (img->nacls + 1) * sizeof(*m));
		for (size_t k = 0; k < img->nacls; k++) {
			const struct mi_acl *x = &img->acls[k];
			struct kp_remove_access_control_entry_record rr;

			if (!acl_filter_match(&f, x))
				continue;
			kp_init(&kp_delete_acls_response_delete_acls_matching_acl_desc,
			    &m[nm]);
			m[nm].error_message.len = -1;
			m[nm].resource_type = x->resource_type;
			m[nm].resource_name = acl_k(x->resource);
			m[nm].pattern_type = x->pattern;
			m[nm].principal = acl_k(x->principal);
			m[nm].host = acl_k(x->host);
			m[nm].operation = x->operation;
			m[nm].permission_type = x->permission;
			nm++;
			if (gone[k])
				continue;
			gone[k] = true;
			kp_init(&kp_remove_access_control_entry_record_desc,
			    &rr);
			rr.id = x->id;
			meta_record_put(&recs, MI_REC_REMOVE_ACL, 0,
			    &kp_remove_access_control_entry_record_desc, &rr);
			log_info("controller %d: ACL removed: %s on %s "
			    "(resource type %d)", c->cfg->node_id,
			    x->principal, x->resource, x->resource_type);
		}
		res[i].matching_acls.v = m;
		res[i].matching_acls.n = nm;
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_delete_acls_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}
