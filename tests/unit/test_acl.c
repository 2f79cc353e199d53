/*
 * Unit tests of ACLs: AccessControlEntryRecords into the metadata image
 * (sorted by id, removal, dup/equal/digest), a snapshot round trip, and
 * the checks, filters and authorization rules of meta_acl.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kproto_gen.h"
#include "meta_acl.h"
#include "meta_image.h"
#include "snapshot.h"

static struct kstr
k(const char *s)
{
	struct kstr v = { s, (int32_t)strlen(s) };

	return v;
}

static struct acl_str
s_(const char *s)
{
	struct acl_str v = { s, s == NULL ? 0 : strlen(s) };

	return v;
}

/* Add one ACL with id byte idb to img. */
static void
add(struct meta_image *img, uint8_t idb, int8_t type, const char *name,
    int8_t pattern, const char *principal, const char *host, int8_t op,
    int8_t perm)
{
	struct kp_access_control_entry_record r;
	struct wbuf w = { 0 };

	kp_init(&kp_access_control_entry_record_desc, &r);
	memset(r.id.b, idb, 16);
	r.resource_type = type;
	r.resource_name = k(name);
	r.pattern_type = pattern;
	r.principal = k(principal);
	r.host = k(host);
	r.operation = op;
	r.permission_type = perm;
	meta_record_put(&w, MI_REC_ACL, 0, &kp_access_control_entry_record_desc,
	    &r);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
}

static void
remove_(struct meta_image *img, uint8_t idb)
{
	struct kp_remove_access_control_entry_record r;
	struct wbuf w = { 0 };

	kp_init(&kp_remove_access_control_entry_record_desc, &r);
	memset(r.id.b, idb, 16);
	meta_record_put(&w, MI_REC_REMOVE_ACL, 0,
	    &kp_remove_access_control_entry_record_desc, &r);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
}

static enum acl_verdict
auth(const struct meta_image *img, const char *who, const char *host,
    int8_t type, const char *name, int8_t op)
{
	return acl_authorize(img, s_(who), s_(host), type, s_(name), op);
}

