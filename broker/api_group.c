/*
 * Group coordinator APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetCommit, OffsetFetch, OffsetDelete, DescribeGroups,
 * ListGroups, DeleteGroups.  This broker coordinates every group: it leads
 * every partition of __consumer_offsets.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_client.h"
#include "replica.h"

#define OFFSET_METADATA_MAX	4096

static void *
alloc_n(struct req *r, const struct kp_struct *d, int32_t n)
{
	size_t cnt = n > 0 ? (size_t)n : 1;
	uint8_t *v = kp_arena_alloc(&r->arena, cnt * d->size);

	for (size_t i = 0; i < cnt; i++)
		kp_init(d, v + i * d->size);
	return v;
}

/* The leader of the group's partition of __consumer_offsets. */
static void
coordinator_of(struct broker *b, const struct listener *lsn,
    struct topic *ot, struct kstr key, int16_t *err, int32_t *node,
    struct kstr *host, int32_t *port)
{
	struct partition *p;
	const char *h;
	int id, pt;

	*node = -1;
	*host = kstr_c("");
	*port = -1;
	if (*err != KERR_NONE)
		return;
	p = ot == NULL ? NULL : topic_partition(ot, group_partition_for(
	    key.p, key.len > 0 ? (size_t)key.len : 0, ot->npart));
	id = p != NULL ? replica_leader_id(b, p) : -1;
	if (id == b->cfg->node_id) {
		h = lsn->adv_host;
		pt = lsn->adv_port;
	} else if (id < 0 || meta_client_broker_addr(b->mc, id, lsn->name, &h,
	    &pt) != 0) {
		*err = KERR_COORDINATOR_NOT_AVAILABLE;
		return;
	}
	*node = id;
	*host = kstr_c(h);
	*port = pt;
}

/* FindCoordinator of a group needs DESCRIBE on it (Kafka). */
static int16_t
find_check(struct broker *b, struct req *r, int8_t key_type, struct kstr key,
    int16_t err)
{
	if (key_type == 0 && !authz_kstr(b, r, ACL_RES_GROUP, key,
	    ACL_OP_DESCRIBE))
		return KERR_GROUP_AUTHORIZATION_FAILED;
	return err;
}

/* Is any key of the request one r may look up? */
static bool
find_any_allowed(struct broker *b, struct req *r,
    const struct kp_find_coordinator_request *req)
{
	if (r->hdr.api_version < 4)
		return find_check(b, r, req->key_type, req->key, KERR_NONE) ==
		    KERR_NONE;
	for (int32_t i = 0; i < req->coordinator_keys.n; i++)
		if (find_check(b, r, req->key_type, req->coordinator_keys.v[i],
		    KERR_NONE) == KERR_NONE)
			return true;
	return false;
}

void
api_find_coordinator(struct broker *b, struct req *r)
{
	const struct kp_struct *cd = &kp_find_coordinator_response_coordinator_desc;
	struct kp_find_coordinator_request *req = r->msg;
	struct kp_find_coordinator_response resp;
	int16_t err = req->key_type == 0 ? KERR_NONE :
	    KERR_COORDINATOR_NOT_AVAILABLE;
	struct topic *ot;

	/* Groups need __consumer_offsets: have the controller create it. */
	if (err == KERR_NONE && topics_find(&b->topics, GROUP_OFFSETS_TOPIC,
	    strlen(GROUP_OFFSETS_TOPIC)) == NULL &&
	    find_any_allowed(b, r, req)) {
		if (r->pass == 0) {
			struct kstr *nm = kp_arena_alloc(&r->arena,
			    sizeof(*nm));

			*nm = kstr_c(GROUP_OFFSETS_TOPIC);
			api_autocreate(b, r, nm, 1,
			    b->cfg->offsets_topic_num_partitions, true);
			return;
		}
		err = KERR_COORDINATOR_NOT_AVAILABLE;
	}
	kp_init(&kp_find_coordinator_response_desc, &resp);
	ot = topics_find(&b->topics, GROUP_OFFSETS_TOPIC,
	    strlen(GROUP_OFFSETS_TOPIC));
	if (r->hdr.api_version < 4) {
		resp.error_code = find_check(b, r, req->key_type, req->key,
		    err);
		resp.error_message.len = -1;
		coordinator_of(b, req_listener(r), ot, req->key,
		    &resp.error_code,
		    &resp.node_id, &resp.host, &resp.port);
	} else {
		struct kp_find_coordinator_response_coordinator *c =
		    alloc_n(r, cd, req->coordinator_keys.n);

		for (int32_t i = 0; i < req->coordinator_keys.n; i++) {
			c[i].key = req->coordinator_keys.v[i];
			c[i].error_code = find_check(b, r, req->key_type,
			    c[i].key, err);
			c[i].error_message.len = -1;
			coordinator_of(b, req_listener(r), ot, c[i].key,
			    &c[i].error_code,
			    &c[i].node_id, &c[i].host, &c[i].port);
		}
		resp.coordinators.v = c;
		resp.coordinators.n = req->coordinator_keys.n > 0 ?
		    req->coordinator_keys.n : 0;
	}
	req_respond(r, &kp_find_coordinator_response_desc, &resp);
}

