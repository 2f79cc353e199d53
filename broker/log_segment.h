/*
 * One segment of a partition log: <base>.log holding batches as received,
 * <base>.index (sparse: relative offset u32, position u32) and
 * <base>.timeindex (sparse: largest timestamp of the batches before the
 * entry i64, relative offset u32), all big-endian.  An index entry is
 * written for the first batch after every index.interval.bytes of log;
 * look-ups binary-search the entries and then read batch headers forward
 * from the entry found (at most one interval).
 *
 * Segments are shared by the partition log, queued sendfile(2) pieces,
 * the flusher and the cleaner threads: reference counted, immutable once
 * closed except for the file data appended to the active one.
 */
#ifndef MO_LOG_SEGMENT_H
#define MO_LOG_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"

#define SEG_INDEX_ENTRY		8
#define SEG_TIMEINDEX_ENTRY	12
#define SEG_DEFAULT_INTERVAL	4096

struct seg_ent {
	int64_t		offset;		/* base offset of the batch */
	uint64_t	pos;
	int64_t		ts_before;	/* largest timestamp before it */
};

struct seg {
	atomic_int	 refs;
	int		 fd, ifd, tfd;	/* .log, .index, .timeindex */
	char		*path;		/* "<dir>/<base>" without extension */
	int64_t		 base;
	uint64_t	 size;
	int64_t		 next_offset;	/* last offset + 1; base when empty */
	int64_t		 max_ts;	/* -1 when empty */
	int64_t		 first_append_ms; /* for segment.ms; -1 none */
	struct seg_ent	*ents;
	size_t		 nents, capents;
	size_t		 nents_written;	/* in the index files */
	uint64_t	 since_index;	/* log bytes since the last entry */
	bool		 unlink_on_free; /* deleted by retention */
	uint64_t	 wb_from;	/* write-back started below this */
	uint64_t	 tick_size;	/* size at the last seg_drop_idle */
	uint64_t	 drop_from;	/* dropped from the page cache below */
	uint64_t	 alloc_end;	/* blocks reserved up to here */
	bool		 no_prealloc;	/* the file system cannot */
};

enum seg_mode {
	SEG_CREATE,	/* new, empty */
	SEG_TRUST,	/* indexes are good: read them, scan headers after */
	SEG_RECOVER	/* CRC-scan everything, truncate, rebuild indexes */
};

/* Path of a segment file: dir/%020d<ext> (caller frees). */
char	*seg_file(const char *dir, int64_t base, const char *ext);
int	 seg_open(const char *dir, int64_t base, enum seg_mode, struct seg **);
struct seg *seg_ref(struct seg *);
void	 seg_unref(struct seg *);

/*
 * A segment that is no longer the active one writes its pending index
 * entries and gives back the blocks reserved past its end (seg_append
 * reserves ahead of the writes).
 */
void	 seg_seal(struct seg *);
/*
 * Write the index entries appends added since the last call (appends
 * keep up to SEG_INDEX_PENDING of them in memory only; look-ups use the
 * memory copy, and a crash rebuilds the active segment's indexes).
 */
int	 seg_ent_flush(struct seg *);
/* Append whole batches (len bytes, nb batches); indexes every interval. */
int	 seg_append(struct seg *, const uint8_t *, size_t len,
	    const int64_t *base, const int64_t *last, const int64_t *max_ts,
	    const uint32_t *sizes, size_t nb, uint32_t interval);
/*
 * Page-cache drop-behind: leave about window bytes of the segment's newest
 * data in the page cache.  seg_drop_due (event loop) says whether a step
 * is due and moves the segment's marks: write-back is to start for data
 * window/2 old and [drop_from, drop_to), data window old, is to leave the
 * cache.  seg_drop_run (the dropper thread) does it, waiting for that
 * range's write-back first.
 */
struct seg_drop {
	uint64_t	wb_from, wb_to;
	uint64_t	drop_from, drop_to;
};

bool	 seg_drop_due(struct seg *, uint64_t window, struct seg_drop *);
/* Bytes seg_drop_due has left cached (the window and what follows). */
uint64_t seg_drop_cached(const struct seg *);
/* Everything left cached is to go (closed segment, cache budget). */
bool	 seg_drop_all(struct seg *, struct seg_drop *);
/*
 * Called every maintenance tick: when nothing was appended since the last
 * call, write-back is to start for all the segment holds, so that the
 * next burst of appends does not find this one's data still dirty.
 */
bool	 seg_drop_idle(struct seg *, struct seg_drop *);
void	 seg_drop_run(const struct seg *, const struct seg_drop *);
/* Read and parse the batch header at pos (which must hold a batch). */
int	 seg_header(const struct seg *, uint64_t pos, struct batch_info *);
/*
 * The batch holding offset, or the first one after it: its position and
 * header.  MO_ENOTFOUND when the segment has none.
 */
int	 seg_locate(const struct seg *, int64_t offset, uint64_t *pos,
	    struct batch_info *);
/* The first batch whose max timestamp is >= ts (MO_ENOTFOUND: none). */
int	 seg_locate_time(const struct seg *, int64_t ts, uint64_t *pos,
	    struct batch_info *);
/*
 * Bytes of whole batches from pos (a batch start) up to max_bytes; when
 * first is set, at least the first batch.
 */
int	 seg_span(const struct seg *, uint64_t pos, size_t max_bytes,
	    bool first, size_t *len);
int	 seg_pread(const struct seg *, uint64_t pos, void *, size_t);
/* Rewrite both index files from ents (after a recovery or cleaning). */
int	 seg_write_indexes(struct seg *);

#endif
