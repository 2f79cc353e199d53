"""TLS listeners (SSL://), with certificates made by openssl(1) here.

- A broker with PLAINTEXT and SSL listeners: kcat and confluent-kafka
  produce and consume over TLS (records of 10 KiB too, which plaintext
  sends with sendfile and TLS reads into memory); what was written over
  one listener reads back over the other; Metadata and FindCoordinator
  answer with the endpoints of the listener the client used.
- A client trusting another CA fails the handshake; a plaintext client on
  the SSL port gets nowhere; the broker keeps serving both.
- ssl.client.auth=required: a client without a certificate is refused, one
  with a certificate from the truststore's CA gets in.
- An SSL listener without a usable keystore stops the broker at start with
  a message naming the key or the file.
"""

import os
import re
import subprocess

import harness
from harness import Broker
from test_confluent import consume_all, create_topics, produce

SSL_RE = re.compile(r"ready: .*SSL://127\.0\.0\.1:([0-9]+)")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True, timeout=60)


def make_certs(d):
    """CA, server (localhost, 127.0.0.1), client, and a second CA."""
    p = lambda n: os.path.join(d, n)  # noqa: E731
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                p(ca + ".key"), "-out", p(ca + ".pem"), "-days", "2",
                "-subj", "/CN=moldau %s" % ca)
    with open(p("san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, ext in (("server", True), ("client", False)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                p(name + ".key"), "-out", p(name + ".csr"), "-subj",
                "/CN=moldau-test-%s" % name)
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.pem"),
                "-CAkey", p("ca.key"), "-CAcreateserial", "-out",
                p(name + ".crt"), "-days", "2",
                *(["-extfile", p("san.ext")] if ext else []))
    with open(p("server.pem"), "w") as out:
        for part in ("server.crt", "server.key"):
            with open(p(part)) as f:
                out.write(f.read())
    return p


def kcat(args, input=None, check=True):
    return harness.kcat(args, input=input, timeout=60, check=check)


def ssl_args(bootstrap, ca, cert=None, key=None):
    a = ["-b", bootstrap, "-X", "security.protocol=ssl",
         "-X", "ssl.ca.location=" + ca]
    if cert:
        a += ["-X", "ssl.certificate.location=" + cert,
              "-X", "ssl.key.location=" + key]
    return a


def start(p, name, extra=()):
    b = Broker(sets=["broker.listeners=PLAINTEXT://127.0.0.1:0,"
                     "SSL://127.0.0.1:0",
                     "broker.ssl.keystore.location=" + p("server.pem")] +
               list(extra), name=name).start()
    m = SSL_RE.search(b.stderr())
    assert m, "no SSL listener in the ready line:\n" + b.stderr_tail()
    return b, "127.0.0.1:" + m.group(1)


