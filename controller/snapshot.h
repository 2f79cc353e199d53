/*
 * Metadata snapshots: the image at a log position as an SQLite database in
 * the controller's meta dir, named <end offset>-<epoch>.sqlite (20 and 10
 * digits).  Tables: snapshot (the id, counts and the image digest), brokers,
 * endpoints, topics, partitions, configs; an operator can query them with
 * the sqlite3 shell.
 *
 * A snapshot is written to <name>.tmp, fsynced, renamed, and the directory
 * fsynced, so a file with the final name is always complete; a leftover
 * .tmp is ignored (and removed at start).  Loading checks the counts and
 * the digest against the rebuilt image, so a damaged file is refused rather
 * than loaded wrong.
 *
 * Every function here blocks on the disk: call them before the event loop
 * runs or from a worker thread, never from a loop callback.
 */
#ifndef MO_SNAPSHOT_H
#define MO_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct meta_image;

/* Write img (its end_offset and last_epoch are the id) into dir; the
   final path goes to path (may be NULL). */
int	snapshot_write(const char *dir, const struct meta_image *img,
	    char *path, size_t pathlen, char *err, size_t errlen);
/* Load one snapshot file; NULL with err on any damage. */
struct meta_image *snapshot_load(const char *path, char *err, size_t errlen);
/* The newest snapshot of dir that loads, falling back to older ones (each
   refusal is logged; the damaged newer files are renamed to
   <name>.damaged once an older one loads).  Returns 0 with *img NULL when there is none, -1 if
   snapshots exist but none loads.  bytes/len get the file's contents. */
int	snapshot_load_newest(const char *dir, struct meta_image **img,
	    uint8_t **bytes, size_t *len, char *err, size_t errlen);
/* Store a snapshot received from the leader (bytes of a snapshot file)
   after checking that it loads and has that id; the loaded image. */
struct meta_image *snapshot_install(const char *dir, int64_t offset,
	    int32_t epoch, const uint8_t *bytes, size_t len, char *err,
	    size_t errlen);
/* Read a whole file. */
int	snapshot_read_file(const char *path, uint8_t **bytes, size_t *len);
/* Keep the newest keep snapshots, delete older ones. */
void	snapshot_prune(const char *dir, size_t keep);
/* Delete leftover temp files of unfinished snapshots (at start only). */
void	snapshot_remove_temps(const char *dir);

#endif
