"""ACLs: CreateAcls / DescribeAcls / DeleteAcls and their enforcement.

A broker without authorizer.class.name answers the ACL APIs with
SECURITY_DISABLED.  A broker with it (Kafka's StandardAuthorizer rules),
a SASL_PLAINTEXT listener with users admin (a super user), alice and bob:
- kafka-python's admin client (SASL PLAIN through SaslHandshake v0) as
  admin creates, lists and deletes ACLs; alice may not create any
  (CLUSTER_AUTHORIZATION_FAILED, through kafka-python and through a
  CreateAcls v1 of her own);
- alice may write topic "secret" (LITERAL), bob may read topics starting
  "sec" (PREFIXED) with a consumer group starting "bob-"; each is refused
  what it was not given (kcat and confluent-kafka report the errors),
  metadata lists only the topics one may describe (User:ANONYMOUS, on
  the PLAINTEXT listener, sees none);
- a DENY for bob wins over his ALLOW, and deleting it restores access;
- the ACLs survive a restart (they live in the metadata log).
"""

import struct
import time
import types

import harness
from harness import Broker
from test_bad_input import Reader, connect, frame, header_v1, recv_frame, string
from test_sasl import port_of

API_CREATE_ACLS = 30
API_SASL_HANDSHAKE = 17
API_SASL_AUTHENTICATE = 36

USERS = "admin:admin-pw,alice:alice-pw,bob:bob-pw"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31
SECURITY_DISABLED = 54


def admin(bs, user):
    """kafka-python's admin client as user over SASL PLAIN (kafka-python
    2.0.2 authenticates with SaslHandshake v0 and a raw token)."""
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bs,
                            security_protocol="SASL_PLAINTEXT",
                            sasl_mechanism="PLAIN",
                            sasl_plain_username=user,
                            sasl_plain_password=user + "-pw",
                            request_timeout_ms=30000)


def kcat_as(bs, user, args, input=None, check=True):
    return harness.kcat(["-b", bs, "-X", "security.protocol=sasl_plaintext",
                         "-X", "sasl.mechanisms=PLAIN",
                         "-X", "sasl.username=" + user,
                         "-X", "sasl.password=" + user + "-pw"] + list(args),
                        input=input, timeout=60, check=check)


def create_acl_as(sp, user):
    """CreateAcls v1 (allow user ALL on topic other) sent by user over SASL
    PLAIN on a raw connection; returns the result's error code."""
    s = connect(types.SimpleNamespace(port=int(sp.split(":")[1])))
    s.sendall(frame(header_v1(API_SASL_HANDSHAKE, 1, 1) + string("PLAIN")))
    r = Reader(recv_frame(s))
    assert r.unpack("ih") == (1, 0)
    tok = b"\0" + user.encode() + b"\0" + user.encode() + b"-pw"
    s.sendall(frame(header_v1(API_SASL_AUTHENTICATE, 0, 2) +
                    struct.pack(">i", len(tok)) + tok))
    r = Reader(recv_frame(s))
    assert r.unpack("ih") == (2, 0), "SASL PLAIN as %s failed" % user
    body = (struct.pack(">i", 1) + struct.pack(">b", 2) + string("other") +
            struct.pack(">b", 3) + string("User:" + user) + string("*") +
            struct.pack(">bb", 2, 3))
    s.sendall(frame(header_v1(API_CREATE_ACLS, 1, 3) + body))
    r = Reader(recv_frame(s))
    corr, _throttle, n = r.unpack("iii")
    assert corr == 3 and n == 1, (corr, n)
    err = r.unpack("h")
    s.close()
    return err


def group_read(sp, user, group, topic, want):
    """user (SASL PLAIN, password user-pw) consumes topic in group from the
    start until want messages (committing them then) or an error; returns
    (values, error or None)."""
    from confluent_kafka import Consumer, KafkaException
    c = Consumer({"bootstrap.servers": sp,
                  "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanisms": "PLAIN", "sasl.username": user,
                  "sasl.password": user + "-pw", "group.id": group,
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got, err = [], None
    try:
        for _ in range(60):
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                err = m.error()
                break
            got.append(m.value())
            if len(got) == want:
                c.commit(asynchronous=False)
                break
    except KafkaException as e:
        err = e.args[0]
    finally:
        c.close()
    return got, err


def acl_set(acls):
    return sorted((a.resource_pattern.resource_type,
                   a.resource_pattern.resource_name,
                   a.resource_pattern.pattern_type, a.principal, a.host,
                   a.operation, a.permission_type) for a in acls)


def check_disabled():
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                             ResourcePatternFilter, ResourceType,
                             ACLResourcePatternType)
    from kafka.admin import KafkaAdminClient
    b = Broker(name="acl-off").start()
    try:
        a = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        f = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                      permission_type=ACLPermissionType.ANY,
                      resource_pattern=ResourcePatternFilter(
                          ResourceType.ANY, None,
                          ACLResourcePatternType.ANY))
        try:
            a.describe_acls(f)
            raise AssertionError("describe_acls without an authorizer "
                                 "did not fail")
        except Exception as e:  # kafka.errors.SecurityDisabledError
            assert getattr(e, "errno", None) == SECURITY_DISABLED, repr(e)
        a.close()
        # and everything is allowed, as before
        harness.kcat_roundtrip_ok(b.bootstrap, "open")
    finally:
        b.stop()
    harness.log("acls: no authorizer: SECURITY_DISABLED, all allowed")


