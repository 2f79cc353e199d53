/*
 * The broker's controller link (meta_client.h).  One connection at a time,
 * to cluster.controllers[cur]; NOT_CONTROLLER, a lost connection or a
 * Fetch naming another leader moves to the next (or named) controller.
 * Responses are matched by correlation id: the controller answers Raft
 * Fetches and deferred admin requests in their own order.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "batch.h"
#include "broker.h"
#include "err.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_client.h"
#include "meta_image.h"
#include "replica.h"
#include "snapshot.h"
#include "storage.h"
#include "tconfig.h"
#include "xmalloc.h"

#define MC_TICK_MS		250
#define MC_RETRY_MS		1000
#define MC_FETCH_IDLE_MS	200
#define MC_MAX_FRAME		(64u << 20)
#define MC_FWD_TIMEOUT_MS	30000
#define MC_SHUTDOWN_S		30
#define MC_MAX_SNAPSHOT		(1u << 30)
#define MC_FETCH_VERSION	12	/* what the controllers speak */
#define MC_META_TOPIC		"__cluster_metadata"

struct mc_ctl {
	int32_t			 id;
	struct sockaddr_storage	 ss;
	int			 sslen;
};

enum mc_kind { MC_REGISTER, MC_HEARTBEAT, MC_FETCH, MC_FORWARD, MC_SNAPSHOT,
	MC_ALTER_PARTITION };

/* A client request forwarded to the controller. */
struct mc_fwd {
	TAILQ_ENTRY(mc_fwd)	 entry;
	struct meta_client	*mc;
	struct req		*r;
	bool			 sent;
	bool			 answered;
	void			*resp;		/* in r's arena */
	uint64_t		 after_seq;	/* first Fetch sent after */
	int64_t			 target;	/* image offset to reach, -1 */
	int64_t			 deadline;	/* ms: give up after */
	int16_t			 api, version;	/* what is sent */
	const void		*msg;		/* in r's arena */
	meta_client_done	*done;		/* NULL: answer r as is */
};

struct mc_call {
	int32_t		 corr;
	int16_t		 api, version;
	enum mc_kind	 kind;
	struct mc_fwd	*fwd;
	uint64_t	 seq;		/* Fetch sequence number */
};

struct meta_client {
	struct broker		*b;
	struct mc_ctl		*ctls;
	size_t			 nctls, cur;
	struct bufferevent	*bev;
	bool			 connected;
	int32_t			 next_corr;
	struct mc_call		*calls;
	size_t			 ncalls, capcalls;
	struct event		*timer;
	struct kuuid		 incarnation;
	int64_t			 broker_epoch;	/* -1: not registered */
	bool			 fenced;
	bool			 reg_inflight, hb_inflight, fetch_inflight;
	int64_t			 next_reg_ms, next_hb_ms, next_fetch_ms;
	uint64_t		 fetch_seq;	/* Fetches sent */
	int32_t			 leader_epoch;
	struct meta_image	*img;
	int64_t			 hw;
	bool			 caught_up;
	bool			 unfenced_once;	/* a heartbeat said unfenced */
	/* Controlled shutdown under way: call shutdown_done when allowed. */
	void			(*shutdown_done)(struct broker *);
	struct event		*shutdown_timer;
	/* A snapshot being fetched (FetchSnapshot) when the log starts
	   past the image: its id and the bytes so far. */
	int64_t			 snap_offset;	/* -1: none */
	int32_t			 snap_epoch;
	struct wbuf		 snap;
	TAILQ_HEAD(, mc_fwd)	 fwds;
};

static void mc_kick(struct meta_client *);

/* broker.heartbeat.interval.ms, but at least three to a session. */
static int64_t
mc_heartbeat_ms(const struct mo_config *cfg)
{
	int64_t ms = cfg->broker_heartbeat_interval_ms;
	int64_t third = cfg->broker_session_timeout_ms / 3;

	return third > 0 && ms > third ? third : ms;
}
static void mc_shutdown_now(struct meta_client *);

/* Serve clients once registered, unfenced and caught up. */
static void
mc_maybe_serving(struct meta_client *mc)
{
	if (mc->caught_up && mc->unfenced_once)
		broker_serving(mc->b);
}

static int
mc_parse_ctl(const char *s, struct mc_ctl *c)
{
	const char *at = strchr(s, '@');
	char *end;
	long id;

	if (at == NULL)
		return -1;
	id = strtol(s, &end, 10);
	if (end != at || id < 0 || id > INT32_MAX)
		return -1;
	c->id = (int32_t)id;
	c->sslen = (int)sizeof(c->ss);
	/* Numeric only: no resolver on the loop. */
	return evutil_parse_sockaddr_port(at + 1, (struct sockaddr *)&c->ss,
	    &c->sslen);
}

static void
mc_unix_addr(const struct broker *b, struct mc_ctl *c)
{
	struct sockaddr_un sun;
	int n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/controller.sock",
	    b->cfg->run_dir);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return;		/* too long: TCP it is */
	memset(&c->ss, 0, sizeof(c->ss));
	memcpy(&c->ss, &sun, sizeof(sun));
	c->sslen = (int)sizeof(sun);
}

/* ---- connection ---- */

/* Forget f in the calls still waiting for an answer. */
static void
mc_fwd_unlink(struct mc_fwd *f)
{
	struct meta_client *mc = f->mc;
	struct req *r = f->r;

	for (size_t i = 0; i < mc->ncalls; i++)
		if (mc->calls[i].fwd == f)
			mc->calls[i].fwd = NULL;
	TAILQ_REMOVE(&mc->fwds, f, entry);
	r->waiting = false;
	r->cancel = NULL;
}

static void
mc_fwd_done(struct mc_fwd *f)
{
	struct broker *b = f->mc->b;
	struct req *r = f->r;
	const struct kp_msg *km = kp_msg_get(r->hdr.api_key);
	meta_client_done *done = f->done;
	void *resp = f->resp;

	mc_fwd_unlink(f);
	free(f);
	if (done != NULL)
		done(b, r, resp);
	else
		req_respond(r, km->resp, resp);
}

/* The controller did not answer: a callback gets NULL, a client loses
 * its connection (it retries elsewhere or again). */
