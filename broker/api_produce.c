/*
 * Produce: validate each partition's batches (CRC, structure, size),
 * assign offsets in place, append to the partition log.  The request frame
 * is the only copy of the records in user space.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "tconfig.h"
#include "log_service.h"
#include "replica.h"

#define PRODUCE_MAX_BATCHES	4096

/* acks=all partitions still to reach the high watermark (r->hctx). */
struct produce_hw {
	struct hw_target	*t;
	size_t			 n;
	int32_t			 timeout_ms;
};

struct produce_ctx {
	struct broker	*b;
	struct req	*r;
	bool		 log_append_time;
	int64_t		 now;
	bool		 appended;
	bool		 durable;	/* wait for the flusher */
	uint64_t	 flush_gen;
	int16_t		 acks;
	struct hw_target *waits;	/* acks=all with followers */
	size_t		 nwaits, capwaits;
};

static int16_t
produce_err(int rc)
{
	switch (rc) {
	case MO_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	case MO_EVERSION:	/* magic 0/1: the pre-0.11 formats */
		return KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
	case MO_ECRC:
	default:
		return KERR_CORRUPT_MESSAGE;
	}
}

/* acks=all: answer once the high watermark passes target. */
static void
produce_wait_hw(struct produce_ctx *x, struct partition *part,
    int64_t target, int16_t *err)
{
	struct hw_target *w;

	if (x->acks != -1 || replica_hw(part) >= target)
		return;
	if (x->nwaits == x->capwaits) {
		struct hw_target *nv;

		x->capwaits = x->capwaits ? x->capwaits * 2 : 8;
		nv = kp_arena_alloc(&x->r->arena, x->capwaits * sizeof(*nv));
		if (x->nwaits > 0)
			memcpy(nv, x->waits, x->nwaits * sizeof(*nv));
		x->waits = nv;
	}
	w = &x->waits[x->nwaits++];
	memset(w, 0, sizeof(*w));
	w->topic_id = part->topic->id;
	w->index = part->index;
	w->epoch = part->leader_epoch;
	w->target = target;
	w->err = err;
}

/*
 * An idempotent producer's batch (the partition's only one): true to
 * append it; false when pr is answered already (a retry of a batch
 * written before gets that batch's offsets; a sequence gap or an old
 * epoch an error).
 */
static bool
produce_idempotent(struct produce_ctx *x, struct partition *part,
    const struct batch_info *bi, struct kp_produce_response_partition_produce_response *pr)
{
	struct pstate_batch dup;

	if (bi->attributes & BATCH_ATTR_TRANSACTIONAL) {
		/* no transaction coordinator here */
		pr->error_code = KERR_INVALID_TXN_STATE;
		return false;
	}
	switch (pstate_check(plog_pstate(part->log), bi->producer_id,
	    bi->producer_epoch, bi->base_sequence, pstate_last_seq(
	    bi->base_sequence, bi->last_offset_delta), &dup)) {
	case PSTATE_APPEND:
		return true;
	case PSTATE_DUPLICATE:
		pr->error_code = KERR_NONE;
		pr->base_offset = dup.base_offset;
		pr->log_append_time_ms = -1;
		pr->log_start_offset = part->log->log_start;
		produce_wait_hw(x, part, dup.last_offset + 1, &pr->error_code);
		return false;
	case PSTATE_OUT_OF_ORDER:
		pr->error_code = KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
		return false;
	case PSTATE_FENCED:
	default:
		pr->error_code = KERR_INVALID_PRODUCER_EPOCH;
		return false;
	}
}

static void
produce_partition(struct produce_ctx *x, struct topic *t,
    const struct kp_produce_request_partition_produce_data *pd,
    struct kp_produce_response_partition_produce_response *pr)
{
	struct partition *part = topic_partition(t, pd->index);
	struct broker *b = x->b;
	struct req *r = x->r;
	int64_t *base, *last, *maxts;
	uint32_t *sizes;
	struct batch_info info;
	uint8_t *p;
	size_t len, pos = 0, nb = 0;
	int64_t next;
	uint64_t gen;
	int rc;

