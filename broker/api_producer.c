/*
 * InitProducerId for idempotent producers: a producer id from the block
 * the controller allocated to this broker (AllocateProducerIds, committed
 * to the metadata log as a ProducerIdsRecord, so ids are unique in the
 * cluster and across restarts), epoch 0.  Like Kafka, a request without a
 * transactional id always gets a new id.  Transactions are not supported:
 * a transactional id is refused.
 */
#include <stdlib.h>

#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_client.h"

#define PID_ALLOCATE_VERSION	0

static void
init_pid_answer(struct req *r, int16_t err, int64_t pid)
{
	struct kp_init_producer_id_response resp;

	kp_init(&kp_init_producer_id_response_desc, &resp);
	resp.error_code = err;
	resp.producer_id = err == KERR_NONE ? pid : -1;
	resp.producer_epoch = err == KERR_NONE ? 0 : -1;
	req_respond(r, &kp_init_producer_id_response_desc, &resp);
}

static void
init_pid_allocated(struct broker *b, struct req *r, void *arg)
{
	const struct kp_allocate_producer_ids_response *resp = arg;

	if (resp == NULL || resp->error_code != KERR_NONE ||
	    resp->producer_id_len <= 0 || resp->producer_id_start < 0) {
		log_warnx("broker %d: no producer ids from the controller "
		    "(%s)", b->cfg->node_id, resp == NULL ? "unreachable" :
		    kerr_name(resp->error_code));
		init_pid_answer(r, KERR_COORDINATOR_NOT_AVAILABLE, -1);
		return;
	}
	/* Several requests may have asked at once: keep the newest block. */
	if (b->pid_next >= b->pid_end ||
	    resp->producer_id_start >= b->pid_end) {
		b->pid_next = resp->producer_id_start;
		b->pid_end = resp->producer_id_start + resp->producer_id_len;
	}
	if (b->pid_next >= b->pid_end) {
		init_pid_answer(r, KERR_COORDINATOR_NOT_AVAILABLE, -1);
		return;
	}
	init_pid_answer(r, KERR_NONE, b->pid_next++);
}

void
api_init_producer_id(struct broker *b, struct req *r)
{
	const struct kp_init_producer_id_request *req = r->msg;
	struct kp_allocate_producer_ids_request *q;

	if (req->transactional_id.len >= 0) {
		init_pid_answer(r, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
		    -1);
		return;
	}
	/* IDEMPOTENT_WRITE on the cluster, or WRITE on some topic. */
	if (!authz_cluster(b, r, ACL_OP_IDEMPOTENT_WRITE) &&
	    !authz_some(b, r, ACL_RES_TOPIC, ACL_OP_WRITE)) {
		init_pid_answer(r, KERR_CLUSTER_AUTHORIZATION_FAILED, -1);
		return;
	}
	if (b->pid_next < b->pid_end) {
		init_pid_answer(r, KERR_NONE, b->pid_next++);
		return;
	}
	if (b->mc == NULL || meta_client_broker_epoch(b->mc) < 0) {
		init_pid_answer(r, KERR_COORDINATOR_NOT_AVAILABLE, -1);
		return;
	}
	q = kp_arena_alloc(&r->arena, sizeof(*q));
	kp_init(&kp_allocate_producer_ids_request_desc, q);
	q->broker_id = b->cfg->node_id;
	q->broker_epoch = meta_client_broker_epoch(b->mc);
	meta_client_call(b->mc, r, KP_API_ALLOCATE_PRODUCER_IDS,
	    PID_ALLOCATE_VERSION, q, init_pid_allocated);
}
