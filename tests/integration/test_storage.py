"""Storage format: `moldau storage format`, `kafka-storage.sh random-uuid`
and `format -t ID -c FILE`, and a broker that refuses an unformatted or
foreign data dir unless node.auto_format formats it, or one that another
broker is using."""

import os
import re
import subprocess

import harness

MOLDAU_BIN = os.path.join(harness.BUILDDIR, "tools", "moldau")
KAFKA_STORAGE = os.path.join(harness.SRCDIR, "tools", "kafka-storage.sh")
UUID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def run(av, rc=0):
    env = dict(os.environ)
    # the wrapper runs "moldau" from PATH when it is not beside it
    env["PATH"] = os.path.dirname(MOLDAU_BIN) + os.pathsep + env["PATH"]
    cp = subprocess.run(av, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=60, env=env)
    out, err = cp.stdout.decode(), cp.stderr.decode()
    assert cp.returncode == rc, "%s: status %d, want %d\n%s%s" % (
        av, cp.returncode, rc, out, err)
    return out, err


def meta(data_dir):
    with open(os.path.join(data_dir, "meta.properties")) as f:
        return dict(l.strip().split("=", 1) for l in f
                    if "=" in l and not l.startswith("#"))


def broker_refuses(config, data_dir, sets, want):
    av = [harness.BROKER_BIN, "--config", config,
          "--set", "node.data_dir=" + data_dir,
          "--set", "broker.listeners=PLAINTEXT://127.0.0.1:0"]
    for s in sets:
        av += ["--set", s]
    cp = subprocess.run(av, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=30)
    err = cp.stderr.decode()
    assert cp.returncode == 1, "broker status %d on %s\n%s" % (
        cp.returncode, data_dir, err)
    assert re.search(want, err), "want %r in:\n%s" % (want, err)
    harness.log("broker refused:", re.search(want, err).group(0))


def main_test():
    d = harness.mkdtemp("moldau-storage-")
    config = os.path.join(d, "moldau.yaml")
    with open(config, "w") as f:
        f.write("node:\n  id: 4\n  auto_format: false\n")
    data = os.path.join(d, "data")

    # random-uuid: Kafka's 22-character base64url form, new every time
    a, _ = run([MOLDAU_BIN, "storage", "random-uuid"])
    b, _ = run([KAFKA_STORAGE, "random-uuid"])
    a, b = a.strip(), b.strip()
    assert UUID_RE.match(a) and UUID_RE.match(b) and a != b, (a, b)

    # an unformatted dir is refused, with the command that fixes it
    broker_refuses(config, data, [], r"data dir \S+ is not formatted \(no "
                   r"meta\.properties\): run 'moldau storage format")

    # format, then the broker starts on it
    out, _ = run([MOLDAU_BIN, "storage", "format", "--cluster-id", a,
                  "--config", config, "--set", "node.data_dir=" + data])
    assert "Formatting %s with cluster.id %s" % (data, a) in out, out
    assert meta(data) == {"version": "1", "cluster.id": a,
                          "node.id": "4"}, meta(data)
    br = harness.Broker(config=open(config).read())
    br.data_dir = data
    with br:
        harness.kcat_roundtrip_ok(br.bootstrap, "formatted")
        # a second broker on the same data dir is refused, naming the
        # process that holds it; the first one keeps serving
        holder = br.children()["moldau-broker"]
        broker_refuses(config, data, [],
                       r"%s is in use by another process \(pid %d\)" %
                       (re.escape(data), holder))
        harness.kcat_roundtrip_ok(br.bootstrap, "still-serving")
    assert meta(data)["cluster.id"] == a

    # formatting again: refused, unless told to accept the same cluster
    _, err = run([MOLDAU_BIN, "storage", "format", "--cluster-id", a,
                  "--config", config, "--set", "node.data_dir=" + data],
                 rc=1)
    assert "formatted already" in err, err
    run([MOLDAU_BIN, "storage", "format", "--cluster-id", a, "--config",
         config, "--set", "node.data_dir=" + data, "--ignore-formatted"])
    _, err = run([MOLDAU_BIN, "storage", "format", "--cluster-id", b,
                  "--config", config, "--set", "node.data_dir=" + data,
                  "-g"], rc=1)
    assert "formatted for cluster %s already" % a in err, err
    run([MOLDAU_BIN, "storage", "format", "--cluster-id", "bad id!",
         "--config", config], rc=2)
    run([MOLDAU_BIN, "storage", "format", "--config", config], rc=2)

    # a data dir of another cluster, or of another node, is refused
    broker_refuses(config, data, ["cluster.id=" + b],
                   r"data dir \S+ belongs to cluster %s, but cluster\.id "
                   r"is %s" % (a, b))
    broker_refuses(config, data, ["node.id=5"],
                   r"data dir \S+ belongs to node 4, but node\.id is 5")

    # kafka-storage.sh format -t ID -c FILE, and info
    data2 = os.path.join(d, "data2")
    with open(config, "a") as f:
        f.write("  data_dir: %s\n" % data2)
    run([KAFKA_STORAGE, "format", "-t", b, "-c", config])
    assert meta(data2)["cluster.id"] == b
    out, _ = run([KAFKA_STORAGE, "info", "-c", config])
    assert out.strip() == "%s: cluster.id=%s node.id=4" % (data2, b), out

    # node.auto_format: true formats a fresh dir with the configured id
    data3 = os.path.join(d, "data3")
    br = harness.Broker(sets=["node.auto_format=true", "cluster.id=" + a])
    br.data_dir = data3
    with br:
        harness.kcat(["-L", "-b", br.bootstrap])
    assert "formatted data dir" in br.stderr()
    assert meta(data3) == {"version": "1", "cluster.id": a,
                           "node.id": "1"}, meta(data3)


if __name__ == "__main__":
    harness.run(main_test)
