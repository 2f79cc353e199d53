"""Issue #6, acceptance 5 (and rack-aware placement with broker.rack): a partition moved from brokers {2,3,4} to
{3,4,5} under an acks=all load (AlterPartitionReassignments sent to a
broker, which forwards it to the controller) completes: broker 5 catches
up and joins the ISR, the controller finishes the reassignment
(ListPartitionReassignments empty, Metadata replicas [3,4,5]), nothing
acknowledged is lost, broker 5's copy is byte-identical to the others, and
broker 2 deletes its copy's data."""

import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402
import struct  # noqa: E402
from test_controller import uvarint  # noqa: E402
from test_controller_meta import call, cstr  # noqa: E402
from test_controller_partitions import Reader, reassign, \
    list_reassignments  # noqa: E402
from test_failover import Cluster, Writer  # noqa: E402

TOPIC = "ra-moved"


def log_bytes(b):
    out = b""
    for f in sorted(glob.glob(os.path.join(b.data_dir, TOPIC + "-0",
                                           "*.log"))):
        with open(f, "rb") as fh:
            out += fh.read()
    return out


def offset_for_epoch(port, topic, part, current, epoch):
    """OffsetForLeaderEpoch v4, one partition: (error, epoch, end)."""
    body = (struct.pack(">i", -1) + uvarint(2) + cstr(topic) + uvarint(2) +
            struct.pack(">iii", part, current, epoch) + b"\0" + b"\0" +
            b"\0")
    rd = Reader(call(port, 23, 4, body))
    rd.u("i")
    assert rd.uv() == 2
    rd.str()
    assert rd.uv() == 2
    err, _, lepoch, end = rd.u("hiiq")
    return err, lepoch, end


def main():
    from confluent_kafka.admin import NewTopic
    racks = {2: "r1", 3: "r1", 4: "r2", 5: "r2"}
    c = Cluster(ids=(2, 3, 4, 5), racks=racks)
    try:
        # broker.rack: two copies of each partition land on both racks
        fs = c.admin().create_topics([NewTopic("ra-racks", 8, 2)])
        fs["ra-racks"].result(timeout=30)
        md = c.admin().list_topics("ra-racks", timeout=10)
        spread = [sorted(racks[r] for r in p.replicas)
                  for p in md.topics["ra-racks"].partitions.values()]
        assert all(s == ["r1", "r2"] for s in spread), spread
        harness.log("rack-aware placement: every partition on r1 and r2")
        fs = c.admin().create_topics([NewTopic(
            TOPIC, 1, replica_assignment=[[2, 3, 4]],
            config={"min.insync.replicas": "2"})])
        fs[TOPIC].result(timeout=30)
        wait_for(lambda: c.leaders(TOPIC)[0][1] and
                 sorted(c.leaders(TOPIC)[0][1]) == [2, 3, 4], 20,
                 "ISR [2, 3, 4]")
        w = Writer(c.bootstrap, TOPIC)
        w.start()
        time.sleep(2)
        port = c.brokers[3].port
        err = reassign(port, TOPIC, 0, [3, 4, 5])
        assert err == 0, err
        t0 = time.monotonic()
        harness.log("reassignment of %s-0 to [3, 4, 5] accepted after %d "
                    "messages" % (TOPIC, len(w.acked)))

        def done():
            if list_reassignments(port):
                return False
            md = c.admin().list_topics(TOPIC, timeout=10)
            p = md.topics[TOPIC].partitions[0]
            return sorted(p.replicas) == [3, 4, 5] and \
                sorted(p.isrs) == [3, 4, 5]
        wait_for(done, 60, "the reassignment to complete")
        took = time.monotonic() - t0
        # Leader epochs: the move made a new leader in a new epoch, and
        # OffsetForLeaderEpoch on it says where epoch 0 ended.
        new = c.leaders(TOPIC)[0][0]
        port_new = c.brokers[new].port
        err, e0, end0 = offset_for_epoch(port_new, TOPIC, 0, -1, 0)
        assert err == 0 and e0 == 0 and 0 < end0, (err, e0, end0)
        err, cur, end = offset_for_epoch(port_new, TOPIC, 0, -1, 1000)
        assert err == 0 and cur >= 1 and end >= end0, (err, cur, end)
        err, _, _ = offset_for_epoch(port_new, TOPIC, 0, cur - 1, cur)
        assert err == 74, err       # FENCED_LEADER_EPOCH
        err, _, _ = offset_for_epoch(port_new, TOPIC, 0, cur + 1, cur)
        assert err == 75, err       # UNKNOWN_LEADER_EPOCH
        harness.log("leader %d in epoch %d; epoch 0 ended at offset %d"
                    % (new, cur, end0))
        time.sleep(1)
        w.halt.set()
        w.join(90)
        assert not w.failed, w.failed[:5]
        harness.log("reassignment done in %.2fs; %d messages acknowledged, "
                    "none failed" % (took, len(w.acked)))
        cp = harness.kcat(["-C", "-b", c.bootstrap, "-t", TOPIC, "-e", "-q",
                           "-f", "%s\n"], timeout=60)
        got = set(cp.stdout.split())
        missing = [v for v in w.acked if v not in got]
        assert not missing, missing[:5]
        # broker 5's copy: the same bytes as the others once caught up
        wait_for(lambda: log_bytes(c.brokers[5]) == log_bytes(c.brokers[3])
                 == log_bytes(c.brokers[4]) and log_bytes(c.brokers[3]), 30,
                 "identical copies on brokers 3, 4 and 5")
        # broker 2 deleted its copy's data
        wait_for(lambda: log_bytes(c.brokers[2]) == b"", 20,
                 "broker 2's copy deleted")
        assert "no longer a replica here: deleting" in c.brokers[2].stderr()
        harness.log("broker 5 holds %d identical bytes; broker 2's copy is "
                    "gone" % len(log_bytes(c.brokers[5])))
        c.stop_brokers()
    finally:
        c.close()


if __name__ == "__main__":
    harness.run(main, timeout=200)
