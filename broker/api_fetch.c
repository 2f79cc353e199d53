/*
 * Fetch (with long polling) and ListOffsets.
 *
 * A Fetch that finds fewer than min_bytes waits on the broker's list until
 * an append wakes it (fetch_wake, coalesced into one event per loop pass)
 * or its max_wait timer fires; then it is answered from the logs as they
 * are at that moment.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "broker.h"
#include "compress.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "log_segment.h"
#include "replica.h"
#include "xmalloc.h"

typedef struct kp_fetch_request_fetch_topic fetch_topic;
typedef struct kp_fetch_response_fetchable_topic_response fetch_topic_resp;
typedef struct kp_fetch_response_partition_data fetch_part_resp;

static struct topic *
fetch_topic_lookup(struct broker *b, struct req *r, const fetch_topic *ft)
{
	if (r->hdr.api_version >= 13)
		return topics_find_id(&b->topics, &ft->topic_id);
	return topics_find(&b->topics, ft->topic.p, (size_t)ft->topic.len);
}

/* The follower a Fetch comes from, or -1 for a consumer. */
static int32_t
fetch_replica(const struct req *r)
{
	const struct kp_fetch_request *req = r->msg;

	if (r->hdr.api_version >= 15)
		return req->replica_state != NULL ?
		    req->replica_state->replica_id : -1;
	return req->replica_id;
}

/* Where this fetcher's reads stop: the log end for a follower, the high
 * watermark for a consumer. */
static int64_t
fetch_limit(const struct partition *p, int32_t replica)
{
	return replica >= 0 ? p->log->log_end : replica_hw(p);
}

/* Bytes a fetch would find now (for fetch.min.bytes), or -1 on an error. */
static int64_t
fetch_available(struct broker *b, struct req *r)
{
	struct kp_fetch_request *req = r->msg;
	int32_t replica = fetch_replica(r);
	int64_t total = 0;

	for (int32_t i = 0; i < req->topics.n; i++) {
		const fetch_topic *ft = &req->topics.v[i];
		struct topic *t = fetch_topic_lookup(b, r, ft);

		if (t == NULL)
			return -1;
		for (int32_t j = 0; j < ft->partitions.n; j++) {
			struct partition *p = topic_partition(t,
			    ft->partitions.v[j].partition);
			int64_t off = ft->partitions.v[j].fetch_offset;

			if (p == NULL || off < p->log->log_start ||
			    off > p->log->log_end ||
			    !replica_is_leader(b, p) || !p->hosted)
				return -1;
			if (off < fetch_limit(p, replica))
				total += (int64_t)plog_bytes_after(p->log,
				    off);
		}
	}
	return total;
}

/* The file ranges of a response, sent with sendfile(2). */
struct fetch_files {
	struct req_file	*v;
	size_t		 n, cap;
};

static void
fetch_seg_release(void *arg)
{
	seg_unref(arg);
}

/* A range read back from disk (older than the cache window). */
struct fetch_cold {
	struct seg	*seg;
	uint64_t	 pos;
	size_t		 len;
};

/* Sent: let its pages go again, as the appends did (drop-behind). */
static void
fetch_cold_release(void *arg)
{
	struct fetch_cold *fc = arg;

	(void)posix_fadvise(fc->seg->fd, (off_t)fc->pos, (off_t)fc->len,
	    POSIX_FADV_DONTNEED);
	seg_unref(fc->seg);
	free(fc);
}

