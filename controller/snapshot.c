/*
 * Metadata snapshots as SQLite files (see snapshot.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "xmalloc.h"
#include "meta_image.h"
#include "snapshot.h"

#define SNAP_SUFFIX	".sqlite"

static const char snap_schema[] =
    "CREATE TABLE snapshot(end_offset INTEGER, epoch INTEGER,"
    " next_producer_id INTEGER, metadata_version INTEGER,"
    " brokers INTEGER, topics INTEGER, partitions INTEGER,"
    " configs INTEGER, digest TEXT);"
    "CREATE TABLE brokers(id INTEGER PRIMARY KEY, epoch INTEGER,"
    " incarnation BLOB, fenced INTEGER, in_controlled_shutdown INTEGER,"
    " rack TEXT);"
    "CREATE TABLE endpoints(broker INTEGER, seq INTEGER, name TEXT,"
    " host TEXT, port INTEGER, security_protocol INTEGER,"
    " PRIMARY KEY(broker, seq));"
    "CREATE TABLE topics(name TEXT PRIMARY KEY, id BLOB);"
    "CREATE TABLE partitions(topic TEXT, partition INTEGER,"
    " replicas TEXT, isr TEXT, leader INTEGER, leader_epoch INTEGER,"
    " partition_epoch INTEGER, PRIMARY KEY(topic, partition));"
    "CREATE TABLE configs(resource_type INTEGER, resource TEXT, name TEXT,"
    " value TEXT, PRIMARY KEY(resource_type, resource, name));"
    "CREATE TABLE acls(id BLOB PRIMARY KEY, resource_type INTEGER,"
    " resource TEXT, pattern_type INTEGER, principal TEXT, host TEXT,"
    " operation INTEGER, permission_type INTEGER);"
    "CREATE TABLE scram(user TEXT, mechanism INTEGER, iterations INTEGER,"
    " salt BLOB, stored_key BLOB, server_key BLOB,"
    " PRIMARY KEY(user, mechanism));";

static int
snap_fsync_path(const char *path, bool dir)
{
	int fd, rc;

	fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void
snap_name(char *buf, size_t len, const char *dir, int64_t off, int32_t ep,
    const char *suffix)
{
	snprintf(buf, len, "%s/%020" PRId64 "-%010" PRId32 SNAP_SUFFIX "%s",
	    dir, off, ep, suffix);
}

/* "1,2,3" */
static char *
snap_ints(const struct mi_ints *v)
{
	char *s = xmalloc(v->n * 12 + 1);
	size_t i, o = 0;

	s[0] = '\0';
	for (i = 0; i < v->n; i++)
		o += (size_t)sprintf(s + o, "%s%" PRId32, i ? "," : "",
		    v->v[i]);
	return s;
}

