/*
 * The controller's APIs on its listener (the same port as Raft):
 *
 *   DescribeQuorum          any node
 *   BrokerRegistration      leader: RegisterBrokerRecord (fenced; the broker
 *                           epoch is the record's offset)
 *   BrokerHeartbeat         leader: keeps the session; UnfenceBrokerRecord
 *                           for a fenced broker that does not ask to stay
 *                           fenced, FenceBrokerRecord when it asks;
 *                           want_shut_down: controlled shutdown (leadership
 *                           moves first, then should_shut_down)
 *   CreateTopics            leader: TopicRecord, PartitionRecords (placed by
 *                           ctl_partition.c), ConfigRecords
 *   AlterPartition, ElectLeaders, AlterPartitionReassignments,
 *   ListPartitionReassignments: ctl_api_partition.c
 *   DeleteTopics            leader: RemoveTopicRecord
 *   CreatePartitions        leader: PartitionRecords
 *
 * A change is answered once its entry is applied to the image; a node that
 * is not the leader, or stops leading first, answers NOT_CONTROLLER.  The
 * leader fences a broker whose last heartbeat is older than
 * broker.session.timeout.ms (sessions start when a node becomes leader);
 * a fenced broker's partitions change in the same entry.
 */
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "xmalloc.h"
#include "ctl.h"
#include "ctl_partition.h"
#include "meta_image.h"
#include "raft.h"
#include "raft_io_tcp.h"

#define CTL_TOPIC_MAX	249
#define CTL_CFG_TOPIC	2

/* ---- waiting answers ---- */

void
ctl_wait_add(struct ctl *c, uint64_t token, int64_t offset,
    struct wbuf *ok, struct wbuf *fail)
{
	struct ctl_wait *wt;

	c->waits = xreallocarray(c->waits, c->nwaits + 1, sizeof(*c->waits));
	wt = &c->waits[c->nwaits++];
	wt->token = token;
	wt->offset = offset;
	wt->ok = *ok;
	wt->fail = *fail;
	memset(ok, 0, sizeof(*ok));
	memset(fail, 0, sizeof(*fail));
}

/*
 * Propose recs (the records a request makes) and answer the request once
 * they are applied: with resp as it is, or, if leadership is lost before,
 * with resp after not_controller(resp).  No records: resp now.  *offp gets
 * the entry's offset when the answer is deferred.
 */
int
ctl_answer_on_commit(struct ctl *c, const struct kp_req_hdr *h,
    struct wbuf *w, uint64_t token, const struct wbuf *recs, void *resp,
    void (*not_controller)(void *), int64_t *offp)
{
	struct wbuf ok = { 0 }, fail = { 0 };
	int64_t off;

	if (recs->len == 0)
		return ctl_encode_resp(w, h, resp);
	if ((off = ctl_part_propose(c, recs)) < 0) {
		not_controller(resp);
		return ctl_encode_resp(w, h, resp);
	}
	/* Strings may point into the image: encode both answers now. */
	if (ctl_encode_resp(&ok, h, resp) != 0) {
		wbuf_clear(&ok);
		return -1;
	}
	not_controller(resp);
	if (ctl_encode_resp(&fail, h, resp) != 0) {
		wbuf_clear(&ok);
		wbuf_clear(&fail);
		return -1;
	}
	ctl_wait_add(c, token, off, &ok, &fail);
	if (offp != NULL)
		*offp = off;
	return RIO_DEFER;
}

/* Answer the waits that committed (all with fail when lost). */
static void
ctl_waits_flush(struct ctl *c, bool lost)
{
	size_t i, o = 0;

	for (i = 0; i < c->nwaits; i++) {
		struct ctl_wait *wt = &c->waits[i];

		if (!lost && wt->offset >= c->img->end_offset) {
			c->waits[o++] = *wt;
			continue;
		}
		rio_answer(c->io, wt->token, lost ? &wt->fail : &wt->ok);
		wbuf_clear(&wt->ok);
		wbuf_clear(&wt->fail);
	}
	c->nwaits = o;
}

static void
ctl_pending_topics_flush(struct ctl *c, bool all)
{
	size_t i, o = 0;

	for (i = 0; i < c->npending_topics; i++) {
		if (!all && c->pending_topic_offs[i] >= c->img->end_offset) {
			c->pending_topics[o] = c->pending_topics[i];
			c->pending_topic_offs[o++] = c->pending_topic_offs[i];
			continue;
		}
		free(c->pending_topics[i]);
	}
	c->npending_topics = o;
}

static bool
ctl_topic_pending(const struct ctl *c, const struct kstr *name)
{
	size_t i;

	for (i = 0; i < c->npending_topics; i++)
		if (strlen(c->pending_topics[i]) == (size_t)name->len &&
		    memcmp(c->pending_topics[i], name->p,
		    (size_t)name->len) == 0)
			return true;
	return false;
}

void
ctl_api_applied(struct ctl *c)
{
	ctl_waits_flush(c, false);
	ctl_pending_topics_flush(c, false);
}

