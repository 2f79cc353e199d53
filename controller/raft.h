/*
 * Raft core with KRaft semantics (KIP-595, KIP-630): a pure state machine.
 *
 * No sockets, clocks or disk inside.  Inputs are received messages
 * (raft_recv), the time (raft_tick, now_ms is passed in), client proposals
 * (raft_propose) and disk completions (raft_persisted).  Outputs are
 * collected by raft_ready() and acknowledged by raft_advance():
 *
 *   - the hard state (epoch, vote, leader) to store durably BEFORE any
 *     message of the same ready is sent;
 *   - a log truncation and entries to append (in that order); the driver
 *     reports durability later with raft_persisted(end, last_epoch);
 *   - a snapshot to install (received with FetchSnapshot);
 *   - messages to send;
 *   - the high watermark (entries below it are committed).
 *
 * Elections use Vote (no pre-vote); a new leader sends BeginQuorumEpoch and
 * appends a control entry in its epoch; a resigning leader sends
 * EndQuorumEpoch.  Replication is pull-based: followers send Fetch with
 * their log end offset and last fetched epoch, and truncate on a diverging
 * epoch.  A follower only fetches past what it has made durable, so the
 * leader's view of a follower's end offset is durable data; the high
 * watermark is the majority of those offsets once it covers an entry of the
 * current epoch.  A follower behind the log start fetches the snapshot.
 */
#ifndef MO_RAFT_H
#define MO_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_MAX_VOTERS		16
#define RAFT_NO_ID		(-1)

enum raft_role {
	RAFT_UNATTACHED,	/* knows an epoch, no leader, may have voted */
	RAFT_FOLLOWER,
	RAFT_CANDIDATE,
	RAFT_LEADER,
	RAFT_RESIGNED		/* former leader waiting for a successor */
};

enum raft_msg_type {
	RAFT_VOTE_REQ = 1,
	RAFT_VOTE_RESP,
	RAFT_BEGIN_EPOCH_REQ,
	RAFT_BEGIN_EPOCH_RESP,
	RAFT_END_EPOCH_REQ,
	RAFT_END_EPOCH_RESP,
	RAFT_FETCH_REQ,
	RAFT_FETCH_RESP,
	RAFT_FETCH_SNAP_REQ,
	RAFT_FETCH_SNAP_RESP
};

/* Errors carried in responses (Kafka's codes, see kerr.h). */
#define RAFT_ERR_NONE			0
#define RAFT_ERR_NOT_LEADER		6	/* NOT_LEADER_OR_FOLLOWER */
#define RAFT_ERR_FENCED_EPOCH		74	/* FENCED_LEADER_EPOCH */
#define RAFT_ERR_UNKNOWN_EPOCH		75	/* UNKNOWN_LEADER_EPOCH */
#define RAFT_ERR_SNAPSHOT_NOT_FOUND	98
#define RAFT_ERR_POSITION		99	/* POSITION_OUT_OF_RANGE */

struct raft_entry {
	int64_t		 offset;
	int32_t		 epoch;
	bool		 control;	/* leader-change marker, no payload */
	uint8_t		*data;
	size_t		 len;
};

/*
 * One message.  Entries and snapshot bytes are owned by the message
 * (raft_msg_clear frees them).  Fields not used by a type are zero.
 */
struct raft_msg {
	int		 type;		/* enum raft_msg_type */
	int32_t		 from, to;
	int32_t		 epoch;		/* sender's epoch (request) or
					   responder's epoch (response) */
	int32_t		 leader_id;	/* responder's known leader, -1 */
	int16_t		 error;
	uint64_t	 req_id;	/* matches a response to its request */
	/* Vote */
	int32_t		 last_epoch;	/* candidate's last entry epoch */
	int64_t		 last_offset;	/* candidate's log end offset */
	bool		 granted;
	/* EndQuorumEpoch */
	int32_t		 successors[RAFT_MAX_VOTERS];
	size_t		 nsuccessors;
	/* Fetch request */
	int64_t		 fetch_offset;
	int32_t		 last_fetched_epoch;
	/* Fetch response */
	int64_t		 hw;
	int64_t		 log_start;
	int32_t		 div_epoch;	/* -1: no divergence */
	int64_t		 div_end_offset;
	int64_t		 snap_offset;	/* -1: no snapshot needed; also
					   FetchSnapshot snapshot id */
	int32_t		 snap_epoch;
	struct raft_entry *entries;
	size_t		 nentries;
	/* FetchSnapshot */
	int64_t		 position;
	int64_t		 snap_size;	/* response: whole size */
	uint8_t		*bytes;
	size_t		 nbytes;
};

