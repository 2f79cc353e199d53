/*
 * Raft transport between controllers: Kafka-framed requests over TCP (see
 * raft_io_tcp.h).  Lost connections lose messages; the core retries.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "err.h"
#include "kproto_gen.h"
#include "log.h"
#include "xmalloc.h"
#include "meta_log.h"
#include "raft_io_tcp.h"

#define RIO_MAX_FRAME	(64 * 1024 * 1024)
#define RIO_MAX_PEERS	RAFT_MAX_VOTERS
#define RIO_INFLIGHT	64
#define RIO_PENDING	256
#define RIO_V_FETCH	12	/* topic names, diverging epoch, snapshot id */

struct rio_sent {
	int32_t		corr;
	int16_t		api, version;
	int		type;		/* response type expected */
	uint64_t	req_id;
	int64_t		fetch_offset;
};

struct rio_conn;

struct rio_peer {
	int32_t			 id;
	struct sockaddr_storage	 ss;
	int			 sslen;
	struct rio_conn		*c;
	int32_t			 next_corr;
	struct rio_sent		 sent[RIO_INFLIGHT];
	size_t			 nsent;
};

struct rio_conn {
	struct rio		*io;
	struct bufferevent	*bev;
	bool			 paused;	/* all answer slots are taken */
	struct rio_peer		*peer;	/* outbound; NULL when accepted */
	struct rio_conn		*next;
};

struct rio_pending {
	uint64_t		 req_id;
	struct rio_conn		*c;
	int32_t			 corr;
	int16_t			 api, version;
};

struct rio {
	struct event_base	*base;
	int32_t			 self;
	rio_recv_fn		 recv;
	rio_api_fn		 api;
	void			*arg;
	struct evconnlistener	*listener;
	struct evconnlistener	*ulistener;	/* the node's own broker */
	struct rio_peer		 peers[RIO_MAX_PEERS];
	size_t			 npeers;
	struct rio_conn		*conns;
	struct rio_pending	 pend[RIO_PENDING];
	size_t			 npend;
	uint64_t		 next_req_id;
};

static void rio_read_cb(struct bufferevent *, void *);
static void rio_event_cb(struct bufferevent *, short, void *);

