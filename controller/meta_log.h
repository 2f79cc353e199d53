/*
 * The controller's durable Raft state under <data_dir>/meta:
 *   quorum-state                 epoch, voted id, leader id (text, replaced
 *                                atomically: temp, fsync, rename, fsync dir)
 *   <base offset, 20 digits>.log the metadata log from the log start (the
 *                                newest snapshot's end offset): one record
 *                                batch per entry (base offset = entry offset,
 *                                partition leader epoch = entry epoch; the
 *                                leader-change marker is a control batch)
 * All disk work runs on a worker thread, one job at a time, in this order:
 * the job's pre hook (installing a snapshot), a reset of the log to a new
 * start, a truncation, appends, the quorum-state replacement, fsync, and
 * dropping the log before a snapshot (the rest is copied to a new file,
 * fsynced and renamed; then the old file is removed).  The caller must not
 * touch the log between submitting a job and its completion; the worker
 * reports each finished job back to the loop.
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
	void			(*pre)(struct meta_job *);	/* worker */
	int64_t			 reset_to;	/* -1 none: drop all, restart */
	int64_t			 truncate_to;	/* -1 none */
	struct raft_entry	*entries;	/* to append (caller's) */
	size_t			 nentries;
	bool			 write_hard;
	struct raft_hard	 hard;
	bool			 sync_log;
	int64_t			 compact_to;	/* -1 none: drop entries before */
	int			 err;		/* set by the worker */
	void			*arg;		/* caller's */
	struct meta_job		*next;
};

typedef void (*meta_job_done_fn)(struct meta_job *, void *);

/* Open (creating) dir and load its state into boot (free with
   meta_log_boot_clear).  A torn tail of the log is cut off.  boot gets
   the entries from snap_offset (the snapshot the caller loaded, 0 none);
   older ones stay on disk while the log reaches snap_offset, otherwise
   the log restarts empty there; a log that starts after it is refused. */
struct meta_log *meta_log_open(const char *dir, int64_t snap_offset,
	    struct raft_boot *boot, char *err, size_t errlen);
/* Called for jobs still queued at close instead of free(). */
void	meta_log_set_free(struct meta_log *, void (*)(struct meta_job *));
void	meta_log_boot_clear(struct raft_boot *);
int	meta_log_start(struct meta_log *, struct event_base *,
	    meta_job_done_fn, void *);
void	meta_log_close(struct meta_log *);

/* Queue a job for the worker; done runs on the loop afterwards.  Set
   unused offsets to -1 (meta_job_init). */
void	meta_job_init(struct meta_job *);
void	meta_log_submit(struct meta_log *, struct meta_job *);

/* One entry as a record batch, and back (entries from concatenated
   batches; data copied).  Decoding stops at the first bad batch. */
int	meta_entry_encode(struct wbuf *, const struct raft_entry *);
int	meta_entries_decode(const uint8_t *, size_t, struct raft_entry **,
	    size_t *);

#endif