/* ---- broker sessions ---- */

static struct ctl_session *
ctl_session(struct ctl *c, int32_t id, int64_t now)
{
	size_t i;

	for (i = 0; i < c->nsess; i++)
		if (c->sess[i].id == id)
			return &c->sess[i];
	c->sess = xreallocarray(c->sess, c->nsess + 1, sizeof(*c->sess));
	c->sess[c->nsess].id = id;
	c->sess[c->nsess].last_ms = now;
	c->sess[c->nsess].pending = -1;
	c->sess[c->nsess].meta_offset = -1;
	return &c->sess[c->nsess++];
}

static bool
ctl_session_busy(const struct ctl *c, const struct ctl_session *s)
{
	return s->pending >= 0 && s->pending >= c->img->end_offset;
}

static int64_t
ctl_propose_fencing(struct ctl *c, const struct mi_broker *b, bool fence)
{
	struct wbuf w = { 0 };
	int64_t off = -1;
	int rc;

	if (fence) {
		struct kp_fence_broker_record f = { b->id, b->epoch };

		rc = meta_record_put(&w, MI_REC_FENCE_BROKER, 0,
		    &kp_fence_broker_record_desc, &f);
		ctl_part_broker_gone(c, &w, b->id);
	} else {
		struct kp_unfence_broker_record u = { b->id, b->epoch };

		rc = meta_record_put(&w, MI_REC_UNFENCE_BROKER, 0,
		    &kp_unfence_broker_record_desc, &u);
		ctl_part_broker_back(c, &w, b->id);
	}
	if (rc == 0)
		off = ctl_part_propose(c, &w);
	wbuf_clear(&w);
	return off;
}

/* Controlled shutdown: the broker leaves the ISRs and hands leadership on
   (BrokerRegistrationChangeRecord in_controlled_shutdown the first time). */
static int64_t
ctl_propose_shutdown(struct ctl *c, const struct mi_broker *b)
{
	struct kp_broker_registration_change_record r;
	struct wbuf w = { 0 };
	int64_t off = -1;

	if (!b->shutdown) {
		kp_init(&kp_broker_registration_change_record_desc, &r);
		r.broker_id = b->id;
		r.broker_epoch = b->epoch;
		r.in_controlled_shutdown = 1;
		if (meta_record_put(&w, MI_REC_BROKER_REG_CHANGE, 1,
		    &kp_broker_registration_change_record_desc, &r) != 0)
			goto out;
	}
	ctl_part_broker_gone(c, &w, b->id);
	if (w.len > 0)
		off = ctl_part_propose(c, &w);
out:
	wbuf_clear(&w);
	return off;
}

void
ctl_api_tick(struct ctl *c, int64_t now)
{
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	struct ctl_session *s;
	size_t i;

	if (leader != c->leading) {
		c->leading = leader;
		free(c->sess);
		c->sess = NULL;
		c->nsess = 0;
		ctl_part_reset(c);
		c->rebalance_ms = 0;
		if (!leader) {
			ctl_waits_flush(c, true);
			ctl_pending_topics_flush(c, true);
		} else
			log_info("controller %d: leading epoch %d; broker "
			    "sessions start now", c->cfg->node_id,
			    raft_epoch(c->raft));
	}
	if (!leader)
		return;
	for (i = 0; i < c->img->nbrokers; i++) {
		const struct mi_broker *b = &c->img->brokers[i];

		s = ctl_session(c, b->id, now);
		if (b->fenced || ctl_session_busy(c, s) || !ctl_part_ready(c) ||
		    now - s->last_ms <= c->cfg->broker_session_timeout_ms)
			continue;
		log_info("controller %d: broker %d sent no heartbeat for %lld "
		    "ms: fencing it", c->cfg->node_id, b->id,
		    (long long)(now - s->last_ms));
		s->pending = ctl_propose_fencing(c, b, true);
	}
	ctl_part_tick(c, now);
}

void
ctl_api_free(struct ctl *c)
{
	size_t i;

	for (i = 0; i < c->nwaits; i++) {
		wbuf_clear(&c->waits[i].ok);
		wbuf_clear(&c->waits[i].fail);
	}
	free(c->waits);
	free(c->sess);
	ctl_pending_topics_flush(c, true);
	free(c->pending_topics);
	free(c->pending_topic_offs);
	ctl_part_reset(c);
}

/* ---- helpers ---- */

static bool
ctl_version_ok(const struct kp_req_hdr *h)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);

	return km != NULL && h->api_version >= km->vmin &&
	    h->api_version <= km->vmax;
}

int
ctl_encode_resp(struct wbuf *w, const struct kp_req_hdr *h, const void *r)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);

	return kp_encode(w, km->resp, h->api_version,
	    kp_flexible(km, h->api_version), r) == 0 && w->err == 0 ? 0 : -1;
}

static struct kstr
ctl_kstr(const char *s)
{
	struct kstr k = { s, s == NULL ? -1 : (int32_t)strlen(s) };

	return k;
}