static void
mc_fwd_fail(struct mc_fwd *f, const char *why)
{
	struct broker *b = f->mc->b;
	struct req *r = f->r;
	meta_client_done *done = f->done;

	mc_fwd_unlink(f);
	free(f);
	if (done != NULL)
		done(b, r, NULL);
	else
		req_close_conn(r, why);
}

/* Answers that will not come: let leaders ask again. */
static void
mc_alter_clear_all(struct meta_client *mc)
{
	struct topic *t;

	TAILQ_FOREACH(t, &mc->b->topics.list, entry)
		for (int32_t i = 0; i < t->npart; i++)
			t->parts[i].alter_inflight = false;
}

static void
mc_drop(struct meta_client *mc, const char *why, int32_t next_id)
{
	struct mc_fwd *f, *nf;
	size_t i;

	if (mc->bev != NULL) {
		log_info("broker %d: controller %d: %s", mc->b->cfg->node_id,
		    mc->ctls[mc->cur].id, why);
		bufferevent_free(mc->bev);
	}
	mc->bev = NULL;
	mc->connected = false;
	mc->ncalls = 0;
	mc->reg_inflight = mc->hb_inflight = mc->fetch_inflight = false;
	mc_alter_clear_all(mc);
	wbuf_clear(&mc->snap);
	mc->snap_offset = -1;
	for (f = TAILQ_FIRST(&mc->fwds); f != NULL; f = nf) {
		nf = TAILQ_NEXT(f, entry);
		/* Sent again once connected (to whichever leads then). */
		if (f->sent && !f->answered)
			f->sent = false;
	}
	for (i = 0; i < mc->nctls; i++)
		if (next_id >= 0 && mc->ctls[i].id == next_id)
			break;
	mc->cur = i < mc->nctls ? i : (mc->cur + 1) % mc->nctls;
}

static void
mc_send(struct meta_client *mc, enum mc_kind kind, int16_t api,
    int16_t version, const struct kp_struct *desc, const void *msg,
    struct mc_fwd *f)
{
	const struct kp_msg *km = kp_msg_get(api);
	struct kp_req_hdr h;
	struct wbuf w = { 0 };
	struct mc_call *c;
	size_t len;
	uint8_t sz[4];

	memset(&h, 0, sizeof(h));
	h.api_key = api;
	h.api_version = version;
	h.correlation_id = mc->next_corr++;
	h.client_id.p = "moldau-broker";
	h.client_id.len = (int32_t)strlen(h.client_id.p);
	kp_req_hdr_encode(&w, &h);
	if (kp_encode(&w, desc, version, kp_flexible(km, version), msg) != 0 ||
	    w.err != 0 || w.len > MC_MAX_FRAME) {
		log_warnx("broker: cannot encode %s v%d for the controller",
		    km->name, version);
		wbuf_clear(&w);
		if (f != NULL)
			mc_fwd_fail(f, "cannot forward to the controller");
		return;
	}
	len = w.len;
	sz[0] = (uint8_t)(len >> 24);
	sz[1] = (uint8_t)(len >> 16);
	sz[2] = (uint8_t)(len >> 8);
	sz[3] = (uint8_t)len;
	bufferevent_write(mc->bev, sz, 4);
	bufferevent_write(mc->bev, w.data, w.len);
	wbuf_clear(&w);
	if (mc->ncalls == mc->capcalls) {
		mc->capcalls = mc->capcalls ? mc->capcalls * 2 : 8;
		mc->calls = xreallocarray(mc->calls, mc->capcalls,
		    sizeof(*mc->calls));
	}
	c = &mc->calls[mc->ncalls++];
	c->corr = h.correlation_id;
	c->api = api;
	c->version = version;
	c->kind = kind;
	c->fwd = f;
	c->seq = kind == MC_FETCH ? ++mc->fetch_seq : 0;
}

/* ---- requests ---- */

static void
mc_send_register(struct meta_client *mc)
{
	struct kp_broker_registration_request q;
	struct kp_broker_registration_request_listener *l;
	struct broker *b = mc->b;

	kp_init(&kp_broker_registration_request_desc, &q);
	q.broker_id = b->cfg->node_id;
	q.cluster_id.p = b->cluster_id;
	q.cluster_id.len = (int32_t)strlen(b->cluster_id);
	q.incarnation_id = mc->incarnation;
	/* Every listener: clients get the endpoints of the listener they
	   connected to (security protocol ids: PLAINTEXT 0, SSL 1,
	   SASL_PLAINTEXT 2, SASL_SSL 3). */
	l = xcalloc(b->nlisteners, sizeof(*l));
	q.listeners.n = 0;
	for (size_t i = 0; i < b->nlisteners; i++) {
		const struct listener *lsn = &b->listeners[i];
		bool seen = false;

		for (int32_t j = 0; j < q.listeners.n; j++)
			seen |= strcmp(l[j].name.p, lsn->name) == 0;
		if (seen)	/* the same protocol on another address */
			continue;
		kp_init(&kp_broker_registration_request_listener_desc,
		    &l[q.listeners.n]);
		l[q.listeners.n].name.p = lsn->name;
		l[q.listeners.n].name.len = (int32_t)strlen(lsn->name);
		l[q.listeners.n].host.p = lsn->adv_host;
		l[q.listeners.n].host.len = (int32_t)strlen(lsn->adv_host);
		l[q.listeners.n].port = (uint16_t)lsn->adv_port;
		l[q.listeners.n].security_protocol =
		    (int16_t)((lsn->tls ? 1 : 0) + (lsn->sasl ? 2 : 0));
		q.listeners.n++;
	}
	q.listeners.v = l;
	q.features.n = 0;
	q.rack.len = -1;
	if (b->cfg->broker_rack != NULL && b->cfg->broker_rack[0] != '\0') {
		q.rack.p = b->cfg->broker_rack;
		q.rack.len = (int32_t)strlen(b->cfg->broker_rack);
	}
	q.previous_broker_epoch = -1;
	mc_send(mc, MC_REGISTER, KP_API_BROKER_REGISTRATION, 0,
	    &kp_broker_registration_request_desc, &q, NULL);
	free(l);
	mc->reg_inflight = true;
}

static void
mc_send_heartbeat(struct meta_client *mc)
{
	struct kp_broker_heartbeat_request q;

	kp_init(&kp_broker_heartbeat_request_desc, &q);
	q.broker_id = mc->b->cfg->node_id;
	q.broker_epoch = mc->broker_epoch;
	q.current_metadata_offset = mc->img->end_offset;
	q.want_fence = false;
	q.want_shut_down = mc->shutdown_done != NULL;
	mc_send(mc, MC_HEARTBEAT, KP_API_BROKER_HEARTBEAT, 0,
	    &kp_broker_heartbeat_request_desc, &q, NULL);
	mc->hb_inflight = true;
}

