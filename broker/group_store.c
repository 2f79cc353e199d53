/*
 * The group registry and committed offsets.  Offsets and group metadata
 * are written to __consumer_offsets in Kafka's record format (the key's
 * version picks the record type: 0/1 offset commit, 2 group metadata) and
 * read back at start, so tools that read that topic keep working.
 */
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "broker.h"
#include "compress.h"
#include "group.h"
#include "replica.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "xmalloc.h"

#define OFFSET_KEY_VERSION	1
#define OFFSET_VALUE_VERSION	3
#define GROUP_KEY_VERSION	2
#define GROUP_VALUE_VERSION	3

/* Kafka's choice of partition: Java String.hashCode, abs, modulo. */
int32_t
group_partition_for(const char *id, size_t len, int32_t npart)
{
	uint32_t h = 0;

	for (size_t i = 0; i < len; i++)
		h = h * 31 + (uint8_t)id[i];
	return (int32_t)((h & 0x7fffffffu) % (uint32_t)npart);
}

/*
 * offsets.retention.minutes: a group with no members keeps its offsets that
 * long after it became empty (a standalone consumer's: after its last
 * commit); then they are deleted, and the group with them.
 */
static void
groups_expire(struct groups *gs, int64_t now)
{
	int64_t keep = gs->broker->cfg->offsets_retention_minutes * 60000;
	struct group *g, *next;

	for (g = TAILQ_FIRST(&gs->list); g != NULL; g = next) {
		next = TAILQ_NEXT(g, entry);
		if (g->state != GROUP_EMPTY)
			continue;
		for (size_t i = g->noffsets; i-- > 0;) {
			struct goffset *o = &g->offsets[i];
			int64_t base = g->protocol_type != NULL &&
			    g->empty_since > o->commit_ts ? g->empty_since :
			    o->commit_ts;
			struct kstr t = { o->topic, (int32_t)strlen(o->topic) };

			if (now - base >= keep)
				group_offset_delete(g, &t, o->partition);
		}
		if (g->noffsets == 0 && now - g->empty_since >= keep) {
			log_info("broker: group %s: expired", g->id);
			group_delete(g);
		}
	}
}

static void
groups_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	groups_expire(arg, now_ms());
}

void
groups_init(struct groups *gs, struct broker *b)
{
	int64_t ms = b->cfg->offsets_retention_check_interval_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) *
	    1000 };

	gs->broker = b;
	TAILQ_INIT(&gs->list);
	gs->expiry_timer = event_new(b->base, -1, EV_PERSIST, groups_expire_cb,
	    gs);
	evtimer_add(gs->expiry_timer, &tv);
}

struct group *
group_find(struct groups *gs, const char *id, size_t len)
{
	struct group *g;

	TAILQ_FOREACH(g, &gs->list, entry)
		if (strlen(g->id) == len && memcmp(g->id, id, len) == 0)
			return g;
	return NULL;
}

struct group *
group_get(struct groups *gs, const char *id, size_t len)
{
	struct group *g = group_find(gs, id, len);

	if (g != NULL)
		return g;
	g = xcalloc(1, sizeof(*g));
	g->groups = gs;
	g->id = xstrndup(id, len);
	g->state = GROUP_EMPTY;
	g->empty_since = now_ms();
	TAILQ_INIT(&g->members);
	TAILQ_INSERT_TAIL(&gs->list, g, entry);
	return g;
}

void
group_free(struct group *g)
{
	struct gmember *m;

	while ((m = TAILQ_FIRST(&g->members)) != NULL) {
		if (m->session_timer != NULL)
			event_free(m->session_timer);
		m->session_timer = NULL;
		TAILQ_REMOVE(&g->members, m, entry);
		for (size_t i = 0; i < m->nprotos; i++) {
			free(m->protos[i].name);
			free(m->protos[i].meta);
		}
		free(m->protos);
		free(m->assignment);
		free(m->id);
		free(m->instance_id);
		free(m->client_id);
		free(m->client_host);
		free(m);
	}
	for (size_t i = 0; i < g->noffsets; i++) {
		free(g->offsets[i].topic);
		free(g->offsets[i].metadata);
	}
	if (g->join_timer != NULL)
		event_free(g->join_timer);
	free(g->offsets);
	free(g->protocol_type);
	free(g->protocol);
	free(g->leader);
	free(g->id);
	free(g);
}

void
group_delete(struct group *g)
{
	group_store_tombstone(g);
	TAILQ_REMOVE(&g->groups->list, g, entry);
	group_free(g);
}

