/*
 * Replication between brokers (replica.h): the partition state from the
 * image, the leader's view of its followers and the high watermark, the
 * ISR changes it asks of the controller, acks=all waits, and the follower
 * side: one fetch session per leader broker.
 */
#include <sys/socket.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "batch.h"
#include "broker.h"
#include "err.h"
#include "group.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "log_service.h"
#include "meta_client.h"
#include "meta_image.h"
#include "replica.h"
#include "tconfig.h"
#include "xmalloc.h"

#define RF_TICK_MS		100
#define RF_FETCH_VERSION	12	/* names, diverging epochs */
#define RF_MAX_WAIT_MS		500
#define RF_MAX_BYTES		(16 << 20)
#define RF_PART_MAX_BYTES	(1 << 20)
#define RF_MAX_FRAME		(64u << 20)
#define RF_RETRY_MS		500

/* A fetch session with one leader broker. */
struct rfetch {
	TAILQ_ENTRY(rfetch)	 entry;
	struct replica_mgr	*rm;
	int32_t			 leader;
	struct bufferevent	*bev;
	bool			 connected, inflight, used;
	int32_t			 corr;
	int64_t			 next_ms;	/* retry / backoff */
};

/* A Produce with acks=all waiting for the high watermark. */
struct hw_wait {
	TAILQ_ENTRY(hw_wait)	 entry;
	struct req		*r;
	struct hw_target	*t;
	size_t			 n;
	int64_t			 deadline;
	replica_done		*done;
	void			*arg;
};

struct replica_mgr {
	struct broker		*b;
	struct event		*timer;
	TAILQ_HEAD(, rfetch)	 fetchers;
	TAILQ_HEAD(, hw_wait)	 waits;
};

static int32_t
self_id(const struct broker *b)
{
	return b->cfg->node_id;
}

static bool
ids_has(const int32_t *v, size_t n, int32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

bool
replica_is_leader(const struct broker *b, const struct partition *p)
{
	return p->leader == PART_LOCAL || p->leader == self_id(b);
}

int32_t
replica_leader_id(const struct broker *b, const struct partition *p)
{
	return p->leader == PART_LOCAL ? self_id(b) : p->leader;
}

int64_t
replica_hw(const struct partition *p)
{
	if (p->nisr <= 1 || p->leader == PART_LOCAL)
		return p->log->log_end;
	return p->hw < p->log->log_end ? p->hw : p->log->log_end;
}

static struct follower *
fol_find(struct partition *p, int32_t id)
{
	for (size_t i = 0; i < p->nfols; i++)
		if (p->fols[i].id == id)
			return &p->fols[i];
	return NULL;
}

/* ---- acks=all ---- */

static bool
hw_wait_met(struct broker *b, struct hw_wait *w, bool *lost)
{
	bool all = true;

	*lost = false;
	for (size_t i = 0; i < w->n; i++) {
		struct hw_target *t = &w->t[i];
		struct topic *tp;
		struct partition *p;

		if (t->met)
			continue;
		tp = topics_find_id(&b->topics, &t->topic_id);
		p = tp != NULL ? topic_partition(tp, t->index) : NULL;
		if (p == NULL || !replica_is_leader(b, p) ||
		    p->leader_epoch != t->epoch) {
			*t->err = KERR_NOT_LEADER_OR_FOLLOWER;
			t->met = true;
			*lost = true;
			continue;
		}
		if (replica_hw(p) >= t->target) {
			/* Committed, but by fewer replicas than asked (the
			   ISR shrank meanwhile): Kafka's after-append error. */
			if ((int64_t)(p->nisr > 0 ? p->nisr : 1) <
			    tconfig_get_i64(p->topic, "min.insync.replicas"))
				*t->err = KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
			t->met = true;
		} else
			all = false;
	}
	return all;
}

static void
hw_wait_finish(struct replica_mgr *rm, struct hw_wait *w, bool timeout)
{
	struct req *r = w->r;
	replica_done *done = w->done;
	void *arg = w->arg;

	if (timeout)
		for (size_t i = 0; i < w->n; i++)
			if (!w->t[i].met)
				*w->t[i].err = KERR_REQUEST_TIMED_OUT;
	TAILQ_REMOVE(&rm->waits, w, entry);
	r->waiting = false;
	r->cancel = NULL;
	free(w);
	done(r, arg, 0);
}

static void
hw_waits_check(struct broker *b)
{
	struct replica_mgr *rm = b->repl;
	struct hw_wait *w, *nw;
	int64_t now = now_ms();
	bool lost;

	if (rm == NULL)
		return;
	for (w = TAILQ_FIRST(&rm->waits); w != NULL; w = nw) {
		nw = TAILQ_NEXT(w, entry);
		if (hw_wait_met(b, w, &lost))
			hw_wait_finish(rm, w, false);
		else if (now >= w->deadline)
			hw_wait_finish(rm, w, true);
	}
}

static void
hw_wait_cancel(struct req *r)
{
	struct hw_wait *w = r->cancel_arg;

	TAILQ_REMOVE(&r->broker->repl->waits, w, entry);
	r->waiting = false;
	free(w);
}

void
replica_wait_hw(struct broker *b, struct req *r, struct hw_target *t,
    size_t n, int32_t timeout_ms, replica_done *done, void *arg)
{
	struct replica_mgr *rm = b->repl;
	struct hw_wait *w;
	bool lost;

	w = xcalloc(1, sizeof(*w));
	w->r = r;
	w->t = t;
	w->n = n;
	w->deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
	w->done = done;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&rm->waits, w, entry);
	r->waiting = true;
	r->cancel = hw_wait_cancel;
	r->cancel_arg = w;
	if (hw_wait_met(b, w, &lost))
		hw_wait_finish(rm, w, false);
}

