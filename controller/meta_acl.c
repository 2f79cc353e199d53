/*
 * ACL checks, filters and decisions over the metadata image (meta_acl.h).
 */
#include <string.h>

#include "meta_acl.h"
#include "meta_image.h"

static bool
acl_eq(struct acl_str a, const char *s)
{
	return a.len == strlen(s) && memcmp(a.p, s, a.len) == 0;
}

static bool
acl_prefix(struct acl_str name, const char *prefix)
{
	size_t n = strlen(prefix);

	return n <= name.len && memcmp(name.p, prefix, n) == 0;
}

const char *
acl_binding_check(const struct acl_binding *b)
{
	if (b->resource_type < ACL_RES_TOPIC ||
	    b->resource_type > ACL_RES_USER)
		return "Invalid resource type.";
	if (b->pattern != ACL_PAT_LITERAL && b->pattern != ACL_PAT_PREFIXED)
		return "Invalid pattern type: LITERAL or PREFIXED only.";
	if (b->operation < ACL_OP_ALL || b->operation > ACL_OP_DESCRIBE_TOKENS)
		return "Invalid operation.";
	if (b->permission != ACL_PERM_ALLOW && b->permission != ACL_PERM_DENY)
		return "Invalid permission type: ALLOW or DENY only.";
	if (b->resource.p == NULL || b->resource.len == 0)
		return "Resource name must not be empty.";
	if (b->resource_type == ACL_RES_CLUSTER &&
	    (b->pattern != ACL_PAT_LITERAL ||
	    !acl_eq(b->resource, ACL_CLUSTER_NAME)))
		return "The only cluster resource is the LITERAL "
		    "kafka-cluster.";
	if (b->principal.p == NULL || b->principal.len < 3 ||
	    memchr(b->principal.p, ':', b->principal.len) == NULL ||
	    b->principal.p[0] == ':' ||
	    b->principal.p[b->principal.len - 1] == ':')
		return "Principal must be TYPE:NAME, e.g. User:alice.";
	if (b->host.p == NULL || b->host.len == 0)
		return "Host must not be empty ('*' for any).";
	return NULL;
}

const char *
acl_filter_check(const struct acl_binding *f)
{
	if (f->resource_type <= ACL_RES_UNKNOWN ||
	    f->resource_type > ACL_RES_USER)
		return "Invalid resource type filter.";
	if (f->pattern <= ACL_PAT_UNKNOWN || f->pattern > ACL_PAT_PREFIXED)
		return "Invalid pattern type filter.";
	if (f->operation <= ACL_OP_UNKNOWN ||
	    f->operation > ACL_OP_DESCRIBE_TOKENS)
		return "Invalid operation filter.";
	if (f->permission <= ACL_PERM_UNKNOWN ||
	    f->permission > ACL_PERM_ALLOW)
		return "Invalid permission type filter.";
	return NULL;
}

/* Does the resource pattern of a match the filter's resource part? */
static bool
acl_filter_resource(const struct acl_binding *f, const struct mi_acl *a)
{
	if (f->pattern != ACL_PAT_ANY && f->pattern != ACL_PAT_MATCH &&
	    f->pattern != a->pattern)
		return false;
	if (f->resource.p == NULL)
		return true;
	if (f->pattern != ACL_PAT_MATCH)
		return acl_eq(f->resource, a->resource);
	/* MATCH: the patterns that would apply to a resource so named. */
	if (a->pattern == ACL_PAT_LITERAL)
		return acl_eq(f->resource, a->resource) ||
		    strcmp(a->resource, "*") == 0;
	return a->pattern == ACL_PAT_PREFIXED &&
	    acl_prefix(f->resource, a->resource);
}

bool
acl_filter_match(const struct acl_binding *f, const struct mi_acl *a)
{
	return (f->resource_type == ACL_RES_ANY ||
	    f->resource_type == a->resource_type) &&
	    acl_filter_resource(f, a) &&
	    (f->principal.p == NULL || acl_eq(f->principal, a->principal)) &&
	    (f->host.p == NULL || acl_eq(f->host, a->host)) &&
	    (f->operation == ACL_OP_ANY || f->operation == a->operation) &&
	    (f->permission == ACL_PERM_ANY || f->permission == a->permission);
}

bool
acl_same(const struct acl_binding *b, const struct mi_acl *a)
{
	return b->resource_type == a->resource_type &&
	    b->pattern == a->pattern && b->operation == a->operation &&
	    b->permission == a->permission &&
	    acl_eq(b->resource, a->resource) &&
	    acl_eq(b->principal, a->principal) && acl_eq(b->host, a->host);
}

/* Does an ALLOW for operation have grant the requested want? */
static bool
acl_op_grants(int8_t have, int8_t want)
{
	if (have == want || have == ACL_OP_ALL)
		return true;
	/* Kafka's implied operations. */
	if (want == ACL_OP_DESCRIBE)
		return have == ACL_OP_READ || have == ACL_OP_WRITE ||
		    have == ACL_OP_DELETE || have == ACL_OP_ALTER;
	if (want == ACL_OP_DESCRIBE_CONFIGS)
		return have == ACL_OP_ALTER_CONFIGS;
	return false;
}

static bool
acl_applies(const struct mi_acl *a, struct acl_str principal,
    struct acl_str host)
{
	return (strcmp(a->principal, "User:*") == 0 ||
	    acl_eq(principal, a->principal)) &&
	    (strcmp(a->host, "*") == 0 || acl_eq(host, a->host));
}

bool
acl_allows_some(const struct meta_image *img, struct acl_str principal,
    struct acl_str host, int8_t type, int8_t op)
{
	for (size_t i = 0; i < img->nacls; i++) {
		const struct mi_acl *a = &img->acls[i];
		bool denied = false;

		if (a->resource_type != type ||
		    a->permission != ACL_PERM_ALLOW ||
		    (a->operation != op && a->operation != ACL_OP_ALL) ||
		    !acl_applies(a, principal, host))
			continue;
		for (size_t k = 0; k < img->nacls && !denied; k++) {
			const struct mi_acl *d = &img->acls[k];

			denied = d->resource_type == type &&
			    d->permission == ACL_PERM_DENY &&
			    (d->operation == op ||
			    d->operation == ACL_OP_ALL) &&
			    d->pattern == a->pattern &&
			    strcmp(d->resource, a->resource) == 0 &&
			    acl_applies(d, principal, host);
		}
		if (!denied)
			return true;
	}
	return false;
}

enum acl_verdict
acl_authorize(const struct meta_image *img, struct acl_str principal,
    struct acl_str host, int8_t type, struct acl_str name, int8_t op)
{
	bool any = false, allow = false;

	for (size_t i = 0; i < img->nacls; i++) {
		const struct mi_acl *a = &img->acls[i];

		if (a->resource_type != type)
			continue;
		if (a->pattern == ACL_PAT_LITERAL ?
		    !acl_eq(name, a->resource) &&
		    strcmp(a->resource, "*") != 0 :
		    !acl_prefix(name, a->resource))
			continue;
		any = true;
		if (!acl_applies(a, principal, host))
			continue;
		if (a->permission == ACL_PERM_DENY &&
		    (a->operation == op || a->operation == ACL_OP_ALL))
			return ACL_DENIED;
		if (a->permission == ACL_PERM_ALLOW &&
		    acl_op_grants(a->operation, op))
			allow = true;
	}
	if (allow)
		return ACL_ALLOWED;
	return any ? ACL_DENIED : ACL_NONE;
}