def delete_one(root, acl):
    """DeleteAcls with a filter matching exactly acl (a topic ACL): it
    must match one binding; that binding."""
    from kafka.admin import ACLFilter, ResourcePatternFilter
    res = root.delete_acls([ACLFilter(
        principal=acl.principal, host=None, operation=acl.operation,
        permission_type=acl.permission_type,
        resource_pattern=ResourcePatternFilter(
            acl.resource_pattern.resource_type,
            acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type))])
    (flt, matched, err), = res
    assert err.errno == 0 and len(matched) == 1, res
    return matched[0][0]


def check_acls(b, sp, root):
    from kafka.errors import TopicAuthorizationFailedError
    from kafka.admin import (ACL, ACLFilter, ACLOperation,
                             ACLPermissionType, ACLResourcePatternType,
                             NewTopic, ResourcePattern,
                             ResourcePatternFilter, ResourceType)
    root.create_topics([NewTopic("secret", 1, 1), NewTopic("other", 1, 1)])
    want = [
        ACL("User:alice", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
            ResourcePattern(ResourceType.TOPIC, "secret",
                            ACLResourcePatternType.LITERAL)),
        ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
            ResourcePattern(ResourceType.TOPIC, "sec",
                            ACLResourcePatternType.PREFIXED)),
        ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
            ResourcePattern(ResourceType.GROUP, "bob-",
                            ACLResourcePatternType.PREFIXED)),
    ]
    res = root.create_acls(want)
    assert not res["failed"], "create_acls failed: %r" % res["failed"]
    assert len(res["succeeded"]) == 3, res
    every = ACLFilter(principal=None, host=None,
                      operation=ACLOperation.ANY,
                      permission_type=ACLPermissionType.ANY,
                      resource_pattern=ResourcePatternFilter(
                          ResourceType.ANY, None,
                          ACLResourcePatternType.ANY))
    got, err = root.describe_acls(every)
    assert err.errno == 0, err
    assert acl_set(got) == acl_set(want), "describe_acls: %r" % got

    # alice may not administer ACLs (ALTER on the cluster), neither with
    # kafka-python nor with a request of her own
    res = admin(sp, "alice").create_acls([ACL(
        "User:alice", "*", ACLOperation.ALL, ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.TOPIC, "other",
                        ACLResourcePatternType.LITERAL))])
    assert res["failed"] and not res["succeeded"], res
    assert res["failed"][0][1].errno == CLUSTER_AUTHORIZATION_FAILED, res
    err = create_acl_as(sp, "alice")
    assert err == CLUSTER_AUTHORIZATION_FAILED, err
    got, _ = root.describe_acls(every)
    assert acl_set(got) == acl_set(want), "alice added an ACL: %r" % got

    lines = "".join("secret-%d\n" % i for i in range(50)).encode()
    # alice writes, bob reads (prefix ACL), not the other way round
    kcat_as(sp, "alice", ["-P", "-t", "secret"], input=lines)
    out = kcat_as(sp, "bob", ["-C", "-t", "secret", "-e", "-q"])
    assert out.stdout.split() == lines.split(), out.stdout[:200]
    out = kcat_as(sp, "bob", ["-P", "-t", "secret"], input=b"bob\n",
                  check=False)
    assert out.returncode != 0 and b"authoriz" in out.stderr.lower(), \
        "bob wrote to secret: %r" % out.stderr[-300:]
    out = kcat_as(sp, "alice", ["-C", "-t", "secret", "-e", "-q"],
                  check=False)
    assert out.returncode != 0 and b"authoriz" in out.stderr.lower(), \
        "alice read secret: %r" % out.stderr[-300:]
    # bob may not read "other" (no ACL names it); nobody but admin sees it
    out = kcat_as(sp, "bob", ["-C", "-t", "other", "-e", "-q"],
                  check=False)
    assert out.returncode != 0, "bob read other"
    # metadata lists what one may DESCRIBE (WRITE and READ imply it)
    md = kcat_as(sp, "alice", ["-L"]).stdout.decode()
    assert '"secret"' in md and '"other"' not in md, md
    md = kcat_as(sp, "admin", ["-L"]).stdout.decode()
    assert '"secret"' in md and '"other"' in md, md
    md = harness.kcat(["-L", "-b", b.bootstrap]).stdout.decode()
    assert "secret" not in md and "other" not in md, \
        "User:ANONYMOUS sees topics: %s" % md

    # consumer groups: READ on the group (prefix bob-)
    got, err = group_read(sp, "bob", "bob-readers", "secret", 50)
    assert len(got) == 50 and err is None, (len(got), err)
    got, err = group_read(sp, "bob", "alice-readers", "secret", 50)
    assert err is not None and err.code() == GROUP_AUTHORIZATION_FAILED, \
        (len(got), err)

    # a DENY wins over the ALLOW; deleting it gives access back
    deny = ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.DENY,
               ResourcePattern(ResourceType.TOPIC, "secret",
                               ACLResourcePatternType.LITERAL))
    assert not root.create_acls([deny])["failed"]
    out = kcat_as(sp, "bob", ["-C", "-t", "secret", "-e", "-q"],
                  check=False)
    assert out.returncode != 0 and b"authoriz" in out.stderr.lower(), \
        "bob read secret through a DENY"
    assert acl_set([delete_one(root, deny)]) == acl_set([deny])
    out = kcat_as(sp, "bob", ["-C", "-t", "secret", "-e", "-q"])
    assert out.stdout.split() == lines.split()

    # DeleteTopics deletes what alice may delete and refuses the rest
    root.create_topics([NewTopic("scratch", 1, 1)])
    grant = ACL("User:alice", "*", ACLOperation.DELETE,
                ACLPermissionType.ALLOW,
                ResourcePattern(ResourceType.TOPIC, "scratch",
                                ACLResourcePatternType.LITERAL))
    assert not root.create_acls([grant])["failed"]
    alice = admin(sp, "alice")
    try:
        alice.delete_topics(["scratch", "other"])
        raise AssertionError("alice deleted other")
    except TopicAuthorizationFailedError as e:
        # kafka-python raises on any topic's error; the response is in it
        assert ("topic_error_codes=[(topic='scratch', error_code=0), "
                "(topic='other', error_code=%d)]" %
                TOPIC_AUTHORIZATION_FAILED) in str(e), str(e)
    alice.close()
    for _ in range(100):
        md = kcat_as(sp, "admin", ["-L"]).stdout.decode()
        if '"scratch"' not in md:
            break
        time.sleep(0.1)
    assert '"scratch"' not in md and '"other"' in md, md
    delete_one(root, grant)
    root.close()
    return want


