/*
 * meta.properties: the identity of a data dir (see storage.h).
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "storage.h"
#include "xmalloc.h"

static const char storage_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
storage_random_id(char out[STORAGE_ID_MAX])
{
	uint8_t r[16];
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom");
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);	/* version 4, as Kafka */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < sizeof(r); i++) {
		acc = acc << 8 | r[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = storage_b64[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[n++] = storage_b64[(acc << (6 - bits)) & 63];
	out[n] = '\0';
}

int
storage_valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= STORAGE_ID_MAX)
		return 0;
	return strspn(s, storage_b64) == n;
}

static char *
storage_path(const char *data_dir)
{
	char *p;

	xasprintf(&p, "%s/meta.properties", data_dir);
	return p;
}

int
storage_read(const char *data_dir, struct storage_meta *m, char *err,
    size_t errsz)
{
	char *path = storage_path(data_dir), line[256];
	int64_t v;
	char *end;
	FILE *f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->node_id = -1;
	if ((f = fopen(path, "r")) == NULL) {
		rc = errno == ENOENT ? MO_ENOTFOUND : MO_EIO;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "cluster.id=", 11) == 0) {
			if (!storage_valid_id(line + 11)) {
				snprintf(err, errsz, "%s: bad cluster.id", path);
				rc = MO_EMALFORMED;
				break;
			}
			if (strlen(line + 11) >= sizeof(m->cluster_id)) {
				snprintf(err, errsz, "%s: cluster.id too long",
				    path);
				rc = MO_EMALFORMED;
				break;
			}
			memcpy(m->cluster_id, line + 11, strlen(line + 11) + 1);
		} else if (strncmp(line, "node.id=", 8) == 0) {
			errno = 0;
			v = strtoll(line + 8, &end, 10);
			if (errno != 0 || *end != '\0' || end == line + 8 ||
			    v < 0 || v > INT32_MAX) {
				snprintf(err, errsz, "%s: bad node.id", path);
				rc = MO_EMALFORMED;
				break;
			}
			m->node_id = (int32_t)v;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errsz, "%s: read error", path);
		rc = MO_EIO;
	}
	if (rc == 0 && m->cluster_id[0] == '\0') {
		snprintf(err, errsz, "%s: no cluster.id", path);
		rc = MO_EMALFORMED;
	}
	fclose(f);
	free(path);
	return rc;
}

/* mkdir -p: create path and its missing parents with mode. */
int
mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (mkdir(p, mode) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

int
storage_write(const char *data_dir, const struct storage_meta *m, char *err,
    size_t errsz)
{
	char *path = storage_path(data_dir), *tmp;
	FILE *f;
	int rc = -1;

	xasprintf(&tmp, "%s.tmp", path);
	if (mkdir_p(data_dir, 0755) != 0) {
		snprintf(err, errsz, "cannot create %s: %s", data_dir,
		    strerror(errno));
		goto out;
	}
	if ((f = fopen(tmp, "w")) == NULL) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fprintf(f, "#\n#Written by moldau storage format\nversion=1\n"
	    "cluster.id=%s\n", m->cluster_id);
	if (m->node_id >= 0)
		fprintf(f, "node.id=%" PRId32 "\n", m->node_id);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

int
storage_open(const struct mo_config *cfg, struct storage_meta *m, char *err,
    size_t errsz, int *formatted)
{
	int rc;

	*formatted = 0;
	rc = storage_read(cfg->data_dir, m, err, errsz);
	if (rc == MO_ENOTFOUND && cfg->auto_format) {
		memset(m, 0, sizeof(*m));
		if (cfg->cluster_id[0] != '\0')
			snprintf(m->cluster_id, sizeof(m->cluster_id), "%s",
			    cfg->cluster_id);
		else
			storage_random_id(m->cluster_id);
		m->node_id = cfg->node_id;
		if (storage_write(cfg->data_dir, m, err, errsz) != 0)
			return -1;
		*formatted = 1;
		return 0;
	}
	if (rc == MO_ENOTFOUND) {
		snprintf(err, errsz, "data dir %s is not formatted (no "
		    "meta.properties): run 'moldau storage format "
		    "--cluster-id ID --config FILE' or set node.auto_format: "
		    "true", cfg->data_dir);
		return -1;
	}
	if (rc != 0)
		return -1;
	if (cfg->cluster_id[0] != '\0' &&
	    strcmp(cfg->cluster_id, m->cluster_id) != 0) {
		snprintf(err, errsz, "data dir %s belongs to cluster %s, but "
		    "cluster.id is %s", cfg->data_dir, m->cluster_id,
		    cfg->cluster_id);
		return -1;
	}
	if (m->node_id >= 0 && m->node_id != cfg->node_id) {
		snprintf(err, errsz, "data dir %s belongs to node %" PRId32
		    ", but node.id is %" PRId32, cfg->data_dir, m->node_id,
		    cfg->node_id);
		return -1;
	}
	return 0;
}

int
dir_lock(const char *dir, char *err, size_t errsz)
{
	char path[4096], held[32];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/.lock", dir) >=
	    sizeof(path)) {
		snprintf(err, errsz, "%s: path too long", dir);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * A holder that was just killed lets go once it has exited, which
	 * can take a moment for a large process: wait up to 5 s for that.
	 */
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		int e = errno;

		if (e == EWOULDBLOCK && tries < 100) {
			usleep(50000);
			continue;
		}
		n = pread(fd, held, sizeof(held) - 1, 0);
		held[n > 0 ? n : 0] = '\0';
		held[strcspn(held, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			snprintf(err, errsz, "%s is in use by another process "
			    "(pid %s); two daemons must not share it", dir,
			    held[0] != '\0' ? held : "unknown");
		else
			snprintf(err, errsz, "%s: lock: %s", path,
			    strerror(e));
		return -1;
	}
	n = snprintf(held, sizeof(held), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, held, (size_t)n, 0) != n)
		log_warn("%s: cannot record the pid", path);
	return fd;
}
