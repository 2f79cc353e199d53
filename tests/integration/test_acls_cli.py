"""kafka-acls.sh against a broker with StandardAuthorizer, as admin (a
super user) over SASL_PLAINTEXT through a --command-config file in Kafka's
form (sasl.jaas.config), checked on the listing and on enforcement:
- --add of WRITE for alice on topic "secret" lists exactly that ACL and
  lets alice produce (kcat); --consumer adds READ and DESCRIBE on the
  topic and READ on group g1: alice reads with g1, not with another group;
- --remove --force of the WRITE ACL takes it away (alice's produce fails
  with an authorization error); --remove without --force refuses (exit 2)
  and leaves the ACLs alone; --remove without a principal empties g1;
- --producer --idempotent with a prefixed --transactional-id (a resource
  type librdkafka 2.0 lacks) adds and lists TRANSACTIONAL_ID, CLUSTER and
  TOPIC entries; --list over SCRAM (librdkafka's DescribeAcls) agrees;
- User:ANONYMOUS on the PLAINTEXT listener is refused (exit 1,
  CLUSTER_AUTHORIZATION_FAILED); a broker without authorizer answers
  --list with SECURITY_DISABLED (exit 1); bad usage and bad config files
  exit 2 and 1 with one line naming the option or file:line.
"""

import os
import re
import subprocess

import harness
from harness import Broker
from test_acls import (GROUP_AUTHORIZATION_FAILED, acl_broker, admin,
                       group_read, kcat_as)
from test_sasl import port_of

ACLS = os.path.join(harness.SRCDIR, "tools", "kafka-acls.sh")
TOOLS_BIN = os.path.join(harness.BUILDDIR, "tools")
USERS = "admin:admin-pw,alice:alice-pw"
HEAD_RE = re.compile(r"^Current ACLs for resource `(ResourcePattern\("
                     r"resourceType=\w+, name=[^,]*, patternType=\w+\))`:$")
ENTRY_RE = re.compile(r"^ \t\((principal=[^,]+, host=[^,]+, "
                      r"operation=\w+, permissionType=\w+)\)$")
ADMIN_CONFIG = (
    "# admin over SASL PLAIN, the way Kafka's tools are configured\n"
    "security.protocol=SASL_PLAINTEXT\n"
    "sasl.mechanism=PLAIN\n"
    "sasl.jaas.config=org.apache.kafka.common.security.plain."
    "PlainLoginModule required \\\n"
    "    username=\"admin\" password=\"admin-pw\";\n")
SCRAM_CONFIG = (
    "security.protocol = SASL_PLAINTEXT\n"
    "sasl.mechanism = SCRAM-SHA-256\n"
    "sasl.jaas.config = org.apache.kafka.common.security.scram."
    "ScramLoginModule required username=\"admin\" password=\"admin-pw\";\n")


def run(args, rc=0):
    """kafka-acls.sh args; asserts the exit status, returns (stdout,
    stderr) as text."""
    env = dict(os.environ)
    # the wrapper runs "moldau" from PATH when it is not beside it
    env["PATH"] = TOOLS_BIN + os.pathsep + env["PATH"]
    cp = subprocess.run([ACLS] + list(args), stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=60, env=env)
    out, err = cp.stdout.decode(), cp.stderr.decode()
    assert cp.returncode == rc, "%s: status %d, want %d\n%s%s" % (
        args, cp.returncode, rc, out, err)
    return out, err


def one_line(err, pattern, what):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and re.search(pattern, lines[0]), \
        "%s: want one line matching %r, got %r" % (what, pattern, lines)
    harness.log("%s -> %s" % (what, lines[0]))


def listing(out):
    """{ResourcePattern(...): set of entries} of a --list output."""
    got, cur = {}, None
    for ln in out.splitlines():
        if not ln or ln.startswith("ACLs for principal `"):
            continue
        m = HEAD_RE.match(ln)
        if m:
            cur = got.setdefault(m.group(1), set())
            continue
        m = ENTRY_RE.match(ln)
        assert m and cur is not None, "unexpected line %r in:\n%s" % (
            ln, out)
        cur.add(m.group(1))
    return got


def res(rtype, name, pattern="LITERAL"):
    return "ResourcePattern(resourceType=%s, name=%s, patternType=%s)" % (
        rtype, name, pattern)


def acl(principal, op, perm="ALLOW", host="*"):
    return "principal=%s, host=%s, operation=%s, permissionType=%s" % (
        principal, host, op, perm)


def write_file(text):
    p = os.path.join(harness.mkdtemp("moldau-acl-cli-"), "client.properties")
    with open(p, "w") as f:
        f.write(text)
    return p


