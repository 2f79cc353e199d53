"""Corrupt input to the controllers (issue 5, acceptance 5), on a quorum of
three with a fake broker (struct-encoded, as in test_controller_meta.py):

  1. malformed Raft RPCs over TCP to every controller (a zero, huge or
     negative frame size, a frame cut short, garbage, unknown API keys,
     wrong versions, seeded random bodies for each Raft API, quorum
     requests from a node that is not a voter): no controller dies, each
     connection is closed or answered, and the quorum still commits;
  2. a metadata log segment cut in the middle of a batch: the controller
     starts, logs that it cut the torn tail, and catches up;
  3. a damaged newest SQLite snapshot: the controller falls back to the
     previous one (replaying the log kept from it) to the leader's image;
  4. snapshots that are valid SQLite but hold a wrong image: the controller
     refuses to start and names the file; wiped, it rebuilds.
"""

import glob
import os
import random
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_controller import BIN, Quorum, describe_quorum, uvarint  # noqa
from test_controller_meta import Heartbeats, create_topics, image, \
    logtext, register, wait_for  # noqa: E402

SNAP_BYTES = 3000
API_FETCH, API_VOTE, API_BEGIN, API_END, API_FETCH_SNAP = 1, 52, 53, 54, 59
RAFT_VERSIONS = {API_FETCH: 12, API_VOTE: 0, API_BEGIN: 0, API_END: 0,
                 API_FETCH_SNAP: 0}


