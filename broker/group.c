/*
 * Classic group membership: JoinGroup / SyncGroup rounds, heartbeats,
 * session and rebalance timeouts, and the states Kafka uses
 * (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead).
 */
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "xmalloc.h"

typedef struct kp_join_group_request join_req_t;
typedef struct kp_sync_group_request sync_req_t;

static void group_prepare_rebalance(struct group *, const char *);
static void group_maybe_complete_join(struct group *);

const char *
group_state_name(enum group_state s)
{
	switch (s) {
	case GROUP_EMPTY:
		return "Empty";
	case GROUP_PREPARING_REBALANCE:
		return "PreparingRebalance";
	case GROUP_COMPLETING_REBALANCE:
		return "CompletingRebalance";
	case GROUP_STABLE:
		return "Stable";
	case GROUP_DEAD:
		return "Dead";
	}
	return "Unknown";
}

/* k holds the C string s (both null counts). */
static bool
kstr_is(const struct kstr *k, const char *s)
{
	if (k->len < 0 || s == NULL)
		return k->len < 0 && s == NULL;
	return strlen(s) == (size_t)k->len && memcmp(s, k->p, k->len) == 0;
}

static char *
kstr_dup_or_null(const struct kstr *k)
{
	return k->len < 0 ? NULL : xstrndup(k->p, (size_t)k->len);
}

static struct kstr
kstr_from(const char *s)
{
	struct kstr k = { s, s == NULL ? -1 : (int32_t)strlen(s) };

	return k;
}

static struct gmember *
member_find(struct group *g, const struct kstr *id)
{
	struct gmember *m;

	TAILQ_FOREACH(m, &g->members, entry)
		if (kstr_is(id, m->id))
			return m;
	return NULL;
}

static void
member_free_protos(struct gmember *m)
{
	for (size_t i = 0; i < m->nprotos; i++) {
		free(m->protos[i].name);
		free(m->protos[i].meta);
	}
	free(m->protos);
	m->protos = NULL;
	m->nprotos = 0;
}

static void
member_remove(struct gmember *m)
{
	struct group *g = m->group;

	TAILQ_REMOVE(&g->members, m, entry);
	if (!m->pending)
		g->nmembers--;
	if (g->leader != NULL && strcmp(g->leader, m->id) == 0) {
		free(g->leader);
		g->leader = NULL;
	}
	if (m->session_timer != NULL)
		event_free(m->session_timer);
	member_free_protos(m);
	free(m->assignment);
	free(m->id);
	free(m->instance_id);
	free(m->client_id);
	free(m->client_host);
	free(m);
}

static void
member_session_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gmember *m = arg;
	struct group *g = m->group;
	bool pending = m->pending;

	(void)fd;
	(void)what;
	log_info("broker: group %s: member %s session expired", g->id, m->id);
	if (m->join_req != NULL || m->sync_req != NULL)
		return;		/* parked requests keep it alive */
	member_remove(m);
	if (pending)
		return;
	if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
		group_prepare_rebalance(g, "member session expired");
	else if (g->state == GROUP_PREPARING_REBALANCE)
		group_maybe_complete_join(g);
}

static void
member_touch(struct gmember *m)
{
	struct timeval tv;

	if (m->session_timer == NULL)
		m->session_timer = evtimer_new(m->group->groups->broker->base,
		    member_session_cb, m);
	tv.tv_sec = m->session_timeout / 1000;
	tv.tv_usec = (m->session_timeout % 1000) * 1000;
	evtimer_add(m->session_timer, &tv);
}

static struct gmember *
member_new(struct group *g, struct req *r, const join_req_t *jr)
{
	struct gmember *m = xcalloc(1, sizeof(*m));
	uint8_t rnd[16];
	char *id;
	struct kstr cid = r->hdr.client_id;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom");
	xasprintf(&id, "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", cid.len > 0 ? (int)cid.len : 0,
	    cid.len > 0 ? cid.p : "", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
	    rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11], rnd[12],
	    rnd[13], rnd[14], rnd[15]);
	m->group = g;
	m->id = id;
	m->instance_id = kstr_dup_or_null(&jr->group_instance_id);
	m->client_id = cid.len >= 0 ? xstrndup(cid.p, (size_t)cid.len) :
	    xstrdup("");
	m->client_host = xstrdup(req_peer_host(r));
	m->session_timeout = jr->session_timeout_ms;
	m->rebalance_timeout = jr->rebalance_timeout_ms > 0 ?
	    jr->rebalance_timeout_ms : jr->session_timeout_ms;
	TAILQ_INSERT_TAIL(&g->members, m, entry);
	return m;
}