static int
snap_parse_ints(const char *s, struct mi_ints *v)
{
	char *end;
	long x;

	v->v = NULL;
	v->n = 0;
	if (s == NULL)
		return -1;
	while (*s != '\0') {
		errno = 0;
		x = strtol(s, &end, 10);
		if (end == s || errno != 0 || x < INT32_MIN || x > INT32_MAX ||
		    (*end != ',' && *end != '\0'))
			return -1;
		v->v = xreallocarray(v->v, v->n + 1, sizeof(*v->v));
		v->v[v->n++] = (int32_t)x;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int
snap_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
snap_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

static void
snap_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int
snap_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
snap_fill(sqlite3 *db, const struct meta_image *img)
{
	sqlite3_stmt *b = NULL, *e = NULL, *t = NULL, *p = NULL, *c = NULL,
	    *s = NULL, *a = NULL, *u = NULL;
	size_t i, j, nparts = 0;
	char digest[32];
	int rc = -1;

	if (snap_prep(db, "INSERT INTO brokers VALUES(?,?,?,?,?,?)", &b) ||
	    snap_prep(db, "INSERT INTO endpoints VALUES(?,?,?,?,?,?)", &e) ||
	    snap_prep(db, "INSERT INTO topics VALUES(?,?)", &t) ||
	    snap_prep(db, "INSERT INTO partitions VALUES(?,?,?,?,?,?,?)", &p) ||
	    snap_prep(db, "INSERT INTO configs VALUES(?,?,?,?)", &c) ||
	    snap_prep(db, "INSERT INTO acls VALUES(?,?,?,?,?,?,?,?)", &a) ||
	    snap_prep(db, "INSERT INTO scram VALUES(?,?,?,?,?,?)", &u) ||
	    snap_prep(db, "INSERT INTO snapshot VALUES(?,?,?,?,?,?,?,?,?)", &s))
		goto out;
	for (i = 0; i < img->nbrokers; i++) {
		const struct mi_broker *x = &img->brokers[i];

		sqlite3_bind_int(b, 1, x->id);
		sqlite3_bind_int64(b, 2, x->epoch);
		sqlite3_bind_blob(b, 3, x->incarnation.b, 16, SQLITE_TRANSIENT);
		sqlite3_bind_int(b, 4, x->fenced);
		sqlite3_bind_int(b, 5, x->shutdown);
		snap_text(b, 6, x->rack);
		if (snap_step(b) != 0)
			goto out;
		for (j = 0; j < x->neps; j++) {
			sqlite3_bind_int(e, 1, x->id);
			sqlite3_bind_int(e, 2, (int)j);
			snap_text(e, 3, x->eps[j].name);
			snap_text(e, 4, x->eps[j].host);
			sqlite3_bind_int(e, 5, x->eps[j].port);
			sqlite3_bind_int(e, 6, x->eps[j].protocol);
			if (snap_step(e) != 0)
				goto out;
		}
	}
	for (i = 0; i < img->ntopics; i++) {
		const struct mi_topic *x = &img->topics[i];

		snap_text(t, 1, x->name);
		sqlite3_bind_blob(t, 2, x->id.b, 16, SQLITE_TRANSIENT);
		if (snap_step(t) != 0)
			goto out;
		for (j = 0; j < x->nparts; j++) {
			const struct mi_partition *q = &x->parts[j];
			char *rs = snap_ints(&q->replicas), *is = snap_ints(&q->isr);
			int k;

			snap_text(p, 1, x->name);
			sqlite3_bind_int(p, 2, q->id);
			snap_text(p, 3, rs);
			snap_text(p, 4, is);
			sqlite3_bind_int(p, 5, q->leader);
			sqlite3_bind_int(p, 6, q->leader_epoch);
			sqlite3_bind_int(p, 7, q->partition_epoch);
			k = snap_step(p);
			free(rs);
			free(is);
			if (k != 0)
				goto out;
			nparts++;
		}
	}
	for (i = 0; i < img->nconfigs; i++) {
		sqlite3_bind_int(c, 1, img->configs[i].type);
		snap_text(c, 2, img->configs[i].resource);
		snap_text(c, 3, img->configs[i].name);
		snap_text(c, 4, img->configs[i].value);
		if (snap_step(c) != 0)
			goto out;
	}
	for (i = 0; i < img->nacls; i++) {
		const struct mi_acl *x = &img->acls[i];

		sqlite3_bind_blob(a, 1, x->id.b, 16, SQLITE_TRANSIENT);
		sqlite3_bind_int(a, 2, x->resource_type);
		snap_text(a, 3, x->resource);
		sqlite3_bind_int(a, 4, x->pattern);
		snap_text(a, 5, x->principal);
		snap_text(a, 6, x->host);
		sqlite3_bind_int(a, 7, x->operation);
		sqlite3_bind_int(a, 8, x->permission);
		if (snap_step(a) != 0)
			goto out;
	}
	for (i = 0; i < img->nscram; i++) {
		const struct mi_scram *x = &img->scram[i];

		snap_text(u, 1, x->user);
		sqlite3_bind_int(u, 2, x->mechanism);
		sqlite3_bind_int(u, 3, x->iterations);
		sqlite3_bind_blob(u, 4, x->salt, (int)x->salt_len,
		    SQLITE_TRANSIENT);
		sqlite3_bind_blob(u, 5, x->stored_key, (int)x->key_len,
		    SQLITE_TRANSIENT);
		sqlite3_bind_blob(u, 6, x->server_key, (int)x->key_len,
		    SQLITE_TRANSIENT);
		if (snap_step(u) != 0)
			goto out;
	}
	snprintf(digest, sizeof(digest), "%016" PRIx64,
	    meta_image_digest(img));
	sqlite3_bind_int64(s, 1, img->end_offset);
	sqlite3_bind_int(s, 2, img->last_epoch);
	sqlite3_bind_int64(s, 3, img->next_producer_id);
	sqlite3_bind_int(s, 4, img->metadata_version);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)img->nbrokers);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)img->ntopics);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)nparts);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)img->nconfigs);
	snap_text(s, 9, digest);
	rc = snap_step(s);
