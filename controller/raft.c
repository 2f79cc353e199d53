/*
 * Raft core: state, log, outputs and message dispatch.  No I/O here; see
 * raft.h for the contract with the driver.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "raft_int.h"

void
raft_cfg_defaults(struct raft_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->id = RAFT_NO_ID;
	c->election_timeout_ms = 1000;
	c->fetch_timeout_ms = 2000;
	c->fetch_backoff_ms = 50;
	c->request_timeout_ms = 500;
	c->max_fetch_entries = 1024;
	c->snapshot_chunk = 1 << 20;
	c->seed = 1;
}

static uint64_t
raft_rand(struct raft *r)
{
	/* xorshift64*: deterministic per seed */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 2685821657736338717ULL;
}

void
raft_reset_election_timer(struct raft *r, int64_t now)
{
	int64_t t = r->cfg.election_timeout_ms;

	r->election_deadline = now + t + (int64_t)(raft_rand(r) % (uint64_t)t);
}

int
raft_voter_index(const struct raft *r, int32_t id)
{
	size_t i;

	for (i = 0; i < r->cfg.nvoters; i++)
		if (r->cfg.voters[i] == id)
			return (int)i;
	return -1;
}

size_t
raft_majority(const struct raft *r)
{
	return r->cfg.nvoters / 2 + 1;
}

struct raft *
raft_new(const struct raft_cfg *cfg, const struct raft_boot *b, int64_t now)
{
	struct raft *r;
	size_t i;

	MO_ASSERT(cfg->nvoters > 0 && cfg->nvoters <= RAFT_MAX_VOTERS);
	MO_ASSERT(cfg->election_timeout_ms > 0);
	r = xcalloc(1, sizeof(*r));
	r->cfg = *cfg;
	if (r->cfg.max_fetch_entries == 0)
		r->cfg.max_fetch_entries = 1;
	if (r->cfg.snapshot_chunk == 0)
		r->cfg.snapshot_chunk = 1;
	r->rng = cfg->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)cfg->id + 1;
	if (r->rng == 0)
		r->rng = 1;
	r->next_req_id = 1;
	r->truncate_to = -1;
	r->hard.epoch = 0;
	r->hard.voted_id = RAFT_NO_ID;
	r->hard.leader_id = RAFT_NO_ID;
	if (b != NULL) {
		r->hard = b->hard;
		r->log_start = b->snap_offset;
		r->snap_epoch = b->snap_epoch;
		if (b->snapshot_len > 0) {
			r->snap = xmalloc(b->snapshot_len);
			memcpy(r->snap, b->snapshot, b->snapshot_len);
			r->snap_len = b->snapshot_len;
		}
		for (i = 0; i < b->nentries; i++) {
			MO_ASSERT(b->entries[i].offset ==
			    r->log_start + (int64_t)i);
			raft_log_append(r, &b->entries[i]);
		}
	}
	r->persisted_end = raft_log_end(r);
	r->unsent_from = raft_log_end(r);
	r->hw = r->log_start;
	/* A restarted leader never leads its old epoch again. */
	if (r->hard.leader_id == cfg->id)
		r->hard.leader_id = RAFT_NO_ID;
	if (r->hard.leader_id != RAFT_NO_ID) {
		r->role = RAFT_FOLLOWER;
		r->leader_contact_ms = now;
		r->next_fetch_ms = now;
	} else
		r->role = RAFT_UNATTACHED;
	r->role_since_ms = now;
	raft_reset_election_timer(r, now);
	if (cfg->nvoters == 1 && cfg->voters[0] == cfg->id)
		raft_start_election(r, now);
	return r;
}

void
raft_entry_clear(struct raft_entry *e)
{
	free(e->data);
	e->data = NULL;
	e->len = 0;
}

void
raft_msg_clear(struct raft_msg *m)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		raft_entry_clear(&m->entries[i]);
	free(m->entries);
	free(m->bytes);
	memset(m, 0, sizeof(*m));
}