static void
member_set_protocols(struct gmember *m, const join_req_t *jr)
{
	member_free_protos(m);
	m->nprotos = (size_t)(jr->protocols.n > 0 ? jr->protocols.n : 0);
	m->protos = xcalloc(m->nprotos ? m->nprotos : 1, sizeof(*m->protos));
	for (size_t i = 0; i < m->nprotos; i++) {
		const struct kp_join_group_request_join_group_request_protocol
		    *p = &jr->protocols.v[i];
		m->protos[i].name = xstrndup(p->name.p, (size_t)p->name.len);
		m->protos[i].len = p->metadata.len > 0 ?
		    (size_t)p->metadata.len : 0;
		m->protos[i].meta = xmalloc(m->protos[i].len);
		if (m->protos[i].len > 0)
			memcpy(m->protos[i].meta, p->metadata.p,
			    m->protos[i].len);
	}
	m->session_timeout = jr->session_timeout_ms;
	m->rebalance_timeout = jr->rebalance_timeout_ms > 0 ?
	    jr->rebalance_timeout_ms : jr->session_timeout_ms;
}

static const struct gproto *
member_proto(const struct gmember *m, const char *name)
{
	for (size_t i = 0; i < m->nprotos; i++)
		if (strcmp(m->protos[i].name, name) == 0)
			return &m->protos[i];
	return NULL;
}

static void
join_respond(struct gmember *m, int16_t err)
{
	struct group *g = m->group;
	struct req *r = m->join_req;
	struct kp_join_group_response resp;
	bool leader = g->leader != NULL && strcmp(g->leader, m->id) == 0;

	m->join_req = NULL;
	r->waiting = false;
	r->cancel = NULL;
	kp_init(&kp_join_group_response_desc, &resp);
	resp.error_code = err;
	resp.member_id = kstr_from(m->id);
	if (err == KERR_NONE) {
		resp.generation_id = g->generation;
		resp.protocol_type = kstr_from(g->protocol_type);
		resp.protocol_name = kstr_from(g->protocol);
		resp.leader = kstr_from(g->leader);
	} else {
		resp.protocol_name = kstr_from(r->hdr.api_version >= 7 ?
		    NULL : "");
	}
	if (err == KERR_NONE && leader) {
		const struct kp_struct *d =
		    &kp_join_group_response_join_group_response_member_desc;
		struct kp_join_group_response_join_group_response_member *mv;
		struct gmember *o;
		size_t n = 0;

		mv = kp_arena_alloc(&r->arena, (g->nmembers + 1) * d->size);
		TAILQ_FOREACH(o, &g->members, entry) {
			const struct gproto *p;

			if (o->pending)
				continue;
			p = member_proto(o, g->protocol);
			kp_init(d, &mv[n]);
			mv[n].member_id = kstr_from(o->id);
			mv[n].group_instance_id = kstr_from(o->instance_id);
			mv[n].metadata.p = p != NULL ? p->meta : NULL;
			mv[n].metadata.len = p != NULL ? (int32_t)p->len : 0;
			n++;
		}
		resp.members.v = mv;
		resp.members.n = (int32_t)n;
	}
	req_respond(r, &kp_join_group_response_desc, &resp);
}

static void
sync_respond(struct gmember *m, struct req *r, int16_t err)
{
	struct group *g = m == NULL ? NULL : m->group;
	struct kp_sync_group_response resp;

	if (m != NULL && m->sync_req == r)
		m->sync_req = NULL;
	r->waiting = false;
	r->cancel = NULL;
	kp_init(&kp_sync_group_response_desc, &resp);
	resp.error_code = err;
	if (err == KERR_NONE && g != NULL) {
		resp.protocol_type = kstr_from(g->protocol_type);
		resp.protocol_name = kstr_from(g->protocol);
		resp.assignment.p = m->assignment;
		resp.assignment.len = (int32_t)m->alen;
	}
	req_respond(r, &kp_sync_group_response_desc, &resp);
}

static int32_t
group_rebalance_timeout(const struct group *g)
{
	const struct gmember *m;
	int32_t t = 0;

	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && m->rebalance_timeout > t)
			t = m->rebalance_timeout;
	return t > 0 ? t : 5000;
}

static void
group_join_timer_arm(struct group *g, int32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(g->join_timer, &tv);
}

