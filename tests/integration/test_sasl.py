"""SASL listeners: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.

One broker with PLAINTEXT, SASL_PLAINTEXT and SASL_SSL listeners and two
users (broker.sasl.users):
- kcat (PLAIN) and confluent-kafka (SCRAM-SHA-256, SCRAM-SHA-512, and
  SCRAM-SHA-512 over TLS) produce and consume; each listener advertises
  its own endpoints; kafka-python (PLAIN through SaslHandshake v0 and a
  raw token) too;
- a wrong password and an unknown user fail with "Authentication failed";
- a request other than ApiVersions/SaslHandshake/SaslAuthenticate before
  authentication closes the connection; a mechanism not enabled gets
  UNSUPPORTED_SASL_MECHANISM with the list of enabled ones;
- a SASL listener without users stops the broker at start.
"""

import re
import struct
import time
import types

import harness
from harness import Broker
from test_bad_input import (API_METADATA, Reader, connect, expect_closed,
                            frame, header_v1, recv_frame, string)
from test_confluent import consume_all, produce
from test_tls import make_certs

API_SASL_HANDSHAKE = 17
USERS = "alice:alice-secret,bob:b0b-pw"
PORT_RE = r"ready: .*%s://127\.0\.0\.1:([0-9]+)"


def port_of(b, name):
    """The port of b's listener name, from the ready line that lists every
    listener (the supervisor's, written just after the broker's own)."""
    deadline = time.monotonic() + 10
    while True:
        m = re.search(PORT_RE % name, b.stderr())
        if m or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert m, "no %s listener in:\n%s" % (name, b.stderr_tail())
    return "127.0.0.1:" + m.group(1)


def kcat_sasl(bs, mech, user, pw, args, input=None, check=True,
              extra=()):
    return harness.kcat(["-b", bs, "-X", "security.protocol=" +
                         ("sasl_ssl" if extra else "sasl_plaintext"),
                         "-X", "sasl.mechanisms=" + mech,
                         "-X", "sasl.username=" + user,
                         "-X", "sasl.password=" + pw] + list(extra) +
                        list(args), input=input, timeout=60, check=check)


def conf(mech, user, pw, ca=None):
    c = {"security.protocol": "SASL_SSL" if ca else "SASL_PLAINTEXT",
         "sasl.mechanisms": mech, "sasl.username": user,
         "sasl.password": pw}
    if ca:
        c["ssl.ca.location"] = ca
    return c


def check_clients(b, p):
    sp = port_of(b, "SASL_PLAINTEXT")
    ss = port_of(b, "SASL_SSL")
    lines = "".join("sasl-%d\n" % i for i in range(100))
    kcat_sasl(sp, "PLAIN", "alice", "alice-secret",
              ["-P", "-t", "sasl-kcat"], input=lines.encode())
    out = kcat_sasl(sp, "PLAIN", "bob", "b0b-pw",
                    ["-C", "-t", "sasl-kcat", "-e", "-q"]).stdout.decode()
    assert out.split() == lines.split(), out[:200]
    md = kcat_sasl(sp, "PLAIN", "alice", "alice-secret",
                   ["-L"]).stdout.decode()
    assert "broker 1 at %s" % sp in md, md
    for mech, bs, ca in (("SCRAM-SHA-256", sp, None),
                         ("SCRAM-SHA-512", sp, None),
                         ("SCRAM-SHA-512", ss, p("ca.pem"))):
        topic = "sasl-" + mech.lower() + ("-tls" if ca else "")
        c = conf(mech, "alice", "alice-secret", ca)
        msgs = [(None, b"%s-%d" % (mech.encode(), i), 0, None)
                for i in range(500)]
        try:
            res = produce(bs, topic, msgs, c)
        except AssertionError as e:
            raise AssertionError("%s: %s\n%s" % (mech, e, b.stderr_tail()))
        assert None not in res, "%s: undelivered" % mech
        got = consume_all(bs, topic, 1, 500, c)[0]
        assert [v for _, _, v in got] == [m[1] for m in msgs], mech
        harness.log("%s%s: 500 messages produced and consumed" %
                    (mech, " over TLS" if ca else ""))
    # wrong password, unknown user, for each mechanism
    for mech in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        for user, pw in (("alice", "wrong"), ("mallory", "alice-secret")):
            cp = kcat_sasl(sp, mech, user, pw, ["-L", "-m", "5"],
                           check=False)
            assert cp.returncode != 0, "%s %s/%s accepted" % (mech, user,
                                                              pw)
            assert b"Authentication failed" in cp.stderr, \
                cp.stderr[-400:]
    out = kcat_sasl(ss, "PLAIN", "bob", "b0b-pw",
                    ["-C", "-t", "sasl-kcat", "-e", "-q"],
                    extra=["-X", "ssl.ca.location=" + p("ca.pem")])
    assert out.stdout.decode().split() == lines.split()
    harness.log("PLAIN (kcat), SCRAM-SHA-256/512 (confluent-kafka), "
                "SASL_SSL; wrong passwords and unknown users refused")


