/*
 * Raft elections: Vote (no pre-vote), BeginQuorumEpoch, EndQuorumEpoch,
 * and the timers that start elections.
 */
#include <string.h>

#include "log.h"
#include "raft_int.h"

static void
raft_send_votes(struct raft *r, int64_t now)
{
	struct raft_msg *m;
	size_t i;

	r->vote_sent_ms = now;
	for (i = 0; i < r->cfg.nvoters; i++) {
		if (r->cfg.voters[i] == r->cfg.id || r->answered[i])
			continue;
		m = raft_out(r, RAFT_VOTE_REQ, r->cfg.voters[i]);
		m->leader_id = RAFT_NO_ID;
		m->last_epoch = raft_last_epoch(r);
		m->last_offset = raft_log_end(r);
	}
}

static void
raft_become_leader(struct raft *r, int64_t now)
{
	struct raft_entry marker;
	struct raft_msg *m;
	size_t i;

	r->role = RAFT_LEADER;
	r->role_since_ms = now;
	r->hard.leader_id = r->cfg.id;
	r->hard_dirty = true;
	for (i = 0; i < r->cfg.nvoters; i++) {
		r->reps[i].id = r->cfg.voters[i];
		r->reps[i].end_offset = -1;
		r->reps[i].last_fetch_ms = -1;
	}
	log_info("raft %d: leader of epoch %d", r->cfg.id, r->hard.epoch);
	/* The leader-change marker commits the previous epochs' entries. */
	r->epoch_start = raft_log_end(r);
	memset(&marker, 0, sizeof(marker));
	marker.epoch = r->hard.epoch;
	marker.control = true;
	raft_log_append(r, &marker);
	r->begin_sent_ms = now;
	for (i = 0; i < r->cfg.nvoters; i++) {
		if (r->cfg.voters[i] == r->cfg.id)
			continue;
		m = raft_out(r, RAFT_BEGIN_EPOCH_REQ, r->cfg.voters[i]);
		m->leader_id = r->cfg.id;
	}
}

static void
raft_check_votes(struct raft *r, int64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < r->cfg.nvoters; i++)
		if (r->granted[i])
			n++;
	if (n >= raft_majority(r))
		raft_become_leader(r, now);
}

void
raft_start_election(struct raft *r, int64_t now)
{
	int self = raft_voter_index(r, r->cfg.id);

	if (self < 0)
		return;	/* observers never campaign */
	r->hard.epoch++;
	r->hard.voted_id = r->cfg.id;
	r->hard.leader_id = RAFT_NO_ID;
	r->hard_dirty = true;
	r->role = RAFT_CANDIDATE;
	r->role_since_ms = now;
	r->fetch_inflight = false;
	memset(r->granted, 0, sizeof(r->granted));
	memset(r->answered, 0, sizeof(r->answered));
	r->granted[self] = true;
	r->answered[self] = true;
	raft_reset_election_timer(r, now);
	log_debug("raft %d: candidate in epoch %d", r->cfg.id, r->hard.epoch);
	raft_send_votes(r, now);
	raft_check_votes(r, now);
}

void
raft_election_tick(struct raft *r, int64_t now)
{
	struct raft_msg *m;
	size_t i;

	switch (r->role) {
	case RAFT_UNATTACHED:
	case RAFT_RESIGNED:
		if (now >= r->election_deadline)
			raft_start_election(r, now);
		else if (r->role == RAFT_RESIGNED &&
		    now - r->end_sent_ms >= r->cfg.request_timeout_ms) {
			r->end_sent_ms = now;
			for (i = 0; i < r->cfg.nvoters; i++) {
				if (r->cfg.voters[i] == r->cfg.id)
					continue;
				m = raft_out(r, RAFT_END_EPOCH_REQ,
				    r->cfg.voters[i]);
				m->leader_id = r->cfg.id;
			}
		}
		break;
	case RAFT_CANDIDATE:
		if (now >= r->election_deadline)
			raft_start_election(r, now);
		else if (now - r->vote_sent_ms >= r->cfg.request_timeout_ms)
			raft_send_votes(r, now);
		break;
	case RAFT_FOLLOWER:
		if (now - r->leader_contact_ms >= r->cfg.fetch_timeout_ms) {
			log_info("raft %d: leader %d lost in epoch %d",
			    r->cfg.id, r->hard.leader_id, r->hard.epoch);
			raft_start_election(r, now);
		}
		break;
	case RAFT_LEADER:
		break;
	}
}

