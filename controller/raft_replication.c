/*
 * Raft replication: followers pull with Fetch (offset + last fetched
 * epoch), the leader answers with entries, a diverging epoch to truncate
 * to, or the snapshot to download with FetchSnapshot.  The leader's high
 * watermark is the offset a majority of voters have made durable, once it
 * covers an entry of the leader's epoch.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "raft_int.h"

static void
raft_send_snap_req(struct raft *r, int64_t now)
{
	struct raft_msg *m;

	m = raft_out(r, RAFT_FETCH_SNAP_REQ, r->hard.leader_id);
	m->snap_offset = r->sf_offset;
	m->snap_epoch = r->sf_epoch;
	m->position = (int64_t)r->sf_len;
	r->fetch_inflight = true;
	r->fetch_req_id = m->req_id;
	r->fetch_sent_ms = now;
}

void
raft_send_fetch(struct raft *r, int64_t now)
{
	struct raft_msg *m;

	if (r->sf_active) {
		raft_send_snap_req(r, now);
		return;
	}
	m = raft_out(r, RAFT_FETCH_REQ, r->hard.leader_id);
	m->fetch_offset = raft_log_end(r);
	m->last_fetched_epoch = raft_last_epoch(r);
	r->fetch_inflight = true;
	r->fetch_req_id = m->req_id;
	r->fetch_sent_ms = now;
}

static void
raft_leader_tick(struct raft *r, int64_t now)
{
	struct raft_msg *m;
	size_t i, alive = 0;
	bool resend;

	resend = now - r->begin_sent_ms >= r->cfg.request_timeout_ms;
	for (i = 0; i < r->cfg.nvoters; i++) {
		if (r->cfg.voters[i] == r->cfg.id) {
			alive++;
			continue;
		}
		if (r->reps[i].last_fetch_ms >= 0 &&
		    now - r->reps[i].last_fetch_ms < r->cfg.fetch_timeout_ms)
			alive++;
		if (resend && r->reps[i].last_fetch_ms < 0) {
			m = raft_out(r, RAFT_BEGIN_EPOCH_REQ, r->cfg.voters[i]);
			m->leader_id = r->cfg.id;
		}
	}
	if (resend)
		r->begin_sent_ms = now;
	/* Check quorum: a leader cut off from a majority steps down. */
	if (alive < raft_majority(r) &&
	    now - r->role_since_ms >= r->cfg.fetch_timeout_ms) {
		log_info("raft %d: lost the quorum in epoch %d, resigning",
		    r->cfg.id, r->hard.epoch);
		raft_resign(r, now);
	}
}

void
raft_replication_tick(struct raft *r, int64_t now)
{
	if (r->role == RAFT_LEADER) {
		raft_leader_tick(r, now);
		return;
	}
	if (r->role != RAFT_FOLLOWER)
		return;
	if (r->fetch_inflight) {
		if (now - r->fetch_sent_ms >= r->cfg.request_timeout_ms)
			raft_send_fetch(r, now);
		return;
	}
	if (now >= r->next_fetch_ms && r->persisted_end == raft_log_end(r))
		raft_send_fetch(r, now);
}

static int
raft_cmp_i64_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

void
raft_leader_update_hw(struct raft *r)
{
	int64_t ends[RAFT_MAX_VOTERS], hw;
	size_t i;

	for (i = 0; i < r->cfg.nvoters; i++)
		ends[i] = r->cfg.voters[i] == r->cfg.id ? r->persisted_end :
		    r->reps[i].end_offset;
	qsort(ends, r->cfg.nvoters, sizeof(ends[0]), raft_cmp_i64_desc);
	hw = ends[raft_majority(r) - 1];
	/* Only an offset past the start of our epoch commits (Raft 5.4.2). */
	if (hw > r->epoch_start)
		raft_set_hw(r, hw);
}

/*
 * Validate a follower's position against our log.  Returns 0 when it
 * matches, 1 with a diverging epoch filled in, 2 when it must fetch the
 * snapshot.
 */