static void
group_prepare_rebalance(struct group *g, const char *why)
{
	struct gmember *m;

	log_info("broker: group %s: preparing rebalance (generation %d): %s",
	    g->id, g->generation, why);
	if (g->state == GROUP_COMPLETING_REBALANCE) {
		TAILQ_FOREACH(m, &g->members, entry)
			if (m->sync_req != NULL)
				sync_respond(m, m->sync_req,
				    KERR_REBALANCE_IN_PROGRESS);
	}
	g->initial_delay = g->state == GROUP_EMPTY &&
	    g->groups->broker->cfg->group_initial_rebalance_delay_ms > 0;
	g->state = GROUP_PREPARING_REBALANCE;
	g->join_deadline = now_ms() + group_rebalance_timeout(g);
	group_join_timer_arm(g, g->initial_delay ?
	    g->groups->broker->cfg->group_initial_rebalance_delay_ms :
	    group_rebalance_timeout(g));
}

static bool
group_all_support(const struct group *g, const char *name)
{
	const struct gmember *m;

	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && member_proto(m, name) == NULL)
			return false;
	return true;
}

/* A member votes for its most preferred protocol that all support. */
static const char *
member_vote(const struct group *g, const struct gmember *m)
{
	for (size_t i = 0; i < m->nprotos; i++)
		if (group_all_support(g, m->protos[i].name))
			return m->protos[i].name;
	return NULL;
}

/* Most votes wins; ties go to the leader's order of preference. */
static const char *
group_select_protocol(const struct group *g, const struct gmember *leader)
{
	const char *best = NULL;
	size_t best_votes = 0;

	for (size_t i = 0; i < leader->nprotos; i++) {
		const char *name = leader->protos[i].name;
		const struct gmember *m;
		size_t votes = 0;

		if (!group_all_support(g, name))
			continue;
		TAILQ_FOREACH(m, &g->members, entry) {
			const char *v = m->pending ? NULL : member_vote(g, m);
			if (v != NULL && strcmp(v, name) == 0)
				votes++;
		}
		if (best == NULL || votes > best_votes) {
			best = name;
			best_votes = votes;
		}
	}
	return best;
}

static void
group_complete_join(struct group *g)
{
	struct gmember *m, *next;
	const struct gmember *first = NULL;
	const char *proto;

	evtimer_del(g->join_timer);
	for (m = TAILQ_FIRST(&g->members); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (!m->pending && m->join_req == NULL) {
			log_info("broker: group %s: member %s did not rejoin",
			    g->id, m->id);
			member_remove(m);
		}
	}
	g->generation++;
	if (g->nmembers == 0) {
		g->state = GROUP_EMPTY;
		g->empty_since = now_ms();
		free(g->protocol);
		g->protocol = NULL;
		group_store_metadata(g);
		return;
	}
	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && first == NULL)
			first = m;
	if (g->leader == NULL)
		g->leader = xstrdup(first->id);
	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && strcmp(m->id, g->leader) == 0)
			first = m;
	proto = group_select_protocol(g, first);
	free(g->protocol);
	g->protocol = xstrdup(proto != NULL ? proto : "");
	g->state = GROUP_COMPLETING_REBALANCE;
	log_info("broker: group %s: generation %d with %zu member(s), "
	    "protocol %s, leader %s", g->id, g->generation, g->nmembers,
	    g->protocol, g->leader);
	TAILQ_FOREACH(m, &g->members, entry) {
		if (m->pending)
			continue;
		join_respond(m, KERR_NONE);
		member_touch(m);
	}
}

static void
group_maybe_complete_join(struct group *g)
{
	struct gmember *m;

	if (g->state != GROUP_PREPARING_REBALANCE || g->initial_delay)
		return;
	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && m->join_req == NULL)
			return;
	group_complete_join(g);
}

static void
group_join_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group *g = arg;
	(void)fd;
	(void)what;
	if (g->state != GROUP_PREPARING_REBALANCE)
		return;
	if (g->initial_delay) {
		g->initial_delay = false;
		group_maybe_complete_join(g);
		if (g->state == GROUP_PREPARING_REBALANCE)
			group_join_timer_arm(g, group_rebalance_timeout(g));
		return;
	}
	group_complete_join(g);
}

void
group_unload(struct group *g)
{
	struct gmember *m;

	TAILQ_FOREACH(m, &g->members, entry) {
		if (m->join_req != NULL)
			join_respond(m, KERR_NOT_COORDINATOR);
		if (m->sync_req != NULL)
			sync_respond(m, m->sync_req, KERR_NOT_COORDINATOR);
	}
	TAILQ_REMOVE(&g->groups->list, g, entry);
	group_free(g);
}