/* JoinGroup and SyncGroup: READ on the group, a group id, coordinated. */
static int16_t
member_check(struct broker *b, struct req *r, struct kstr id)
{
	if (!authz_kstr(b, r, ACL_RES_GROUP, id, ACL_OP_READ))
		return KERR_GROUP_AUTHORIZATION_FAILED;
	if (id.len <= 0)
		return KERR_INVALID_GROUP_ID;
	return groups_coordinator(&b->groups, id.p, (size_t)id.len);
}

void
api_join_group(struct broker *b, struct req *r)
{
	struct kp_join_group_request *req = r->msg;
	struct kp_join_group_response resp;
	int16_t cerr = member_check(b, r, req->group_id);

	if (cerr != KERR_NONE) {
		kp_init(&kp_join_group_response_desc, &resp);
		resp.error_code = cerr;
		resp.member_id = req->member_id;
		resp.protocol_name = kstr_c(r->hdr.api_version >= 7 ? NULL : "");
		req_respond(r, &kp_join_group_response_desc, &resp);
		return;
	}
	group_join(group_get(&b->groups, req->group_id.p,
	    (size_t)req->group_id.len), r);
}

void
api_sync_group(struct broker *b, struct req *r)
{
	struct kp_sync_group_request *req = r->msg;
	struct group *g = group_find(&b->groups, req->group_id.p,
	    (size_t)(req->group_id.len > 0 ? req->group_id.len : 0));
	struct kp_sync_group_response resp;
	int16_t cerr = member_check(b, r, req->group_id);

	if (g != NULL && cerr == KERR_NONE) {
		group_sync(g, r);
		return;
	}
	kp_init(&kp_sync_group_response_desc, &resp);
	resp.error_code = cerr != KERR_NONE ? cerr : KERR_UNKNOWN_MEMBER_ID;
	req_respond(r, &kp_sync_group_response_desc, &resp);
}

void
api_heartbeat(struct broker *b, struct req *r)
{
	struct kp_heartbeat_request *req = r->msg;
	struct group *g = group_find(&b->groups, req->group_id.p,
	    (size_t)(req->group_id.len > 0 ? req->group_id.len : 0));
	struct kp_heartbeat_response resp;

	kp_init(&kp_heartbeat_response_desc, &resp);
	if (!authz_kstr(b, r, ACL_RES_GROUP, req->group_id, ACL_OP_READ))
		resp.error_code = KERR_GROUP_AUTHORIZATION_FAILED;
	else
		resp.error_code = groups_coordinator(&b->groups,
		    req->group_id.p, (size_t)(req->group_id.len > 0 ?
		    req->group_id.len : 0));
	if (resp.error_code == KERR_NONE)
		resp.error_code = g == NULL ? KERR_UNKNOWN_MEMBER_ID :
		    group_heartbeat(g, &req->member_id, req->generation_id);
	req_respond(r, &kp_heartbeat_response_desc, &resp);
}

