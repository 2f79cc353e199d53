/*
 * Data dir identity: <data_dir>/meta.properties, as Kafka writes it
 * (version=1, cluster.id=..., node.id=...).  `moldau storage format`
 * writes it; a broker refuses a data dir without it (unless
 * node.auto_format) or one naming another cluster or node.
 */
#ifndef MO_STORAGE_H
#define MO_STORAGE_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STORAGE_ID_MAX	64		/* bytes of a cluster id, NUL included */

struct storage_meta {
	char	cluster_id[STORAGE_ID_MAX];
	int32_t	node_id;		/* -1: not recorded */
};

/* A new cluster id: 16 random bytes as Kafka's 22-character base64url. */
void	storage_random_id(char out[STORAGE_ID_MAX]);
/* Is s a usable cluster id (1..63 of [A-Za-z0-9_-])? */
int	storage_valid_id(const char *s);
/*
 * Read data_dir's meta.properties: 0, MO_ENOTFOUND when there is none, or
 * MO_EMALFORMED / MO_EIO with a message in err.
 */
int	storage_read(const char *data_dir, struct storage_meta *,
	    char *err, size_t errsz);
/* Create data_dir if needed and write meta.properties; -1 with err. */
int	storage_write(const char *data_dir, const struct storage_meta *,
	    char *err, size_t errsz);
/*
 * What a daemon does at start: check that cfg's data dir is formatted for
 * cfg's cluster and node, formatting it first when node.auto_format is on.
 * 0 with the cluster id in *meta, or -1 with a one-line reason in err.
 */
int	storage_open(const struct mo_config *, struct storage_meta *,
	    char *err, size_t errsz, int *formatted);

int	mkdir_p(const char *, mode_t);
/*
 * Take dir/.lock for the life of the process (flock: the kernel lets go
 * when the process ends, however it ends), so that two daemons never
 * write one directory.  A holder still there after 5 s makes it fail:
 * the fd, or -1 with a one-line reason in err (naming the holder's pid).
 */
int	dir_lock(const char *dir, char *err, size_t errsz);

#endif
