"""Issue #5, acceptance 2, with real brokers: three moldau-controller
processes and a moldau-broker on loopback.  Topics (one with a config
override) are created through the broker with confluent-kafka's
AdminClient and appear in every controller's image; the Raft leader is
SIGKILLed, a new one is elected within 5 s and further creations and a
config change through the broker succeed; the killed controller comes back
and catches up; at the end all three images are identical (same offset and
digest of brokers, topics, partitions and configs).  The controllers snapshot every few KB, so a second broker
started on an empty disk afterwards has to take its metadata from a
snapshot (FetchSnapshot) and serves every topic (kcat -L)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Broker, kcat, kcat_roundtrip_ok, wait_for  # noqa: E402
from test_controller import describe_quorum, free_ports  # noqa: E402

CTL_BIN = os.path.join(harness.BUILDDIR, "controller", "moldau-controller")
SNAP_BYTES = 1024
IMAGE_RE = re.compile(r"controller (\d+): image at offset (\d+): (\d+) brokers "
                      r"\((\d+) fenced\), (\d+) topics, digest (\w+)")


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


class Controllers:
    """Three moldau-controller processes on free ports; sets: extra
    --set overrides for every one of them."""

    def __init__(self, tmp, sets=None):
        self.tmp = tmp
        self.sets = list(sets) if sets is not None else [
            "cluster.metadata.log.max.record.bytes.between.snapshots=%d" %
            SNAP_BYTES]
        self.ports = free_ports(3)
        self.voters = ",".join("%d@127.0.0.1:%d" % (i + 1, p)
                               for i, p in enumerate(self.ports))
        self.procs = {}

    def log(self, n):
        return os.path.join(self.tmp, "c%d.log" % n)

    def start(self, n):
        with open(self.log(n), "ab") as f:
            p = subprocess.Popen(
                [CTL_BIN, "--set", "node.id=%d" % n,
                 "--set", "node.roles=controller",
                 "--set", "cluster.controllers=" + self.voters,
                 "--set", "node.data_dir=" + os.path.join(self.tmp,
                                                          "c%d" % n)] +
                [a for s in self.sets for a in ("--set", s)],
                stdout=f, stderr=subprocess.STDOUT)
        harness._live_procs.append(p)
        self.procs[n] = p

    def leader(self, nodes, timeout, min_epoch=0):
        def find():
            for n in nodes:
                try:
                    err, leader, epoch, _, _ = describe_quorum(
                        self.ports[n - 1])
                except OSError:
                    continue
                if err == 0 and leader == n and epoch > min_epoch:
                    return n, epoch
            return None
        return wait_for(find, timeout, "a leader among %s" % (nodes,), 0.05)

    def image(self, n):
        """The last (offset, brokers, fenced, topics, digest) logged."""
        m = [x for x in IMAGE_RE.findall(text(self.log(n)))
             if int(x[0]) == n]
        if not m:
            return None
        _, off, nb, nf, nt, dg = m[-1]
        return int(off), int(nb), int(nf), int(nt), dg

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def create(admin, names, parts=2, config=None):
    from confluent_kafka.admin import NewTopic
    fs = admin.create_topics([NewTopic(n, parts, 1, config=config or {})
                              for n in names], operation_timeout=20,
                             request_timeout=30)
    for n, f in fs.items():
        assert f.result(timeout=40) is None, n


def main():
    from confluent_kafka.admin import AdminClient, ConfigResource

    tmp = harness.mkdtemp("moldau-cluster-")
    q = Controllers(tmp)
    brokers = []
    try:
        for n in (1, 2, 3):
            q.start(n)
        leader, epoch = q.leader((1, 2, 3), 15)
        harness.log("controller %d leads epoch %d" % (leader, epoch))

        b = Broker(sets=["node.id=4", "node.roles=broker",
                         "cluster.controllers=" + q.voters], name="b4")
        b.supervised = False
        b.start()
        brokers.append(b)
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        first = ["cm-%02d" % i for i in range(12)]
        create(admin, first)
        create(admin, ["cm-conf"], 1, {"retention.ms": "123456"})
        want = len(first) + 1

        def all_have(ntopics):
            imgs = [q.image(n) for n in (1, 2, 3)]
            return imgs if all(i and i[3] == ntopics for i in imgs) \
                else None
        imgs = wait_for(lambda: all_have(want), 20,
                        "every controller's image with %d topics" % want)
        harness.log("all three images hold %d topics: %s" % (want, imgs))
        md = admin.list_topics(timeout=10)
        assert set(first) <= set(md.topics), sorted(md.topics)
        res = ConfigResource("topic", "cm-conf")
        cfg = admin.describe_configs([res])[res].result(timeout=20)
        assert cfg["retention.ms"].value == "123456", cfg["retention.ms"]

        # SIGKILL the leader: a new one within 5 s, and the broker
        # keeps creating topics and altering configs through it.
        q.procs[leader].kill()
        q.procs[leader].wait()
        t0 = time.monotonic()
        rest = tuple(n for n in (1, 2, 3) if n != leader)
        new, epoch2 = q.leader(rest, 5, min_epoch=epoch)
        took = time.monotonic() - t0
        harness.log("controller %d leads epoch %d, %.2fs after SIGKILL of "
                    "controller %d" % (new, epoch2, took, leader))
        assert took < 5.0, took
        second = ["cm-after-%02d" % i for i in range(8)]
        create(admin, second)
        res2 = ConfigResource("topic", "cm-conf",
                              set_config={"retention.ms": "654321"})
        admin.alter_configs([res2])[res2].result(timeout=40)
        wait_for(lambda: admin.describe_configs([res])[res].result(
            timeout=20)["retention.ms"].value == "654321", 20,
            "the altered config seen through the broker")
        want += len(second)
        kcat_roundtrip_ok(b.bootstrap, "cm-after-00")

        # The killed controller rejoins and catches up: same image
        # everywhere.
        q.start(leader)

        def same():
            imgs = [q.image(n) for n in (1, 2, 3)]
            if not all(i and i[3] == want for i in imgs):
                return None
            # the offset is where each last logged a change (no-op
            # entries do not change the image); the content must match
            return imgs if len({i[1:] for i in imgs}) == 1 else None
        imgs = wait_for(same, 30, "identical images on all three")
        harness.log("identical images after the rejoin: %s" % (imgs[0],))
        def snaps():
            return [f for n in (1, 2, 3) for f in os.listdir(
                os.path.join(tmp, "c%d" % n, "meta"))
                if f.endswith(".sqlite")]
        wait_for(snaps, 20, "a snapshot on the controllers")

        # A broker on an empty disk joins after the log was compacted
        # into snapshots: it loads one with FetchSnapshot.
        b5 = Broker(sets=["node.id=5", "node.roles=broker",
                          "cluster.controllers=" + q.voters], name="b5")
        b5.supervised = False
        b5.start()
        brokers.append(b5)
        assert "metadata image from snapshot" in b5.stderr(), \
            b5.stderr_tail()
        cp = kcat(["-L", "-b", b5.bootstrap, "-J"])
        names = {t["topic"] for t in json.loads(cp.stdout)["topics"]}
        assert set(first + second + ["cm-conf"]) <= names, sorted(names)
        ids = {t["topic"] for t in json.loads(cp.stdout)["topics"]}
        assert ids == names
        bl = {br["id"] for br in json.loads(cp.stdout)["brokers"]}
        assert bl == {4, 5}, bl
        harness.log("broker 5 took its metadata from a snapshot: %d topics"
                    % len(names))
        for br in brokers:
            assert br.stop() == 0, br.stderr_tail()
    finally:
        for br in brokers:
            if br.alive():
                br.kill()
        q.stop_all()


if __name__ == "__main__":
    harness.run(main)