def check_kafka_python(b):
    """kafka-python 2.0.2 authenticates with SaslHandshake v0 followed by
    a raw PLAIN token; a wrong password closes the connection."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.errors import NoBrokersAvailable
    sp = port_of(b, "SASL_PLAINTEXT")
    auth = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
            "sasl_plain_username": "alice",
            "sasl_plain_password": "alice-secret"}
    p = KafkaProducer(bootstrap_servers=sp, **auth)
    for i in range(100):
        p.send("sasl-kafka-python", b"kp-%d" % i)
    p.flush()
    p.close()
    c = KafkaConsumer("sasl-kafka-python", bootstrap_servers=sp,
                      auto_offset_reset="earliest",
                      consumer_timeout_ms=10000, **auth)
    got = [m.value for m in c]
    c.close()
    assert got == [b"kp-%d" % i for i in range(100)], got[:5]
    bad = dict(auth, sasl_plain_password="wrong")
    try:
        KafkaProducer(bootstrap_servers=sp, **bad).close()
        raise AssertionError("kafka-python with a wrong password accepted")
    except NoBrokersAvailable:
        pass
    assert "SASL PLAIN (v0): Authentication failed" in b.stderr()
    harness.log("kafka-python: SASL PLAIN (handshake v0, raw token): 100 "
                "messages produced and consumed; a wrong password refused")


def check_protocol(b):
    sp = port_of(b, "SASL_PLAINTEXT")
    a = types.SimpleNamespace(port=int(sp.split(":")[1]))
    s = connect(a)
    s.sendall(frame(header_v1(API_METADATA, 1, 1) + struct.pack(">i", -1)))
    expect_closed(s, "Metadata before SASL authentication")
    s = connect(a)
    s.sendall(frame(header_v1(API_SASL_HANDSHAKE, 1, 2) +
                    string("GSSAPI")))
    r = Reader(recv_frame(s))
    assert r.unpack("i") == 2
    err = r.unpack("h")
    mechs = [r.string() for _ in range(r.unpack("i"))]
    r.done()
    assert err == 33, "UNSUPPORTED_SASL_MECHANISM expected, got %d" % err
    assert mechs == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], mechs
    s.close()
    harness.log("before authentication: Metadata closes the connection; "
                "GSSAPI gets error 33 and %s" % mechs)


def check_bad_config():
    b = Broker(sets=["broker.listeners=SASL_PLAINTEXT://127.0.0.1:0",
                     "node.roles=broker"], name="sasl-bad")
    b.supervised = False
    try:
        b.start()
        raise AssertionError("broker started without sasl.users")
    except AssertionError as e:
        assert "broker.sasl.users" in str(e), str(e)[-600:]
    finally:
        if b.alive():
            b.kill()


def test():
    p = make_certs(harness.mkdtemp("moldau-sasl-"))
    b = Broker(sets=[
        "broker.listeners=PLAINTEXT://127.0.0.1:0,"
        "SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        "broker.ssl.keystore.location=" + p("server.pem"),
        "broker.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "broker.sasl.users=" + USERS], name="sasl").start()
    try:
        check_clients(b, p)
        check_kafka_python(b)
        check_protocol(b)
    finally:
        b.stop()
    check_bad_config()


if __name__ == "__main__":
    harness.run(test, timeout=300)