void
api_leave_group(struct broker *b, struct req *r)
{
	const struct kp_struct *md =
	    &kp_leave_group_response_member_response_desc;
	struct kp_leave_group_request *req = r->msg;
	struct group *g = group_find(&b->groups, req->group_id.p,
	    (size_t)(req->group_id.len > 0 ? req->group_id.len : 0));
	struct kp_leave_group_response resp;

	kp_init(&kp_leave_group_response_desc, &resp);
	if (!authz_kstr(b, r, ACL_RES_GROUP, req->group_id, ACL_OP_READ)) {
		resp.error_code = KERR_GROUP_AUTHORIZATION_FAILED;
	} else if (r->hdr.api_version < 3) {
		resp.error_code = g == NULL ? KERR_UNKNOWN_MEMBER_ID :
		    group_leave(g, &req->member_id, NULL);
	} else {
		struct kp_leave_group_response_member_response *mr =
		    alloc_n(r, md, req->members.n);

		for (int32_t i = 0; i < req->members.n; i++) {
			const struct kp_leave_group_request_member_identity
			    *mi = &req->members.v[i];
			mr[i].member_id = mi->member_id;
			mr[i].group_instance_id = mi->group_instance_id;
			mr[i].error_code = g == NULL ? KERR_UNKNOWN_MEMBER_ID :
			    group_leave(g, &mi->member_id,
			    &mi->group_instance_id);
		}
		resp.members.v = mr;
		resp.members.n = req->members.n > 0 ? req->members.n : 0;
		if (g == NULL)
			resp.error_code = KERR_UNKNOWN_MEMBER_ID;
	}
	req_respond(r, &kp_leave_group_response_desc, &resp);
}

/* Kafka's generation checks for a commit; KERR_NONE when it may go on. */
static int16_t
commit_check(struct group *g, const struct kp_offset_commit_request *req)
{
	struct gmember *m;
	bool found = false;

	if (req->generation_id_or_member_epoch < 0 &&
	    g->state == GROUP_EMPTY)
		return KERR_NONE;
	if (g->state == GROUP_COMPLETING_REBALANCE)
		return KERR_REBALANCE_IN_PROGRESS;
	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && req->member_id.len >= 0 &&
		    strlen(m->id) == (size_t)req->member_id.len &&
		    memcmp(m->id, req->member_id.p, m->id[0] ? strlen(m->id) :
		    0) == 0)
			found = true;
	if (!found)
		return KERR_UNKNOWN_MEMBER_ID;
	if (req->generation_id_or_member_epoch != g->generation)
		return KERR_ILLEGAL_GENERATION;
	return KERR_NONE;
}

/*
 * A commit is acknowledged once the in-sync replicas of the group's
 * partition of __consumer_offsets have it (Kafka's acks=all for offsets),
 * within offsets.commit.timeout.ms (5 s, fixed here).
 */
#define COMMIT_TIMEOUT_MS	5000

struct commit_ctx {
	struct kp_offset_commit_response resp;
	struct hw_target		 t;
	int16_t				 err;
};

static void
commit_replicated(struct req *r, void *arg, int err)
{
	struct commit_ctx *cx = arg;
	int16_t e = cx->err;

	(void)err;
	/* What Kafka answers for a commit that did not replicate. */
	if (e == KERR_NOT_LEADER_OR_FOLLOWER)
		e = KERR_NOT_COORDINATOR;
	else if (e == KERR_NOT_ENOUGH_REPLICAS ||
	    e == KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND)
		e = KERR_COORDINATOR_NOT_AVAILABLE;
	for (int32_t i = 0; e != KERR_NONE && i < cx->resp.topics.n; i++)
		for (int32_t j = 0; j < cx->resp.topics.v[i].partitions.n; j++)
			if (cx->resp.topics.v[i].partitions.v[j].error_code ==
			    KERR_NONE)
				cx->resp.topics.v[i].partitions.v[j]
				    .error_code = e;
	req_respond(r, &kp_offset_commit_response_desc, &cx->resp);
}

static bool
commit_wait(struct broker *b, struct req *r,
    const struct kp_offset_commit_request *req,
    const struct kp_offset_commit_response *resp)
{
	struct topic *t = topics_find(&b->topics, GROUP_OFFSETS_TOPIC,
	    strlen(GROUP_OFFSETS_TOPIC));
	struct partition *p;
	struct commit_ctx *cx;

	if (t == NULL || (p = topic_partition(t, group_partition_for(
	    req->group_id.p, (size_t)req->group_id.len, t->npart))) == NULL ||
	    replica_hw(p) >= p->log->log_end)
		return false;
	cx = kp_arena_alloc(&r->arena, sizeof(*cx));
	memset(cx, 0, sizeof(*cx));
	cx->resp = *resp;
	cx->t.topic_id = t->id;
	cx->t.index = p->index;
	cx->t.epoch = p->leader_epoch;
	cx->t.target = p->log->log_end;
	cx->t.err = &cx->err;
	replica_wait_hw(b, r, &cx->t, 1, COMMIT_TIMEOUT_MS, commit_replicated,
	    cx);
	return true;
}

