/*
 * Admin APIs about topics and the cluster: CreatePartitions, DeleteRecords,
 * DescribeCluster and DescribeLogDirs.  (Configs are in api_config.c.)
 */
#include <sys/statvfs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"
#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_client.h"

/* Kafka's AclOperation codes, as bits of authorized_operations. */
#define ACL_OP(n)		((int32_t)1 << (n))
#define CLUSTER_OPS		(ACL_OP(5) | ACL_OP(7) | ACL_OP(8) | \
	    ACL_OP(9) | ACL_OP(10) | ACL_OP(11) | ACL_OP(12) | ACL_OP(13) | \
	    ACL_OP(14))
#define OPS_NOT_REQUESTED	INT32_MIN

#define ENDPOINT_BROKER		1

typedef struct kp_create_partitions_request_create_partitions_topic cp_topic;
typedef struct kp_create_partitions_response_create_partitions_topic_result
    cp_result;

static const char *fmt(struct req *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
fmt(struct req *r, const char *f, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return api_kstr_dup(r, buf).p;
}

static bool
assignment_ok(struct broker *b, const cp_topic *ct, int32_t added)
{
	if (ct->assignments.n < 0)
		return true;
	if (ct->assignments.n != added)
		return false;
	for (int32_t i = 0; i < ct->assignments.n; i++) {
		const struct kp_create_partitions_request_create_partitions_assignment
		    *a = &ct->assignments.v[i];
		if (a->broker_ids.n != 1 ||
		    a->broker_ids.v[0] != b->cfg->node_id)
			return false;
	}
	return true;
}

static int16_t
partitions_one(struct broker *b, struct req *r, const cp_topic *ct,
    bool validate_only, const char **msg)
{
	struct topic *t;

	*msg = NULL;
	t = topics_find(&b->topics, ct->name.p, (size_t)ct->name.len);
	if (t == NULL) {
		*msg = "The topic does not exist.";
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	if (ct->count < t->npart) {
		*msg = fmt(r, "Topic currently has %d partitions, which is "
		    "higher than the requested %d.", t->npart, ct->count);
		return KERR_INVALID_PARTITIONS;
	}
	if (ct->count == t->npart) {
		*msg = fmt(r, "Topic already has %d partitions.", t->npart);
		return KERR_INVALID_PARTITIONS;
	}
	if (ct->count > 100000) {
		*msg = "Number of partitions must be at most 100000.";
		return KERR_INVALID_PARTITIONS;
	}
	if (!assignment_ok(b, ct, ct->count - t->npart)) {
		*msg = "Replica assignment names an unknown broker or does "
		    "not match the partition count.";
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	if (validate_only)
		return KERR_NONE;
	return topics_add_partitions(&b->topics, t, ct->count);
}

static bool
duplicate_topic(const struct kp_create_partitions_request *req, int32_t i)
{
	for (int32_t j = 0; j < req->topics.n; j++)
		if (j != i && api_kstr_eq(req->topics.v[i].name,
		    req->topics.v[j].name))
			return true;
	return false;
}

/*
 * The controller's answer about the topics r may ALTER, in their order,
 * merged with TOPIC_AUTHORIZATION_FAILED for the others.
 */
static void
partitions_merge(struct broker *b, struct req *r, void *resp)
{
	const struct kp_create_partitions_request *req = r->msg;
	const struct kp_create_partitions_response *cr = resp;
	const bool *denied = r->hctx;
	struct kp_create_partitions_response out;
	int32_t n = req->topics.n > 0 ? req->topics.n : 0, k = 0;
	cp_result *res;

	(void)b;
	if (cr == NULL) {
		/* as for a request forwarded whole */
		req_close_conn(r, "the controller did not answer");
		return;
	}
	kp_init(&kp_create_partitions_response_desc, &out);
	res = api_new(r,
	    &kp_create_partitions_response_create_partitions_topic_result_desc,
	    (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		if (!denied[i] && k < cr->results.n) {
			res[i] = cr->results.v[k++];
			continue;
		}
		res[i].name = req->topics.v[i].name;
		res[i].error_code = denied[i] ?
		    KERR_TOPIC_AUTHORIZATION_FAILED : KERR_UNKNOWN_SERVER_ERROR;
		res[i].error_message = api_kstr_null();
	}
	out.throttle_time_ms = cr->throttle_time_ms;
	out.results.v = res;
	out.results.n = n;
	req_respond(r, &kp_create_partitions_response_desc, &out);
}

/* Forward the nok topics that are not denied. */
static void
partitions_forward(struct broker *b, struct req *r, bool *denied,
    int32_t nok)
{
	const struct kp_create_partitions_request *req = r->msg;
	struct kp_create_partitions_request *fwd = api_new(r,
	    &kp_create_partitions_request_desc, 1);
	int32_t k = 0;

	*fwd = *req;
	fwd->topics.v = kp_arena_alloc(&r->arena,
	    (size_t)nok * sizeof(*fwd->topics.v));
	for (int32_t i = 0; i < req->topics.n; i++)
		if (!denied[i])
			fwd->topics.v[k++] = req->topics.v[i];
	fwd->topics.n = k;
	r->hctx = denied;
	meta_client_call(b->mc, r, KP_API_CREATE_PARTITIONS,
	    r->hdr.api_version, fwd, partitions_merge);
}

void
api_create_partitions(struct broker *b, struct req *r)
{
	struct kp_create_partitions_request *req = r->msg;
	struct kp_create_partitions_response resp;
	int32_t n = req->topics.n > 0 ? req->topics.n : 0, nok = 0;
	bool *denied = kp_arena_alloc(&r->arena,
	    ((size_t)n + 1) * sizeof(*denied));
	cp_result *res;

	/* ALTER on each topic (Kafka). */
	for (int32_t i = 0; i < n; i++) {
		denied[i] = !authz_kstr(b, r, ACL_RES_TOPIC,
		    req->topics.v[i].name, ACL_OP_ALTER);
		if (!denied[i])
			nok++;
	}
	if (b->mc != NULL && nok == n) {
		meta_client_forward(b->mc, r);
		return;
	}
	if (b->mc != NULL && nok > 0) {
		partitions_forward(b, r, denied, nok);
		return;
	}
	kp_init(&kp_create_partitions_response_desc, &resp);
	res = api_new(r,
	    &kp_create_partitions_response_create_partitions_topic_result_desc,
	    (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		const char *msg;

		res[i].name = req->topics.v[i].name;
		if (duplicate_topic(req, i)) {
			res[i].error_code = KERR_INVALID_REQUEST;
			msg = "Duplicate topic in request.";
		} else if (denied[i]) {
			res[i].error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
			msg = NULL;
		} else {
			res[i].error_code = partitions_one(b, r,
			    &req->topics.v[i], req->validate_only, &msg);
		}
		res[i].error_message = msg != NULL ? api_kstr(msg) :
		    api_kstr_null();
	}
	resp.results.v = res;
	resp.results.n = n;
	req_respond(r, &kp_create_partitions_response_desc, &resp);
}

/* ---- DeleteRecords ---- */

typedef struct kp_delete_records_response_delete_records_partition_result
    dr_presult;

static void
delete_records_one(struct partition *p, int64_t offset, dr_presult *pr)
{
	struct plog *pl = p != NULL ? p->log : NULL;

	pr->low_watermark = -1;
	if (pl == NULL) {
		pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (offset == -1)
		offset = pl->log_end;
	if (offset < 0 || offset > pl->log_end) {
		pr->error_code = KERR_OFFSET_OUT_OF_RANGE;
		return;
	}
	if (plog_set_log_start(pl, offset) != 0) {
		pr->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	pr->error_code = KERR_NONE;
	pr->low_watermark = pl->log_start;
}

void
api_delete_records(struct broker *b, struct req *r)
{
	struct kp_delete_records_request *req = r->msg;
	struct kp_delete_records_response resp;
	struct kp_delete_records_response_delete_records_topic_result *tr;
	int32_t nt = req->topics.n > 0 ? req->topics.n : 0;

	kp_init(&kp_delete_records_response_desc, &resp);
	tr = api_new(r,
	    &kp_delete_records_response_delete_records_topic_result_desc,
	    (size_t)nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct kp_delete_records_request_delete_records_topic *rt =
		    &req->topics.v[i];
		struct topic *t = topics_find(&b->topics, rt->name.p,
		    (size_t)rt->name.len);
		int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
		dr_presult *pr = api_new(r,
		    &kp_delete_records_response_delete_records_partition_result_desc,
		    (size_t)np);
		bool ok = authz_kstr(b, r, ACL_RES_TOPIC, rt->name,
		    ACL_OP_DELETE);

		tr[i].name = rt->name;
		for (int32_t j = 0; j < np; j++) {
			int32_t idx = rt->partitions.v[j].partition_index;

			pr[j].partition_index = idx;
			if (!ok) {
				pr[j].low_watermark = -1;
				pr[j].error_code =
				    KERR_TOPIC_AUTHORIZATION_FAILED;
				continue;
			}
			delete_records_one(t != NULL ? topic_partition(t, idx) :
			    NULL, rt->partitions.v[j].offset, &pr[j]);
		}
		tr[i].partitions.v = pr;
		tr[i].partitions.n = np;
	}
	resp.topics.v = tr;
	resp.topics.n = nt;
	req_respond(r, &kp_delete_records_response_desc, &resp);
}

/* ---- DescribeCluster ---- */

void
api_describe_cluster(struct broker *b, struct req *r)
{
	struct kp_describe_cluster_request *req = r->msg;
	struct kp_describe_cluster_response resp;
	struct kp_describe_cluster_response_describe_cluster_broker *br;
	struct mc_broker *mb;
	size_t n;

	kp_init(&kp_describe_cluster_response_desc, &resp);
	resp.endpoint_type = ENDPOINT_BROKER;
	resp.error_message = api_kstr_null();
	resp.cluster_id = api_kstr(b->cluster_id);
	resp.controller_id = b->cfg->node_id;	/* it forwards (KRaft) */
	resp.cluster_authorized_operations =
	    req->include_cluster_authorized_operations ? CLUSTER_OPS :
	    OPS_NOT_REQUESTED;
	if (r->hdr.api_version >= 1 && req->endpoint_type != ENDPOINT_BROKER) {
		resp.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
		resp.error_message = api_kstr("This node serves only the "
		    "broker endpoint type.");
		req_respond(r, &kp_describe_cluster_response_desc, &resp);
		return;
	}
	n = meta_client_brokers(b->mc, req_listener(r), &mb);
	br = api_new(r,
	    &kp_describe_cluster_response_describe_cluster_broker_desc, n);
	for (size_t i = 0; i < n; i++) {
		br[i].broker_id = mb[i].id;
		br[i].host = api_kstr_dup(r, mb[i].host);
		br[i].port = mb[i].port;
		br[i].rack = mb[i].rack != NULL ?
		    api_kstr_dup(r, mb[i].rack) : api_kstr_null();
	}
	free(mb);
	resp.brokers.v = br;
	resp.brokers.n = (int32_t)n;
	req_respond(r, &kp_describe_cluster_response_desc, &resp);
}

/* ---- DescribeLogDirs ---- */

typedef struct kp_describe_log_dirs_response_describe_log_dirs_topic ld_topic;
typedef struct kp_describe_log_dirs_response_describe_log_dirs_partition
    ld_part;

static void
fill_log_dir_part(struct partition *p, ld_part *lp)
{
	lp->partition_index = p->index;
	lp->partition_size = p->log != NULL ?
	    (int64_t)plog_bytes_after(p->log, 0) : 0;
	lp->offset_lag = 0;
	lp->is_future_key = false;
}

/* All partitions of t (idx NULL) or those listed that exist. */
static void
fill_log_dir_topic(struct req *r, struct topic *t, const int32_t *idx,
    int32_t nidx, ld_topic *lt)
{
	int32_t n = idx == NULL ? t->npart : nidx, k = 0;
	ld_part *lp = api_new(r,
	    &kp_describe_log_dirs_response_describe_log_dirs_partition_desc,
	    (size_t)(n > 0 ? n : 0));

	for (int32_t i = 0; i < n; i++) {
		struct partition *p = topic_partition(t, idx == NULL ? i :
		    idx[i]);
		if (p != NULL)
			fill_log_dir_part(p, &lp[k++]);
	}
	lt->name = api_kstr(t->name);
	lt->partitions.v = lp;
	lt->partitions.n = k;
}

static void
fill_log_dir_space(struct broker *b,
    struct kp_describe_log_dirs_response_describe_log_dirs_result *res)
{
	struct statvfs sv;

	res->total_bytes = -1;
	res->usable_bytes = -1;
	if (statvfs(b->cfg->data_dir, &sv) == 0) {
		res->total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
		res->usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
	}
}

void
api_describe_log_dirs(struct broker *b, struct req *r)
{
	struct kp_describe_log_dirs_request *req = r->msg;
	struct kp_describe_log_dirs_response resp;
	struct kp_describe_log_dirs_response_describe_log_dirs_result *res;
	bool all = req->topics.n < 0;
	size_t cap = all ? b->topics.count : (size_t)req->topics.n;
	ld_topic *lt;
	struct topic *t;
	int32_t n = 0;

	/* DESCRIBE on the cluster, else no results (and the error, v3+). */
	if (!authz_cluster(b, r, ACL_OP_DESCRIBE)) {
		kp_init(&kp_describe_log_dirs_response_desc, &resp);
		resp.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
		req_respond(r, &kp_describe_log_dirs_response_desc, &resp);
		return;
	}
	lt = api_new(r,
	    &kp_describe_log_dirs_response_describe_log_dirs_topic_desc, cap);
	if (all) {
		TAILQ_FOREACH(t, &b->topics.list, entry)
			fill_log_dir_topic(r, t, NULL, 0, &lt[n++]);
	} else {
		for (int32_t i = 0; i < req->topics.n; i++) {
			const struct kp_describe_log_dirs_request_describable_log_dir_topic
			    *rt = &req->topics.v[i];
			t = topics_find(&b->topics, rt->topic.p,
			    (size_t)rt->topic.len);
			if (t != NULL)
				fill_log_dir_topic(r, t, rt->partitions.v,
				    rt->partitions.n, &lt[n++]);
		}
	}
	kp_init(&kp_describe_log_dirs_response_desc, &resp);
	res = api_new(r,
	    &kp_describe_log_dirs_response_describe_log_dirs_result_desc, 1);
	res->error_code = KERR_NONE;
	res->log_dir = api_kstr(b->cfg->data_dir);
	res->topics.v = lt;
	res->topics.n = n;
	fill_log_dir_space(b, res);
	resp.error_code = KERR_NONE;
	resp.results.v = res;
	resp.results.n = 1;
	req_respond(r, &kp_describe_log_dirs_response_desc, &resp);
}