def usage_errors():
    _, err = run(["--remove", "--topic", "t"], rc=2)
    one_line(err, r"^kafka-acls: .*--force", "--remove without --force")
    _, err = run(["--add", "--topic", "t", "--allow-principal", "User:a",
                  "--operation", "Frobnicate"], rc=2)
    one_line(err, r"^kafka-acls: --operation.*Frobnicate", "bad --operation")
    _, err = run(["--add", "--group", "g", "--allow-principal", "User:a",
                  "--operation", "Write"], rc=2)
    one_line(err, r"^kafka-acls: --operation Write is not valid with "
             r"--group", "operation not on the resource type")
    _, err = run(["--list", "--topic", "a", "--group", "b"], rc=2)
    one_line(err, r"^kafka-acls: --list takes at most one resource",
             "--list of two resources")
    _, err = run(["--add", "--topic", "t", "--allow-principal", "alice"],
                 rc=2)
    one_line(err, r"^kafka-acls: --allow-principal wants TYPE:NAME",
             "principal without a type")
    _, err = run(["--add", "--consumer", "--topic", "t",
                  "--allow-principal", "User:a"], rc=2)
    one_line(err, r"^kafka-acls: --consumer needs --topic and --group",
             "--consumer without --group")
    out, _ = run(["--help"])
    assert "--resource-pattern-type" in out and "--producer" in out, out


def config_errors(sp):
    p = write_file("security.protocol=SASL_PLAINTEXT\nno.such.key=1\n")
    _, err = run(["--bootstrap-server", sp, "--command-config", p,
                  "--list"], rc=1)
    one_line(err, r"^kafka-acls: %s:2: .*no\.such\.key" % re.escape(p),
             "unknown property")
    p = write_file("sasl.jaas.config=org.apache.kafka.common.security."
                   "plain.PlainLoginModule required username=\"admin\";\n")
    _, err = run(["--bootstrap-server", sp, "--command-config", p,
                  "--list"], rc=1)
    one_line(err, r"^kafka-acls: %s:1: sasl\.jaas\.config: " % re.escape(p),
             "JAAS entry without a password")
    p = os.path.join(harness.mkdtemp(), "absent.properties")
    _, err = run(["--bootstrap-server", sp, "--command-config", p,
                  "--list"], rc=1)
    one_line(err, re.escape(p), "missing --command-config file")


def check_disabled():
    with Broker(name="acl-off") as b:
        _, err = run(["--bootstrap-server", b.bootstrap, "--list"], rc=1)
        one_line(err, r"^kafka-acls: .*(SECURITY_DISABLED|Security "
                 r"features are disabled)", "--list without authorizer")
        _, err = run(["--bootstrap-server", b.bootstrap, "--add",
                      "--allow-principal", "User:x", "--topic", "t"], rc=1)
        assert "SECURITY_DISABLED" in err, err