void
api_offset_commit(struct broker *b, struct req *r)
{
	const struct kp_struct *td =
	    &kp_offset_commit_response_offset_commit_response_topic_desc;
	const struct kp_struct *pd =
	    &kp_offset_commit_response_offset_commit_response_partition_desc;
	struct kp_offset_commit_request *req = r->msg;
	struct kp_offset_commit_response resp;
	struct kp_offset_commit_response_offset_commit_response_topic *tr;
	struct group *g = NULL;
	int16_t gerr = KERR_NONE;

	if (!authz_kstr(b, r, ACL_RES_GROUP, req->group_id, ACL_OP_READ))
		gerr = KERR_GROUP_AUTHORIZATION_FAILED;
	else if (req->group_id.len <= 0)
		gerr = KERR_INVALID_GROUP_ID;
	else if ((gerr = groups_coordinator(&b->groups, req->group_id.p,
	    (size_t)req->group_id.len)) != KERR_NONE)
		;
	else {
		g = group_find(&b->groups, req->group_id.p,
		    (size_t)req->group_id.len);
		if (g == NULL && req->generation_id_or_member_epoch < 0)
			g = group_get(&b->groups, req->group_id.p,
			    (size_t)req->group_id.len);
		if (g == NULL)
			gerr = KERR_ILLEGAL_GENERATION;
		else
			gerr = commit_check(g, req);
	}
	kp_init(&kp_offset_commit_response_desc, &resp);
	tr = alloc_n(r, td, req->topics.n);
	for (int32_t i = 0; i < req->topics.n; i++) {
		const struct kp_offset_commit_request_offset_commit_request_topic
		    *rt = &req->topics.v[i];
		struct kp_offset_commit_response_offset_commit_response_partition
		    *pr = alloc_n(r, pd, rt->partitions.n);
		struct topic *t = topics_find(&b->topics, rt->name.p,
		    (size_t)rt->name.len);
		int16_t terr = gerr;

		/* The group first, then READ on each topic (Kafka). */
		if (gerr != KERR_GROUP_AUTHORIZATION_FAILED &&
		    !authz_kstr(b, r, ACL_RES_TOPIC, rt->name, ACL_OP_READ))
			terr = KERR_TOPIC_AUTHORIZATION_FAILED;
		tr[i].name = rt->name;
		for (int32_t j = 0; j < rt->partitions.n; j++) {
			const struct kp_offset_commit_request_offset_commit_request_partition
			    *rp = &rt->partitions.v[j];

			pr[j].partition_index = rp->partition_index;
			if (terr != KERR_NONE)
				pr[j].error_code = terr;
			else if (t == NULL ||
			    topic_partition(t, rp->partition_index) == NULL)
				pr[j].error_code =
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (rp->committed_metadata.len >
			    OFFSET_METADATA_MAX)
				pr[j].error_code = KERR_OFFSET_METADATA_TOO_LARGE;
			else
				pr[j].error_code = group_offset_commit(g,
				    &rt->name, rp->partition_index,
				    rp->committed_offset,
				    rp->committed_leader_epoch,
				    &rp->committed_metadata);
		}
		tr[i].partitions.v = pr;
		tr[i].partitions.n = rt->partitions.n > 0 ? rt->partitions.n : 0;
	}
	resp.topics.v = tr;
	resp.topics.n = req->topics.n > 0 ? req->topics.n : 0;
	if (gerr == KERR_NONE && commit_wait(b, r, req, &resp))
		return;		/* answered once the ISR has the commit */
	req_respond(r, &kp_offset_commit_response_desc, &resp);
}

/*
 * Offsets of one group, in the v8+ shape; the v0-7 answer is built from it.
 * names NULL means every committed partition of the topics r may DESCRIBE;
 * listed partitions of other topics get TOPIC_AUTHORIZATION_FAILED, and
 * all of them gerr unless it is KERR_NONE.
 */