void
ctl_new_uuid(struct kuuid *u)
{
	if (getentropy(u->b, sizeof(u->b)) != 0) {
		uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
		size_t i;

		for (i = 0; i < 16; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			u->b[i] = (uint8_t)(x >> 56);
		}
	}
	u->b[6] = (uint8_t)((u->b[6] & 0x0f) | 0x40);
	u->b[8] = (uint8_t)((u->b[8] & 0x3f) | 0x80);
}

/* ---- DescribeQuorum ---- */

static int
ctl_describe_quorum(struct ctl *c, const struct kp_req_hdr *h,
    struct wbuf *w)
{
	const struct kp_msg *km = kp_msg_get(KP_API_DESCRIBE_QUORUM);
	struct kp_describe_quorum_response r;
	struct kp_describe_quorum_response_topic_data t;
	struct kp_describe_quorum_response_partition_data p;
	struct kp_describe_quorum_response_replica_state rs[RAFT_MAX_VOTERS];
	struct kp_describe_quorum_response_replica_state *obs;
	struct raft_replica reps[RAFT_MAX_VOTERS];
	size_t n, i, no;
	int64_t now = ctl_now_ms();
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	int rc;

	kp_init(km->resp, &r);
	kp_init(&kp_describe_quorum_response_topic_data_desc, &t);
	kp_init(&kp_describe_quorum_response_partition_data_desc, &p);
	n = raft_replicas(c->raft, reps, RAFT_MAX_VOTERS);
	for (i = 0; i < n; i++) {
		kp_init(&kp_describe_quorum_response_replica_state_desc,
		    &rs[i]);
		rs[i].replica_id = reps[i].id;
		rs[i].log_end_offset = reps[i].end_offset;
		rs[i].last_fetch_timestamp = reps[i].last_fetch_ms < 0 ? -1 :
		    (int64_t)time(NULL) * 1000 - (now - reps[i].last_fetch_ms);
		rs[i].last_caught_up_timestamp = -1;
	}
	p.error_code = leader ? 0 : KERR_NOT_LEADER_OR_FOLLOWER;
	p.leader_id = raft_leader(c->raft);
	p.leader_epoch = raft_epoch(c->raft);
	p.high_watermark = raft_hw(c->raft);
	p.current_voters.v = rs;
	p.current_voters.n = (int32_t)n;
	/* Observers: the brokers with a live session here (the leader), at
	   the metadata offset of their last heartbeat. */
	obs = xcalloc(c->nsess + 1, sizeof(*obs));
	for (i = 0, no = 0; leader && i < c->nsess; i++) {
		const struct ctl_session *s = &c->sess[i];

		/* heard from since this node leads, and recently */
		if (s->meta_offset < 0 ||
		    now - s->last_ms > c->cfg->broker_session_timeout_ms)
			continue;
		kp_init(&kp_describe_quorum_response_replica_state_desc,
		    &obs[no]);
		obs[no].replica_id = s->id;
		obs[no].log_end_offset = s->meta_offset;
		obs[no].last_fetch_timestamp = (int64_t)time(NULL) * 1000 -
		    (now - s->last_ms);
		obs[no++].last_caught_up_timestamp = -1;
	}
	p.observers.v = obs;
	p.observers.n = (int32_t)no;
	t.topic_name = ctl_kstr(RIO_TOPIC);
	t.partitions.v = &p;
	t.partitions.n = 1;
	r.topics.v = &t;
	r.topics.n = 1;
	rc = ctl_encode_resp(w, h, &r);
	free(obs);
	return rc;
}

/* ---- brokers ---- */