def check_listeners(p):
    b, sslbs = start(p, "tls")
    try:
        ca = p("ca.pem")
        lines = "".join("tls-%d\n" % i for i in range(200))
        kcat(ssl_args(sslbs, ca) + ["-P", "-t", "tls-kcat"],
             input=lines.encode())
        out = kcat(ssl_args(sslbs, ca) + ["-C", "-t", "tls-kcat", "-e",
                                          "-q"]).stdout.decode()
        assert out.split() == lines.split(), "kcat over TLS: %r" % out[:200]
        # the same records over the plaintext listener
        out = kcat(["-b", b.bootstrap, "-C", "-t", "tls-kcat", "-e",
                    "-q"]).stdout.decode()
        assert out.split() == lines.split()
        # Metadata: each listener names its own endpoints
        md = kcat(ssl_args(sslbs, ca) + ["-L"]).stdout.decode()
        assert "broker 1 at %s" % sslbs in md, md
        md = kcat(["-b", b.bootstrap, "-L"]).stdout.decode()
        assert "broker 1 at %s" % b.bootstrap in md, md
        # confluent-kafka over TLS, large records, a consumer group
        conf = {"security.protocol": "SSL", "ssl.ca.location": ca}
        create_topics(b.bootstrap, [("tls-big", 3)])
        vals = [os.urandom(10240) for _ in range(600)]
        res = produce(sslbs, "tls-big", [(None, v, i % 3, None)
                                         for i, v in enumerate(vals)], conf)
        assert None not in res
        got = consume_all(sslbs, "tls-big", 3, len(vals), conf)
        back = {v for recs in got.values() for _, _, v in recs}
        assert back == set(vals), "%d of %d records back over TLS" % (
            len(back & set(vals)), len(vals))
        from confluent_kafka import Consumer
        c = Consumer(dict(conf, **{"bootstrap.servers": sslbs,
                                   "group.id": "tls-group",
                                   "auto.offset.reset": "earliest"}))
        c.subscribe(["tls-kcat"])
        seen = []
        for _ in range(60):
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error() is None:
                    seen.append(m.value())
            if len(seen) >= 200:
                break
        c.commit(asynchronous=False)
        c.close()
        assert len(seen) == 200, "group consumer over TLS read %d" % \
            len(seen)
        # a client trusting another CA, and plaintext on the TLS port
        cp = kcat(ssl_args(sslbs, p("other-ca.pem")) +
                  ["-L", "-m", "5"], check=False)
        assert cp.returncode != 0, "handshake with a foreign CA succeeded"
        assert b"certificate verify failed" in cp.stderr, cp.stderr[-400:]
        cp = kcat(["-b", sslbs, "-L", "-m", "3"], check=False)
        assert cp.returncode != 0, "plaintext metadata from the SSL port"
        harness.kcat_roundtrip_ok(b.bootstrap, "tls-after", 10)
        out = kcat(ssl_args(sslbs, ca) + ["-C", "-t", "tls-kcat", "-e",
                                          "-q"]).stdout.decode()
        assert len(out.split()) == 200
        harness.log("TLS listener %s: kcat, confluent-kafka (600 x 10 KiB, "
                    "a group) and the plaintext listener agree" % sslbs)
    finally:
        b.stop()


def check_client_auth(p):
    b, sslbs = start(p, "tls-mtls", [
        "broker.ssl.client.auth=required",
        "broker.ssl.truststore.location=" + p("ca.pem")])
    try:
        ca = p("ca.pem")
        cp = kcat(ssl_args(sslbs, ca) + ["-L", "-m", "5"], check=False)
        assert cp.returncode != 0, "no client certificate, yet metadata"
        kcat(ssl_args(sslbs, ca, p("client.crt"), p("client.key")) +
             ["-P", "-t", "mtls"], input=b"with-cert\n")
        out = kcat(ssl_args(sslbs, ca, p("client.crt"), p("client.key")) +
                   ["-C", "-t", "mtls", "-e", "-q"]).stdout
        assert out.split() == [b"with-cert"], out
        harness.log("ssl.client.auth=required: refused without a client "
                    "certificate, served with one")
    finally:
        b.stop()


def check_bad_config(p):
    for extra, want in (
            ([], "broker.ssl.keystore.location"),
            (["broker.ssl.keystore.location=/nonexistent/k.pem"],
             "/nonexistent/k.pem"),
            (["broker.ssl.keystore.location=" + p("ca.key")],
             p("ca.key")),
            (["broker.ssl.keystore.location=" + p("server.pem"),
              "broker.ssl.client.auth=required"],
             "broker.ssl.truststore.location")):
        b = Broker(sets=["broker.listeners=SSL://127.0.0.1:0",
                         "node.roles=broker"] + extra, name="tls-bad")
        b.supervised = False
        try:
            b.start()
            raise AssertionError("broker started with %r" % extra)
        except AssertionError as e:
            assert "exited with status" in str(e), str(e)[-600:]
            assert want in str(e), "no mention of %s in:\n%s" % (
                want, str(e)[-600:])
        finally:
            if b.alive():
                b.kill()
    harness.log("SSL listener without a usable keystore: refused at start, "
                "naming the key or the file")


def test():
    d = harness.mkdtemp("moldau-tls-")
    p = make_certs(d)
    check_listeners(p)
    check_client_auth(p)
    check_bad_config(p)


if __name__ == "__main__":
    harness.run(test, timeout=300)