typedef struct kp_offset_fetch_response_offset_fetch_response_topics of_topic;
typedef struct kp_offset_fetch_response_offset_fetch_response_partitions
    of_part;

static void
offsets_of_group(struct broker *b, struct req *r, struct group *g,
    int16_t gerr,
    const struct kp_offset_fetch_request_offset_fetch_request_topics *names,
    int32_t nnames, of_topic **out, int32_t *nout)
{
	const struct kp_struct *td =
	    &kp_offset_fetch_response_offset_fetch_response_topics_desc;
	const struct kp_struct *pd =
	    &kp_offset_fetch_response_offset_fetch_response_partitions_desc;
	of_topic *tv;
	const char *last = NULL;
	bool ok = false;
	int32_t nt = 0;

	if (names != NULL) {
		tv = alloc_n(r, td, nnames);
		for (int32_t i = 0; i < nnames; i++) {
			int32_t np = names[i].partition_indexes.n;
			of_part *pv = alloc_n(r, pd, np);
			int16_t err = gerr;

			if (err == KERR_NONE && !authz_kstr(b, r, ACL_RES_TOPIC,
			    names[i].name, ACL_OP_DESCRIBE))
				err = KERR_TOPIC_AUTHORIZATION_FAILED;
			tv[i].name = names[i].name;
			for (int32_t j = 0; j < np; j++) {
				int32_t pi = names[i].partition_indexes.v[j];
				struct goffset *o = g == NULL ||
				    err != KERR_NONE ? NULL :
				    group_offset_find(g, names[i].name.p,
				    (size_t)names[i].name.len, pi);
				pv[j].error_code = err;
				pv[j].partition_index = pi;
				pv[j].committed_offset = o ? o->offset : -1;
				pv[j].committed_leader_epoch = o ?
				    o->leader_epoch : -1;
				pv[j].metadata = kstr_c(o && o->metadata ?
				    o->metadata : "");
			}
			tv[i].partitions.v = pv;
			tv[i].partitions.n = np > 0 ? np : 0;
		}
		*out = tv;
		*nout = nnames > 0 ? nnames : 0;
		return;
	}
	/* every committed partition: one topic entry per offset is fine */
	tv = alloc_n(r, td, g == NULL ? 0 : (int32_t)g->noffsets);
	for (size_t i = 0; g != NULL && i < g->noffsets; i++) {
		struct goffset *o = &g->offsets[i];
		of_part *pv;

		if (last == NULL || strcmp(last, o->topic) != 0) {
			last = o->topic;
			ok = authz_allowed(b, r, ACL_RES_TOPIC, o->topic,
			    strlen(o->topic), ACL_OP_DESCRIBE);
		}
		if (!ok)
			continue;
		pv = alloc_n(r, pd, 1);

		pv->partition_index = o->partition;
		pv->committed_offset = o->offset;
		pv->committed_leader_epoch = o->leader_epoch;
		pv->metadata = kstr_c(o->metadata ? o->metadata : "");
		tv[nt].name = kstr_c(o->topic);
		tv[nt].partitions.v = pv;
		tv[nt].partitions.n = 1;
		nt++;
	}
	*out = tv;
	*nout = nt;
}