int16_t
replica_produce_check(const struct broker *b, const struct partition *p,
    int16_t acks)
{
	int64_t min_isr;

	if (!p->hosted || !replica_is_leader(b, p))
		return KERR_NOT_LEADER_OR_FOLLOWER;
	if (acks != -1 || p->leader == PART_LOCAL)
		return KERR_NONE;
	min_isr = tconfig_get_i64(p->topic, "min.insync.replicas");
	if ((int64_t)(p->nisr > 0 ? p->nisr : 1) < min_isr)
		return KERR_NOT_ENOUGH_REPLICAS;
	return KERR_NONE;
}

int32_t
replica_epoch(const struct partition *p)
{
	return p->leader == PART_LOCAL ? 0 : p->leader_epoch;
}

/* ---- the leader's view ---- */

static void
hw_update(struct broker *b, struct partition *p)
{
	int64_t hw = p->log->log_end;

	if (!replica_is_leader(b, p) || p->nisr <= 1)
		return;
	for (size_t i = 0; i < p->nisr; i++) {
		struct follower *f;

		if (p->isr[i] == self_id(b))
			continue;
		f = fol_find(p, p->isr[i]);
		if (f == NULL || f->leo < 0)
			return;		/* not heard from yet: hold */
		if (f->leo < hw)
			hw = f->leo;
	}
	if (hw > p->hw) {
		p->hw = hw;
		hw_waits_check(b);
		fetch_wake(b);
	}
}

/* Ask the controller for a new ISR (one request at a time). */
static void
isr_change(struct broker *b, struct partition *p, int32_t add, int32_t drop)
{
	int32_t *isr = xcalloc(p->nisr + 1, sizeof(*isr));
	size_t n = 0;

	if (p->alter_inflight || b->mc == NULL || now_ms() < p->alter_after_ms)
		goto out;
	for (size_t i = 0; i < p->nisr; i++)
		if (p->isr[i] != drop)
			isr[n++] = p->isr[i];
	if (add >= 0 && !ids_has(isr, n, add))
		isr[n++] = add;
	log_info("broker %d: %s-%d: asking to %s %d %s the ISR",
	    self_id(b), p->topic->name, p->index, add >= 0 ? "add" : "drop",
	    add >= 0 ? add : drop, add >= 0 ? "to" : "from");
	if (meta_client_alter_partition(b->mc, p, isr, n) == 0)
		p->alter_inflight = true;
out:
	free(isr);
}

