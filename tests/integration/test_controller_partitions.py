"""Partition placement and leadership decided by the controller quorum.

Three moldau-controller processes; six fake brokers (encoded with struct)
register with racks r1 (1, 2), r2 (3, 4), r3 (5, 6) and heartbeat.  The
test reads the committed metadata log back by fetching __cluster_metadata
as an observer (like broker/meta_client.c), decodes the TopicRecord,
PartitionRecord, PartitionChangeRecord and broker records, and checks:

- CreateTopics: replicas spread rack-aware with leaders round-robin,
  replication factor -1 = broker.default.replication.factor, too large a
  factor refused with Kafka's message, manual assignments validated;
- a broker that stops heartbeating is fenced and, in the same entry, leaves
  every ISR and hands leadership to the next ISR replica (epochs bumped);
- AlterPartition errors (NOT_CONTROLLER, STALE_BROKER_EPOCH,
  FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA,
  UNKNOWN_TOPIC_ID) and success answered with the new partition epoch;
- ElectLeaders preferred and unclean; unclean.leader.election.enable;
- a leaderless partition gets its last ISR member back when it returns;
- controlled shutdown: should_shut_down only once leadership moved;
- AlterPartitionReassignments / ListPartitionReassignments, completed by
  the leader's AlterPartition.
"""

import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_controller import BIN, Quorum, uvarint, read_uvarint  # noqa: E402
from test_controller_meta import cstr, call, wait_for, Heartbeats, \
    logtext  # noqa: E402

SESSION_MS = 3000
RACKS = {1: "r1", 2: "r1", 3: "r2", 4: "r2", 5: "r3", 6: "r3"}
OBSERVER = 999

NOT_CONTROLLER = 41
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_REQUEST = 42
FENCED_LEADER_EPOCH = 74
STALE_BROKER_EPOCH = 77
PREFERRED_LEADER_NOT_AVAILABLE = 80
ELECTION_NOT_NEEDED = 84
INVALID_UPDATE_VERSION = 95
UNKNOWN_TOPIC_ID = 100
INELIGIBLE_REPLICA = 107


# ---- encoding helpers ----

def i32arr(v):
    return uvarint(len(v) + 1) + b"".join(struct.pack(">i", x) for x in v)


def nstr(s):
    return uvarint(0) if s is None else cstr(s)


class Reader:
    def __init__(self, buf, pos=0):
        self.b, self.p = buf, pos

    def u(self, fmt):
        v = struct.unpack_from(">" + fmt, self.b, self.p)
        self.p += struct.calcsize(">" + fmt)
        return v[0] if len(v) == 1 else v

    def uv(self):
        v, self.p = read_uvarint(self.b, self.p)
        return v

    def zz(self):
        """A zigzag varint (record fields)."""
        shift = res = 0
        while True:
            c = self.b[self.p]
            self.p += 1
            res |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                break
        return (res >> 1) ^ -(res & 1)

    def str(self):
        n = self.uv()
        if n == 0:
            return None
        s = self.b[self.p:self.p + n - 1].decode()
        self.p += n - 1
        return s

    def arr(self):
        n = self.uv()
        if n == 0:
            return None
        return [self.u("i") for _ in range(n - 1)]

    def uuid(self):
        v = self.b[self.p:self.p + 16]
        self.p += 16
        return v

    def tags(self):
        out = {}
        for _ in range(self.uv()):
            tag = self.uv()
            size = self.uv()
            out[tag] = self.b[self.p:self.p + size]
            self.p += size
        return out


# ---- requests ----

def register(port, broker_id, rack):
    """BrokerRegistration v0 with a rack: (error, broker epoch)."""
    body = (struct.pack(">i", broker_id) + cstr("") +
            bytes([broker_id]) * 16 +
            uvarint(2) + cstr("PLAINTEXT") + cstr("127.0.0.1") +
            struct.pack(">Hh", 9000 + broker_id, 0) + b"\0" +
            uvarint(1) + nstr(rack) + b"\0")
    r = call(port, 62, 0, body)
    _, err, epoch = struct.unpack_from(">ihq", r, 0)
    return err, epoch


