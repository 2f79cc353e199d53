/*
 * Topic registry.  A topic is the set of partition directories
 * <data_dir>/<topic>-<n>/ that hold a partition.metadata file naming the
 * topic id; the registry is rebuilt from them at start.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "replica.h"
#include "kerr.h"
#include "log.h"
#include "log_service.h"
#include "tconfig.h"
#include "xmalloc.h"

#define TOPIC_NAME_MAX	249

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Kafka's text form of a UUID: URL-safe base64 without padding. */
void
uuid_to_text(const struct kuuid *u, char out[23])
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < 16; i++) {
		acc = acc << 8 | u->b[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 0x3f];
		}
	}
	out[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
}

int
uuid_from_text(const char *s, struct kuuid *u)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (strlen(s) != 22)
		return -1;
	for (size_t i = 0; i < 22; i++) {
		const char *c = strchr(b64url, s[i]);
		if (c == NULL || s[i] == '\0')
			return -1;
		acc = acc << 6 | (uint32_t)(c - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < 16)
				u->b[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == 16 ? 0 : -1;
}

void
uuid_random(struct kuuid *u)
{
	size_t got = 0;

	while (got < sizeof(u->b)) {
		ssize_t n = getrandom(u->b + got, sizeof(u->b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fatal("getrandom");
		got += (size_t)n;
	}
	u->b[6] = (u->b[6] & 0x0f) | 0x40;
	u->b[8] = (u->b[8] & 0x3f) | 0x80;
}

int16_t
topics_validate_name(const char *name, size_t len)
{
	if (len == 0 || len > TOPIC_NAME_MAX)
		return KERR_INVALID_TOPIC_EXCEPTION;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return KERR_INVALID_TOPIC_EXCEPTION;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return KERR_INVALID_TOPIC_EXCEPTION;
	}
	return KERR_NONE;
}

struct topic *
topics_find(struct topics *ts, const char *name, size_t len)
{
	struct topic *t;

	TAILQ_FOREACH(t, &ts->list, entry) {
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	}
	return NULL;
}

struct topic *
topics_find_id(struct topics *ts, const struct kuuid *id)
{
	struct topic *t;

	TAILQ_FOREACH(t, &ts->list, entry) {
		if (memcmp(&t->id, id, sizeof(*id)) == 0)
			return t;
	}
	return NULL;
}

struct partition *
topic_partition(struct topic *t, int32_t index)
{
	if (index < 0 || index >= t->npart)
		return NULL;
	return &t->parts[index];
}

static void
topic_free(struct topic *t)
{
	for (int32_t i = 0; i < t->npart; i++) {
		replica_forget(&t->parts[i]);
		plog_free(t->parts[i].log);
	}
	tconfig_free(t->config);
	free(t->parts);
	free(t->name);
	free(t);
}

/*
 * Written and renamed into place on the event loop; the fsync follows on
 * the dropper thread (file_sync): creating a topic of 1,000 partitions
 * must not stall every client for the seconds 1,000 fsyncs take.
 */
static int
write_metadata_file(struct topics *ts, const char *dir,
    const struct kuuid *id)
{
	char *path, *tmp, text[23];
	FILE *f;
	int rc = 0;

	uuid_to_text(id, text);
	xasprintf(&path, "%s/partition.metadata", dir);
	xasprintf(&tmp, "%s/partition.metadata.tmp", dir);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "version: 0\ntopic_id: %s\n", text) < 0 ||
	    fflush(f) != 0) {
		log_warn("broker: write %s", tmp);
		rc = -1;
	}
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0) {
		log_warn("broker: rename %s", tmp);
		rc = -1;
	}
	if (rc == 0)
		file_sync(ts->syncer, path);
	free(path);
	free(tmp);
	return rc;
}

static int
read_metadata_file(const char *dir, struct kuuid *id)
{
	char *path, line[128], text[64];
	FILE *f;
	int rc = -1;

	xasprintf(&path, "%s/partition.metadata", dir);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "topic_id: %63s", text) == 1 &&
		    uuid_from_text(text, id) == 0)
			rc = 0;
	}
	fclose(f);
	return rc;
}

static char *
partition_dir(const struct topics *ts, const char *topic, int32_t index)
{
	char *dir;

	xasprintf(&dir, "%s/%s-%d", ts->data_dir, topic, index);
	return dir;
}

static struct topic *
topic_new(const char *name, size_t len, const struct kuuid *id, int32_t npart)
{
	struct topic *t = xcalloc(1, sizeof(*t));

	t->name = xstrndup(name, len);
	t->id = *id;
	t->npart = npart;
	t->parts = xcalloc((size_t)npart, sizeof(*t->parts));
	for (int32_t i = 0; i < npart; i++) {
		t->parts[i].topic = t;
		t->parts[i].index = i;
		t->parts[i].leader = PART_LOCAL;
		t->parts[i].hosted = true;
	}
	return t;
}

static int
topic_open_logs(struct topics *ts, struct topic *t, bool create)
{
	for (int32_t i = 0; i < t->npart; i++) {
		char *dir = partition_dir(ts, t->name, i);
		int rc = plog_open(dir, &t->parts[i].log);
		if (rc == 0 && create && write_metadata_file(ts, dir, &t->id) != 0)
			rc = -1;
		free(dir);
		if (rc != 0)
			return -1;
	}
	if (t->config == NULL)
		t->config = tconfig_open(ts->cfg, ts->data_dir, t->name);
	return 0;
}

int16_t
topics_create(struct topics *ts, const char *name, size_t len, int32_t npart,
    struct topic **out)
{
	struct kuuid id;

	do {
		uuid_random(&id);
	} while (topics_find_id(ts, &id) != NULL);
	return topics_create_id(ts, name, len, &id, npart, out);
}

