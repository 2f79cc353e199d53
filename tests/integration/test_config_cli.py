"""Configuration errors and overrides on the broker's command line: bad
YAML files and bad --set values exit 1 naming file:line: key (or the
--set argument); a good file applies; --set overrides it; a list key takes
comma-separated values."""

import json
import os
import re
import socket
import struct
import subprocess

import harness
from harness import BROKER_BIN, Broker


def run_broker(args, timeout=20):
    """Run the broker expecting it to refuse to start; returns (status,
    stderr text)."""
    d = harness.mkdtemp("moldau-cfg-")
    av = [BROKER_BIN, "--set", "node.data_dir=" + os.path.join(d, "data"),
          "--set", "broker.listeners=PLAINTEXT://127.0.0.1:0"] + args
    try:
        cp = subprocess.run(av, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout, cwd=d)
    except subprocess.TimeoutExpired:
        raise AssertionError("broker did not exit within %ds: %s" % (
            timeout, av))
    return cp.returncode, (cp.stdout + cp.stderr).decode("utf-8", "replace")


def write(text):
    d = harness.mkdtemp("moldau-cfg-")
    p = os.path.join(d, "moldau.yaml")
    with open(p, "w") as f:
        f.write(text)
    return p


def expect_error(args, patterns, what):
    rc, out = run_broker(args)
    assert rc == 1, "%s: exit status %d, want 1\n%s" % (what, rc, out)
    lines = out.splitlines()
    for pat in patterns:
        rx = re.compile(pat)
        assert any(rx.search(ln) for ln in lines), \
            "%s: no line matching %r in:\n%s" % (what, pat, out)
    harness.log("%s: exit 1, %r" % (what, [ln for ln in lines if ln][:3]))


def file_errors():
    # Unknown key (line 4).
    p = write("node:\n  id: 1\nbroker:\n  num.partitionz: 3\n")
    expect_error(["--config", p],
                 [r"^%s:4: broker\.num\.partitionz: \S" % re.escape(p)],
                 "unknown key in file")
    # Out-of-range value (line 2).
    p = write("broker:\n  num.partitions: 0\n")
    expect_error(["--config", p],
                 [r"^%s:2: broker\.num\.partitions: \S" % re.escape(p)],
                 "out-of-range value in file")
    # Wrong type (line 3) and, in the same file, an unknown section key:
    # every error is reported, each on its own line.
    p = write("broker:\n  num.partitions: 1\n  socket.request.max.bytes: "
              "lots\nnode:\n  nonsense: true\n")
    expect_error(["--config", p],
                 [r"^%s:3: broker\.socket\.request\.max\.bytes: \S" %
                  re.escape(p),
                  r"^%s:5: node\.nonsense: \S" % re.escape(p)],
                 "two errors in one file")
    # Broken YAML syntax.
    p = write("broker:\n  num.partitions: [1\n")
    expect_error(["--config", p], [r"^%s:\d+: " % re.escape(p)],
                 "malformed YAML")
    # Missing file.
    p = os.path.join(harness.mkdtemp(), "absent.yaml")
    expect_error(["--config", p], [re.escape(p)], "missing config file")


def set_errors():
    expect_error(["--set", "broker.num.partitions=abc"],
                 [r"^--set broker\.num\.partitions=abc: \S"],
                 "--set with a non-integer")
    expect_error(["--set", "broker.num.partitions=0"],
                 [r"^--set broker\.num\.partitions=0: \S"],
                 "--set out of range")
    expect_error(["--set", "broker.no.such.key=1"],
                 [r"^--set broker\.no\.such\.key=1: \S"],
                 "--set of an unknown key")
    expect_error(["--set", "broker.num.partitions"],
                 [r"^--set broker\.num\.partitions: \S"],
                 "--set without a value")


def partitions_of(b, topic):
    harness.kcat(["-P", "-b", b.bootstrap, "-t", topic],
                 input=b"one\n")
    md = json.loads(harness.kcat(["-L", "-J", "-b", b.bootstrap, "-t",
                                  topic]).stdout)
    t = [t for t in md["topics"] if t["topic"] == topic]
    assert len(t) == 1, "topic %s missing: %r" % (topic, md)
    return len(t[0]["partitions"])


def api_versions_ok(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(struct.pack(">ihhih", 10, 18, 0, 5, -1))
        h = b""
        while len(h) < 10:
            c = s.recv(10 - len(h))
            assert c, "port %d closed the connection" % port
            h += c
        n, corr, err = struct.unpack(">iih", h)
        return corr == 5 and err == 0
    finally:
        s.close()


def good_config():
    cfg = ("node:\n  id: 1\nbroker:\n  num.partitions: 2\n"
           "  auto.create.topics.enable: true\n")
    with Broker(config=cfg) as b:
        n = partitions_of(b, "from-file")
        assert n == 2, "num.partitions 2 from the file gave %d" % n
    with Broker(config=cfg, sets=["broker.num.partitions=3"]) as b:
        n = partitions_of(b, "from-set")
        assert n == 3, "--set num.partitions=3 over the file gave %d" % n
    harness.log("config file applies; --set overrides it")


def list_set():
    # Two listeners in one --set (the harness's own single-listener --set
    # comes first; the later one wins).
    p1, p2 = harness.free_port(), harness.free_port()
    b = Broker(sets=["broker.listeners=PLAINTEXT://127.0.0.1:%d,"
                     "PLAINTEXT://127.0.0.1:%d" % (p1, p2)])
    with b:
        assert b.port in (p1, p2), "ready on %d, listeners %d,%d" % (
            b.port, p1, p2)
        for p in (p1, p2):
            assert api_versions_ok(p), "listener %d does not answer" % p
    harness.log("--set list with commas: listeners %d and %d" % (p1, p2))


def check_only():
    """--check validates and exits without serving."""
    p = write("broker:\n  num.partitions: 4\n")
    rc, out = run_broker(["--config", p, "--check"])
    assert rc == 0, "--check of a good file: status %d\n%s" % (rc, out)
    assert "ready:" not in out, "--check started serving:\n%s" % out
    p = write("broker:\n  num.partitions: -4\n")
    expect_error(["--config", p, "--check"],
                 [r"^%s:2: broker\.num\.partitions: \S" % re.escape(p)],
                 "--check of a bad file")


def test():
    assert os.access(BROKER_BIN, os.X_OK), "%s missing" % BROKER_BIN
    file_errors()
    check_only()
    set_errors()
    good_config()
    list_set()


if __name__ == "__main__":
    harness.run(test)