def heartbeat(port, broker_id, epoch, shut_down=False):
    """BrokerHeartbeat v0: (error, is_fenced, should_shut_down)."""
    body = struct.pack(">iqq??", broker_id, epoch, 0, False,
                       shut_down) + b"\0"
    r = call(port, 63, 0, body)
    _, err, _, fenced, shut = struct.unpack_from(">ih???", r, 0)
    return err, fenced, shut


def create_topic(port, name, partitions=-1, rf=-1, assignments=None,
                 configs=None):
    """CreateTopics v5, one topic: (error, message)."""
    body = uvarint(2) + cstr(name) + struct.pack(">ih", partitions, rf)
    assignments = assignments or []
    body += uvarint(len(assignments) + 1)
    for i, ids in enumerate(assignments):
        body += struct.pack(">i", i) + i32arr(ids) + b"\0"
    configs = configs or {}
    body += uvarint(len(configs) + 1)
    for k, v in configs.items():
        body += cstr(k) + cstr(v) + b"\0"
    body += b"\0" + struct.pack(">i?", 30000, False) + b"\0"
    rd = Reader(call(port, 19, 5, body))
    rd.u("i")
    assert rd.uv() == 2
    rd.str()
    err = rd.u("h")                # v5: no topic id
    return err, rd.str() or None


def create_partitions(port, name, count, assignments=None):
    """CreatePartitions v2, one topic: its error."""
    asg = uvarint(0) if assignments is None else \
        uvarint(len(assignments) + 1) + b"".join(
            i32arr(a) + b"\0" for a in assignments)
    body = (uvarint(2) + cstr(name) + struct.pack(">i", count) + asg +
            b"\0" + struct.pack(">i?", 10000, False) + b"\0")
    rd = Reader(call(port, 37, 2, body))
    rd.u("i")
    assert rd.uv() == 2
    rd.str()
    return rd.u("h")


def alter_partition(port, broker, bepoch, topic_id, part, lepoch, isr,
                    pepoch):
    """AlterPartition v2, one partition: (top error, error, leader,
    leader epoch, isr, partition epoch)."""
    body = (struct.pack(">iq", broker, bepoch) + uvarint(2) + topic_id +
            uvarint(2) + struct.pack(">ii", part, lepoch) + i32arr(isr) +
            struct.pack(">bi", 0, pepoch) + b"\0" + b"\0" + b"\0")
    rd = Reader(call(port, 56, 2, body))
    rd.u("i")
    top = rd.u("h")
    if rd.uv() < 2:
        return top, None, None, None, None, None
    rd.uuid()
    rd.uv()
    _, err, leader, lep = rd.u("ihii")
    isr = rd.arr()
    rd.u("b")
    pep = rd.u("i")
    return top, err, leader, lep, isr, pep


def elect_leaders(port, topic, parts, unclean=False):
    """ElectLeaders v2: {partition: error}."""
    body = (struct.pack(">b", 1 if unclean else 0) + uvarint(2) +
            cstr(topic) + i32arr(parts) + b"\0" +
            struct.pack(">i", 10000) + b"\0")
    rd = Reader(call(port, 43, 2, body))
    rd.u("i")
    top = rd.u("h")
    assert top == 0, top
    out = {}
    for _ in range(rd.uv() - 1):
        rd.str()
        for _ in range(rd.uv() - 1):
            pid, err = rd.u("ih")
            rd.str()
            rd.tags()
            out[pid] = err
        rd.tags()
    return out


