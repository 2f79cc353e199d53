/* Raft core internals shared by raft.c, raft_election.c, raft_replication.c */
#ifndef MO_RAFT_INT_H
#define MO_RAFT_INT_H

#include "raft.h"

struct raft {
	struct raft_cfg		 cfg;
	struct raft_hard	 hard;
	bool			 hard_dirty;
	enum raft_role		 role;
	uint64_t		 rng;
	uint64_t		 next_req_id;

	/* Log: entries [log_start, log_start + nlog). */
	struct raft_entry	*log;
	size_t			 nlog, caplog;
	int64_t			 log_start;
	int32_t			 snap_epoch;	/* epoch of entry log_start-1 */
	uint8_t			*snap;		/* snapshot bytes at log_start */
	size_t			 snap_len;
	int64_t			 persisted_end;
	int64_t			 hw;
	bool			 hw_dirty;
	int64_t			 unsent_from;	/* first entry not yet in a ready */
	int64_t			 truncate_to;	/* pending, -1 none */

	/* Snapshot received from the leader, waiting to be installed. */
	bool			 reset_pending;
	int64_t			 reset_offset;
	int32_t			 reset_epoch;

	struct raft_msg		*out;
	size_t			 nout, capout;

	/* Timers. */
	int64_t			 election_deadline;
	int64_t			 leader_contact_ms;	/* follower */
	int64_t			 role_since_ms;

	/* Candidate. */
	bool			 granted[RAFT_MAX_VOTERS];
	bool			 answered[RAFT_MAX_VOTERS];
	int64_t			 vote_sent_ms;

	/* Leader. */
	struct raft_replica	 reps[RAFT_MAX_VOTERS];
	int64_t			 epoch_start;	/* first offset of our epoch */
	int64_t			 begin_sent_ms;

	/* Resigned: when EndQuorumEpoch was last sent. */
	int64_t			 end_sent_ms;

	/* Follower fetch state. */
	bool			 fetch_inflight;
	uint64_t		 fetch_req_id;
	int64_t			 fetch_sent_ms;
	int64_t			 next_fetch_ms;

	/* Follower snapshot download. */
	bool			 sf_active;
	int64_t			 sf_offset;
	int32_t			 sf_epoch;
	uint8_t			*sf_buf;
	size_t			 sf_len;
};

/* raft.c */
struct raft_msg	*raft_out(struct raft *, int type, int32_t to);
struct raft_msg	*raft_reply(struct raft *, const struct raft_msg *req,
		    int type);
int	 raft_voter_index(const struct raft *, int32_t id);
size_t	 raft_majority(const struct raft *);
void	 raft_reset_election_timer(struct raft *, int64_t now_ms);
void	 raft_log_append(struct raft *, const struct raft_entry *copy_of);
void	 raft_log_truncate(struct raft *, int64_t offset);
void	 raft_log_drop_prefix(struct raft *, int64_t offset, int32_t epoch);
void	 raft_epoch_end(const struct raft *, int32_t epoch, int32_t *ep,
	    int64_t *end);
void	 raft_set_hw(struct raft *, int64_t);
void	 raft_become_unattached(struct raft *, int32_t epoch, int64_t now);
void	 raft_become_follower(struct raft *, int32_t epoch, int32_t leader,
	    int64_t now);

/* raft_election.c */
void	 raft_start_election(struct raft *, int64_t now_ms);
void	 raft_election_tick(struct raft *, int64_t now_ms);
void	 raft_recv_vote_req(struct raft *, const struct raft_msg *, int64_t);
void	 raft_recv_vote_resp(struct raft *, const struct raft_msg *, int64_t);
void	 raft_recv_begin_req(struct raft *, const struct raft_msg *, int64_t);
void	 raft_recv_end_req(struct raft *, const struct raft_msg *, int64_t);

/* raft_replication.c */
void	 raft_replication_tick(struct raft *, int64_t now_ms);
void	 raft_send_fetch(struct raft *, int64_t now_ms);
void	 raft_leader_update_hw(struct raft *);
void	 raft_recv_fetch_req(struct raft *, const struct raft_msg *, int64_t);
void	 raft_recv_fetch_resp(struct raft *, const struct raft_msg *, int64_t);
void	 raft_recv_snap_req(struct raft *, const struct raft_msg *, int64_t);
void	 raft_recv_snap_resp(struct raft *, const struct raft_msg *, int64_t);

#endif