static void
mc_send_fetch(struct meta_client *mc)
{
	struct kp_fetch_request q;
	struct kp_fetch_request_fetch_topic t;
	struct kp_fetch_request_fetch_partition p;

	kp_init(&kp_fetch_request_desc, &q);
	kp_init(&kp_fetch_request_fetch_topic_desc, &t);
	kp_init(&kp_fetch_request_fetch_partition_desc, &p);
	p.partition = 0;
	p.current_leader_epoch = mc->leader_epoch;
	p.fetch_offset = mc->img->end_offset;
	p.last_fetched_epoch = mc->img->last_epoch;
	p.log_start_offset = -1;
	p.partition_max_bytes = 8 << 20;
	t.topic.p = MC_META_TOPIC;
	t.topic.len = (int32_t)strlen(MC_META_TOPIC);
	t.partitions.v = &p;
	t.partitions.n = 1;
	q.cluster_id.len = -1;
	/* An anonymous observer: a combined node's broker shares its id with
	   a voter, whose fetches would count toward the high watermark. */
	q.replica_id = -1;
	q.max_wait_ms = 0;
	q.max_bytes = 8 << 20;
	q.topics.v = &t;
	q.topics.n = 1;
	q.rack_id.len = 0;
	q.rack_id.p = "";
	mc_send(mc, MC_FETCH, KP_API_FETCH, MC_FETCH_VERSION,
	    &kp_fetch_request_desc, &q, NULL);
	mc->fetch_inflight = true;
}

static void
mc_send_snapshot(struct meta_client *mc)
{
	struct kp_fetch_snapshot_request q;
	struct kp_fetch_snapshot_request_topic_snapshot t;
	struct kp_fetch_snapshot_request_partition_snapshot p;
	struct kp_fetch_snapshot_request_snapshot_id id;

	kp_init(&kp_fetch_snapshot_request_desc, &q);
	kp_init(&kp_fetch_snapshot_request_topic_snapshot_desc, &t);
	kp_init(&kp_fetch_snapshot_request_partition_snapshot_desc, &p);
	id.end_offset = mc->snap_offset;
	id.epoch = mc->snap_epoch;
	p.partition = 0;
	p.current_leader_epoch = mc->leader_epoch;
	p.snapshot_id = &id;
	p.position = (int64_t)mc->snap.len;
	t.name.p = MC_META_TOPIC;
	t.name.len = (int32_t)strlen(MC_META_TOPIC);
	t.partitions.v = &p;
	t.partitions.n = 1;
	q.cluster_id.len = -1;
	q.replica_id = -1;
	q.max_bytes = 8 << 20;
	q.topics.v = &t;
	q.topics.n = 1;
	mc_send(mc, MC_SNAPSHOT, KP_API_FETCH_SNAPSHOT, 0,
	    &kp_fetch_snapshot_request_desc, &q, NULL);
	mc->fetch_inflight = true;
}

/* The whole snapshot is here: check it, make it the image. */
static void
mc_snapshot_install(struct meta_client *mc)
{
	char *dir, err[256];
	struct meta_image *img;

	xasprintf(&dir, "%s/__cluster_metadata-0", mc->b->cfg->data_dir);
	if (mkdir_p(dir, 0755) != 0) {
		log_warn("broker: cannot create %s", dir);
		img = NULL;
	} else if ((img = snapshot_install(dir, mc->snap_offset,
	    mc->snap_epoch, mc->snap.data, mc->snap.len, err,
	    sizeof(err))) == NULL)
		log_warnx("broker %d: metadata snapshot %" PRId64 "-%d "
		    "refused: %s", mc->b->cfg->node_id, mc->snap_offset,
		    mc->snap_epoch, err);
	if (img != NULL)
		snapshot_prune(dir, 1);
	free(dir);
	if (img != NULL) {
		meta_image_free(mc->img);
		mc->img = img;
		mc->img->end_offset = mc->snap_offset;
		mc->img->last_epoch = mc->snap_epoch;
		mc->caught_up = false;	/* reconciled at the next Fetch */
		log_info("broker %d: metadata image from snapshot %" PRId64
		    "-%d: %zu topics, %zu brokers", mc->b->cfg->node_id,
		    mc->snap_offset, mc->snap_epoch, img->ntopics,
		    img->nbrokers);
	}
	wbuf_clear(&mc->snap);
	mc->snap_offset = -1;
	mc->next_fetch_ms = img != NULL ? 0 : now_ms() + MC_RETRY_MS;
}

static int
mc_on_snapshot(struct meta_client *mc, struct rd *rd, int16_t v,
    struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(KP_API_FETCH_SNAPSHOT);
	const struct kp_fetch_snapshot_response_partition_snapshot *p;
	struct kp_fetch_snapshot_response q;

	mc->fetch_inflight = false;
	if (kp_decode(rd, km->resp, v, kp_flexible(km, v), &q, a) != 0)
		return -1;
	if (mc->snap_offset < 0)
		return 0;
	if (q.error_code != KERR_NONE || q.topics.n != 1 ||
	    q.topics.v[0].partitions.n != 1 ||
	    (p = &q.topics.v[0].partitions.v[0])->error_code != KERR_NONE ||
	    p->position != (int64_t)mc->snap.len || p->size < 0 ||
	    p->size > (int64_t)MC_MAX_SNAPSHOT ||
	    p->position + p->unaligned_records.len > p->size) {
		/* Start over from a fresh Fetch (a newer snapshot, another
		   leader, or a bad answer). */
		log_info("broker %d: metadata snapshot fetch restarted",
		    mc->b->cfg->node_id);
		wbuf_clear(&mc->snap);
		mc->snap_offset = -1;
		mc->next_fetch_ms = now_ms() + MC_RETRY_MS;
		return 0;
	}
	if (p->unaligned_records.len > 0)
		wbuf_put(&mc->snap, p->unaligned_records.p,
		    (size_t)p->unaligned_records.len);
	if ((int64_t)mc->snap.len >= p->size)
		mc_snapshot_install(mc);
	else if (p->unaligned_records.len > 0)
		mc_send_snapshot(mc);
	else
		mc->next_fetch_ms = now_ms() + MC_RETRY_MS;
	return 0;
}

