/*
 * Metadata, CreateTopics and DeleteTopics.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_client.h"
#include "replica.h"
#include "tconfig.h"
#include "api_util.h"

static struct kstr
kstr_of(const char *s)
{
	struct kstr k = { s, (int32_t)strlen(s) };

	return k;
}

static void
fill_topic(struct broker *b, struct req *r,
    struct kp_metadata_response_metadata_response_topic *mt, struct topic *t)
{
	const struct kp_struct *pd =
	    &kp_metadata_response_metadata_response_partition_desc;
	struct kp_metadata_response_metadata_response_partition *mp;
	int32_t node = b->cfg->node_id;

	mt->error_code = KERR_NONE;
	mt->name = kstr_of(t->name);
	mt->topic_id = t->id;
	mt->is_internal = t->name[0] == '_' && t->name[1] == '_';
	mp = api_new(r, pd, (size_t)t->npart);
	for (int32_t i = 0; i < t->npart; i++) {
		const struct partition *p = &t->parts[i];

		mp[i].partition_index = i;
		mp[i].offline_replicas.n = 0;
		mp[i].leader_id = replica_leader_id(b, p);
		mp[i].leader_epoch = p->leader == PART_LOCAL ? 0 :
		    p->leader_epoch;
		mp[i].error_code = mp[i].leader_id < 0 ?
		    KERR_LEADER_NOT_AVAILABLE : KERR_NONE;
		if (p->leader == PART_LOCAL) {
			int32_t *ids = kp_arena_alloc(&r->arena,
			    sizeof(*ids));

			ids[0] = node;
			mp[i].replica_nodes.v = ids;
			mp[i].replica_nodes.n = 1;
			mp[i].isr_nodes.v = ids;
			mp[i].isr_nodes.n = 1;
			continue;
		}
		mp[i].replica_nodes.v = p->replicas;
		mp[i].replica_nodes.n = (int32_t)p->nreplicas;
		mp[i].isr_nodes.v = p->isr;
		mp[i].isr_nodes.n = (int32_t)p->nisr;
	}
	mt->partitions.v = mp;
	mt->partitions.n = t->npart;
}

/* Does the request ask for (and the broker allow) auto-creation? */
static bool
auto_create_asked(struct broker *b, struct req *r,
    const struct kp_metadata_request *req)
{
	return b->cfg->auto_create_topics_enable &&
	    (r->hdr.api_version < 4 || req->allow_auto_topic_creation);
}

static bool
auto_create_allowed(struct broker *b, struct req *r,
    const struct kp_metadata_request *req)
{
	return r->pass == 0 && auto_create_asked(b, r, req);
}

/* ---- creation through the controller ---- */

#define CREATE_TOPICS_VERSION	7	/* what the broker sends */

/* Errors of the last creation attempt, by name (handler state). */
struct create_errs {
	size_t		 n;
	struct kstr	*names;
	int16_t		*errs;
};

static void
autocreate_done(struct broker *b, struct req *r, void *resp)
{
	const struct kp_create_topics_response *cr = resp;
	const struct api_entry *e = api_lookup(r->hdr.api_key);
	struct create_errs *ce;

	if (cr != NULL && cr->topics.n > 0) {
		ce = kp_arena_alloc(&r->arena, sizeof(*ce));
		ce->n = (size_t)cr->topics.n;
		ce->names = kp_arena_alloc(&r->arena, ce->n * sizeof(*ce->names));
		ce->errs = kp_arena_alloc(&r->arena, ce->n * sizeof(*ce->errs));
		for (size_t i = 0; i < ce->n; i++) {
			ce->names[i] = cr->topics.v[i].name;
			ce->errs[i] = cr->topics.v[i].error_code;
		}
		r->hctx = ce;
	}
	r->pass++;
	e->fn(b, r);
}