def acl_broker(name, users, extra=()):
    """A broker with PLAINTEXT and SASL_PLAINTEXT listeners on fixed ports
    (a restart comes back on them), users, the authorizer on and
    User:admin a super user."""
    return Broker(sets=[
        "broker.listeners=PLAINTEXT://127.0.0.1:%d,"
        "SASL_PLAINTEXT://127.0.0.1:%d" % (harness.free_port(),
                                           harness.free_port()),
        "broker.sasl.users=" + users,
        "broker.authorizer.class.name=" + AUTHORIZER,
        "broker.super.users=User:admin"] + list(extra), name=name)


def test():
    check_disabled()
    b = acl_broker("acl", USERS).start()
    try:
        root = admin(port_of(b, "SASL_PLAINTEXT"), "admin")
        want = check_acls(b, port_of(b, "SASL_PLAINTEXT"), root)
        root.close()
        b.restart()
        from kafka.admin import (ACLFilter, ACLOperation,
                                 ACLPermissionType, ACLResourcePatternType,
                                 ResourcePatternFilter, ResourceType)
        root = admin(port_of(b, "SASL_PLAINTEXT"), "admin")
        got, err = root.describe_acls(ACLFilter(
            principal=None, host=None, operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(
                ResourceType.ANY, None, ACLResourcePatternType.ANY)))
        root.close()
        assert acl_set(got) == acl_set(want), \
            "after a restart: %r" % got
    finally:
        b.stop()
    harness.log("acls: create/describe/delete, WRITE/READ/DENY on topics, "
                "READ on groups, survive a restart")


if __name__ == "__main__":
    harness.run(test, timeout=300)