static struct rio_conn *
rio_conn_new(struct rio *io, struct bufferevent *bev, struct rio_peer *p)
{
	struct rio_conn *c = xcalloc(1, sizeof(*c));

	c->io = io;
	c->bev = bev;
	c->peer = p;
	c->next = io->conns;
	io->conns = c;
	bufferevent_setcb(bev, rio_read_cb, NULL, rio_event_cb, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return c;
}

static void rio_unpause(struct rio *);

static void
rio_conn_free(struct rio_conn *c)
{
	struct rio *io = c->io;
	struct rio_conn **pp;
	size_t i;

	for (pp = &io->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	for (i = 0; i < io->npend;)
		if (io->pend[i].c == c)
			io->pend[i] = io->pend[--io->npend];
		else
			i++;
	if (c->peer != NULL) {
		c->peer->c = NULL;
		c->peer->nsent = 0;
	}
	bufferevent_free(c->bev);
	free(c);
	rio_unpause(io);	/* its answer slots are free */
}

static void
rio_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rio_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		rio_conn_free(c);
}

static void
rio_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct rio *io = arg;
	struct bufferevent *bev;

	(void)l;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(io->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	rio_conn_new(io, bev, NULL);
}

struct rio *
rio_new(struct event_base *base, int32_t self, rio_recv_fn recv,
    rio_api_fn api, void *arg)
{
	struct rio *io = xcalloc(1, sizeof(*io));

	io->base = base;
	io->self = self;
	io->recv = recv;
	io->api = api;
	io->arg = arg;
	io->next_req_id = 1;
	return io;
}

int
rio_listen(struct rio *io, const char *host, int port)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char addr[300];
	socklen_t sl = sizeof(ss);

	snprintf(addr, sizeof(addr), "%s:%d", host[0] ? host : "0.0.0.0",
	    port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss,
	    &len) != 0)
		return -1;
	io->listener = evconnlistener_new_bind(io->base, rio_accept_cb, io,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    64, (struct sockaddr *)&ss, len);
	if (io->listener == NULL)
		return -1;
	if (getsockname(evconnlistener_get_fd(io->listener),
	    (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int
rio_listen_unix(struct rio *io, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	(void)unlink(path);	/* a stale socket of an earlier run */
	io->ulistener = evconnlistener_new_bind(io->base, rio_accept_cb, io,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64,
	    (struct sockaddr *)&sun, (int)sizeof(sun));
	return io->ulistener != NULL ? 0 : -1;
}

int
rio_add_peer(struct rio *io, int32_t id, const char *host, int port)
{
	struct rio_peer *p;
	char addr[300];

	if (io->npeers == RIO_MAX_PEERS)
		return -1;
	p = &io->peers[io->npeers];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->sslen = sizeof(p->ss);
	snprintf(addr, sizeof(addr), "%s:%d", host, port);
	/* Numeric addresses only: no DNS on the event loop. */
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&p->ss,
	    &p->sslen) != 0)
		return -1;
	p->next_corr = 1;
	io->npeers++;
	return 0;
}

static struct rio_peer *
rio_peer(struct rio *io, int32_t id)
{
	size_t i;

	for (i = 0; i < io->npeers; i++)
		if (io->peers[i].id == id)
			return &io->peers[i];
	return NULL;
}

/* ---- raft_msg <-> Kafka messages ---- */

static int16_t
rio_api_of(int type)
{
	switch (type) {
	case RAFT_VOTE_REQ:
	case RAFT_VOTE_RESP:
		return KP_API_VOTE;
	case RAFT_BEGIN_EPOCH_REQ:
	case RAFT_BEGIN_EPOCH_RESP:
		return KP_API_BEGIN_QUORUM_EPOCH;
	case RAFT_END_EPOCH_REQ:
	case RAFT_END_EPOCH_RESP:
		return KP_API_END_QUORUM_EPOCH;
	case RAFT_FETCH_REQ:
	case RAFT_FETCH_RESP:
		return KP_API_FETCH;
	case RAFT_FETCH_SNAP_REQ:
	case RAFT_FETCH_SNAP_RESP:
		return KP_API_FETCH_SNAPSHOT;
	default:
		return -1;
	}
}

static bool
rio_is_raft_api(int16_t api)
{
	return api == KP_API_VOTE || api == KP_API_BEGIN_QUORUM_EPOCH ||
	    api == KP_API_END_QUORUM_EPOCH || api == KP_API_FETCH ||
	    api == KP_API_FETCH_SNAPSHOT;
}

static int16_t
rio_version_of(int16_t api)
{
	return api == KP_API_FETCH ? RIO_V_FETCH : 0;
}

/* Encode m's body (request or response) into w. */
static int
rio_encode_body(struct wbuf *w, const struct raft_msg *m, int16_t api,
    int16_t v)
{
	const struct kp_msg *km = kp_msg_get(api);
	bool req = (m->type % 2) == 1, flex = kp_flexible(km, v);
	struct kstr topic = { RIO_TOPIC, (int32_t)strlen(RIO_TOPIC) };
	struct wbuf recs = { 0 };
	size_t i;
	int rc;

	switch (m->type) {
	case RAFT_VOTE_REQ: {
		struct kp_vote_request r = { 0 };
		struct kp_vote_request_topic_data t = { 0 };
		struct kp_vote_request_partition_data p = { 0 };

		p.candidate_epoch = m->epoch;
		p.candidate_id = m->from;
		p.last_offset_epoch = m->last_epoch;
		p.last_offset = m->last_offset;
		t.topic_name = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.cluster_id.len = -1;
		r.topics.v = &t;
		r.topics.n = 1;
		return kp_encode(w, km->req, v, flex, &r);
	}
	case RAFT_VOTE_RESP: {
		struct kp_vote_response r = { 0 };
		struct kp_vote_response_topic_data t = { 0 };
		struct kp_vote_response_partition_data p = { 0 };

		p.error_code = m->error;
		p.leader_id = m->leader_id;
		p.leader_epoch = m->epoch;
		p.vote_granted = m->granted;
		t.topic_name = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.topics.v = &t;
		r.topics.n = 1;
		return kp_encode(w, km->resp, v, flex, &r);
	}
	case RAFT_BEGIN_EPOCH_REQ:
	case RAFT_BEGIN_EPOCH_RESP:
	case RAFT_END_EPOCH_RESP: {
		/* Same layouts: partition { index, [error,] leader, epoch } */
		struct kp_begin_quorum_epoch_request rq = { 0 };
		struct kp_begin_quorum_epoch_request_topic_data tq = { 0 };
		struct kp_begin_quorum_epoch_request_partition_data pq = { 0 };
		struct kp_begin_quorum_epoch_response rs = { 0 };
		struct kp_begin_quorum_epoch_response_topic_data ts = { 0 };
		struct kp_begin_quorum_epoch_response_partition_data ps = { 0 };

		if (req) {
			pq.leader_id = m->leader_id;
			pq.leader_epoch = m->epoch;
			tq.topic_name = topic;
			tq.partitions.v = &pq;
			tq.partitions.n = 1;
			rq.cluster_id.len = -1;
			rq.topics.v = &tq;
			rq.topics.n = 1;
			return kp_encode(w, km->req, v, flex, &rq);
		}
		ps.error_code = m->error;
		ps.leader_id = m->leader_id;
		ps.leader_epoch = m->epoch;
		ts.topic_name = topic;
		ts.partitions.v = &ps;
		ts.partitions.n = 1;
		rs.topics.v = &ts;
		rs.topics.n = 1;
		/* EndQuorumEpoch's response has the same fields. */
		return kp_encode(w, kp_msg_get(KP_API_BEGIN_QUORUM_EPOCH)->resp,
		    v, flex, &rs);
	}
	case RAFT_END_EPOCH_REQ: {
		struct kp_end_quorum_epoch_request r = { 0 };
		struct kp_end_quorum_epoch_request_topic_data t = { 0 };
		struct kp_end_quorum_epoch_request_partition_data p = { 0 };

		p.leader_id = m->leader_id;
		p.leader_epoch = m->epoch;
		p.preferred_successors.v = (int32_t *)(uintptr_t)m->successors;
		p.preferred_successors.n = (int32_t)m->nsuccessors;
		t.topic_name = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.cluster_id.len = -1;
		r.topics.v = &t;
		r.topics.n = 1;
		return kp_encode(w, km->req, v, flex, &r);
	}
	case RAFT_FETCH_REQ: {
		struct kp_fetch_request r;
		struct kp_fetch_request_fetch_topic t = { 0 };
		struct kp_fetch_request_fetch_partition p;

		kp_init(km->req, &r);
		kp_init(&kp_fetch_request_fetch_partition_desc, &p);
		p.current_leader_epoch = m->epoch;
		p.fetch_offset = m->fetch_offset;
		p.last_fetched_epoch = m->last_fetched_epoch;
		p.log_start_offset = -1;
		p.partition_max_bytes = 8 << 20;
		t.topic = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.cluster_id.len = -1;
		r.replica_id = m->from;
		r.max_wait_ms = 0;
		r.max_bytes = 8 << 20;
		r.topics.v = &t;
		r.topics.n = 1;
		return kp_encode(w, km->req, v, flex, &r);
	}
	case RAFT_FETCH_RESP: {
		struct kp_fetch_response r = { 0 };
		struct kp_fetch_response_fetchable_topic_response t = { 0 };
		struct kp_fetch_response_partition_data p;
		struct kp_fetch_response_epoch_end_offset div;
		struct kp_fetch_response_leader_id_and_epoch cur;
		struct kp_fetch_response_snapshot_id snap;

		kp_init(&kp_fetch_response_partition_data_desc, &p);
		p.error_code = m->error;
		p.high_watermark = m->hw;
		p.last_stable_offset = m->hw;
		p.log_start_offset = m->log_start;
		cur.leader_id = m->leader_id;
		cur.leader_epoch = m->epoch;
		p.current_leader = &cur;
		if (m->div_epoch >= 0) {
			div.epoch = m->div_epoch;
			div.end_offset = m->div_end_offset;
			p.diverging_epoch = &div;
		}
		if (m->snap_offset >= 0) {
			snap.end_offset = m->snap_offset;
			snap.epoch = m->snap_epoch;
			p.snapshot_id = &snap;
		}
		for (i = 0; i < m->nentries; i++)
			meta_entry_encode(&recs, &m->entries[i]);
		p.records.p = recs.data;
		p.records.len = (int32_t)recs.len;
		if (recs.len == 0)
			p.records.len = -1;
		t.topic = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.responses.v = &t;
		r.responses.n = 1;
		rc = kp_encode(w, km->resp, v, flex, &r);
		wbuf_clear(&recs);
		return rc;
	}
	case RAFT_FETCH_SNAP_REQ: {
		struct kp_fetch_snapshot_request r;
		struct kp_fetch_snapshot_request_topic_snapshot t = { 0 };
		struct kp_fetch_snapshot_request_partition_snapshot p = { 0 };
		struct kp_fetch_snapshot_request_snapshot_id id;

		kp_init(km->req, &r);
		id.end_offset = m->snap_offset;
		id.epoch = m->snap_epoch;
		p.current_leader_epoch = m->epoch;
		p.snapshot_id = &id;
		p.position = m->position;
		t.name = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.cluster_id.len = -1;
		r.replica_id = m->from;
		r.max_bytes = INT32_MAX;
		r.topics.v = &t;
		r.topics.n = 1;
		return kp_encode(w, km->req, v, flex, &r);
	}
	case RAFT_FETCH_SNAP_RESP: {
		struct kp_fetch_snapshot_response r = { 0 };
		struct kp_fetch_snapshot_response_topic_snapshot t = { 0 };
		struct kp_fetch_snapshot_response_partition_snapshot p = { 0 };
		struct kp_fetch_snapshot_response_snapshot_id id;
		struct kp_fetch_snapshot_response_leader_id_and_epoch cur;

		id.end_offset = m->snap_offset;
		id.epoch = m->snap_epoch;
		cur.leader_id = m->leader_id;
		cur.leader_epoch = m->epoch;
		p.error_code = m->error;
		p.snapshot_id = &id;
		p.current_leader = &cur;
		p.size = m->snap_size;
		p.position = m->position;
		p.unaligned_records.p = m->bytes;
		p.unaligned_records.len = (int32_t)m->nbytes;
		t.name = topic;
		t.partitions.v = &p;
		t.partitions.n = 1;
		r.topics.v = &t;
		r.topics.n = 1;
		return kp_encode(w, km->resp, v, flex, &r);
	}
	default:
		return MO_EINVAL;
	}
}

/* Decode a request body into m (from/to/type set by the caller). */
static int
rio_decode_req(struct rd *r, int16_t api, int16_t v, struct raft_msg *m,
    struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(api);
	bool flex = kp_flexible(km, v);

	switch (api) {
	case KP_API_VOTE: {
		struct kp_vote_request q;
		const struct kp_vote_request_partition_data *p;

		if (kp_decode(r, km->req, v, flex, &q, a) != 0 ||
		    q.topics.n != 1 || q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		m->type = RAFT_VOTE_REQ;
		m->from = p->candidate_id;
		m->epoch = p->candidate_epoch;
		m->leader_id = RAFT_NO_ID;
		m->last_epoch = p->last_offset_epoch;
		m->last_offset = p->last_offset;
		return 0;
	}
	case KP_API_BEGIN_QUORUM_EPOCH: {
		struct kp_begin_quorum_epoch_request q;
		const struct kp_begin_quorum_epoch_request_partition_data *p;

		if (kp_decode(r, km->req, v, flex, &q, a) != 0 ||
		    q.topics.n != 1 || q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		m->type = RAFT_BEGIN_EPOCH_REQ;
		m->from = p->leader_id;
		m->leader_id = p->leader_id;
		m->epoch = p->leader_epoch;
		return 0;
	}
	case KP_API_END_QUORUM_EPOCH: {
		struct kp_end_quorum_epoch_request q;
		const struct kp_end_quorum_epoch_request_partition_data *p;
		int32_t i;

		if (kp_decode(r, km->req, v, flex, &q, a) != 0 ||
		    q.topics.n != 1 || q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		m->type = RAFT_END_EPOCH_REQ;
		m->from = p->leader_id;
		m->leader_id = p->leader_id;
		m->epoch = p->leader_epoch;
		for (i = 0; i < p->preferred_successors.n &&
		    i < RAFT_MAX_VOTERS; i++)
			m->successors[i] = p->preferred_successors.v[i];
		m->nsuccessors = (size_t)i;
		return 0;
	}
	case KP_API_FETCH: {
		struct kp_fetch_request q;
		const struct kp_fetch_request_fetch_partition *p;

		if (kp_decode(r, km->req, v, flex, &q, a) != 0 ||
		    q.topics.n != 1 || q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		m->type = RAFT_FETCH_REQ;
		m->from = q.replica_id;
		m->epoch = p->current_leader_epoch;
		m->fetch_offset = p->fetch_offset;
		m->last_fetched_epoch = p->last_fetched_epoch;
		return 0;
	}
	case KP_API_FETCH_SNAPSHOT: {
		struct kp_fetch_snapshot_request q;
		const struct kp_fetch_snapshot_request_partition_snapshot *p;

		if (kp_decode(r, km->req, v, flex, &q, a) != 0 ||
		    q.topics.n != 1 || q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		if (p->snapshot_id == NULL)
			return -1;
		m->type = RAFT_FETCH_SNAP_REQ;
		m->from = q.replica_id;
		m->epoch = p->current_leader_epoch;
		m->snap_offset = p->snapshot_id->end_offset;
		m->snap_epoch = p->snapshot_id->epoch;
		m->position = p->position;
		return 0;
	}
	default:
		return -1;
	}
}

/* Decode a response body for the request s into m. */
static int
rio_decode_resp(struct rd *r, const struct rio_sent *s, struct raft_msg *m,
    struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(s->api);
	bool flex = kp_flexible(km, s->version);

	m->type = s->type;
	m->req_id = s->req_id;
	m->div_epoch = -1;
	m->snap_offset = -1;
	switch (s->api) {
	case KP_API_VOTE: {
		struct kp_vote_response q;
		const struct kp_vote_response_partition_data *p;

		if (kp_decode(r, km->resp, s->version, flex, &q, a) != 0 ||
		    q.topics.n != 1 || q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		m->error = p->error_code;
		m->leader_id = p->leader_id;
		m->epoch = p->leader_epoch;
		m->granted = p->vote_granted;
		return 0;
	}
	case KP_API_BEGIN_QUORUM_EPOCH:
	case KP_API_END_QUORUM_EPOCH: {
		struct kp_begin_quorum_epoch_response q;
		const struct kp_begin_quorum_epoch_response_partition_data *p;

		if (kp_decode(r, kp_msg_get(KP_API_BEGIN_QUORUM_EPOCH)->resp,
		    s->version, flex, &q, a) != 0 || q.topics.n != 1 ||
		    q.topics.v[0].partitions.n != 1)
			return -1;
		p = &q.topics.v[0].partitions.v[0];
		m->error = p->error_code;
		m->leader_id = p->leader_id;
		m->epoch = p->leader_epoch;
		return 0;
	}
	case KP_API_FETCH: {
		struct kp_fetch_response q;
		const struct kp_fetch_response_partition_data *p;

		if (kp_decode(r, km->resp, s->version, flex, &q, a) != 0 ||
		    q.responses.n != 1 || q.responses.v[0].partitions.n != 1)
			return -1;
		p = &q.responses.v[0].partitions.v[0];
		if (p->current_leader == NULL)
			return -1;
		m->error = p->error_code;
		m->leader_id = p->current_leader->leader_id;
		m->epoch = p->current_leader->leader_epoch;
		m->hw = p->high_watermark;
		m->log_start = p->log_start_offset;
		m->fetch_offset = s->fetch_offset;
		if (p->diverging_epoch != NULL &&
		    p->diverging_epoch->epoch >= 0) {
			m->div_epoch = p->diverging_epoch->epoch;
			m->div_end_offset = p->diverging_epoch->end_offset;
		}
		if (p->snapshot_id != NULL && p->snapshot_id->end_offset >= 0) {
			m->snap_offset = p->snapshot_id->end_offset;
			m->snap_epoch = p->snapshot_id->epoch;
		}
		if (p->records.len > 0 &&
		    meta_entries_decode(p->records.p, (size_t)p->records.len,
		    &m->entries, &m->nentries) != 0)
			return -1;
		return 0;
	}
	case KP_API_FETCH_SNAPSHOT: {
		struct kp_fetch_snapshot_response q;
		const struct kp_fetch_snapshot_response_partition_snapshot *p;

		if (kp_decode(r, km->resp, s->version, flex, &q, a) != 0)
			return -1;
		if (q.topics.n != 1 || q.topics.v[0].partitions.n != 1) {
			if (q.error_code == 0)
				return -1;
			m->error = q.error_code;
			m->leader_id = RAFT_NO_ID;
			return 0;
		}
		p = &q.topics.v[0].partitions.v[0];
		m->error = p->error_code;
		m->leader_id = RAFT_NO_ID;
		if (p->current_leader != NULL) {
			m->leader_id = p->current_leader->leader_id;
			m->epoch = p->current_leader->leader_epoch;
		}
		if (p->snapshot_id != NULL) {
			m->snap_offset = p->snapshot_id->end_offset;
			m->snap_epoch = p->snapshot_id->epoch;
		}
		m->snap_size = p->size;
		m->position = p->position;
		if (p->unaligned_records.len > 0) {
			m->nbytes = (size_t)p->unaligned_records.len;
			m->bytes = xmalloc(m->nbytes);
			memcpy(m->bytes, p->unaligned_records.p, m->nbytes);
		}
		return 0;
	}
	default:
		return -1;
	}
}

/* ---- framing ---- */

static void
rio_write_frame(struct rio_conn *c, const struct wbuf *w)
{
	uint8_t hdr[4];
	uint32_t n = (uint32_t)w->len;

	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	bufferevent_write(c->bev, hdr, 4);
	bufferevent_write(c->bev, w->data, w->len);
}

/* An answer slot is free: connections that waited for one read again
   (from the loop, not from here). */
static void
rio_unpause(struct rio *io)
{
	for (struct rio_conn *c = io->conns; c != NULL; c = c->next) {
		if (!c->paused)
			continue;
		c->paused = false;
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

static void
rio_send_resp(struct rio *io, struct raft_msg *m)
{
	struct rio_pending pd;
	struct wbuf w = { 0 };
	size_t i;

	for (i = 0; i < io->npend; i++)
		if (io->pend[i].req_id == m->req_id)
			break;
	if (i == io->npend)
		return;	/* its connection is gone */
	pd = io->pend[i];
	io->pend[i] = io->pend[--io->npend];
	kp_resp_hdr_encode(&w, kp_resp_hdr_version(pd.api, pd.version),
	    pd.corr);
	if (rio_encode_body(&w, m, pd.api, pd.version) == 0 && w.err == 0)
		rio_write_frame(pd.c, &w);
	wbuf_clear(&w);
	rio_unpause(io);
}

static void
rio_send_req(struct rio *io, struct raft_msg *m)
{
	struct rio_peer *p = rio_peer(io, m->to);
	struct bufferevent *bev;
	struct kp_req_hdr h;
	struct rio_sent *s;
	struct wbuf w = { 0 };

	if (p == NULL)
		return;
	if (p->c == NULL) {
		bev = bufferevent_socket_new(io->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			return;
		if (bufferevent_socket_connect(bev, (struct sockaddr *)&p->ss,
		    p->sslen) != 0) {
			bufferevent_free(bev);
			return;
		}
		p->c = rio_conn_new(io, bev, p);
	}
	if (p->nsent == RIO_INFLIGHT) {
		/* The peer does not answer: start over. */
		rio_conn_free(p->c);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.api_key = rio_api_of(m->type);
	h.api_version = rio_version_of(h.api_key);
	h.correlation_id = p->next_corr++;
	h.client_id.p = "moldau-controller";
	h.client_id.len = (int32_t)strlen(h.client_id.p);
	kp_req_hdr_encode(&w, &h);
	if (rio_encode_body(&w, m, h.api_key, h.api_version) != 0 ||
	    w.err != 0) {
		wbuf_clear(&w);
		return;
	}
	s = &p->sent[p->nsent++];
	s->corr = h.correlation_id;
	s->api = h.api_key;
	s->version = h.api_version;
	s->type = m->type + 1;
	s->req_id = m->req_id;
	s->fetch_offset = m->fetch_offset;
	rio_write_frame(p->c, &w);
	wbuf_clear(&w);
}

void
rio_send(struct rio *io, struct raft_msg *m)
{
	if (m->type % 2 == 1)
		rio_send_req(io, m);
	else
		rio_send_resp(io, m);
	raft_msg_clear(m);
}

/* An answer from a peer on our outbound connection. */
static int
rio_handle_resp(struct rio_conn *c, struct rd *r)
{
	struct rio_peer *p = c->peer;
	struct kp_arena a = { 0 };
	struct raft_msg m;
	struct rio_sent s;
	int32_t corr;
	size_t i;
	int rc = -1;

	if (rd_i32(r, &corr) != 0)
		return -1;
	for (i = 0; i < p->nsent; i++)
		if (p->sent[i].corr == corr)
			break;
	if (i == p->nsent)
		return -1;
	s = p->sent[i];
	memmove(&p->sent[i], &p->sent[i + 1],
	    (p->nsent - i - 1) * sizeof(p->sent[0]));
	p->nsent--;
	if (kp_resp_hdr_version(s.api, s.version) >= 1) {
		uint32_t ntags;

		/* Our peers send no tagged header fields. */
		if (rd_uvarint(r, &ntags) != 0 || ntags != 0)
			return -1;
	}
	memset(&m, 0, sizeof(m));
	if (rio_decode_resp(r, &s, &m, &a) == 0) {
		m.from = p->id;
		m.to = c->io->self;
		c->io->recv(&m, c->io->arg);
		rc = 0;
	}
	raft_msg_clear(&m);
	kp_arena_clear(&a);
	return rc;
}

/* A request from a peer or a client on an accepted connection. */
static int
rio_handle_req(struct rio_conn *c, struct rd *r)
{
	struct rio *io = c->io;
	struct kp_req_hdr h;
	struct kp_arena a = { 0 };
	struct raft_msg m;
	struct wbuf w = { 0 };
	struct rio_pending *pd;
	int rc = -1;

	if (kp_req_hdr_decode(r, &h) != 0)
		return -1;
	if (!rio_is_raft_api(h.api_key)) {
		uint64_t token = io->next_req_id++;

		if (io->npend == RIO_PENDING)
			return -1;
		kp_resp_hdr_encode(&w, kp_resp_hdr_version(h.api_key,
		    h.api_version), h.correlation_id);
		rc = io->api(&h, r, &w, token, io->arg);
		if (rc == RIO_DEFER) {
			pd = &io->pend[io->npend++];
			pd->req_id = token;
			pd->c = c;
			pd->corr = h.correlation_id;
			pd->api = h.api_key;
			pd->version = h.api_version;
			rc = 0;
		} else if (rc == 0 && w.err == 0)
			rio_write_frame(c, &w);
		else
			rc = -1;
		wbuf_clear(&w);
		return rc;
	}
	if (h.api_version != rio_version_of(h.api_key))
		return -1;
	memset(&m, 0, sizeof(m));
	if (rio_decode_req(r, h.api_key, h.api_version, &m, &a) == 0 &&
	    io->npend < RIO_PENDING) {
		m.to = io->self;
		m.req_id = io->next_req_id++;
		pd = &io->pend[io->npend++];
		pd->req_id = m.req_id;
		pd->c = c;
		pd->corr = h.correlation_id;
		pd->api = h.api_key;
		pd->version = h.api_version;
		io->recv(&m, io->arg);
		rc = 0;
	}
	kp_arena_clear(&a);
	return rc;
}

static void
rio_read_cb(struct bufferevent *bev, void *arg)
{
	struct rio_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4], *frame;
	uint32_t n;
	struct rd r;
	int rc;

	while (!c->paused && evbuffer_get_length(in) >= 4) {
		evbuffer_copyout(in, hdr, 4);
		n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (n > RIO_MAX_FRAME) {
			log_warnx("controller: frame of %u bytes, closing", n);
			rio_conn_free(c);
			return;
		}
		if (evbuffer_get_length(in) < 4 + (size_t)n)
			return;
		/* Answers may come in any order (clients match correlation
		   ids); only when every answer slot is taken does reading
		   wait, so a heartbeat is never stuck behind a commit. */
		if (c->peer == NULL && c->io->npend >= RIO_PENDING) {
			c->paused = true;
			return;
		}
		evbuffer_drain(in, 4);
		frame = xmalloc(n ? n : 1);
		evbuffer_remove(in, frame, n);
		rd_init(&r, frame, n);
		rc = c->peer != NULL ? rio_handle_resp(c, &r) :
		    rio_handle_req(c, &r);
		free(frame);
		if (rc != 0) {
			log_warnx("controller: malformed or unexpected frame, "
			    "closing the connection");
			rio_conn_free(c);
			return;
		}
	}
}

void
rio_answer(struct rio *io, uint64_t token, const struct wbuf *body)
{
	struct rio_pending pd;
	struct wbuf w = { 0 };
	size_t i;

	for (i = 0; i < io->npend; i++)
		if (io->pend[i].req_id == token)
			break;
	if (i == io->npend)
		return;	/* its connection is gone */
	pd = io->pend[i];
	io->pend[i] = io->pend[--io->npend];
	kp_resp_hdr_encode(&w, kp_resp_hdr_version(pd.api, pd.version),
	    pd.corr);
	wbuf_put(&w, body->data, body->len);
	if (w.err == 0 && body->err == 0)
		rio_write_frame(pd.c, &w);
	wbuf_clear(&w);
	rio_unpause(io);
}

int
rio_decode_request(struct rd *r, int16_t api, int16_t v, struct raft_msg *m,
    struct kp_arena *a)
{
	if (!rio_is_raft_api(api) || v != rio_version_of(api))
		return -1;
	return rio_decode_req(r, api, v, m, a);
}

int
rio_decode_response(struct rd *r, int16_t api, struct raft_msg *m,
    struct kp_arena *a)
{
	static const int types[] = { RAFT_VOTE_RESP, RAFT_BEGIN_EPOCH_RESP,
	    RAFT_END_EPOCH_RESP, RAFT_FETCH_RESP, RAFT_FETCH_SNAP_RESP };
	struct rio_sent s;
	size_t i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (rio_api_of(types[i]) == api)
			s.type = types[i];
	if (s.type == 0)
		return -1;
	s.api = api;
	s.version = rio_version_of(api);
	s.req_id = 1;
	return rio_decode_resp(r, &s, m, a);
}

void
rio_free(struct rio *io)
{
	if (io == NULL)
		return;
	while (io->conns != NULL)
		rio_conn_free(io->conns);
	if (io->listener != NULL)
		evconnlistener_free(io->listener);
	if (io->ulistener != NULL)
		evconnlistener_free(io->ulistener);
	free(io);
}
