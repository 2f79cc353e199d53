/*
 * moldau-controller: one member of the Raft metadata quorum.  Runs the
 * I/O-free core (raft.c) on libevent: peers over TCP (raft_io_tcp.c), the
 * metadata log and quorum state on disk with fsync on a worker thread
 * (meta_log.c).  Messages of a ready are sent only once its writes are
 * durable.  The leader appends a NoOpRecord every 500 ms so the high
 * watermark keeps moving (KIP-835).  Snapshots are written after
 * cluster.metadata.log.max.record.bytes.between.snapshots bytes of records,
 * or after cluster.metadata.log.max.snapshot.interval.ms when there are
 * new records.  DescribeCluster is answered here from the image (the live
 * brokers, or the controllers); the other APIs by ctl_api.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "err.h"
#include "ipc_child.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "storage.h"
#include "xmalloc.h"
#include "bg.h"
#include "ctl.h"
#include "meta_image.h"
#include "meta_log.h"
#include "raft.h"
#include "raft_io_tcp.h"
#include "snapshot.h"

#define CTL_TICK_MS	20
#define CTL_NOOP_MS	500
#define CTL_IMAGE_LOG_MS 1000
#define CTL_KEEP_SNAPSHOTS 2

struct ctl_job {
	struct meta_job		 mj;	/* first */
	struct ctl		*c;
	struct raft_msg		*msgs;
	size_t			 nmsgs;
	int64_t			 end;
	int32_t			 last_epoch;
	/* A snapshot from the leader to install. */
	uint8_t			*snap;
	size_t			 snap_len;
	int64_t			 snap_off;
	int32_t			 snap_epoch;
	struct meta_image	*new_img;
	char			 err[512];
};

/* The driver's own state around the shared struct ctl. */
struct ctl_main {
	struct ctl	 c;		/* first */
	int64_t		 snap_ms;	/* last snapshot (or start) */
	/* The newest snapshot's offset: the log is kept from there when
	   the next one is written, so that a damaged newest snapshot can
	   fall back to the one before it. */
	int64_t		 keep_from;
};

#define CTL_MAIN(c)	((struct ctl_main *)(void *)(c))

struct ctl_snap {
	struct bg_job		 bj;	/* first */
	struct ctl		*c;
	struct meta_image	*img;
	uint8_t			*bytes;
	size_t			 len;
	int			 rc;
	bool			 by_time;
	char			 path[4096];
	char			 err[4400];
};

int64_t
ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: moldau-controller [--config FILE] "
	    "[--set section.key=value]... [--listen host:port] [--check] "
	    "[--supervised]\n");
	exit(1);
}

static void
ctl_schedule(struct ctl *c)
{
	event_active(c->ready_ev, EV_TIMEOUT, 0);
}

int64_t
ctl_propose(struct ctl *c, const struct wbuf *w)
{
	int64_t off;

	if (w->err != 0)
		return -1;
	off = raft_propose(c->raft, w->data, w->len, ctl_now_ms());
	ctl_schedule(c);
	return off;
}

static void
ctl_send_all(struct ctl *c, struct raft_msg *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rio_send(c->io, &msgs[i]);
}

static void
ctl_job_free(struct meta_job *mj)
{
	struct ctl_job *j = (struct ctl_job *)mj;
	size_t i;

	for (i = 0; i < j->nmsgs; i++)
		raft_msg_clear(&j->msgs[i]);
	free(j->msgs);
	for (i = 0; i < j->mj.nentries; i++)
		raft_entry_clear(&j->mj.entries[i]);
	free(j->mj.entries);
	free(j->snap);
	meta_image_free(j->new_img);
	free(j);
}

/* ---- snapshots ---- */

static void
ctl_snap_run(struct bg_job *bj)
{
	struct ctl_snap *s = (struct ctl_snap *)bj;

	s->rc = snapshot_write(s->c->meta_dir, s->img, s->path,
	    sizeof(s->path), s->err, sizeof(s->err));
	if (s->rc == 0) {
		snapshot_prune(s->c->meta_dir, CTL_KEEP_SNAPSHOTS);
		if (snapshot_read_file(s->path, &s->bytes, &s->len) != 0) {
			snprintf(s->err, sizeof(s->err), "%s: %s", s->path,
			    strerror(errno));
			s->rc = -1;
		}
	}
}

