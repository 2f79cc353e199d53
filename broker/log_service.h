/*
 * Background work on partition logs: the maintenance timer (segment.ms
 * rolls, retention, flush.ms, starting the cleaner), the flusher thread
 * (fsync off the event loop, group commit), the dropper thread (page-cache
 * drop-behind, log.cache.window.bytes) and the log cleaner thread
 * (compaction).  Worker threads report back through a pipe watched by the
 * loop; they never touch a struct plog.
 */
#ifndef MO_LOG_SERVICE_H
#define MO_LOG_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

struct broker;
struct plog;
struct req;
struct seg;
struct topic;

/* ---- log_flush.c ---- */

struct flusher;

typedef void flusher_done_fn(void *arg, uint64_t gen, int err);

struct flusher *flusher_new(struct event_base *, flusher_done_fn *, void *);
/* Stop the thread after the pending syncs; reports them first. */
void	flusher_free(struct flusher *);
/*
 * Queue an fsync of the segment (deduplicated); returns the generation
 * whose completion covers it.
 */
uint64_t flusher_request(struct flusher *, struct seg *);
uint64_t flusher_syncs(const struct flusher *);

struct dropper;

struct dropper *dropper_new(void);
/* Stop the thread after the queued steps. */
void	dropper_free(struct dropper *);
/*
 * After an append to segment s: queue the drop-behind step due, if any,
 * keeping about window bytes of its newest data cached (seg_drop_due).
 */
void	dropper_note(struct dropper *, struct seg *, uint64_t window);
/* Queue dropping all of s that is still cached. */
void	dropper_all(struct dropper *, struct seg *);
/* Every tick: queue write-back of s if nothing was appended since the
   last tick (seg_drop_idle). */
void	dropper_idle(struct dropper *, struct seg *);
/*
 * Make a small file just written and renamed into place durable: fsync it
 * and its directory, on d's thread (queued behind the steps before it, so
 * the event loop does not wait for the disk), or now if d is NULL.
 */
void	file_sync(struct dropper *d, const char *path);

/* ---- log_cleaner.c ---- */

struct cleaner;
struct clean_job;

struct cleaner *cleaner_new(struct event_base *);
/* Stop the thread; a job still out is cancelled (its result dropped). */
void	cleaner_free(struct cleaner *);
/* Start compacting pl when it is due and the cleaner is idle. */
void	cleaner_consider(struct cleaner *, struct plog *, int64_t now);
/* Cleaning passes finished (tests, status). */
uint64_t cleaner_passes(const struct cleaner *);
/*
 * pl (whose job this is) is going away: cancel the job; once this returns
 * the thread renames nothing more into its directory (plog_free).
 */
void	cleaner_abandon(struct clean_job *);

/* ---- log_service.c ---- */

struct logsvc;

void	logsvc_start(struct broker *);
void	logsvc_stop(struct broker *);
/*
 * After an append to pl of topic t: apply the flush policy.  Returns true
 * with *gen set when the append must wait for flusher generation gen
 * before it is acknowledged.
 */
bool	logsvc_appended(struct broker *, const struct topic *, struct plog *,
	    uint64_t *gen);
/*
 * Park a produce request until flusher generation gen completes; done is
 * then called with arg and err 0 or MO_EIO.
 */
void	logsvc_wait_flush(struct broker *, struct req *, uint64_t gen,
	    void (*done)(struct req *, void *arg, int err), void *arg);
/* Run one maintenance pass now (tests through the timer interval). */
void	logsvc_tick(struct broker *);

#endif