void
groups_clear(struct groups *gs)
{
	struct group *g;

	while ((g = TAILQ_FIRST(&gs->list)) != NULL) {
		TAILQ_REMOVE(&gs->list, g, entry);
		group_free(g);
	}
	if (gs->expiry_timer != NULL)
		event_free(gs->expiry_timer);
	gs->expiry_timer = NULL;
}

struct goffset *
group_offset_find(struct group *g, const char *topic, size_t len,
    int32_t partition)
{
	for (size_t i = 0; i < g->noffsets; i++) {
		struct goffset *o = &g->offsets[i];
		if (o->partition == partition && strlen(o->topic) == len &&
		    memcmp(o->topic, topic, len) == 0)
			return o;
	}
	return NULL;
}

static void
offset_set(struct group *g, const struct kstr *topic, int32_t partition,
    int64_t offset, int32_t epoch, const struct kstr *meta, int64_t ts)
{
	struct goffset *o = group_offset_find(g, topic->p, (size_t)topic->len,
	    partition);

	if (o == NULL) {
		if (g->noffsets == g->capoffsets) {
			g->capoffsets = g->capoffsets ? g->capoffsets * 2 : 16;
			g->offsets = xreallocarray(g->offsets, g->capoffsets,
			    sizeof(*g->offsets));
		}
		o = &g->offsets[g->noffsets++];
		o->topic = xstrndup(topic->p, (size_t)topic->len);
		o->partition = partition;
		o->metadata = NULL;
	}
	free(o->metadata);
	o->metadata = meta->len < 0 ? NULL :
	    xstrndup(meta->p, (size_t)meta->len);
	o->offset = offset;
	o->leader_epoch = epoch;
	o->commit_ts = ts;
}

static void
offset_remove(struct group *g, const struct kstr *topic, int32_t partition)
{
	struct goffset *o = group_offset_find(g, topic->p, (size_t)topic->len,
	    partition);

	if (o == NULL)
		return;
	free(o->topic);
	free(o->metadata);
	*o = g->offsets[--g->noffsets];
}

/* Append one record (key, value or tombstone) to the group's partition. */
static int16_t
store_append(struct group *g, const struct kp_struct *kd, int16_t kv,
    const void *key, const struct kp_struct *vd, int16_t vv, const void *val)
{
	struct broker *b = g->groups->broker;
	struct topic *t = topics_find(&b->topics, GROUP_OFFSETS_TOPIC,
	    strlen(GROUP_OFFSETS_TOPIC));
	struct wbuf kb = { 0 }, vb = { 0 }, out = { 0 };
	struct batch_builder bb;
	struct partition *p;
	int16_t err = KERR_NONE;

	if (t == NULL)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	p = topic_partition(t, group_partition_for(g->id, strlen(g->id),
	    t->npart));
	wbuf_put_i16(&kb, kv);
	kp_encode(&kb, kd, kv, false, key);
	if (val != NULL) {
		wbuf_put_i16(&vb, vv);
		kp_encode(&vb, vd, vv, false, val);
	}
	batch_builder_init(&bb, MO_CODEC_NONE, 0, now_ms());
	batch_builder_add(&bb, now_ms(), kb.data, (int32_t)kb.len,
	    val != NULL ? vb.data : NULL, val != NULL ? (int32_t)vb.len : -1,
	    NULL, 0);
	if (kb.err != 0 || vb.err != 0 || batch_builder_finish(&bb, &out) != 0 ||
	    plog_append_batch(p->log, out.data, out.len) != 0)
		err = KERR_KAFKA_STORAGE_ERROR;
	batch_builder_clear(&bb);
	wbuf_clear(&kb);
	wbuf_clear(&vb);
	wbuf_clear(&out);
	return err;
}

int16_t
group_offset_commit(struct group *g, const struct kstr *topic,
    int32_t partition, int64_t offset, int32_t epoch, const struct kstr *meta)
{
	struct kp_offset_commit_key key;
	struct kp_offset_commit_value val;
	int64_t ts = now_ms();
	int16_t err;

	kp_init(&kp_offset_commit_key_desc, &key);
	kp_init(&kp_offset_commit_value_desc, &val);
	key.group.p = g->id;
	key.group.len = (int32_t)strlen(g->id);
	key.topic = *topic;
	key.partition = partition;
	val.offset = offset;
	val.leader_epoch = epoch;
	val.metadata = meta->len < 0 ? (struct kstr){ "", 0 } : *meta;
	val.commit_timestamp = ts;
	err = store_append(g, &kp_offset_commit_key_desc, OFFSET_KEY_VERSION,
	    &key, &kp_offset_commit_value_desc, OFFSET_VALUE_VERSION, &val);
	if (err == KERR_NONE)
		offset_set(g, topic, partition, offset, epoch, meta, ts);
	return err;
}