def reassign(port, topic, part, replicas):
    """AlterPartitionReassignments v0, one partition: its error."""
    reps = uvarint(0) if replicas is None else i32arr(replicas)
    body = (struct.pack(">i", 10000) + uvarint(2) + cstr(topic) +
            uvarint(2) + struct.pack(">i", part) + reps + b"\0" + b"\0" +
            b"\0")
    rd = Reader(call(port, 45, 0, body))
    rd.u("i")
    top = rd.u("h")
    assert top == 0, top
    rd.str()
    assert rd.uv() == 2
    rd.str()
    assert rd.uv() == 2
    _, err = rd.u("ih")
    return err


def list_reassignments(port):
    """ListPartitionReassignments v0 (all): {(topic, part): (replicas,
    adding, removing)}."""
    body = struct.pack(">i", 10000) + uvarint(0) + b"\0"
    rd = Reader(call(port, 46, 0, body))
    rd.u("i")
    assert rd.u("h") == 0
    rd.str()
    out = {}
    for _ in range(rd.uv() - 1):
        name = rd.str()
        for _ in range(rd.uv() - 1):
            pid = rd.u("i")
            out[(name, pid)] = (rd.arr(), rd.arr(), rd.arr())
            rd.tags()
        rd.tags()
    return out


# ---- reading the metadata log ----

def fetch(port, epoch, offset, last_epoch):
    """Fetch v12 of __cluster_metadata as an observer: (error, hw,
    records bytes)."""
    body = struct.pack(">iiiibii", OBSERVER, 0, 0, 8 << 20, 0, 0, -1)
    body += uvarint(2) + cstr("__cluster_metadata") + uvarint(2)
    body += struct.pack(">iiqiqi", 0, epoch, offset, last_epoch, -1,
                        8 << 20) + b"\0" + b"\0"
    body += uvarint(1) + cstr("") + b"\0"
    rd = Reader(call(port, 1, 12, body))
    rd.u("ihi")
    assert rd.uv() == 2
    rd.str()
    assert rd.uv() == 2
    _, err, hw, _, _ = rd.u("ihqqq")
    assert rd.uv() <= 1            # no aborted transactions
    rd.u("i")
    n = rd.uv()
    recs = rd.b[rd.p:rd.p + n - 1] if n > 0 else b""
    return err, hw, recs


def batches(buf):
    """(offset, epoch, value or None for control) of each batch."""
    pos = 0
    while pos + 12 <= len(buf):
        base, blen = struct.unpack_from(">qi", buf, pos)
        if pos + 12 + blen > len(buf):
            break
        epoch, _, _, attrs = struct.unpack_from(">ibIh", buf, pos + 12)
        rd = Reader(buf, pos + 61)
        value = None
        if not attrs & 0x20:
            rd.zz()
            rd.u("b")
            rd.zz()
            rd.zz()
            klen = rd.zz()
            rd.p += max(klen, 0)
            vlen = rd.zz()
            value = buf[rd.p:rd.p + vlen]
        yield base, epoch, value
        pos += 12 + blen


def decode_entry(value):
    """The KIP-631 records of one entry that the test knows."""
    rd = Reader(value)
    out = []
    while rd.p < len(value):
        rd.uv()
        typ = rd.uv()
        rd.uv()
        if typ == 2:
            out.append(("topic", rd.str(), rd.uuid()))
            rd.tags()
        elif typ == 3:
            pid = rd.u("i")
            tid = rd.uuid()
            reps, isr, rem, add = rd.arr(), rd.arr(), rd.arr(), rd.arr()
            leader, lep, pep = rd.u("iii")
            tags = rd.tags()
            lrs = struct.unpack(">b", tags[0])[0] if 0 in tags else 0
            out.append(("partition", tid, pid, dict(
                replicas=reps, isr=isr, removing=rem, adding=add,
                leader=leader, leader_epoch=lep, partition_epoch=pep,
                lrs=lrs)))
        elif typ == 5:
            pid = rd.u("i")
            tid = rd.uuid()
            tags = rd.tags()
            ch = {}
            for tag, key in ((0, "isr"), (2, "replicas"), (3, "removing"),
                             (4, "adding")):
                if tag in tags:
                    ch[key] = Reader(tags[tag]).arr()
            if 1 in tags:
                ch["leader"] = struct.unpack(">i", tags[1])[0]
            if 5 in tags:
                ch["lrs"] = struct.unpack(">b", tags[5])[0]
            out.append(("change", tid, pid, ch))
        elif typ in (7, 8):
            bid, bep = rd.u("iq")
            rd.tags()
            out.append(("fence" if typ == 7 else "unfence", bid, bep))
        elif typ == 17:
            bid, bep = rd.u("iq")
            tags = rd.tags()
            out.append(("regchange", bid, bep,
                        {k: struct.unpack(">b", v)[0]
                         for k, v in tags.items() if k in (0, 1)}))
        else:
            break           # not decoded here: skip the rest of the entry
    return out