/* Leave pr->records as a hole filled from the segment at send time. */
static void
fetch_add_file(struct fetch_files *ff, fetch_part_resp *pr,
    const struct plog_span *sp)
{
	struct req_file *f;

	if (ff->n == ff->cap) {
		ff->cap = ff->cap == 0 ? 8 : ff->cap * 2;
		ff->v = xreallocarray(ff->v, ff->cap, sizeof(*ff->v));
	}
	f = &ff->v[ff->n++];
	f->field = &pr->records;
	f->fd = sp->seg->fd;
	f->pos = sp->pos;
	f->len = sp->len;
	f->release = fetch_seg_release;
	f->arg = seg_ref(sp->seg);
	/*
	 * Dropped from the page cache: start reading it before the send, and
	 * drop it again once sent so catching-up readers do not grow it.
	 */
	if (sp->pos + sp->len <= sp->seg->drop_from) {
		struct fetch_cold *fc = xmalloc(sizeof(*fc));

		fc->seg = f->arg;
		fc->pos = sp->pos;
		fc->len = sp->len;
		f->release = fetch_cold_release;
		f->arg = fc;
		(void)posix_fadvise(f->fd, (off_t)sp->pos, (off_t)sp->len,
		    POSIX_FADV_WILLNEED);
	}
	pr->records.p = NULL;
	pr->records.len = (int32_t)sp->len;
}

/*
 * The span read for a consumer stops before the high watermark: whole
 * batches below it (the span holds whole batches from its start).
 */
static int
fetch_clip(struct plog_span *sp, int64_t end)
{
	uint64_t pos = 0;
	uint8_t h[12];

	while (pos + sizeof(h) <= sp->len) {
		int64_t base = 0;
		uint32_t blen;

		if (pread(sp->seg->fd, h, sizeof(h), (off_t)(sp->pos + pos)) !=
		    (ssize_t)sizeof(h))
			return -1;
		for (int i = 0; i < 8; i++)
			base = (int64_t)((uint64_t)base << 8 | h[i]);
		blen = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
		    (uint32_t)h[10] << 8 | h[11];
		if (base >= end)
			break;
		pos += (uint64_t)blen + 12;
	}
	if (pos < sp->len)
		sp->len = (size_t)pos;
	return 0;
}

/* Leader checks of a follower's fetch: its epoch and where it diverged.
 * False when the answer carries no records. */
static bool
fetch_follower(struct broker *b, struct req *r, struct partition *p,
    int32_t replica, const struct kp_fetch_request_fetch_partition *fp,
    fetch_part_resp *pr)
{
	int32_t epoch;
	int64_t end;

	if (r->hdr.api_version >= 12 && fp->last_fetched_epoch >= 0 &&
	    fp->fetch_offset > 0) {
		end = lep_end_offset(p, fp->last_fetched_epoch, &epoch);
		/* Offsets before the first epoch known here are common. */
		if (epoch < 0 ? fp->fetch_offset > end :
		    epoch != fp->last_fetched_epoch || end < fp->fetch_offset) {
			struct kp_fetch_response_epoch_end_offset *d =
			    kp_arena_alloc(&r->arena, sizeof(*d));

			d->epoch = epoch;
			d->end_offset = end;
			pr->diverging_epoch = d;
			return false;
		}
	}
	replica_follower_fetched(b, p, replica, fp->fetch_offset);
	pr->high_watermark = replica_hw(p);
	pr->last_stable_offset = pr->high_watermark;
	return true;
}

/* Followers need CLUSTER_ACTION, consumers READ on the topic. */
static bool
fetch_allowed(struct broker *b, struct req *r, const struct topic *t)
{
	if (fetch_replica(r) >= 0)
		return authz_cluster(b, r, ACL_OP_CLUSTER_ACTION);
	return authz_allowed(b, r, ACL_RES_TOPIC, t->name, strlen(t->name),
	    ACL_OP_READ);
}

/* allowed: fetch_allowed for t (asked once per topic). */
static void
fetch_partition(struct broker *b, struct req *r, struct topic *t,
    bool allowed, const struct kp_fetch_request_fetch_partition *fp,
    fetch_part_resp *pr, size_t *budget, bool *first,
    struct fetch_files *ff)
{
	int32_t replica = fetch_replica(r);
	struct partition *p;
	struct plog_span sp;
	size_t limit;
	uint8_t *buf;
	int64_t end;