static int
raft_check_position(const struct raft *r, int64_t off, int32_t epoch,
    int32_t *div_epoch, int64_t *div_end)
{
	int32_t ep;
	int64_t end;

	if (off < r->log_start)
		return 2;
	if (off == r->log_start)
		return off == 0 || epoch == r->snap_epoch ? 0 : 2;
	raft_epoch_end(r, epoch, &ep, &end);
	if (ep == epoch && end >= off)
		return 0;
	if (end == r->log_start && ep > epoch)
		return 2;	/* that epoch is inside the snapshot */
	*div_epoch = ep;
	*div_end = end < off ? end : off;
	return 1;
}

void
raft_recv_fetch_req(struct raft *r, const struct raft_msg *m, int64_t now)
{
	struct raft_msg *resp;
	int32_t div_epoch = -1;
	int64_t div_end = -1, off, n, i;
	int vi, rc;

	resp = raft_reply(r, m, RAFT_FETCH_RESP);
	if (r->role != RAFT_LEADER) {
		resp->error = RAFT_ERR_NOT_LEADER;
		resp->leader_id = raft_leader(r);
		return;
	}
	resp->leader_id = r->cfg.id;
	resp->log_start = r->log_start;
	resp->fetch_offset = m->fetch_offset;
	if (m->fetch_offset < 0) {
		resp->error = RAFT_ERR_POSITION;
		resp->hw = r->hw;
		return;
	}
	rc = raft_check_position(r, m->fetch_offset, m->last_fetched_epoch,
	    &div_epoch, &div_end);
	vi = raft_voter_index(r, m->from);
	if (vi >= 0)
		r->reps[vi].last_fetch_ms = now;
	if (rc == 2) {
		resp->snap_offset = r->log_start;
		resp->snap_epoch = r->snap_epoch;
		resp->hw = r->hw;
		return;
	}
	if (rc == 1) {
		resp->div_epoch = div_epoch;
		resp->div_end_offset = div_end;
		resp->hw = r->hw;
		return;
	}
	if (vi >= 0) {
		r->reps[vi].end_offset = m->fetch_offset;
		raft_leader_update_hw(r);
	}
	/* The follower's hw can't pass what it has plus what we send. */
	off = m->fetch_offset;
	n = raft_log_end(r) - off;
	if (n > (int64_t)r->cfg.max_fetch_entries)
		n = (int64_t)r->cfg.max_fetch_entries;
	if (n > 0) {
		resp->entries = xcalloc((size_t)n, sizeof(*resp->entries));
		for (i = 0; i < n; i++) {
			const struct raft_entry *e = raft_entry_at(r, off + i);

			resp->entries[i] = *e;
			resp->entries[i].data = NULL;
			if (e->len > 0) {
				resp->entries[i].data = xmalloc(e->len);
				memcpy(resp->entries[i].data, e->data, e->len);
			}
		}
		resp->nentries = (size_t)n;
	}
	resp->hw = r->hw;
}

static void
raft_follower_truncate(struct raft *r, int32_t div_epoch, int64_t div_end)
{
	int32_t ep;
	int64_t end;

	raft_epoch_end(r, div_epoch, &ep, &end);
	if (div_end < end)
		end = div_end;
	if (end < r->hw) {
		log_warnx("raft %d: leader asked to truncate to %lld below "
		    "hw %lld", r->cfg.id, (long long)end, (long long)r->hw);
		end = r->hw;
	}
	raft_log_truncate(r, end);
}

void
raft_recv_fetch_resp(struct raft *r, const struct raft_msg *m, int64_t now)
{
	size_t i;
	int64_t hw;

	if (r->role != RAFT_FOLLOWER || m->from != r->hard.leader_id ||
	    !r->fetch_inflight || m->req_id != r->fetch_req_id ||
	    r->sf_active)
		return;
	r->fetch_inflight = false;
	if (m->error != RAFT_ERR_NONE) {
		r->next_fetch_ms = now + r->cfg.fetch_backoff_ms;
		return;
	}
	r->leader_contact_ms = now;
	r->next_fetch_ms = now;
	if (m->fetch_offset != raft_log_end(r))
		return;
	if (m->div_epoch >= 0) {
		raft_follower_truncate(r, m->div_epoch, m->div_end_offset);
	} else if (m->snap_offset >= 0) {
		r->sf_active = true;
		r->sf_offset = m->snap_offset;
		r->sf_epoch = m->snap_epoch;
		free(r->sf_buf);
		r->sf_buf = NULL;
		r->sf_len = 0;
	} else {
		for (i = 0; i < m->nentries; i++) {
			if (m->entries[i].offset != raft_log_end(r))
				break;
			raft_log_append(r, &m->entries[i]);
		}
		hw = m->hw < raft_log_end(r) ? m->hw : raft_log_end(r);
		raft_set_hw(r, hw);
		if (m->nentries == 0)
			r->next_fetch_ms = now + r->cfg.fetch_backoff_ms;
	}
	if (r->persisted_end == raft_log_end(r) && r->next_fetch_ms <= now)
		raft_send_fetch(r, now);
}

