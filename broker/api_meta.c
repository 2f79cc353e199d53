/*
 * Metadata, CreateTopics and DeleteTopics.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_client.h"
#include "tconfig.h"

/* n elements of a generated struct, each with its schema defaults. */
static void *
api_alloc(struct req *r, const struct kp_struct *d, size_t n)
{
	uint8_t *v = kp_arena_alloc(&r->arena, (n == 0 ? 1 : n) * d->size);

	for (size_t i = 0; i < n; i++)
		kp_init(d, v + i * d->size);
	return v;
}

static const char *
arena_strdup(struct req *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = kp_arena_alloc(&r->arena, n);

	memcpy(p, s, n);
	return p;
}

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
	mp = api_alloc(r, pd, (size_t)t->npart);
	for (int32_t i = 0; i < t->npart; i++) {
		int32_t *ids = kp_arena_alloc(&r->arena, 2 * sizeof(*ids));
		ids[0] = node;
		ids[1] = node;
		mp[i].error_code = KERR_NONE;
		mp[i].partition_index = i;
		mp[i].leader_id = node;
		mp[i].leader_epoch = 0;
		mp[i].replica_nodes.v = &ids[0];
		mp[i].replica_nodes.n = 1;
		mp[i].isr_nodes.v = &ids[1];
		mp[i].isr_nodes.n = 1;
		mp[i].offline_replicas.n = 0;
	}
	mt->partitions.v = mp;
	mt->partitions.n = t->npart;
}