	pr->partition_index = fp->partition;
	pr->aborted_transactions.n = -1;
	pr->preferred_read_replica = -1;
	if (t == NULL || (p = topic_partition(t, fp->partition)) == NULL) {
		pr->error_code = r->hdr.api_version >= 13 && t == NULL ?
		    KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
		pr->high_watermark = -1;
		return;
	}
	if (!allowed) {
		pr->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
		pr->high_watermark = -1;
		return;
	}
	if (!p->hosted || !replica_is_leader(b, p)) {
		pr->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
		pr->high_watermark = -1;
		return;
	}
	end = fetch_limit(p, replica);
	pr->high_watermark = replica_hw(p);
	pr->last_stable_offset = pr->high_watermark;
	pr->log_start_offset = p->log->log_start;
	if (r->hdr.api_version >= 9 && fp->current_leader_epoch >= 0 &&
	    fp->current_leader_epoch != replica_epoch(p)) {
		pr->error_code = fp->current_leader_epoch < replica_epoch(p) ?
		    KERR_FENCED_LEADER_EPOCH : KERR_UNKNOWN_LEADER_EPOCH;
		return;
	}
	if (fp->fetch_offset < p->log->log_start ||
	    fp->fetch_offset > p->log->log_end) {
		pr->error_code = KERR_OFFSET_OUT_OF_RANGE;
		return;
	}
	pr->error_code = KERR_NONE;
	if (replica >= 0 && !fetch_follower(b, r, p, replica, fp, pr))
		return;
	if (fp->fetch_offset >= end)
		return;		/* nothing committed to read yet */
	limit = fp->partition_max_bytes > 0 ?
	    (size_t)fp->partition_max_bytes : 0;
	if (limit > *budget)
		limit = *budget;
	if (plog_span(p->log, fp->fetch_offset, limit, *first, &sp) != 0) {
		pr->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	if (sp.len > 0 && end < p->log->log_end && fetch_clip(&sp, end) != 0) {
		pr->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	if (sp.len == 0)
		return;
	if (ff != NULL)
		fetch_add_file(ff, pr, &sp);
	else {
		buf = kp_arena_alloc(&r->arena, sp.len);
		if (plog_pread(&sp, buf) != 0) {
			pr->error_code = KERR_KAFKA_STORAGE_ERROR;
			return;
		}
		pr->records.p = buf;
		pr->records.len = (int32_t)sp.len;
	}
	*budget = sp.len >= *budget ? 0 : *budget - sp.len;
	*first = false;
}

static void
fetch_respond(struct broker *b, struct req *r)
{
	struct kp_fetch_request *req = r->msg;
	struct kp_fetch_response resp;
	fetch_topic_resp *tr;
	size_t budget = req->max_bytes > 0 ? (size_t)req->max_bytes : 0;
	bool first = true;
	int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
	struct fetch_files ff = { NULL, 0, 0 };

	kp_init(&kp_fetch_response_desc, &resp);
	resp.session_id = 0;
	tr = kp_arena_alloc(&r->arena, (size_t)(nt ? nt : 1) * sizeof(*tr));
	for (int32_t i = 0; i < nt; i++) {
		const fetch_topic *ft = &req->topics.v[i];
		struct topic *t = fetch_topic_lookup(b, r, ft);
		int32_t np = ft->partitions.n > 0 ? ft->partitions.n : 0;
		bool allowed = t != NULL && fetch_allowed(b, r, t);
		fetch_part_resp *pr;

		kp_init(&kp_fetch_response_fetchable_topic_response_desc,
		    &tr[i]);
		tr[i].topic = ft->topic;
		tr[i].topic_id = ft->topic_id;
		pr = kp_arena_alloc(&r->arena,
		    (size_t)(np ? np : 1) * sizeof(*pr));
		for (int32_t j = 0; j < np; j++) {
			kp_init(&kp_fetch_response_partition_data_desc, &pr[j]);
			fetch_partition(b, r, t, allowed,
			    &ft->partitions.v[j], &pr[j], &budget, &first,
			    &ff);
		}
		tr[i].partitions.v = pr;
		tr[i].partitions.n = np;
	}
	resp.responses.v = tr;
	resp.responses.n = nt;
	req_respond_files(r, &kp_fetch_response_desc, &resp, ff.v, ff.n);
}

static void
fetch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;

	(void)fd;
	(void)what;
	fetch_cancel(r);
	fetch_respond(r->broker, r);
}

void
fetch_cancel(struct req *r)
{
	if (!r->waiting)
		return;
	TAILQ_REMOVE(&r->broker->waiting, r, wentry);
	r->waiting = false;
	if (r->timer != NULL)
		evtimer_del(r->timer);
}

static void
fetch_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	struct req *r, *next;

