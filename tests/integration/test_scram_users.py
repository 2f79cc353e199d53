"""SCRAM users made at run time (KIP-554), as Kafka runbooks do it.

A broker with PLAINTEXT and SASL_PLAINTEXT listeners, PLAIN, SCRAM-SHA-256
and SCRAM-SHA-512 enabled and one configured user (admin, for PLAIN):
- kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[...],SCRAM-SHA-512=
  [...]' --entity-type users makes alice; --describe lists her mechanisms
  and iteration counts; kcat authenticates as alice with each mechanism and
  its password, and is refused with another password;
- too few iterations and deleting a credential that does not exist are
  refused with Kafka's error codes; --delete-config removes one mechanism;
- the credentials survive a restart (they are in the metadata log);
- with --command-config, kafka-configs reaches the SASL_PLAINTEXT listener
  itself: as a PLAIN admin it makes carol, and as alice over SCRAM-SHA-256
  it lists the users, and over SASL_SSL with the broker's CA; a wrong SCRAM
  password and a CA that did not sign the broker are refused with one error
  line each; topic configs go through librdkafka with the same file.
"""

import os

import harness
from harness import Broker
from test_cli import run
from test_sasl import kcat_sasl, port_of
from test_tls import make_certs

USERS = ["--entity-type", "users", "--entity-name", "alice"]


def configs(bs, *args, rc=0):
    return run(["kafka-configs.sh", "--bootstrap-server", bs] + list(args),
               rc=rc)


def kcat_ok(sp, mech, pw, topic, n):
    lines = "".join("%s-%d\n" % (topic, i) for i in range(n)).encode()
    kcat_sasl(sp, mech, "alice", pw, ["-P", "-t", topic], input=lines)
    out = kcat_sasl(sp, mech, "alice", pw,
                    ["-C", "-t", topic, "-e", "-q"]).stdout
    assert out.split() == lines.split(), out[:200]


def kcat_refused(sp, mech, pw):
    cp = kcat_sasl(sp, mech, "alice", pw, ["-L", "-m", "5"], check=False)
    assert cp.returncode != 0, "%s with %s accepted" % (mech, pw)
    assert b"Authentication failed" in cp.stderr, cp.stderr[-400:]


def check(b):
    bs = b.bootstrap
    sp = port_of(b, "SASL_PLAINTEXT")
    # nobody yet
    kcat_refused(sp, "SCRAM-SHA-256", "alice-256")
    out, _ = configs(bs, "--alter", "--add-config",
                     "SCRAM-SHA-256=[iterations=8192,password=alice-256],"
                     "SCRAM-SHA-512=[password=alice-512]", *USERS)
    assert "Completed updating config for user alice." in out, out
    out, _ = configs(bs, "--describe", *USERS)
    assert out.strip() == ("SCRAM credential configs for user-principal "
                           "'alice' are SCRAM-SHA-256=iterations=8192, "
                           "SCRAM-SHA-512=iterations=4096"), out
    kcat_ok(sp, "SCRAM-SHA-256", "alice-256", "scram-256", 30)
    kcat_ok(sp, "SCRAM-SHA-512", "alice-512", "scram-512", 30)
    kcat_refused(sp, "SCRAM-SHA-256", "alice-512")
    kcat_refused(sp, "SCRAM-SHA-512", "wrong")
    harness.log("alice made with kafka-configs.sh; kcat SCRAM-SHA-256 and "
                "-512 produce and consume 30 messages each")

    # Kafka's checks: at least 4096 iterations; deleting what is not there
    out, err = configs(bs, "--alter", "--add-config",
                       "SCRAM-SHA-256=[iterations=1000,password=x]",
                       "--entity-type", "users", "--entity-name", "bob",
                       rc=1)
    assert "iterations" in (out + err).lower(), out + err
    out, err = configs(bs, "--alter", "--delete-config", "SCRAM-SHA-512",
                       "--entity-type", "users", "--entity-name", "bob",
                       rc=1)
    assert "not exist" in (out + err), out + err
    out, err = configs(bs, "--describe", "--entity-type", "users",
                       "--entity-name", "bob", rc=1)
    assert "bob" in out + err, out + err

    # one mechanism goes, the other stays
    configs(bs, "--alter", "--delete-config", "SCRAM-SHA-512", *USERS)
    out, _ = configs(bs, "--describe", "--entity-type", "users")
    assert out.strip() == ("SCRAM credential configs for user-principal "
                           "'alice' are SCRAM-SHA-256=iterations=8192"), out
    kcat_refused(sp, "SCRAM-SHA-512", "alice-512")
    kcat_ok(sp, "SCRAM-SHA-256", "alice-256", "scram-256b", 5)


def props(name, mech, user, pw, proto="SASL_PLAINTEXT", extra=""):
    module = "plain.PlainLoginModule" if mech == "PLAIN" else \
        "scram.ScramLoginModule"
    path = os.path.join(harness.mkdtemp("moldau-cc-"), name)
    with open(path, "w") as f:
        f.write("security.protocol=%s\nsasl.mechanism=%s\n"
                "sasl.jaas.config=org.apache.kafka.common.security.%s "
                "required username=\"%s\" password=\"%s\";\n%s" % (
                    proto, mech, module, user, pw, extra))
    return path