void
replica_follower_fetched(struct broker *b, struct partition *p,
    int32_t replica, int64_t offset)
{
	struct follower *f = fol_find(p, replica);
	int64_t now = now_ms();

	if (f == NULL)
		return;
	if (offset > f->leo)
		f->leo = offset;
	/* Caught up: it has all we had at its previous fetch (then), or all
	   we have (now).  A follower always a little behind a busy leader
	   still counts as in sync. */
	if (offset >= p->log->log_end)
		f->caught_up_ms = now;
	else if (offset >= f->last_fetch_end &&
	    f->last_fetch_ms > f->caught_up_ms)
		f->caught_up_ms = f->last_fetch_ms;
	f->last_fetch_ms = now;
	f->last_fetch_end = p->log->log_end;
	if (!ids_has(p->isr, p->nisr, replica) && f->leo >= replica_hw(p))
		isr_change(b, p, replica, -1);
	hw_update(b, p);
}

/* ISR members that stopped catching up are dropped. */
static void
isr_shrink_check(struct broker *b, struct partition *p, int64_t now)
{
	int64_t lag = b->cfg->replica_lag_time_max_ms;

	if (!replica_is_leader(b, p) || p->leader == PART_LOCAL ||
	    p->nisr <= 1 || p->alter_inflight)
		return;
	for (size_t i = 0; i < p->nisr; i++) {
		struct follower *f;

		if (p->isr[i] == self_id(b))
			continue;
		f = fol_find(p, p->isr[i]);
		if (f != NULL && f->leo < p->log->log_end &&
		    now - f->caught_up_ms > lag) {
			isr_change(b, p, -1, f->id);
			return;
		}
	}
}

/* ---- state from the image ---- */

static void
ids_copy(int32_t **dst, size_t *n, const struct mi_ints *src)
{
	free(*dst);
	*dst = NULL;
	*n = src->n;
	if (src->n > 0) {
		*dst = xreallocarray(NULL, src->n, sizeof(**dst));
		memcpy(*dst, src->v, src->n * sizeof(**dst));
	}
}