static void
ctl_snap_release(struct bg_job *bj)
{
	struct ctl_snap *s = (struct ctl_snap *)bj;

	meta_image_free(s->img);
	free(s->bytes);
	free(s);
}

static void
ctl_snap_done(struct bg_job *bj)
{
	struct ctl_snap *s = (struct ctl_snap *)bj;
	struct ctl *c = s->c;

	c->snap_busy = false;
	if (s->rc != 0)
		log_warnx("controller %d: snapshot failed: %s",
		    c->cfg->node_id, s->err);
	else if (raft_snapshot_taken(c->raft, s->img->end_offset,
	    s->img->last_epoch, s->bytes, s->len) == 0) {
		log_info("controller %d: snapshot at offset %lld epoch %d "
		    "written (%s): %s (%zu bytes)", c->cfg->node_id,
		    (long long)s->img->end_offset, s->img->last_epoch,
		    s->by_time ? "interval" : "bytes", s->path, s->len);
		c->compact_to = CTL_MAIN(c)->keep_from;
		CTL_MAIN(c)->keep_from = s->img->end_offset;
		ctl_schedule(c);
	}
	ctl_snap_release(bj);
}

/* Due by bytes, or by time when there is anything new. */
static bool
ctl_snapshot_due(struct ctl *c, int64_t now)
{
	int64_t every = c->cfg->metadata_snapshot_interval_ms;

	if (c->bytes_since_snap >= c->cfg->metadata_snapshot_bytes)
		return true;
	return every > 0 && now - CTL_MAIN(c)->snap_ms >= every &&
	    c->bytes_since_snap > 0;
}

static void
ctl_maybe_snapshot(struct ctl *c)
{
	struct ctl_snap *s;
	int64_t now = ctl_now_ms();
	bool by_time;

	if (c->snap_busy || c->install_pending ||
	    c->img->end_offset <= raft_log_start(c->raft) ||
	    !ctl_snapshot_due(c, now))
		return;
	CTL_MAIN(c)->snap_ms = now;
	by_time = c->bytes_since_snap < c->cfg->metadata_snapshot_bytes;
	s = xcalloc(1, sizeof(*s));
	s->bj.run = ctl_snap_run;
	s->bj.done = ctl_snap_done;
	s->bj.release = ctl_snap_release;
	s->c = c;
	s->img = meta_image_dup(c->img);
	s->by_time = by_time;
	c->snap_busy = true;
	c->bytes_since_snap = 0;
	bg_submit(c->bg, &s->bj);
}

/* Apply the committed entries the image lacks. */
static void
ctl_apply(struct ctl *c)
{
	const struct raft_entry *e;
	int64_t hw = raft_hw(c->raft);

	if (c->install_pending)
		return;
	while (c->img->end_offset < hw &&
	    (e = raft_entry_at(c->raft, c->img->end_offset)) != NULL) {
		if (!e->control && e->len > 0 &&
		    meta_image_apply(c->img, e->data, e->len) != 0)
			log_warnx("controller %d: entry %lld has unreadable "
			    "metadata records", c->cfg->node_id,
			    (long long)e->offset);
		c->img->end_offset = e->offset + 1;
		c->img->last_epoch = e->epoch;
		c->bytes_since_snap += (int64_t)e->len;
	}
	ctl_api_applied(c);
	ctl_maybe_snapshot(c);
}

static void
ctl_log_image(struct ctl *c, int64_t now, bool force)
{
	uint64_t d;

	if (!force && now - c->logged_ms < CTL_IMAGE_LOG_MS)
		return;
	c->logged_ms = now;
	d = meta_image_digest(c->img);
	if (!force && d == c->logged_digest)
		return;
	c->logged_digest = d;
	log_info("controller %d: image at offset %lld: %zu brokers "
	    "(%zu fenced), %zu topics, digest %016llx", c->cfg->node_id,
	    (long long)c->img->end_offset, c->img->nbrokers,
	    meta_image_fenced(c->img), c->img->ntopics, (unsigned long long)d);
}

