"""A broker follows one moldau-controller (started here by hand, not by
moldaud):
it registers and is unfenced, a topic created with confluent-kafka's
AdminClient through the broker is created by the controller (its image
counts it) and appears in the broker's registry with the controller's
topic id, kcat round-trips records through it, a deletion removes it from
the broker, and a broker that dies is fenced after the session
timeout."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Broker, kcat_roundtrip_ok, wait_for  # noqa: E402

CTL_BIN = os.path.join(harness.BUILDDIR, "controller", "moldau-controller")
SESSION_MS = 3000
TOPIC = "ctl-topic"
IMAGE_RE = re.compile(r"controller 1: image at offset \d+: (\d+) brokers "
                      r"\((\d+) fenced\), (\d+) topics")


def image(path):
    with open(path) as f:
        m = IMAGE_RE.findall(f.read())
    return tuple(int(x) for x in m[-1]) if m else None


def text(path):
    with open(path) as f:
        return f.read()


def main():
    from confluent_kafka.admin import AdminClient, NewTopic

    tmp = harness.mkdtemp("moldau-ctl-")
    port = harness.free_port()
    clog = os.path.join(tmp, "c1.log")
    voters = "1@127.0.0.1:%d" % port
    with open(clog, "wb") as f:
        ctl = subprocess.Popen(
            [CTL_BIN, "--set", "node.id=1", "--set", "node.roles=controller",
             "--set", "cluster.controllers=" + voters,
             "--set", "cluster.broker.session.timeout.ms=%d" % SESSION_MS,
             "--set", "node.data_dir=" + os.path.join(tmp, "c1")],
            stdout=f, stderr=subprocess.STDOUT)
    harness._live_procs.append(ctl)
    try:
        wait_for(lambda: "controller 1 ready:" in text(clog), 10,
                 "controller ready")
        b = Broker(sets=["node.id=2", "node.roles=broker",
                         "cluster.controllers=" + voters], name="broker")
        b.supervised = False
        b.start()
        wait_for(lambda: "controller 1: broker 2 is alive: unfencing it"
                 in text(clog), 15, "broker registered and unfenced")
        wait_for(lambda: (image(clog) or (0, 1, 0))[:2] == (1, 0), 15,
                 "image with one unfenced broker")
        harness.log("broker 2 registered and unfenced")

        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        fs = admin.create_topics([NewTopic(TOPIC, 3, 1)],
                                 operation_timeout=10)
        fs[TOPIC].result(timeout=20)
        assert "controller 1: creating topic %s (3 partitions" % TOPIC \
            in text(clog), text(clog)[-3000:]
        wait_for(lambda: (image(clog) or (0, 0, 0))[2] == 1, 10,
                 "controller image with the topic")
        md = admin.list_topics(timeout=10)
        assert TOPIC in md.topics, md.topics
        assert len(md.topics[TOPIC].partitions) == 3
        m = re.search(r"broker 2: topic %s \(id (\S+)\) from the "
                      r"controller's metadata" % TOPIC, b.stderr())
        assert m, b.stderr_tail()
        with open(os.path.join(b.data_dir, TOPIC + "-2",
                               "partition.metadata")) as f:
            assert m.group(1) in f.read()
        harness.log("topic %s created by the controller, id %s" %
                    (TOPIC, m.group(1)))

        kcat_roundtrip_ok(b.bootstrap, TOPIC)

        fs = admin.delete_topics([TOPIC], operation_timeout=10)
        fs[TOPIC].result(timeout=20)
        md = admin.list_topics(timeout=10)
        assert TOPIC not in md.topics, md.topics
        assert not os.path.exists(os.path.join(b.data_dir, TOPIC + "-0"))
        wait_for(lambda: (image(clog) or (0, 0, 1))[2] == 0, 10,
                 "controller image without the topic")
        harness.log("topic deleted on the controller and the broker")

        # Gone without a word (SIGKILL; a clean stop would be a
        # controlled shutdown): fenced once the session times out.
        b.kill()
        wait_for(lambda: "broker 2 sent no heartbeat" in text(clog),
                 SESSION_MS / 1000.0 + 10, "fencing")
        wait_for(lambda: (image(clog) or (0, 0, 0))[:2] == (1, 1), 10,
                 "image with the broker fenced")
        harness.log("stopped broker fenced after the session timeout")
    finally:
        if ctl.poll() is None:
            ctl.terminate()
        try:
            ctl.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ctl.kill()
            ctl.wait()


if __name__ == "__main__":
    harness.run(main, timeout=120)