	(void)fd;
	(void)what;
	for (r = TAILQ_FIRST(&b->waiting); r != NULL; r = next) {
		struct kp_fetch_request *req = r->msg;
		int64_t avail;

		next = TAILQ_NEXT(r, wentry);
		avail = fetch_available(b, r);
		if (avail < 0 || avail >= req->min_bytes) {
			fetch_cancel(r);
			fetch_respond(b, r);
		}
	}
}

void
fetch_wake(struct broker *b)
{
	if (TAILQ_EMPTY(&b->waiting))
		return;
	if (b->wake == NULL)
		b->wake = event_new(b->base, -1, 0, fetch_wake_cb, b);
	event_active(b->wake, 0, 0);
}

void
api_fetch(struct broker *b, struct req *r)
{
	struct kp_fetch_request *req = r->msg;
	int64_t avail = fetch_available(b, r);
	struct timeval tv;

	if (req->max_wait_ms <= 0 || avail < 0 || avail >= req->min_bytes) {
		fetch_respond(b, r);
		return;
	}
	if (r->timer == NULL)
		r->timer = evtimer_new(b->base, fetch_timeout_cb, r);
	tv.tv_sec = req->max_wait_ms / 1000;
	tv.tv_usec = (req->max_wait_ms % 1000) * 1000;
	evtimer_add(r->timer, &tv);
	r->waiting = true;
	r->cancel = fetch_cancel;
	TAILQ_INSERT_TAIL(&b->waiting, r, wentry);
}

/*
 * The exact offset of the first record with timestamp >= ts in the batch
 * (or, when want_max, of the record with the largest timestamp).
 */
static int
batch_find_time(const uint8_t *p, size_t len, int64_t ts, bool want_max,
    int64_t *offset, int64_t *timestamp)
{
	struct batch_info info;
	struct wbuf plain = { 0 };
	struct record rec;
	struct rd rr;
	int rc;

	if ((rc = batch_header_parse(p, len, &info)) != 0)
		return rc;
	if ((info.attributes & 0x07) != 0) {
		rc = compress_decode(info.attributes & 0x07,
		    p + BATCH_HEADER_SIZE, len - BATCH_HEADER_SIZE,
		    64u * 1024 * 1024, &plain);
		if (rc != 0) {
			wbuf_clear(&plain);
			return rc;
		}
		rd_init(&rr, plain.data, plain.len);
	} else
		rd_init(&rr, p + BATCH_HEADER_SIZE, len - BATCH_HEADER_SIZE);
	*offset = -1;
	*timestamp = -1;
	for (int32_t i = 0; i < info.record_count; i++) {
		int64_t rts;

		if (batch_records_next(&rr, &rec) != 0)
			break;
		rts = (info.attributes & 0x08) ? info.max_timestamp :
		    info.base_timestamp + rec.timestamp_delta;
		if (want_max ? rts > *timestamp || *offset < 0 : rts >= ts) {
			*offset = info.base_offset + rec.offset_delta;
			*timestamp = rts;
			if (!want_max)
				break;
		}
	}
	wbuf_clear(&plain);
	return 0;
}