out:
	sqlite3_finalize(b);
	sqlite3_finalize(e);
	sqlite3_finalize(t);
	sqlite3_finalize(p);
	sqlite3_finalize(c);
	sqlite3_finalize(a);
	sqlite3_finalize(u);
	sqlite3_finalize(s);
	return rc;
}

int
snapshot_write(const char *dir, const struct meta_image *img, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	char tmp[4096], fin[4096];
	sqlite3 *db = NULL;
	int rc = -1;

	snap_name(tmp, sizeof(tmp), dir, img->end_offset, img->last_epoch,
	    ".tmp");
	snap_name(fin, sizeof(fin), dir, img->end_offset, img->last_epoch, "");
	unlink(tmp);
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, db ? sqlite3_errmsg(db) :
		    "cannot open");
		goto out;
	}
	/* One transaction into a new file: no journal needed; we fsync. */
	if (snap_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	    "BEGIN", err, errlen) != 0 ||
	    snap_exec(db, snap_schema, err, errlen) != 0)
		goto out;
	if (snap_fill(db, img) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(db));
		goto out;
	}
	if (snap_exec(db, "COMMIT", err, errlen) != 0)
		goto out;
	if (sqlite3_close(db) != SQLITE_OK) {
		snprintf(err, errlen, "%s: close failed", tmp);
		db = NULL;
		goto out;
	}
	db = NULL;
	if (snap_fsync_path(tmp, false) != 0 || rename(tmp, fin) != 0 ||
	    snap_fsync_path(dir, true) != 0) {
		snprintf(err, errlen, "%s: %s", fin, strerror(errno));
		goto out;
	}
	if (path != NULL)
		snprintf(path, pathlen, "%s", fin);
	rc = 0;
out:
	if (db != NULL)
		sqlite3_close(db);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* ---- loading ---- */