/* Is the candidate's log at least as up to date as ours? */
static bool
raft_log_ok(const struct raft *r, int32_t last_epoch, int64_t last_offset)
{
	int32_t mine = raft_last_epoch(r);

	if (last_epoch != mine)
		return last_epoch > mine;
	return last_offset >= raft_log_end(r);
}

void
raft_recv_vote_req(struct raft *r, const struct raft_msg *m, int64_t now)
{
	struct raft_msg *resp;
	bool grant;

	/* Epoch already equal to ours (raft_check_epoch). */
	grant = raft_voter_index(r, m->from) >= 0 &&
	    (r->role == RAFT_UNATTACHED || r->role == RAFT_CANDIDATE) &&
	    (r->hard.voted_id == RAFT_NO_ID || r->hard.voted_id == m->from) &&
	    raft_log_ok(r, m->last_epoch, m->last_offset);
	if (grant && r->hard.voted_id != m->from) {
		r->hard.voted_id = m->from;
		r->hard_dirty = true;
		raft_reset_election_timer(r, now);
	}
	resp = raft_reply(r, m, RAFT_VOTE_RESP);
	resp->leader_id = raft_leader(r);
	resp->granted = grant;
}

void
raft_recv_vote_resp(struct raft *r, const struct raft_msg *m, int64_t now)
{
	int i;

	if (r->role != RAFT_CANDIDATE || m->error != RAFT_ERR_NONE)
		return;
	i = raft_voter_index(r, m->from);
	if (i < 0)
		return;
	r->answered[i] = true;
	if (m->granted) {
		r->granted[i] = true;
		raft_check_votes(r, now);
	}
}

void
raft_recv_begin_req(struct raft *r, const struct raft_msg *m, int64_t now)
{
	struct raft_msg *resp;

	if (r->role == RAFT_LEADER) {
		/* Two leaders in one epoch is impossible; ignore noise. */
		log_warnx("raft %d: BeginQuorumEpoch from %d in my epoch %d",
		    r->cfg.id, m->from, r->hard.epoch);
		return;
	}
	if (r->role != RAFT_FOLLOWER || r->hard.leader_id != m->from)
		raft_become_follower(r, m->epoch, m->from, now);
	resp = raft_reply(r, m, RAFT_BEGIN_EPOCH_RESP);
	resp->leader_id = m->from;
}

void
raft_recv_end_req(struct raft *r, const struct raft_msg *m, int64_t now)
{
	struct raft_msg *resp;
	size_t i, pos;
	int64_t step = r->cfg.election_timeout_ms / 4 + 1;

	resp = raft_reply(r, m, RAFT_END_EPOCH_RESP);
	if (r->role == RAFT_LEADER || r->role == RAFT_CANDIDATE)
		return;
	if (r->role == RAFT_FOLLOWER && r->hard.leader_id != m->from)
		return;
	resp->leader_id = RAFT_NO_ID;
	/* Preferred successors campaign first, in order. */
	pos = r->cfg.nvoters;
	for (i = 0; i < m->nsuccessors && i < RAFT_MAX_VOTERS; i++)
		if (m->successors[i] == r->cfg.id)
			pos = i;
	if (r->role == RAFT_FOLLOWER) {
		r->role = RAFT_UNATTACHED;
		r->role_since_ms = now;
		r->fetch_inflight = false;
	}
	if (r->role == RAFT_UNATTACHED &&
	    r->election_deadline > now + (int64_t)pos * step + step)
		r->election_deadline = now + (int64_t)pos * step +
		    (int64_t)((uint64_t)now % (uint64_t)step);
}