static void
mc_send_fwd(struct meta_client *mc, struct mc_fwd *f)
{
	const struct kp_msg *km = kp_msg_get(f->api);

	f->sent = true;
	mc_send(mc, MC_FORWARD, f->api, f->version, km->req, f->msg, f);
}

static void
mc_kick(struct meta_client *mc)
{
	int64_t now = now_ms();
	struct mc_fwd *f, *nf;

	if (!mc->connected)
		return;
	if (mc->broker_epoch < 0 && !mc->reg_inflight &&
	    now >= mc->next_reg_ms)
		mc_send_register(mc);
	if (mc->broker_epoch >= 0 && !mc->hb_inflight &&
	    now >= mc->next_hb_ms)
		mc_send_heartbeat(mc);
	if (!mc->fetch_inflight && now >= mc->next_fetch_ms)
		mc_send_fetch(mc);
	for (f = TAILQ_FIRST(&mc->fwds); f != NULL && mc->connected; f = nf) {
		nf = TAILQ_NEXT(f, entry);
		if (!f->sent)
			mc_send_fwd(mc, f);
	}
}

/* ---- the metadata image and the topic registry ---- */

static bool
mc_internal(const char *name)
{
	return strncmp(name, "__", 2) == 0;
}

/* Give topic lt the overrides the image holds for it. */
static void
mc_reconcile_config(struct meta_client *mc, struct topic *lt)
{
	struct tconfig *stage = NULL;
	char msg[256];
	size_t i;

	for (i = 0; i < mc->img->nconfigs; i++) {
		const struct mi_config *c = &mc->img->configs[i];

		if (c->type != 2 /* TOPIC */ || c->value == NULL ||
		    strcmp(c->resource, lt->name) != 0)
			continue;
		if (stage == NULL)
			stage = tconfig_new(mc->b->topics.cfg);
		if (tconfig_set(stage, c->name, strlen(c->name), c->value,
		    strlen(c->value), msg, sizeof(msg)) != KERR_NONE)
			log_warnx("broker: topic %s: controller config "
			    "ignored: %s", lt->name, msg);
	}
	if (stage == NULL) {
		if (tconfig_noverrides(lt->config) == 0)
			return;
		stage = tconfig_new(mc->b->topics.cfg);
	}
	if (tconfig_same_overrides(stage, lt->config)) {
		tconfig_free(stage);
		return;
	}
	if (tconfig_replace(lt->config, stage) == 0)
		log_info("broker: topic %s: config from the controller "
		    "(%zu override(s))", lt->name,
		    tconfig_noverrides(lt->config));
}

/* Make the registry hold the image's topics, with their ids and configs. */
static void
mc_reconcile(struct meta_client *mc)
{
	struct topics *ts = &mc->b->topics;
	struct topic *lt, *next;
	int16_t err;
	size_t i;

	for (i = 0; i < mc->img->ntopics; i++) {
		const struct mi_topic *t = &mc->img->topics[i];
		size_t len = strlen(t->name);
		int32_t np = (int32_t)t->nparts;

		if (np <= 0)
			continue;
		lt = topics_find(ts, t->name, len);
		if (lt != NULL && memcmp(lt->id.b, t->id.b, sizeof(t->id.b))) {
			log_info("broker: topic %s has another id at the "
			    "controller: replacing it", t->name);
			topics_delete(ts, lt);
			lt = NULL;
		}
		if (lt == NULL) {
			err = topics_create_id(ts, t->name, len, &t->id, np,
			    &lt);
			if (err == KERR_NONE) {
				char idt[23];

				uuid_to_text(&t->id, idt);
				log_info("broker %d: topic %s (id %s) from the "
				    "controller's metadata", mc->b->cfg->node_id,
				    t->name, idt);
			} else
				log_warnx("broker: cannot create topic %s from "
				    "the controller's metadata: %s", t->name,
				    kerr_name(err));
		} else if (lt->npart < np &&
		    (err = topics_add_partitions(ts, lt, np)) != KERR_NONE)
			log_warnx("broker: cannot grow topic %s to %d "
			    "partitions: %s", t->name, np, kerr_name(err));
		if (lt != NULL) {
			mc_reconcile_config(mc, lt);
			for (size_t k = 0; k < t->nparts; k++)
				if (t->parts[k].id >= 0 &&
				    t->parts[k].id < lt->npart)
					replica_apply(mc->b,
					    &lt->parts[t->parts[k].id],
					    &t->parts[k]);
		}
	}
	for (lt = TAILQ_FIRST(&ts->list); lt != NULL; lt = next) {
		next = TAILQ_NEXT(lt, entry);
		if (mc_internal(lt->name) ||
		    meta_image_topic(mc->img, lt->name, strlen(lt->name)) !=
		    NULL)
			continue;
		topics_delete(ts, lt);
	}
	fetch_wake(mc->b);
}

/* Decode one metadata batch (one entry) at p; its size or 0 when bad. */
static size_t
mc_entry(struct meta_client *mc, const uint8_t *p, size_t len)
{
	struct batch_info bi;
	struct wbuf tmp = { 0 };
	struct record rec;
	struct rd r;
	bool control;
	int rc = 0;

	if (batch_validate(p, len, MC_MAX_FRAME, &bi) != 0 ||
	    bi.record_count != 1 || batch_codec(&bi) != MO_CODEC_NONE)
		return 0;
	if (bi.base_offset != mc->img->end_offset ||
	    bi.base_offset >= mc->hw)
		return batch_size(&bi);	/* not next, or not committed */
	control = (bi.attributes & BATCH_ATTR_CONTROL) != 0;
	if (!control) {
		if (batch_records(p, &bi, MC_MAX_FRAME, &tmp, &r) != 0 ||
		    batch_records_next(&r, &rec) != 0) {
			wbuf_clear(&tmp);
			return 0;
		}
		if (rec.value.len > 0)
			rc = meta_image_apply(mc->img, rec.value.p,
			    (size_t)rec.value.len);
		wbuf_clear(&tmp);
		if (rc != 0)
			log_warnx("broker: metadata entry %" PRId64 ": %s",
			    bi.base_offset, mo_strerror(rc));
	}
	mc->img->end_offset = bi.base_offset + 1;
	mc->img->last_epoch = bi.leader_epoch;
	return batch_size(&bi);
}

