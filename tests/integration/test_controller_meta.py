"""Three moldau-controller processes keep the cluster metadata: two fake
brokers register (BrokerRegistration) and heartbeat (BrokerHeartbeat),
topics are created on the leader (CreateTopics; a follower answers
NOT_CONTROLLER), the leader is SIGKILLed and the new leader still knows the
topics and brokers, a broker that stops heartbeating is fenced, snapshots
are written, and a controller restarted with its meta dir wiped rebuilds
its image from the leader's snapshot (FetchSnapshot).  Requests are
encoded with struct; the images are compared through the controllers' log
lines ("image at offset N: B brokers (F fenced), T topics, digest D")."""

import glob
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
import time
import socket

sys.path.insert(0, os.path.dirname(__file__))
from test_controller import BIN, Quorum, describe_quorum, uvarint, \
    read_uvarint  # noqa: E402

SESSION_MS = 3000
SNAP_BYTES = 2000
NTOPICS = 30
NOT_CONTROLLER = 41


def cstr(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def call(port, api, version, body, timeout=5.0):
    """One flexible request (header v2) on its own connection; the
    response body after the v1 header."""
    hdr = struct.pack(">hhih", api, version, 9, 4) + b"test" + b"\0"
    msg = hdr + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        data = b""
        while len(data) < 4 or \
                len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("closed")
            data += chunk
    buf = data[4:]
    corr, = struct.unpack_from(">i", buf, 0)
    assert corr == 9, corr
    _, pos = read_uvarint(buf, 4)
    return buf[pos:]


def register(port, broker_id):
    """BrokerRegistration v0: (error, broker epoch)."""
    body = (struct.pack(">i", broker_id) + cstr("") +
            bytes([broker_id]) * 16 +
            uvarint(2) + cstr("PLAINTEXT") + cstr("127.0.0.1") +
            struct.pack(">Hh", 9000 + broker_id, 0) + b"\0" +
            uvarint(1) + uvarint(0) + b"\0")
    r = call(port, 62, 0, body)
    _, err, epoch = struct.unpack_from(">ihq", r, 0)
    return err, epoch


def heartbeat(port, broker_id, epoch):
    """BrokerHeartbeat v0: (error, is_fenced)."""
    body = struct.pack(">iqq??", broker_id, epoch, 0, False, False) + b"\0"
    r = call(port, 63, 0, body)
    _, err, _, fenced, _ = struct.unpack_from(">ih???", r, 0)
    return err, fenced


def create_topics(port, names, partitions=3, rf=2):
    """CreateTopics v5: {name: error}."""
    body = uvarint(len(names) + 1)
    for n in names:
        body += (cstr(n) + struct.pack(">ih", partitions, rf) +
                 uvarint(1) + uvarint(1) + b"\0")
    body += struct.pack(">i?", 30000, False) + b"\0"
    r = call(port, 19, 5, body)
    pos = 4
    cnt, pos = read_uvarint(r, pos)
    out = {}
    for _ in range(cnt - 1):
        ln, pos = read_uvarint(r, pos)
        name = r[pos:pos + ln - 1].decode()
        pos += ln - 1
        err, = struct.unpack_from(">h", r, pos)
        pos += 2
        ln, pos = read_uvarint(r, pos)             # error message
        pos += max(ln - 1, 0)
        pos += 6                                   # partitions, rf
        ln, pos = read_uvarint(r, pos)             # configs (empty/null)
        _, pos = read_uvarint(r, pos)              # tags
        out[name] = err
    return out


IMAGE_RE = re.compile(r"controller (\d+): image at offset (\d+): (\d+) "
                      r"brokers \((\d+) fenced\), (\d+) topics, digest (\w+)")


def image(tmp, node):
    """The last image line of a controller's log: (brokers, fenced, topics,
    digest) or None."""
    path = os.path.join(tmp, "c%d.log" % node)
    last = None
    with open(path) as f:
        for m in IMAGE_RE.finditer(f.read()):
            last = (int(m.group(3)), int(m.group(4)), int(m.group(5)),
                    m.group(6))
    return last


def logtext(tmp, node):
    with open(os.path.join(tmp, "c%d.log" % node)) as f:
        return f.read()


def wait_for(what, fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class Heartbeats(threading.Thread):
    """Keeps one broker's session alive on whichever node leads."""

    def __init__(self, q, nodes, broker_id, epoch):
        super().__init__(daemon=True)
        self.q, self.nodes, self.id, self.epoch = q, nodes, broker_id, epoch
        self.stop = threading.Event()
        self.fenced = None

    def run(self):
        while not self.stop.is_set():
            for n in list(self.nodes):
                try:
                    err, fenced = heartbeat(self.q.port(n), self.id,
                                            self.epoch)
                except (OSError, struct.error):
                    continue
                if err == 0:
                    self.fenced = fenced
                    break
            self.stop.wait(0.5)


class MetaQuorum(Quorum):
    def start(self, node):
        # Same as Quorum.start with small snapshot and session settings.
        import subprocess
        log = open(os.path.join(self.tmp, "c%d.log" % node), "ab")
        p = subprocess.Popen(
            [BIN, "--set", "node.id=%d" % node,
             "--set", "node.roles=controller",
             "--set", "cluster.controllers=" + self.voters,
             "--set", "cluster.metadata.log.max.record.bytes.between."
             "snapshots=%d" % SNAP_BYTES,
             "--set", "cluster.broker.session.timeout.ms=%d" % SESSION_MS,
             "--set", "node.data_dir=" + os.path.join(self.tmp,
                                                       "c%d" % node)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[node] = p
        wait_for("controller %d ready" % node,
                 lambda: "controller %d ready:" % node in
                 logtext(self.tmp, node) or p.poll() is not None, 10)
        assert p.poll() is None, "controller %d exited" % node


def main():
    if not os.path.exists(BIN):
        print("missing " + BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="moldau-ctlmeta-")
    q = MetaQuorum(tmp)
    ok = False
    hbs = []
    try:
        for n in (1, 2, 3):
            q.start(n)
        leader, epoch, _, _ = q.leader([1, 2, 3], time.time() + 15)
        print("leader %d epoch %d" % (leader, epoch))

        epochs = {}
        for b in (101, 102):
            err, ep = register(q.port(leader), b)
            assert err == 0, "registration of %d: error %d" % (b, err)
            epochs[b] = ep
        print("registered brokers, epochs %s" % epochs)
        for b in (101, 102):
            hb = Heartbeats(q, [1, 2, 3], b, epochs[b])
            hb.start()
            hbs.append(hb)
        wait_for("brokers unfenced",
                 lambda: all(h.fenced is False for h in hbs), 10)

        follower = [n for n in (1, 2, 3) if n != leader][0]
        res = create_topics(q.port(follower), ["nope"])
        assert res == {"nope": NOT_CONTROLLER}, res
        for i in range(NTOPICS):
            res = create_topics(q.port(leader), ["topic-%d" % i])
            assert res == {"topic-%d" % i: 0}, res
        res = create_topics(q.port(leader), ["topic-0"])
        assert res == {"topic-0": 36}, res       # TOPIC_ALREADY_EXISTS
        res = create_topics(q.port(leader), ["wide"], rf=5)
        assert res == {"wide": 38}, res          # INVALID_REPLICATION_FACTOR

        def same_image():
            imgs = [image(tmp, n) for n in (1, 2, 3)]
            if imgs[0] and imgs[0][2] == NTOPICS and imgs[0][0] == 2 and \
                    imgs[0][1] == 0 and imgs.count(imgs[0]) == 3:
                return imgs[0]
            return None
        img = wait_for("the same image on all three", same_image, 15)
        print("image on all three: %s" % (img,))
        wait_for("a snapshot file",
                 lambda: glob.glob(os.path.join(tmp, "c%d" % leader, "meta",
                                                "*.sqlite")), 10)

        # Broker 102 stops; the leader dies.
        hbs[1].stop.set()
        hbs[1].join()
        q.procs[leader].kill()
        q.procs[leader].wait()
        rest = [n for n in (1, 2, 3) if n != leader]
        hbs[0].nodes = rest
        new, epoch2, _, _ = q.leader(rest, time.time() + 15,
                                     min_epoch=epoch)
        print("new leader %d epoch %d" % (new, epoch2))
        res = create_topics(q.port(new), ["after-failover"])
        assert res == {"after-failover": 0}, res
        img2 = wait_for(
            "broker 102 fenced on the new leader",
            lambda: (lambda i: i if i and i[1] == 1 and
                     i[2] == NTOPICS + 1 and i[0] == 2 else None)(
                image(tmp, new)), SESSION_MS / 1000.0 + 10)
        assert "broker 102 sent no heartbeat" in logtext(tmp, new)
        assert hbs[0].fenced is False, "broker 101 got fenced"
        print("new leader's image: %s" % (img2,))

        # The killed controller loses its meta dir and rebuilds.
        wait_for("a snapshot on the new leader",
                 lambda: "snapshot at offset" in logtext(tmp, new), 15)
        shutil.rmtree(os.path.join(tmp, "c%d" % leader, "meta"))
        q.start(leader)
        wait_for("FetchSnapshot install",
                 lambda: "loaded the leader's snapshot" in
                 logtext(tmp, leader), 15)
        wait_for("the rebuilt controller's image",
                 lambda: image(tmp, leader) == image(tmp, new), 15)
        assert glob.glob(os.path.join(tmp, "c%d" % leader, "meta",
                                      "*.sqlite"))
        print("controller %d rebuilt: %s" % (leader, image(tmp, leader)))
        ok = True
    finally:
        for h in hbs:
            h.stop.set()
        q.finish(tmp, ok)
    print("test_controller_meta: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