static struct meta_image *
sample(void)
{
	struct meta_image *img = meta_image_new();

	add(img, 9, ACL_RES_TOPIC, "orders", ACL_PAT_LITERAL, "User:alice",
	    "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
	add(img, 3, ACL_RES_TOPIC, "ord", ACL_PAT_PREFIXED, "User:bob", "*",
	    ACL_OP_READ, ACL_PERM_ALLOW);
	add(img, 5, ACL_RES_TOPIC, "orders", ACL_PAT_LITERAL, "User:bob",
	    "10.0.0.9", ACL_OP_ALL, ACL_PERM_DENY);
	add(img, 7, ACL_RES_GROUP, "*", ACL_PAT_LITERAL, "User:*", "*",
	    ACL_OP_READ, ACL_PERM_ALLOW);
	add(img, 1, ACL_RES_TOPIC, "logs", ACL_PAT_LITERAL, "User:carol", "*",
	    ACL_OP_ALTER_CONFIGS, ACL_PERM_ALLOW);
	return img;
}

static void
test_image(void **state)
{
	struct meta_image *img = sample(), *dup;

	(void)state;
	assert_int_equal(img->nacls, 5);
	for (size_t i = 1; i < img->nacls; i++)
		assert_true(memcmp(img->acls[i - 1].id.b, img->acls[i].id.b,
		    16) < 0);
	assert_string_equal(img->acls[0].principal, "User:carol");
	dup = meta_image_dup(img);
	assert_true(meta_image_equal(img, dup));
	assert_true(meta_image_digest(img) == meta_image_digest(dup));
	remove_(dup, 5);
	remove_(dup, 42);		/* unknown: nothing happens */
	assert_int_equal(dup->nacls, 4);
	assert_false(meta_image_equal(img, dup));
	assert_true(meta_image_digest(img) != meta_image_digest(dup));
	meta_image_free(dup);
	meta_image_free(img);
}

static void
test_snapshot(void **state)
{
	struct meta_image *img = sample(), *got;
	char dir[] = "/tmp/test_acl.XXXXXX", path[4096], err[512], cmd[128];
	uint8_t *bytes;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	img->end_offset = 10;
	img->last_epoch = 1;
	assert_int_equal(snapshot_write(dir, img, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), 0);
	assert_non_null(got);
	assert_int_equal(got->nacls, 5);
	assert_true(meta_image_equal(img, got));
	meta_image_free(got);
	free(bytes);
	meta_image_free(img);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_authorize(void **state)
{
	struct meta_image *img = sample(), *none = meta_image_new();

	(void)state;
	/* literal, exact operation */
	assert_int_equal(auth(img, "User:alice", "1.2.3.4", ACL_RES_TOPIC,
	    "orders", ACL_OP_WRITE), ACL_ALLOWED);
	/* WRITE implies DESCRIBE, not READ */
	assert_int_equal(auth(img, "User:alice", "1.2.3.4", ACL_RES_TOPIC,
	    "orders", ACL_OP_DESCRIBE), ACL_ALLOWED);
	assert_int_equal(auth(img, "User:alice", "1.2.3.4", ACL_RES_TOPIC,
	    "orders", ACL_OP_READ), ACL_DENIED);
	/* prefixed */
	assert_int_equal(auth(img, "User:bob", "1.2.3.4", ACL_RES_TOPIC,
	    "ordinary", ACL_OP_READ), ACL_ALLOWED);
	assert_int_equal(auth(img, "User:bob", "1.2.3.4", ACL_RES_TOPIC,
	    "or", ACL_OP_READ), ACL_NONE);
	/* a DENY for one host wins there only */
	assert_int_equal(auth(img, "User:bob", "10.0.0.9", ACL_RES_TOPIC,
	    "orders", ACL_OP_READ), ACL_DENIED);
	assert_int_equal(auth(img, "User:bob", "10.0.0.8", ACL_RES_TOPIC,
	    "orders", ACL_OP_READ), ACL_ALLOWED);
	/* wildcard resource and principal */
	assert_int_equal(auth(img, "User:zed", "h", ACL_RES_GROUP, "any",
	    ACL_OP_READ), ACL_ALLOWED);
	assert_int_equal(auth(img, "User:zed", "h", ACL_RES_GROUP, "any",
	    ACL_OP_DELETE), ACL_DENIED);
	/* ALTER_CONFIGS implies DESCRIBE_CONFIGS */
	assert_int_equal(auth(img, "User:carol", "h", ACL_RES_TOPIC, "logs",
	    ACL_OP_DESCRIBE_CONFIGS), ACL_ALLOWED);
	/* resources no ACL names, and an empty image */
	assert_int_equal(auth(img, "User:alice", "h", ACL_RES_TOPIC, "misc",
	    ACL_OP_WRITE), ACL_NONE);
	assert_int_equal(auth(img, "User:alice", "h", ACL_RES_CLUSTER,
	    ACL_CLUSTER_NAME, ACL_OP_ALTER), ACL_NONE);
	assert_int_equal(auth(none, "User:alice", "h", ACL_RES_TOPIC, "orders",
	    ACL_OP_WRITE), ACL_NONE);
	/* some topic writable: alice yes (literal), bob no (denied only
	   from one host, but his only ALLOW is READ) */
	assert_true(acl_allows_some(img, s_("User:alice"), s_("h"),
	    ACL_RES_TOPIC, ACL_OP_WRITE));
	assert_false(acl_allows_some(img, s_("User:bob"), s_("h"),
	    ACL_RES_TOPIC, ACL_OP_WRITE));
	meta_image_free(none);
	meta_image_free(img);
}

static void
test_filters(void **state)
{
	struct meta_image *img = sample();
	struct acl_binding f = { ACL_RES_ANY, { NULL, 0 }, ACL_PAT_ANY,
	    { NULL, 0 }, { NULL, 0 }, ACL_OP_ANY, ACL_PERM_ANY };
	size_t n;

	(void)state;
	assert_null(acl_filter_check(&f));
	for (n = 0; n < img->nacls; n++)
		assert_true(acl_filter_match(&f, &img->acls[n]));
	/* MATCH: the ACLs that apply to topic "orders" */
	f.resource_type = ACL_RES_TOPIC;
	f.resource = s_("orders");
	f.pattern = ACL_PAT_MATCH;
	n = 0;
	for (size_t i = 0; i < img->nacls; i++)
		n += acl_filter_match(&f, &img->acls[i]);
	assert_int_equal(n, 3);
	/* LITERAL "ord" matches no literal ACL; PREFIXED "ord" one */
	f.resource = s_("ord");
	f.pattern = ACL_PAT_LITERAL;
	n = 0;
	for (size_t i = 0; i < img->nacls; i++)
		n += acl_filter_match(&f, &img->acls[i]);
	assert_int_equal(n, 0);
	f.pattern = ACL_PAT_PREFIXED;
	n = 0;
	for (size_t i = 0; i < img->nacls; i++)
		n += acl_filter_match(&f, &img->acls[i]);
	assert_int_equal(n, 1);
	/* principal and permission narrow */
	f.resource_type = ACL_RES_ANY;
	f.resource = s_(NULL);
	f.pattern = ACL_PAT_ANY;
	f.principal = s_("User:bob");
	f.permission = ACL_PERM_DENY;
	n = 0;
	for (size_t i = 0; i < img->nacls; i++)
		n += acl_filter_match(&f, &img->acls[i]);
	assert_int_equal(n, 1);
	f.operation = ACL_OP_UNKNOWN;
	assert_non_null(acl_filter_check(&f));
	meta_image_free(img);
}

static void
test_binding_check(void **state)
{
	struct acl_binding b = { ACL_RES_TOPIC, { "t", 1 }, ACL_PAT_LITERAL,
	    { "User:a", 6 }, { "*", 1 }, ACL_OP_READ, ACL_PERM_ALLOW };

	(void)state;
	assert_null(acl_binding_check(&b));
	b.pattern = ACL_PAT_MATCH;
	assert_non_null(acl_binding_check(&b));
	b.pattern = ACL_PAT_PREFIXED;
	b.operation = ACL_OP_ANY;
	assert_non_null(acl_binding_check(&b));
	b.operation = ACL_OP_READ;
	b.permission = ACL_PERM_ANY;
	assert_non_null(acl_binding_check(&b));
	b.permission = ACL_PERM_DENY;
	b.principal = s_("alice");
	assert_non_null(acl_binding_check(&b));
	b.principal = s_("User:alice");
	b.resource_type = ACL_RES_CLUSTER;
	assert_non_null(acl_binding_check(&b));	/* not kafka-cluster */
	b.resource = s_(ACL_CLUSTER_NAME);
	b.pattern = ACL_PAT_LITERAL;
	assert_null(acl_binding_check(&b));
	b.host = s_("");
	assert_non_null(acl_binding_check(&b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_authorize),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_binding_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