static void
mc_fwds_progress(struct meta_client *mc, uint64_t seq)
{
	struct mc_fwd *f, *nf;

	for (f = TAILQ_FIRST(&mc->fwds); f != NULL; f = nf) {
		nf = TAILQ_NEXT(f, entry);
		if (!f->answered)
			continue;
		if (f->target < 0 && seq >= f->after_seq)
			f->target = mc->hw;
		if (f->target >= 0 && mc->img->end_offset >= f->target)
			mc_fwd_done(f);
	}
}

/* ---- responses ---- */

static int
mc_on_register(struct meta_client *mc, struct rd *rd, int16_t v,
    struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(KP_API_BROKER_REGISTRATION);
	struct kp_broker_registration_response q;

	mc->reg_inflight = false;
	if (kp_decode(rd, km->resp, v, kp_flexible(km, v), &q, a) != 0)
		return -1;
	if (q.error_code == KERR_NOT_CONTROLLER) {
		mc_drop(mc, "not the active controller", -1);
		return 1;
	}
	if (q.error_code != KERR_NONE) {
		log_warnx("broker %d: registration refused: %s",
		    mc->b->cfg->node_id, kerr_name(q.error_code));
		mc->next_reg_ms = now_ms() + MC_RETRY_MS;
		return 0;
	}
	mc->broker_epoch = q.broker_epoch;
	mc->next_hb_ms = 0;
	log_info("broker %d: registered with controller %d (broker epoch "
	    "%" PRId64 ")", mc->b->cfg->node_id, mc->ctls[mc->cur].id,
	    q.broker_epoch);
	return 0;
}

static int
mc_on_heartbeat(struct meta_client *mc, struct rd *rd, int16_t v,
    struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(KP_API_BROKER_HEARTBEAT);
	struct kp_broker_heartbeat_response q;

	mc->hb_inflight = false;
	if (kp_decode(rd, km->resp, v, kp_flexible(km, v), &q, a) != 0)
		return -1;
	switch (q.error_code) {
	case KERR_NONE:
		break;
	case KERR_NOT_CONTROLLER:
		mc_drop(mc, "not the active controller", -1);
		return 1;
	case KERR_STALE_BROKER_EPOCH:
	case KERR_BROKER_ID_NOT_REGISTERED:
		log_info("broker %d: heartbeat: %s, registering again",
		    mc->b->cfg->node_id, kerr_name(q.error_code));
		mc->broker_epoch = -1;
		return 0;
	default:
		log_warnx("broker %d: heartbeat: %s", mc->b->cfg->node_id,
		    kerr_name(q.error_code));
		mc->next_hb_ms = now_ms() + MC_RETRY_MS;
		return 0;
	}
	if (mc->shutdown_done != NULL) {
		if (q.should_shut_down) {
			log_info("broker %d: the controller moved our "
			    "leaderships: stopping", mc->b->cfg->node_id);
			mc_shutdown_now(mc);
			return 0;
		}
		mc->next_hb_ms = now_ms() + MC_TICK_MS;
		return 0;
	}
	if (q.is_fenced != mc->fenced)
		log_info("broker %d: %s by the controller", mc->b->cfg->node_id,
		    q.is_fenced ? "fenced" : "unfenced");
	mc->fenced = q.is_fenced;
	if (!q.is_fenced) {
		mc->unfenced_once = true;
		mc_maybe_serving(mc);
	}
	/* Still fenced: ask again soon to be let in. */
	mc->next_hb_ms = now_ms() + (q.is_fenced ? MC_TICK_MS :
	    mc_heartbeat_ms(mc->b->cfg));
	return 0;
}

static int
mc_on_fetch(struct meta_client *mc, struct rd *rd, int16_t v,
    struct kp_arena *a, uint64_t seq)
{
	const struct kp_msg *km = kp_msg_get(KP_API_FETCH);
	const struct kp_fetch_response_partition_data *p;
	struct kp_fetch_response q;
	const uint8_t *rp;
	size_t left, used;
	int64_t before = mc->img->end_offset;
	int32_t leader = -1;

	mc->fetch_inflight = false;
	mc->next_fetch_ms = now_ms() + MC_FETCH_IDLE_MS;
	if (kp_decode(rd, km->resp, v, kp_flexible(km, v), &q, a) != 0 ||
	    q.responses.n != 1 || q.responses.v[0].partitions.n != 1)
		return -1;
	p = &q.responses.v[0].partitions.v[0];
	if (p->current_leader != NULL) {
		leader = p->current_leader->leader_id;
		if (p->current_leader->leader_epoch > mc->leader_epoch)
			mc->leader_epoch = p->current_leader->leader_epoch;
	}
	if (p->error_code == KERR_FENCED_LEADER_EPOCH) {
		mc->next_fetch_ms = 0;
		return 0;
	}
	if (p->error_code != KERR_NONE) {
		if (leader >= 0 && leader != mc->ctls[mc->cur].id) {
			mc_drop(mc, "not the leader", leader);
			return 1;
		}
		return 0;
	}
	if (p->snapshot_id != NULL && p->snapshot_id->end_offset >= 0) {
		if (mc->snap_offset < 0) {
			log_info("broker %d: the metadata log starts at "
			    "snapshot %" PRId64 "-%d: fetching it",
			    mc->b->cfg->node_id, p->snapshot_id->end_offset,
			    p->snapshot_id->epoch);
			mc->snap_offset = p->snapshot_id->end_offset;
			mc->snap_epoch = p->snapshot_id->epoch;
			wbuf_clear(&mc->snap);
			mc_send_snapshot(mc);
		}
		return 0;
	}
	mc->hw = p->high_watermark;
	rp = p->records.p;
	left = p->records.len > 0 ? (size_t)p->records.len : 0;
	while (left > 0 && (used = mc_entry(mc, rp, left)) > 0) {
		rp += used;
		left -= used;
	}
	if (left > 0)
		log_warnx("broker %d: malformed metadata batch after offset "
		    "%" PRId64, mc->b->cfg->node_id, mc->img->end_offset);
	if (mc->img->end_offset != before)
		mc->next_fetch_ms = 0;
	if (mc->img->end_offset >= mc->hw &&
	    (mc->img->end_offset != before || !mc->caught_up)) {
		if (!mc->caught_up)
			log_info("broker %d: caught up with the metadata log "
			    "at offset %" PRId64 ": %zu topics",
			    mc->b->cfg->node_id, mc->img->end_offset,
			    mc->img->ntopics);
		mc->caught_up = true;
		mc_reconcile(mc);
		mc_maybe_serving(mc);
	}
	if (mc->caught_up)
		mc_fwds_progress(mc, seq);
	return 0;
}