static int
ctl_broker_registration(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_broker_registration_request q;
	struct kp_broker_registration_response resp;
	struct kp_register_broker_record rec;
	struct kp_register_broker_record_broker_endpoint *eps = NULL;
	const struct mi_broker *old;
	struct wbuf rw = { 0 }, ok = { 0 }, fail = { 0 };
	struct ctl_session *s;
	int64_t now = ctl_now_ms(), epoch, off;
	int32_t i;
	int rc = -1;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	resp.broker_epoch = -1;
	if (raft_role(c->raft) != RAFT_LEADER) {
		resp.error_code = KERR_NOT_CONTROLLER;
		return ctl_encode_resp(w, h, &resp);
	}
	if (c->cfg->cluster_id[0] != '\0' && (q.cluster_id.len < 0 ||
	    strlen(c->cfg->cluster_id) != (size_t)q.cluster_id.len ||
	    memcmp(c->cfg->cluster_id, q.cluster_id.p,
	    (size_t)q.cluster_id.len) != 0)) {
		resp.error_code = KERR_INCONSISTENT_CLUSTER_ID;
		return ctl_encode_resp(w, h, &resp);
	}
	s = ctl_session(c, q.broker_id, now);
	old = meta_image_broker(c->img, q.broker_id);
	if (old != NULL && !old->fenced &&
	    memcmp(old->incarnation.b, q.incarnation_id.b, 16) != 0 &&
	    now - s->last_ms <= c->cfg->broker_session_timeout_ms) {
		resp.error_code = KERR_DUPLICATE_BROKER_REGISTRATION;
		return ctl_encode_resp(w, h, &resp);
	}
	/* The broker epoch is the offset of its registration record. */
	epoch = raft_log_end(c->raft);
	kp_init(&kp_register_broker_record_desc, &rec);
	rec.broker_id = q.broker_id;
	rec.incarnation_id = q.incarnation_id;
	rec.broker_epoch = epoch;
	rec.rack = q.rack;
	rec.fenced = true;
	if (q.listeners.n > 0) {
		eps = xcalloc((size_t)q.listeners.n, sizeof(*eps));
		for (i = 0; i < q.listeners.n; i++) {
			eps[i].name = q.listeners.v[i].name;
			eps[i].host = q.listeners.v[i].host;
			eps[i].port = q.listeners.v[i].port;
			eps[i].security_protocol =
			    q.listeners.v[i].security_protocol;
		}
	}
	rec.end_points.v = eps;
	rec.end_points.n = q.listeners.n > 0 ? q.listeners.n : 0;
	if (meta_record_put(&rw, MI_REC_REGISTER_BROKER, 1,
	    &kp_register_broker_record_desc, &rec) != 0 ||
	    (off = ctl_part_propose(c, &rw)) != epoch) {
		resp.error_code = KERR_NOT_CONTROLLER;
		rc = ctl_encode_resp(w, h, &resp);
		goto out;
	}
	log_info("controller %d: broker %d registers (epoch %lld)",
	    c->cfg->node_id, q.broker_id, (long long)epoch);
	s->last_ms = now;
	s->pending = off;
	resp.broker_epoch = epoch;
	if (ctl_encode_resp(&ok, h, &resp) != 0)
		goto out;
	resp.broker_epoch = -1;
	resp.error_code = KERR_NOT_CONTROLLER;
	if (ctl_encode_resp(&fail, h, &resp) != 0)
		goto out;
	ctl_wait_add(c, token, off, &ok, &fail);
	rc = RIO_DEFER;
out:
	free(eps);
	wbuf_clear(&rw);
	wbuf_clear(&ok);
	wbuf_clear(&fail);
	return rc;
}

/*
 * Controlled shutdown (want_shut_down from an unfenced broker): first move
 * leadership and ISR membership off it, answering should_shut_down false;
 * once it leads nothing, fence it and answer should_shut_down true.
 */
static int
ctl_heartbeat_shutdown(struct ctl *c, const struct kp_req_hdr *h,
    const struct mi_broker *b, struct ctl_session *s, struct wbuf *w,
    uint64_t token)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_broker_heartbeat_response resp;
	struct wbuf ok = { 0 }, fail = { 0 };
	size_t led;
	int64_t off;

	kp_init(km->resp, &resp);
	resp.is_caught_up = true;
	resp.is_fenced = false;
	resp.should_shut_down = false;
	if (ctl_session_busy(c, s) || !ctl_part_ready(c))
		return ctl_encode_resp(w, h, &resp);
	led = ctl_part_led(c, b->id);
	if (!b->shutdown || led > 0) {
		if ((off = ctl_propose_shutdown(c, b)) >= 0) {
			s->pending = off;
			log_info("controller %d: broker %d shuts down: moving "
			    "leadership of %zu partitions", c->cfg->node_id,
			    b->id, led);
		}
		return ctl_encode_resp(w, h, &resp);
	}
	if ((off = ctl_propose_fencing(c, b, true)) < 0) {
		resp.error_code = KERR_NOT_CONTROLLER;
		return ctl_encode_resp(w, h, &resp);
	}
	log_info("controller %d: broker %d leads nothing: it may shut down",
	    c->cfg->node_id, b->id);
	s->pending = off;
	resp.should_shut_down = true;
	resp.is_fenced = true;
	if (ctl_encode_resp(&ok, h, &resp) != 0)
		goto fail;
	resp.should_shut_down = false;
	resp.is_fenced = false;
	resp.error_code = KERR_NOT_CONTROLLER;
	if (ctl_encode_resp(&fail, h, &resp) != 0)
		goto fail;
	ctl_wait_add(c, token, off, &ok, &fail);
	return RIO_DEFER;
fail:
	wbuf_clear(&ok);
	wbuf_clear(&fail);
	return -1;
}

/*
 * A request from broker id in its registration epoch: NONE with *out its
 * image entry, or the error to answer (NOT_CONTROLLER on a follower).
 */
static int16_t
ctl_broker_check(struct ctl *c, int32_t id, int64_t epoch,
    const struct mi_broker **out)
{
	if (raft_role(c->raft) != RAFT_LEADER)
		return KERR_NOT_CONTROLLER;
	if ((*out = meta_image_broker(c->img, id)) == NULL)
		return KERR_BROKER_ID_NOT_REGISTERED;
	if ((*out)->epoch != epoch)
		return KERR_STALE_BROKER_EPOCH;
	return KERR_NONE;
}