class Meta:
    """The committed metadata as the records say."""

    def __init__(self):
        self.names = {}         # topic id -> name
        self.ids = {}
        self.parts = {}         # (name, pid) -> dict
        self.events = []        # (offset, record)

    def apply(self, off, rec):
        self.events.append((off, rec))
        if rec[0] == "topic":
            self.names[rec[2]] = rec[1]
            self.ids[rec[1]] = rec[2]
        elif rec[0] == "partition":
            self.parts[(self.names[rec[1]], rec[2])] = dict(rec[3])
        elif rec[0] == "change":
            p = self.parts[(self.names[rec[1]], rec[2])]
            for k in ("isr", "replicas", "removing", "adding", "lrs"):
                if k in rec[3]:
                    p[k] = rec[3][k]
            if "leader" in rec[3]:
                p["leader"] = rec[3]["leader"]
                p["leader_epoch"] += 1
            p["partition_epoch"] += 1

    def topic(self, name):
        return {pid: p for (n, pid), p in self.parts.items() if n == name}


def read_meta(port, epoch):
    m = Meta()
    off, last = 0, -1
    while True:
        err, hw, recs = fetch(port, epoch, off, last)
        assert err == 0, "fetch error %d" % err
        got = False
        for base, ep, value in batches(recs):
            if base >= hw:
                break
            got = True
            if value is not None:
                for rec in decode_entry(value):
                    m.apply(base, rec)
            off, last = base + 1, ep
        if not got or off >= hw:
            return m


# ---- the cluster ----