static int
snap_load_tables(sqlite3 *db, struct meta_image *img, int64_t *nparts)
{
	sqlite3_stmt *st = NULL;
	struct mi_topic *t = NULL;
	int rc;

	*nparts = 0;
	if (snap_prep(db, "SELECT id, epoch, incarnation, fenced,"
	    " in_controlled_shutdown, rack FROM brokers ORDER BY id", &st))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mi_broker *b;
		const void *inc = sqlite3_column_blob(st, 2);

		img->brokers = xreallocarray(img->brokers, img->nbrokers + 1,
		    sizeof(*img->brokers));
		b = &img->brokers[img->nbrokers++];
		memset(b, 0, sizeof(*b));
		b->id = sqlite3_column_int(st, 0);
		b->epoch = sqlite3_column_int64(st, 1);
		if (inc == NULL || sqlite3_column_bytes(st, 2) != 16)
			goto fail;
		memcpy(b->incarnation.b, inc, 16);
		b->fenced = sqlite3_column_int(st, 3) != 0;
		b->shutdown = sqlite3_column_int(st, 4) != 0;
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			b->rack = xstrdup((const char *)
			    sqlite3_column_text(st, 5));
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (snap_prep(db, "SELECT broker, name, host, port, security_protocol"
	    " FROM endpoints ORDER BY broker, seq", &st))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const struct mi_broker *cb = meta_image_broker(img,
		    sqlite3_column_int(st, 0));
		struct mi_broker *b = (struct mi_broker *)(uintptr_t)cb;
		struct mi_endpoint *e;

		if (b == NULL || sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    sqlite3_column_type(st, 2) == SQLITE_NULL)
			goto fail;
		b->eps = xreallocarray(b->eps, b->neps + 1, sizeof(*b->eps));
		e = &b->eps[b->neps++];
		e->name = xstrdup((const char *)sqlite3_column_text(st, 1));
		e->host = xstrdup((const char *)sqlite3_column_text(st, 2));
		e->port = (uint16_t)sqlite3_column_int(st, 3);
		e->protocol = (int16_t)sqlite3_column_int(st, 4);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (snap_prep(db, "SELECT name, id FROM topics ORDER BY name", &st))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(st, 1);

		if (sqlite3_column_type(st, 0) == SQLITE_NULL || id == NULL ||
		    sqlite3_column_bytes(st, 1) != 16)
			goto fail;
		img->topics = xreallocarray(img->topics, img->ntopics + 1,
		    sizeof(*img->topics));
		t = &img->topics[img->ntopics++];
		memset(t, 0, sizeof(*t));
		t->name = xstrdup((const char *)sqlite3_column_text(st, 0));
		memcpy(t->id.b, id, 16);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (snap_prep(db, "SELECT topic, partition, replicas, isr, leader,"
	    " leader_epoch, partition_epoch FROM partitions"
	    " ORDER BY topic, partition", &st))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const struct mi_topic *ct;
		struct mi_partition *q;

		if (name == NULL || (ct = meta_image_topic(img, name,
		    strlen(name))) == NULL)
			goto fail;
		t = (struct mi_topic *)(uintptr_t)ct;
		t->parts = xreallocarray(t->parts, t->nparts + 1,
		    sizeof(*t->parts));
		q = &t->parts[t->nparts++];
		memset(q, 0, sizeof(*q));
		q->id = sqlite3_column_int(st, 1);
		q->leader = sqlite3_column_int(st, 4);
		q->leader_epoch = sqlite3_column_int(st, 5);
		q->partition_epoch = sqlite3_column_int(st, 6);
		if (snap_parse_ints((const char *)sqlite3_column_text(st, 2),
		    &q->replicas) != 0 ||
		    snap_parse_ints((const char *)sqlite3_column_text(st, 3),
		    &q->isr) != 0)
			goto fail;
		(*nparts)++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (snap_prep(db, "SELECT resource_type, resource, name, value"
	    " FROM configs ORDER BY resource_type, resource, name", &st))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mi_config *c;

		if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    sqlite3_column_type(st, 2) == SQLITE_NULL ||
		    sqlite3_column_type(st, 3) == SQLITE_NULL)
			goto fail;
		img->configs = xreallocarray(img->configs, img->nconfigs + 1,
		    sizeof(*img->configs));
		c = &img->configs[img->nconfigs++];
		c->type = (int8_t)sqlite3_column_int(st, 0);
		c->resource = xstrdup((const char *)sqlite3_column_text(st, 1));
		c->name = xstrdup((const char *)sqlite3_column_text(st, 2));
		c->value = xstrdup((const char *)sqlite3_column_text(st, 3));
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	/* Snapshots written before ACLs have no acls table: none. */
	if (sqlite3_prepare_v2(db, "SELECT id, resource_type, resource,"
	    " pattern_type, principal, host, operation, permission_type"
	    " FROM acls ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mi_acl *x;

		if (sqlite3_column_bytes(st, 0) != 16 ||
		    sqlite3_column_type(st, 2) == SQLITE_NULL ||
		    sqlite3_column_type(st, 4) == SQLITE_NULL ||
		    sqlite3_column_type(st, 5) == SQLITE_NULL)
			goto fail;
		img->acls = xreallocarray(img->acls, img->nacls + 1,
		    sizeof(*img->acls));
		x = &img->acls[img->nacls++];
		memcpy(x->id.b, sqlite3_column_blob(st, 0), 16);
		x->resource_type = (int8_t)sqlite3_column_int(st, 1);
		x->resource = xstrdup((const char *)sqlite3_column_text(st, 2));
		x->pattern = (int8_t)sqlite3_column_int(st, 3);
		x->principal = xstrdup((const char *)sqlite3_column_text(st,
		    4));
		x->host = xstrdup((const char *)sqlite3_column_text(st, 5));
		x->operation = (int8_t)sqlite3_column_int(st, 6);
		x->permission = (int8_t)sqlite3_column_int(st, 7);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	/* Snapshots written before SCRAM credentials have no such table. */
	if (sqlite3_prepare_v2(db, "SELECT user, mechanism, iterations, salt,"
	    " stored_key, server_key FROM scram ORDER BY user, mechanism", -1,
	    &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mi_scram x = { 0 };
		size_t kl;
		int sl = sqlite3_column_bytes(st, 3);

		x.mechanism = (int8_t)sqlite3_column_int(st, 1);
		kl = mi_scram_key_len(x.mechanism);
		if (sqlite3_column_type(st, 0) == SQLITE_NULL || kl == 0 ||
		    sqlite3_column_bytes(st, 4) != (int)kl ||
		    sqlite3_column_bytes(st, 5) != (int)kl)
			goto fail;
		x.user = (char *)(uintptr_t)sqlite3_column_text(st, 0);
		x.iterations = sqlite3_column_int(st, 2);
		x.salt = (uint8_t *)(uintptr_t)sqlite3_column_blob(st, 3);
		x.salt_len = sl > 0 ? (size_t)sl : 0;
		memcpy(x.stored_key, sqlite3_column_blob(st, 4), kl);
		memcpy(x.server_key, sqlite3_column_blob(st, 5), kl);
		x.key_len = kl;
		meta_image_scram_put(img, &x);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	return -1;
}

struct meta_image *
snapshot_load(const char *path, char *err, size_t errlen)
{
	struct meta_image *img = meta_image_new();
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t nparts, want[4];
	char digest[32];
	bool ok = false;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open", path);
		goto out;
	}
	if (snap_prep(db, "SELECT end_offset, epoch, next_producer_id,"
	    " metadata_version, brokers, topics, partitions, configs, digest"
	    " FROM snapshot", &st) != 0 || sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_type(st, 8) == SQLITE_NULL) {
		snprintf(err, errlen, "%s: not a metadata snapshot (%s)", path,
		    sqlite3_errmsg(db));
		goto out;
	}
	img->end_offset = sqlite3_column_int64(st, 0);
	img->last_epoch = sqlite3_column_int(st, 1);
	img->next_producer_id = sqlite3_column_int64(st, 2);
	img->metadata_version = (int16_t)sqlite3_column_int(st, 3);
	want[0] = sqlite3_column_int64(st, 4);
	want[1] = sqlite3_column_int64(st, 5);
	want[2] = sqlite3_column_int64(st, 6);
	want[3] = sqlite3_column_int64(st, 7);
	snprintf(digest, sizeof(digest), "%s", sqlite3_column_text(st, 8));
	sqlite3_finalize(st);
	st = NULL;
	if (snap_load_tables(db, img, &nparts) != 0) {
		snprintf(err, errlen, "%s: damaged (%s)", path,
		    sqlite3_errmsg(db));
		goto out;
	}
	if (want[0] != (int64_t)img->nbrokers ||
	    want[1] != (int64_t)img->ntopics || want[2] != nparts ||
	    want[3] != (int64_t)img->nconfigs) {
		snprintf(err, errlen, "%s: damaged (row counts differ from "
		    "the header)", path);
		goto out;
	}
	{
		char have[32];

		snprintf(have, sizeof(have), "%016" PRIx64,
		    meta_image_digest(img));
		if (strcmp(have, digest) != 0) {
			snprintf(err, errlen, "%s: damaged (digest %s, header "
			    "says %s)", path, have, digest);
			goto out;
		}
	}
	ok = true;
out:
	sqlite3_finalize(st);
	if (db != NULL)
		sqlite3_close(db);
	if (!ok) {
		meta_image_free(img);
		return NULL;
	}
	return img;
}

int
snapshot_read_file(const char *path, uint8_t **bytes, size_t *len)
{
	struct stat st;
	size_t done = 0;
	ssize_t n;
	int fd;

	*bytes = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	*bytes = xmalloc((size_t)st.st_size + 1);
	while (done < (size_t)st.st_size) {
		n = read(fd, *bytes + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			free(*bytes);
			*bytes = NULL;
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return 0;
}

/* Snapshot file names of dir, newest first. */
static size_t
snap_list(const char *dir, char ***names, bool tmp)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, i, j, l, sl = strlen(SNAP_SUFFIX);
	char *x;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (tmp) {
			if (l < sl + 4 || strcmp(de->d_name + l - sl - 4,
			    SNAP_SUFFIX ".tmp") != 0)
				continue;
		} else if (l != 31 + sl ||
		    strcmp(de->d_name + l - sl, SNAP_SUFFIX) != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* Fixed-width names: the string order is the offset order. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) < 0; j--) {
			x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	*names = v;
	return n;
}

static void
snap_names_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/* Keep a damaged snapshot for inspection, out of the way of the next
   start and of snapshot_prune. */
static void
snap_set_aside(const char *dir, const char *name)
{
	char from[4096], to[4200];

	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s.damaged", from);
	if (rename(from, to) != 0)
		log_warn("controller: rename %s", from);
	else
		log_warnx("controller: moved the damaged snapshot aside to %s",
		    to);
}

int
snapshot_load_newest(const char *dir, struct meta_image **img,
    uint8_t **bytes, size_t *len, char *err, size_t errlen)
{
	char **v = NULL, path[4096], why[4400], first[4400] = "";
	size_t n, i, k;
	int64_t off;
	int32_t ep;

	*img = NULL;
	*bytes = NULL;
	*len = 0;
	n = snap_list(dir, &v, false);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]);
		if (sscanf(v[i], "%20" SCNd64 "-%10" SCNd32, &off, &ep) != 2)
			continue;
		*img = snapshot_load(path, why, sizeof(why));
		if (*img != NULL && ((*img)->end_offset != off ||
		    (*img)->last_epoch != ep)) {
			snprintf(why, sizeof(why), "%s: its id differs from "
			    "its name", path);
			meta_image_free(*img);
			*img = NULL;
		}
		if (*img != NULL && snapshot_read_file(path, bytes, len) != 0) {
			snprintf(why, sizeof(why), "%s: %s", path,
			    strerror(errno));
			meta_image_free(*img);
			*img = NULL;
		}
		if (*img != NULL)
			break;
		log_warnx("controller: skipping snapshot: %s", why);
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", why);
	}
	if (*img != NULL)
		for (k = 0; k < i; k++)
			snap_set_aside(dir, v[k]);
	snap_names_free(v, n);
	if (n > 0 && *img == NULL) {
		snprintf(err, errlen, "no usable snapshot in %s (%zu damaged; "
		    "newest: %s)", dir, n, first);
		return -1;
	}
	return 0;
}

