/*
 * The metadata image: applying metadata records (see meta_image.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kproto_gen.h"
#include "rd.h"
#include "xmalloc.h"
#include "meta_image.h"

#define MI_TOPIC_TYPE	2	/* ConfigResource type of a topic */

struct mi_rec_type {
	int16_t			 type;
	int16_t			 vmax;
	const struct kp_struct	*desc;
};

static const struct mi_rec_type mi_types[] = {
	{ MI_REC_REGISTER_BROKER, 3, &kp_register_broker_record_desc },
	{ MI_REC_UNREGISTER_BROKER, 0, &kp_unregister_broker_record_desc },
	{ MI_REC_TOPIC, 0, &kp_topic_record_desc },
	{ MI_REC_PARTITION, 2, &kp_partition_record_desc },
	{ MI_REC_CONFIG, 0, &kp_config_record_desc },
	{ MI_REC_PARTITION_CHANGE, 2, &kp_partition_change_record_desc },
	{ MI_REC_FENCE_BROKER, 0, &kp_fence_broker_record_desc },
	{ MI_REC_UNFENCE_BROKER, 0, &kp_unfence_broker_record_desc },
	{ MI_REC_REMOVE_TOPIC, 0, &kp_remove_topic_record_desc },
	{ MI_REC_FEATURE_LEVEL, 0, &kp_feature_level_record_desc },
	{ MI_REC_PRODUCER_IDS, 0, &kp_producer_ids_record_desc },
	{ MI_REC_BROKER_REG_CHANGE, 2, &kp_broker_registration_change_record_desc },
	{ MI_REC_ACL, 0, &kp_access_control_entry_record_desc },
	{ MI_REC_REMOVE_ACL, 0, &kp_remove_access_control_entry_record_desc },
	{ MI_REC_NO_OP, 0, &kp_no_op_record_desc },
	{ MI_REC_SCRAM, 0, &kp_user_scram_credential_record_desc },
	{ MI_REC_REMOVE_SCRAM, 0, &kp_remove_user_scram_credential_record_desc },
};

struct meta_image *
meta_image_new(void)
{
	struct meta_image *img = xcalloc(1, sizeof(*img));

	img->next_producer_id = 0;
	img->last_epoch = -1;
	return img;
}

static char *
mi_str(struct kstr s)
{
	return s.len < 0 ? NULL : xstrndup(s.p, (size_t)s.len);
}

static void
mi_ints_set(struct mi_ints *d, const int32_t *v, int32_t n)
{
	free(d->v);
	d->v = NULL;
	d->n = n > 0 ? (size_t)n : 0;
	if (d->n > 0) {
		d->v = xreallocarray(NULL, d->n, sizeof(*d->v));
		memcpy(d->v, v, d->n * sizeof(*d->v));
	}
}

static void
mi_broker_clear(struct mi_broker *b)
{
	size_t i;

	for (i = 0; i < b->neps; i++) {
		free(b->eps[i].name);
		free(b->eps[i].host);
	}
	free(b->eps);
	free(b->rack);
	memset(b, 0, sizeof(*b));
}

