/*
 * Log maintenance on the event loop: a timer refreshes each partition's
 * storage configs and applies segment.ms, retention and flush.ms, and
 * hands compacted topics to the cleaner; produce requests that must wait
 * for an fsync are parked here until the flusher reports.  Each append
 * also hands the dropper its drop-behind step (log.cache.window.bytes).
 */
#include <stdlib.h>

#include "broker.h"
#include "err.h"
#include "log.h"
#include "log_segment.h"
#include "log_service.h"
#include "xmalloc.h"

#define LOGSVC_TICK_MS	500

struct flush_wait {
	TAILQ_ENTRY(flush_wait)	 entry;
	struct req		*req;
	uint64_t		 gen;
	void			(*done)(struct req *, void *, int);
	void			*arg;
};

/* A partition's cached window, for the cache budget. */
struct cache_use {
	struct plog	*pl;
	uint64_t	 cached;
	int64_t		 last_append_ms;
};

struct logsvc {
	struct broker		*b;
	struct event		*timer;
	struct flusher		*flusher;
	struct dropper		*dropper;
	struct cache_use	*use;		/* logsvc_cache_budget's */
	size_t			 capuse;
	struct cleaner		*cleaner;
	TAILQ_HEAD(, flush_wait) waits;
};

static void
logsvc_flushed(void *arg, uint64_t gen, int err)
{
	struct logsvc *ls = arg;
	struct flush_wait *w, *next;

	for (w = TAILQ_FIRST(&ls->waits); w != NULL; w = next) {
		struct req *r = w->req;

		next = TAILQ_NEXT(w, entry);
		if (w->gen > gen)
			continue;
		TAILQ_REMOVE(&ls->waits, w, entry);
		r->waiting = false;
		r->cancel = NULL;
		r->cancel_arg = NULL;
		w->done(r, w->arg, err);
		free(w);
	}
}

static void
logsvc_cancel(struct req *r)
{
	struct flush_wait *w = r->cancel_arg;
	struct logsvc *ls = r->broker->logsvc;

	if (!r->waiting || w == NULL)
		return;
	TAILQ_REMOVE(&ls->waits, w, entry);
	free(w);
	r->waiting = false;
	r->cancel_arg = NULL;
}

void
logsvc_wait_flush(struct broker *b, struct req *r, uint64_t gen,
    void (*done)(struct req *, void *, int), void *arg)
{
	struct logsvc *ls = b->logsvc;
	struct flush_wait *w = xcalloc(1, sizeof(*w));

	w->req = r;
	w->gen = gen;
	w->done = done;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&ls->waits, w, entry);
	r->waiting = true;
	r->cancel = logsvc_cancel;
	r->cancel_arg = w;
}

bool
logsvc_appended(struct broker *b, const struct topic *t, struct plog *pl,
    uint64_t *gen)
{
	struct logsvc *ls = b->logsvc;

	if (!pl->configured)
		plog_configure(pl, t);
	if (ls != NULL && b->cfg->log_cache_window_bytes > 0)
		dropper_note(ls->dropper, plog_active(pl),
		    (uint64_t)b->cfg->log_cache_window_bytes);
	if (ls == NULL || pl->unflushed < pl->conf.flush_messages)
		return false;
	pl->unflushed = 0;
	pl->last_flush_ms = now_ms();
	*gen = flusher_request(ls->flusher, plog_active(pl));
	return true;
}

static void
logsvc_partition(struct logsvc *ls, struct topic *t, struct plog *pl,
    int64_t now)
{
	plog_configure(pl, t);
	(void)seg_ent_flush(plog_active(pl));
	plog_maybe_roll(pl, now);
	plog_retain(pl, now);
	if (pl->unflushed > 0 && now - pl->last_flush_ms >= pl->conf.flush_ms) {
		pl->unflushed = 0;
		pl->last_flush_ms = now;
		(void)flusher_request(ls->flusher, plog_active(pl));
	}
	if (pl->conf.compact)
		cleaner_consider(ls->cleaner, pl, now);
	if (pl->ps.n > 0 && now - pl->ps.checked_ms >=
	    ls->b->cfg->producer_id_expiration_check_interval_ms) {
		size_t gone = pstate_expire(&pl->ps, now,
		    ls->b->cfg->producer_id_expiration_ms);

		if (gone > 0)
			log_debug("broker: log %s: %zu producer id(s) expired",
			    pl->dir, gone);
	}
	/* A segment rolled since: its window is no longer the newest data. */
	if (ls->b->cfg->log_cache_window_bytes > 0 && pl->nsegs >= 2)
		dropper_all(ls->dropper, pl->segs[pl->nsegs - 2]);
	/* Idle for a tick: write its window back now, not in the next burst
	   (whose window would otherwise push this one out dirty). */
	if (ls->b->cfg->log_cache_window_bytes > 0 && pl->nsegs >= 1)
		dropper_idle(ls->dropper, plog_active(pl));
}