static void
offset_fetch_legacy(struct broker *b, struct req *r)
{
	const struct kp_struct *td =
	    &kp_offset_fetch_response_offset_fetch_response_topic_desc;
	const struct kp_struct *pd =
	    &kp_offset_fetch_response_offset_fetch_response_partition_desc;
	struct kp_offset_fetch_request *req = r->msg;
	struct kp_offset_fetch_response resp;
	struct kp_offset_fetch_request_offset_fetch_request_topics *names = NULL;
	struct kp_offset_fetch_response_offset_fetch_response_topic *tv;
	struct group *g = group_find(&b->groups, req->group_id.p,
	    (size_t)(req->group_id.len > 0 ? req->group_id.len : 0));
	of_topic *ot;
	int32_t nt;
	int16_t cerr;

	if (!authz_kstr(b, r, ACL_RES_GROUP, req->group_id, ACL_OP_DESCRIBE))
		cerr = KERR_GROUP_AUTHORIZATION_FAILED;
	else
		cerr = groups_coordinator(&b->groups, req->group_id.p,
		    (size_t)(req->group_id.len > 0 ? req->group_id.len : 0));
	/* v0 and v1 answer an error in every partition asked for. */
	if (cerr != KERR_NONE && r->hdr.api_version >= 2) {
		kp_init(&kp_offset_fetch_response_desc, &resp);
		resp.error_code = cerr;
		req_respond(r, &kp_offset_fetch_response_desc, &resp);
		return;
	}
	/* The v0-7 request topic has the same shape as the v8 one. */
	if (req->topics.n >= 0) {
		names = kp_arena_alloc(&r->arena, (size_t)(req->topics.n + 1) *
		    sizeof(*names));
		for (int32_t i = 0; i < req->topics.n; i++) {
			names[i].name = req->topics.v[i].name;
			names[i].partition_indexes.v =
			    req->topics.v[i].partition_indexes.v;
			names[i].partition_indexes.n =
			    req->topics.v[i].partition_indexes.n;
		}
	}
	offsets_of_group(b, r, g, cerr, names, req->topics.n, &ot, &nt);
	kp_init(&kp_offset_fetch_response_desc, &resp);
	tv = alloc_n(r, td, nt);
	for (int32_t i = 0; i < nt; i++) {
		struct kp_offset_fetch_response_offset_fetch_response_partition
		    *pv = alloc_n(r, pd, ot[i].partitions.n);
		tv[i].name = ot[i].name;
		for (int32_t j = 0; j < ot[i].partitions.n; j++) {
			pv[j].partition_index =
			    ot[i].partitions.v[j].partition_index;
			pv[j].committed_offset =
			    ot[i].partitions.v[j].committed_offset;
			pv[j].committed_leader_epoch =
			    ot[i].partitions.v[j].committed_leader_epoch;
			pv[j].metadata = ot[i].partitions.v[j].metadata;
			pv[j].error_code = ot[i].partitions.v[j].error_code;
		}
		tv[i].partitions.v = pv;
		tv[i].partitions.n = ot[i].partitions.n;
	}
	resp.topics.v = tv;
	resp.topics.n = nt;
	req_respond(r, &kp_offset_fetch_response_desc, &resp);
}

void
api_offset_fetch(struct broker *b, struct req *r)
{
	const struct kp_struct *gd =
	    &kp_offset_fetch_response_offset_fetch_response_group_desc;
	struct kp_offset_fetch_request *req = r->msg;
	struct kp_offset_fetch_response resp;
	struct kp_offset_fetch_response_offset_fetch_response_group *gv;

	if (r->hdr.api_version < 8) {
		offset_fetch_legacy(b, r);
		return;
	}
	kp_init(&kp_offset_fetch_response_desc, &resp);
	gv = alloc_n(r, gd, req->groups.n);
	for (int32_t i = 0; i < req->groups.n; i++) {
		const struct kp_offset_fetch_request_offset_fetch_request_group
		    *rg = &req->groups.v[i];
		struct group *g = group_find(&b->groups, rg->group_id.p,
		    (size_t)(rg->group_id.len > 0 ? rg->group_id.len : 0));
		of_topic *ot;
		int32_t nt;

		if (!authz_kstr(b, r, ACL_RES_GROUP, rg->group_id,
		    ACL_OP_DESCRIBE))
			gv[i].error_code = KERR_GROUP_AUTHORIZATION_FAILED;
		else
			gv[i].error_code = groups_coordinator(&b->groups,
			    rg->group_id.p, (size_t)(rg->group_id.len > 0 ?
			    rg->group_id.len : 0));
		if (gv[i].error_code != KERR_NONE) {
			gv[i].group_id = rg->group_id;
			continue;
		}
		offsets_of_group(b, r, g, KERR_NONE, rg->topics.n >= 0 ?
		    rg->topics.v : NULL, rg->topics.n, &ot, &nt);
		gv[i].group_id = rg->group_id;
		gv[i].topics.v = ot;
		gv[i].topics.n = nt;
	}
	resp.groups.v = gv;
	resp.groups.n = req->groups.n > 0 ? req->groups.n : 0;
	req_respond(r, &kp_offset_fetch_response_desc, &resp);
}

