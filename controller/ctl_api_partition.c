/*
 * Partition placement and leadership on the controller leader (the
 * decisions are in ctl_partition.c):
 *
 *   CreateTopics, CreatePartitions   placement (ctl_part_place) and checks
 *                                    of manual assignments
 *   fencing, controlled shutdown     PartitionChangeRecords in the same
 *                                    entry as the broker's record
 *   AlterPartition (56)              the leader's ISR changes
 *   ElectLeaders (43)                preferred and unclean elections
 *   AlterPartitionReassignments (45), ListPartitionReassignments (46)
 *   auto.leader.rebalance.enable     preferred elections every
 *                                    leader.imbalance.check.interval.seconds
 *
 * Decisions are made on the committed image plus what this leader has
 * proposed since (ctl->spec), so two changes in flight do not undo each
 * other.  Answers wait until their entry is applied.
 */
#include <stdio.h>
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

#define CTL_UNCLEAN		"unclean.leader.election.enable"
#define CTL_REBALANCE		"auto.leader.rebalance.enable"
#define CTL_REBALANCE_SECS	"leader.imbalance.check.interval.seconds"
#define CTL_REBALANCE_DEF_S	300
#define CTL_MAX_CHANGES		1000	/* partition changes per entry */
#define CTL_ELECT_PREFERRED	0
#define CTL_ELECT_UNCLEAN	1

/* ---- the speculative image ---- */

const struct meta_image *
ctl_part_image(struct ctl *c)
{
	if (c->spec != NULL && c->spec_until < c->img->end_offset)
		ctl_part_reset(c);
	return c->spec != NULL ? c->spec : c->img;
}

void
ctl_part_reset(struct ctl *c)
{
	meta_image_free(c->spec);
	c->spec = NULL;
	c->spec_until = -1;
}

bool
ctl_part_ready(struct ctl *c)
{
	return raft_role(c->raft) == RAFT_LEADER &&
	    c->img->last_epoch == raft_epoch(c->raft);
}

int64_t
ctl_part_propose(struct ctl *c, const struct wbuf *w)
{
	int64_t off;

	(void)ctl_part_image(c);
	if ((off = ctl_propose(c, w)) < 0)
		return off;
	if (c->spec == NULL)
		c->spec = meta_image_dup(c->img);
	if (meta_image_apply(c->spec, w->data, w->len) != 0)
		log_warnx("controller %d: cannot apply my own proposal at "
		    "offset %lld", c->cfg->node_id, (long long)off);
	c->spec_until = off;
	return off;
}

static uint32_t
ctl_rand(void)
{
	uint32_t x;

	if (getentropy(&x, sizeof(x)) != 0)
		x = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return x;
}

static bool
ctl_unclean(const struct meta_image *img, const char *topic)
{
	return cp_config_bool(img, topic, CTL_UNCLEAN, false);
}

/* ---- placement ---- */

int16_t
ctl_part_place(struct ctl *c, int32_t nparts, int32_t rf, int32_t first,
    int32_t *out, char *msg, size_t msglen)
{
	const struct meta_image *img = ctl_part_image(c);
	struct cp_broker *bs = xcalloc(img->nbrokers + 1, sizeof(*bs));
	size_t i, n = 0;
	int16_t err = 0;

	for (i = 0; i < img->nbrokers; i++)
		if (!img->brokers[i].fenced && !img->brokers[i].shutdown) {
			bs[n].id = img->brokers[i].id;
			bs[n++].rack = img->brokers[i].rack;
		}
	if (rf <= 0 || rf > CP_MAX_RF) {
		err = KERR_INVALID_REPLICATION_FACTOR;
		snprintf(msg, msglen, "Replication factor must be larger "
		    "than 0 and at most %d.", CP_MAX_RF);
	} else if ((size_t)rf > n) {
		err = KERR_INVALID_REPLICATION_FACTOR;
		snprintf(msg, msglen, "Replication factor: %d larger than "
		    "available brokers: %zu.", rf, n);
	} else if (cp_assign(bs, n, nparts, rf, first, ctl_rand(),
	    ctl_rand(), out) != 0) {
		err = KERR_INVALID_REPLICATION_FACTOR;
		snprintf(msg, msglen, "Cannot place %d replicas.", rf);
	}
	free(bs);
	return err;
}

