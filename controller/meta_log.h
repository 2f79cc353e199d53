/*
 * The controller's durable Raft state under <data_dir>/meta:
 *   quorum-state                 epoch, voted id, leader id (text, replaced
 *                                atomically: temp, fsync, rename, fsync dir)
 *   00000000000000000000.log     the metadata log: one record batch per
 *                                entry (base offset = entry offset, partition
 *                                leader epoch = entry epoch; the leader-change
 *                                marker is a control batch)
 * Appends and truncations go to the page cache on the event loop; fsync and
 * the quorum-state replacement run on a worker thread, which reports each
 * finished job back to the loop.
 */
#ifndef MO_META_LOG_H
#define MO_META_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wbuf.h"
#include "raft.h"

struct event_base;
struct meta_log;

struct meta_job {
	bool			 write_hard;
	struct raft_hard	 hard;
	bool			 sync_log;
	int			 err;		/* set by the worker */
	void			*arg;		/* caller's */
	struct meta_job		*next;
};

typedef void (*meta_job_done_fn)(struct meta_job *, void *);

/* Open (creating) dir and load its state into boot (free with
   meta_log_boot_clear).  A torn tail of the log is cut off. */
struct meta_log *meta_log_open(const char *dir, struct raft_boot *boot,
	    char *err, size_t errlen);
void	meta_log_boot_clear(struct raft_boot *);
int	meta_log_start(struct meta_log *, struct event_base *,
	    meta_job_done_fn, void *);
void	meta_log_close(struct meta_log *);

int	meta_log_truncate(struct meta_log *, int64_t offset);
int	meta_log_append(struct meta_log *, const struct raft_entry *, size_t);
/* Queue a job for the worker; done runs on the loop afterwards. */
void	meta_log_submit(struct meta_log *, struct meta_job *);

/* One entry as a record batch, and back (entries from concatenated
   batches; data copied).  Decoding stops at the first bad batch. */
int	meta_entry_encode(struct wbuf *, const struct raft_entry *);
int	meta_entries_decode(const uint8_t *, size_t, struct raft_entry **,
	    size_t *);

#endif