/* The controller's error for an auto-created name; NONE if unknown. */
static int16_t
autocreate_err(const struct req *r, struct kstr name)
{
	const struct create_errs *ce = r->hctx;

	for (size_t i = 0; ce != NULL && i < ce->n; i++)
		if (api_kstr_eq(ce->names[i], name))
			return ce->errs[i] == KERR_TOPIC_ALREADY_EXISTS ?
			    KERR_NONE : ce->errs[i];
	return KERR_NONE;
}

void
api_autocreate(struct broker *b, struct req *r, const struct kstr *names,
    size_t n, int32_t nparts, bool internal)
{
	static const char *const icfg[][2] = {
		{ "cleanup.policy", "compact" },
		{ "segment.bytes", "104857600" },
		{ "compression.type", "producer" },
	};
	const size_t nicfg = sizeof(icfg) / sizeof(icfg[0]);
	struct kp_create_topics_request *q;
	struct kp_create_topics_request_creatable_topic *t;
	struct kp_create_topics_request_createable_topic_config *c = NULL;
	int32_t rf = b->cfg->default_replication_factor;

	q = api_new(r, &kp_create_topics_request_desc, 1);
	t = api_new(r, &kp_create_topics_request_creatable_topic_desc, n);
	if (internal) {
		c = api_new(r,
		    &kp_create_topics_request_createable_topic_config_desc,
		    nicfg);
		for (size_t i = 0; i < nicfg; i++) {
			c[i].name = api_kstr(icfg[i][0]);
			c[i].value = api_kstr(icfg[i][1]);
		}
	}
	if (internal) {
		/* offsets.topic.replication.factor, as far as the registered
		   brokers allow (one on a single node).  One that is fenced
		   for a moment still counts: creation then fails until it is
		   back (the client retries), as in Kafka. */
		size_t known = meta_client_registered(b->mc);

		rf = b->cfg->offsets_topic_replication_factor;
		if ((size_t)rf > known)
			rf = (int32_t)known;
	}
	for (size_t i = 0; i < n; i++) {
		t[i].name = names[i];
		t[i].num_partitions = nparts;
		t[i].replication_factor = (int16_t)rf;
		t[i].assignments.n = 0;
		t[i].configs.v = c;
		t[i].configs.n = internal ? (int32_t)nicfg : 0;
	}
	q->topics.v = t;
	q->topics.n = (int32_t)n;
	q->timeout_ms = 30000;
	q->validate_only = false;
	meta_client_call(b->mc, r, KP_API_CREATE_TOPICS, CREATE_TOPICS_VERSION,
	    q, autocreate_done);
}

/* May r's principal create topic nm (CREATE on the cluster or it)? */
static bool
authz_create_topic(struct broker *b, struct req *r, struct kstr nm)
{
	return authz_cluster(b, r, ACL_OP_CREATE) ||
	    authz_kstr(b, r, ACL_RES_TOPIC, nm, ACL_OP_CREATE);
}

/* Names of r's topics to create automatically (first pass only). */
static bool
metadata_autocreate(struct broker *b, struct req *r,
    const struct kp_metadata_request *req)
{
	struct kstr *names;
	size_t n = 0;

	if (req->topics.n <= 0 || !auto_create_allowed(b, r, req))
		return false;
	names = kp_arena_alloc(&r->arena, (size_t)req->topics.n *
	    sizeof(*names));
	for (int32_t i = 0; i < req->topics.n; i++) {
		struct kstr nm = req->topics.v[i].name;

		if (nm.len <= 0 || topics_find(&b->topics, nm.p,
		    (size_t)nm.len) != NULL || topics_validate_name(nm.p,
		    (size_t)nm.len) != KERR_NONE ||
		    !authz_kstr(b, r, ACL_RES_TOPIC, nm, ACL_OP_DESCRIBE) ||
		    !authz_create_topic(b, r, nm))
			continue;
		names[n++] = nm;
	}
	if (n == 0)
		return false;
	api_autocreate(b, r, names, n, b->cfg->num_partitions, false);
	return true;
}