/* Did a follower answer (a request to send again to the leader)? */
static bool
mc_not_controller(int16_t api, const void *resp)
{
#define MC_ANY_NOT_CONTROLLER(type, field) do {				\
	const type *x_ = resp;						\
	for (int32_t i_ = 0; i_ < x_->field.n; i_++)			\
		if (x_->field.v[i_].error_code == KERR_NOT_CONTROLLER)	\
			return true;					\
} while (0)
	switch (api) {
	case KP_API_CREATE_TOPICS:
		MC_ANY_NOT_CONTROLLER(struct kp_create_topics_response, topics);
		break;
	case KP_API_DELETE_TOPICS:
		MC_ANY_NOT_CONTROLLER(struct kp_delete_topics_response,
		    responses);
		break;
	case KP_API_CREATE_PARTITIONS:
		MC_ANY_NOT_CONTROLLER(struct kp_create_partitions_response,
		    results);
		break;
	case KP_API_INCREMENTAL_ALTER_CONFIGS:
		MC_ANY_NOT_CONTROLLER(
		    struct kp_incremental_alter_configs_response, responses);
		break;
	case KP_API_ALLOCATE_PRODUCER_IDS:
		return ((const struct kp_allocate_producer_ids_response *)
		    resp)->error_code == KERR_NOT_CONTROLLER;
	case KP_API_CREATE_ACLS:
		MC_ANY_NOT_CONTROLLER(struct kp_create_acls_response, results);
		break;
	case KP_API_DELETE_ACLS:
		MC_ANY_NOT_CONTROLLER(struct kp_delete_acls_response,
		    filter_results);
		break;
	case KP_API_ALTER_USER_SCRAM_CREDENTIALS:
		MC_ANY_NOT_CONTROLLER(
		    struct kp_alter_user_scram_credentials_response, results);
		break;
	default:
		break;
	}
	return false;
#undef MC_ANY_NOT_CONTROLLER
}

static int
mc_on_forward(struct meta_client *mc, struct mc_call *c, struct rd *rd)
{
	const struct kp_msg *km = kp_msg_get(c->api);
	struct mc_fwd *f = c->fwd;
	struct req *r;
	uint8_t *copy;
	size_t len = (size_t)(rd->end - rd->p);
	struct rd body;

	if (f == NULL)
		return 0;	/* the client went away */
	r = f->r;
	/* The decoded strings borrow the bytes: keep them with the request. */
	copy = kp_arena_alloc(&r->arena, len ? len : 1);
	memcpy(copy, rd->p, len);
	rd_init(&body, copy, len);
	f->resp = kp_arena_alloc(&r->arena, km->resp->size);
	if (kp_decode(&body, km->resp, c->version,
	    kp_flexible(km, c->version), f->resp, &r->arena) != 0)
		return -1;
	if (mc_not_controller(c->api, f->resp)) {
		/* Sent again to the next controller until the deadline. */
		f->sent = false;
		mc_drop(mc, "not the active controller", -1);
		return 1;
	}
	f->answered = true;
	/* Answer once a Fetch sent from now on has been applied. */
	f->after_seq = mc->fetch_seq + 1;
	mc->next_fetch_ms = 0;
	return 0;
}

static int
mc_on_alter_partition(struct meta_client *mc, struct rd *rd, int16_t v,
    struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(KP_API_ALTER_PARTITION);
	struct kp_alter_partition_response q;

	if (kp_decode(rd, km->resp, v, kp_flexible(km, v), &q, a) != 0)
		return -1;
	if (q.error_code == KERR_NOT_CONTROLLER) {
		mc_drop(mc, "not the active controller", -1);
		mc_alter_clear_all(mc);
		return 1;
	}
	for (int32_t i = 0; i < q.topics.n; i++) {
		const struct kp_alter_partition_response_topic_data *t =
		    &q.topics.v[i];
		struct topic *lt = topics_find_id(&mc->b->topics, &t->topic_id);

		for (int32_t j = 0; lt != NULL && j < t->partitions.n; j++) {
			const struct kp_alter_partition_response_partition_data
			    *pd = &t->partitions.v[j];
			struct partition *p = topic_partition(lt,
			    pd->partition_index);

			if (p == NULL)
				continue;
			p->alter_inflight = false;
			if (pd->error_code != KERR_NONE || q.error_code != 0)
				p->alter_after_ms = now_ms() + MC_RETRY_MS;
			if (pd->error_code != KERR_NONE || q.error_code != 0)
				log_info("broker %d: %s-%d: ISR change "
				    "refused: %s", mc->b->cfg->node_id,
				    lt->name, p->index, kerr_name(
				    pd->error_code ? pd->error_code :
				    q.error_code));
		}
	}
	mc->next_fetch_ms = 0;	/* the new ISR comes with the metadata */
	return 0;
}

static int
mc_frame(struct meta_client *mc, struct rd *rd)
{
	struct kp_arena a = { 0 };
	struct mc_call c;
	uint32_t ntags;
	int32_t corr;
	size_t i;
	int rc = -1;

	if (rd_i32(rd, &corr) != 0)
		return -1;
	for (i = 0; i < mc->ncalls; i++)
		if (mc->calls[i].corr == corr)
			break;
	if (i == mc->ncalls)
		return -1;
	c = mc->calls[i];
	memmove(&mc->calls[i], &mc->calls[i + 1],
	    (mc->ncalls - i - 1) * sizeof(mc->calls[0]));
	mc->ncalls--;
	if (kp_resp_hdr_version(c.api, c.version) >= 1 &&
	    (rd_uvarint(rd, &ntags) != 0 || ntags != 0))
		return -1;
	switch (c.kind) {
	case MC_REGISTER:
		rc = mc_on_register(mc, rd, c.version, &a);
		break;
	case MC_HEARTBEAT:
		rc = mc_on_heartbeat(mc, rd, c.version, &a);
		break;
	case MC_FETCH:
		rc = mc_on_fetch(mc, rd, c.version, &a, c.seq);
		break;
	case MC_FORWARD:
		rc = mc_on_forward(mc, &c, rd);
		break;
	case MC_SNAPSHOT:
		rc = mc_on_snapshot(mc, rd, c.version, &a);
		break;
	case MC_ALTER_PARTITION:
		rc = mc_on_alter_partition(mc, rd, c.version, &a);
		break;
	}
	kp_arena_clear(&a);
	return rc;
}