void
raft_msg_copy(struct raft_msg *dst, const struct raft_msg *src)
{
	size_t i;

	*dst = *src;
	dst->entries = NULL;
	dst->bytes = NULL;
	if (src->nentries > 0) {
		dst->entries = xcalloc(src->nentries, sizeof(*dst->entries));
		for (i = 0; i < src->nentries; i++) {
			dst->entries[i] = src->entries[i];
			dst->entries[i].data = NULL;
			if (src->entries[i].len > 0) {
				dst->entries[i].data =
				    xmalloc(src->entries[i].len);
				memcpy(dst->entries[i].data,
				    src->entries[i].data, src->entries[i].len);
			}
		}
	}
	if (src->nbytes > 0) {
		dst->bytes = xmalloc(src->nbytes);
		memcpy(dst->bytes, src->bytes, src->nbytes);
	}
}

void
raft_free(struct raft *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nlog; i++)
		raft_entry_clear(&r->log[i]);
	free(r->log);
	for (i = 0; i < r->nout; i++)
		raft_msg_clear(&r->out[i]);
	free(r->out);
	free(r->snap);
	free(r->sf_buf);
	free(r);
}

/* ---- log ---- */

int64_t
raft_log_end(const struct raft *r)
{
	return r->log_start + (int64_t)r->nlog;
}

const struct raft_entry *
raft_entry_at(const struct raft *r, int64_t off)
{
	if (off < r->log_start || off >= raft_log_end(r))
		return NULL;
	return &r->log[off - r->log_start];
}

int32_t
raft_epoch_before(const struct raft *r, int64_t off)
{
	const struct raft_entry *e;

	if (off <= r->log_start)
		return r->snap_epoch;
	e = raft_entry_at(r, off - 1);
	return e != NULL ? e->epoch : -1;
}

int32_t
raft_last_epoch(const struct raft *r)
{
	return raft_epoch_before(r, raft_log_end(r));
}

void
raft_log_append(struct raft *r, const struct raft_entry *src)
{
	struct raft_entry *e;

	if (r->nlog == r->caplog) {
		r->caplog = r->caplog ? r->caplog * 2 : 64;
		r->log = xreallocarray(r->log, r->caplog, sizeof(*r->log));
	}
	e = &r->log[r->nlog++];
	*e = *src;
	e->offset = raft_log_end(r) - 1;
	e->data = NULL;
	if (src->len > 0) {
		e->data = xmalloc(src->len);
		memcpy(e->data, src->data, src->len);
	}
}

void
raft_log_truncate(struct raft *r, int64_t off)
{
	if (off < r->log_start)
		off = r->log_start;
	if (off >= raft_log_end(r))
		return;
	if (off < r->hw)
		fatalx("raft %d: truncating committed entries at %lld < hw "
		    "%lld", r->cfg.id, (long long)off, (long long)r->hw);
	while (raft_log_end(r) > off)
		raft_entry_clear(&r->log[--r->nlog]);
	if (off < r->unsent_from) {
		r->unsent_from = off;
		if (r->truncate_to < 0 || off < r->truncate_to)
			r->truncate_to = off;
	}
	if (r->persisted_end > off)
		r->persisted_end = off;
}

void
raft_log_drop_prefix(struct raft *r, int64_t off, int32_t epoch)
{
	size_t n, i;

	if (off <= r->log_start)
		return;
	n = (size_t)(off - r->log_start);
	if (n > r->nlog)
		n = r->nlog;
	for (i = 0; i < n; i++)
		raft_entry_clear(&r->log[i]);
	memmove(r->log, r->log + n, (r->nlog - n) * sizeof(*r->log));
	r->nlog -= n;
	r->log_start = off;
	r->snap_epoch = epoch;
	if (r->unsent_from < off)
		r->unsent_from = off;
	if (r->persisted_end < off)
		r->persisted_end = off;
	if (r->hw < off)
		raft_set_hw(r, off);
}

/*
 * The largest epoch <= epoch in the log and its end offset.  When no entry
 * qualifies, the snapshot's epoch and the log start (the caller compares
 * *ep with epoch to see whether it matched).
 */
void
raft_epoch_end(const struct raft *r, int32_t epoch, int32_t *ep,
    int64_t *end)
{
	size_t i = r->nlog;

	while (i > 0 && r->log[i - 1].epoch > epoch)
		i--;
	if (i > 0) {
		*ep = r->log[i - 1].epoch;
		*end = r->log[i - 1].offset + 1;
		return;
	}
	*ep = r->snap_epoch;
	*end = r->log_start;
}

void
raft_set_hw(struct raft *r, int64_t hw)
{
	if (hw > raft_log_end(r))
		hw = raft_log_end(r);
	if (hw <= r->hw)
		return;
	r->hw = hw;
	r->hw_dirty = true;
}