class CorruptQuorum(Quorum):
    def start(self, node, expect_ready=True):
        log = open(os.path.join(self.tmp, "c%d.log" % node), "ab")
        before = logtext(self.tmp, node).count("controller %d ready:" % node) \
            if os.path.exists(os.path.join(self.tmp, "c%d.log" % node)) \
            else 0
        p = subprocess.Popen(
            [BIN, "--set", "node.id=%d" % node,
             "--set", "node.roles=controller",
             "--set", "cluster.controllers=" + self.voters,
             "--set", "cluster.metadata.log.max.record.bytes.between."
             "snapshots=%d" % SNAP_BYTES,
             "--set", "node.data_dir=" + os.path.join(self.tmp,
                                                       "c%d" % node)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[node] = p
        if not expect_ready:
            return p
        wait_for("controller %d ready" % node,
                 lambda: logtext(self.tmp, node).count(
                     "controller %d ready:" % node) > before or
                 p.poll() is not None, 20)
        assert p.poll() is None, "controller %d exited" % node
        return p

    def stop(self, node):
        p = self.procs[node]
        p.terminate()
        p.wait(timeout=20)


def meta_dir(tmp, node):
    return os.path.join(tmp, "c%d" % node, "meta")


def snapshot_files(tmp, node):
    return sorted(glob.glob(os.path.join(meta_dir(tmp, node),
                                         "*-*.sqlite")))


def req_header(api, version, corr=5, flexible=True):
    h = struct.pack(">hhih", api, version, corr, 4) + b"evil"
    return h + (b"\0" if flexible else b"")


def exchange(port, data, timeout=3.0):
    """Send raw bytes; 'closed' when the controller hung up, 'answered'
    when it sent something back, 'open' when it waits for more."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            got = s.recv(65536)
        except socket.timeout:
            return "open"
        except ConnectionResetError:
            return "closed"
        return "answered" if got else "closed"


def frame(body):
    return struct.pack(">i", len(body)) + body


def vote_request(candidate, epoch):
    topic = b"__cluster_metadata"
    part = struct.pack(">iiiiq", 0, epoch, candidate, 0, 0) + b"\0"
    body = (b"\0" + uvarint(2) + uvarint(len(topic) + 1) + topic +
            uvarint(2) + part + b"\0" + b"\0")
    return req_header(API_VOTE, 0) + body


def begin_request(leader, epoch):
    topic = b"__cluster_metadata"
    part = struct.pack(">iii", 0, leader, epoch) + b"\0"
    body = (b"\0" + uvarint(2) + uvarint(len(topic) + 1) + topic +
            uvarint(2) + part + b"\0" + b"\0")
    return req_header(API_BEGIN, 0) + body


def malformed_frames(seed):
    rng = random.Random(seed)
    out = [
        ("empty frame", frame(b"")),
        ("huge size", struct.pack(">I", 0x7FFFFFFF) + b"x" * 16),
        ("negative size", struct.pack(">I", 0xFFFFFFF0) + b"x" * 16),
        ("cut frame", struct.pack(">i", 100) + b"abc"),
        ("cut size", b"\0\0"),
        ("garbage", frame(bytes(rng.randrange(256) for _ in range(64)))),
        ("unknown api key", frame(req_header(9999, 0) + b"\0")),
        ("negative api key", frame(req_header(-7, 0) + b"\0")),
        ("Vote v7", frame(req_header(API_VOTE, 7) + b"\0" * 40)),
        ("Fetch v3", frame(req_header(API_FETCH, 3, flexible=False) +
                           b"\0" * 40)),
        ("DescribeQuorum v99", frame(req_header(55, 99) + b"\0")),
        ("header only", frame(struct.pack(">hh", API_VOTE, 0))),
        ("client id too long", frame(struct.pack(">hhih", API_VOTE, 0, 1,
                                                 30000) + b"a" * 10)),
        ("Vote from a non-voter", frame(vote_request(77, 1000))),
        ("BeginQuorumEpoch from a non-voter", frame(begin_request(77, 1000))),
        ("Vote with the last epoch", frame(vote_request(77, 0x7FFFFFFF))),
        ("huge array count", frame(req_header(API_VOTE, 0) + b"\0" +
                                   b"\xff\xff\xff\xff\x0f")),
    ]
    # From a non-voter: a variant that still decodes must be ignored.
    good = vote_request(77, 1)
    for i in range(len(good) - 1):
        out.append(("Vote cut at %d" % i, frame(good[:i])))
    for api, v in RAFT_VERSIONS.items():
        for i in range(25):
            body = bytes(rng.randrange(256) for _ in
                         range(rng.randrange(1, 120)))
            out.append(("random %d/%d #%d" % (api, v, i),
                        frame(req_header(api, v, flexible=v > 0 or
                                         api != API_FETCH) + body)))
    for i in range(20):
        b = bytearray(good)
        for _ in range(3):
            b[rng.randrange(len(b))] = rng.randrange(256)
        out.append(("Vote with flipped bytes #%d" % i, frame(bytes(b))))
    return out


def main():
    if not os.path.exists(BIN):
        print("missing " + BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="moldau-ctlbad-")
    q = CorruptQuorum(tmp)
    ok = False
    hb = None
    try:
        for n in (1, 2, 3):
            q.start(n)
        leader, epoch, _, _ = q.leader([1, 2, 3], time.time() + 20)
        print("leader %d epoch %d" % (leader, epoch))
        err, bepoch = register(q.port(leader), 101)
        assert err == 0, "registration: error %d" % err
        hb = Heartbeats(q, [1, 2, 3], 101, bepoch)
        hb.start()
        wait_for("broker 101 unfenced", lambda: hb.fenced is False, 15)

        # 1. Malformed RPCs.
        frames = malformed_frames(int(os.environ.get("MOLDAU_SEED", "5")))
        outcomes = {}
        for n in (1, 2, 3):
            for what, data in frames:
                res = exchange(q.port(n), data)
                outcomes[res] = outcomes.get(res, 0) + 1
                assert q.procs[n].poll() is None, \
                    "controller %d died on %s" % (n, what)
        print("%d malformed frames to each controller: %s" %
              (len(frames), outcomes))
        assert outcomes.get("open", 0) <= 3 * 2, outcomes  # the cut frames
        leader, epoch2, _, _ = q.leader([1, 2, 3], time.time() + 20)
        for i in range(10):
            res = create_topics(q.port(leader), ["after-rpc-%d" % i], rf=1)
            assert res == {"after-rpc-%d" % i: 0}, res
        print("quorum still commits: leader %d epoch %d" % (leader, epoch2))

        def same_image(ntopics):
            imgs = [image(tmp, n) for n in (1, 2, 3)]
            if imgs[0] and imgs[0][2] == ntopics and imgs.count(imgs[0]) == 3:
                return imgs[0]
            return None
        img = wait_for("the same image on all three",
                       lambda: same_image(10), 20)

        # 2. A log segment cut inside a batch.
        f = [n for n in (1, 2, 3) if n != leader][0]
        q.stop(f)
        logs = glob.glob(os.path.join(meta_dir(tmp, f), "*.log"))
        assert len(logs) == 1, logs
        size = os.path.getsize(logs[0])
        assert size > 20, size
        with open(logs[0], "r+b") as fh:
            fh.truncate(size - 7)
        q.start(f)
        assert "cutting a torn or corrupt tail" in logtext(tmp, f)
        for i in range(20):
            res = create_topics(q.port(leader), ["after-cut-%d" % i], rf=1)
            assert res == {"after-cut-%d" % i: 0}, res
        img = wait_for("controller %d caught up" % f,
                       lambda: same_image(30), 20)
        print("truncated log: controller %d cut its torn tail and caught "
              "up: %s" % (f, img))

        # 3. A damaged newest snapshot: back to the previous one.
        ntopics = 30
        deadline = time.time() + 30
        def own_snapshots():
            # Two snapshots f wrote itself (one received from the leader
            # restarts the log: no fallback behind it).
            snaps = snapshot_files(tmp, f)
            text = logtext(tmp, f)
            return len(snaps) >= 2 and all(
                "snapshot at offset %d epoch" % int(os.path.basename(p)[:20])
                in text for p in snaps[-2:])
        while not own_snapshots():
            assert time.time() < deadline, "no second snapshot on %d" % f
            res = create_topics(q.port(leader), ["more-%d" % ntopics], rf=1)
            assert res == {"more-%d" % ntopics: 0}, res
            ntopics += 1
            time.sleep(0.1)
        img = wait_for("the same image on all three",
                       lambda: same_image(ntopics), 20)
        q.stop(f)
        snaps = snapshot_files(tmp, f)
        newest = snaps[-1]
        with open(newest, "r+b") as fh:
            fh.seek(0)
            fh.write(b"this is not an SQLite file at all" * 40)
        q.start(f)
        text = logtext(tmp, f)
        assert "skipping snapshot: " + newest in text, text[-3000:]
        assert "loaded snapshot at offset %d " % int(
            os.path.basename(snaps[-2])[:20]) in text, text[-3000:]
        assert os.path.exists(newest + ".damaged")
        img2 = wait_for("controller %d's image after the fallback" % f,
                        lambda: same_image(ntopics), 20)
        assert img2 == img, (img2, img)
        print("damaged snapshot %s: fell back to %s, image %s" %
              (os.path.basename(newest), os.path.basename(snaps[-2]), img2))

        # 4. Snapshots with a wrong image: refuse to start.
        q.stop(f)
        for path in snapshot_files(tmp, f):
            db = sqlite3.connect(path)
            db.execute("UPDATE partitions SET leader = leader + 1")
            db.commit()
            db.close()
        p = q.start(f, expect_ready=False)
        rc = p.wait(timeout=20)
        text = logtext(tmp, f)
        assert rc != 0, rc
        assert "refusing to start with a wrong image" in text, text[-2000:]
        assert "damaged (digest" in text and \
            os.path.basename(snapshot_files(tmp, f)[-1]) in \
            text.splitlines()[-1], text[-2000:]
        print("wrong snapshots refused: %s" % text.splitlines()[-1])
        shutil.rmtree(meta_dir(tmp, f))
        q.start(f)
        wait_for("controller %d rebuilt" % f, lambda: same_image(ntopics),
                 30)
        print("controller %d rebuilt after the wipe" % f)
        ok = True
    finally:
        if hb is not None:
            hb.stop.set()
        q.finish(tmp, ok)
    print("test_controller_corrupt: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