int16_t
topics_create_id(struct topics *ts, const char *name, size_t len,
    const struct kuuid *id, int32_t npart, struct topic **out)
{
	struct topic *t;
	int16_t err;

	*out = NULL;
	if ((err = topics_validate_name(name, len)) != KERR_NONE)
		return err;
	if (topics_find(ts, name, len) != NULL)
		return KERR_TOPIC_ALREADY_EXISTS;
	if (topics_find_id(ts, id) != NULL)
		return KERR_TOPIC_ALREADY_EXISTS;
	if (npart <= 0 || npart > 100000)
		return KERR_INVALID_PARTITIONS;
	t = topic_new(name, len, id, npart);
	if (topic_open_logs(ts, t, true) != 0) {
		topic_free(t);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	TAILQ_INSERT_TAIL(&ts->list, t, entry);
	ts->count++;
	log_info("broker: created topic %s with %d partition(s)", t->name,
	    npart);
	*out = t;
	return KERR_NONE;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		log_warn("broker: remove %s", path);
	return 0;
}

int16_t
topics_delete(struct topics *ts, struct topic *t)
{
	TAILQ_REMOVE(&ts->list, t, entry);
	ts->count--;
	for (int32_t i = 0; i < t->npart; i++) {
		char *dir = partition_dir(ts, t->name, i);
		plog_free(t->parts[i].log);
		t->parts[i].log = NULL;
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(dir);
	}
	log_info("broker: deleted topic %s", t->name);
	topic_free(t);
	return KERR_NONE;
}

int16_t
topics_add_partitions(struct topics *ts, struct topic *t, int32_t npart)
{
	int32_t old = t->npart, i;

	if (npart <= old || npart > 100000)
		return KERR_INVALID_PARTITIONS;
	t->parts = xreallocarray(t->parts, (size_t)npart, sizeof(*t->parts));
	for (i = old; i < npart; i++) {
		char *dir = partition_dir(ts, t->name, i);
		int rc;

		memset(&t->parts[i], 0, sizeof(t->parts[i]));
		t->parts[i].topic = t;
		t->parts[i].index = i;
		t->parts[i].leader = PART_LOCAL;
		t->parts[i].hosted = true;
		rc = plog_open(dir, &t->parts[i].log);
		if (rc == 0 && write_metadata_file(ts, dir, &t->id) != 0) {
			plog_free(t->parts[i].log);
			rc = -1;
		}
		free(dir);
		if (rc != 0)
			break;
	}
	if (i < npart) {
		for (int32_t j = old; j <= i; j++) {
			char *dir = partition_dir(ts, t->name, j);
			if (j < i)
				plog_free(t->parts[j].log);
			nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			free(dir);
		}
		return KERR_KAFKA_STORAGE_ERROR;
	}
	t->npart = npart;
	log_info("broker: topic %s now has %d partitions", t->name, npart);
	return KERR_NONE;
}

/* Split "<topic>-<n>" into name length and partition index. */
static int
parse_partition_dir(const char *d, size_t *namelen, int32_t *index)
{
	const char *dash = strrchr(d, '-');
	char *end;
	long n;

	if (dash == NULL || dash == d || dash[1] == '\0')
		return -1;
	n = strtol(dash + 1, &end, 10);
	if (*end != '\0' || n < 0 || n >= 100000)
		return -1;
	*namelen = (size_t)(dash - d);
	*index = (int32_t)n;
	return 0;
}

int
topics_load(struct topics *ts, const char *data_dir)
{
	struct dirent *de;
	struct topic *t;
	DIR *dp;

	TAILQ_INIT(&ts->list);
	ts->count = 0;
	ts->data_dir = xstrdup(data_dir);
	dp = opendir(data_dir);
	if (dp == NULL) {
		log_warn("broker: opendir %s", data_dir);
		return -1;
	}
	/* First pass: learn each topic's partition count. */
	while ((de = readdir(dp)) != NULL) {
		struct kuuid id;
		size_t namelen;
		int32_t index;
		char *dir;

		if (parse_partition_dir(de->d_name, &namelen, &index) != 0 ||
		    topics_validate_name(de->d_name, namelen) != KERR_NONE)
			continue;
		xasprintf(&dir, "%s/%s", data_dir, de->d_name);
		if (read_metadata_file(dir, &id) != 0) {
			log_warnx("broker: %s: no partition.metadata, ignored",
			    dir);
			free(dir);
			continue;
		}
		free(dir);
		t = topics_find(ts, de->d_name, namelen);
		if (t == NULL) {
			t = topic_new(de->d_name, namelen, &id, index + 1);
			TAILQ_INSERT_TAIL(&ts->list, t, entry);
			ts->count++;
		} else if (index + 1 > t->npart) {
			t->parts = xreallocarray(t->parts, (size_t)index + 1,
			    sizeof(*t->parts));
			for (int32_t i = t->npart; i <= index; i++) {
				memset(&t->parts[i], 0, sizeof(t->parts[i]));
				t->parts[i].index = i;
			}
			t->npart = index + 1;
		}
	}
	closedir(dp);
	TAILQ_FOREACH(t, &ts->list, entry) {
		for (int32_t i = 0; i < t->npart; i++)
			t->parts[i].topic = t;
		if (topic_open_logs(ts, t, false) != 0)
			return -1;
		log_info("broker: loaded topic %s (%d partitions)", t->name,
		    t->npart);
	}
	return 0;
}

void
topics_clear(struct topics *ts)
{
	struct topic *t;

	while ((t = TAILQ_FIRST(&ts->list)) != NULL) {
		TAILQ_REMOVE(&ts->list, t, entry);
		topic_free(t);
	}
	free(ts->data_dir);
	ts->data_dir = NULL;
}