/* ---- the Raft driver ---- */

static void
ctl_install_pre(struct meta_job *mj)
{
	struct ctl_job *j = (struct ctl_job *)mj;

	j->new_img = snapshot_install(j->c->meta_dir, j->snap_off,
	    j->snap_epoch, j->snap, j->snap_len, j->err, sizeof(j->err));
	if (j->new_img == NULL)
		mj->err = MO_EIO;
	else	/* the log restarts here: older ones are no fallback */
		snapshot_prune(j->c->meta_dir, 1);
}

static struct raft_entry *
ctl_entries_copy(const struct raft_entry *v, size_t n)
{
	struct raft_entry *d = xcalloc(n, sizeof(*d));
	size_t i;

	for (i = 0; i < n; i++) {
		d[i] = v[i];
		d[i].data = NULL;
		if (v[i].len > 0) {
			d[i].data = xmalloc(v[i].len);
			memcpy(d[i].data, v[i].data, v[i].len);
		}
	}
	return d;
}

/* Hand one ready to the disk; its messages wait for durability. */
static void
ctl_process_ready(struct ctl *c)
{
	struct raft_ready rd;
	struct ctl_job *j;
	size_t i;
	bool wrote = false;

	ctl_apply(c);
	if (c->job_busy)
		return;
	j = xcalloc(1, sizeof(*j));
	meta_job_init(&j->mj);
	j->mj.arg = j;
	j->c = c;
	if (!raft_has_ready(c->raft)) {
		if (c->compact_to < 0) {
			free(j);
			return;
		}
		j->mj.compact_to = c->compact_to;
		c->compact_to = -1;
		c->job_busy = true;
		meta_log_submit(c->log, &j->mj);
		return;
	}
	raft_ready(c->raft, &rd);
	if (rd.reset_offset >= 0) {
		j->snap = xmalloc(rd.snapshot_len + 1);
		memcpy(j->snap, rd.snapshot, rd.snapshot_len);
		j->snap_len = rd.snapshot_len;
		j->snap_off = rd.reset_offset;
		j->snap_epoch = rd.reset_epoch;
		j->mj.pre = ctl_install_pre;
		j->mj.reset_to = rd.reset_offset;
		c->install_pending = true;
		c->compact_to = -1;
		wrote = true;
	}
	if (rd.truncate_to >= 0) {
		j->mj.truncate_to = rd.truncate_to;
		wrote = true;
	}
	if (rd.nappend > 0) {
		j->mj.entries = ctl_entries_copy(rd.append, rd.nappend);
		j->mj.nentries = rd.nappend;
		wrote = true;
	}
	if (c->compact_to >= 0) {
		j->mj.compact_to = c->compact_to;
		c->compact_to = -1;
	}
	if (rd.hw_changed && rd.hw != c->reported_hw) {
		log_debug("controller %d: committed offset %lld (epoch %d)",
		    c->cfg->node_id, (long long)rd.hw, raft_epoch(c->raft));
		c->reported_hw = rd.hw;
	}
	j->mj.write_hard = rd.hard_changed;
	j->mj.hard = rd.hard;
	j->mj.sync_log = wrote;
	j->end = raft_log_end(c->raft);
	j->last_epoch = raft_last_epoch(c->raft);
	if (rd.nmsgs > 0) {
		j->msgs = xcalloc(rd.nmsgs, sizeof(*j->msgs));
		for (i = 0; i < rd.nmsgs; i++) {
			j->msgs[i] = rd.msgs[i];
			memset(&rd.msgs[i], 0, sizeof(rd.msgs[i]));
		}
		j->nmsgs = rd.nmsgs;
	}
	raft_advance(c->raft, &rd);
	if (!j->mj.write_hard && !j->mj.sync_log && j->mj.compact_to < 0) {
		ctl_send_all(c, j->msgs, j->nmsgs);
		j->nmsgs = 0;
		ctl_job_free(&j->mj);
		ctl_apply(c);
		ctl_schedule(c);
		return;
	}
	c->job_busy = true;
	meta_log_submit(c->log, &j->mj);
}

