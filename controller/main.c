/*
 * moldau-controller: one member of the Raft metadata quorum.  Runs the
 * I/O-free core (raft.c) on libevent: peers over TCP (raft_io_tcp.c), the
 * metadata log and quorum state on disk with fsync on a worker thread
 * (meta_log.c).  Messages of a ready are sent only once its writes are
 * durable.  The leader appends a NoOpRecord every 500 ms so the high
 * watermark keeps moving (KIP-835).
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
#include "kproto_gen.h"
#include "log.h"
#include "xmalloc.h"
#include "meta_log.h"
#include "raft.h"
#include "raft_io_tcp.h"

#define CTL_TICK_MS	20
#define CTL_NOOP_MS	500
#define CTL_REC_NOOP	20	/* NoOpRecord's metadata record type */

struct ctl_job {
	struct meta_job	 mj;	/* first: meta_log frees jobs at close */
	struct raft_msg	*msgs;
	size_t		 nmsgs;
	int64_t		 end;
	int32_t		 last_epoch;
};

struct ctl {
	struct mo_config	*cfg;
	struct event_base	*base;
	struct raft		*raft;
	struct rio		*io;
	struct meta_log		*log;
	struct event		*tick_ev, *ready_ev, *sig_int, *sig_term;
	bool			 job_busy;
	int64_t			 last_noop_ms;
	int64_t			 reported_hw;
	bool			 stopping;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: moldau-controller [--config FILE] "
	    "[--set section.key=value]... [--listen host:port] [--check]\n");
	exit(1);
}

static void
ctl_schedule(struct ctl *c)
{
	event_active(c->ready_ev, EV_TIMEOUT, 0);
}

static void
ctl_send_all(struct ctl *c, struct raft_msg *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rio_send(c->io, &msgs[i]);
}

/* Hand one ready to the disk; its messages wait for durability. */
static void
ctl_process_ready(struct ctl *c)
{
	struct raft_ready rd;
	struct ctl_job *j;
	size_t i;
	bool wrote = false;

	if (c->job_busy || !raft_has_ready(c->raft))
		return;
	raft_ready(c->raft, &rd);
	if (rd.reset_offset >= 0)
		log_warnx("controller: snapshot install is not supported yet");
	if (rd.truncate_to >= 0) {
		meta_log_truncate(c->log, rd.truncate_to);
		wrote = true;
	}
	if (rd.nappend > 0) {
		if (meta_log_append(c->log, rd.append, rd.nappend) != 0)
			fatalx("controller: cannot write the metadata log");
		wrote = true;
	}
	if (rd.hw_changed && rd.hw != c->reported_hw) {
		log_debug("controller %d: committed offset %lld (epoch %d)",
		    c->cfg->node_id, (long long)rd.hw, raft_epoch(c->raft));
		c->reported_hw = rd.hw;
	}
	j = xcalloc(1, sizeof(*j));
	j->mj.write_hard = rd.hard_changed;
	j->mj.hard = rd.hard;
	j->mj.sync_log = wrote;
	j->mj.arg = j;
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
	if (!j->mj.write_hard && !j->mj.sync_log) {
		ctl_send_all(c, j->msgs, j->nmsgs);
		free(j->msgs);
		free(j);
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

	if (mj->err != 0)
		fatalx("controller: cannot sync the metadata log or quorum "
		    "state");
	c->job_busy = false;
	ctl_send_all(c, j->msgs, j->nmsgs);
	if (mj->sync_log)
		raft_persisted(c->raft, j->end, j->last_epoch, now_ms());
	free(j->msgs);
	free(j);
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
ctl_propose_noop(struct ctl *c, int64_t now)
{
	struct kp_no_op_record rec;
	struct wbuf w = { 0 };

	/* KIP-631 framing: frame version, record type, record version. */
	memset(&rec, 0, sizeof(rec));
	wbuf_put_uvarint(&w, 0);
	wbuf_put_uvarint(&w, CTL_REC_NOOP);
	wbuf_put_uvarint(&w, 0);
	kp_encode(&w, &kp_no_op_record_desc, 0, true, &rec);
	if (w.err == 0)
		raft_propose(c->raft, w.data, w.len, now);
	wbuf_clear(&w);
}

static void
ctl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl *c = arg;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	raft_tick(c->raft, now);
	if (raft_role(c->raft) == RAFT_LEADER &&
	    now - c->last_noop_ms >= CTL_NOOP_MS) {
		c->last_noop_ms = now;
		ctl_propose_noop(c, now);
	}
	if (c->stopping && !c->job_busy && !raft_has_ready(c->raft))
		event_base_loopexit(c->base, NULL);
	ctl_process_ready(c);
}

static void
ctl_recv(const struct raft_msg *m, void *arg)
{
	struct ctl *c = arg;

	raft_recv(c->raft, m, now_ms());
	ctl_schedule(c);
}

static int
ctl_describe_quorum(struct ctl *c, int16_t v, struct wbuf *w)
{
	const struct kp_msg *km = kp_msg_get(KP_API_DESCRIBE_QUORUM);
	struct kp_describe_quorum_response r;
	struct kp_describe_quorum_response_topic_data t;
	struct kp_describe_quorum_response_partition_data p;
	struct kp_describe_quorum_response_replica_state rs[RAFT_MAX_VOTERS];
	struct raft_replica reps[RAFT_MAX_VOTERS];
	size_t n, i;
	int64_t now = now_ms();
	bool leader = raft_role(c->raft) == RAFT_LEADER;

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
	p.error_code = leader ? 0 : 6;	/* NOT_LEADER_OR_FOLLOWER */
	p.leader_id = raft_leader(c->raft);
	p.leader_epoch = raft_epoch(c->raft);
	p.high_watermark = raft_hw(c->raft);
	p.current_voters.v = rs;
	p.current_voters.n = (int32_t)n;
	p.observers.n = 0;
	t.topic_name.p = RIO_TOPIC;
	t.topic_name.len = (int32_t)strlen(RIO_TOPIC);
	t.partitions.v = &p;
	t.partitions.n = 1;
	r.topics.v = &t;
	r.topics.n = 1;
	return kp_encode(w, km->resp, v, kp_flexible(km, v), &r);
}

static int
ctl_api(const struct kp_req_hdr *h, struct rd *r, struct wbuf *w, void *arg)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);

	(void)r;
	if (h->api_key != KP_API_DESCRIBE_QUORUM || km == NULL ||
	    h->api_version < km->vmin || h->api_version > km->vmax)
		return -1;
	return ctl_describe_quorum(arg, h->api_version, w) == 0 ? 0 : -1;
}