static bool
auto_create_allowed(struct broker *b, struct req *r,
    const struct kp_metadata_request *req)
{
	if (!b->cfg->auto_create_topics_enable)
		return false;
	return r->hdr.api_version < 4 || req->allow_auto_topic_creation;
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

	kp_init(&kp_metadata_response_desc, &resp);
	resp.brokers.v = api_alloc(r,
	    &kp_metadata_response_metadata_response_broker_desc, 1);
	resp.brokers.n = 1;
	resp.brokers.v[0].node_id = b->cfg->node_id;
	resp.brokers.v[0].host = kstr_of(b->adv_host);
	resp.brokers.v[0].port = b->adv_port;
	resp.brokers.v[0].rack.len = -1;
	resp.cluster_id = kstr_of(b->cluster_id);
	resp.controller_id = b->cfg->node_id;

	if (all) {
		mt = api_alloc(r, td, b->topics.count);
		TAILQ_FOREACH(t, &b->topics.list, entry)
			fill_topic(b, r, &mt[n++], t);
	} else {
		mt = api_alloc(r, td, (size_t)req->topics.n);
		for (int32_t i = 0; i < req->topics.n; i++) {
			struct kp_metadata_request_metadata_request_topic *rt =
			    &req->topics.v[i];
			struct kstr nm = rt->name;

			if (nm.len < 0) {
				t = topics_find_id(&b->topics, &rt->topic_id);
				if (t == NULL) {
					mt[n].error_code =
					    KERR_UNKNOWN_TOPIC_ID;
					mt[n].topic_id = rt->topic_id;
					mt[n++].name.len = -1;
					continue;
				}
				fill_topic(b, r, &mt[n++], t);
				continue;
			}
			t = topics_find(&b->topics, nm.p, (size_t)nm.len);
			mt[n].name = nm;
			if (t == NULL && topics_validate_name(nm.p,
			    (size_t)nm.len) != KERR_NONE) {
				mt[n++].error_code =
				    KERR_INVALID_TOPIC_EXCEPTION;
				continue;
			}
			/* With a controller, topics come from its metadata. */
			if (t == NULL && b->mc == NULL &&
			    auto_create_allowed(b, r, req)) {
				int16_t err = topics_create(&b->topics, nm.p,
				    (size_t)nm.len, b->cfg->num_partitions, &t);
				if (err != KERR_NONE) {
					mt[n++].error_code = err;
					continue;
				}
			}
			if (t == NULL) {
				mt[n++].error_code =
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

static int16_t
create_one(struct broker *b, struct req *r,
    const struct kp_create_topics_request_creatable_topic *ct,
    bool validate_only, struct kp_create_topics_response_creatable_topic_result *res,
    const char **msg)
{
	int32_t npart = ct->num_partitions;
	int16_t rf = ct->replication_factor;
	struct topic *t;
	struct tconfig *tc;
	int16_t err;

	*msg = NULL;
	if ((err = topics_validate_name(ct->name.p, (size_t)ct->name.len)) !=
	    KERR_NONE) {
		*msg = "Topic name is illegal: use up to 249 characters of "
		    "[a-zA-Z0-9._-]";
		return err;
	}
	if (topics_find(&b->topics, ct->name.p, (size_t)ct->name.len) != NULL) {
		*msg = "Topic already exists.";
		return KERR_TOPIC_ALREADY_EXISTS;
	}
	if (ct->assignments.n > 0) {
		npart = ct->assignments.n;
		rf = (int16_t)ct->assignments.v[0].broker_ids.n;
		for (int32_t i = 0; i < ct->assignments.n; i++) {
			const struct kp_create_topics_request_creatable_replica_assignment
			    *a = &ct->assignments.v[i];
			if (a->broker_ids.n != 1 ||
			    a->broker_ids.v[0] != b->cfg->node_id) {
				*msg = "Replica assignment names an unknown "
				    "broker.";
				return KERR_INVALID_REPLICA_ASSIGNMENT;
			}
		}
	}
	if (npart == -1)
		npart = b->cfg->num_partitions;
	if (rf == -1)
		rf = (int16_t)b->cfg->default_replication_factor;
	if (npart <= 0 || npart > 100000) {
		*msg = "Number of partitions must be larger than 0.";
		return KERR_INVALID_PARTITIONS;
	}
	if (rf <= 0) {
		*msg = "Replication factor must be larger than 0.";
		return KERR_INVALID_REPLICATION_FACTOR;
	}
	if (rf > 1) {
		*msg = "Replication factor is larger than the number of "
		    "available brokers (1).";
		return KERR_INVALID_REPLICATION_FACTOR;
	}
	if ((err = api_topic_configs_check(b, r, ct, &tc, msg)) != KERR_NONE)
		return err;
	res->num_partitions = npart;
	res->replication_factor = rf;
	if (validate_only)
		return api_topic_configs_apply(b, r, NULL, tc, res);
	err = topics_create(&b->topics, ct->name.p, (size_t)ct->name.len, npart,
	    &t);
	if (err != KERR_NONE) {
		tconfig_free(tc);
		return err;
	}
	res->topic_id = t->id;
	return api_topic_configs_apply(b, r, t, tc, res);
}

void
api_create_topics(struct broker *b, struct req *r)
{
	struct kp_create_topics_request *req = r->msg;
	struct kp_create_topics_response resp;
	struct kp_create_topics_response_creatable_topic_result *res;

	if (b->mc != NULL) {
		meta_client_forward(b->mc, r);
		return;
	}
	kp_init(&kp_create_topics_response_desc, &resp);
	res = api_alloc(r,
	    &kp_create_topics_response_creatable_topic_result_desc,
	    req->topics.n > 0 ? (size_t)req->topics.n : 0);
	for (int32_t i = 0; i < req->topics.n; i++) {
		const char *msg;

		res[i].name = req->topics.v[i].name;
		res[i].configs.n = 0;
		res[i].error_code = create_one(b, r, &req->topics.v[i],
		    req->validate_only, &res[i], &msg);
		if (msg != NULL)
			res[i].error_message = kstr_of(msg);
		else
			res[i].error_message.len = -1;
	}
	resp.topics.v = res;
	resp.topics.n = req->topics.n > 0 ? req->topics.n : 0;
	req_respond(r, &kp_create_topics_response_desc, &resp);
}

void
api_delete_topics(struct broker *b, struct req *r)
{
	struct kp_delete_topics_request *req = r->msg;
	struct kp_delete_topics_response resp;
	struct kp_delete_topics_response_deletable_topic_result *res;
	bool v6 = r->hdr.api_version >= 6;
	int32_t n = v6 ? req->topics.n : req->topic_names.n;

	if (b->mc != NULL) {
		meta_client_forward(b->mc, r);
		return;
	}
	if (n < 0)
		n = 0;
	kp_init(&kp_delete_topics_response_desc, &resp);
	res = api_alloc(r,
	    &kp_delete_topics_response_deletable_topic_result_desc, (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		struct kstr nm = v6 ? req->topics.v[i].name :
		    req->topic_names.v[i];
		struct topic *t;

		if (v6 && nm.len < 0) {
			t = topics_find_id(&b->topics, &req->topics.v[i].topic_id);
			res[i].topic_id = req->topics.v[i].topic_id;
			res[i].name.len = -1;
		} else {
			t = topics_find(&b->topics, nm.p, (size_t)nm.len);
			res[i].name = nm;
		}
		if (t == NULL) {
			res[i].error_code = v6 && nm.len < 0 ?
			    KERR_UNKNOWN_TOPIC_ID :
			    KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		if (!b->cfg->delete_topic_enable) {
			res[i].error_code = KERR_TOPIC_DELETION_DISABLED;
			continue;
		}
		res[i].topic_id = t->id;
		if (res[i].name.len < 0)
			res[i].name = kstr_of(arena_strdup(r, t->name));
		res[i].error_code = topics_delete(&b->topics, t);
	}
	resp.responses.v = res;
	resp.responses.n = n;
	req_respond(r, &kp_delete_topics_response_desc, &resp);
}