int16_t
group_offset_delete(struct group *g, const struct kstr *topic,
    int32_t partition)
{
	struct kp_offset_commit_key key;
	int16_t err;

	if (group_offset_find(g, topic->p, (size_t)topic->len, partition) ==
	    NULL)
		return KERR_NONE;
	kp_init(&kp_offset_commit_key_desc, &key);
	key.group.p = g->id;
	key.group.len = (int32_t)strlen(g->id);
	key.topic = *topic;
	key.partition = partition;
	err = store_append(g, &kp_offset_commit_key_desc, OFFSET_KEY_VERSION,
	    &key, NULL, 0, NULL);
	if (err == KERR_NONE)
		offset_remove(g, topic, partition);
	return err;
}

static struct kstr
kstr_or_null(const char *s)
{
	struct kstr k = { s, s == NULL ? -1 : (int32_t)strlen(s) };

	return k;
}

int16_t
group_store_metadata(struct group *g)
{
	const struct kp_struct *md =
	    &kp_group_metadata_value_member_metadata_desc;
	struct kp_group_metadata_key key;
	struct kp_group_metadata_value val;
	struct kp_group_metadata_value_member_metadata *mv;
	struct gmember *m;
	size_t n = 0;
	int16_t err;

	kp_init(&kp_group_metadata_key_desc, &key);
	kp_init(&kp_group_metadata_value_desc, &val);
	key.group = kstr_or_null(g->id);
	val.protocol_type = kstr_or_null(g->protocol_type != NULL ?
	    g->protocol_type : "");
	val.generation = g->generation;
	val.protocol = kstr_or_null(g->protocol);
	val.leader = kstr_or_null(g->leader);
	val.current_state_timestamp = now_ms();
	mv = xcalloc(g->nmembers + 1, md->size);
	TAILQ_FOREACH(m, &g->members, entry) {
		const struct gproto *p = NULL;

		if (m->pending)
			continue;
		for (size_t i = 0; i < m->nprotos && g->protocol != NULL; i++)
			if (strcmp(m->protos[i].name, g->protocol) == 0)
				p = &m->protos[i];
		kp_init(md, &mv[n]);
		mv[n].member_id = kstr_or_null(m->id);
		mv[n].group_instance_id = kstr_or_null(m->instance_id);
		mv[n].client_id = kstr_or_null(m->client_id);
		mv[n].client_host = kstr_or_null(m->client_host);
		mv[n].rebalance_timeout = m->rebalance_timeout;
		mv[n].session_timeout = m->session_timeout;
		mv[n].subscription.p = p != NULL ? p->meta : NULL;
		mv[n].subscription.len = p != NULL ? (int32_t)p->len : 0;
		mv[n].assignment.p = m->assignment;
		mv[n].assignment.len = (int32_t)m->alen;
		n++;
	}
	val.members.v = mv;
	val.members.n = (int32_t)n;
	err = store_append(g, &kp_group_metadata_key_desc, GROUP_KEY_VERSION,
	    &key, &kp_group_metadata_value_desc, GROUP_VALUE_VERSION, &val);
	free(mv);
	return err;
}

int16_t
group_store_tombstone(struct group *g)
{
	struct kp_group_metadata_key key;

	for (size_t i = 0; i < g->noffsets; i++) {
		struct kstr t = kstr_or_null(g->offsets[i].topic);
		struct kp_offset_commit_key ok;

		kp_init(&kp_offset_commit_key_desc, &ok);
		ok.group = kstr_or_null(g->id);
		ok.topic = t;
		ok.partition = g->offsets[i].partition;
		store_append(g, &kp_offset_commit_key_desc,
		    OFFSET_KEY_VERSION, &ok, NULL, 0, NULL);
	}
	kp_init(&kp_group_metadata_key_desc, &key);
	key.group = kstr_or_null(g->id);
	return store_append(g, &kp_group_metadata_key_desc, GROUP_KEY_VERSION,
	    &key, NULL, 0, NULL);
}