void
group_req_cancel(struct req *r)
{
	struct group *g = r->cancel_arg;
	struct gmember *m;

	TAILQ_FOREACH(m, &g->members, entry) {
		if (m->join_req == r) {
			m->join_req = NULL;
			member_touch(m);
		}
		if (m->sync_req == r)
			m->sync_req = NULL;
	}
	r->waiting = false;
}

/*
 * A static member (group.instance.id) that comes back with no member id
 * takes over its old membership under a new member id.
 */
static struct gmember *
static_member_rejoin(struct group *g, struct req *r, const join_req_t *jr)
{
	struct gmember *m, *fresh;
	bool was_leader;

	TAILQ_FOREACH(m, &g->members, entry)
		if (!m->pending && kstr_is(&jr->group_instance_id,
		    m->instance_id))
			break;
	if (m == NULL)
		return NULL;
	if (m->join_req != NULL)
		join_respond(m, KERR_FENCED_INSTANCE_ID);
	if (m->sync_req != NULL)
		sync_respond(m, m->sync_req, KERR_FENCED_INSTANCE_ID);
	fresh = member_new(g, r, jr);
	log_info("broker: group %s: static member %s replaces %s", g->id,
	    fresh->id, m->id);
	was_leader = g->leader != NULL && strcmp(g->leader, m->id) == 0;
	/* move the new id into the old slot, keeping its assignment */
	TAILQ_REMOVE(&g->members, fresh, entry);
	free(m->id);
	m->id = fresh->id;
	fresh->id = NULL;
	free(fresh->instance_id);
	free(fresh->client_id);
	free(fresh->client_host);
	free(fresh);
	if (was_leader) {
		free(g->leader);
		g->leader = xstrdup(m->id);
	}
	return m;
}

static void
park(struct req *r, struct group *g)
{
	r->waiting = true;
	r->cancel = group_req_cancel;
	r->cancel_arg = g;
}

void
group_join(struct group *g, struct req *r)
{
	const join_req_t *jr = r->msg;
	struct gmember *m;
	int16_t err = KERR_NONE;
	struct kp_join_group_response resp;

	if (g->join_timer == NULL)
		g->join_timer = evtimer_new(g->groups->broker->base,
		    group_join_timer_cb, g);
	if (jr->session_timeout_ms <
	    g->groups->broker->cfg->group_min_session_timeout_ms ||
	    jr->session_timeout_ms >
	    g->groups->broker->cfg->group_max_session_timeout_ms)
		err = KERR_INVALID_SESSION_TIMEOUT;
	else if (g->state != GROUP_EMPTY && g->state != GROUP_DEAD &&
	    g->protocol_type != NULL &&
	    !kstr_is(&jr->protocol_type, g->protocol_type))
		err = KERR_INCONSISTENT_GROUP_PROTOCOL;
	else if (jr->protocols.n <= 0)
		err = KERR_INCONSISTENT_GROUP_PROTOCOL;
	if (err != KERR_NONE)
		goto fail;

	if (jr->member_id.len == 0 && jr->group_instance_id.len >= 0 &&
	    (m = static_member_rejoin(g, r, jr)) != NULL) {
		if (g->state == GROUP_STABLE) {
			/* KIP-345: a known static member gets its old
			 * assignment back without a rebalance. */
			member_set_protocols(m, jr);
			m->join_req = r;
			park(r, g);
			join_respond(m, KERR_NONE);
			member_touch(m);
			return;
		}
	} else if (jr->member_id.len == 0) {
		m = member_new(g, r, jr);
		if (r->hdr.api_version >= 4 && jr->group_instance_id.len < 0) {
			/* KIP-394: hand out the id, expect a rejoin. */
			m->pending = true;
			member_touch(m);
			kp_init(&kp_join_group_response_desc, &resp);
			resp.error_code = KERR_MEMBER_ID_REQUIRED;
			resp.member_id = kstr_from(m->id);
			resp.protocol_name = kstr_from(
			    r->hdr.api_version >= 7 ? NULL : "");
			req_respond(r, &kp_join_group_response_desc, &resp);
			return;
		}
		g->nmembers++;
	} else {
		m = member_find(g, &jr->member_id);
		if (m == NULL) {
			err = KERR_UNKNOWN_MEMBER_ID;
			goto fail;
		}
		if (m->pending) {
			m->pending = false;
			g->nmembers++;
		}
	}
	if (g->protocol_type == NULL || g->state == GROUP_EMPTY) {
		free(g->protocol_type);
		g->protocol_type = kstr_dup_or_null(&jr->protocol_type);
	}
	if (m->join_req != NULL)	/* a duplicate join replaces it */
		join_respond(m, KERR_UNKNOWN_MEMBER_ID);
	member_set_protocols(m, jr);
	if (m->session_timer != NULL)
		evtimer_del(m->session_timer);
	m->join_req = r;
	park(r, g);
	switch (g->state) {
	case GROUP_EMPTY:
	case GROUP_DEAD:
		g->state = GROUP_EMPTY;
		group_prepare_rebalance(g, "member joined empty group");
		break;
	case GROUP_STABLE:
	case GROUP_COMPLETING_REBALANCE:
		group_prepare_rebalance(g, "member joined");
		break;
	case GROUP_PREPARING_REBALANCE:
		break;
	}
	group_maybe_complete_join(g);
	return;
fail:
	kp_init(&kp_join_group_response_desc, &resp);
	resp.error_code = err;
	resp.member_id = jr->member_id;
	resp.protocol_name = kstr_from(r->hdr.api_version >= 7 ? NULL : "");
	req_respond(r, &kp_join_group_response_desc, &resp);
}

