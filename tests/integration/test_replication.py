"""Issue #6, acceptance 1 and 2: replication and failover with real
processes on loopback (three moldau-controller and three moldau-broker
processes, each with its own ports and data dir, one cluster.id).

1. A topic with replication factor 3 and min.insync.replicas=2.  A
   confluent-kafka producer (acks=all, idempotence off) writes numbered
   messages without pause and records every delivery report (value ->
   partition, offset); a consumer reads from the beginning at the same
   time and records every (partition, offset, value) it is given; a
   checker SIGKILLs a random broker every few seconds, measures how long
   leadership takes to move off it, restarts it on the same data dir and
   port and waits for the ISR to be whole again, 10 times.  Afterwards:
   every acknowledged message is in the log exactly at its acknowledged
   offset, nothing the consumer saw vanished or changed, offsets are
   contiguous, and the three replicas' .log bytes of every partition are
   identical.

   Also: while every broker is up and the ISRs are whole no leader may
   ask to drop a follower from the ISR (replica.lag.time.max.ms is 4 s;
   the first 6 s of steady load count too).

1b. A leader with a tail its followers never fetched (followers frozen
   with SIGSTOP for well under the session timeout, acks=1 records on
   the leader): a consumer does not see the tail (above the high
   watermark); the leader is SIGKILLed, a follower takes over and takes
   acks=all records at the same offsets; the old leader returns, truncates
   and all three logs end byte-identical.

2. A topic (RF 3, min.insync.replicas=2) with two of its three brokers
   SIGKILLed and fenced: acks=all gets NOT_ENOUGH_REPLICAS (retries=0, so
   the delivery report carries the broker's error, not a timeout), and
   the rejected records are not in the log; acks=1 keeps working; once
   the two return (ISR of 3 again) every acknowledged record is at its
   offset and the replicas are byte-identical.

At the end: the controllers must not have fenced a broker for missed
heartbeats while its process was running (neither killed nor frozen).
The ISR and fencing checks are reported after every phase has run.

MOLDAU_REPL_SEED fixes the random choices, MOLDAU_REPL_KILLS the number of
kills (default 10), MOLDAU_REPL_BURST the producer's messages per 20 ms
(default 10); MOLDAU_REPL_AGGRESSIVE=1 kills again without waiting for
the ISRs to be whole (not the default: it may leave partitions offline for
a while, legitimately)."""

import os
import random
import re
import signal
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Broker, kcat, log, wait_for  # noqa: E402
from test_cluster_meta import Controllers  # noqa: E402

CLUSTER_ID = "MoldauReplicaTest00001"  # 22 chars of base64url, like Kafka's
SESSION_MS = 3000
LAG_MS = 4000
TOPIC = "repl"
NPART = 3
TOPIC2 = "repl-min"
TOPIC3 = "repl-div"
KILLS = int(os.environ.get("MOLDAU_REPL_KILLS", "10"))
BURST = int(os.environ.get("MOLDAU_REPL_BURST", "10"))  # messages / 20 ms
AGGRESSIVE = bool(os.environ.get("MOLDAU_REPL_AGGRESSIVE"))
FILLER = "x" * 80
LATE_FAILURES = []


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


# -- the cluster -----------------------------------------------------------
def new_broker(nid, voters):
    b = Broker(sets=["node.id=%d" % nid, "node.roles=broker",
                     "cluster.id=" + CLUSTER_ID,
                     "cluster.controllers=" + voters,
                     "cluster.broker.session.timeout.ms=%d" % SESSION_MS,
                     "broker.replica.lag.time.max.ms=%d" % LAG_MS],
               name="b%d" % nid)
    b.supervised = False
    b.nid = nid
    return b