void
api_offset_delete(struct broker *b, struct req *r)
{
	const struct kp_struct *td =
	    &kp_offset_delete_response_offset_delete_response_topic_desc;
	const struct kp_struct *pd =
	    &kp_offset_delete_response_offset_delete_response_partition_desc;
	struct kp_offset_delete_request *req = r->msg;
	struct kp_offset_delete_response resp;
	struct kp_offset_delete_response_offset_delete_response_topic *tv;
	struct group *g = group_find(&b->groups, req->group_id.p,
	    (size_t)(req->group_id.len > 0 ? req->group_id.len : 0));

	kp_init(&kp_offset_delete_response_desc, &resp);
	if (!authz_kstr(b, r, ACL_RES_GROUP, req->group_id, ACL_OP_DELETE))
		resp.error_code = KERR_GROUP_AUTHORIZATION_FAILED;
	else if (g == NULL)
		resp.error_code = KERR_GROUP_ID_NOT_FOUND;
	if (resp.error_code != KERR_NONE) {
		req_respond(r, &kp_offset_delete_response_desc, &resp);
		return;
	}
	tv = alloc_n(r, td, req->topics.n);
	for (int32_t i = 0; i < req->topics.n; i++) {
		const struct kp_offset_delete_request_offset_delete_request_topic
		    *rt = &req->topics.v[i];
		struct kp_offset_delete_response_offset_delete_response_partition
		    *pv = alloc_n(r, pd, rt->partitions.n);
		bool ok = authz_kstr(b, r, ACL_RES_TOPIC, rt->name,
		    ACL_OP_READ);

		tv[i].name = rt->name;
		for (int32_t j = 0; j < rt->partitions.n; j++) {
			pv[j].partition_index = rt->partitions.v[j].partition_index;
			if (!ok)
				pv[j].error_code =
				    KERR_TOPIC_AUTHORIZATION_FAILED;
			/* a live group may be consuming it */
			else if (g->state != GROUP_EMPTY)
				pv[j].error_code =
				    KERR_GROUP_SUBSCRIBED_TO_TOPIC;
			else
				pv[j].error_code = group_offset_delete(g,
				    &rt->name, pv[j].partition_index);
		}
		tv[i].partitions.v = pv;
		tv[i].partitions.n = rt->partitions.n > 0 ? rt->partitions.n : 0;
	}
	resp.topics.v = tv;
	resp.topics.n = req->topics.n > 0 ? req->topics.n : 0;
	req_respond(r, &kp_offset_delete_response_desc, &resp);
}

static void
describe_one(struct req *r, struct group *g,
    struct kp_describe_groups_response_described_group *dg)
{
	const struct kp_struct *md =
	    &kp_describe_groups_response_described_group_member_desc;
	struct kp_describe_groups_response_described_group_member *mv;
	struct gmember *m;
	int32_t n = 0;

	dg->error_code = KERR_NONE;
	if (g == NULL) {
		dg->group_state = kstr_c("Dead");
		return;
	}
	dg->group_state = kstr_c(group_state_name(g->state));
	dg->protocol_type = kstr_c(g->protocol_type ? g->protocol_type : "");
	dg->protocol_data = kstr_c(g->state == GROUP_STABLE ||
	    g->state == GROUP_COMPLETING_REBALANCE ? g->protocol : "");
	mv = alloc_n(r, md, (int32_t)g->nmembers);
	TAILQ_FOREACH(m, &g->members, entry) {
		if (m->pending)
			continue;
		mv[n].member_id = kstr_c(m->id);
		mv[n].group_instance_id = kstr_c(m->instance_id);
		mv[n].client_id = kstr_c(m->client_id);
		mv[n].client_host = kstr_c(m->client_host);
		for (size_t i = 0; i < m->nprotos && g->protocol; i++)
			if (strcmp(m->protos[i].name, g->protocol) == 0) {
				mv[n].member_metadata.p = m->protos[i].meta;
				mv[n].member_metadata.len =
				    (int32_t)m->protos[i].len;
			}
		mv[n].member_assignment.p = m->assignment;
		mv[n].member_assignment.len = (int32_t)m->alen;
		n++;
	}
	dg->members.v = mv;
	dg->members.n = n;
}