static void
mc_read_cb(struct bufferevent *bev, void *arg)
{
	struct meta_client *mc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4], *frame;
	uint32_t n;
	struct rd r;
	int rc;

	while (mc->bev == bev && evbuffer_get_length(in) >= 4) {
		evbuffer_copyout(in, hdr, 4);
		n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (n > MC_MAX_FRAME) {
			mc_drop(mc, "oversized frame", -1);
			return;
		}
		if (evbuffer_get_length(in) < 4 + (size_t)n)
			break;
		evbuffer_drain(in, 4);
		frame = xmalloc(n ? n : 1);
		evbuffer_remove(in, frame, n);
		rd_init(&r, frame, n);
		rc = mc_frame(mc, &r);
		free(frame);
		if (rc < 0) {
			mc_drop(mc, "malformed or unexpected answer", -1);
			return;
		}
		if (rc > 0)
			return;	/* dropped: bev is gone */
	}
	mc_kick(mc);
}

static void
mc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct meta_client *mc = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		mc->connected = true;
		log_info("broker %d: connected to controller %d%s",
		    mc->b->cfg->node_id, mc->ctls[mc->cur].id,
		    mc->ctls[mc->cur].ss.ss_family == AF_UNIX ?
		    " (local socket)" : "");
		mc_kick(mc);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		mc_drop(mc, what & BEV_EVENT_EOF ? "connection closed" :
		    "connection failed", -1);
}

static void
mc_connect(struct meta_client *mc)
{
	const struct mc_ctl *c = &mc->ctls[mc->cur];

	mc->bev = bufferevent_socket_new(mc->b->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (mc->bev == NULL)
		return;
	bufferevent_setcb(mc->bev, mc_read_cb, NULL, mc_event_cb, mc);
	bufferevent_enable(mc->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(mc->bev,
	    (const struct sockaddr *)&c->ss, c->sslen) != 0) {
		bufferevent_free(mc->bev);
		mc->bev = NULL;
		mc->cur = (mc->cur + 1) % mc->nctls;
	}
}

static void
mc_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct meta_client *mc = arg;

	struct mc_fwd *f, *nf;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	for (f = TAILQ_FIRST(&mc->fwds); f != NULL; f = nf) {
		nf = TAILQ_NEXT(f, entry);
		if (now >= f->deadline)
			mc_fwd_fail(f, "no answer from the controller");
	}
	if (mc->bev == NULL)
		mc_connect(mc);
	else
		mc_kick(mc);
}

/*
 * The incarnation id registered with the controllers, kept in the data
 * dir: a broker restarted on its own disk (after a crash) is let back in
 * at once, while another process claiming the same node id with another
 * disk is refused (DUPLICATE_BROKER_REGISTRATION) until the session of
 * the first one expires.
 */
static void
mc_incarnation(const char *data_dir, struct kuuid *u)
{
	char *path, *tmp, text[64];
	bool saved;
	FILE *f;

	xasprintf(&path, "%s/broker.incarnation", data_dir);
	if ((f = fopen(path, "r")) != NULL) {
		bool ok = fgets(text, sizeof(text), f) != NULL;

		fclose(f);
		text[strcspn(text, "\n")] = '\0';
		if (ok && uuid_from_text(text, u) == 0) {
			free(path);
			return;
		}
		log_warnx("broker: %s: not an incarnation id; making a new "
		    "one", path);
	}
	uuid_random(u);
	uuid_to_text(u, text);
	xasprintf(&tmp, "%s.tmp", path);
	saved = false;
	if ((f = fopen(tmp, "w")) != NULL) {
		saved = fprintf(f, "%s\n", text) > 0 && fflush(f) == 0 &&
		    fsync(fileno(f)) == 0;
		saved = fclose(f) == 0 && saved && rename(tmp, path) == 0;
	}
	if (!saved)
		log_warn("broker: cannot write %s", path);
	free(tmp);
	free(path);
}

/* ---- controlled shutdown ---- */

static void
mc_shutdown_now(struct meta_client *mc)
{
	void (*done)(struct broker *) = mc->shutdown_done;

	mc->shutdown_done = NULL;
	if (mc->shutdown_timer != NULL)
		event_del(mc->shutdown_timer);
	if (done != NULL)
		done(mc->b);
}

static void
mc_shutdown_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct meta_client *mc = arg;

	(void)fd;
	(void)what;
	log_warnx("broker %d: controlled shutdown not confirmed in %d s: "
	    "stopping anyway", mc->b->cfg->node_id, MC_SHUTDOWN_S);
	mc_shutdown_now(mc);
}

void
meta_client_shutdown(struct meta_client *mc, void (*done)(struct broker *))
{
	struct timeval tv = { MC_SHUTDOWN_S, 0 };

	if (!mc->connected || mc->broker_epoch < 0 || mc->fenced) {
		done(mc->b);
		return;
	}
	mc->shutdown_done = done;
	mc->shutdown_timer = evtimer_new(mc->b->base,
	    mc_shutdown_timeout_cb, mc);
	evtimer_add(mc->shutdown_timer, &tv);
	log_info("broker %d: controlled shutdown: asking the controller to "
	    "move leaderships", mc->b->cfg->node_id);
	if (!mc->hb_inflight)
		mc_send_heartbeat(mc);
}

/* ---- interface ---- */