class Meta:
    """Metadata through an AdminClient that knows every broker."""

    def __init__(self, brokers):
        from confluent_kafka.admin import AdminClient
        self.admin = AdminClient({
            "bootstrap.servers": ",".join(b.bootstrap for b in brokers),
            "log_level": 2,
            "socket.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 500})

    def get(self, topic, timeout=3.0):
        """({partition: (leader, replicas, isr)}, {broker ids}) or None."""
        try:
            md = self.admin.list_topics(topic=topic, timeout=timeout)
        except Exception:
            return None
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return None
        parts = {p.id: (p.leader, sorted(p.replicas), sorted(p.isrs))
                 for p in t.partitions.values() if p.error is None or
                 p.error.code() == 0}
        self.last_from = md.orig_broker_id
        return parts, set(md.brokers)

    def whole(self, topic, nparts):
        """The partitions when every one has a leader and an ISR of 3."""
        m = self.get(topic)
        if m is None:
            return None
        parts, brokers = m
        if len(parts) != nparts or len(brokers) != 3:
            return None
        for leader, reps, isr in parts.values():
            if leader < 0 or len(reps) != 3 or len(isr) != 3:
                return None
        return parts


def create_topic(admin, name, nparts):
    from confluent_kafka.admin import NewTopic
    fs = admin.create_topics([NewTopic(name, nparts, 3, config={
        "min.insync.replicas": "2"})], operation_timeout=20,
        request_timeout=30)
    fs[name].result(timeout=40)


# -- broker crashes and the controller's fencing ---------------------------
DOWN = {}   # node id -> [[down since, up again or None]] (time.time())


def crash(b):
    """SIGKILL b; the controller may fence it from now on."""
    DOWN.setdefault(b.nid, []).append([time.time(), None])
    b.kill()


def revive(b):
    b.start()
    DOWN[b.nid][-1][1] = time.time()


def utc(stamp):
    import datetime
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def live_fencings(q):
    """Controller log lines fencing a broker for missed heartbeats while
    its process was running (not killed, not frozen)."""
    rx = re.compile(r"^(\S+)Z .*controller \d+: broker (\d+) sent no "
                    r"heartbeat for \d+ ms: fencing it")
    out = []
    for n in q.procs:
        for line in text(q.log(n)).splitlines():
            m = rx.match(line)
            if not m:
                continue
            t, nid = utc(m.group(1)), int(m.group(2))
            if not any(d <= t <= (u or time.time()) + 0.5
                       for d, u in DOWN.get(nid, ())):
                out.append(line)
    return sorted(out)


# -- the logs on disk ------------------------------------------------------
def batches(data):
    """[(base offset, last offset, leader epoch, start, size)] of record
    batches v2 in data (stops at a torn tail)."""
    out, pos = [], 0
    while pos + 61 <= len(data):
        base, blen, epoch = struct.unpack_from(">qii", data, pos)
        delta = struct.unpack_from(">i", data, pos + 23)[0]
        size = 12 + blen
        if size < 61 or pos + size > len(data):
            break
        out.append((base, base + delta, epoch, pos, size))
        pos += size
    return out


def part_log(b, topic, p):
    """(bytes of every .log in base offset order, [segment names])."""
    d = os.path.join(b.data_dir, "%s-%d" % (topic, p))
    try:
        segs = sorted((f for f in os.listdir(d) if f.endswith(".log")),
                      key=lambda f: int(f[:-4]))
    except OSError:
        return b"", []
    data = b""
    for s in segs:
        with open(os.path.join(d, s), "rb") as f:
            data += f.read()
    return data, segs


def log_diff(brokers, topic, p):
    """None if the replicas' logs of topic-p are byte-identical, else a
    description of where they differ."""
    logs = {b.nid: part_log(b, topic, p) for b in brokers}
    ref = brokers[0].nid
    if all(logs[n][0] == logs[ref][0] for n in logs):
        return None
    lines = ["%s-%d: replicas differ" % (topic, p)]
    for n, (data, segs) in sorted(logs.items()):
        bl = batches(data)
        lines.append("  broker %d: %d bytes, segments %s, %d batches, "
                     "offsets %s..%s" % (
                         n, len(data), segs, len(bl),
                         bl[0][0] if bl else None,
                         bl[-1][1] if bl else None))
    rb = batches(logs[ref][0])
    for n, (data, _) in sorted(logs.items()):
        if n == ref or data == logs[ref][0]:
            continue
        ob = batches(data)
        for i in range(min(len(rb), len(ob))):
            x, y = rb[i], ob[i]
            if logs[ref][0][x[3]:x[3] + x[4]] != data[y[3]:y[3] + y[4]]:
                lines.append("  broker %d vs %d: first different batch #%d: "
                             "(base, last, epoch) %s vs %s" % (
                                 ref, n, i, x[:3], y[:3]))
                break
        else:
            lines.append("  broker %d vs %d: one is a prefix of the other "
                         "(%d vs %d batches)" % (ref, n, len(rb), len(ob)))
    return "\n".join(lines)


def wait_identical(brokers, topic, nparts, timeout):
    t0 = time.monotonic()
    diffs = None
    while True:
        diffs = [d for d in (log_diff(brokers, topic, p)
                             for p in range(nparts)) if d]
        if not diffs:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("replica logs not byte-identical after "
                                 "%.0fs:\n%s" % (timeout, "\n".join(diffs)))
        time.sleep(0.5)


def read_topic(brokers, topic):
    """{(partition, offset): value} of the whole topic, from the leaders
    (up to the high watermark), with kcat -C -e."""
    cp = kcat(["-C", "-b", ",".join(b.bootstrap for b in brokers), "-t",
               topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\\n"],
              timeout=120)
    out = {}
    for line in cp.stdout.decode().splitlines():
        if not line:
            continue
        p, o, v = line.split(" ", 2)
        out[(int(p), int(o))] = v
    return out


def check_log(final, nparts, acked, what):
    """Every acked value at its offset; offsets contiguous from 0.
    Returns (duplicates, per-partition end)."""
    missing = [(v, po) for v, po in acked.items() if final.get(po) != v]
    if missing:
        missing.sort(key=lambda x: x[1])
        raise AssertionError(
            "%s: %d of %d acknowledged messages not at their offset; first "
            "ones (value, (partition, offset), found there): %s" % (
                what, len(missing), len(acked),
                [(v, po, final.get(po)) for v, po in missing[:15]]))
    ends = {}
    for p in range(nparts):
        offs = sorted(o for (q, o) in final if q == p)
        ends[p] = len(offs)
        assert offs == list(range(len(offs))), \
            "%s: partition %d offsets not contiguous from 0: gaps near %s" % (
                what, p, [o for i, o in enumerate(offs) if o != i][:10])
    count = {}
    for v in final.values():
        count[v] = count.get(v, 0) + 1
    dups = sum(c - 1 for c in count.values() if c > 1)
    return dups, ends


# -- clients ---------------------------------------------------------------
class Load:
    """A producer thread (acks=all) and a consumer thread on TOPIC."""

    def __init__(self, brokers):
        from confluent_kafka import Consumer, Producer
        bs = ",".join(b.bootstrap for b in brokers)
        self.lock = threading.Lock()
        self.acked = {}          # value -> (partition, offset)
        self.failed = {}         # value -> error name
        self.sent = 0
        self.seen = {}           # (partition, offset) -> value
        self.seen_conflicts = []
        self.rewinds = 0
        self.cons_errors = {}
        self.stop_prod = threading.Event()
        self.stop_cons = threading.Event()
        self.prod = Producer({
            "bootstrap.servers": bs, "acks": "all", "log_level": 2,
            "enable.idempotence": False, "linger.ms": 5,
            "message.timeout.ms": 120000, "retry.backoff.ms": 100,
            "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000})
        self.cons = Consumer({
            "bootstrap.servers": bs, "group.id": "repl-check",
            "log_level": 2,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000,
            "fetch.wait.max.ms": 200})
        self.threads = [threading.Thread(target=self._produce, daemon=True),
                        threading.Thread(target=self._consume, daemon=True)]

    def _dr(self, err, msg):
        v = msg.value().decode()
        with self.lock:
            if err is None:
                self.acked[v] = (msg.partition(), msg.offset())
            else:
                self.failed[v] = err.name()

    def _produce(self):
        i = 0
        while not self.stop_prod.is_set():
            for _ in range(BURST):
                v = "m%08d-%s" % (i, FILLER)
                try:
                    self.prod.produce(TOPIC, v.encode(), partition=i % NPART,
                                      on_delivery=self._dr)
                except BufferError:
                    self.prod.poll(0.1)
                    continue
                i += 1
            self.prod.poll(0)
            time.sleep(0.02)
        self.sent = i

    def _consume(self):
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition
        self.cons.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING)
                          for p in range(NPART)])
        last = {}
        while not self.stop_cons.is_set():
            msgs = self.cons.consume(500, 0.5)
            for m in msgs:
                if m.error() is not None:
                    n = m.error().name()
                    self.cons_errors[n] = self.cons_errors.get(n, 0) + 1
                    continue
                p, o, v = m.partition(), m.offset(), m.value().decode()
                if o <= last.get(p, -1):
                    self.rewinds += 1
                last[p] = o
                with self.lock:
                    old = self.seen.get((p, o))
                    if old is not None and old != v:
                        self.seen_conflicts.append((p, o, old, v))
                    self.seen[(p, o)] = v
        self.cons.close()

    def start(self):
        for t in self.threads:
            t.start()

    def n_acked(self):
        with self.lock:
            return len(self.acked)


class IsrMonitor:
    """Quiet windows: every broker up, the ISRs whole, no kill under way.
    A leader asking to drop a follower from TOPIC's ISR inside one (its
    log says so) dropped a healthy, fetching follower.  Also samples the
    metadata every 0.2 s in those windows (a figure only: brokers apply
    the metadata log at slightly different times)."""

    def __init__(self, brokers):
        self.meta = Meta(brokers)
        self.quiet = threading.Event()
        self.stop = threading.Event()
        self.windows = []        # [start, end] (time.time())
        self.samples = 0
        self.short = 0
        self.short_seen = []     # (time, {partition: ISR}, answering broker)
        self.t = threading.Thread(target=self._run, daemon=True)

    def begin(self):
        self.windows.append([time.time(), None])
        self.quiet.set()

    def end(self):
        self.quiet.clear()
        if self.windows and self.windows[-1][1] is None:
            self.windows[-1][1] = time.time()

    def _run(self):
        while not self.stop.is_set():
            q = self.quiet.is_set()
            m = self.meta.get(TOPIC, timeout=1.0)
            if q and self.quiet.is_set() and m is not None:
                parts, live = m
                self.samples += 1
                short = {p: isr for p, (_, _, isr) in parts.items()
                         if len(isr) < 3}
                if len(live) == 3 and short:
                    self.short += 1
                    self.short_seen.append((time.strftime("%H:%M:%S"),
                                            short, self.meta.last_from))
            time.sleep(0.2)

    def drops(self, brokers):
        """[(log line)] of ISR drops on TOPIC inside quiet windows."""
        rx = re.compile(r"^(\S+)Z .*: %s-\d+: asking to drop \d+ from the "
                        r"ISR" % re.escape(TOPIC))
        out = []
        for b in brokers:
            for i in range(1, b.starts + 1):
                path = os.path.join(b.dir, "stderr.%d.log" % i)
                try:
                    lines = text(path).splitlines()
                except OSError:
                    continue
                for line in lines:
                    m = rx.match(line)
                    if not m:
                        continue
                    t = utc(m.group(1))
                    if any(w0 <= t <= (w1 or time.time())
                           for w0, w1 in self.windows):
                        out.append(line)
        return sorted(out)


def isr_drops(brokers):
    """{broker: number of 'asking to drop' lines} from its logs."""
    out = {}
    for b in brokers:
        n = 0
        for i in range(1, b.starts + 1):
            path = os.path.join(b.dir, "stderr.%d.log" % i)
            try:
                n += text(path).count("from the ISR")
            except OSError:
                pass
        out[b.nid] = n
    return out


# -- the test --------------------------------------------------------------
def chaos(brokers, meta, load, rng, mon):
    """KILLS rounds of SIGKILL + restart of a random broker; returns the
    figures of each round.  AGGRESSIVE: the next kill does not wait for
    the ISRs to be whole again (a partition whose only ISR member is
    killed stays offline until it returns, as in Kafka)."""
    rounds = []
    for i in range(KILLS):
        time.sleep(rng.uniform(1.5, 3.5))
        victim = rng.choice(brokers)
        if AGGRESSIVE:
            before = wait_for(lambda: (meta.get(TOPIC) or (None,))[0], 30,
                              "metadata before kill %d" % (i + 1))
        else:
            before = wait_for(lambda: meta.whole(TOPIC, NPART), 30,
                              "whole ISRs before kill %d" % (i + 1))
        mon.end()
        led = [p for p, (l, _, _) in before.items() if l == victim.nid]
        # partitions whose ISR is the victim alone cannot move
        movable = [p for p in led if before[p][2] != [victim.nid]]
        acked0 = load.n_acked()
        t0 = time.monotonic()
        crash(victim)

        def moved():
            m = meta.get(TOPIC, timeout=1.0)
            if m is None:
                return None
            parts, live = m
            if victim.nid in live:
                return None          # not fenced yet
            if any(parts.get(p, (-1,))[0] in (-1, victim.nid)
                   for p in movable):
                return None
            return (parts,)      # {} when every partition is offline
        try:
            after = wait_for(moved, 25, "leadership off broker %d" %
                             victim.nid, 0.05)[0]
        except AssertionError:
            log("kill %d: broker %d: leadership did not move within 25 s:"
                " %s" % (i + 1, victim.nid, meta.get(TOPIC)))
            raise
        t_move = time.monotonic() - t0
        revive(victim)
        t1 = time.monotonic()
        if AGGRESSIVE:
            t_isr = float("nan")
        else:
            try:
                wait_for(lambda: meta.whole(TOPIC, NPART), 60,
                         "ISR of 3 after broker %d came back" % victim.nid,
                         0.1)
            except AssertionError:
                log("kill %d: ISR not whole 60 s after broker %d returned: "
                    "%s" % (i + 1, victim.nid, meta.get(TOPIC)))
                raise
            t_isr = time.monotonic() - t1
            mon.begin()
        r = {"kill": i + 1, "broker": victim.nid, "led": led,
             "move_s": t_move, "isr_s": t_isr,
             "leaders": {p: x[0] for p, x in sorted(after.items())},
             "isr": {p: x[2] for p, x in sorted(after.items())},
             "acked_during": load.n_acked() - acked0}
        rounds.append(r)
        log("kill %d: broker %d (led %s): leadership moved in %.2fs -> %s "
            "ISRs %s; back in the ISR %.2fs after restart; %d acked "
            "meanwhile" % (r["kill"], r["broker"], led, t_move, r["leaders"],
                           r["isr"], t_isr, r["acked_during"]))
    return rounds


def phase1(brokers, meta, rng):
    load = Load(brokers)
    mon = IsrMonitor(brokers)
    load.start()
    wait_for(lambda: load.n_acked() >= 200, 30, "first acks")
    # steady load with every broker up for longer than
    # replica.lag.time.max.ms: the ISRs must stay whole
    if not AGGRESSIVE:
        mon.begin()
    mon.t.start()
    time.sleep(LAG_MS / 1000.0 * 1.5)
    steady_bad = len(mon.drops(brokers))
    t0 = time.monotonic()
    rounds = chaos(brokers, meta, load, rng, mon)
    time.sleep(2)
    mon.end()
    mon.stop.set()
    mon.t.join(10)
    load.stop_prod.set()
    load.threads[0].join(30)
    left = load.prod.flush(150)
    assert left == 0, "%d messages still undelivered" % left
    chaos_s = time.monotonic() - t0
    wait_for(lambda: meta.whole(TOPIC, NPART), 60, "whole ISRs at the end")
    # let the concurrent consumer reach the end, then stop it
    final = read_topic(brokers, TOPIC)
    wait_for(lambda: len(load.seen) >= len(final), 30,
             "the consumer at the end (%d records)" % len(final), 0.2)
    load.stop_cons.set()
    load.threads[1].join(30)
    same_s = wait_identical(brokers, TOPIC, NPART, 60)
    final = read_topic(brokers, TOPIC)

    with load.lock:
        acked = dict(load.acked)
        failed = dict(load.failed)
        seen = dict(load.seen)
    dups, ends = check_log(final, NPART, acked, "after %d kills" % KILLS)
    vanished = [(po, v, final.get(po)) for po, v in seen.items()
                if final.get(po) != v]
    unacked_in_log = {v for v in final.values()} - set(acked)
    moves = [r["move_s"] for r in rounds]
    log("phase 1 figures: %d kills in %.1fs; %d produced, %d acknowledged, "
        "%d failed %s; %d records in the log %s; %d duplicates from "
        "retries; %d unacknowledged values in the log; consumer saw %d "
        "records (%d rewinds, errors %s)" % (
            len(rounds), chaos_s, load.sent, len(acked), len(failed),
            sorted(set(failed.values())), len(final), ends, dups,
            len(unacked_in_log), len(seen), load.rewinds, load.cons_errors))
    log("phase 1 leadership moves after SIGKILL: %s s (min %.2f, max %.2f, "
        "mean %.2f); ISR whole again after restart: %s s; replicas "
        "identical %.1fs after the ISRs were whole" % (
            ["%.2f" % m for m in moves], min(moves), max(moves),
            sum(moves) / len(moves),
            ["%.2f" % r["isr_s"] for r in rounds], same_s))
    drops = mon.drops(brokers)
    log("phase 1 ISR: %d drops of a follower from an ISR while every broker "
        "was up, the ISRs whole and no kill under way (%d in the first %.0fs "
        "of steady load); %d of %d metadata samples then showed an ISR under "
        "3; 'from the ISR' log lines per broker: %s" % (
            len(drops), steady_bad, LAG_MS / 1000.0 * 1.5, mon.short,
            mon.samples, isr_drops(brokers)))
    if mon.short_seen:
        log("phase 1 ISR: short ISRs in metadata (time, {partition: ISR}, "
            "answering broker): %s" % (mon.short_seen[:10],))
    assert not load.seen_conflicts, \
        "the consumer was given different values at the same offset: %s" % (
            load.seen_conflicts[:10],)
    assert not vanished, \
        "%d records the consumer saw are not in the final log ((p, o), " \
        "seen, now): %s" % (len(vanished), sorted(vanished)[:15])
    assert len(acked) > 1000, len(acked)
    if drops:
        # checked at the very end, so that the other phases run too
        LATE_FAILURES.append(
            "healthy followers dropped from the ISR: %d AlterPartition "
            "shrinks asked for while all three brokers were up, the ISRs "
            "whole and no kill under way (replica.lag.time.max.ms=%d), "
            "e.g.:\n  %s" % (len(drops), LAG_MS, "\n  ".join(drops[:8])))


def phase_diverge(brokers, meta):
    """A leader with a tail its followers never fetched: the followers are
    frozen (SIGSTOP, shorter than the session and lag timeouts), the
    leader takes acks=1 records, consumers must not see them (above the
    high watermark), the leader is SIGKILLed and the followers resumed; a
    follower is elected and takes acks=all records at the same offsets;
    the old leader returns and must truncate its divergent tail: the
    replicas end byte-identical with every acks=all record at its
    offset."""
    from confluent_kafka import Producer
    bs = ",".join(b.bootstrap for b in brokers)
    create_topic(meta.admin, TOPIC3, 1)
    parts = wait_for(lambda: meta.whole(TOPIC3, 1), 30,
                     "%s with an ISR of 3" % TOPIC3)
    old = [b for b in brokers if b.nid == parts[0][0]][0]
    fols = [b for b in brokers if b is not old]
    acked, failed = {}, {}

    def dr(err, msg):
        v = msg.value().decode()
        if err is None:
            acked[v] = (msg.partition(), msg.offset())
        else:
            failed[v] = err.name()

    def produce(bootstrap, acks, prefix, n, per_batch=None):
        p = Producer({"bootstrap.servers": bootstrap, "acks": acks,
                      "log_level": 2, "enable.idempotence": False,
                      "linger.ms": 5, "message.timeout.ms": 30000,
                      "reconnect.backoff.max.ms": 500})
        vals = ["%s-%04d" % (prefix, i) for i in range(n)]
        for i, v in enumerate(vals):
            p.produce(TOPIC3, v.encode(), partition=0, on_delivery=dr)
            if per_batch and (i + 1) % per_batch == 0:
                assert p.flush(20) == 0, "undelivered %s" % prefix
        assert p.flush(60) == 0, "undelivered %s" % prefix
        missing = [(v, failed.get(v)) for v in vals if v not in acked]
        assert not missing, "%s (acks=%s): %d not acknowledged: %s" % (
            prefix, acks, len(missing), missing[:5])
        return vals

    first = produce(bs, "all", "first", 100)
    time.sleep(1.0)          # idle: the followers are caught up
    for f in fols:
        # frozen counts as down for the fencing check
        DOWN.setdefault(f.nid, []).append([time.time(), None])
        os.kill(f.pid, signal.SIGSTOP)
    t_stop = time.monotonic()
    try:
        # in 10 batches: a follower's pending long-poll Fetch may still
        # carry the first one (already in its socket when the leader
        # dies), not the rest
        tail = produce(old.bootstrap, "1", "tail", 50, per_batch=5)
        cp = kcat(["-C", "-b", old.bootstrap, "-t", TOPIC3, "-p", "0",
                   "-o", "beginning", "-e", "-q", "-f", "%o %s\\n"],
                  timeout=20)
        visible = cp.stdout.decode().split()
        frozen_s = time.monotonic() - t_stop
        crash(old)
    finally:
        for f in fols:
            os.kill(f.pid, signal.SIGCONT)
            DOWN[f.nid][-1][1] = time.time() + SESSION_MS / 1000.0
    log("diverge: leader %d took %d acks=1 records at offsets %d..%d with "
        "followers %s frozen for %.2fs; a consumer saw %d records there" % (
            old.nid, len(tail), acked[tail[0]][1], acked[tail[-1]][1],
            [f.nid for f in fols], frozen_s, len(visible) // 2))
    assert not any(v.startswith("tail-") for v in visible), \
        "a consumer read records above the high watermark from leader " \
        "%d: %s" % (old.nid, [v for v in visible if v.startswith("tail-")][:5])
    assert frozen_s < SESSION_MS / 1000.0, \
        "followers frozen %.1fs (machine too slow for this check)" % frozen_s

    def moved():
        m = meta.get(TOPIC3, timeout=1.0)
        if m is None or 0 not in m[0]:
            return None
        l = m[0][0][0]
        return l if l in [f.nid for f in fols] else None
    new = wait_for(moved, 30, "a new leader for %s" % TOPIC3, 0.1)
    second = produce(",".join(f.bootstrap for f in fols), "all", "second",
                     100)
    log("diverge: broker %d leads; acks=all records at offsets %d..%d" % (
        new, acked[second[0]][1], acked[second[-1]][1]))
    assert acked[second[0]][1] < acked[tail[-1]][1], \
        "the new leader %d already held the whole tail: no divergence to " \
        "test" % new
    revive(old)
    wait_for(lambda: meta.whole(TOPIC3, 1), 60, "%s with an ISR of 3 after "
             "the old leader returned" % TOPIC3, 0.1)
    same_s = wait_identical(brokers, TOPIC3, 1, 60)
    final = read_topic(brokers, TOPIC3)
    committed = {v: acked[v] for v in first + second}
    check_log(final, 1, committed, "after the divergent tail")
    kept = [v for v in tail if v in final.values()]
    trunc = [l for l in old.stderr().splitlines() if "diverged" in l or
             "truncat" in l]
    log("diverge: replicas identical %.1fs after the ISR was whole; %d of "
        "%d unreplicated acks=1 records kept; old leader's log: %s" % (
            same_s, len(kept), len(tail), trunc[-3:]))


def phase2(brokers, meta, rng):
    from confluent_kafka import Producer
    bs = ",".join(b.bootstrap for b in brokers)
    create_topic(meta.admin, TOPIC2, 1)
    wait_for(lambda: meta.whole(TOPIC2, 1), 30, "%s with an ISR of 3" %
             TOPIC2)
    acked, failed = {}, {}

    def dr(err, msg):
        v = msg.value().decode()
        if err is None:
            acked[v] = (msg.partition(), msg.offset())
        else:
            failed[v] = err

    def produce(acks, prefix, n, **extra):
        conf = {"bootstrap.servers": bs, "acks": acks, "log_level": 2,
                "enable.idempotence": False, "linger.ms": 5,
                "message.timeout.ms": 30000,
                "reconnect.backoff.max.ms": 500}
        conf.update(extra)
        p = Producer(conf)
        vals = ["%s-%04d" % (prefix, i) for i in range(n)]
        for v in vals:
            p.produce(TOPIC2, v.encode(), partition=0, on_delivery=dr)
        assert p.flush(60) == 0, "undelivered %s" % prefix
        return vals

    before = produce("all", "before", 200)
    assert all(v in acked for v in before), \
        [(v, failed.get(v)) for v in before if v not in acked][:5]

    victims = rng.sample(brokers, 2)
    survivor = [b for b in brokers if b not in victims][0]
    for v in victims:
        crash(v)
    t0 = time.monotonic()

    def alone():
        m = meta.get(TOPIC2, timeout=1.0)
        if m is None:
            return None
        parts, live = m
        if live != {survivor.nid} or 0 not in parts:
            return None
        leader, _, isr = parts[0]
        return parts if leader == survivor.nid and isr == [survivor.nid] \
            else None
    try:
        wait_for(alone, 30, "broker %d alone leading %s with ISR [%d]" % (
            survivor.nid, TOPIC2, survivor.nid), 0.1)
    except AssertionError:
        log("phase 2: metadata: %s" % (meta.get(TOPIC2),))
        raise
    log("phase 2: brokers %s killed, %d leads alone %.2fs later" % (
        [v.nid for v in victims], survivor.nid, time.monotonic() - t0))

    # acks=all: NOT_ENOUGH_REPLICAS, straight from the broker (retries=0)
    rejected = produce("all", "rejected", 5, retries=0,
                       **{"message.timeout.ms": 20000})
    errs = {v: failed.get(v) for v in rejected}
    log("phase 2: acks=all with 1 of 3 in the ISR: %s" % (
        sorted({(e.name() if e else "acked") for e in errs.values()}),))
    assert all(e is not None and e.name() in (
        "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
        for e in errs.values()), \
        "acks=all with ISR [%d]: %s" % (survivor.nid, {
            v: (e.name() if e else acked.get(v)) for v, e in errs.items()})
    # acks=1 keeps working
    during = produce("1", "acks1", 200)
    missing = [v for v in during if v not in acked]
    assert not missing, "acks=1 with one broker: %d not acknowledged: %s" % (
        len(missing), [(v, failed.get(v)) for v in missing[:5]])
    log("phase 2: acks=1 with 1 of 3 brokers: %d acknowledged, offsets "
        "%d..%d" % (len(during), acked[during[0]][1], acked[during[-1]][1]))

    for v in victims:
        revive(v)
    t1 = time.monotonic()
    try:
        wait_for(lambda: meta.whole(TOPIC2, 1), 60,
                 "%s with an ISR of 3 again" % TOPIC2, 0.1)
    except AssertionError:
        log("phase 2: metadata: %s" % (meta.get(TOPIC2),))
        raise
    log("phase 2: ISR of 3 %.2fs after the restarts" % (
        time.monotonic() - t1))
    after = produce("all", "after", 200)
    assert all(v in acked for v in after), \
        [(v, failed.get(v)) for v in after if v not in acked][:5]
    same_s = wait_identical(brokers, TOPIC2, 1, 60)
    final = read_topic(brokers, TOPIC2)
    dups, ends = check_log(final, 1, acked, "after two brokers returned")
    for v, e in errs.items():
        if e.name() == "NOT_ENOUGH_REPLICAS":
            assert v not in final.values(), \
                "%s was rejected with NOT_ENOUGH_REPLICAS but is in the " \
                "log" % v
    log("phase 2 figures: %d acknowledged (200 acks=all before, 200 acks=1 "
        "during, 200 acks=all after), %d rejected, log end %s, %d "
        "duplicates; replicas identical %.1fs after the ISR was whole" % (
            len(acked), len(rejected), ends, dups, same_s))


def main():
    seed = int(os.environ.get("MOLDAU_REPL_SEED") or
               random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    log("seed %d (MOLDAU_REPL_SEED)" % seed)
    tmp = harness.mkdtemp("moldau-repl-")
    q = Controllers(tmp, sets=["cluster.id=" + CLUSTER_ID,
                               "cluster.broker.session.timeout.ms=%d" %
                               SESSION_MS])
    brokers = []
    ok = False
    try:
        for n in (1, 2, 3):
            q.start(n)
        for n in (1, 2, 3):
            wait_for(lambda: "controller %d ready:" % n in text(q.log(n)),
                     20, "controller %d ready" % n)
        for nid in (4, 5, 6):
            b = new_broker(nid, q.voters)
            b.start()
            brokers.append(b)
        meta = Meta(brokers)
        create_topic(meta.admin, TOPIC, NPART)
        parts = wait_for(lambda: meta.whole(TOPIC, NPART), 30,
                         "%s with an ISR of 3 everywhere" % TOPIC)
        log("%s: %s" % (TOPIC, parts))
        phase1(brokers, meta, rng)
        phase_diverge(brokers, meta)
        phase2(brokers, meta, rng)
        for b in brokers:
            assert b.stop() == 0, "%s: %s" % (b.name, b.stderr_tail())
        fenced = live_fencings(q)
        log("controller fencings of running brokers (missed heartbeats): "
            "%d" % len(fenced))
        if fenced:
            LATE_FAILURES.append(
                "the controller fenced running brokers (neither killed nor "
                "frozen) for missed heartbeats (session %d ms), moving "
                "their leaderships:\n  %s" % (SESSION_MS,
                                               "\n  ".join(fenced[:8])))
        ok = True
        assert not LATE_FAILURES, "\n".join(LATE_FAILURES)
    finally:
        if not ok:
            for b in brokers:
                print("--- %s stderr (tail) ---\n%s" % (
                    b.name, b.stderr_tail(40)), flush=True)
        for b in brokers:
            if b.alive():
                b.kill()
        q.stop_all()


if __name__ == "__main__":
    harness.run(main, timeout=int(os.environ.get("MOLDAU_TEST_TIMEOUT",
                                                 "420")))