struct meta_image *
snapshot_install(const char *dir, int64_t offset, int32_t epoch,
    const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	char tmp[4096], fin[4096];
	struct meta_image *img = NULL;
	size_t done = 0;
	ssize_t k;
	int fd;

	snap_name(tmp, sizeof(tmp), dir, offset, epoch, ".tmp");
	snap_name(fin, sizeof(fin), dir, offset, epoch, "");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return NULL;
	}
	while (done < len) {
		k = write(fd, bytes + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	if (done != len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return NULL;
	}
	close(fd);
	if ((img = snapshot_load(tmp, err, errlen)) == NULL) {
		unlink(tmp);
		return NULL;
	}
	if (img->end_offset != offset || img->last_epoch != epoch) {
		snprintf(err, errlen, "snapshot from the leader has id "
		    "%" PRId64 "/%" PRId32 ", expected %" PRId64 "/%" PRId32,
		    img->end_offset, img->last_epoch, offset, epoch);
		meta_image_free(img);
		unlink(tmp);
		return NULL;
	}
	if (rename(tmp, fin) != 0 || snap_fsync_path(dir, true) != 0) {
		snprintf(err, errlen, "%s: %s", fin, strerror(errno));
		meta_image_free(img);
		return NULL;
	}
	return img;
}

void
snapshot_prune(const char *dir, size_t keep)
{
	char **v = NULL, path[4096];
	size_t n, i;

	n = snap_list(dir, &v, false);
	for (i = keep; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]);
		if (unlink(path) != 0)
			log_warn("controller: unlink %s", path);
	}
	snap_names_free(v, n);
}

void
snapshot_remove_temps(const char *dir)
{
	char **v = NULL, path[4096];
	size_t n, i;

	n = snap_list(dir, &v, true);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]);
		log_info("controller: removing unfinished snapshot %s", path);
		unlink(path);
	}
	snap_names_free(v, n);
}