static int
ctl_broker_heartbeat(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_broker_heartbeat_request q;
	struct kp_broker_heartbeat_response resp;
	const struct mi_broker *b;
	struct ctl_session *s;
	struct wbuf ok = { 0 }, fail = { 0 };
	int64_t now = ctl_now_ms(), off;
	bool fence;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	resp.is_fenced = true;
	if ((resp.error_code = ctl_broker_check(c, q.broker_id,
	    q.broker_epoch, &b)) != KERR_NONE)
		return ctl_encode_resp(w, h, &resp);
	s = ctl_session(c, q.broker_id, now);
	s->last_ms = now;
	s->meta_offset = q.current_metadata_offset;
	resp.is_caught_up = true;
	if (q.want_shut_down && !b->fenced)
		return ctl_heartbeat_shutdown(c, h, b, s, w, token);
	resp.should_shut_down = q.want_shut_down;
	fence = q.want_fence || q.want_shut_down;
	resp.is_fenced = b->fenced;
	/* A new leader decides once it has applied the earlier epochs. */
	if (b->fenced == fence || ctl_session_busy(c, s) ||
	    !ctl_part_ready(c))
		return ctl_encode_resp(w, h, &resp);
	if ((off = ctl_propose_fencing(c, b, fence)) < 0) {
		resp.error_code = KERR_NOT_CONTROLLER;
		return ctl_encode_resp(w, h, &resp);
	}
	log_info("controller %d: broker %d %s", c->cfg->node_id, b->id,
	    fence ? "asks to be fenced" : "is alive: unfencing it");
	s->pending = off;
	resp.is_fenced = fence;
	if (ctl_encode_resp(&ok, h, &resp) != 0)
		goto fail;
	resp.is_fenced = b->fenced;
	resp.error_code = KERR_NOT_CONTROLLER;
	if (ctl_encode_resp(&fail, h, &resp) != 0)
		goto fail;
	ctl_wait_add(c, token, off, &ok, &fail);
	return RIO_DEFER;
fail:
	wbuf_clear(&ok);
	wbuf_clear(&fail);
	return -1;
}

/* ---- topics ---- */

static bool
ctl_topic_name_ok(const struct kstr *n)
{
	int32_t i;

	if (n->len <= 0 || n->len > CTL_TOPIC_MAX ||
	    (n->len == 1 && n->p[0] == '.') ||
	    (n->len == 2 && n->p[0] == '.' && n->p[1] == '.'))
		return false;
	for (i = 0; i < n->len; i++) {
		char ch = n->p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return false;
	}
	return true;
}

#define CTL_MAX_NEW_PARTS	100000	/* partitions per request and topic */
#define CTL_MSG_LEN		200

/* The replicas of np new partitions numbered from first: the manual
   assignment checked, or placed; 0 or a Kafka error with msg set. */