int16_t
ctl_part_check(struct ctl *c, int32_t part, const int32_t *reps, int32_t n,
    int32_t rf, char *msg, size_t msglen)
{
	const struct meta_image *img = ctl_part_image(c);
	struct cp_view v = { img, -1, -1 };
	int32_t i, j;
	bool any = false;

	if (n <= 0 || n > CP_MAX_RF) {
		snprintf(msg, msglen, "Partition %d has %d replicas.", part,
		    n);
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	if (n != rf) {
		snprintf(msg, msglen, "All partitions should have the same "
		    "number of replicas (partition %d has %d, not %d).", part,
		    n, rf);
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	for (i = 0; i < n; i++) {
		if (meta_image_broker(img, reps[i]) == NULL) {
			snprintf(msg, msglen, "The manual partition assignment "
			    "includes broker %d, but no such broker is "
			    "registered.", reps[i]);
			return KERR_INVALID_REPLICA_ASSIGNMENT;
		}
		for (j = 0; j < i; j++)
			if (reps[j] == reps[i]) {
				snprintf(msg, msglen, "The manual partition "
				    "assignment includes broker %d more than "
				    "once.", reps[i]);
				return KERR_INVALID_REPLICA_ASSIGNMENT;
			}
		if (cp_active(&v, reps[i]))
			any = true;
	}
	if (!any) {
		snprintf(msg, msglen, "All brokers specified in the partition "
		    "assignment for partition %d are fenced or in controlled "
		    "shutdown.", part);
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	return 0;
}

int
ctl_part_record(struct ctl *c, struct wbuf *w, const struct kuuid *topic,
    int32_t part, const int32_t *reps, int32_t n)
{
	const struct meta_image *img = ctl_part_image(c);
	struct cp_view v = { img, -1, -1 };
	struct kp_partition_record pr;
	int32_t r[CP_MAX_RF], isr[CP_MAX_RF], ni = 0, i;

	if (n <= 0 || n > CP_MAX_RF)
		return -1;
	memcpy(r, reps, (size_t)n * sizeof(*r));
	for (i = 0; i < n; i++)
		if (cp_active(&v, reps[i]))
			isr[ni++] = reps[i];
	if (ni == 0)
		return -1;
	kp_init(&kp_partition_record_desc, &pr);
	pr.partition_id = part;
	pr.topic_id = *topic;
	pr.replicas.v = r;
	pr.replicas.n = n;
	pr.isr.v = isr;
	pr.isr.n = ni;
	pr.removing_replicas.n = 0;
	pr.adding_replicas.n = 0;
	pr.leader = isr[0];
	pr.leader_epoch = 0;
	pr.partition_epoch = 0;
	return meta_record_put(w, MI_REC_PARTITION, 0,
	    &kp_partition_record_desc, &pr);
}

/* ---- brokers going and coming ---- */

static void
ctl_part_sweep(struct ctl *c, struct wbuf *w, int32_t gone, int32_t back)
{
	const struct meta_image *img = ctl_part_image(c);
	struct cp_view v = { img, gone, back };
	struct cp_change ch;
	size_t i, j, n = 0;

	for (i = 0; i < img->ntopics; i++) {
		const struct mi_topic *t = &img->topics[i];
		bool unclean = ctl_unclean(img, t->name);

		for (j = 0; j < t->nparts; j++) {
			const struct mi_partition *p = &t->parts[j];
			bool any = gone >= 0 ?
			    cp_remove_broker(&v, p, gone, unclean, &ch) :
			    cp_elect(&v, p, unclean, &ch);

			if (!any)
				continue;
			cp_change_put(w, &t->id, p->id, &ch);
			n++;
		}
	}
	if (n > 0)
		log_info("controller %d: broker %d %s: %zu partition "
		    "changes", c->cfg->node_id, gone >= 0 ? gone : back,
		    gone >= 0 ? "goes away" : "is back", n);
}

void
ctl_part_broker_gone(struct ctl *c, struct wbuf *w, int32_t id)
{
	ctl_part_sweep(c, w, id, -1);
}

void
ctl_part_broker_back(struct ctl *c, struct wbuf *w, int32_t id)
{
	ctl_part_sweep(c, w, -1, id);
}

size_t
ctl_part_led(struct ctl *c, int32_t id)
{
	const struct meta_image *img = ctl_part_image(c);
	size_t i, j, n = 0;

	for (i = 0; i < img->ntopics; i++)
		for (j = 0; j < img->topics[i].nparts; j++)
			if (img->topics[i].parts[j].leader == id)
				n++;
	return n;
}

/* Preferred leaders back where possible; unclean elections for topics
   that allow them.  Proposes one entry of at most CTL_MAX_CHANGES. */
void
ctl_part_tick(struct ctl *c, int64_t now)
{
	const struct meta_image *img;
	struct cp_view v;
	struct cp_change ch;
	struct wbuf w = { 0 };
	int64_t every;
	size_t i, j, n = 0;
	bool rebalance;

	if (now - c->elect_ms < 1000 || !ctl_part_ready(c))
		return;
	c->elect_ms = now;
	img = ctl_part_image(c);
	v.img = img;
	v.gone = v.back = -1;
	every = cp_config_int(img, NULL, CTL_REBALANCE_SECS,
	    CTL_REBALANCE_DEF_S) * 1000;
	if (c->rebalance_ms == 0)
		c->rebalance_ms = now;
	rebalance = cp_config_bool(img, NULL, CTL_REBALANCE, true) &&
	    every > 0 && now - c->rebalance_ms >= every;
	if (rebalance)
		c->rebalance_ms = now;
	for (i = 0; i < img->ntopics && n < CTL_MAX_CHANGES; i++) {
		const struct mi_topic *t = &img->topics[i];
		bool unclean = ctl_unclean(img, t->name);

		for (j = 0; j < t->nparts && n < CTL_MAX_CHANGES; j++) {
			const struct mi_partition *p = &t->parts[j];
			bool any = false;

			if (p->leader == CP_NO_LEADER)
				any = cp_elect(&v, p, unclean, &ch);
			else if (rebalance && p->adding.n == 0)
				any = cp_elect_preferred(&v, p, &ch) == 0;
			if (!any)
				continue;
			cp_change_put(&w, &t->id, p->id, &ch);
			n++;
		}
	}
	if (n > 0) {
		log_info("controller %d: %zu leader elections (%s)",
		    c->cfg->node_id, n, rebalance ? "preferred leaders" :
		    "leaderless partitions");
		ctl_part_propose(c, &w);
	}
	wbuf_clear(&w);
}

/* ---- AlterPartition ---- */

static struct mi_topic *
ctl_topic_of(const struct meta_image *img, const struct kstr *name,
    const struct kuuid *id, bool by_id)
{
	if (by_id)
		return (struct mi_topic *)(uintptr_t)meta_image_topic_by_id(img,
		    id);
	if (name->len <= 0)
		return NULL;
	return (struct mi_topic *)(uintptr_t)meta_image_topic(img, name->p,
	    (size_t)name->len);
}

static struct mi_partition *
ctl_part_of(const struct mi_topic *t, int32_t id)
{
	size_t i;

	for (i = 0; t != NULL && i < t->nparts; i++)
		if (t->parts[i].id == id)
			return &t->parts[i];
	return NULL;
}

static int32_t *
ctl_copy_ints(struct kp_arena *a, const int32_t *v, size_t n)
{
	int32_t *d = kp_arena_alloc(a, (n + 1) * sizeof(*d));

	if (n > 0)
		memcpy(d, v, n * sizeof(*d));
	return d;
}

static void
ctl_alter_partition_lost(void *arg)
{
	struct kp_alter_partition_response *r = arg;

	kp_init(&kp_alter_partition_response_desc, r);
	r->error_code = KERR_NOT_CONTROLLER;
}

int
ctl_alter_partition(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_alter_partition_request q;
	struct kp_alter_partition_response resp;
	struct kp_alter_partition_response_topic_data *rt;
	const struct meta_image *img;
	const struct mi_broker *b;
	struct cp_view v;
	struct wbuf recs = { 0 };
	bool by_id = h->api_version >= 2;
	int32_t i, k, j, n = 0;
	int rc = -1;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	if (!ctl_part_ready(c)) {
		resp.error_code = KERR_NOT_CONTROLLER;
		return ctl_encode_resp(w, h, &resp);
	}
	img = ctl_part_image(c);
	v.img = img;
	v.gone = v.back = -1;
	b = meta_image_broker(img, q.broker_id);
	if (b == NULL || (q.broker_epoch != -1 && b->epoch != q.broker_epoch)) {
		resp.error_code = KERR_STALE_BROKER_EPOCH;
		return ctl_encode_resp(w, h, &resp);
	}
	rt = kp_arena_alloc(a, ((size_t)q.topics.n + 1) * sizeof(*rt));
	resp.topics.v = rt;
	resp.topics.n = q.topics.n;
	for (i = 0; i < q.topics.n; i++) {
		const struct kp_alter_partition_request_topic_data *t =
		    &q.topics.v[i];
		const struct mi_topic *mt = ctl_topic_of(img, &t->topic_name,
		    &t->topic_id, by_id);
		struct kp_alter_partition_response_partition_data *rp;

		kp_init(&kp_alter_partition_response_topic_data_desc, &rt[i]);
		rt[i].topic_name = t->topic_name;
		rt[i].topic_id = t->topic_id;
		rp = kp_arena_alloc(a, ((size_t)t->partitions.n + 1) *
		    sizeof(*rp));
		rt[i].partitions.v = rp;
		rt[i].partitions.n = t->partitions.n;
		for (k = 0; k < t->partitions.n; k++) {
			const struct kp_alter_partition_request_partition_data
			    *pd = &t->partitions.v[k];
			const struct mi_partition *p = ctl_part_of(mt,
			    pd->partition_index);
			struct mi_partition after;
			struct cp_change ch;
			int32_t isr[CP_MAX_RF];
			int64_t eps[CP_MAX_RF];
			int32_t nisr;

			kp_init(&kp_alter_partition_response_partition_data_desc,
			    &rp[k]);
			rp[k].partition_index = pd->partition_index;
			if (mt == NULL) {
				rp[k].error_code = by_id ?
				    KERR_UNKNOWN_TOPIC_ID :
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			if (p == NULL) {
				rp[k].error_code =
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			nisr = h->api_version >= 3 ?
			    pd->new_isr_with_epochs.n : pd->new_isr.n;
			if (nisr < 0 || nisr > CP_MAX_RF) {
				rp[k].error_code = KERR_INVALID_REQUEST;
				continue;
			}
			for (j = 0; j < nisr; j++) {
				if (h->api_version >= 3) {
					isr[j] = pd->new_isr_with_epochs.v[j]
					    .broker_id;
					eps[j] = pd->new_isr_with_epochs.v[j]
					    .broker_epoch;
				} else {
					isr[j] = pd->new_isr.v[j];
					eps[j] = -1;
				}
			}
			rp[k].error_code = cp_alter_isr(&v, p, q.broker_id,
			    pd->leader_epoch, pd->partition_epoch, isr, eps,
			    nisr, pd->leader_recovery_state, h->api_version,
			    &ch);
			if (rp[k].error_code != 0) {
				log_info("controller %d: AlterPartition from "
				    "broker %d for %s-%d: %s", c->cfg->node_id,
				    q.broker_id, mt->name, p->id,
				    kerr_name(rp[k].error_code));
				continue;
			}
			if (cp_change_empty(&ch))
				after = *p;
			else {
				cp_change_put(&recs, &mt->id, p->id, &ch);
				cp_change_result(p, &ch, &after);
				n++;
			}
			rp[k].leader_id = after.leader;
			rp[k].leader_epoch = after.leader_epoch;
			rp[k].isr.v = ctl_copy_ints(a, after.isr.v,
			    after.isr.n);
			rp[k].isr.n = (int32_t)after.isr.n;
			rp[k].leader_recovery_state = after.recovery;
			rp[k].partition_epoch = after.partition_epoch;
		}
	}
	if (n > 0)
		log_info("controller %d: AlterPartition from broker %d: %d "
		    "partition changes", c->cfg->node_id, q.broker_id, n);
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_alter_partition_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

/* ---- ElectLeaders ---- */

static void
ctl_elect_one(const struct cp_view *v, const struct mi_topic *t,
    const struct mi_partition *p, int8_t type,
    struct kp_elect_leaders_response_partition_result *r, struct wbuf *recs,
    size_t *n)
{
	struct cp_change ch;

	r->partition_id = p->id;
	r->error_code = type == CTL_ELECT_UNCLEAN ?
	    cp_elect_unclean(v, p, &ch) : cp_elect_preferred(v, p, &ch);
	if (r->error_code == 0) {
		cp_change_put(recs, &t->id, p->id, &ch);
		(*n)++;
	}
}

static void
ctl_elect_leaders_lost(void *arg)
{
	struct kp_elect_leaders_response *r = arg;

	for (int32_t i = 0; i < r->replica_election_results.n; i++)
		for (int32_t j = 0;
		    j < r->replica_election_results.v[i].partition_result.n;
		    j++)
			if (r->replica_election_results.v[i].partition_result
			    .v[j].error_code == KERR_NONE)
				r->replica_election_results.v[i]
				    .partition_result.v[j].error_code =
				    KERR_NOT_CONTROLLER;
	r->error_code = KERR_NOT_CONTROLLER;
}

int
ctl_elect_leaders(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_elect_leaders_request q;
	struct kp_elect_leaders_response resp;
	struct kp_elect_leaders_response_replica_election_result *res;
	struct kp_elect_leaders_response_partition_result *pr;
	const struct meta_image *img;
	struct cp_view v;
	struct wbuf recs = { 0 };
	int8_t type;
	bool all;
	size_t i, nt, n = 0;
	int32_t k, np;
	int rc = -1;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	if (!ctl_part_ready(c)) {
		resp.error_code = KERR_NOT_CONTROLLER;
		resp.replica_election_results.n = 0;
		return ctl_encode_resp(w, h, &resp);
	}
	type = h->api_version >= 1 ? q.election_type : CTL_ELECT_PREFERRED;
	if (type != CTL_ELECT_PREFERRED && type != CTL_ELECT_UNCLEAN) {
		resp.error_code = KERR_INVALID_REQUEST;
		return ctl_encode_resp(w, h, &resp);
	}
	img = ctl_part_image(c);
	v.img = img;
	v.gone = v.back = -1;
	all = q.topic_partitions.n < 0;
	nt = all ? img->ntopics : (size_t)q.topic_partitions.n;
	res = kp_arena_alloc(a, (nt + 1) * sizeof(*res));
	resp.replica_election_results.v = res;
	resp.replica_election_results.n = 0;
	for (i = 0; i < nt; i++) {
		const struct mi_topic *t;
		struct kp_elect_leaders_response_replica_election_result *r =
		    &res[resp.replica_election_results.n];
		struct kstr name;

		kp_init(&kp_elect_leaders_response_replica_election_result_desc,
		    r);
		if (all) {
			t = &img->topics[i];
			name.p = t->name;
			name.len = (int32_t)strlen(t->name);
			np = (int32_t)t->nparts;
		} else {
			name = q.topic_partitions.v[i].topic;
			t = ctl_topic_of(img, &name, NULL, false);
			np = q.topic_partitions.v[i].partitions.n;
		}
		r->topic = name;
		pr = kp_arena_alloc(a, ((size_t)(np > 0 ? np : 0) + 1) *
		    sizeof(*pr));
		r->partition_result.v = pr;
		r->partition_result.n = 0;
		for (k = 0; k < np; k++) {
			struct kp_elect_leaders_response_partition_result *x =
			    &pr[r->partition_result.n];
			const struct mi_partition *p;

			kp_init(&kp_elect_leaders_response_partition_result_desc,
			    x);
			if (all)
				p = &t->parts[k];
			else {
				x->partition_id =
				    q.topic_partitions.v[i].partitions.v[k];
				p = ctl_part_of(t, x->partition_id);
			}
			if (p == NULL)
				x->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			else
				ctl_elect_one(&v, t, p, type, x, &recs, &n);
			/* Asked for everything: only what was tried. */
			if (all && x->error_code == KERR_ELECTION_NOT_NEEDED)
				continue;
			r->partition_result.n++;
		}
		if (!all || r->partition_result.n > 0)
			resp.replica_election_results.n++;
	}
	if (n > 0)
		log_info("controller %d: ElectLeaders (%s): %zu elections",
		    c->cfg->node_id, type == CTL_ELECT_UNCLEAN ? "unclean" :
		    "preferred", n);
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_elect_leaders_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

/* ---- reassignments ---- */

static void
ctl_reassignments_lost(void *arg)
{
	struct kp_alter_partition_reassignments_response *r = arg;

	kp_init(&kp_alter_partition_reassignments_response_desc, r);
	r->error_code = KERR_NOT_CONTROLLER;
}

int
ctl_alter_reassignments(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_alter_partition_reassignments_request q;
	struct kp_alter_partition_reassignments_response resp;
	struct kp_alter_partition_reassignments_response_reassignable_topic_response
	    *rt;
	const struct meta_image *img;
	struct cp_view v;
	struct wbuf recs = { 0 };
	int32_t i, k;
	size_t n = 0;
	int rc = -1;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	if (!ctl_part_ready(c)) {
		resp.error_code = KERR_NOT_CONTROLLER;
		return ctl_encode_resp(w, h, &resp);
	}
	img = ctl_part_image(c);
	v.img = img;
	v.gone = v.back = -1;
	rt = kp_arena_alloc(a, ((size_t)q.topics.n + 1) * sizeof(*rt));
	resp.responses.v = rt;
	resp.responses.n = q.topics.n;
	for (i = 0; i < q.topics.n; i++) {
		const struct kp_alter_partition_reassignments_request_reassignable_topic
		    *t = &q.topics.v[i];
		const struct mi_topic *mt = ctl_topic_of(img, &t->name, NULL,
		    false);
		struct kp_alter_partition_reassignments_response_reassignable_partition_response
		    *rp;

		kp_init(&kp_alter_partition_reassignments_response_reassignable_topic_response_desc,
		    &rt[i]);
		rt[i].name = t->name;
		rp = kp_arena_alloc(a, ((size_t)t->partitions.n + 1) *
		    sizeof(*rp));
		rt[i].partitions.v = rp;
		rt[i].partitions.n = t->partitions.n;
		for (k = 0; k < t->partitions.n; k++) {
			const struct kp_alter_partition_reassignments_request_reassignable_partition
			    *pd = &t->partitions.v[k];
			const struct mi_partition *p = ctl_part_of(mt,
			    pd->partition_index);
			struct cp_change ch;

			kp_init(&kp_alter_partition_reassignments_response_reassignable_partition_response_desc,
			    &rp[k]);
			rp[k].partition_index = pd->partition_index;
			if (p == NULL) {
				rp[k].error_code =
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			rp[k].error_code = cp_reassign(&v, p,
			    pd->replicas.n >= 0 ? pd->replicas.v : NULL,
			    pd->replicas.n, &ch);
			if (rp[k].error_code != 0 || cp_change_empty(&ch))
				continue;
			cp_change_put(&recs, &mt->id, p->id, &ch);
			n++;
			log_info("controller %d: %s reassignment of %s-%d",
			    c->cfg->node_id, pd->replicas.n >= 0 ? "starting" :
			    "cancelling", mt->name, p->id);
		}
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_reassignments_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}

static bool
ctl_list_wanted(const struct kp_list_partition_reassignments_request *q,
    const struct mi_topic *t, int32_t part)
{
	int32_t i, k;

	if (q->topics.n < 0)
		return true;
	for (i = 0; i < q->topics.n; i++) {
		const struct kstr *n = &q->topics.v[i].name;

		if (n->len < 0 || strlen(t->name) != (size_t)n->len ||
		    memcmp(t->name, n->p, (size_t)n->len) != 0)
			continue;
		for (k = 0; k < q->topics.v[i].partition_indexes.n; k++)
			if (q->topics.v[i].partition_indexes.v[k] == part)
				return true;
	}
	return false;
}

int
ctl_list_reassignments(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_list_partition_reassignments_request q;
	struct kp_list_partition_reassignments_response resp;
	struct kp_list_partition_reassignments_response_ongoing_topic_reassignment
	    *rt;
	const struct meta_image *img;
	size_t i, j;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	if (!ctl_part_ready(c)) {
		resp.error_code = KERR_NOT_CONTROLLER;
		return ctl_encode_resp(w, h, &resp);
	}
	img = c->img;	/* what committed */
	rt = kp_arena_alloc(a, (img->ntopics + 1) * sizeof(*rt));
	resp.topics.v = rt;
	resp.topics.n = 0;
	for (i = 0; i < img->ntopics; i++) {
		const struct mi_topic *t = &img->topics[i];
		struct kp_list_partition_reassignments_response_ongoing_topic_reassignment
		    *r = &rt[resp.topics.n];
		struct kp_list_partition_reassignments_response_ongoing_partition_reassignment
		    *rp;

		kp_init(&kp_list_partition_reassignments_response_ongoing_topic_reassignment_desc,
		    r);
		r->name.p = t->name;
		r->name.len = (int32_t)strlen(t->name);
		rp = kp_arena_alloc(a, (t->nparts + 1) * sizeof(*rp));
		r->partitions.v = rp;
		r->partitions.n = 0;
		for (j = 0; j < t->nparts; j++) {
			const struct mi_partition *p = &t->parts[j];
			struct kp_list_partition_reassignments_response_ongoing_partition_reassignment
			    *x = &rp[r->partitions.n];

			if ((p->adding.n == 0 && p->removing.n == 0) ||
			    !ctl_list_wanted(&q, t, p->id))
				continue;
			kp_init(&kp_list_partition_reassignments_response_ongoing_partition_reassignment_desc,
			    x);
			x->partition_index = p->id;
			x->replicas.v = p->replicas.v;
			x->replicas.n = (int32_t)p->replicas.n;
			x->adding_replicas.v = p->adding.v;
			x->adding_replicas.n = (int32_t)p->adding.n;
			x->removing_replicas.v = p->removing.v;
			x->removing_replicas.n = (int32_t)p->removing.n;
			r->partitions.n++;
		}
		if (r->partitions.n > 0)
			resp.topics.n++;
	}
	return ctl_encode_resp(w, h, &resp);
}