class PartQuorum(Quorum):
    def start(self, node):
        log = open(os.path.join(self.tmp, "c%d.log" % node), "ab")
        p = subprocess.Popen(
            [BIN, "--set", "node.id=%d" % node,
             "--set", "node.roles=controller",
             "--set", "cluster.controllers=" + self.voters,
             "--set", "cluster.broker.session.timeout.ms=%d" % SESSION_MS,
             "--set", "broker.default.replication.factor=2",
             "--set", "node.data_dir=" + os.path.join(self.tmp,
                                                       "c%d" % node)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[node] = p
        wait_for("controller %d ready" % node,
                 lambda: "controller %d ready:" % node in
                 logtext(self.tmp, node) or p.poll() is not None, 10)
        assert p.poll() is None, "controller %d exited" % node


def run(q, tmp):
    leader, epoch, _, _ = q.leader([1, 2, 3], time.time() + 15)
    port = q.port(leader)
    follower = [n for n in (1, 2, 3) if n != leader][0]
    print("leader %d epoch %d" % (leader, epoch))

    def meta():
        return read_meta(port, epoch)

    bepochs, hbs = {}, {}

    def start_broker(b):
        err, ep = register(port, b, RACKS[b])
        assert err == 0, "registration of %d: %d" % (b, err)
        bepochs[b] = ep
        hb = Heartbeats(q, [leader], b, ep)
        hb.start()
        hbs[b] = hb
        wait_for("broker %d unfenced" % b, lambda: hb.fenced is False, 10)

    def stop_broker(b):
        hbs[b].stop.set()
        hbs[b].join()
        del hbs[b]

    for b in sorted(RACKS):
        start_broker(b)
    print("brokers registered: %s" % bepochs)

    # ---- placement ----
    r = create_topic(port, "spread", 12, 3)
    assert r == (0, None), r
    err, msg = create_topic(port, "wide", 1, 7)
    assert err == INVALID_REPLICATION_FACTOR, err
    assert msg == "Replication factor: 7 larger than available brokers: 6.", \
        msg
    assert create_topic(port, "dflt", 3, -1) == (0, None)
    err, _ = create_topic(q.port(follower), "nope", 1, 1)
    assert err == NOT_CONTROLLER, err
    for bad in ([[1, 2], [3]], [[1, 1]], [[1, 99]]):
        err, msg = create_topic(port, "manual", assignments=bad)
        assert err == INVALID_REPLICA_ASSIGNMENT, (bad, err)
        print("assignment %s refused: %s" % (bad, msg))
    err, _ = create_topic(port, "manual", 2, -1, assignments=[[1, 2]])
    assert err == INVALID_REQUEST, err
    assert create_topic(port, "manual",
                        assignments=[[2, 4], [4, 6]]) == (0, None)
    assert create_partitions(port, "dflt", 6) == 0
    assert create_partitions(port, "manual", 3, [[1, 1]]) == \
        INVALID_REPLICA_ASSIGNMENT
    assert create_partitions(port, "manual", 3, [[1, 2, 3]]) == \
        INVALID_REPLICA_ASSIGNMENT                # not the topic's 2
    m = meta()
    spread = m.topic("spread")
    assert len(spread) == 12
    leads = {}
    for pid, p in spread.items():
        assert len(p["replicas"]) == 3 and \
            len({RACKS[r] for r in p["replicas"]}) == 3, (pid, p)
        assert p["isr"] == p["replicas"] and \
            p["leader"] == p["replicas"][0], p
        assert p["leader_epoch"] == 0 and p["partition_epoch"] == 0, p
        leads[p["leader"]] = leads.get(p["leader"], 0) + 1
    assert leads == {b: 2 for b in RACKS}, leads
    assert all(len(p["replicas"]) == 2 and
               RACKS[p["replicas"][0]] != RACKS[p["replicas"][1]]
               for p in m.topic("dflt").values()), m.topic("dflt")
    assert sorted(m.topic("dflt")) == list(range(6))
    assert [m.topic("manual")[i]["replicas"] for i in (0, 1)] == \
        [[2, 4], [4, 6]]
    print("placement: leaders %s, rack-aware" % leads)

    # ---- fencing moves leadership ----
    before = {pid: dict(p) for pid, p in spread.items()}
    stop_broker(1)
    fence_off = wait_for(
        "broker 1 fenced",
        lambda: next((off for off, r in meta().events
                      if r[0] == "fence" and r[1] == 1), None),
        SESSION_MS / 1000.0 + 10)
    m = meta()
    for pid, p in m.topic("spread").items():
        old = before[pid]
        if 1 not in old["replicas"]:
            assert p == old, (pid, p, old)
            continue
        assert 1 not in p["isr"], p
        assert p["partition_epoch"] == 1, p
        if old["leader"] == 1:
            want = [r for r in old["replicas"] if r != 1][0]
            assert p["leader"] == want and p["leader_epoch"] == 1, (p, old)
        else:
            assert p["leader"] == old["leader"] and \
                p["leader_epoch"] == 0, p
    changes = [off for off, r in m.events
               if r[0] == "change" and m.names[r[1]] == "spread" and
               r[2] in [pid for pid, o in before.items()
                        if 1 in o["replicas"]]]
    assert changes and set(changes) == {fence_off}, (changes, fence_off)
    print("broker 1 fenced at offset %d with %d partition changes" %
          (fence_off, len(changes)))

    # ---- AlterPartition ----
    tid = m.ids["spread"]
    pid = next(pid for pid, o in before.items() if o["leader"] == 1)
    p = m.topic("spread")[pid]
    lead = p["leader"]
    args = (tid, pid, p["leader_epoch"], p["isr"] + [1],
            p["partition_epoch"])
    r = alter_partition(q.port(follower), lead, bepochs[lead], *args)
    assert r[0] == NOT_CONTROLLER, r
    r = alter_partition(port, lead, bepochs[lead] + 1000, *args)
    assert r[0] == STALE_BROKER_EPOCH, r
    r = alter_partition(port, lead, bepochs[lead], tid, pid,
                        p["leader_epoch"] - 1, p["isr"],
                        p["partition_epoch"])
    assert r[:2] == (0, FENCED_LEADER_EPOCH), r
    r = alter_partition(port, lead, bepochs[lead], tid, pid,
                        p["leader_epoch"], p["isr"],
                        p["partition_epoch"] - 1)
    assert r[:2] == (0, INVALID_UPDATE_VERSION), r
    r = alter_partition(port, lead, bepochs[lead], *args)
    assert r[:2] == (0, INELIGIBLE_REPLICA), r     # 1 is fenced
    r = alter_partition(port, lead, bepochs[lead], b"\x01" * 16, pid,
                        p["leader_epoch"], p["isr"], p["partition_epoch"])
    assert r[:2] == (0, UNKNOWN_TOPIC_ID), r
    start_broker(1)
    r = alter_partition(port, lead, bepochs[lead], *args)
    assert r == (0, 0, lead, p["leader_epoch"], p["isr"] + [1],
                 p["partition_epoch"] + 1), r
    p2 = meta().topic("spread")[pid]
    assert p2["isr"] == p["isr"] + [1] and \
        p2["partition_epoch"] == p["partition_epoch"] + 1, p2
    print("AlterPartition: errors checked; spread-%d ISR %s, partition "
          "epoch %d" % (pid, p2["isr"], r[5]))

    # ---- ElectLeaders ----
    other = next(k for k, o in before.items()
                 if o["leader"] == 1 and k != pid)
    res = elect_leaders(port, "spread", [pid, other, 99])
    assert res == {pid: 0, other: PREFERRED_LEADER_NOT_AVAILABLE,
                   99: 3}, res
    p3 = meta().topic("spread")[pid]
    assert p3["leader"] == 1 and p3["leader_epoch"] == p2["leader_epoch"] + 1
    assert elect_leaders(port, "spread", [pid]) == {pid: ELECTION_NOT_NEEDED}
    print("ElectLeaders: spread-%d back on broker 1 (epoch %d)" %
          (pid, p3["leader_epoch"]))

    # ---- unclean election and a returning last ISR member ----
    for name, cfg in (("unc", {"unclean.leader.election.enable": "true"}),
                      ("cln", {}), ("back", {})):
        assert create_topic(port, name, assignments=[[5, 6]],
                            configs=cfg) == (0, None)
    m = meta()
    for name in ("unc", "cln", "back"):
        p = m.topic(name)[0]
        r = alter_partition(port, 5, bepochs[5], m.ids[name], 0,
                            p["leader_epoch"], [5], p["partition_epoch"])
        assert r[:2] == (0, 0), r
    stop_broker(5)
    wait_for("broker 5 fenced",
             lambda: any(r[0] == "fence" and r[1] == 5
                         for _, r in meta().events),
             SESSION_MS / 1000.0 + 10)
    m = meta()
    unc, cln = m.topic("unc")[0], m.topic("cln")[0]
    assert unc["leader"] == 6 and unc["isr"] == [6] and unc["lrs"] == 1, unc
    assert cln["leader"] == -1 and cln["isr"] == [5], cln
    assert elect_leaders(port, "cln", [0]) == \
        {0: PREFERRED_LEADER_NOT_AVAILABLE}
    assert elect_leaders(port, "cln", [0], unclean=True) == {0: 0}
    cln = meta().topic("cln")[0]
    assert cln["leader"] == 6 and cln["isr"] == [6], cln
    back = meta().topic("back")[0]
    assert back["leader"] == -1 and back["isr"] == [5], back
    start_broker(5)
    back2 = wait_for("back-0 led by 5 again",
                     lambda: (lambda p: p if p["leader"] == 5 else None)(
                         meta().topic("back")[0]), 10)
    assert back2["leader_epoch"] == back["leader_epoch"] + 1, back2
    print("unclean: unc-0 and cln-0 on 6; back-0 on 5 again (epoch %d)" %
          back2["leader_epoch"])

    # ---- controlled shutdown ----
    m = meta()
    led = [k for k, p in m.parts.items() if p["leader"] == 3]
    assert led, "broker 3 leads nothing"
    stop_broker(3)
    err, fenced, shut = heartbeat(port, 3, bepochs[3], shut_down=True)
    assert (err, fenced, shut) == (0, False, False), (err, fenced, shut)

    def shut_down():
        e, f, s = heartbeat(port, 3, bepochs[3], shut_down=True)
        assert e == 0, e
        return s and f
    wait_for("should_shut_down", shut_down, 10)
    m = meta()
    assert not [k for k, p in m.parts.items() if p["leader"] == 3]
    assert all(p["isr"] == [3] or 3 not in p["isr"]
               for p in m.parts.values())
    assert any(r[0] == "regchange" and r[1] == 3 and r[3].get(1) == 1
               for _, r in m.events)
    assert any(r[0] == "fence" and r[1] == 3 for _, r in m.events)
    print("controlled shutdown of broker 3: %d partitions moved first" %
          len(led))

    # ---- reassignment ----
    p = m.topic("manual")[0]                       # [2, 4]
    assert reassign(port, "manual", 0, [4, 6]) == 0
    m = meta()
    p = m.topic("manual")[0]
    assert (p["replicas"], p["adding"], p["removing"]) == \
        ([4, 6, 2], [6], [2]), p
    assert list_reassignments(port) == {("manual", 0): ([4, 6, 2], [6],
                                                       [2])}
    r = alter_partition(port, p["leader"], bepochs[p["leader"]],
                        m.ids["manual"], 0, p["leader_epoch"],
                        p["isr"] + [6], p["partition_epoch"])
    assert r[:2] == (0, 0), r
    p = meta().topic("manual")[0]
    assert p["replicas"] == [4, 6] and p["isr"] == [4, 6] and \
        p["adding"] == [] and p["removing"] == [] and p["leader"] == 4, p
    assert list_reassignments(port) == {}
    assert reassign(port, "manual", 0, None) == 85  # none in progress
    print("reassignment of manual-0 to [4, 6] done")

    # ---- failover: the new leader has the same partitions and decides ----
    before = meta().parts
    q.procs[leader].kill()
    q.procs[leader].wait()
    rest = [n for n in (1, 2, 3) if n != leader]
    for hb in hbs.values():
        hb.nodes = rest
    new, epoch2, _, _ = q.leader(rest, time.time() + 15, min_epoch=epoch)
    port2 = q.port(new)

    def meta2():
        return read_meta(port2, epoch2)
    assert meta2().parts == before
    stop_broker(4)
    p = wait_for("manual-0 moved off broker 4 by controller %d" % new,
                 lambda: (lambda p: p if p["leader"] == 6 else None)(
                     meta2().topic("manual")[0]),
                 SESSION_MS / 1000.0 + 15)
    assert p["isr"] == [6], p
    print("controller %d (epoch %d) fenced broker 4: manual-0 led by 6" %
          (new, epoch2))

    for b in list(hbs):
        stop_broker(b)


def main():
    if not os.path.exists(BIN):
        print("missing " + BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="moldau-ctlpart-")
    q = PartQuorum(tmp)
    ok = False
    try:
        for n in (1, 2, 3):
            q.start(n)
        run(q, tmp)
        ok = True
    finally:
        q.finish(tmp, ok)
    print("test_controller_partitions: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