void
replica_apply(struct broker *b, struct partition *p,
    const struct mi_partition *mp)
{
	int32_t me = self_id(b);
	bool was_leader = replica_is_leader(b, p) && p->leader != PART_LOCAL;
	int32_t old_epoch = p->leader_epoch, old_leader = p->leader;
	bool leader, was_hosted;

	if (p->leader == mp->leader && p->leader_epoch == mp->leader_epoch &&
	    p->partition_epoch == mp->partition_epoch &&
	    p->nreplicas == mp->replicas.n && p->nisr == mp->isr.n)
		return;
	ids_copy(&p->replicas, &p->nreplicas, &mp->replicas);
	ids_copy(&p->isr, &p->nisr, &mp->isr);
	p->leader = mp->leader;
	p->leader_epoch = mp->leader_epoch;
	p->partition_epoch = mp->partition_epoch;
	p->alter_inflight = false;
	was_hosted = p->hosted;
	p->hosted = ids_has(p->replicas, p->nreplicas, me);
	leader = p->leader == me;
	if (was_hosted && !p->hosted && p->leader != PART_LOCAL &&
	    old_leader != PART_LOCAL) {
		/* Moved away (reassignment): the data goes. */
		log_info("broker %d: %s-%d: no longer a replica here: deleting "
		    "its log", me, p->topic->name, p->index);
		plog_reset(p->log, p->log->log_start);
		lep_truncate(b, p, -1);
		p->hw = 0;
	}
	if (leader && (!was_leader || old_epoch != p->leader_epoch ||
	    old_leader != p->leader)) {
		/* Leading a new epoch: it starts at our log end. */
		lep_assign(b, p, p->leader_epoch, p->log->log_end);
		free(p->fols);
		p->fols = xcalloc(p->nreplicas + 1, sizeof(*p->fols));
		p->nfols = 0;
		for (size_t i = 0; i < p->nreplicas; i++) {
			if (p->replicas[i] == me)
				continue;
			p->fols[p->nfols].id = p->replicas[i];
			p->fols[p->nfols].leo = -1;
			p->fols[p->nfols++].caught_up_ms = now_ms();
		}
		if (p->hw > p->log->log_end || p->nisr <= 1)
			p->hw = p->log->log_end;
		log_info("broker %d: %s-%d: leader in epoch %d (ISR %zu of %zu "
		    "replicas)", me, p->topic->name, p->index,
		    p->leader_epoch, p->nisr, p->nreplicas);
	} else if (!leader && was_leader) {
		free(p->fols);
		p->fols = NULL;
		p->nfols = 0;
		if (p->hosted)
			log_info("broker %d: %s-%d: follower of %d in epoch "
			    "%d", me, p->topic->name, p->index, p->leader,
			    p->leader_epoch);
		else
			log_info("broker %d: %s-%d: no longer a replica in "
			    "epoch %d", me, p->topic->name, p->index,
			    p->leader_epoch);
	} else if (leader) {
		/* The ISR changed: followers added by reassignment. */
		for (size_t i = 0; i < p->nreplicas; i++) {
			if (p->replicas[i] == me ||
			    fol_find(p, p->replicas[i]) != NULL)
				continue;
			p->fols = xreallocarray(p->fols, p->nfols + 1,
			    sizeof(*p->fols));
			memset(&p->fols[p->nfols], 0, sizeof(*p->fols));
			p->fols[p->nfols].id = p->replicas[i];
			p->fols[p->nfols].leo = -1;
			p->fols[p->nfols++].caught_up_ms = now_ms();
		}
	}
	if (strcmp(p->topic->name, GROUP_OFFSETS_TOPIC) == 0) {
		if (leader && (!was_leader || old_epoch != p->leader_epoch))
			groups_load_partition(&b->groups, p);
		else if (!leader && (was_leader || old_leader == PART_LOCAL))
			groups_unload_partition(&b->groups, p);
	}
	if (leader)
		hw_update(b, p);
	hw_waits_check(b);
}

void
replica_forget(struct partition *p)
{
	free(p->replicas);
	free(p->isr);
	free(p->fols);
	p->replicas = p->isr = NULL;
	p->fols = NULL;
	p->nreplicas = p->nisr = p->nfols = 0;
	lep_free(p);
}

/* ---- the follower: fetch sessions ---- */

static void rf_read_cb(struct bufferevent *, void *);
static void rf_event_cb(struct bufferevent *, short, void *);

static void
rf_close(struct rfetch *f, const char *why)
{
	if (f->bev != NULL) {
		if (why != NULL)
			log_info("broker %d: fetcher for leader %d: %s",
			    self_id(f->rm->b), f->leader, why);
		bufferevent_free(f->bev);
	}
	f->bev = NULL;
	f->connected = f->inflight = false;
	f->next_ms = now_ms() + RF_RETRY_MS;
}

static void
rf_free(struct rfetch *f)
{
	rf_close(f, NULL);
	TAILQ_REMOVE(&f->rm->fetchers, f, entry);
	free(f);
}