/* Replay one __consumer_offsets record into the registry. */
static void
load_record(struct groups *gs, const struct record *rec)
{
	struct kp_arena arena = { 0 };
	struct rd kr, vr;
	int16_t kv, vv = 0;

	rd_init(&kr, rec->key.p, rec->key.len > 0 ? (size_t)rec->key.len : 0);
	rd_i16(&kr, &kv);
	if (rec->value.len >= 0) {
		rd_init(&vr, rec->value.p, (size_t)rec->value.len);
		rd_i16(&vr, &vv);
	}
	if (kr.err != 0)
		goto out;
	if (kv == 0 || kv == 1) {
		struct kp_offset_commit_key k;
		struct kp_offset_commit_value v;
		struct group *g;

		if (kp_decode(&kr, &kp_offset_commit_key_desc, kv, false, &k,
		    &arena) != 0 || k.group.len < 0 || k.topic.len < 0)
			goto out;
		g = group_get(gs, k.group.p, (size_t)k.group.len);
		if (rec->value.len < 0) {
			offset_remove(g, &k.topic, k.partition);
			goto out;
		}
		if (kp_decode(&vr, &kp_offset_commit_value_desc, vv, vv >= 4,
		    &v, &arena) != 0)
			goto out;
		offset_set(g, &k.topic, k.partition, v.offset, v.leader_epoch,
		    &v.metadata, v.commit_timestamp);
	} else if (kv == 2) {
		struct kp_group_metadata_key k;
		struct kp_group_metadata_value v;
		struct group *g;

		if (kp_decode(&kr, &kp_group_metadata_key_desc, kv, false, &k,
		    &arena) != 0 || k.group.len < 0)
			goto out;
		if (rec->value.len < 0) {
			g = group_find(gs, k.group.p, (size_t)k.group.len);
			if (g != NULL) {
				TAILQ_REMOVE(&gs->list, g, entry);
				group_free(g);
			}
			goto out;
		}
		if (kp_decode(&vr, &kp_group_metadata_value_desc, vv, vv >= 4,
		    &v, &arena) != 0)
			goto out;
		g = group_get(gs, k.group.p, (size_t)k.group.len);
		g->generation = v.generation;
		free(g->protocol_type);
		g->protocol_type = v.protocol_type.len >= 0 ? xstrndup(
		    v.protocol_type.p, (size_t)v.protocol_type.len) : NULL;
	}
out:
	kp_arena_clear(&arena);
}

static void
load_batch(struct groups *gs, const uint8_t *p, size_t len)
{
	struct batch_info info;
	struct wbuf plain = { 0 };
	struct record rec;
	struct rd rr;

	if (batch_header_parse(p, len, &info) != 0 || (info.attributes & 0x20))
		return;		/* control batches carry no group data */
	if ((info.attributes & 0x07) != 0) {
		if (compress_decode(info.attributes & 0x07,
		    p + BATCH_HEADER_SIZE, len - BATCH_HEADER_SIZE,
		    64u * 1024 * 1024, &plain) != 0) {
			wbuf_clear(&plain);
			return;
		}
		rd_init(&rr, plain.data, plain.len);
	} else
		rd_init(&rr, p + BATCH_HEADER_SIZE, len - BATCH_HEADER_SIZE);
	for (int32_t i = 0; i < info.record_count; i++) {
		if (batch_records_next(&rr, &rec) != 0)
			break;
		load_record(gs, &rec);
	}
	wbuf_clear(&plain);
}

int16_t
groups_coordinator(struct groups *gs, const char *id, size_t len)
{
	struct broker *b = gs->broker;
	struct topic *t = topics_find(&b->topics, GROUP_OFFSETS_TOPIC,
	    strlen(GROUP_OFFSETS_TOPIC));
	struct partition *p;

	if (t == NULL)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	p = topic_partition(t, group_partition_for(id, len, t->npart));
	if (p == NULL || !p->hosted || !replica_is_leader(b, p))
		return KERR_NOT_COORDINATOR;
	return KERR_NONE;
}

void
groups_load_partition(struct groups *gs, struct partition *p)
{
	const struct plog *pl = p->log;
	int64_t off = pl->log_start;
	uint8_t *buf;
	size_t len, n = 0;
	struct group *g;

	while (plog_read_batch(pl, off, &buf, &len, &off) == 0) {
		load_batch(gs, buf, len);
		free(buf);
	}
	TAILQ_FOREACH(g, &gs->list, entry)
		n += group_partition_for(g->id, strlen(g->id),
		    p->topic->npart) == p->index;
	if (n > 0)
		log_info("broker: coordinator of %zu group(s) of %s-%d",
		    n, GROUP_OFFSETS_TOPIC, p->index);
}

void
groups_unload_partition(struct groups *gs, struct partition *p)
{
	struct group *g, *ng;
	size_t n = 0;

	for (g = TAILQ_FIRST(&gs->list); g != NULL; g = ng) {
		ng = TAILQ_NEXT(g, entry);
		if (group_partition_for(g->id, strlen(g->id),
		    p->topic->npart) != p->index)
			continue;
		group_unload(g);
		n++;
	}
	if (n > 0)
		log_info("broker: %zu group(s) of %s-%d handed over", n,
		    GROUP_OFFSETS_TOPIC, p->index);
}