static void
ctl_job_done(struct meta_job *mj, void *arg)
{
	struct ctl *c = arg;
	struct ctl_job *j = (struct ctl_job *)mj;

	if (mj->err != 0 && mj->pre != NULL && j->new_img == NULL)
		fatalx("controller %d: cannot install the snapshot at offset "
		    "%lld from the leader: %s", c->cfg->node_id,
		    (long long)j->snap_off, j->err);
	if (mj->err != 0)
		fatalx("controller: cannot sync the metadata log or quorum "
		    "state");
	c->job_busy = false;
	if (j->new_img != NULL) {
		meta_image_free(c->img);
		c->img = j->new_img;
		j->new_img = NULL;
		c->install_pending = false;
		c->bytes_since_snap = 0;
		CTL_MAIN(c)->keep_from = c->img->end_offset;
		log_info("controller %d: loaded the leader's snapshot at "
		    "offset %lld epoch %d: %zu brokers, %zu topics",
		    c->cfg->node_id, (long long)c->img->end_offset,
		    c->img->last_epoch, c->img->nbrokers, c->img->ntopics);
	}
	ctl_send_all(c, j->msgs, j->nmsgs);
	j->nmsgs = 0;
	if (mj->sync_log)
		raft_persisted(c->raft, j->end, j->last_epoch, ctl_now_ms());
	ctl_job_free(mj);
	ctl_apply(c);
	ctl_schedule(c);
}

static void
ctl_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ctl_process_ready(arg);
}

static void
ctl_propose_noop(struct ctl *c)
{
	struct kp_no_op_record rec;
	struct wbuf w = { 0 };

	memset(&rec, 0, sizeof(rec));
	if (meta_record_put(&w, MI_REC_NO_OP, 0, &kp_no_op_record_desc,
	    &rec) == 0)
		ctl_propose(c, &w);
	wbuf_clear(&w);
}

static void
ctl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl *c = arg;
	int64_t now = ctl_now_ms();

	(void)fd;
	(void)what;
	raft_tick(c->raft, now);
	if (raft_role(c->raft) == RAFT_LEADER &&
	    now - c->last_noop_ms >= CTL_NOOP_MS) {
		c->last_noop_ms = now;
		ctl_propose_noop(c);
	}
	ctl_api_tick(c, now);
	ctl_log_image(c, now, false);
	if (c->stopping && !c->job_busy && !raft_has_ready(c->raft))
		event_base_loopexit(c->base, NULL);
	ctl_process_ready(c);
}

static void
ctl_recv(const struct raft_msg *m, void *arg)
{
	struct ctl *c = arg;

	raft_recv(c->raft, m, ctl_now_ms());
	ctl_schedule(c);
}

static void
ctl_stop(struct ctl *c)
{
	if (c->stopping)
		return;
	raft_resign(c->raft, ctl_now_ms());
	c->stopping = true;
	ctl_schedule(c);
}

static void
ctl_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct ctl *c = arg;

	(void)what;
	log_info("controller %d: signal %d, stopping", c->cfg->node_id,
	    (int)sig);
	ctl_stop(c);
}

static void
ctl_ipc_stop_cb(void *arg, const char *why)
{
	(void)why;
	ctl_stop(arg);
}

/* "id@host:port" -> parts; 0 or -1. */
static int ctl_parse_voter(const char *, int32_t *, char *, size_t, int *);

/* The endpoint of a broker a client would use: PLAINTEXT, else the first. */
static const struct mi_endpoint *
ctl_broker_endpoint(const struct mi_broker *b)
{
	size_t i;

	for (i = 0; i < b->neps; i++)
		if (b->eps[i].name != NULL &&
		    strcmp(b->eps[i].name, "PLAINTEXT") == 0)
			return &b->eps[i];
	return b->neps > 0 ? &b->eps[0] : NULL;
}