static void
mi_topic_clear(struct mi_topic *t)
{
	size_t i;

	for (i = 0; i < t->nparts; i++) {
		free(t->parts[i].replicas.v);
		free(t->parts[i].isr.v);
		free(t->parts[i].adding.v);
		free(t->parts[i].removing.v);
	}
	free(t->parts);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

static void
mi_config_clear(struct mi_config *c)
{
	free(c->resource);
	free(c->name);
	free(c->value);
}

static void
mi_acl_clear(struct mi_acl *a)
{
	free(a->resource);
	free(a->principal);
	free(a->host);
}

static void
mi_scram_clear(struct mi_scram *c)
{
	free(c->user);
	free(c->salt);
}

void
meta_image_free(struct meta_image *img)
{
	size_t i;

	if (img == NULL)
		return;
	for (i = 0; i < img->nbrokers; i++)
		mi_broker_clear(&img->brokers[i]);
	for (i = 0; i < img->ntopics; i++)
		mi_topic_clear(&img->topics[i]);
	for (i = 0; i < img->nconfigs; i++)
		mi_config_clear(&img->configs[i]);
	for (i = 0; i < img->nacls; i++)
		mi_acl_clear(&img->acls[i]);
	free(img->acls);
	for (i = 0; i < img->nscram; i++)
		mi_scram_clear(&img->scram[i]);
	free(img->scram);
	free(img->brokers);
	free(img->topics);
	free(img->configs);
	free(img);
}

static char *
mi_dupstr(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

struct meta_image *
meta_image_dup(const struct meta_image *src)
{
	struct meta_image *img = xcalloc(1, sizeof(*img));
	size_t i, j;

	*img = *src;
	img->brokers = xcalloc(src->nbrokers + 1, sizeof(*img->brokers));
	for (i = 0; i < src->nbrokers; i++) {
		const struct mi_broker *s = &src->brokers[i];
		struct mi_broker *d = &img->brokers[i];

		*d = *s;
		d->rack = mi_dupstr(s->rack);
		d->eps = xcalloc(s->neps + 1, sizeof(*d->eps));
		for (j = 0; j < s->neps; j++) {
			d->eps[j] = s->eps[j];
			d->eps[j].name = mi_dupstr(s->eps[j].name);
			d->eps[j].host = mi_dupstr(s->eps[j].host);
		}
	}
	img->topics = xcalloc(src->ntopics + 1, sizeof(*img->topics));
	for (i = 0; i < src->ntopics; i++) {
		const struct mi_topic *s = &src->topics[i];
		struct mi_topic *d = &img->topics[i];

		*d = *s;
		d->name = xstrdup(s->name);
		d->parts = xcalloc(s->nparts + 1, sizeof(*d->parts));
		for (j = 0; j < s->nparts; j++) {
			d->parts[j] = s->parts[j];
			d->parts[j].replicas.v = NULL;
			d->parts[j].isr.v = NULL;
			d->parts[j].adding.v = NULL;
			d->parts[j].removing.v = NULL;
			mi_ints_set(&d->parts[j].adding, s->parts[j].adding.v,
			    (int32_t)s->parts[j].adding.n);
			mi_ints_set(&d->parts[j].removing,
			    s->parts[j].removing.v,
			    (int32_t)s->parts[j].removing.n);
			mi_ints_set(&d->parts[j].replicas,
			    s->parts[j].replicas.v,
			    (int32_t)s->parts[j].replicas.n);
			mi_ints_set(&d->parts[j].isr, s->parts[j].isr.v,
			    (int32_t)s->parts[j].isr.n);
		}
	}
	img->configs = xcalloc(src->nconfigs + 1, sizeof(*img->configs));
	for (i = 0; i < src->nconfigs; i++) {
		img->configs[i].type = src->configs[i].type;
		img->configs[i].resource = xstrdup(src->configs[i].resource);
		img->configs[i].name = xstrdup(src->configs[i].name);
		img->configs[i].value = xstrdup(src->configs[i].value);
	}
	img->acls = xcalloc(src->nacls + 1, sizeof(*img->acls));
	for (i = 0; i < src->nacls; i++) {
		img->acls[i] = src->acls[i];
		img->acls[i].resource = xstrdup(src->acls[i].resource);
		img->acls[i].principal = xstrdup(src->acls[i].principal);
		img->acls[i].host = xstrdup(src->acls[i].host);
	}
	img->scram = xcalloc(src->nscram + 1, sizeof(*img->scram));
	for (i = 0; i < src->nscram; i++) {
		img->scram[i] = src->scram[i];
		img->scram[i].user = xstrdup(src->scram[i].user);
		img->scram[i].salt = xmalloc(src->scram[i].salt_len + 1);
		if (src->scram[i].salt_len > 0)
			memcpy(img->scram[i].salt, src->scram[i].salt,
			    src->scram[i].salt_len);
	}
	img->nscram = src->nscram;
	return img;
}

/* ---- look-ups ---- */

static size_t
mi_broker_pos(const struct meta_image *img, int32_t id, bool *found)
{
	size_t lo = 0, hi = img->nbrokers, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (img->brokers[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < img->nbrokers && img->brokers[lo].id == id;
	return lo;
}

const struct mi_broker *
meta_image_broker(const struct meta_image *img, int32_t id)
{
	bool found;
	size_t i = mi_broker_pos(img, id, &found);

	return found ? &img->brokers[i] : NULL;
}

static int
mi_namecmp(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static size_t
mi_topic_pos(const struct meta_image *img, const char *name, size_t len,
    bool *found)
{
	size_t lo = 0, hi = img->ntopics, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (mi_namecmp(img->topics[mid].name, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < img->ntopics &&
	    mi_namecmp(img->topics[lo].name, name, len) == 0;
	return lo;
}

const struct mi_topic *
meta_image_topic(const struct meta_image *img, const char *name, size_t len)
{
	bool found;
	size_t i = mi_topic_pos(img, name, len, &found);

	return found ? &img->topics[i] : NULL;
}

static struct mi_topic *
mi_topic_by_id(const struct meta_image *img, const struct kuuid *id)
{
	size_t i;

	for (i = 0; i < img->ntopics; i++)
		if (memcmp(img->topics[i].id.b, id->b, 16) == 0)
			return &img->topics[i];
	return NULL;
}

const struct mi_topic *
meta_image_topic_by_id(const struct meta_image *img, const struct kuuid *id)
{
	return mi_topic_by_id(img, id);
}

size_t
meta_image_fenced(const struct meta_image *img)
{
	size_t i, n = 0;

	for (i = 0; i < img->nbrokers; i++)
		if (img->brokers[i].fenced)
			n++;
	return n;
}

static struct mi_partition *
mi_partition(struct mi_topic *t, int32_t id, bool create)
{
	size_t lo = 0, hi = t->nparts, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (t->parts[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nparts && t->parts[lo].id == id)
		return &t->parts[lo];
	if (!create)
		return NULL;
	t->parts = xreallocarray(t->parts, t->nparts + 1, sizeof(*t->parts));
	memmove(&t->parts[lo + 1], &t->parts[lo],
	    (t->nparts - lo) * sizeof(*t->parts));
	t->nparts++;
	memset(&t->parts[lo], 0, sizeof(t->parts[lo]));
	t->parts[lo].id = id;
	t->parts[lo].leader = -1;
	return &t->parts[lo];
}

/* ---- applying records ---- */

static void
mi_register_broker(struct meta_image *img,
    const struct kp_register_broker_record *r)
{
	struct mi_broker *b;
	bool found;
	size_t i = mi_broker_pos(img, r->broker_id, &found);
	int32_t k;

	if (found)
		mi_broker_clear(&img->brokers[i]);
	else {
		img->brokers = xreallocarray(img->brokers, img->nbrokers + 1,
		    sizeof(*img->brokers));
		memmove(&img->brokers[i + 1], &img->brokers[i],
		    (img->nbrokers - i) * sizeof(*img->brokers));
		img->nbrokers++;
	}
	b = &img->brokers[i];
	memset(b, 0, sizeof(*b));
	b->id = r->broker_id;
	b->epoch = r->broker_epoch;
	b->incarnation = r->incarnation_id;
	b->fenced = r->fenced;
	b->shutdown = r->in_controlled_shutdown;
	b->rack = mi_str(r->rack);
	if (r->end_points.n > 0) {
		b->eps = xcalloc((size_t)r->end_points.n, sizeof(*b->eps));
		for (k = 0; k < r->end_points.n; k++) {
			const struct kp_register_broker_record_broker_endpoint
			    *e = &r->end_points.v[k];

			b->eps[k].name = mi_str(e->name);
			b->eps[k].host = mi_str(e->host);
			b->eps[k].port = e->port;
			b->eps[k].protocol = e->security_protocol;
		}
		b->neps = (size_t)r->end_points.n;
	}
}

static void
mi_unregister_broker(struct meta_image *img, int32_t id)
{
	bool found;
	size_t i = mi_broker_pos(img, id, &found);

	if (!found)
		return;
	mi_broker_clear(&img->brokers[i]);
	memmove(&img->brokers[i], &img->brokers[i + 1],
	    (img->nbrokers - i - 1) * sizeof(*img->brokers));
	img->nbrokers--;
}

static void
mi_set_fenced(struct meta_image *img, int32_t id, int64_t epoch, int fenced,
    int shutdown)
{
	bool found;
	size_t i = mi_broker_pos(img, id, &found);

	if (!found || img->brokers[i].epoch != epoch)
		return;
	if (fenced != 0)
		img->brokers[i].fenced = fenced > 0;
	if (shutdown != 0)
		img->brokers[i].shutdown = shutdown > 0;
}

static void
mi_add_topic(struct meta_image *img, const struct kp_topic_record *r)
{
	struct mi_topic *t;
	bool found;
	size_t i;

	if (r->name.len <= 0)
		return;
	i = mi_topic_pos(img, r->name.p, (size_t)r->name.len, &found);
	if (found)
		mi_topic_clear(&img->topics[i]);
	else {
		img->topics = xreallocarray(img->topics, img->ntopics + 1,
		    sizeof(*img->topics));
		memmove(&img->topics[i + 1], &img->topics[i],
		    (img->ntopics - i) * sizeof(*img->topics));
		img->ntopics++;
	}
	t = &img->topics[i];
	memset(t, 0, sizeof(*t));
	t->name = mi_str(r->name);
	t->id = r->topic_id;
}

static void
mi_remove_configs(struct meta_image *img, int8_t type, const char *res)
{
	size_t i, o = 0;

	for (i = 0; i < img->nconfigs; i++) {
		if (img->configs[i].type == type &&
		    strcmp(img->configs[i].resource, res) == 0)
			mi_config_clear(&img->configs[i]);
		else
			img->configs[o++] = img->configs[i];
	}
	img->nconfigs = o;
}

static void
mi_remove_topic(struct meta_image *img, const struct kuuid *id)
{
	struct mi_topic *t = mi_topic_by_id(img, id);
	size_t i;

	if (t == NULL)
		return;
	i = (size_t)(t - img->topics);
	mi_remove_configs(img, MI_TOPIC_TYPE, t->name);
	mi_topic_clear(t);
	memmove(&img->topics[i], &img->topics[i + 1],
	    (img->ntopics - i - 1) * sizeof(*img->topics));
	img->ntopics--;
}

static void
mi_partition_record(struct meta_image *img,
    const struct kp_partition_record *r)
{
	struct mi_topic *t = mi_topic_by_id(img, &r->topic_id);
	struct mi_partition *p;

	if (t == NULL || r->partition_id < 0)
		return;
	p = mi_partition(t, r->partition_id, true);
	mi_ints_set(&p->replicas, r->replicas.v, r->replicas.n);
	mi_ints_set(&p->isr, r->isr.v, r->isr.n);
	mi_ints_set(&p->adding, r->adding_replicas.v, r->adding_replicas.n);
	mi_ints_set(&p->removing, r->removing_replicas.v,
	    r->removing_replicas.n);
	p->leader = r->leader;
	p->recovery = r->leader_recovery_state > 0 ? 1 : 0;
	p->leader_epoch = r->leader_epoch;
	p->partition_epoch = r->partition_epoch;
}

static void
mi_partition_change(struct meta_image *img,
    const struct kp_partition_change_record *r)
{
	struct mi_topic *t = mi_topic_by_id(img, &r->topic_id);
	struct mi_partition *p;

	if (t == NULL || (p = mi_partition(t, r->partition_id, false)) == NULL)
		return;
	if (r->isr.n >= 0)
		mi_ints_set(&p->isr, r->isr.v, r->isr.n);
	if (r->replicas.n >= 0)
		mi_ints_set(&p->replicas, r->replicas.v, r->replicas.n);
	if (r->adding_replicas.n >= 0)
		mi_ints_set(&p->adding, r->adding_replicas.v,
		    r->adding_replicas.n);
	if (r->removing_replicas.n >= 0)
		mi_ints_set(&p->removing, r->removing_replicas.v,
		    r->removing_replicas.n);
	if (r->leader_recovery_state >= 0)
		p->recovery = r->leader_recovery_state;
	/* As in Kafka: a leader field (even the same leader) bumps the
	   leader epoch; -2 leaves both alone. */
	if (r->leader != -2) {
		p->leader = r->leader;
		p->leader_epoch++;
	}
	p->partition_epoch++;
}

static int
mi_config_cmp(const struct mi_config *c, int8_t type, const char *res,
    const char *name)
{
	int d;

	if (c->type != type)
		return c->type < type ? -1 : 1;
	if ((d = strcmp(c->resource, res)) != 0)
		return d;
	return strcmp(c->name, name);
}

static void
mi_config(struct meta_image *img, const struct kp_config_record *r)
{
	char *res, *name;
	size_t lo = 0, hi = img->nconfigs, mid;
	struct mi_config *c;

	if (r->resource_name.len < 0 || r->name.len <= 0)
		return;
	res = mi_str(r->resource_name);
	name = mi_str(r->name);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (mi_config_cmp(&img->configs[mid], r->resource_type, res,
		    name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < img->nconfigs && mi_config_cmp(&img->configs[lo],
	    r->resource_type, res, name) == 0) {
		c = &img->configs[lo];
		free(res);
		free(name);
		if (r->value.len < 0) {
			mi_config_clear(c);
			memmove(c, c + 1,
			    (img->nconfigs - lo - 1) * sizeof(*c));
			img->nconfigs--;
		} else {
			free(c->value);
			c->value = mi_str(r->value);
		}
		return;
	}
	if (r->value.len < 0) {
		free(res);
		free(name);
		return;
	}
	img->configs = xreallocarray(img->configs, img->nconfigs + 1,
	    sizeof(*img->configs));
	c = &img->configs[lo];
	memmove(c + 1, c, (img->nconfigs - lo) * sizeof(*c));
	img->nconfigs++;
	c->type = r->resource_type;
	c->resource = res;
	c->name = name;
	c->value = mi_str(r->value);
}

/* Position of id in the sorted ACLs (found or where it would go). */
static size_t
mi_acl_pos(const struct meta_image *img, const struct kuuid *id, bool *found)
{
	size_t lo = 0, hi = img->nacls;

	*found = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = memcmp(img->acls[mid].id.b, id->b, 16);

		if (d == 0) {
			*found = true;
			return mid;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
mi_acl_add(struct meta_image *img, const struct kp_access_control_entry_record
    *r)
{
	struct mi_acl *a;
	bool found;
	size_t i = mi_acl_pos(img, &r->id, &found);

	if (found)
		mi_acl_clear(&img->acls[i]);
	else {
		img->acls = xreallocarray(img->acls, img->nacls + 1,
		    sizeof(*img->acls));
		memmove(&img->acls[i + 1], &img->acls[i],
		    (img->nacls - i) * sizeof(*img->acls));
		img->nacls++;
	}
	a = &img->acls[i];
	a->id = r->id;
	a->resource_type = r->resource_type;
	a->resource = mi_str(r->resource_name);
	a->pattern = r->pattern_type;
	a->principal = mi_str(r->principal);
	a->host = mi_str(r->host);
	a->operation = r->operation;
	a->permission = r->permission_type;
	if (a->resource == NULL)
		a->resource = xstrdup("");
	if (a->principal == NULL)
		a->principal = xstrdup("");
	if (a->host == NULL)
		a->host = xstrdup("*");
}

static void
mi_acl_remove(struct meta_image *img, const struct kuuid *id)
{
	bool found;
	size_t i = mi_acl_pos(img, id, &found);

	if (!found)
		return;
	mi_acl_clear(&img->acls[i]);
	memmove(&img->acls[i], &img->acls[i + 1],
	    (img->nacls - i - 1) * sizeof(*img->acls));
	img->nacls--;
}

size_t
mi_scram_key_len(int8_t mechanism)
{
	return mechanism == MI_SCRAM_SHA_256 ? 32 :
	    mechanism == MI_SCRAM_SHA_512 ? 64 : 0;
}

static int
mi_scram_cmp(const struct mi_scram *c, const char *user, size_t len,
    int8_t mech)
{
	int d = mi_namecmp(c->user, user, len);

	return d != 0 ? d : c->mechanism - mech;
}

/* Position of (user, mechanism) in the sorted credentials. */
static size_t
mi_scram_pos(const struct meta_image *img, const char *user, size_t len,
    int8_t mech, bool *found)
{
	size_t lo = 0, hi = img->nscram, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (mi_scram_cmp(&img->scram[mid], user, len, mech) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < img->nscram &&
	    mi_scram_cmp(&img->scram[lo], user, len, mech) == 0;
	return lo;
}

const struct mi_scram *
meta_image_scram(const struct meta_image *img, const char *user, size_t len,
    int8_t mechanism)
{
	bool found;
	size_t i = mi_scram_pos(img, user, len, mechanism, &found);

	return found ? &img->scram[i] : NULL;
}

void
meta_image_scram_put(struct meta_image *img, const struct mi_scram *c)
{
	bool found;
	size_t i = mi_scram_pos(img, c->user, strlen(c->user), c->mechanism,
	    &found);

	if (found)
		mi_scram_clear(&img->scram[i]);
	else {
		img->scram = xreallocarray(img->scram, img->nscram + 1,
		    sizeof(*img->scram));
		memmove(&img->scram[i + 1], &img->scram[i],
		    (img->nscram - i) * sizeof(*img->scram));
		img->nscram++;
	}
	img->scram[i] = *c;
	img->scram[i].user = xstrdup(c->user);
	img->scram[i].salt = xmalloc(c->salt_len + 1);
	if (c->salt_len > 0)
		memcpy(img->scram[i].salt, c->salt, c->salt_len);
}

/* A record with keys of the wrong size for its mechanism is ignored. */
static void
mi_scram_add(struct meta_image *img,
    const struct kp_user_scram_credential_record *r)
{
	struct mi_scram c = { 0 };
	size_t kl = mi_scram_key_len(r->mechanism);
	char *user = mi_str(r->name);

	if (user == NULL || kl == 0 || r->stored_key.len != (int32_t)kl ||
	    r->server_key.len != (int32_t)kl || r->salt.len < 0) {
		free(user);
		return;
	}
	c.user = user;
	c.mechanism = r->mechanism;
	c.iterations = r->iterations;
	c.salt = (uint8_t *)(uintptr_t)r->salt.p;
	c.salt_len = (size_t)r->salt.len;
	memcpy(c.stored_key, r->stored_key.p, kl);
	memcpy(c.server_key, r->server_key.p, kl);
	c.key_len = kl;
	meta_image_scram_put(img, &c);
	free(user);
}

static void
mi_scram_remove(struct meta_image *img,
    const struct kp_remove_user_scram_credential_record *r)
{
	bool found;
	size_t i;

	if (r->name.len < 0)
		return;
	i = mi_scram_pos(img, r->name.p, (size_t)r->name.len, r->mechanism,
	    &found);
	if (!found)
		return;
	mi_scram_clear(&img->scram[i]);
	memmove(&img->scram[i], &img->scram[i + 1],
	    (img->nscram - i - 1) * sizeof(*img->scram));
	img->nscram--;
}

static void
mi_apply_one(struct meta_image *img, int16_t type, const void *rec)
{
	switch (type) {
	case MI_REC_REGISTER_BROKER:
		mi_register_broker(img, rec);
		break;
	case MI_REC_UNREGISTER_BROKER:
		mi_unregister_broker(img,
		    ((const struct kp_unregister_broker_record *)rec)->broker_id);
		break;
	case MI_REC_TOPIC:
		mi_add_topic(img, rec);
		break;
	case MI_REC_PARTITION:
		mi_partition_record(img, rec);
		break;
	case MI_REC_CONFIG:
		mi_config(img, rec);
		break;
	case MI_REC_PARTITION_CHANGE:
		mi_partition_change(img, rec);
		break;
	case MI_REC_FENCE_BROKER: {
		const struct kp_fence_broker_record *f = rec;

		mi_set_fenced(img, f->id, f->epoch, 1, 0);
		break;
	}
	case MI_REC_UNFENCE_BROKER: {
		const struct kp_unfence_broker_record *u = rec;

		mi_set_fenced(img, u->id, u->epoch, -1, 0);
		break;
	}
	case MI_REC_BROKER_REG_CHANGE: {
		const struct kp_broker_registration_change_record *c = rec;

		mi_set_fenced(img, c->broker_id, c->broker_epoch, c->fenced,
		    c->in_controlled_shutdown);
		break;
	}
	case MI_REC_REMOVE_TOPIC:
		mi_remove_topic(img,
		    &((const struct kp_remove_topic_record *)rec)->topic_id);
		break;
	case MI_REC_ACL:
		mi_acl_add(img, rec);
		break;
	case MI_REC_REMOVE_ACL:
		mi_acl_remove(img,
		    &((const struct kp_remove_access_control_entry_record *)
		    rec)->id);
		break;
	case MI_REC_SCRAM:
		mi_scram_add(img, rec);
		break;
	case MI_REC_REMOVE_SCRAM:
		mi_scram_remove(img, rec);
		break;
	case MI_REC_PRODUCER_IDS: {
		const struct kp_producer_ids_record *p = rec;

		if (p->next_producer_id > img->next_producer_id)
			img->next_producer_id = p->next_producer_id;
		break;
	}
	case MI_REC_FEATURE_LEVEL: {
		const struct kp_feature_level_record *f = rec;

		if (f->name.len == 16 &&
		    memcmp(f->name.p, "metadata.version", 16) == 0)
			img->metadata_version = f->feature_level;
		break;
	}
	default:
		break;
	}
}

int
meta_image_apply(struct meta_image *img, const uint8_t *p, size_t len)
{
	struct rd r;
	uint32_t frame, type, ver;
	size_t i;
	int rc;

	rd_init(&r, p, len);
	while (rd_left(&r) > 0) {
		struct kp_arena a = { 0 };
		const struct mi_rec_type *t = NULL;
		union {
			max_align_t	align;
			uint8_t		b[512];
		} obj;

		if (rd_uvarint(&r, &frame) != 0 || rd_uvarint(&r, &type) != 0 ||
		    rd_uvarint(&r, &ver) != 0 || frame != 0)
			return MO_EMALFORMED;
		for (i = 0; i < sizeof(mi_types) / sizeof(mi_types[0]); i++)
			if (mi_types[i].type == (int16_t)type)
				t = &mi_types[i];
		/* An unknown record cannot be skipped: no length. */
		if (t == NULL || ver > (uint32_t)t->vmax ||
		    t->desc->size > sizeof(obj.b))
			return MO_EMALFORMED;
		rc = kp_decode(&r, t->desc, (int16_t)ver, true, obj.b, &a);
		if (rc == 0)
			mi_apply_one(img, t->type, obj.b);
		kp_arena_clear(&a);
		if (rc != 0)
			return MO_EMALFORMED;
	}
	return 0;
}

int
meta_record_put(struct wbuf *w, int16_t type, int16_t version,
    const struct kp_struct *desc, const void *rec)
{
	wbuf_put_uvarint(w, 0);
	wbuf_put_uvarint(w, (uint32_t)type);
	wbuf_put_uvarint(w, (uint32_t)version);
	return kp_encode(w, desc, version, true, rec) != 0 ? -1 :
	    (w->err != 0 ? -1 : 0);
}

/* ---- comparing ---- */

static bool
mi_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
mi_ints_eq(const struct mi_ints *a, const struct mi_ints *b)
{
	return a->n == b->n &&
	    (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

bool
meta_image_equal(const struct meta_image *a, const struct meta_image *b)
{
	size_t i, j;

	if (a->nbrokers != b->nbrokers || a->ntopics != b->ntopics ||
	    a->nconfigs != b->nconfigs || a->nacls != b->nacls ||
	    a->nscram != b->nscram ||
	    a->next_producer_id != b->next_producer_id ||
	    a->metadata_version != b->metadata_version)
		return false;
	for (i = 0; i < a->nbrokers; i++) {
		const struct mi_broker *x = &a->brokers[i], *y = &b->brokers[i];

		if (x->id != y->id || x->epoch != y->epoch ||
		    memcmp(x->incarnation.b, y->incarnation.b, 16) != 0 ||
		    x->fenced != y->fenced || x->shutdown != y->shutdown ||
		    !mi_streq(x->rack, y->rack) || x->neps != y->neps)
			return false;
		for (j = 0; j < x->neps; j++)
			if (!mi_streq(x->eps[j].name, y->eps[j].name) ||
			    !mi_streq(x->eps[j].host, y->eps[j].host) ||
			    x->eps[j].port != y->eps[j].port ||
			    x->eps[j].protocol != y->eps[j].protocol)
				return false;
	}
	for (i = 0; i < a->ntopics; i++) {
		const struct mi_topic *x = &a->topics[i], *y = &b->topics[i];

		if (strcmp(x->name, y->name) != 0 ||
		    memcmp(x->id.b, y->id.b, 16) != 0 || x->nparts != y->nparts)
			return false;
		for (j = 0; j < x->nparts; j++) {
			const struct mi_partition *p = &x->parts[j],
			    *q = &y->parts[j];

			if (p->id != q->id || p->leader != q->leader ||
			    p->leader_epoch != q->leader_epoch ||
			    p->partition_epoch != q->partition_epoch ||
			    !mi_ints_eq(&p->replicas, &q->replicas) ||
			    !mi_ints_eq(&p->isr, &q->isr))
				return false;
		}
	}
	for (i = 0; i < a->nconfigs; i++)
		if (a->configs[i].type != b->configs[i].type ||
		    strcmp(a->configs[i].resource, b->configs[i].resource) ||
		    strcmp(a->configs[i].name, b->configs[i].name) ||
		    strcmp(a->configs[i].value, b->configs[i].value))
			return false;
	for (i = 0; i < a->nacls; i++) {
		const struct mi_acl *x = &a->acls[i], *y = &b->acls[i];

		if (memcmp(x->id.b, y->id.b, 16) != 0 ||
		    x->resource_type != y->resource_type ||
		    x->pattern != y->pattern || x->operation != y->operation ||
		    x->permission != y->permission ||
		    strcmp(x->resource, y->resource) != 0 ||
		    strcmp(x->principal, y->principal) != 0 ||
		    strcmp(x->host, y->host) != 0)
			return false;
	}
	for (i = 0; i < a->nscram; i++) {
		const struct mi_scram *x = &a->scram[i], *y = &b->scram[i];

		if (strcmp(x->user, y->user) != 0 ||
		    x->mechanism != y->mechanism ||
		    x->iterations != y->iterations ||
		    x->salt_len != y->salt_len || x->key_len != y->key_len ||
		    memcmp(x->salt, y->salt, x->salt_len) != 0 ||
		    memcmp(x->stored_key, y->stored_key, x->key_len) != 0 ||
		    memcmp(x->server_key, y->server_key, x->key_len) != 0)
			return false;
	}
	return true;
}

static void
fnv(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0) {
		*h ^= *b++;
		*h *= 0x100000001b3ULL;
	}
}

static void
fnv_str(uint64_t *h, const char *s)
{
	fnv(h, s != NULL ? s : "\377", s != NULL ? strlen(s) + 1 : 1);
}

static void
fnv_i64(uint64_t *h, int64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (8 * i));
	fnv(h, b, 8);
}

uint64_t
meta_image_digest(const struct meta_image *img)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, j, k;

	for (i = 0; i < img->nbrokers; i++) {
		const struct mi_broker *b = &img->brokers[i];

		fnv_i64(&h, b->id);
		fnv_i64(&h, b->epoch);
		fnv(&h, b->incarnation.b, 16);
		fnv_i64(&h, (b->fenced ? 1 : 0) | (b->shutdown ? 2 : 0));
		fnv_str(&h, b->rack);
		for (j = 0; j < b->neps; j++) {
			fnv_str(&h, b->eps[j].name);
			fnv_str(&h, b->eps[j].host);
			fnv_i64(&h, b->eps[j].port);
			fnv_i64(&h, b->eps[j].protocol);
		}
	}
	for (i = 0; i < img->ntopics; i++) {
		const struct mi_topic *t = &img->topics[i];

		fnv_str(&h, t->name);
		fnv(&h, t->id.b, 16);
		for (j = 0; j < t->nparts; j++) {
			const struct mi_partition *p = &t->parts[j];

			fnv_i64(&h, p->id);
			fnv_i64(&h, p->leader);
			fnv_i64(&h, p->leader_epoch);
			fnv_i64(&h, p->partition_epoch);
			for (k = 0; k < p->replicas.n; k++)
				fnv_i64(&h, p->replicas.v[k]);
			fnv_i64(&h, -1);
			for (k = 0; k < p->isr.n; k++)
				fnv_i64(&h, p->isr.v[k]);
			fnv_i64(&h, -1);
		}
	}
	for (i = 0; i < img->nconfigs; i++) {
		fnv_i64(&h, img->configs[i].type);
		fnv_str(&h, img->configs[i].resource);
		fnv_str(&h, img->configs[i].name);
		fnv_str(&h, img->configs[i].value);
	}
	/* Only when there are ACLs: digests of images without stay as they
	   were before ACLs existed (older snapshots still check). */
	for (i = 0; i < img->nacls; i++) {
		const struct mi_acl *a = &img->acls[i];

		fnv(&h, a->id.b, 16);
		fnv_i64(&h, a->resource_type);
		fnv_str(&h, a->resource);
		fnv_i64(&h, a->pattern);
		fnv_str(&h, a->principal);
		fnv_str(&h, a->host);
		fnv_i64(&h, a->operation);
		fnv_i64(&h, a->permission);
	}
	/* Likewise only when there are SCRAM credentials. */
	for (i = 0; i < img->nscram; i++) {
		const struct mi_scram *c = &img->scram[i];

		fnv_str(&h, c->user);
		fnv_i64(&h, c->mechanism);
		fnv_i64(&h, c->iterations);
		fnv_i64(&h, (int64_t)c->salt_len);
		fnv(&h, c->salt, c->salt_len);
		fnv(&h, c->stored_key, c->key_len);
		fnv(&h, c->server_key, c->key_len);
	}
	fnv_i64(&h, img->next_producer_id);
	fnv_i64(&h, img->metadata_version);
	return h;
}