static int
cache_use_cmp(const void *a, const void *b)
{
	const struct cache_use *x = a, *y = b;

	return (x->last_append_ms > y->last_append_ms) -
	    (x->last_append_ms < y->last_append_ms);
}

/*
 * log.cache.max.bytes: when the partitions' windows add up to more, drop
 * the whole window of those written to longest ago.
 */
static void
logsvc_cache_budget(struct logsvc *ls, struct broker *b)
{
	uint64_t max = (uint64_t)b->cfg->log_cache_max_bytes, total = 0;
	struct topic *t;
	size_t n = 0;

	TAILQ_FOREACH(t, &b->topics.list, entry)
		for (int32_t i = 0; i < t->npart; i++) {
			struct plog *pl = t->parts[i].log;
			uint64_t c;

			if (pl == NULL || (c = seg_drop_cached(
			    plog_active(pl))) == 0)
				continue;
			if (n == ls->capuse) {
				ls->capuse = ls->capuse == 0 ? 64 :
				    ls->capuse * 2;
				ls->use = xreallocarray(ls->use, ls->capuse,
				    sizeof(*ls->use));
			}
			ls->use[n].pl = pl;
			ls->use[n].cached = c;
			ls->use[n].last_append_ms = pl->last_append_ms;
			n++;
			total += c;
		}
	if (total <= max)
		return;
	qsort(ls->use, n, sizeof(*ls->use), cache_use_cmp);
	for (size_t i = 0; i < n && total > max; i++) {
		dropper_all(ls->dropper, plog_active(ls->use[i].pl));
		total -= ls->use[i].cached;
	}
}

void
logsvc_tick(struct broker *b)
{
	struct logsvc *ls = b->logsvc;
	int64_t now = now_ms();
	struct topic *t;

	if (ls == NULL)
		return;
	TAILQ_FOREACH(t, &b->topics.list, entry)
		for (int32_t i = 0; i < t->npart; i++)
			if (t->parts[i].log != NULL)
				logsvc_partition(ls, t, t->parts[i].log, now);
	if (b->cfg->log_cache_window_bytes > 0 &&
	    b->cfg->log_cache_max_bytes > 0)
		logsvc_cache_budget(ls, b);
}

static void
logsvc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logsvc_tick(arg);
}

void
logsvc_start(struct broker *b)
{
	struct logsvc *ls;
	struct timeval tv = { LOGSVC_TICK_MS / 1000,
	    (LOGSVC_TICK_MS % 1000) * 1000 };

	if (b->logsvc != NULL)
		return;
	ls = xcalloc(1, sizeof(*ls));
	ls->b = b;
	TAILQ_INIT(&ls->waits);
	ls->flusher = flusher_new(b->base, logsvc_flushed, ls);
	ls->dropper = dropper_new();
	b->topics.syncer = ls->dropper;
	ls->cleaner = cleaner_new(b->base);
	ls->timer = event_new(b->base, -1, EV_PERSIST, logsvc_timer_cb, b);
	event_add(ls->timer, &tv);
	b->logsvc = ls;
}

void
logsvc_stop(struct broker *b)
{
	struct logsvc *ls = b->logsvc;
	struct flush_wait *w;

	if (ls == NULL)
		return;
	event_free(ls->timer);
	cleaner_free(ls->cleaner);
	flusher_free(ls->flusher);
	b->topics.syncer = NULL;
	dropper_free(ls->dropper);
	free(ls->use);
	while ((w = TAILQ_FIRST(&ls->waits)) != NULL) {
		TAILQ_REMOVE(&ls->waits, w, entry);
		w->req->waiting = false;
		w->req->cancel_arg = NULL;
		free(w);
	}
	free(ls);
	b->logsvc = NULL;
}