static int16_t
ctl_replicas(struct ctl *c, int32_t np, int32_t rf, int32_t first,
    const struct kp_create_topics_request_creatable_replica_assignment *ta,
    const struct kp_create_partitions_request_create_partitions_assignment
    *pa, int32_t nassign, int32_t **out, char *msg, size_t msglen)
{
	int32_t *v, k, n, i;
	int16_t err = 0;

	*out = NULL;
	if (np <= 0 || np > CTL_MAX_NEW_PARTS) {
		snprintf(msg, msglen, "Number of partitions must be 1..%d.",
		    CTL_MAX_NEW_PARTS);
		return KERR_INVALID_PARTITIONS;
	}
	if (nassign <= 0) {
		if (rf <= 0 || rf > CP_MAX_RF) {
			snprintf(msg, msglen, "Replication factor must be "
			    "larger than 0 and at most %d.", CP_MAX_RF);
			return KERR_INVALID_REPLICATION_FACTOR;
		}
		v = xcalloc((size_t)np * (size_t)rf, sizeof(*v));
		if ((err = ctl_part_place(c, np, rf, first, v, msg,
		    msglen)) != 0) {
			free(v);
			return err;
		}
		*out = v;
		return 0;
	}
	if (nassign != np) {
		snprintf(msg, msglen, "%d partitions but %d assignments.", np,
		    nassign);
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	if (rf <= 0 || rf > CP_MAX_RF) {
		snprintf(msg, msglen, "Partition %d has %d replicas.", first,
		    rf);
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	v = xcalloc((size_t)np * (size_t)rf, sizeof(*v));
	for (k = 0; k < np && err == 0; k++) {
		const int32_t *ids = ta != NULL ? ta[k].broker_ids.v :
		    pa[k].broker_ids.v;

		n = ta != NULL ? ta[k].broker_ids.n : pa[k].broker_ids.n;
		if (ta != NULL && ta[k].partition_index != k) {
			snprintf(msg, msglen, "Assignments must be for "
			    "partitions 0..%d in order.", np - 1);
			err = KERR_INVALID_REPLICA_ASSIGNMENT;
			break;
		}
		if ((err = ctl_part_check(c, first + k, ids, n, rf, msg,
		    msglen)) != 0)
			break;
		for (i = 0; i < n; i++)
			v[(size_t)k * (size_t)rf + (size_t)i] = ids[i];
	}
	if (err != 0) {
		free(v);
		return err;
	}
	*out = v;
	return 0;
}

static struct kstr
ctl_msg(struct kp_arena *a, const char *msg)
{
	size_t n = strlen(msg);
	char *p = kp_arena_alloc(a, n + 1);

	memcpy(p, msg, n + 1);
	return (struct kstr){ p, (int32_t)n };
}

static void
ctl_pending_topic_add(struct ctl *c, const struct kstr *name)
{
	c->pending_topics = xreallocarray(c->pending_topics,
	    c->npending_topics + 1, sizeof(*c->pending_topics));
	c->pending_topic_offs = xreallocarray(c->pending_topic_offs,
	    c->npending_topics + 1, sizeof(*c->pending_topic_offs));
	c->pending_topics[c->npending_topics] = xstrndup(name->p,
	    (size_t)name->len);
	c->pending_topic_offs[c->npending_topics++] = INT64_MAX;
}

static void
ctl_create_topics_lost(void *arg)
{
	struct kp_create_topics_response *r = arg;

	for (int32_t i = 0; i < r->topics.n; i++)
		if (r->topics.v[i].error_code == KERR_NONE) {
			r->topics.v[i].error_code = KERR_NOT_CONTROLLER;
			memset(&r->topics.v[i].topic_id, 0,
			    sizeof(r->topics.v[i].topic_id));
		}
}

static int
ctl_create_topics(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_create_topics_request q;
	struct kp_create_topics_response resp;
	struct kp_create_topics_response_creatable_topic_result *res;
	struct wbuf recs = { 0 };
	int32_t i, k, np, rf, j;
	size_t npend0 = c->npending_topics, pi;
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	int64_t off = -1;
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	res = kp_arena_alloc(a, ((size_t)q.topics.n + 1) * sizeof(*res));
	resp.topics.v = res;
	resp.topics.n = q.topics.n;
	for (i = 0; i < q.topics.n; i++) {
		const struct kp_create_topics_request_creatable_topic *t =
		    &q.topics.v[i];
		struct kp_topic_record tr;
		struct kuuid id;
		char msg[CTL_MSG_LEN] = "";
		int32_t *reps = NULL;

		kp_init(&kp_create_topics_response_creatable_topic_result_desc,
		    &res[i]);
		res[i].name = t->name;
		res[i].num_partitions = -1;
		res[i].replication_factor = -1;
		res[i].configs.n = -1;
		np = t->num_partitions == -1 ? c->cfg->num_partitions :
		    t->num_partitions;
		rf = t->replication_factor == -1 ?
		    (int32_t)c->cfg->default_replication_factor :
		    t->replication_factor;
		if (t->assignments.n > 0) {
			np = t->assignments.n;
			rf = t->assignments.v[0].broker_ids.n;
		}
		if (!leader)
			res[i].error_code = KERR_NOT_CONTROLLER;
		else if (!ctl_topic_name_ok(&t->name))
			res[i].error_code = KERR_INVALID_TOPIC_EXCEPTION;
		else if (meta_image_topic(c->img, t->name.p,
		    (size_t)t->name.len) != NULL || ctl_topic_pending(c,
		    &t->name))
			res[i].error_code = KERR_TOPIC_ALREADY_EXISTS;
		else if (t->assignments.n > 0 && (t->num_partitions != -1 ||
		    t->replication_factor != -1)) {
			res[i].error_code = KERR_INVALID_REQUEST;
			snprintf(msg, sizeof(msg), "Both numPartitions or "
			    "replicationFactor and replicasAssignments were "
			    "set. Both cannot be used at the same time.");
		} else
			res[i].error_code = ctl_replicas(c, np, rf, 0,
			    t->assignments.v, NULL, t->assignments.n, &reps,
			    msg, sizeof(msg));
		if (res[i].error_code != 0) {
			if (msg[0] != '\0')
				res[i].error_message = ctl_msg(a, msg);
			free(reps);
			continue;
		}
		res[i].num_partitions = np;
		res[i].replication_factor = (int16_t)rf;
		if (q.validate_only) {
			free(reps);
			continue;
		}
		ctl_new_uuid(&id);
		res[i].topic_id = id;
		kp_init(&kp_topic_record_desc, &tr);
		tr.name = t->name;
		tr.topic_id = id;
		meta_record_put(&recs, MI_REC_TOPIC, 0, &kp_topic_record_desc,
		    &tr);
		for (k = 0; k < np; k++)
			ctl_part_record(c, &recs, &id, k,
			    &reps[(size_t)k * (size_t)rf], rf);
		free(reps);
		for (j = 0; j < t->configs.n; j++) {
			struct kp_config_record cr;

			kp_init(&kp_config_record_desc, &cr);
			cr.resource_type = CTL_CFG_TOPIC;
			cr.resource_name = t->name;
			cr.name = t->configs.v[j].name;
			cr.value = t->configs.v[j].value;
			meta_record_put(&recs, MI_REC_CONFIG, 0,
			    &kp_config_record_desc, &cr);
		}
		ctl_pending_topic_add(c, &t->name);
		log_info("controller %d: creating topic %.*s (%d partitions, "
		    "replication factor %d)", c->cfg->node_id,
		    (int)t->name.len, t->name.p, np, rf);
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_create_topics_lost, &off);
	if (rc == RIO_DEFER) {
		for (pi = npend0; pi < c->npending_topics; pi++)
			c->pending_topic_offs[pi] = off;
		npend0 = c->npending_topics;
	}
	/* Names of a batch that was not proposed are not pending. */
	while (c->npending_topics > npend0)
		free(c->pending_topics[--c->npending_topics]);
	wbuf_clear(&recs);
	return rc;
}

static void
ctl_delete_topics_lost(void *arg)
{
	struct kp_delete_topics_response *r = arg;

	for (int32_t i = 0; i < r->responses.n; i++)
		if (r->responses.v[i].error_code == KERR_NONE)
			r->responses.v[i].error_code = KERR_NOT_CONTROLLER;
}

static int
ctl_delete_topics(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_delete_topics_request q;
	struct kp_delete_topics_response resp;
	struct kp_delete_topics_response_deletable_topic_result *res;
	struct wbuf recs = { 0 };
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	int32_t i, n;
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	n = h->api_version >= 6 ? q.topics.n : q.topic_names.n;
	if (n < 0)
		n = 0;
	res = kp_arena_alloc(a, ((size_t)n + 1) * sizeof(*res));
	resp.responses.v = res;
	resp.responses.n = n;
	for (i = 0; i < n; i++) {
		const struct mi_topic *t;
		struct kp_remove_topic_record rr;
		struct kstr name = h->api_version >= 6 ? q.topics.v[i].name :
		    q.topic_names.v[i];

		kp_init(&kp_delete_topics_response_deletable_topic_result_desc,
		    &res[i]);
		res[i].name = name;
		if (name.len >= 0)
			t = meta_image_topic(c->img, name.p, (size_t)name.len);
		else
			t = meta_image_topic_by_id(c->img, &q.topics.v[i].topic_id);
		if (!leader) {
			res[i].error_code = KERR_NOT_CONTROLLER;
			continue;
		}
		if (t == NULL) {
			res[i].error_code = name.len >= 0 ?
			    KERR_UNKNOWN_TOPIC_OR_PARTITION :
			    KERR_UNKNOWN_TOPIC_ID;
			continue;
		}
		res[i].name = ctl_kstr(t->name);
		res[i].topic_id = t->id;
		rr.topic_id = t->id;
		meta_record_put(&recs, MI_REC_REMOVE_TOPIC, 0,
		    &kp_remove_topic_record_desc, &rr);
		log_info("controller %d: deleting topic %s", c->cfg->node_id,
		    t->name);
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_delete_topics_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

static void
ctl_create_partitions_lost(void *arg)
{
	struct kp_create_partitions_response *r = arg;

	for (int32_t i = 0; i < r->results.n; i++)
		if (r->results.v[i].error_code == KERR_NONE)
			r->results.v[i].error_code = KERR_NOT_CONTROLLER;
}

static int
ctl_create_partitions(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_create_partitions_request q;
	struct kp_create_partitions_response resp;
	struct kp_create_partitions_response_create_partitions_topic_result
	    *res;
	struct wbuf recs = { 0 };
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	int32_t i, k, rf, have;
	int rc = -1;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	res = kp_arena_alloc(a, ((size_t)q.topics.n + 1) * sizeof(*res));
	resp.results.v = res;
	resp.results.n = q.topics.n;
	for (i = 0; i < q.topics.n; i++) {
		const struct kp_create_partitions_request_create_partitions_topic
		    *t = &q.topics.v[i];
		const struct mi_topic *mt;
		char msg[CTL_MSG_LEN] = "";
		int32_t *reps = NULL, nassign = t->assignments.n;

		kp_init(&kp_create_partitions_response_create_partitions_topic_result_desc,
		    &res[i]);
		res[i].name = t->name;
		mt = t->name.len > 0 ? meta_image_topic(c->img, t->name.p,
		    (size_t)t->name.len) : NULL;
		if (!leader) {
			res[i].error_code = KERR_NOT_CONTROLLER;
			continue;
		}
		if (mt == NULL) {
			res[i].error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		have = (int32_t)mt->nparts;
		rf = mt->nparts > 0 ? (int32_t)(mt->parts[0].replicas.n -
		    mt->parts[0].removing.n) : 1;
		if (t->count <= have) {
			res[i].error_code = KERR_INVALID_PARTITIONS;
			res[i].error_message = ctl_kstr("The topic already has "
			    "that many partitions or more");
			continue;
		}
		res[i].error_code = ctl_replicas(c, t->count - have, rf, have,
		    NULL, t->assignments.v, nassign, &reps, msg, sizeof(msg));
		if (res[i].error_code != 0 && msg[0] != '\0')
			res[i].error_message = ctl_msg(a, msg);
		if (res[i].error_code != 0 || q.validate_only) {
			free(reps);
			continue;
		}
		for (k = have; k < t->count; k++)
			ctl_part_record(c, &recs, &mt->id, k,
			    &reps[(size_t)(k - have) * (size_t)rf], rf);
		free(reps);
		log_info("controller %d: topic %s grows to %d partitions",
		    c->cfg->node_id, mt->name, t->count);
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_create_partitions_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

/* Producer ids go to brokers in blocks of this many. */
#define CTL_PID_BLOCK	1000

static void
ctl_allocate_pids_lost(void *resp)
{
	struct kp_allocate_producer_ids_response *x = resp;

	x->error_code = KERR_NOT_CONTROLLER;
	x->producer_id_start = -1;
	x->producer_id_len = 0;
}

/*
 * AllocateProducerIds: the next block of producer ids for a registered
 * broker, answered once its ProducerIdsRecord is committed.  Blocks
 * proposed but not yet committed are skipped by the next request.
 */
static int
ctl_allocate_producer_ids(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_allocate_producer_ids_request q;
	struct kp_allocate_producer_ids_response resp;
	struct kp_producer_ids_record pr;
	const struct mi_broker *b;
	struct wbuf recs = { 0 };
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	resp.producer_id_start = -1;
	if ((resp.error_code = ctl_broker_check(c, q.broker_id,
	    q.broker_epoch, &b)) != KERR_NONE)
		return ctl_encode_resp(w, h, &resp);
	if (c->next_pid < c->img->next_producer_id)
		c->next_pid = c->img->next_producer_id;
	resp.producer_id_start = c->next_pid;
	resp.producer_id_len = CTL_PID_BLOCK;
	c->next_pid += CTL_PID_BLOCK;
	kp_init(&kp_producer_ids_record_desc, &pr);
	pr.broker_id = q.broker_id;
	pr.broker_epoch = q.broker_epoch;
	pr.next_producer_id = c->next_pid;
	meta_record_put(&recs, MI_REC_PRODUCER_IDS, 0,
	    &kp_producer_ids_record_desc, &pr);
	log_info("controller %d: producer ids %" PRId64 "-%" PRId64
	    " for broker %d", c->cfg->node_id, resp.producer_id_start,
	    c->next_pid - 1, q.broker_id);
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_allocate_pids_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

int
ctl_api(const struct kp_req_hdr *h, struct rd *r, struct wbuf *w,
    uint64_t token, void *arg)
{
	struct ctl *c = arg;
	struct kp_arena a = { 0 };
	int rc;

	if (!ctl_version_ok(h))
		return -1;
	switch (h->api_key) {
	case KP_API_DESCRIBE_QUORUM:
		rc = ctl_describe_quorum(c, h, w);
		break;
	case KP_API_BROKER_REGISTRATION:
		rc = ctl_broker_registration(c, h, r, w, token, &a);
		break;
	case KP_API_BROKER_HEARTBEAT:
		rc = ctl_broker_heartbeat(c, h, r, w, token, &a);
		break;
	case KP_API_CREATE_TOPICS:
		rc = ctl_create_topics(c, h, r, w, token, &a);
		break;
	case KP_API_DELETE_TOPICS:
		rc = ctl_delete_topics(c, h, r, w, token, &a);
		break;
	case KP_API_CREATE_PARTITIONS:
		rc = ctl_create_partitions(c, h, r, w, token, &a);
		break;
	case KP_API_INCREMENTAL_ALTER_CONFIGS:
		rc = ctl_alter_configs(c, h, r, w, token, &a);
		break;
	case KP_API_ALTER_PARTITION:
		rc = ctl_alter_partition(c, h, r, w, token, &a);
		break;
	case KP_API_ELECT_LEADERS:
		rc = ctl_elect_leaders(c, h, r, w, token, &a);
		break;
	case KP_API_ALTER_PARTITION_REASSIGNMENTS:
		rc = ctl_alter_reassignments(c, h, r, w, token, &a);
		break;
	case KP_API_LIST_PARTITION_REASSIGNMENTS:
		rc = ctl_list_reassignments(c, h, r, w, &a);
		break;
	case KP_API_ALLOCATE_PRODUCER_IDS:
		rc = ctl_allocate_producer_ids(c, h, r, w, token, &a);
		break;
	case KP_API_CREATE_ACLS:
		rc = ctl_create_acls(c, h, r, w, token, &a);
		break;
	case KP_API_DELETE_ACLS:
		rc = ctl_delete_acls(c, h, r, w, token, &a);
		break;
	case KP_API_ALTER_USER_SCRAM_CREDENTIALS:
		rc = ctl_alter_scram(c, h, r, w, token, &a);
		break;
	default:
		rc = -1;
		break;
	}
	kp_arena_clear(&a);
	return rc;
}
