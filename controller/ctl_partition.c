/*
 * Partition placement and leadership decisions (see ctl_partition.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kerr.h"
#include "kproto_gen.h"
#include "xmalloc.h"
#include "ctl_partition.h"

#define CP_CFG_TOPIC	2
#define CP_CFG_BROKER	4

/* ---- placement ---- */

static int
cp_rackcmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b ? 0 : (a == NULL ? -1 : 1);
	return strcmp(a, b);
}

/* Brokers interleaved by rack (racks sorted, brokers by id within each),
   as Kafka's getRackAlternatedBrokerList; the number of racks. */
static size_t
cp_arrange(const struct cp_broker *b, size_t nb, struct cp_broker *out)
{
	const char **racks = xcalloc(nb + 1, sizeof(*racks));
	size_t *next = xcalloc(nb + 1, sizeof(*next));
	size_t nr = 0, i, j, n = 0, r;

	for (i = 0; i < nb; i++) {
		for (j = 0; j < nr && cp_rackcmp(racks[j], b[i].rack) != 0; j++)
			;
		if (j == nr)
			racks[nr++] = b[i].rack;
	}
	/* Sort the racks (few: insertion sort). */
	for (i = 1; i < nr; i++)
		for (j = i; j > 0 && cp_rackcmp(racks[j - 1], racks[j]) > 0;
		    j--) {
			const char *t = racks[j];

			racks[j] = racks[j - 1];
			racks[j - 1] = t;
		}
	/* next[r]: the position in b to look from for rack r. */
	for (r = 0; n < nb; r = (r + 1) % nr) {
		for (i = next[r]; i < nb &&
		    cp_rackcmp(b[i].rack, racks[r]) != 0; i++)
			;
		next[r] = i < nb ? i + 1 : nb;
		if (i < nb)
			out[n++] = b[i];
	}
	free(racks);
	free(next);
	return nr;
}

static size_t
cp_replica_index(size_t first, size_t shift, size_t j, size_t n)
{
	return (first + 1 + (shift + j) % (n - 1)) % n;
}

int
cp_assign(const struct cp_broker *b, size_t nb, int32_t nparts, int32_t rf,
    int32_t first, size_t start, size_t shift, int32_t *out)
{
	struct cp_broker *arr;
	const char *rused[CP_MAX_RF];
	size_t nr = 1, fi, cur, k, i, nused;
	int32_t p, j, m;
	bool racks = false;

	if (rf <= 0 || rf > CP_MAX_RF || nb == 0 || (size_t)rf > nb ||
	    nparts < 0)
		return -1;
	for (i = 0; i < nb; i++)
		if (b[i].rack != NULL)
			racks = true;
	arr = xcalloc(nb, sizeof(*arr));
	if (racks)
		nr = cp_arrange(b, nb, arr);
	else
		memcpy(arr, b, nb * sizeof(*arr));
	start %= nb;
	shift %= nb;
	for (p = 0; p < nparts; p++) {
		int32_t *reps = &out[(size_t)p * (size_t)rf];

		cur = (size_t)(first > 0 ? first : 0) + (size_t)p;
		if (cur > 0 && cur % nb == 0)
			shift++;
		fi = (cur + start) % nb;
		reps[0] = arr[fi].id;
		if (!racks) {
			for (j = 0; j < rf - 1; j++)
				reps[j + 1] = arr[cp_replica_index(fi, shift,
				    (size_t)j, nb)].id;
			continue;
		}
		/* Rack-aware: a new rack while there is one, a new broker. */
		rused[0] = arr[fi].rack;
		nused = 1;
		for (j = 1, k = 0; j < rf; k++) {
			const struct cp_broker *c = &arr[cp_replica_index(fi,
			    shift * nr, k, nb)];
			bool rack_used = false, used = false;

			for (m = 0; m < j; m++)
				if (reps[m] == c->id)
					used = true;
			for (i = 0; i < nused; i++)
				if (cp_rackcmp(rused[i], c->rack) == 0)
					rack_used = true;
			if (!used && (!rack_used || nused == nr)) {
				reps[j++] = c->id;
				if (!rack_used)
					rused[nused++] = c->rack;
			}
			if (k > ((size_t)rf + 1) * nb) {
				free(arr);
				return -1;	/* cannot happen */
			}
		}
	}
	free(arr);
	return 0;
}