/*
 * DescribeCluster on a controller: endpoint type 2 lists the controllers
 * (as Kafka's controllers do), type 1 (the default) the live, unfenced
 * brokers of the image, as a broker's DescribeCluster would, and the
 * moldau type 100 every registered broker, fenced ones too (the fenced
 * ones are those of 100 missing in 1; moldau quorum describe shows them).
 */
#define CTL_ENDPOINT_BROKER	1
#define CTL_ENDPOINT_CONTROLLER	2
#define CTL_ENDPOINT_REGISTERED	100

static int
ctl_describe_cluster(struct ctl *c, const struct kp_req_hdr *h,
    struct rd *rd, struct wbuf *w)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_describe_cluster_request q;
	struct kp_describe_cluster_response r;
	struct kp_describe_cluster_response_describe_cluster_broker *v;
	struct kp_arena a = { 0 };
	const struct mi_endpoint *ep;
	char host[256], *hp;
	size_t i, n = 0, max;
	int32_t id;
	int port, rc = -1;

	if (h->api_version < km->vmin || h->api_version > km->vmax)
		return -1;
	kp_init(km->req, &q);
	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, &a) != 0)
		goto out;
	kp_init(km->resp, &r);
	r.endpoint_type = q.endpoint_type;
	r.cluster_id.p = c->cfg->cluster_id;
	r.cluster_id.len = (int32_t)strlen(c->cfg->cluster_id);
	r.controller_id = raft_leader(c->raft);
	max = c->img->nbrokers + c->cfg->controllers.n + 1;
	v = kp_arena_alloc(&a, max * sizeof(*v));
	if (q.endpoint_type == CTL_ENDPOINT_CONTROLLER) {
		for (i = 0; i < c->cfg->controllers.n; i++) {
			if (ctl_parse_voter(c->cfg->controllers.v[i], &id, host,
			    sizeof(host), &port) != 0)
				continue;
			hp = kp_arena_alloc(&a, strlen(host) + 1);
			memcpy(hp, host, strlen(host));
			v[n].broker_id = id;
			v[n].host.p = hp;
			v[n].host.len = (int32_t)strlen(host);
			v[n].port = port;
			v[n++].rack.len = -1;
		}
	} else if (q.endpoint_type == CTL_ENDPOINT_BROKER ||
	    q.endpoint_type == CTL_ENDPOINT_REGISTERED) {
		for (i = 0; i < c->img->nbrokers; i++) {
			const struct mi_broker *b = &c->img->brokers[i];

			if ((b->fenced &&
			    q.endpoint_type == CTL_ENDPOINT_BROKER) ||
			    (ep = ctl_broker_endpoint(b)) == NULL)
				continue;
			v[n].broker_id = b->id;
			v[n].host.p = ep->host;
			v[n].host.len = (int32_t)strlen(ep->host);
			v[n].port = ep->port;
			v[n].rack.p = b->rack;
			v[n++].rack.len = b->rack != NULL ?
			    (int32_t)strlen(b->rack) : -1;
		}
	} else {
		r.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
		r.error_message.p = "unknown endpoint type";
		r.error_message.len = (int32_t)strlen(r.error_message.p);
	}
	r.brokers.v = v;
	r.brokers.n = (int32_t)n;
	if (kp_encode(w, km->resp, h->api_version,
	    kp_flexible(km, h->api_version), &r) == 0 && w->err == 0)
		rc = 0;
out:
	kp_arena_clear(&a);
	return rc;
}

/* Every API other than Raft's arrives here. */
static int
ctl_dispatch(const struct kp_req_hdr *h, struct rd *r, struct wbuf *w,
    uint64_t token, void *arg)
{
	if (h->api_key == KP_API_DESCRIBE_CLUSTER)
		return ctl_describe_cluster(arg, h, r, w);
	return ctl_api(h, r, w, token, arg);
}