static void
rf_connect(struct rfetch *f)
{
	struct broker *b = f->rm->b;
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	const char *host;
	char addr[300];
	int port;

	/* Inter-broker traffic goes over the PLAINTEXT listeners. */
	if (meta_client_broker_addr(b->mc, f->leader, "PLAINTEXT", &host,
	    &port) != 0) {
		f->next_ms = now_ms() + RF_RETRY_MS;
		return;
	}
	snprintf(addr, sizeof(addr), "%s:%d", host, port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss,
	    &sslen) != 0) {
		log_warnx("broker %d: leader %d: cannot use address %s",
		    self_id(b), f->leader, addr);
		f->next_ms = now_ms() + 5000;
		return;
	}
	f->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (f->bev == NULL)
		return;
	bufferevent_setcb(f->bev, rf_read_cb, NULL, rf_event_cb, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&ss,
	    sslen) != 0)
		rf_close(f, "connect failed");
}

/* Partitions this broker follows from f's leader, as fetch entries. */
static void
rf_send(struct rfetch *f)
{
	struct broker *b = f->rm->b;
	const struct kp_msg *km = kp_msg_get(KP_API_FETCH);
	struct kp_fetch_request q;
	struct kp_fetch_request_fetch_topic *ft = NULL;
	struct kp_fetch_request_fetch_partition *fp = NULL;
	struct kp_req_hdr h;
	struct wbuf w = { 0 };
	size_t nt = 0, np = 0, capt = 0, capp = 0, *tstart = NULL;
	struct topic *t;
	uint8_t sz[4];

	/* Count first: the arrays must not move while pointed into. */
	TAILQ_FOREACH(t, &b->topics.list, entry)
		for (int32_t i = 0; i < t->npart; i++)
			if (t->parts[i].hosted &&
			    t->parts[i].leader == f->leader)
				capp++;
	if (capp == 0) {
		f->used = false;
		return;
	}
	f->used = true;
	capt = b->topics.count;
	ft = xcalloc(capt + 1, sizeof(*ft));
	fp = xcalloc(capp, sizeof(*fp));
	tstart = xcalloc(capt + 1, sizeof(*tstart));
	TAILQ_FOREACH(t, &b->topics.list, entry) {
		size_t first = np;

		for (int32_t i = 0; i < t->npart; i++) {
			struct partition *p = &t->parts[i];

			if (!p->hosted || p->leader != f->leader)
				continue;
			kp_init(&kp_fetch_request_fetch_partition_desc,
			    &fp[np]);
			fp[np].partition = i;
			fp[np].current_leader_epoch = p->leader_epoch;
			fp[np].fetch_offset = p->log->log_end;
			fp[np].last_fetched_epoch = lep_last_epoch(p);
			fp[np].log_start_offset = p->log->log_start;
			fp[np].partition_max_bytes = RF_PART_MAX_BYTES;
			np++;
		}
		if (np == first)
			continue;
		kp_init(&kp_fetch_request_fetch_topic_desc, &ft[nt]);
		ft[nt].topic.p = t->name;
		ft[nt].topic.len = (int32_t)strlen(t->name);
		ft[nt].topic_id = t->id;
		ft[nt].partitions.v = &fp[first];
		ft[nt].partitions.n = (int32_t)(np - first);
		nt++;
	}
	kp_init(&kp_fetch_request_desc, &q);
	q.cluster_id.len = -1;
	q.replica_id = self_id(b);
	q.max_wait_ms = RF_MAX_WAIT_MS;
	q.min_bytes = 1;
	q.max_bytes = RF_MAX_BYTES;
	q.isolation_level = 0;
	q.session_id = 0;
	q.session_epoch = -1;
	q.topics.v = ft;
	q.topics.n = (int32_t)nt;
	q.forgotten_topics_data.n = 0;
	q.rack_id.p = "";
	q.rack_id.len = 0;
	memset(&h, 0, sizeof(h));
	h.api_key = KP_API_FETCH;
	h.api_version = RF_FETCH_VERSION;
	h.correlation_id = ++f->corr;
	h.client_id.p = "moldau-replica";
	h.client_id.len = (int32_t)strlen(h.client_id.p);
	kp_req_hdr_encode(&w, &h);
	if (kp_encode(&w, km->req, RF_FETCH_VERSION,
	    kp_flexible(km, RF_FETCH_VERSION), &q) != 0 || w.err != 0) {
		log_warnx("broker: cannot encode a replica fetch");
		rf_close(f, NULL);
	} else {
		sz[0] = (uint8_t)(w.len >> 24);
		sz[1] = (uint8_t)(w.len >> 16);
		sz[2] = (uint8_t)(w.len >> 8);
		sz[3] = (uint8_t)w.len;
		bufferevent_write(f->bev, sz, 4);
		bufferevent_write(f->bev, w.data, w.len);
		f->inflight = true;
	}
	wbuf_clear(&w);
	free(ft);
	free(fp);
	free(tstart);
}