/* The live brokers and the controller, from the metadata image. */
static void
metadata_brokers(struct broker *b, struct req *r,
    struct kp_metadata_response *resp)
{
	struct kp_metadata_response_metadata_response_broker *v;
	struct mc_broker *mb;
	size_t n = meta_client_brokers(b->mc, req_listener(r), &mb);

	v = api_new(r, &kp_metadata_response_metadata_response_broker_desc,
	    n);
	for (size_t i = 0; i < n; i++) {
		v[i].node_id = mb[i].id;
		v[i].host = api_kstr_dup(r, mb[i].host);
		v[i].port = mb[i].port;
		v[i].rack = mb[i].rack != NULL ? api_kstr_dup(r, mb[i].rack) :
		    api_kstr_null();
	}
	free(mb);
	resp->brokers.v = v;
	resp->brokers.n = (int32_t)n;
	/* As Kafka in KRaft mode: clients send controller requests to a
	   broker, which forwards them (the controllers are not reachable). */
	resp->controller_id = b->cfg->node_id;
}

void
api_metadata(struct broker *b, struct req *r)
{
	const struct kp_struct *td =
	    &kp_metadata_response_metadata_response_topic_desc;
	struct kp_metadata_request *req = r->msg;
	struct kp_metadata_response resp;
	struct kp_metadata_response_metadata_response_topic *mt;
	struct topic *t;
	bool all = req->topics.n < 0 ||
	    (r->hdr.api_version == 0 && req->topics.n == 0);
	size_t n = 0;

	if (!all && metadata_autocreate(b, r, req))
		return;		/* answered once the controller created them */
	kp_init(&kp_metadata_response_desc, &resp);
	metadata_brokers(b, r, &resp);
	resp.cluster_id = kstr_of(b->cluster_id);

	if (all) {
		/* Only the topics the principal may see. */
		mt = api_new(r, td, b->topics.count);
		TAILQ_FOREACH(t, &b->topics.list, entry)
			if (authz_allowed(b, r, ACL_RES_TOPIC, t->name,
			    strlen(t->name), ACL_OP_DESCRIBE))
				fill_topic(b, r, &mt[n++], t);
	} else {
		mt = api_new(r, td, (size_t)req->topics.n);
		for (int32_t i = 0; i < req->topics.n; i++) {
			struct kp_metadata_request_metadata_request_topic *rt =
			    &req->topics.v[i];
			struct kstr nm = rt->name;
			int16_t err;

			if (nm.len < 0) {
				t = topics_find_id(&b->topics, &rt->topic_id);
				if (t == NULL || !authz_allowed(b, r,
				    ACL_RES_TOPIC, t->name, strlen(t->name),
				    ACL_OP_DESCRIBE)) {
					mt[n].error_code = t == NULL ?
					    KERR_UNKNOWN_TOPIC_ID :
					    KERR_TOPIC_AUTHORIZATION_FAILED;
					mt[n].topic_id = rt->topic_id;
					mt[n++].name.len = -1;
					continue;
				}
				fill_topic(b, r, &mt[n++], t);
				continue;
			}
			t = topics_find(&b->topics, nm.p, (size_t)nm.len);
			mt[n].name = nm;
			if (!authz_kstr(b, r, ACL_RES_TOPIC, nm,
			    ACL_OP_DESCRIBE) || (t == NULL &&
			    auto_create_asked(b, r, req) &&
			    !authz_create_topic(b, r, nm))) {
				mt[n++].error_code =
				    KERR_TOPIC_AUTHORIZATION_FAILED;
				continue;
			}
			if (t == NULL && topics_validate_name(nm.p,
			    (size_t)nm.len) != KERR_NONE) {
				mt[n++].error_code =
				    KERR_INVALID_TOPIC_EXCEPTION;
				continue;
			}
			if (t == NULL) {
				/* Being created (or it failed): say so. */
				err = r->pass > 0 ? autocreate_err(r, nm) :
				    KERR_NONE;
				if (r->pass > 0 && err == KERR_NONE)
					err = KERR_LEADER_NOT_AVAILABLE;
				mt[n++].error_code = err != KERR_NONE ? err :
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			fill_topic(b, r, &mt[n++], t);
		}
	}
	resp.topics.v = mt;
	resp.topics.n = (int32_t)n;
	req_respond(r, &kp_metadata_response_desc, &resp);
}

/*
 * CreateTopics: the broker checks each topic's configs against its table
 * (the controller stores them as given), forwards the rest to the
 * controller and answers when its metadata shows the result.
 */
struct create_ctx {
	int32_t		 n;		/* topics in the client's request */
	int32_t		*fwd_index;	/* forwarded position, -1: local */
	struct kp_create_topics_response_creatable_topic_result *res;
};

static void
create_topics_done(struct broker *b, struct req *r, void *resp)
{
	struct kp_create_topics_request *req = r->msg;
	struct kp_create_topics_response *cr = resp;
	struct create_ctx *cx = r->hctx;
	struct kp_create_topics_response out;

	kp_init(&kp_create_topics_response_desc, &out);
	for (int32_t i = 0; i < cx->n; i++) {
		struct kp_create_topics_response_creatable_topic_result *res =
		    &cx->res[i];
		int32_t k = cx->fwd_index[i];
		struct tconfig *tc;
		const char *msg;

		if (k < 0)
			continue;
		if (cr == NULL || k >= cr->topics.n) {
			res->error_code = KERR_REQUEST_TIMED_OUT;
			res->error_message = api_kstr("The controller did not "
			    "answer in time.");
			continue;
		}
		*res = cr->topics.v[k];
		res->configs.n = -1;
		if (res->error_code != KERR_NONE || r->hdr.api_version < 5)
			continue;
		/* Show the configs the topic got, as Kafka does from v5. */
		if (api_topic_configs_check(b, r, &req->topics.v[i], &tc,
		    &msg) == KERR_NONE)
			api_topic_configs_apply(b, r, NULL, tc, res);
	}
	out.topics.v = cx->res;
	out.topics.n = cx->n;
	req_respond(r, &kp_create_topics_response_desc, &out);
}

void
api_create_topics(struct broker *b, struct req *r)
{
	struct kp_create_topics_request *req = r->msg, *fq;
	struct kp_create_topics_request_creatable_topic *ft;
	struct create_ctx *cx;
	int32_t n = req->topics.n > 0 ? req->topics.n : 0, nf = 0;

	cx = kp_arena_alloc(&r->arena, sizeof(*cx));
	cx->n = n;
	cx->fwd_index = kp_arena_alloc(&r->arena,
	    (size_t)(n + 1) * sizeof(*cx->fwd_index));
	cx->res = api_new(r,
	    &kp_create_topics_response_creatable_topic_result_desc, (size_t)n);
	fq = api_new(r, &kp_create_topics_request_desc, 1);
	*fq = *req;
	ft = api_new(r, &kp_create_topics_request_creatable_topic_desc,
	    (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		const struct kp_create_topics_request_creatable_topic *ct =
		    &req->topics.v[i];
		struct kp_create_topics_response_creatable_topic_result *res =
		    &cx->res[i];
		struct tconfig *tc;
		const char *msg = NULL;

		res->name = ct->name;
		res->configs.n = -1;
		res->error_message.len = -1;
		res->error_code = topics_validate_name(ct->name.p,
		    ct->name.len > 0 ? (size_t)ct->name.len : 0);
		if (res->error_code == KERR_NONE &&
		    !authz_create_topic(b, r, ct->name)) {
			res->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
			msg = "Not authorized to create this topic.";
		} else if (res->error_code != KERR_NONE)
			msg = "Topic name is illegal: use up to 249 characters "
			    "of [a-zA-Z0-9._-]";
		else if (ct->num_partitions == 0 || ct->num_partitions < -1 ||
		    ct->num_partitions > 100000) {
			res->error_code = KERR_INVALID_PARTITIONS;
			msg = "Number of partitions must be larger than 0.";
		} else if (ct->replication_factor == 0 ||
		    ct->replication_factor < -1) {
			res->error_code = KERR_INVALID_REPLICATION_FACTOR;
			msg = "Replication factor must be larger than 0.";
		} else if ((res->error_code = api_topic_configs_check(b, r, ct,
		    &tc, &msg)) == KERR_NONE)
			tconfig_free(tc);
		if (res->error_code != KERR_NONE) {
			if (msg != NULL)
				res->error_message = kstr_of(msg);
			cx->fwd_index[i] = -1;
			continue;
		}
		cx->fwd_index[i] = nf;
		ft[nf++] = *ct;
	}
	fq->topics.v = ft;
	fq->topics.n = nf;
	r->hctx = cx;
	if (nf == 0) {
		create_topics_done(b, r, NULL);
		return;
	}
	meta_client_call(b->mc, r, KP_API_CREATE_TOPICS, r->hdr.api_version,
	    fq, create_topics_done);
}

/*
 * A request the controller answers (elections, reassignments): ALTER on
 * the cluster (DESCRIBE to list reassignments), or
 * CLUSTER_AUTHORIZATION_FAILED as the whole answer.
 */
void
api_forward_controller(struct broker *b, struct req *r)
{
	int16_t key = r->hdr.api_key;

	if (authz_cluster(b, r, key == KP_API_LIST_PARTITION_REASSIGNMENTS ?
	    ACL_OP_DESCRIBE : ACL_OP_ALTER)) {
		meta_client_forward(b->mc, r);
		return;
	}
	if (key == KP_API_ELECT_LEADERS) {
		struct kp_elect_leaders_response e;

		kp_init(&kp_elect_leaders_response_desc, &e);
		e.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
		req_respond(r, &kp_elect_leaders_response_desc, &e);
	} else if (key == KP_API_ALTER_PARTITION_REASSIGNMENTS) {
		struct kp_alter_partition_reassignments_response a;

		kp_init(&kp_alter_partition_reassignments_response_desc, &a);
		a.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
		a.error_message = api_kstr_null();
		req_respond(r, &kp_alter_partition_reassignments_response_desc,
		    &a);
	} else {
		struct kp_list_partition_reassignments_response l;

		kp_init(&kp_list_partition_reassignments_response_desc, &l);
		l.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
		l.error_message = api_kstr_null();
		req_respond(r, &kp_list_partition_reassignments_response_desc,
		    &l);
	}
}

/* May r delete every topic it names?  (Ids resolve to names.) */
static bool
delete_topics_allowed(struct broker *b, struct req *r, bool *denied)
{
	struct kp_delete_topics_request *req = r->msg;
	bool v6 = r->hdr.api_version >= 6, all = true;
	int32_t n = v6 ? req->topics.n : req->topic_names.n;

	for (int32_t i = 0; i < n; i++) {
		struct kstr nm = v6 ? req->topics.v[i].name :
		    req->topic_names.v[i];
		struct topic *t;

		if (nm.len < 0 && v6 && (t = topics_find_id(&b->topics,
		    &req->topics.v[i].topic_id)) != NULL)
			nm = api_kstr(t->name);
		denied[i] = nm.len >= 0 &&
		    !authz_kstr(b, r, ACL_RES_TOPIC, nm, ACL_OP_DELETE);
		all = all && !denied[i];
	}
	return all;
}

/*
 * The controller's answer about the topics r may delete, in their order,
 * merged with TOPIC_AUTHORIZATION_FAILED for the others (Kafka deletes
 * what it may and refuses the rest).
 */
static void
delete_topics_merge(struct broker *b, struct req *r, void *resp)
{
	const struct kp_delete_topics_request *req = r->msg;
	const struct kp_delete_topics_response *cr = resp;
	const bool *denied = r->hctx;
	struct kp_delete_topics_response out;
	struct kp_delete_topics_response_deletable_topic_result *res;
	bool v6 = r->hdr.api_version >= 6;
	int32_t n = v6 ? req->topics.n : req->topic_names.n, k = 0;

	(void)b;
	if (cr == NULL) {
		req_close_conn(r, "the controller did not answer");
		return;
	}
	kp_init(&kp_delete_topics_response_desc, &out);
	res = api_new(r,
	    &kp_delete_topics_response_deletable_topic_result_desc, (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		if (!denied[i] && k < cr->responses.n) {
			res[i] = cr->responses.v[k++];
			continue;
		}
		if (v6) {
			res[i].name = req->topics.v[i].name;
			res[i].topic_id = req->topics.v[i].topic_id;
		} else
			res[i].name = req->topic_names.v[i];
		res[i].error_code = denied[i] ?
		    KERR_TOPIC_AUTHORIZATION_FAILED : KERR_UNKNOWN_SERVER_ERROR;
		res[i].error_message = api_kstr_null();
	}
	out.throttle_time_ms = cr->throttle_time_ms;
	out.responses.v = res;
	out.responses.n = n;
	req_respond(r, &kp_delete_topics_response_desc, &out);
}

/* Forward the topics that are not denied (there is one at least). */
static void
delete_topics_forward(struct broker *b, struct req *r, bool *denied)
{
	const struct kp_delete_topics_request *req = r->msg;
	struct kp_delete_topics_request *fwd = api_new(r,
	    &kp_delete_topics_request_desc, 1);
	bool v6 = r->hdr.api_version >= 6;
	int32_t n = v6 ? req->topics.n : req->topic_names.n, k = 0;

	*fwd = *req;
	if (v6)
		fwd->topics.v = kp_arena_alloc(&r->arena,
		    (size_t)n * sizeof(*fwd->topics.v));
	else
		fwd->topic_names.v = kp_arena_alloc(&r->arena,
		    (size_t)n * sizeof(*fwd->topic_names.v));
	for (int32_t i = 0; i < n; i++) {
		if (denied[i])
			continue;
		if (v6)
			fwd->topics.v[k++] = req->topics.v[i];
		else
			fwd->topic_names.v[k++] = req->topic_names.v[i];
	}
	if (v6)
		fwd->topics.n = k;
	else
		fwd->topic_names.n = k;
	r->hctx = denied;
	meta_client_call(b->mc, r, KP_API_DELETE_TOPICS, r->hdr.api_version,
	    fwd, delete_topics_merge);
}

void
api_delete_topics(struct broker *b, struct req *r)
{
	struct kp_delete_topics_request *req = r->msg;
	struct kp_delete_topics_response resp;
	struct kp_delete_topics_response_deletable_topic_result *res;
	bool v6 = r->hdr.api_version >= 6, *denied, allowed;
	int32_t n = v6 ? req->topics.n : req->topic_names.n;

	if (n < 0)
		n = 0;
	denied = kp_arena_alloc(&r->arena, (size_t)n + 1);
	allowed = delete_topics_allowed(b, r, denied);
	if (b->cfg->delete_topic_enable && allowed) {
		meta_client_forward(b->mc, r);
		return;
	}
	if (b->cfg->delete_topic_enable && b->mc != NULL) {
		for (int32_t i = 0; i < n; i++)
			if (!denied[i]) {
				delete_topics_forward(b, r, denied);
				return;
			}
	}
	kp_init(&kp_delete_topics_response_desc, &resp);
	res = api_new(r,
	    &kp_delete_topics_response_deletable_topic_result_desc, (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		if (v6) {
			res[i].name = req->topics.v[i].name;
			res[i].topic_id = req->topics.v[i].topic_id;
		} else
			res[i].name = req->topic_names.v[i];
		if (denied[i]) {
			res[i].error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
			res[i].error_message = api_kstr_null();
		} else {
			res[i].error_code = KERR_TOPIC_DELETION_DISABLED;
			res[i].error_message = kstr_of("Topic deletion is "
			    "disabled.");
		}
	}
	resp.responses.v = res;
	resp.responses.n = n;
	req_respond(r, &kp_delete_topics_response_desc, &resp);
}