/* ---- transitions ---- */

static void
raft_role_set(struct raft *r, enum raft_role role, int64_t now)
{
	if (r->role != role)
		log_debug("raft %d: %s -> %s in epoch %d", r->cfg.id,
		    raft_role_name(r->role), raft_role_name(role),
		    r->hard.epoch);
	r->role = role;
	r->role_since_ms = now;
	r->fetch_inflight = false;
	r->sf_active = false;
	free(r->sf_buf);
	r->sf_buf = NULL;
	r->sf_len = 0;
}

void
raft_become_unattached(struct raft *r, int32_t epoch, int64_t now)
{
	if (epoch > r->hard.epoch) {
		r->hard.epoch = epoch;
		r->hard.voted_id = RAFT_NO_ID;
		r->hard.leader_id = RAFT_NO_ID;
		r->hard_dirty = true;
	}
	raft_role_set(r, RAFT_UNATTACHED, now);
	raft_reset_election_timer(r, now);
}

void
raft_become_follower(struct raft *r, int32_t epoch, int32_t leader,
    int64_t now)
{
	MO_ASSERT(leader != r->cfg.id);
	if (epoch > r->hard.epoch) {
		r->hard.epoch = epoch;
		r->hard.voted_id = RAFT_NO_ID;
		r->hard_dirty = true;
	}
	if (r->hard.leader_id != leader) {
		r->hard.leader_id = leader;
		r->hard_dirty = true;
	}
	raft_role_set(r, RAFT_FOLLOWER, now);
	r->leader_contact_ms = now;
	r->next_fetch_ms = now;
}

void
raft_resign(struct raft *r, int64_t now)
{
	struct raft_msg *m;
	size_t i, j, k;
	int32_t ids[RAFT_MAX_VOTERS];
	int64_t ends[RAFT_MAX_VOTERS];

	if (r->role != RAFT_LEADER)
		return;
	/* Successors: the other voters by replicated offset, best first. */
	k = 0;
	for (i = 0; i < r->cfg.nvoters; i++) {
		if (r->cfg.voters[i] == r->cfg.id)
			continue;
		ids[k] = r->cfg.voters[i];
		ends[k] = r->reps[i].end_offset;
		for (j = k; j > 0 && ends[j - 1] < ends[j]; j--) {
			int32_t ti = ids[j];
			int64_t te = ends[j];

			ids[j] = ids[j - 1];
			ends[j] = ends[j - 1];
			ids[j - 1] = ti;
			ends[j - 1] = te;
		}
		k++;
	}
	raft_role_set(r, RAFT_RESIGNED, now);
	raft_reset_election_timer(r, now);
	r->end_sent_ms = now;
	for (i = 0; i < k; i++) {
		m = raft_out(r, RAFT_END_EPOCH_REQ, ids[i]);
		m->leader_id = r->cfg.id;
		memcpy(m->successors, ids, k * sizeof(ids[0]));
		m->nsuccessors = k;
	}
}

/* ---- outputs ---- */