/* Append fetched batches (offsets assigned by the leader) as they are. */
static int16_t
rf_append(struct broker *b, struct partition *p, const uint8_t *data,
    size_t len)
{
	size_t pos = 0, nb = 0, cap = 0;
	int64_t *base = NULL, *last = NULL, *maxts = NULL;
	uint32_t *sizes = NULL;
	int32_t *epochs = NULL;
	size_t start = 0;
	int16_t err = KERR_NONE;

	while (pos < len) {
		struct batch_info bi;

		/* A partial batch at the end is normal: fetched next time. */
		if (batch_header_parse(data + pos, len - pos, &bi) != 0 ||
		    batch_size(&bi) > len - pos)
			break;
		if (batch_validate(data + pos, batch_size(&bi),
		    (size_t)b->cfg->message_max_bytes * 64, &bi) != 0) {
			log_warnx("broker %d: %s-%d: corrupt batch from the "
			    "leader at offset %" PRId64, self_id(b),
			    p->topic->name, p->index, bi.base_offset);
			err = KERR_CORRUPT_MESSAGE;
			break;
		}
		if (batch_last_offset(&bi) < p->log->log_end) {
			pos += batch_size(&bi);
			start = pos;
			continue;	/* already here */
		}
		if (nb == cap) {
			cap = cap ? cap * 2 : 16;
			base = xreallocarray(base, cap, sizeof(*base));
			last = xreallocarray(last, cap, sizeof(*last));
			maxts = xreallocarray(maxts, cap, sizeof(*maxts));
			sizes = xreallocarray(sizes, cap, sizeof(*sizes));
			epochs = xreallocarray(epochs, cap, sizeof(*epochs));
		}
		base[nb] = bi.base_offset;
		last[nb] = batch_last_offset(&bi);
		maxts[nb] = bi.max_timestamp;
		sizes[nb] = (uint32_t)batch_size(&bi);
		epochs[nb] = bi.leader_epoch;
		nb++;
		pos += batch_size(&bi);
	}
	if (nb > 0) {
		if (base[0] < p->log->log_end) {
			err = KERR_CORRUPT_MESSAGE;
			goto out;
		}
		for (size_t i = 0; i < nb; i++)
			lep_assign(b, p, epochs[i], base[i]);
		if (plog_append(p->log, data + start, pos - start, base, last,
		    maxts, sizes, nb) != 0) {
			err = KERR_KAFKA_STORAGE_ERROR;
			goto out;
		}
		uint64_t gen;

		/* Followers leave flushing to the page cache, as Kafka. */
		(void)logsvc_appended(b, p->topic, p->log, &gen);
	}
out:
	free(base);
	free(last);
	free(maxts);
	free(sizes);
	free(epochs);
	return err;
}