void
api_describe_groups(struct broker *b, struct req *r)
{
	const struct kp_struct *gd =
	    &kp_describe_groups_response_described_group_desc;
	struct kp_describe_groups_request *req = r->msg;
	struct kp_describe_groups_response resp;
	struct kp_describe_groups_response_described_group *gv;

	kp_init(&kp_describe_groups_response_desc, &resp);
	gv = alloc_n(r, gd, req->groups.n);
	for (int32_t i = 0; i < req->groups.n; i++) {
		struct kstr id = req->groups.v[i];
		gv[i].group_id = id;
		if (!authz_kstr(b, r, ACL_RES_GROUP, id, ACL_OP_DESCRIBE))
			gv[i].error_code = KERR_GROUP_AUTHORIZATION_FAILED;
		else
			describe_one(r, group_find(&b->groups, id.p,
			    (size_t)(id.len > 0 ? id.len : 0)), &gv[i]);
	}
	resp.groups.v = gv;
	resp.groups.n = req->groups.n > 0 ? req->groups.n : 0;
	req_respond(r, &kp_describe_groups_response_desc, &resp);
}

static bool
state_wanted(const struct kp_list_groups_request *req, const char *state)
{
	if (req->states_filter.n <= 0)
		return true;
	for (int32_t i = 0; i < req->states_filter.n; i++) {
		struct kstr f = req->states_filter.v[i];
		if (f.len >= 0 && strlen(state) == (size_t)f.len &&
		    strncasecmp(f.p, state, (size_t)f.len) == 0)
			return true;
	}
	return false;
}

void
api_list_groups(struct broker *b, struct req *r)
{
	const struct kp_struct *ld = &kp_list_groups_response_listed_group_desc;
	struct kp_list_groups_request *req = r->msg;
	struct kp_list_groups_response resp;
	struct kp_list_groups_response_listed_group *lv;
	struct group *g;
	int32_t n = 0, cnt = 0;
	/* Groups r may DESCRIBE, or all with DESCRIBE on the cluster. */
	bool all = authz_cluster(b, r, ACL_OP_DESCRIBE);

	TAILQ_FOREACH(g, &b->groups.list, entry)
		cnt++;
	kp_init(&kp_list_groups_response_desc, &resp);
	lv = alloc_n(r, ld, cnt);
	TAILQ_FOREACH(g, &b->groups.list, entry) {
		const char *st = group_state_name(g->state);
		if (!state_wanted(req, st) || (!all && !authz_allowed(b, r,
		    ACL_RES_GROUP, g->id, strlen(g->id), ACL_OP_DESCRIBE)))
			continue;
		lv[n].group_id = kstr_c(g->id);
		lv[n].protocol_type = kstr_c(g->protocol_type ?
		    g->protocol_type : "");
		lv[n].group_state = kstr_c(st);
		n++;
	}
	resp.groups.v = lv;
	resp.groups.n = n;
	req_respond(r, &kp_list_groups_response_desc, &resp);
}

void
api_delete_groups(struct broker *b, struct req *r)
{
	const struct kp_struct *dd =
	    &kp_delete_groups_response_deletable_group_result_desc;
	struct kp_delete_groups_request *req = r->msg;
	struct kp_delete_groups_response resp;
	struct kp_delete_groups_response_deletable_group_result *dv;

	kp_init(&kp_delete_groups_response_desc, &resp);
	dv = alloc_n(r, dd, req->groups_names.n);
	for (int32_t i = 0; i < req->groups_names.n; i++) {
		struct kstr id = req->groups_names.v[i];
		struct group *g = group_find(&b->groups, id.p,
		    (size_t)(id.len > 0 ? id.len : 0));

		dv[i].group_id = id;
		if (!authz_kstr(b, r, ACL_RES_GROUP, id, ACL_OP_DELETE))
			dv[i].error_code = KERR_GROUP_AUTHORIZATION_FAILED;
		else if (g == NULL)
			dv[i].error_code = KERR_GROUP_ID_NOT_FOUND;
		else if (g->state != GROUP_EMPTY)
			dv[i].error_code = KERR_NON_EMPTY_GROUP;
		else {
			/* id views the group's name: copy before freeing */
			char *copy = kp_arena_alloc(&r->arena,
			    (size_t)id.len + 1);
			memcpy(copy, id.p, (size_t)id.len);
			dv[i].group_id.p = copy;
			group_delete(g);
			dv[i].error_code = KERR_NONE;
		}
	}
	resp.results.v = dv;
	resp.results.n = req->groups_names.n > 0 ? req->groups_names.n : 0;
	req_respond(r, &kp_delete_groups_response_desc, &resp);
}