struct raft_msg *
raft_out(struct raft *r, int type, int32_t to)
{
	struct raft_msg *m;

	if (r->nout == r->capout) {
		r->capout = r->capout ? r->capout * 2 : 16;
		r->out = xreallocarray(r->out, r->capout, sizeof(*r->out));
	}
	m = &r->out[r->nout++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->cfg.id;
	m->to = to;
	m->epoch = r->hard.epoch;
	m->leader_id = r->hard.leader_id;
	m->div_epoch = -1;
	m->snap_offset = -1;
	m->req_id = r->next_req_id++;
	return m;
}

struct raft_msg *
raft_reply(struct raft *r, const struct raft_msg *req, int type)
{
	struct raft_msg *m = raft_out(r, type, req->from);

	m->req_id = req->req_id;
	return m;
}

bool
raft_has_ready(const struct raft *r)
{
	return r->hard_dirty || r->reset_pending || r->truncate_to >= 0 ||
	    r->unsent_from < raft_log_end(r) || r->nout > 0 || r->hw_dirty;
}

void
raft_ready(struct raft *r, struct raft_ready *rd)
{
	memset(rd, 0, sizeof(*rd));
	rd->hard_changed = r->hard_dirty;
	rd->hard = r->hard;
	rd->reset_offset = -1;
	if (r->reset_pending) {
		rd->reset_offset = r->reset_offset;
		rd->reset_epoch = r->reset_epoch;
		rd->snapshot = r->snap;
		rd->snapshot_len = r->snap_len;
	}
	rd->truncate_to = r->truncate_to;
	if (r->unsent_from < raft_log_end(r)) {
		rd->append = &r->log[r->unsent_from - r->log_start];
		rd->nappend = (size_t)(raft_log_end(r) - r->unsent_from);
	}
	rd->msgs = r->out;
	rd->nmsgs = r->nout;
	rd->hw_changed = r->hw_dirty;
	rd->hw = r->hw;
}

void
raft_advance(struct raft *r, struct raft_ready *rd)
{
	size_t i;

	for (i = 0; i < rd->nmsgs; i++)
		raft_msg_clear(&rd->msgs[i]);
	r->nout = 0;
	r->hard_dirty = false;
	r->reset_pending = false;
	r->truncate_to = -1;
	r->unsent_from = raft_log_end(r);
	r->hw_dirty = false;
	memset(rd, 0, sizeof(*rd));
}

void
raft_persisted(struct raft *r, int64_t end, int32_t last_epoch, int64_t now)
{
	if (end > raft_log_end(r) || end <= r->persisted_end)
		return;
	if (raft_epoch_before(r, end) != last_epoch)
		return;	/* the log changed since this write */
	r->persisted_end = end;
	if (r->role == RAFT_LEADER)
		raft_leader_update_hw(r);
	else if (r->role == RAFT_FOLLOWER && !r->fetch_inflight &&
	    r->persisted_end == raft_log_end(r) && r->next_fetch_ms <= now)
		raft_send_fetch(r, now);
}

int
raft_snapshot_taken(struct raft *r, int64_t off, int32_t epoch,
    const void *data, size_t len)
{
	if (off <= r->log_start || off > r->hw ||
	    raft_epoch_before(r, off) != epoch)
		return -1;
	free(r->snap);
	r->snap = NULL;
	r->snap_len = len;
	if (len > 0) {
		r->snap = xmalloc(len);
		memcpy(r->snap, data, len);
	}
	raft_log_drop_prefix(r, off, epoch);
	return 0;
}

/* ---- inputs ---- */

int64_t
raft_propose(struct raft *r, const void *data, size_t len, int64_t now)
{
	struct raft_entry e;

	(void)now;
	if (r->role != RAFT_LEADER)
		return -1;
	memset(&e, 0, sizeof(e));
	e.epoch = r->hard.epoch;
	e.data = (uint8_t *)(uintptr_t)data;
	e.len = len;
	raft_log_append(r, &e);
	return raft_log_end(r) - 1;
}

void
raft_tick(struct raft *r, int64_t now)
{
	raft_election_tick(r, now);
	raft_replication_tick(r, now);
}

static bool
raft_is_request(int type)
{
	return type == RAFT_VOTE_REQ || type == RAFT_BEGIN_EPOCH_REQ ||
	    type == RAFT_END_EPOCH_REQ || type == RAFT_FETCH_REQ ||
	    type == RAFT_FETCH_SNAP_REQ;
}

/*
 * Epoch rules common to every message.  Returns false when the message is
 * stale and was answered (requests) or dropped (responses).
 */
static bool
raft_check_epoch(struct raft *r, const struct raft_msg *m, int64_t now)
{
	struct raft_msg *resp;

	if (m->epoch < r->hard.epoch) {
		if (!raft_is_request(m->type))
			return false;
		resp = raft_reply(r, m, m->type + 1);
		resp->error = RAFT_ERR_FENCED_EPOCH;
		return false;
	}
	if (m->epoch == r->hard.epoch)
		return true;
	/* A fetch in an epoch this node has not seen is not trusted (as in
	   Kafka): answered UNKNOWN_LEADER_EPOCH, the epoch is not taken. */
	if (m->type == RAFT_FETCH_REQ || m->type == RAFT_FETCH_SNAP_REQ) {
		resp = raft_reply(r, m, m->type + 1);
		resp->error = RAFT_ERR_UNKNOWN_EPOCH;
		resp->leader_id = raft_leader(r);
		return false;
	}
	/* A newer epoch: learn it, and its leader when the message says. */
	if (m->type == RAFT_BEGIN_EPOCH_REQ)
		raft_become_follower(r, m->epoch, m->from, now);
	else if (m->leader_id >= 0 && m->leader_id != r->cfg.id &&
	    !raft_is_request(m->type))
		raft_become_follower(r, m->epoch, m->leader_id, now);
	else
		raft_become_unattached(r, m->epoch, now);
	return true;
}

/*
 * Messages no voter sends: an epoch that leaves no room for another
 * election, or quorum requests with a negative epoch or (Vote, BeginQuorumEpoch,
 * EndQuorumEpoch) from a node that is not a voter.  Observers only fetch.
 */
static bool
raft_msg_bogus(const struct raft *r, const struct raft_msg *m)
{
	if (m->epoch == INT32_MAX)
		return true;
	switch (m->type) {
	case RAFT_VOTE_REQ:
	case RAFT_BEGIN_EPOCH_REQ:
	case RAFT_END_EPOCH_REQ:
		return m->epoch < 0 || raft_voter_index(r, m->from) < 0;
	case RAFT_FETCH_REQ:
	case RAFT_FETCH_SNAP_REQ:
		return false;	/* a stale epoch is answered FENCED */
	default:
		return !(m->type >= RAFT_VOTE_REQ &&
		    m->type <= RAFT_FETCH_SNAP_RESP);
	}
}

void
raft_recv(struct raft *r, const struct raft_msg *m, int64_t now)
{
	if (m->to != r->cfg.id || m->from == r->cfg.id ||
	    raft_msg_bogus(r, m))
		return;
	if (!raft_check_epoch(r, m, now))
		return;
	switch (m->type) {
	case RAFT_VOTE_REQ:
		raft_recv_vote_req(r, m, now);
		break;
	case RAFT_VOTE_RESP:
		raft_recv_vote_resp(r, m, now);
		break;
	case RAFT_BEGIN_EPOCH_REQ:
		raft_recv_begin_req(r, m, now);
		break;
	case RAFT_END_EPOCH_REQ:
		raft_recv_end_req(r, m, now);
		break;
	case RAFT_FETCH_REQ:
		raft_recv_fetch_req(r, m, now);
		break;
	case RAFT_FETCH_RESP:
		raft_recv_fetch_resp(r, m, now);
		break;
	case RAFT_FETCH_SNAP_REQ:
		raft_recv_snap_req(r, m, now);
		break;
	case RAFT_FETCH_SNAP_RESP:
		raft_recv_snap_resp(r, m, now);
		break;
	case RAFT_BEGIN_EPOCH_RESP:
	case RAFT_END_EPOCH_RESP:
	default:
		break;
	}
}

/* ---- queries ---- */

enum raft_role
raft_role(const struct raft *r)
{
	return r->role;
}

const char *
raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_UNATTACHED:
		return "unattached";
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	case RAFT_RESIGNED:
		return "resigned";
	}
	return "?";
}