static void
rf_partition(struct rfetch *f, struct topic *t,
    const struct kp_fetch_response_partition_data *pd)
{
	struct broker *b = f->rm->b;
	struct partition *p = topic_partition(t, pd->partition_index);

	if (p == NULL || !p->hosted || p->leader != f->leader)
		return;
	if (!p->log->configured)
		plog_configure(p->log, t);
	switch (pd->error_code) {
	case KERR_NONE:
		break;
	case KERR_OFFSET_OUT_OF_RANGE:
		/* Behind the leader's log start: start again from there. */
		if (p->log->log_end < pd->log_start_offset) {
			plog_reset(p->log, pd->log_start_offset);
			lep_truncate(b, p, p->log->log_end);
		} else if (pd->high_watermark >= 0 &&
		    p->log->log_end > pd->high_watermark) {
			plog_truncate(p->log, pd->high_watermark);
			lep_truncate(b, p, p->log->log_end);
		}
		return;
	default:
		/* Leadership moving, or not yet known there: the image
		   will say; the next round asks again. */
		return;
	}
	if (pd->diverging_epoch != NULL &&
	    pd->diverging_epoch->end_offset >= 0) {
		int64_t end = pd->diverging_epoch->end_offset, own;
		int32_t e;

		/* Up to where both logs hold that epoch: the smaller end. */
		if (pd->diverging_epoch->epoch >= 0) {
			own = lep_end_offset(p, pd->diverging_epoch->epoch, &e);
			if (own < end)
				end = own;
		}
		log_info("broker %d: %s-%d: diverged from leader %d at epoch "
		    "%d: truncating to %" PRId64, self_id(b), t->name,
		    p->index, f->leader, pd->diverging_epoch->epoch, end);
		if (plog_truncate(p->log, end) == 0)
			lep_truncate(b, p, p->log->log_end);
		return;
	}
	if (pd->records.len > 0)
		rf_append(b, p, pd->records.p, (size_t)pd->records.len);
	p->hw = pd->high_watermark < p->log->log_end ? pd->high_watermark :
	    p->log->log_end;
}

static int
rf_response(struct rfetch *f, struct rd *rd)
{
	struct broker *b = f->rm->b;
	const struct kp_msg *km = kp_msg_get(KP_API_FETCH);
	struct kp_fetch_response q;
	struct kp_arena a = { 0 };
	int32_t corr;
	uint32_t ntags;
	int rc = -1;

	if (rd_i32(rd, &corr) != 0 || corr != f->corr ||
	    rd_uvarint(rd, &ntags) != 0 || ntags != 0)
		return -1;
	f->inflight = false;
	if (kp_decode(rd, km->resp, RF_FETCH_VERSION,
	    kp_flexible(km, RF_FETCH_VERSION), &q, &a) != 0)
		goto out;
	if (q.error_code != KERR_NONE) {
		f->next_ms = now_ms() + RF_RETRY_MS;
		rc = 0;
		goto out;
	}
	for (int32_t i = 0; i < q.responses.n; i++) {
		const struct kp_fetch_response_fetchable_topic_response *tr =
		    &q.responses.v[i];
		struct topic *t = topics_find(&b->topics, tr->topic.p,
		    tr->topic.len > 0 ? (size_t)tr->topic.len : 0);

		if (t == NULL)
			continue;
		for (int32_t j = 0; j < tr->partitions.n; j++)
			rf_partition(f, t, &tr->partitions.v[j]);
	}
	f->next_ms = 0;
	rc = 0;
out:
	kp_arena_clear(&a);
	return rc;
}

static void
rf_read_cb(struct bufferevent *bev, void *arg)
{
	struct rfetch *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4], *frame;
	uint32_t n;
	struct rd r;

	while (f->bev == bev && evbuffer_get_length(in) >= 4) {
		evbuffer_copyout(in, hdr, 4);
		n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (n > RF_MAX_FRAME) {
			rf_close(f, "oversized frame");
			return;
		}
		if (evbuffer_get_length(in) < (size_t)n + 4)
			return;
		evbuffer_drain(in, 4);
		frame = xmalloc(n ? n : 1);
		evbuffer_remove(in, frame, n);
		rd_init(&r, frame, n);
		if (rf_response(f, &r) != 0) {
			free(frame);
			rf_close(f, "bad fetch response");
			return;
		}
		free(frame);
	}
	if (f->bev == bev && !f->inflight && f->next_ms == 0)
		rf_send(f);
}