static int
ctl_parse_voter(const char *s, int32_t *id, char *host, size_t hlen,
    int *port)
{
	const char *at = strchr(s, '@'), *colon = strrchr(s, ':');
	char *end;
	long v;

	if (at == NULL || colon == NULL || colon < at ||
	    (size_t)(colon - at - 1) >= hlen)
		return -1;
	v = strtol(s, &end, 10);
	if (end != at || v < 0 || v > INT32_MAX)
		return -1;
	*id = (int32_t)v;
	memcpy(host, at + 1, (size_t)(colon - at - 1));
	host[colon - at - 1] = '\0';
	v = strtol(colon + 1, &end, 10);
	if (*end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* bound: "host:port" as listening, for the supervisor. */
static int
ctl_setup(struct ctl *c, const char *listen, char *bound_addr, size_t blen)
{
	struct raft_cfg rc;
	struct raft_boot boot;
	char host[256], lhost[256], dir[4096], err[8192];
	int32_t id;
	int port, lport = -1, bound;
	size_t i, snap_len = 0;
	uint8_t *snap = NULL;
	int64_t t0;

	raft_cfg_defaults(&rc);
	rc.id = c->cfg->node_id;
	rc.seed = (uint64_t)ctl_now_ms() ^ ((uint64_t)rc.id << 32);
	c->io = rio_new(c->base, rc.id, ctl_recv, ctl_dispatch, c);
	for (i = 0; i < c->cfg->controllers.n; i++) {
		if (ctl_parse_voter(c->cfg->controllers.v[i], &id, host,
		    sizeof(host), &port) != 0 || rc.nvoters == RAFT_MAX_VOTERS) {
			log_warnx("controller: cluster.controllers: bad entry "
			    "'%s' (want id@host:port)",
			    c->cfg->controllers.v[i]);
			return -1;
		}
		rc.voters[rc.nvoters++] = id;
		if (id == rc.id) {
			snprintf(lhost, sizeof(lhost), "%s", host);
			lport = port;
		} else if (rio_add_peer(c->io, id, host, port) != 0) {
			log_warnx("controller: cluster.controllers: '%s' needs "
			    "a numeric address", c->cfg->controllers.v[i]);
			return -1;
		}
	}
	if (listen != NULL) {
		const char *colon = strrchr(listen, ':');

		if (colon == NULL || (size_t)(colon - listen) >= sizeof(lhost))
			return -1;
		memcpy(lhost, listen, (size_t)(colon - listen));
		lhost[colon - listen] = '\0';
		lport = atoi(colon + 1);
	}
	if (lport < 0) {
		log_warnx("controller: node.id %d is not in "
		    "cluster.controllers", rc.id);
		return -1;
	}
	if (mkdir(c->cfg->data_dir, 0755) != 0 && errno != EEXIST) {
		log_warn("controller: %s", c->cfg->data_dir);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/meta", c->cfg->data_dir);
	c->meta_dir = xstrdup(dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		log_warn("controller: %s", dir);
		return -1;
	}
	if (dir_lock(dir, err, sizeof(err)) == -1) {
		log_warnx("controller: %s", err);
		return -1;
	}
	t0 = ctl_now_ms();
	snapshot_remove_temps(dir);
	if (snapshot_load_newest(dir, &c->img, &snap, &snap_len, err,
	    sizeof(err)) != 0) {
		log_warnx("controller: %s; refusing to start with a wrong "
		    "image (remove %s to rebuild this controller from the "
		    "quorum)", err, dir);
		return -1;
	}
	if (c->img != NULL)
		log_info("controller %d: loaded snapshot at offset %lld epoch "
		    "%d in %lld ms: %zu brokers, %zu topics", rc.id,
		    (long long)c->img->end_offset, c->img->last_epoch,
		    (long long)(ctl_now_ms() - t0), c->img->nbrokers,
		    c->img->ntopics);
	else
		c->img = meta_image_new();
	if ((c->log = meta_log_open(dir, c->img->end_offset, &boot, err,
	    sizeof(err))) == NULL) {
		log_warnx("controller: %s", err);
		free(snap);
		return -1;
	}
	meta_log_set_free(c->log, ctl_job_free);
	CTL_MAIN(c)->keep_from = c->img->end_offset;
	if (c->img->end_offset > 0) {
		boot.snap_offset = c->img->end_offset;
		boot.snap_epoch = c->img->last_epoch;
		boot.snapshot = snap;
		boot.snapshot_len = snap_len;
	}
	c->raft = raft_new(&rc, &boot, ctl_now_ms());
	free(snap);
	log_info("controller %d: log start %lld, end %lld, epoch %d", rc.id,
	    (long long)raft_log_start(c->raft),
	    (long long)raft_log_end(c->raft), raft_epoch(c->raft));
	meta_log_boot_clear(&boot);
	c->bg = bg_new(c->base);
	if (meta_log_start(c->log, c->base, ctl_job_done, c) != 0)
		return -1;
	if ((bound = rio_listen(c->io, lhost, lport)) < 0) {
		log_warn("controller: listen on %s:%d", lhost, lport);
		return -1;
	}
	log_info("controller %d ready: %s:%d", rc.id, lhost, bound);
	snprintf(bound_addr, blen, "%s:%d", lhost, bound);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'n' },
		{ "supervised", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_main m;
	const char *path = NULL, *listen = NULL;
	char **sets = NULL, *errs = NULL;
	size_t nsets = 0;
	bool check = false, supervised = false;
	struct ipc_child *ic = NULL;
	char bound[300];
	const char *ready[1] = { bound };
	enum log_level lvl;
	struct timeval tv = { 0, CTL_TICK_MS * 1000 };
	int ch, rc = 1;

	log_init("moldau-controller", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:s:l:nh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 's':
			sets = xreallocarray(sets, nsets + 1, sizeof(*sets));
			sets[nsets++] = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'S':
			supervised = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	memset(&m, 0, sizeof(m));
	if (config_load(path, sets, nsets, &m.c.cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs);
		free(errs);
		free(sets);
		return 1;
	}
	free(sets);
	if (check) {
		config_free(m.c.cfg);
		return 0;
	}
	if (log_level_parse(m.c.cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	m.c.base = event_base_new();
	if (m.c.base == NULL)
		fatalx("controller: event_base_new");
	m.c.ready_ev = event_new(m.c.base, -1, 0, ctl_ready_cb, &m.c);
	m.c.tick_ev = event_new(m.c.base, -1, EV_PERSIST, ctl_tick_cb, &m.c);
	m.c.sig_int = evsignal_new(m.c.base, SIGINT, ctl_signal_cb, &m.c);
	m.c.sig_term = evsignal_new(m.c.base, SIGTERM, ctl_signal_cb, &m.c);
	m.c.compact_to = -1;
	m.snap_ms = ctl_now_ms();
	if (supervised && (ic = ipc_child_open(m.c.base, IPC_CHILD_FD,
	    "controller", ctl_ipc_stop_cb, &m.c)) == NULL)
		goto out;
	if (ctl_setup(&m.c, listen, bound, sizeof(bound)) != 0)
		goto out;
	/* Under moldaud the node's broker comes over run_dir's socket. */
	if (supervised) {
		char upath[4096];

		snprintf(upath, sizeof(upath), "%s/controller.sock",
		    m.c.cfg->run_dir);
		if (rio_listen_unix(m.c.io, upath) != 0)
			log_warn("controller: listen on %s (the broker will "
			    "use TCP)", upath);
	}
	event_add(m.c.tick_ev, &tv);
	event_add(m.c.sig_int, NULL);
	event_add(m.c.sig_term, NULL);
	if (ic != NULL)
		ipc_child_ready(ic, ready, 1);
	event_base_dispatch(m.c.base);
	rc = 0;
out:
	ipc_child_free(ic);
	ctl_api_free(&m.c);
	rio_free(m.c.io);
	bg_free(m.c.bg);
	meta_log_close(m.c.log);
	raft_free(m.c.raft);
	meta_image_free(m.c.img);
	free(m.c.meta_dir);
	event_free(m.c.ready_ev);
	event_free(m.c.tick_ev);
	event_free(m.c.sig_int);
	event_free(m.c.sig_term);
	event_base_free(m.c.base);
	config_free(m.c.cfg);
	return rc;
}