def check_command_config(b, certs):
    sasl_bs = port_of(b, "SASL_PLAINTEXT")
    admin = props("admin.properties", "PLAIN", "admin", "admin-pw")
    out, _ = configs(sasl_bs, "--command-config", admin, "--alter",
                     "--add-config", "SCRAM-SHA-512=[password=carol-512]",
                     "--entity-type", "users", "--entity-name", "carol")
    assert "Completed updating config for user carol." in out, out
    cp = kcat_sasl(sasl_bs, "SCRAM-SHA-512", "carol",
                   "carol-512", ["-L", "-m", "5"], check=False)
    assert cp.returncode == 0, cp.stderr[-400:]
    # the SCRAM client of our own connection, as alice
    alice = props("alice.properties", "SCRAM-SHA-256", "alice", "alice-256")
    out, _ = configs(sasl_bs, "--command-config", alice, "--describe",
                     "--entity-type", "users")
    assert sorted(out.strip().splitlines()) == [
        "SCRAM credential configs for user-principal 'alice' are "
        "SCRAM-SHA-256=iterations=8192",
        "SCRAM credential configs for user-principal 'carol' are "
        "SCRAM-SHA-512=iterations=4096"], out
    wrong = props("wrong.properties", "SCRAM-SHA-256", "alice", "nope")
    out, err = configs(sasl_bs, "--command-config", wrong, "--describe",
                       "--entity-type", "users", rc=1)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "authentication failed" in lines[0] and \
        "SASL_AUTHENTICATION_FAILED" in lines[0], err
    # SASL_SSL: the CA that signed the broker's certificate, then another
    ssl_bs = port_of(b, "SASL_SSL")
    tls = props("tls.properties", "SCRAM-SHA-512", "carol", "carol-512",
                "SASL_SSL", "ssl.ca.location=%s\n" % certs("ca.pem"))
    out, _ = configs(ssl_bs, "--command-config", tls, "--describe",
                     "--entity-type", "users", "--entity-name", "carol")
    assert out.strip() == ("SCRAM credential configs for user-principal "
                           "'carol' are SCRAM-SHA-512=iterations=4096"), out
    # Kafka's names for a PEM truststore; a JKS one is refused plainly
    kafka = props("kafka.properties", "SCRAM-SHA-512", "carol", "carol-512",
                  "SASL_SSL", "ssl.truststore.location=%s\n"
                  "ssl.truststore.type=PEM\n" % certs("ca.pem"))
    out, _ = configs(ssl_bs, "--command-config", kafka, "--describe",
                     "--entity-type", "users", "--entity-name", "carol")
    assert "'carol' are SCRAM-SHA-512" in out, out
    jks = props("jks.properties", "SCRAM-SHA-512", "carol", "carol-512",
                "SASL_SSL", "ssl.truststore.location=/etc/x.jks\n"
                "ssl.truststore.password=changeit\n")
    out, err = configs(ssl_bs, "--command-config", jks, "--describe",
                       "--entity-type", "users", rc=1)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "JKS (the default) is not supported" in \
        lines[0] and "jks.properties:" in lines[0], err
    other = props("other.properties", "SCRAM-SHA-512", "carol",
                  "carol-512", "SASL_SSL",
                  "ssl.ca.location=%s\n" % certs("other-ca.pem"))
    out, err = configs(ssl_bs, "--command-config", other, "--describe",
                       "--entity-type", "users", rc=1)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "TLS handshake" in lines[0] and \
        "certificate" in lines[0], err
    # topics: librdkafka with the same file, over SASL
    out, _ = configs(sasl_bs, "--command-config", alice, "--describe",
                     "--entity-type", "topics", "--entity-name", "scram-256")
    assert "scram-256" in out, out
    harness.log("--command-config: carol made as the PLAIN admin; users "
                "listed as alice over SCRAM-SHA-256 and as carol over "
                "SASL_SSL (ssl.ca.location, and Kafka's PEM truststore); "
                "a wrong password, a JKS truststore and a CA that did not "
                "sign the broker refused; topic configs described over "
                "SASL")


def test():
    certs = make_certs(harness.mkdtemp("moldau-scram-tls-"))
    # fixed ports: a restart comes back on them
    b = Broker(sets=[
        "broker.listeners=PLAINTEXT://127.0.0.1:%d,"
        "SASL_PLAINTEXT://127.0.0.1:%d,SASL_SSL://127.0.0.1:%d" % (
            harness.free_port(), harness.free_port(), harness.free_port()),
        "broker.ssl.keystore.location=" + certs("server.pem"),
        "broker.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "broker.sasl.users=admin:admin-pw"],
        name="scram-users")
    with b:
        check(b)
        check_command_config(b, certs)
        b.restart()
        sp = port_of(b, "SASL_PLAINTEXT")
        kcat_ok(sp, "SCRAM-SHA-256", "alice-256", "scram-after", 5)
        kcat_refused(sp, "SCRAM-SHA-512", "alice-512")
        harness.log("after a restart alice still authenticates with "
                    "SCRAM-SHA-256 only")


if __name__ == "__main__":
    harness.run(test)
