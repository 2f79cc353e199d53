/*
 * ACLs of the metadata image (struct mi_acl): the codes Kafka's protocol
 * uses, checks of new bindings, filters (DescribeAcls, DeleteAcls) and
 * the authorization decision the broker makes with them (Kafka's
 * StandardAuthorizer rules).  Shared by the controller and the broker.
 */
#ifndef MO_META_ACL_H
#define MO_META_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meta_image;
struct mi_acl;

/* ResourceType */
#define ACL_RES_UNKNOWN		0
#define ACL_RES_ANY		1
#define ACL_RES_TOPIC		2
#define ACL_RES_GROUP		3
#define ACL_RES_CLUSTER		4
#define ACL_RES_TXN_ID		5
#define ACL_RES_TOKEN		6
#define ACL_RES_USER		7
/* PatternType */
#define ACL_PAT_UNKNOWN		0
#define ACL_PAT_ANY		1
#define ACL_PAT_MATCH		2
#define ACL_PAT_LITERAL		3
#define ACL_PAT_PREFIXED	4
/* AclOperation */
#define ACL_OP_UNKNOWN		0
#define ACL_OP_ANY		1
#define ACL_OP_ALL		2
#define ACL_OP_READ		3
#define ACL_OP_WRITE		4
#define ACL_OP_CREATE		5
#define ACL_OP_DELETE		6
#define ACL_OP_ALTER		7
#define ACL_OP_DESCRIBE		8
#define ACL_OP_CLUSTER_ACTION	9
#define ACL_OP_DESCRIBE_CONFIGS	10
#define ACL_OP_ALTER_CONFIGS	11
#define ACL_OP_IDEMPOTENT_WRITE	12
#define ACL_OP_CREATE_TOKENS	13
#define ACL_OP_DESCRIBE_TOKENS	14
/* AclPermissionType */
#define ACL_PERM_UNKNOWN	0
#define ACL_PERM_ANY		1
#define ACL_PERM_DENY		2
#define ACL_PERM_ALLOW		3

/* The one cluster resource's name. */
#define ACL_CLUSTER_NAME	"kafka-cluster"

/* Strings are (pointer, length); a NULL pointer is "any" in a filter. */
struct acl_str {
	const char	*p;
	size_t		 len;
};

struct acl_binding {
	int8_t		resource_type;
	struct acl_str	resource;
	int8_t		pattern;
	struct acl_str	principal;
	struct acl_str	host;
	int8_t		operation;
	int8_t		permission;
};

/* NULL if b may be created, else why not (INVALID_REQUEST). */
const char *acl_binding_check(const struct acl_binding *b);
/* NULL if f is a usable filter, else why not (INVALID_REQUEST). */
const char *acl_filter_check(const struct acl_binding *f);
bool	acl_filter_match(const struct acl_binding *f, const struct mi_acl *);
bool	acl_same(const struct acl_binding *b, const struct mi_acl *);

enum acl_verdict {
	ACL_ALLOWED,
	ACL_DENIED,
	ACL_NONE	/* no ACL names the resource: the default decides */
};

/*
 * Does some ALLOW (not matched by a DENY of the same pattern) let
 * principal from host do op on some resource of type?
 */
bool	acl_allows_some(const struct meta_image *, struct acl_str principal,
	    struct acl_str host, int8_t type, int8_t op);
/* May principal from host do op on the resource (type, name)? */
enum acl_verdict acl_authorize(const struct meta_image *,
	    struct acl_str principal, struct acl_str host, int8_t type,
	    struct acl_str name, int8_t op);

#endif