struct meta_client *
meta_client_start(struct broker *b)
{
	struct meta_client *mc = xcalloc(1, sizeof(*mc));
	struct timeval tv = { 0, MC_TICK_MS * 1000 };
	size_t i;

	mc->b = b;
	TAILQ_INIT(&mc->fwds);
	mc->ctls = xcalloc(b->cfg->controllers.n, sizeof(*mc->ctls));
	for (i = 0; i < b->cfg->controllers.n; i++) {
		if (mc_parse_ctl(b->cfg->controllers.v[i],
		    &mc->ctls[mc->nctls]) != 0) {
			log_warnx("broker: cluster.controllers: cannot use %s "
			    "(id@address:port, numeric address)",
			    b->cfg->controllers.v[i]);
			continue;
		}
		/* Under moldaud the node's own controller is reached over
		   run_dir's Unix socket. */
		if (b->ipc != NULL && mc->ctls[mc->nctls].id == b->cfg->node_id)
			mc_unix_addr(b, &mc->ctls[mc->nctls]);
		mc->nctls++;
	}
	if (mc->nctls == 0) {
		meta_client_free(mc);
		return NULL;
	}
	mc->broker_epoch = -1;
	mc->hw = 0;
	mc->snap_offset = -1;
	mc->img = meta_image_new();
	mc_incarnation(b->cfg->data_dir, &mc->incarnation);
	mc->timer = event_new(b->base, -1, EV_PERSIST, mc_tick_cb, mc);
	event_add(mc->timer, &tv);
	mc_connect(mc);
	return mc;
}

void
meta_client_free(struct meta_client *mc)
{
	struct mc_fwd *f;

	if (mc == NULL)
		return;
	while ((f = TAILQ_FIRST(&mc->fwds)) != NULL)
		mc_fwd_fail(f, "broker stopping");
	if (mc->bev != NULL)
		bufferevent_free(mc->bev);
	if (mc->timer != NULL)
		event_free(mc->timer);
	if (mc->shutdown_timer != NULL)
		event_free(mc->shutdown_timer);
	meta_image_free(mc->img);
	wbuf_clear(&mc->snap);
	free(mc->calls);
	free(mc->ctls);
	free(mc);
}

static void
mc_fwd_cancel(struct req *r)
{
	struct mc_fwd *f = r->cancel_arg;

	mc_fwd_unlink(f);
	free(f);
}

void
meta_client_call(struct meta_client *mc, struct req *r, int16_t api,
    int16_t version, const void *msg, meta_client_done *done)
{
	struct mc_fwd *f = xcalloc(1, sizeof(*f));

	f->mc = mc;
	f->r = r;
	f->target = -1;
	f->deadline = now_ms() + MC_FWD_TIMEOUT_MS;
	f->api = api;
	f->version = version;
	f->msg = msg;
	f->done = done;
	r->waiting = true;
	r->cancel = mc_fwd_cancel;
	r->cancel_arg = f;
	TAILQ_INSERT_TAIL(&mc->fwds, f, entry);
	if (mc->connected)
		mc_send_fwd(mc, f);
}

void
meta_client_forward(struct meta_client *mc, struct req *r)
{
	meta_client_call(mc, r, r->hdr.api_key, r->hdr.api_version, r->msg,
	    NULL);
}

int64_t
meta_client_broker_epoch(const struct meta_client *mc)
{
	return mc->broker_epoch;
}

const struct meta_image *
meta_client_image(const struct meta_client *mc)
{
	return mc->caught_up ? mc->img : NULL;
}

/* Broker mb's endpoint on listener name (NULL: its first). */
static const struct mi_endpoint *
mc_endpoint(const struct mi_broker *mb, const char *name)
{
	for (size_t i = 0; i < mb->neps; i++)
		if (name == NULL || (mb->eps[i].name != NULL &&
		    strcmp(mb->eps[i].name, name) == 0))
			return &mb->eps[i];
	return NULL;
}

size_t
meta_client_brokers(const struct meta_client *mc, const struct listener *lsn,
    struct mc_broker **out)
{
	const struct broker *b = mc->b;
	const struct meta_image *img = mc->img;
	struct mc_broker *v = xcalloc(img->nbrokers + 1, sizeof(*v));
	size_t n = 0;

	v[n].id = b->cfg->node_id;
	v[n].host = lsn->adv_host;
	v[n].port = lsn->adv_port;
	v[n++].rack = NULL;
	for (size_t i = 0; i < img->nbrokers; i++) {
		const struct mi_broker *mb = &img->brokers[i];
		const struct mi_endpoint *ep;

		if (mb->id == b->cfg->node_id) {
			v[0].rack = mb->rack;
			continue;
		}
		if (mb->fenced || (ep = mc_endpoint(mb, lsn->name)) == NULL)
			continue;
		v[n].id = mb->id;
		v[n].host = ep->host;
		v[n].port = ep->port;
		v[n++].rack = mb->rack;
	}
	*out = v;
	return n;
}

int
meta_client_broker_addr(const struct meta_client *mc, int32_t id,
    const char *name, const char **host, int *port)
{
	const struct mi_broker *mb = meta_image_broker(mc->img, id);
	const struct mi_endpoint *ep;

	if (mb == NULL || (ep = mc_endpoint(mb, name)) == NULL)
		return -1;
	*host = ep->host;
	*port = ep->port;
	return 0;
}

int
meta_client_alter_partition(struct meta_client *mc, struct partition *p,
    int32_t *isr, size_t n)
{
	struct kp_alter_partition_request q;
	struct kp_alter_partition_request_topic_data t;
	struct kp_alter_partition_request_partition_data pd;

	if (!mc->connected || mc->broker_epoch < 0)
		return -1;
	kp_init(&kp_alter_partition_request_desc, &q);
	kp_init(&kp_alter_partition_request_topic_data_desc, &t);
	kp_init(&kp_alter_partition_request_partition_data_desc, &pd);
	pd.partition_index = p->index;
	pd.leader_epoch = p->leader_epoch;
	pd.new_isr.v = isr;
	pd.new_isr.n = (int32_t)n;
	pd.leader_recovery_state = 0;
	pd.partition_epoch = p->partition_epoch;
	t.topic_id = p->topic->id;
	t.partitions.v = &pd;
	t.partitions.n = 1;
	q.broker_id = mc->b->cfg->node_id;
	q.broker_epoch = mc->broker_epoch;
	q.topics.v = &t;
	q.topics.n = 1;
	mc_send(mc, MC_ALTER_PARTITION, KP_API_ALTER_PARTITION, 2,
	    &kp_alter_partition_request_desc, &q, NULL);
	return 0;
}

size_t
meta_client_registered(const struct meta_client *mc)
{
	return mc->img->nbrokers > 0 ? mc->img->nbrokers : 1;
}

int32_t
meta_client_controller(const struct meta_client *mc)
{
	return mc->connected ? mc->ctls[mc->cur].id : -1;
}