struct raft_hard {
	int32_t	epoch;
	int32_t	voted_id;	/* -1 none */
	int32_t	leader_id;	/* -1 none */
};

struct raft_cfg {
	int32_t		 id;
	int32_t		 voters[RAFT_MAX_VOTERS];
	size_t		 nvoters;
	int64_t		 election_timeout_ms;	/* randomised in [t, 2t) */
	int64_t		 fetch_timeout_ms;	/* follower: leader lost;
						   leader: quorum lost */
	int64_t		 fetch_backoff_ms;	/* empty fetch answer */
	int64_t		 request_timeout_ms;	/* resend a request */
	size_t		 max_fetch_entries;
	size_t		 snapshot_chunk;	/* FetchSnapshot bytes */
	uint64_t	 seed;			/* election jitter */
};

/* What the driver must do; filled by raft_ready, valid until advance. */
struct raft_ready {
	bool			 hard_changed;
	struct raft_hard	 hard;
	/* Snapshot to install durably first; then the log restarts at
	   reset_offset (-1 none), every older entry is gone. */
	int64_t			 reset_offset;
	int32_t			 reset_epoch;
	const uint8_t		*snapshot;
	size_t			 snapshot_len;
	/* Delete entries >= truncate_to (-1 none), then append. */
	int64_t			 truncate_to;
	const struct raft_entry	*append;
	size_t			 nappend;
	struct raft_msg		*msgs;	/* driver may take the contents */
	size_t			 nmsgs;
	bool			 hw_changed;
	int64_t			 hw;
};

/* Persisted state given back on start (the driver owns nothing after). */
struct raft_boot {
	struct raft_hard	 hard;
	int64_t			 snap_offset;	/* log start; 0 none */
	int32_t			 snap_epoch;
	const uint8_t		*snapshot;	/* copied */
	size_t			 snapshot_len;
	const struct raft_entry	*entries;	/* copied, from snap_offset */
	size_t			 nentries;
};

struct raft;

struct raft_replica {
	int32_t	id;
	int64_t	end_offset;	/* -1 unknown */
	int64_t	last_fetch_ms;	/* -1 never */
};

void	raft_cfg_defaults(struct raft_cfg *);
struct raft *raft_new(const struct raft_cfg *, const struct raft_boot *,
	    int64_t now_ms);
void	raft_free(struct raft *);

/* Inputs. */
void	raft_recv(struct raft *, const struct raft_msg *, int64_t now_ms);
void	raft_tick(struct raft *, int64_t now_ms);
/* Append data as one entry; the offset, or -1 when not the leader. */
int64_t	raft_propose(struct raft *, const void *, size_t, int64_t now_ms);
/* Entries up to end (exclusive), the last of epoch last_epoch, are
   durable.  Stale reports (the log changed since) are ignored. */
void	raft_persisted(struct raft *, int64_t end, int32_t last_epoch,
	    int64_t now_ms);
/* The driver wrote a snapshot of the state up to offset (< hw, entry
   offset-1 of epoch epoch): keep it for FetchSnapshot, drop the log
   before it.  data is copied. */
int	raft_snapshot_taken(struct raft *, int64_t offset, int32_t epoch,
	    const void *data, size_t len);
/* Leader: step down, telling the voters (EndQuorumEpoch). */
void	raft_resign(struct raft *, int64_t now_ms);

/* Outputs. */
bool	raft_has_ready(const struct raft *);
void	raft_ready(struct raft *, struct raft_ready *);
void	raft_advance(struct raft *, struct raft_ready *);

/* Queries. */
enum raft_role raft_role(const struct raft *);
const char *raft_role_name(enum raft_role);
int32_t	raft_id(const struct raft *);
int32_t	raft_epoch(const struct raft *);
int32_t	raft_leader(const struct raft *);
int64_t	raft_hw(const struct raft *);
int64_t	raft_log_start(const struct raft *);
int64_t	raft_log_end(const struct raft *);
int64_t	raft_persisted_end(const struct raft *);
int32_t	raft_last_epoch(const struct raft *);
/* Entry at offset, NULL outside [log_start, log_end). */
const struct raft_entry *raft_entry_at(const struct raft *, int64_t);
/* Epoch of the entry before offset (snapshot epoch at log start). */
int32_t	raft_epoch_before(const struct raft *, int64_t offset);
/* Leader: replica states of the voters (n filled, at most max). */
size_t	raft_replicas(const struct raft *, struct raft_replica *, size_t);
void	raft_snapshot_id(const struct raft *, int64_t *offset, int32_t *);

void	raft_msg_clear(struct raft_msg *);
void	raft_msg_copy(struct raft_msg *dst, const struct raft_msg *src);
void	raft_entry_clear(struct raft_entry *);

#endif