void
raft_recv_snap_req(struct raft *r, const struct raft_msg *m, int64_t now)
{
	struct raft_msg *resp;
	size_t n;
	int vi;

	resp = raft_reply(r, m, RAFT_FETCH_SNAP_RESP);
	if (r->role != RAFT_LEADER) {
		resp->error = RAFT_ERR_NOT_LEADER;
		resp->leader_id = raft_leader(r);
		return;
	}
	resp->leader_id = r->cfg.id;
	resp->snap_offset = m->snap_offset;
	resp->snap_epoch = m->snap_epoch;
	vi = raft_voter_index(r, m->from);
	if (vi >= 0)
		r->reps[vi].last_fetch_ms = now;
	if (m->snap_offset != r->log_start || m->snap_epoch != r->snap_epoch ||
	    r->log_start == 0) {
		resp->error = RAFT_ERR_SNAPSHOT_NOT_FOUND;
		return;
	}
	if (m->position < 0 || (uint64_t)m->position > r->snap_len) {
		resp->error = RAFT_ERR_POSITION;
		return;
	}
	resp->position = m->position;
	resp->snap_size = (int64_t)r->snap_len;
	n = r->snap_len - (size_t)m->position;
	if (n > r->cfg.snapshot_chunk)
		n = r->cfg.snapshot_chunk;
	if (n > 0) {
		resp->bytes = xmalloc(n);
		memcpy(resp->bytes, r->snap + m->position, n);
		resp->nbytes = n;
	}
}

static void
raft_install_snapshot(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->nlog; i++)
		raft_entry_clear(&r->log[i]);
	r->nlog = 0;
	free(r->snap);
	r->snap = r->sf_buf;
	r->snap_len = r->sf_len;
	r->sf_buf = NULL;
	r->sf_len = 0;
	r->sf_active = false;
	r->log_start = r->sf_offset;
	r->snap_epoch = r->sf_epoch;
	r->persisted_end = r->log_start;
	r->unsent_from = r->log_start;
	r->truncate_to = -1;
	r->reset_pending = true;
	r->reset_offset = r->log_start;
	r->reset_epoch = r->snap_epoch;
	raft_set_hw(r, r->log_start);
	log_info("raft %d: installed snapshot at offset %lld epoch %d",
	    r->cfg.id, (long long)r->log_start, r->snap_epoch);
}

void
raft_recv_snap_resp(struct raft *r, const struct raft_msg *m, int64_t now)
{
	if (r->role != RAFT_FOLLOWER || m->from != r->hard.leader_id ||
	    !r->fetch_inflight || m->req_id != r->fetch_req_id ||
	    !r->sf_active)
		return;
	r->fetch_inflight = false;
	r->leader_contact_ms = now;
	if (m->error != RAFT_ERR_NONE) {
		/* The leader moved on to another snapshot: fetch again. */
		r->sf_active = false;
		free(r->sf_buf);
		r->sf_buf = NULL;
		r->sf_len = 0;
		r->next_fetch_ms = now + r->cfg.fetch_backoff_ms;
		return;
	}
	if (m->snap_offset != r->sf_offset || m->snap_epoch != r->sf_epoch ||
	    m->position != (int64_t)r->sf_len || m->snap_size < 0 ||
	    (uint64_t)m->position + m->nbytes > (uint64_t)m->snap_size)
		return;
	if (m->nbytes > 0) {
		r->sf_buf = xrealloc(r->sf_buf, r->sf_len + m->nbytes);
		memcpy(r->sf_buf + r->sf_len, m->bytes, m->nbytes);
		r->sf_len += m->nbytes;
	}
	if ((int64_t)r->sf_len == m->snap_size)
		raft_install_snapshot(r);
	r->next_fetch_ms = now;
	raft_send_fetch(r, now);
}