static void
ctl_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct ctl *c = arg;

	(void)what;
	log_info("controller %d: signal %d, stopping", c->cfg->node_id,
	    (int)sig);
	raft_resign(c->raft, now_ms());
	c->stopping = true;
	ctl_schedule(c);
}

/* "id@host:port" -> parts; 0 or -1. */
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

static int
ctl_setup(struct ctl *c, const char *listen)
{
	struct raft_cfg rc;
	struct raft_boot boot;
	char host[256], lhost[256], dir[4096], err[512];
	int32_t id;
	int port, lport = -1, bound;
	size_t i;

	raft_cfg_defaults(&rc);
	rc.id = c->cfg->node_id;
	rc.seed = (uint64_t)now_ms() ^ ((uint64_t)rc.id << 32);
	c->io = rio_new(c->base, rc.id, ctl_recv, ctl_api, c);
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
	if ((c->log = meta_log_open(dir, &boot, err, sizeof(err))) == NULL) {
		log_warnx("controller: %s", err);
		return -1;
	}
	c->raft = raft_new(&rc, &boot, now_ms());
	log_info("controller %d: log end %lld, epoch %d", rc.id,
	    (long long)raft_log_end(c->raft), raft_epoch(c->raft));
	meta_log_boot_clear(&boot);
	if (meta_log_start(c->log, c->base, ctl_job_done, c) != 0)
		return -1;
	if ((bound = rio_listen(c->io, lhost, lport)) < 0) {
		log_warn("controller: listen on %s:%d", lhost, lport);
		return -1;
	}
	log_info("controller %d ready: %s:%d", rc.id, lhost, bound);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl c;
	const char *path = NULL, *listen = NULL;
	char **sets = NULL, *errs = NULL;
	size_t nsets = 0;
	bool check = false;
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
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	memset(&c, 0, sizeof(c));
	if (config_load(path, sets, nsets, &c.cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs);
		free(errs);
		free(sets);
		return 1;
	}
	free(sets);
	if (check) {
		config_free(c.cfg);
		return 0;
	}
	if (log_level_parse(c.cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	c.base = event_base_new();
	if (c.base == NULL)
		fatalx("controller: event_base_new");
	c.ready_ev = event_new(c.base, -1, 0, ctl_ready_cb, &c);
	c.tick_ev = event_new(c.base, -1, EV_PERSIST, ctl_tick_cb, &c);
	c.sig_int = evsignal_new(c.base, SIGINT, ctl_signal_cb, &c);
	c.sig_term = evsignal_new(c.base, SIGTERM, ctl_signal_cb, &c);
	if (ctl_setup(&c, listen) != 0)
		goto out;
	event_add(c.tick_ev, &tv);
	event_add(c.sig_int, NULL);
	event_add(c.sig_term, NULL);
	event_base_dispatch(c.base);
	rc = 0;
out:
	rio_free(c.io);
	meta_log_close(c.log);
	raft_free(c.raft);
	event_free(c.ready_ev);
	event_free(c.tick_ev);
	event_free(c.sig_int);
	event_free(c.sig_term);
	event_base_free(c.base);
	config_free(c.cfg);
	return rc;
}