def check_acls(b):
    sp = port_of(b, "SASL_PLAINTEXT")
    cfg = write_file(ADMIN_CONFIG)
    base = ["--bootstrap-server", sp, "--command-config", cfg]
    secret, g1 = res("TOPIC", "secret"), res("GROUP", "g1")

    root = admin(sp, "admin")
    from kafka.admin import NewTopic
    root.create_topics([NewTopic("secret", 1, 1)])
    root.close()

    out, _ = run(base + ["--add", "--allow-principal", "User:alice",
                         "--operation", "Write", "--topic", "secret"])
    assert "Adding ACLs for resource `%s`" % secret in out, out
    out, _ = run(base + ["--list", "--topic", "secret"])
    want = {secret: {acl("User:alice", "WRITE")}}
    assert listing(out) == want, "after --add:\n%s" % out
    lines = b"".join(b"m-%d\n" % i for i in range(3))
    kcat_as(sp, "alice", ["-P", "-t", "secret"], input=lines)
    harness.log("acls-cli: --add WRITE listed; alice produces")

    run(base + ["--add", "--consumer", "--topic", "secret", "--group",
                "g1", "--allow-principal", "User:alice"])
    out, _ = run(base + ["--list"])
    want = {secret: {acl("User:alice", op) for op in
                     ("WRITE", "READ", "DESCRIBE")},
            g1: {acl("User:alice", "READ")}}
    assert listing(out) == want, "after --consumer:\n%s" % out
    got, err = group_read(sp, "alice", "g1", "secret", 3)
    assert err is None and got == lines.split(), (got, err)
    got, err = group_read(sp, "alice", "g2", "secret", 3)
    assert err is not None and err.code() == GROUP_AUTHORIZATION_FAILED, \
        (got, err)
    harness.log("acls-cli: --consumer READ/DESCRIBE + group READ enforced")

    # without --force nothing happens
    _, err = run(base + ["--remove", "--topic", "secret",
                         "--allow-principal", "User:alice", "--operation",
                         "Write"], rc=2)
    one_line(err, r"--force", "--remove without --force")
    out, _ = run(base + ["--list", "--topic", "secret"])
    assert listing(out) == {secret: want[secret]}, out

    out, _ = run(base + ["--remove", "--force", "--topic", "secret",
                         "--allow-principal", "User:alice", "--operation",
                         "Write"])
    assert "Removed ACLs for resource `%s`" % secret in out, out
    out, _ = run(base + ["--list", "--topic", "secret"])
    assert listing(out) == {secret: {acl("User:alice", "READ"),
                                     acl("User:alice", "DESCRIBE")}}, out
    cp = kcat_as(sp, "alice", ["-P", "-t", "secret"], input=b"no\n",
                 check=False)
    assert cp.returncode != 0 and b"authoriz" in cp.stderr.lower(), \
        "alice wrote after the WRITE ACL was removed: %r" % cp.stderr[-300:]
    harness.log("acls-cli: --remove --force WRITE enforced")

    # a transactional producer's ACLs (transactional ids go over the
    # tool's own connection), then the listing through librdkafka (SCRAM)
    run(base + ["--add", "--producer", "--idempotent", "--topic", "out",
                "--transactional-id", "tx-", "--resource-pattern-type",
                "prefixed", "--allow-principal", "User:alice"])
    out, _ = run(base + ["--list", "--resource-pattern-type", "prefixed"])
    prod = {res("TOPIC", "out", "PREFIXED"):
            {acl("User:alice", op) for op in ("WRITE", "DESCRIBE",
                                              "CREATE")},
            res("TRANSACTIONAL_ID", "tx-", "PREFIXED"):
            {acl("User:alice", "WRITE"), acl("User:alice", "DESCRIBE")}}
    assert listing(out) == prod, "--producer, prefixed:\n%s" % out
    out, _ = run(base + ["--list", "--cluster"])
    assert listing(out) == {res("CLUSTER", "kafka-cluster"): {
        acl("User:alice", "IDEMPOTENT_WRITE")}}, out
    scram = ["--bootstrap-server", sp, "--command-config",
             write_file(SCRAM_CONFIG)]
    out, _ = run(scram + ["--list", "--topic", "secret"])
    assert listing(out) == {secret: {acl("User:alice", "READ"),
                                     acl("User:alice", "DESCRIBE")}}, out
    out, _ = run(base + ["--list", "--principal", "User:alice"])
    assert out.startswith("ACLs for principal `User:alice`\n"), out
    assert len(listing(out)) == 5, out
    harness.log("acls-cli: --producer --idempotent, transactional ids, "
                "SCRAM listing")

    # without a principal: every ACL of the resource
    out, _ = run(base + ["--remove", "--force", "--group", "g1"])
    assert "Removed ACLs for resource `%s`" % g1 in out, out
    out, _ = run(base + ["--list", "--group", "g1"])
    assert listing(out) == {}, out
    run(base + ["--remove", "--force", "--transactional-id", "tx-",
                "--resource-pattern-type", "prefixed"])
    out, _ = run(base + ["--list", "--transactional-id", "tx-",
                         "--resource-pattern-type", "any"])
    assert listing(out) == {}, out

    # User:ANONYMOUS on the PLAINTEXT listener administers nothing
    _, err = run(["--bootstrap-server", b.bootstrap, "--add",
                  "--allow-principal", "User:ANONYMOUS", "--operation",
                  "All", "--topic", "secret"], rc=1)
    one_line(err, r"(?i)^kafka-acls: .*authoriz", "ANONYMOUS --add")
    _, err = run(["--bootstrap-server", b.bootstrap, "--list"], rc=1)
    one_line(err, r"(?i)^kafka-acls: .*authoriz", "ANONYMOUS --list")
    out, _ = run(base + ["--list"])
    assert res("TOPIC", "secret") in listing(out), out
    assert all("ANONYMOUS" not in e for es in listing(out).values()
               for e in es), out
    config_errors(sp)


def test():
    usage_errors()
    check_disabled()
    b = acl_broker("acl-cli", USERS, [
        "broker.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256"])
    with b:
        check_acls(b)


if __name__ == "__main__":
    harness.run(test, timeout=300)