int32_t
raft_id(const struct raft *r)
{
	return r->cfg.id;
}

int32_t
raft_epoch(const struct raft *r)
{
	return r->hard.epoch;
}

int32_t
raft_leader(const struct raft *r)
{
	return r->role == RAFT_LEADER ? r->cfg.id :
	    r->role == RAFT_FOLLOWER ? r->hard.leader_id : RAFT_NO_ID;
}

int64_t
raft_hw(const struct raft *r)
{
	return r->hw;
}

int64_t
raft_log_start(const struct raft *r)
{
	return r->log_start;
}

int64_t
raft_persisted_end(const struct raft *r)
{
	return r->persisted_end;
}

size_t
raft_replicas(const struct raft *r, struct raft_replica *v, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < r->cfg.nvoters && n < max; i++) {
		v[n] = r->reps[i];
		v[n].id = r->cfg.voters[i];
		if (v[n].id == r->cfg.id) {
			v[n].end_offset = r->persisted_end;
			v[n].last_fetch_ms = -1;
		} else if (r->role != RAFT_LEADER) {
			v[n].end_offset = -1;
			v[n].last_fetch_ms = -1;
		}
		n++;
	}
	return n;
}

void
raft_snapshot_id(const struct raft *r, int64_t *off, int32_t *epoch)
{
	*off = r->log_start;
	*epoch = r->snap_epoch;
}