static int16_t
list_offset_time(struct req *r, struct plog *pl, int64_t ts,
    struct kp_list_offsets_response_list_offsets_partition_response *pr)
{
	bool want_max = ts == -3;
	struct plog_span sp;
	uint8_t *buf;

	if (want_max) {
		/* The first batch reaching the maximum holds its record. */
		ts = plog_max_timestamp(pl);
		if (ts < 0)
			return KERR_NONE;
	}
	if (plog_find_time(pl, ts, &sp) != 0)
		return KERR_KAFKA_STORAGE_ERROR;
	if (sp.len == 0)
		return KERR_NONE;	/* offset -1: none that late */
	buf = kp_arena_alloc(&r->arena, sp.len);
	if (plog_pread(&sp, buf) != 0)
		return KERR_KAFKA_STORAGE_ERROR;
	if (batch_find_time(buf, sp.len, ts, want_max, &pr->offset,
	    &pr->timestamp) != 0)
		return KERR_CORRUPT_MESSAGE;
	if (pr->offset >= 0 && pr->offset < pl->log_start)
		pr->offset = pl->log_start;	/* DeleteRecords cut the batch */
	pr->leader_epoch = 0;
	return KERR_NONE;
}

void
api_list_offsets(struct broker *b, struct req *r)
{
	typedef struct kp_list_offsets_response_list_offsets_topic_response
	    lo_topic_resp;
	typedef struct kp_list_offsets_response_list_offsets_partition_response
	    lo_part_resp;
	struct kp_list_offsets_request *req = r->msg;
	struct kp_list_offsets_response resp;
	int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
	lo_topic_resp *tr;

	kp_init(&kp_list_offsets_response_desc, &resp);
	tr = kp_arena_alloc(&r->arena, (size_t)(nt ? nt : 1) * sizeof(*tr));
	for (int32_t i = 0; i < nt; i++) {
		struct topic *t = topics_find(&b->topics,
		    req->topics.v[i].name.p, (size_t)req->topics.v[i].name.len);
		int32_t np = req->topics.v[i].partitions.n;
		bool denied = false;
		lo_part_resp *pr;

		np = np > 0 ? np : 0;
		kp_init(&kp_list_offsets_response_list_offsets_topic_response_desc,
		    &tr[i]);
		tr[i].name = req->topics.v[i].name;
		pr = kp_arena_alloc(&r->arena,
		    (size_t)(np ? np : 1) * sizeof(*pr));
		/* Followers need CLUSTER_ACTION, clients DESCRIBE. */
		if (req->replica_id >= 0 ? !authz_cluster(b, r,
		    ACL_OP_CLUSTER_ACTION) : !authz_kstr(b, r, ACL_RES_TOPIC,
		    req->topics.v[i].name, ACL_OP_DESCRIBE))
			denied = true;
		for (int32_t j = 0; j < np; j++) {
			const struct kp_list_offsets_request_list_offsets_partition
			    *rp = &req->topics.v[i].partitions.v[j];
			struct partition *p = t == NULL ? NULL :
			    topic_partition(t, rp->partition_index);

			kp_init(&kp_list_offsets_response_list_offsets_partition_response_desc,
			    &pr[j]);
			pr[j].partition_index = rp->partition_index;
			if (denied) {
				pr[j].error_code =
				    KERR_TOPIC_AUTHORIZATION_FAILED;
				continue;
			}
			if (p == NULL) {
				pr[j].error_code =
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			if (!p->hosted || !replica_is_leader(b, p)) {
				pr[j].error_code =
				    KERR_NOT_LEADER_OR_FOLLOWER;
				continue;
			}
			pr[j].leader_epoch = replica_epoch(p);
			if (rp->timestamp == -1)
				pr[j].offset = replica_hw(p);
			else if (rp->timestamp == -2)
				pr[j].offset = p->log->log_start;
			else
				pr[j].error_code = list_offset_time(r, p->log,
				    rp->timestamp, &pr[j]);
		}
		tr[i].partitions.v = pr;
		tr[i].partitions.n = np;
	}
	resp.topics.v = tr;
	resp.topics.n = nt;
	req_respond(r, &kp_list_offsets_response_desc, &resp);
}

/*
 * OffsetForLeaderEpoch: where epoch leader_epoch ends in this leader's log
 * (the start of the next epoch, or the log end for the current one), with
 * the largest epoch <= the asked one that the log knows.  Clients use it
 * to check their position after a leader change.
 */
void
api_offset_for_leader_epoch(struct broker *b, struct req *r)
{
	typedef struct kp_offset_for_leader_epoch_response_offset_for_leader_topic_result
	    ole_topic;
	typedef struct kp_offset_for_leader_epoch_response_epoch_end_offset
	    ole_part;
	struct kp_offset_for_leader_epoch_request *req = r->msg;
	struct kp_offset_for_leader_epoch_response resp;
	int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
	ole_topic *tr;

	kp_init(&kp_offset_for_leader_epoch_response_desc, &resp);
	tr = kp_arena_alloc(&r->arena, (size_t)(nt ? nt : 1) * sizeof(*tr));
	for (int32_t i = 0; i < nt; i++) {
		const struct kp_offset_for_leader_epoch_request_offset_for_leader_topic
		    *rt = &req->topics.v[i];
		struct topic *t = topics_find(&b->topics, rt->topic.p,
		    rt->topic.len > 0 ? (size_t)rt->topic.len : 0);
		int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
		ole_part *pr = kp_arena_alloc(&r->arena,
		    (size_t)(np ? np : 1) * sizeof(*pr));
		/* Followers need CLUSTER_ACTION, clients DESCRIBE. */
		bool denied = req->replica_id >= 0 ? !authz_cluster(b, r,
		    ACL_OP_CLUSTER_ACTION) : !authz_kstr(b, r, ACL_RES_TOPIC,
		    rt->topic, ACL_OP_DESCRIBE);

		tr[i].topic = rt->topic;
		for (int32_t j = 0; j < np; j++) {
			const struct kp_offset_for_leader_epoch_request_offset_for_leader_partition
			    *rp = &rt->partitions.v[j];
			struct partition *p = t == NULL ? NULL :
			    topic_partition(t, rp->partition);
			int32_t epoch;

			pr[j].partition = rp->partition;
			pr[j].leader_epoch = -1;
			pr[j].end_offset = -1;
			if (denied) {
				pr[j].error_code =
				    KERR_TOPIC_AUTHORIZATION_FAILED;
				continue;
			}
			if (p == NULL) {
				pr[j].error_code =
				    KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			if (!p->hosted || !replica_is_leader(b, p)) {
				pr[j].error_code =
				    KERR_NOT_LEADER_OR_FOLLOWER;
				continue;
			}
			if (r->hdr.api_version >= 2 &&
			    rp->current_leader_epoch >= 0 &&
			    rp->current_leader_epoch != replica_epoch(p)) {
				pr[j].error_code = rp->current_leader_epoch <
				    replica_epoch(p) ?
				    KERR_FENCED_LEADER_EPOCH :
				    KERR_UNKNOWN_LEADER_EPOCH;
				continue;
			}
			pr[j].error_code = KERR_NONE;
			pr[j].end_offset = lep_end_offset(p, rp->leader_epoch,
			    &epoch);
			pr[j].leader_epoch = epoch;
			if (epoch < 0)
				pr[j].end_offset = -1;
		}
		tr[i].partitions.v = pr;
		tr[i].partitions.n = np;
	}
	resp.topics.v = tr;
	resp.topics.n = nt;
	req_respond(r, &kp_offset_for_leader_epoch_response_desc, &resp);
}