static void
rf_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rfetch *f = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		f->connected = true;
		rf_send(f);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		rf_close(f, what & BEV_EVENT_EOF ? "connection closed" :
		    "connection failed");
}

static struct rfetch *
rf_find(struct replica_mgr *rm, int32_t leader)
{
	struct rfetch *f;

	TAILQ_FOREACH(f, &rm->fetchers, entry)
		if (f->leader == leader)
			return f;
	return NULL;
}

/* One session per leader of a partition followed here. */
static void
rf_tick(struct replica_mgr *rm, int64_t now)
{
	struct broker *b = rm->b;
	struct rfetch *f, *nf;
	struct topic *t;

	TAILQ_FOREACH(f, &rm->fetchers, entry)
		f->used = false;
	TAILQ_FOREACH(t, &b->topics.list, entry) {
		for (int32_t i = 0; i < t->npart; i++) {
			struct partition *p = &t->parts[i];

			if (!p->hosted || p->leader < 0 ||
			    p->leader == self_id(b) ||
			    p->leader == PART_LOCAL)
				continue;
			if ((f = rf_find(rm, p->leader)) == NULL) {
				f = xcalloc(1, sizeof(*f));
				f->rm = rm;
				f->leader = p->leader;
				TAILQ_INSERT_TAIL(&rm->fetchers, f, entry);
			}
			f->used = true;
		}
	}
	for (f = TAILQ_FIRST(&rm->fetchers); f != NULL; f = nf) {
		nf = TAILQ_NEXT(f, entry);
		if (!f->used) {
			rf_free(f);
			continue;
		}
		if (f->bev == NULL && now >= f->next_ms)
			rf_connect(f);
		else if (f->connected && !f->inflight && now >= f->next_ms)
			rf_send(f);
	}
}

static void
replica_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct replica_mgr *rm = arg;
	struct broker *b = rm->b;
	int64_t now = now_ms();
	struct topic *t;

	(void)fd;
	(void)what;
	if (b->mc == NULL || meta_client_image(b->mc) == NULL)
		return;
	rf_tick(rm, now);
	TAILQ_FOREACH(t, &b->topics.list, entry)
		for (int32_t i = 0; i < t->npart; i++)
			isr_shrink_check(b, &t->parts[i], now);
	hw_waits_check(b);
}

int
replica_start(struct broker *b)
{
	struct replica_mgr *rm = xcalloc(1, sizeof(*rm));
	struct timeval tv = { 0, RF_TICK_MS * 1000 };

	rm->b = b;
	TAILQ_INIT(&rm->fetchers);
	TAILQ_INIT(&rm->waits);
	rm->timer = event_new(b->base, -1, EV_PERSIST, replica_tick_cb, rm);
	if (rm->timer == NULL) {
		free(rm);
		return -1;
	}
	event_add(rm->timer, &tv);
	b->repl = rm;
	return 0;
}

void
replica_stop(struct broker *b)
{
	struct replica_mgr *rm = b->repl;
	struct rfetch *f;
	struct hw_wait *w;

	if (rm == NULL)
		return;
	while ((w = TAILQ_FIRST(&rm->waits)) != NULL) {
		for (size_t i = 0; i < w->n; i++)
			w->t[i].met = true;
		hw_wait_finish(rm, w, false);
	}
	while ((f = TAILQ_FIRST(&rm->fetchers)) != NULL)
		rf_free(f);
	if (rm->timer != NULL)
		event_free(rm->timer);
	free(rm);
	b->repl = NULL;
}