/* ---- partition changes ---- */

bool
cp_active(const struct cp_view *v, int32_t id)
{
	const struct mi_broker *b;

	if (id < 0 || id == v->gone)
		return false;
	if ((b = meta_image_broker(v->img, id)) == NULL)
		return false;
	if (id == v->back)
		return true;
	return !b->fenced && !b->shutdown;
}

bool
cp_ints_has(const struct mi_ints *l, int32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

static bool
cp_list_has(const struct cp_list *l, int32_t id)
{
	int32_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

static void
cp_list_add(struct cp_list *l, int32_t id)
{
	if (l->n < 0)
		l->n = 0;
	if (l->n < CP_MAX_RF)
		l->v[l->n++] = id;
}

static void
cp_list_from(struct cp_list *l, const struct mi_ints *m)
{
	size_t i;

	l->n = 0;
	for (i = 0; i < m->n && i < CP_MAX_RF; i++)
		l->v[l->n++] = m->v[i];
}

static bool
cp_list_eq_ints(const struct cp_list *l, const struct mi_ints *m)
{
	return l->n >= 0 && (size_t)l->n == m->n && (m->n == 0 ||
	    memcmp(l->v, m->v, m->n * sizeof(*m->v)) == 0);
}

void
cp_change_init(struct cp_change *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->leader = CP_LEADER_SAME;
	ch->recovery = -1;
	ch->isr.n = ch->replicas.n = ch->adding.n = ch->removing.n = -1;
}

bool
cp_change_empty(const struct cp_change *ch)
{
	return ch->leader == CP_LEADER_SAME && ch->recovery < 0 &&
	    ch->isr.n < 0 && ch->replicas.n < 0 && ch->adding.n < 0 &&
	    ch->removing.n < 0;
}

int
cp_change_put(struct wbuf *w, const struct kuuid *topic, int32_t part,
    const struct cp_change *ch)
{
	struct kp_partition_change_record r;
	struct cp_change c = *ch;

	kp_init(&kp_partition_change_record_desc, &r);
	r.partition_id = part;
	r.topic_id = *topic;
	if (c.isr.n >= 0) {
		r.isr.v = c.isr.v;
		r.isr.n = c.isr.n;
	}
	if (c.replicas.n >= 0) {
		r.replicas.v = c.replicas.v;
		r.replicas.n = c.replicas.n;
	}
	if (c.adding.n >= 0) {
		r.adding_replicas.v = c.adding.v;
		r.adding_replicas.n = c.adding.n;
	}
	if (c.removing.n >= 0) {
		r.removing_replicas.v = c.removing.v;
		r.removing_replicas.n = c.removing.n;
	}
	r.leader = c.leader;
	r.leader_recovery_state = c.recovery;
	return meta_record_put(w, MI_REC_PARTITION_CHANGE, 0,
	    &kp_partition_change_record_desc, &r);
}

void
cp_change_result(const struct mi_partition *p, const struct cp_change *ch,
    struct mi_partition *out)
{
	*out = *p;
	if (ch->isr.n >= 0) {
		out->isr.v = (int32_t *)(uintptr_t)ch->isr.v;
		out->isr.n = (size_t)ch->isr.n;
	}
	if (ch->replicas.n >= 0) {
		out->replicas.v = (int32_t *)(uintptr_t)ch->replicas.v;
		out->replicas.n = (size_t)ch->replicas.n;
	}
	if (ch->leader != CP_LEADER_SAME) {
		out->leader = ch->leader;
		out->leader_epoch++;
	}
	if (ch->recovery >= 0)
		out->recovery = ch->recovery;
	out->partition_epoch++;
}

/*
 * The leader for p with ISR isr: the first replica in the ISR that is
 * active; with unclean, else the first active replica, which becomes the
 * ISR alone (*recovering set).  -1 when none.
 */
static int32_t
cp_pick(const struct cp_view *v, const struct mi_partition *p,
    const struct cp_list *isr, bool unclean, bool *recovering)
{
	size_t i;

	*recovering = false;
	for (i = 0; i < p->replicas.n; i++)
		if (cp_list_has(isr, p->replicas.v[i]) &&
		    cp_active(v, p->replicas.v[i]))
			return p->replicas.v[i];
	if (!unclean)
		return CP_NO_LEADER;
	for (i = 0; i < p->replicas.n; i++)
		if (cp_active(v, p->replicas.v[i]) &&
		    !cp_ints_has(&p->removing, p->replicas.v[i])) {
			*recovering = true;
			return p->replicas.v[i];
		}
	return CP_NO_LEADER;
}

/* Set ch's leader from isr (a new list or p's); false if it stays. */
static bool
cp_reelect(const struct cp_view *v, const struct mi_partition *p,
    const struct cp_list *isr, bool unclean, struct cp_change *ch)
{
	bool rec;
	int32_t l = cp_pick(v, p, isr, unclean, &rec);

	if (l == p->leader && !rec)
		return false;
	if (l == CP_NO_LEADER && p->leader == CP_NO_LEADER)
		return false;
	ch->leader = l;
	if (rec) {
		ch->isr.n = 0;
		cp_list_add(&ch->isr, l);
		ch->recovery = 1;
	}
	return true;
}

bool
cp_remove_broker(const struct cp_view *v, const struct mi_partition *p,
    int32_t id, bool unclean, struct cp_change *ch)
{
	struct cp_list isr;
	size_t i;
	bool changed = false;

	cp_change_init(ch);
	if (!cp_ints_has(&p->isr, id) && p->leader != id)
		return false;
	isr.n = 0;
	for (i = 0; i < p->isr.n; i++)
		if (p->isr.v[i] != id)
			cp_list_add(&isr, p->isr.v[i]);
	/* The last ISR member stays. */
	if (isr.n == 0)
		cp_list_from(&isr, &p->isr);
	if (!cp_list_eq_ints(&isr, &p->isr)) {
		ch->isr = isr;
		changed = true;
	}
	if (p->leader == id || (p->leader != CP_NO_LEADER &&
	    !cp_active(v, p->leader)))
		if (cp_reelect(v, p, &isr, unclean, ch))
			changed = true;
	return changed;
}

bool
cp_elect(const struct cp_view *v, const struct mi_partition *p, bool unclean,
    struct cp_change *ch)
{
	struct cp_list isr;

	cp_change_init(ch);
	if (p->leader != CP_NO_LEADER && cp_active(v, p->leader))
		return false;
	cp_list_from(&isr, &p->isr);
	return cp_reelect(v, p, &isr, unclean, ch);
}

int16_t
cp_elect_preferred(const struct cp_view *v, const struct mi_partition *p,
    struct cp_change *ch)
{
	int32_t pref;

	cp_change_init(ch);
	if (p->replicas.n == 0)
		return KERR_PREFERRED_LEADER_NOT_AVAILABLE;
	pref = p->replicas.v[0];
	if (p->leader == pref)
		return KERR_ELECTION_NOT_NEEDED;
	if (!cp_ints_has(&p->isr, pref) || !cp_active(v, pref))
		return KERR_PREFERRED_LEADER_NOT_AVAILABLE;
	ch->leader = pref;
	return 0;
}

int16_t
cp_elect_unclean(const struct cp_view *v, const struct mi_partition *p,
    struct cp_change *ch)
{
	struct cp_list isr;

	cp_change_init(ch);
	if (p->leader != CP_NO_LEADER && cp_active(v, p->leader))
		return KERR_ELECTION_NOT_NEEDED;
	cp_list_from(&isr, &p->isr);
	if (!cp_reelect(v, p, &isr, true, ch) || ch->leader == CP_NO_LEADER) {
		cp_change_init(ch);
		return KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
	}
	return 0;
}

/* Complete a reassignment whose adding replicas are all in isr: the
   replicas become the target, the ISR keeps only target replicas, and a
   leader being removed hands over. */
static void
cp_complete(const struct cp_view *v, const struct mi_partition *p,
    const struct cp_list *isr, struct cp_change *ch)
{
	struct cp_list target, nisr;
	struct mi_partition q;
	bool rec;
	int32_t i, l;
	size_t k;

	target.n = 0;
	for (k = 0; k < p->replicas.n; k++)
		if (!cp_ints_has(&p->removing, p->replicas.v[k]))
			cp_list_add(&target, p->replicas.v[k]);
	nisr.n = 0;
	for (i = 0; i < isr->n; i++)
		if (cp_list_has(&target, isr->v[i]))
			cp_list_add(&nisr, isr->v[i]);
	if (target.n == 0 || nisr.n == 0)
		return;
	ch->replicas = target;
	ch->isr = nisr;
	ch->adding.n = 0;
	ch->removing.n = 0;
	if (cp_list_has(&target, p->leader))
		return;
	q = *p;
	q.replicas.v = target.v;
	q.replicas.n = (size_t)target.n;
	l = cp_pick(v, &q, &nisr, false, &rec);
	ch->leader = l;
}

int16_t
cp_alter_isr(const struct cp_view *v, const struct mi_partition *p,
    int32_t broker, int32_t leader_epoch, int32_t partition_epoch,
    const int32_t *isr, const int64_t *epochs, int32_t nisr, int8_t recovery,
    int16_t version, struct cp_change *ch)
{
	struct cp_list l;
	int32_t i, j;
	bool done;
	size_t k;

	cp_change_init(ch);
	if (leader_epoch != p->leader_epoch)
		return KERR_FENCED_LEADER_EPOCH;
	if (broker != p->leader)
		return KERR_INVALID_REQUEST;
	if (recovery == 1 && nisr > 1)
		return KERR_INVALID_REQUEST;
	if (recovery == 1 && p->recovery == 0)
		return KERR_INVALID_REQUEST;
	if (partition_epoch != p->partition_epoch)
		return KERR_INVALID_UPDATE_VERSION;
	if (nisr <= 0 || nisr > CP_MAX_RF)
		return KERR_INVALID_REQUEST;
	l.n = 0;
	for (i = 0; i < nisr; i++) {
		for (j = 0; j < i; j++)
			if (isr[j] == isr[i])
				return KERR_INVALID_REQUEST;
		if (!cp_ints_has(&p->replicas, isr[i]))
			return KERR_INVALID_REQUEST;
		cp_list_add(&l, isr[i]);
	}
	if (!cp_list_has(&l, p->leader))
		return KERR_INVALID_REQUEST;
	for (i = 0; i < nisr; i++) {
		const struct mi_broker *b = meta_image_broker(v->img, isr[i]);

		if (b == NULL || !cp_active(v, isr[i]) ||
		    (epochs != NULL && epochs[i] >= 0 &&
		    epochs[i] != b->epoch))
			return version >= 1 ? KERR_INELIGIBLE_REPLICA :
			    KERR_OPERATION_NOT_ATTEMPTED;
	}
	if (!cp_list_eq_ints(&l, &p->isr))
		ch->isr = l;
	if (recovery == 0 && p->recovery == 1)
		ch->recovery = 0;
	if (p->adding.n > 0) {
		done = true;
		for (k = 0; k < p->adding.n; k++)
			if (!cp_list_has(&l, p->adding.v[k]))
				done = false;
		if (done)
			cp_complete(v, p, &l, ch);
	}
	return 0;
}

int16_t
cp_reassign(const struct cp_view *v, const struct mi_partition *p,
    const int32_t *target, int32_t n, struct cp_change *ch)
{
	struct cp_list base, tgt, add, rem, merged, isr;
	struct mi_partition q;
	int32_t i, j;
	size_t k;

	cp_change_init(ch);
	base.n = 0;
	for (k = 0; k < p->replicas.n; k++)
		if (!cp_ints_has(&p->adding, p->replicas.v[k]))
			cp_list_add(&base, p->replicas.v[k]);
	if (target == NULL) {
		if (p->adding.n == 0 && p->removing.n == 0)
			return KERR_NO_REASSIGNMENT_IN_PROGRESS;
		tgt = base;
	} else {
		if (n <= 0 || n > CP_MAX_RF)
			return KERR_INVALID_REPLICA_ASSIGNMENT;
		tgt.n = 0;
		for (i = 0; i < n; i++) {
			for (j = 0; j < i; j++)
				if (target[j] == target[i])
					return KERR_INVALID_REPLICA_ASSIGNMENT;
			if (meta_image_broker(v->img, target[i]) == NULL)
				return KERR_INVALID_REPLICA_ASSIGNMENT;
			cp_list_add(&tgt, target[i]);
		}
	}
	add.n = rem.n = 0;
	for (i = 0; i < tgt.n; i++)
		if (!cp_list_has(&base, tgt.v[i]))
			cp_list_add(&add, tgt.v[i]);
	for (i = 0; i < base.n; i++)
		if (!cp_list_has(&tgt, base.v[i]))
			cp_list_add(&rem, base.v[i]);
	isr.n = 0;
	for (k = 0; k < p->isr.n; k++)
		if (cp_list_has(&tgt, p->isr.v[k]))
			cp_list_add(&isr, p->isr.v[k]);
	if (add.n == 0 && isr.n > 0) {
		/* Nothing to copy: done at once. */
		if (cp_list_eq_ints(&tgt, &p->replicas) &&
		    p->adding.n == 0 && p->removing.n == 0)
			return 0;
		ch->replicas = tgt;
		if (!cp_list_eq_ints(&isr, &p->isr))
			ch->isr = isr;
		if (p->adding.n > 0)
			ch->adding.n = 0;
		if (p->removing.n > 0)
			ch->removing.n = 0;
		if (!cp_list_has(&tgt, p->leader)) {
			bool rec;

			q = *p;
			q.replicas.v = tgt.v;
			q.replicas.n = (size_t)tgt.n;
			ch->leader = cp_pick(v, &q, &isr, false, &rec);
		}
		return 0;
	}
	merged = tgt;
	for (i = 0; i < rem.n; i++)
		cp_list_add(&merged, rem.v[i]);
	if (merged.n > CP_MAX_RF)
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	ch->replicas = merged;
	ch->adding = add;
	ch->removing = rem;
	return 0;
}

/* ---- configs ---- */

static const char *
cp_config(const struct meta_image *img, int8_t type, const char *res,
    const char *name)
{
	size_t i;

	for (i = 0; i < img->nconfigs; i++) {
		const struct mi_config *c = &img->configs[i];

		if (c->type == type && strcmp(c->resource, res) == 0 &&
		    strcmp(c->name, name) == 0)
			return c->value;
	}
	return NULL;
}

static const char *
cp_config_find(const struct meta_image *img, const char *topic,
    const char *name)
{
	const char *v = NULL;

	if (topic != NULL)
		v = cp_config(img, CP_CFG_TOPIC, topic, name);
	if (v == NULL)
		v = cp_config(img, CP_CFG_BROKER, "", name);
	return v;
}

bool
cp_config_bool(const struct meta_image *img, const char *topic,
    const char *name, bool def)
{
	const char *v = cp_config_find(img, topic, name);

	if (v == NULL)
		return def;
	if (strcasecmp(v, "true") == 0)
		return true;
	if (strcasecmp(v, "false") == 0)
		return false;
	return def;
}

int64_t
cp_config_int(const struct meta_image *img, const char *topic,
    const char *name, int64_t def)
{
	const char *v = cp_config_find(img, topic, name);
	char *end;
	long long x;

	if (v == NULL || *v == '\0')
		return def;
	x = strtoll(v, &end, 10);
	return *end == '\0' ? (int64_t)x : def;
}