	pr->index = pd->index;
	if (part == NULL) {
		pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if ((pr->error_code = replica_produce_check(b, part, x->acks)) !=
	    KERR_NONE)
		return;
	if (pd->records.len <= 0) {
		pr->error_code = KERR_CORRUPT_MESSAGE;
		return;
	}
	/* The records are a view into r->frame, which the request owns. */
	p = r->frame + (pd->records.p - r->frame);
	len = (size_t)pd->records.len;
	/* Count the batches first so the index arrays are sized exactly. */
	while (pos < len && nb <= PRODUCE_MAX_BATCHES) {
		if (batch_header_parse(p + pos, len - pos, &info) != 0)
			break;
		pos += (size_t)info.length + 12;
		nb++;
	}
	if (nb == 0)
		nb = 1;		/* batch_validate below reports the error */
	base = kp_arena_alloc(&r->arena, nb * sizeof(*base));
	last = kp_arena_alloc(&r->arena, nb * sizeof(*last));
	maxts = kp_arena_alloc(&r->arena, nb * sizeof(*maxts));
	sizes = kp_arena_alloc(&r->arena, nb * sizeof(*sizes));
	if (nb > PRODUCE_MAX_BATCHES) {
		pr->error_code = KERR_INVALID_RECORD;
		return;
	}
	if (!part->log->configured)
		plog_configure(part->log, t);
	pos = 0;
	nb = 0;
	while (pos < len) {
		rc = batch_validate(p + pos, len - pos,
		    (size_t)b->cfg->message_max_bytes * 64, &info);
		if (rc != 0) {
			log_warnx("broker: produce %s-%d: rejected batch at "
			    "byte %zu: %s", t->name, pd->index, pos,
			    mo_strerror(rc));
			pr->error_code = produce_err(rc);
			return;
		}
		if (part->log->conf.compact && batch_has_null_key(p + pos,
		    &info, (size_t)b->cfg->message_max_bytes * 64)) {
			static const char msg[] = "Compacted topic cannot "
			    "accept message without key";

			pr->error_code = KERR_INVALID_RECORD;
			pr->error_message.p = msg;
			pr->error_message.len = (int32_t)sizeof(msg) - 1;
			return;
		}
		sizes[nb] = (uint32_t)info.length + 12;
		if (sizes[nb] > (uint32_t)b->cfg->message_max_bytes) {
			pr->error_code = KERR_MESSAGE_TOO_LARGE;
			return;
		}
		if (info.producer_id >= 0 && (nb > 0 || pos + sizes[nb] < len ||
		    info.base_sequence < 0)) {
			/* one batch per partition, as Kafka requires */
			pr->error_code = KERR_INVALID_RECORD;
			return;
		}
		last[nb] = info.last_offset_delta;
		maxts[nb] = info.max_timestamp;
		pos += sizes[nb];
		nb++;
	}
	if (info.producer_id >= 0 && !produce_idempotent(x, part, &info, pr))
		return;
	next = part->log->log_end;
	pos = 0;
	for (size_t i = 0; i < nb; i++) {
		batch_set_base_offset(p + pos, next);
		batch_set_leader_epoch(p + pos, replica_epoch(part));
		if (x->log_append_time) {
			batch_set_log_append_time(p + pos, sizes[i], x->now);
			maxts[i] = x->now;
		}
		base[i] = next;
		last[i] += next;
		next = last[i] + 1;
		pos += sizes[i];
	}
	if (plog_append(part->log, p, len, base, last, maxts, sizes, nb) != 0) {
		pr->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	x->appended = true;
	if (logsvc_appended(b, t, part->log, &gen)) {
		x->durable = true;
		if (gen > x->flush_gen)
			x->flush_gen = gen;
	}
	pr->error_code = KERR_NONE;
	produce_wait_hw(x, part, next, &pr->error_code);
	pr->base_offset = base[0];
	pr->log_append_time_ms = x->log_append_time ? x->now : -1;
	pr->log_start_offset = part->log->log_start;
}

/* Answer (after the high watermark passed, for acks=all). */
static void
produce_answer(struct req *r, void *arg, int err)
{
	struct kp_produce_response *resp = arg;

	(void)err;
	if (r->noresp)
		req_finish_silent(r);
	else
		req_respond(r, &kp_produce_response_desc, resp);
}

/* The flusher synced the request's appends (or failed to): answer once
 * the followers have them too (acks=all). */
static void
produce_flushed(struct req *r, void *arg, int err)
{
	struct kp_produce_response *resp = arg;
	struct produce_hw *hw = r->hctx;

	if (err != 0) {
		for (int32_t i = 0; i < resp->responses.n; i++) {
			struct kp_produce_response_topic_produce_response *tr =
			    &resp->responses.v[i];

			for (int32_t j = 0; j < tr->partition_responses.n; j++)
				if (tr->partition_responses.v[j].error_code ==
				    KERR_NONE)
					tr->partition_responses.v[j]
					    .error_code =
					    KERR_KAFKA_STORAGE_ERROR;
		}
	}
	if (err == 0 && hw != NULL) {
		r->hctx = NULL;
		replica_wait_hw(r->broker, r, hw->t, hw->n, hw->timeout_ms,
		    produce_answer, resp);
		return;
	}
	produce_answer(r, resp, 0);
}

void
api_produce(struct broker *b, struct req *r)
{
	const struct kp_struct *td =
	    &kp_produce_response_topic_produce_response_desc;
	const struct kp_struct *pd =
	    &kp_produce_response_partition_produce_response_desc;
	struct kp_produce_request *req = r->msg;
	struct kp_produce_response *resp;
	struct kp_produce_response_topic_produce_response *tr;
	struct produce_ctx x = { b, r, false, now_ms(), false, false, 0,
	    req->acks, NULL, 0, 0 };
	int32_t nt = req->topic_data.n > 0 ? req->topic_data.n : 0;

	resp = kp_arena_alloc(&r->arena, sizeof(*resp));
	kp_init(&kp_produce_response_desc, resp);
	tr = kp_arena_alloc(&r->arena, (size_t)(nt ? nt : 1) * td->size);
	for (int32_t i = 0; i < nt; i++) {
		const struct kp_produce_request_topic_produce_data *d =
		    &req->topic_data.v[i];
		int32_t np = d->partition_data.n > 0 ? d->partition_data.n : 0;
		struct topic *t = topics_find(&b->topics, d->name.p,
		    (size_t)d->name.len);
		int16_t deny = authz_kstr(b, r, ACL_RES_TOPIC, d->name,
		    ACL_OP_WRITE) ? KERR_NONE : KERR_TOPIC_AUTHORIZATION_FAILED;

		kp_init(td, &tr[i]);
		tr[i].name = d->name;
		/* message.timestamp.type: the topic's, else the broker's */
		x.log_append_time = t != NULL && strcmp(tconfig_get(t,
		    "message.timestamp.type"), "LogAppendTime") == 0;
		tr[i].partition_responses.v = kp_arena_alloc(&r->arena,
		    (size_t)(np ? np : 1) * pd->size);
		tr[i].partition_responses.n = np;
		for (int32_t j = 0; j < np; j++) {
			struct kp_produce_response_partition_produce_response
			    *pr = &tr[i].partition_responses.v[j];
			kp_init(pd, pr);
			if (t == NULL || deny != KERR_NONE) {
				pr->index = d->partition_data.v[j].index;
				pr->error_code = deny != KERR_NONE ? deny :
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				pr->base_offset = -1;
				continue;
			}
			produce_partition(&x, t, &d->partition_data.v[j], pr);
			if (pr->error_code != KERR_NONE)
				pr->base_offset = -1;
		}
	}
	resp->responses.v = tr;
	resp->responses.n = nt;
	if (x.appended)
		fetch_wake(b);
	if (req->acks == 0)
		r->noresp = true;
	if (x.nwaits > 0) {
		struct produce_hw *hw = kp_arena_alloc(&r->arena, sizeof(*hw));

		hw->t = x.waits;
		hw->n = x.nwaits;
		hw->timeout_ms = req->timeout_ms;
		r->hctx = hw;
	}
	if (x.durable) {
		/* Acknowledge only once the data is on disk. */
		logsvc_wait_flush(b, r, x.flush_gen, produce_flushed, resp);
		return;
	}
	produce_flushed(r, resp, 0);
}