static void
group_apply_assignments(struct group *g, const sync_req_t *sr)
{
	struct gmember *m;

	TAILQ_FOREACH(m, &g->members, entry) {
		free(m->assignment);
		m->assignment = NULL;
		m->alen = 0;
	}
	for (int32_t i = 0; i < sr->assignments.n; i++) {
		const struct kp_sync_group_request_sync_group_request_assignment
		    *a = &sr->assignments.v[i];
		m = member_find(g, &a->member_id);
		if (m == NULL || a->assignment.len <= 0)
			continue;
		m->alen = (size_t)a->assignment.len;
		m->assignment = xmalloc(m->alen);
		memcpy(m->assignment, a->assignment.p, m->alen);
	}
}

void
group_sync(struct group *g, struct req *r)
{
	const sync_req_t *sr = r->msg;
	struct gmember *m = member_find(g, &sr->member_id), *o;

	if (m == NULL || m->pending || g->state == GROUP_EMPTY ||
	    g->state == GROUP_DEAD) {
		sync_respond(NULL, r, KERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (sr->generation_id != g->generation) {
		sync_respond(NULL, r, KERR_ILLEGAL_GENERATION);
		return;
	}
	if (g->state == GROUP_PREPARING_REBALANCE) {
		sync_respond(NULL, r, KERR_REBALANCE_IN_PROGRESS);
		return;
	}
	member_touch(m);
	if (g->state == GROUP_STABLE) {
		sync_respond(m, r, KERR_NONE);
		return;
	}
	/* CompletingRebalance: park until the leader's assignment arrives. */
	m->sync_req = r;
	park(r, g);
	if (strcmp(m->id, g->leader) != 0)
		return;
	group_apply_assignments(g, sr);
	g->state = GROUP_STABLE;
	group_store_metadata(g);
	TAILQ_FOREACH(o, &g->members, entry)
		if (o->sync_req != NULL)
			sync_respond(o, o->sync_req, KERR_NONE);
}

int16_t
group_heartbeat(struct group *g, const struct kstr *member, int32_t gen)
{
	struct gmember *m = member_find(g, member);

	if (m == NULL || m->pending || g->state == GROUP_EMPTY ||
	    g->state == GROUP_DEAD)
		return KERR_UNKNOWN_MEMBER_ID;
	if (gen != g->generation)
		return KERR_ILLEGAL_GENERATION;
	if (m->join_req == NULL)
		member_touch(m);
	if (g->state == GROUP_PREPARING_REBALANCE)
		return KERR_REBALANCE_IN_PROGRESS;
	return KERR_NONE;
}

int16_t
group_leave(struct group *g, const struct kstr *member,
    const struct kstr *instance)
{
	struct gmember *m = NULL, *o;

	if (member->len > 0)
		m = member_find(g, member);
	else if (instance != NULL && instance->len >= 0) {
		TAILQ_FOREACH(o, &g->members, entry)
			if (kstr_is(instance, o->instance_id))
				m = o;
	}
	if (m == NULL)
		return KERR_UNKNOWN_MEMBER_ID;
	log_info("broker: group %s: member %s left", g->id, m->id);
	if (m->join_req != NULL)
		join_respond(m, KERR_UNKNOWN_MEMBER_ID);
	if (m->sync_req != NULL)
		sync_respond(m, m->sync_req, KERR_UNKNOWN_MEMBER_ID);
	member_remove(m);
	if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
		group_prepare_rebalance(g, "member left");
	if (g->state == GROUP_PREPARING_REBALANCE) {
		if (g->nmembers == 0)
			g->initial_delay = false;
		group_maybe_complete_join(g);
	}
	return KERR_NONE;
}
