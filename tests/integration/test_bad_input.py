"""Bad input on raw sockets: oversized, truncated and garbage frames, an
unknown API key, an unsupported ApiVersions version and a Produce with a
corrupt CRC each get Kafka's error response or a closed connection, while
an open connection and fresh clients keep being served.

Requests are encoded here by hand from the wire format (big-endian
fixed-width integers, int16-length strings, int32-count arrays; flexible
versions use unsigned varints and tagged fields)."""

import random
import socket
import struct
import time

import harness
from harness import Broker, kcat_roundtrip_ok
from test_confluent import create_topics

MAX_REQ = 1048576

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_API_VERSIONS = 18
API_CREATE_TOPICS = 19
API_DELETE_TOPICS = 20

ERR_NONE = 0
ERR_CORRUPT_MESSAGE = 2
ERR_UNSUPPORTED_VERSION = 35

# -- encoding -------------------------------------------------------------


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_T = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint(n):
    """Signed zig-zag varint (record fields)."""
    return uvarint((n << 1) ^ (n >> 63))


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def header_v1(api_key, version, corr, client_id="moldau-test"):
    return struct.pack(">hhi", api_key, version, corr) + string(client_id)


def header_v2(api_key, version, corr, client_id="moldau-test"):
    return header_v1(api_key, version, corr, client_id) + uvarint(0)


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def record(offset_delta, ts_delta, key, value, headers=()):
    body = bytes([0]) + varint(ts_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + varint(len(hv)) + hv
    return varint(len(body)) + body


def record_batch(records, base_ts, producer=(-1, -1, -1)):
    """Magic v2 batch of (key, value, headers) at relative offsets 0..;
    producer: (producer id, epoch, base sequence)."""
    recs = b"".join(record(i, i, k, v, h) for i, (k, v, h) in
                    enumerate(records))
    pid, epoch, seq = producer
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, base_ts,
                            base_ts + len(records) - 1, pid, epoch, seq,
                            len(records)) + recs
    crc = crc32c(after_crc)
    after_len = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def produce_v7(corr, topic, partition, batch, acks=1):
    body = string(None) + struct.pack(">hi", acks, 10000)
    body += struct.pack(">i", 1) + string(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", partition)
    body += struct.pack(">i", len(batch)) + batch
    return frame(header_v1(API_PRODUCE, 7, corr) + body)


# -- decoding -------------------------------------------------------------


class Reader:
    def __init__(self, b):
        self.b = b
        self.i = 0

    def take(self, n):
        assert self.i + n <= len(self.b), \
            "response too short: need %d bytes at %d of %d" % (
                n, self.i, len(self.b))
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def unpack(self, fmt):
        v = struct.unpack(">" + fmt, self.take(struct.calcsize(">" + fmt)))
        return v[0] if len(v) == 1 else v

    def uvarint(self):
        shift = n = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    def string(self):
        n = self.unpack("h")
        return None if n < 0 else self.take(n).decode()

    def tagged(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def done(self):
        assert self.i == len(self.b), "%d trailing bytes in response" % (
            len(self.b) - self.i)


def connect(b):
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(n - len(buf))
        except socket.timeout:
            raise AssertionError("no response within deadline (%d of %d "
                                 "bytes)" % (len(buf), n))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(s, timeout=10):
    """The next response frame, or None if the broker closed."""
    deadline = time.monotonic() + timeout
    h = recv_exact(s, 4, deadline)
    if h is None:
        return None
    (n,) = struct.unpack(">i", h)
    assert 0 <= n < 64 << 20, "response length %d" % n
    body = recv_exact(s, n, deadline)
    assert body is not None, "connection closed inside a response"
    return body


def expect_closed(s, what, timeout=10):
    """The broker closes the connection (EOF or reset) within timeout;
    any response bytes first are a failure."""
    deadline = time.monotonic() + timeout
    got = b""
    while True:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            raise AssertionError("%s: connection still open after %ds "
                                 "(received %r)" % (what, timeout, got[:64]))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        got += chunk
    s.close()
    assert got == b"", "%s: expected a closed connection, got %r" % (
        what, got[:64])
    harness.log("%s: connection closed" % what)


def closed_or_response(s, corr, what):
    """Either a closed connection or a response carrying corr."""
    body = recv_frame(s)
    s.close()
    if body is None:
        harness.log("%s: connection closed" % what)
        return None
    (c,) = struct.unpack(">i", body[:4])
    assert c == corr, "%s: response correlation id %d, sent %d" % (what, c,
                                                                    corr)
    harness.log("%s: error response (%d bytes)" % (what, len(body)))
    return body


# -- ApiVersions ----------------------------------------------------------


def api_versions_v0(s, corr):
    s.sendall(frame(header_v1(API_API_VERSIONS, 0, corr)))
    body = recv_frame(s)
    assert body is not None, "ApiVersions v0: connection closed"
    r = Reader(body)
    assert r.unpack("i") == corr
    err = r.unpack("h")
    ranges = {}
    for _ in range(r.unpack("i")):
        k, lo, hi = r.unpack("hhh")
        ranges[k] = (lo, hi)
    r.done()
    return err, ranges


def check_ranges(ranges, what):
    for key in (API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA,
                API_API_VERSIONS, API_CREATE_TOPICS, API_DELETE_TOPICS):
        assert key in ranges, "%s: API %d not advertised: %r" % (what, key,
                                                                 ranges)
        lo, hi = ranges[key]
        assert 0 <= lo <= hi, "%s: API %d range %r" % (what, key,
                                                        ranges[key])
    # What librdkafka and kafka-python pick and infer from (issue 2).
    assert ranges[API_PRODUCE][0] <= 7 <= ranges[API_PRODUCE][1]
    assert ranges[API_PRODUCE][1] >= 8, "Produce max < 8: %r" % ranges
    assert ranges[API_FETCH][0] <= 11 <= ranges[API_FETCH][1]
    assert ranges[API_API_VERSIONS] [0] == 0 and \
        ranges[API_API_VERSIONS][1] >= 3


def check_api_versions(b):
    s = connect(b)
    err, ranges = api_versions_v0(s, 7)
    assert err == ERR_NONE, "ApiVersions v0 error %d" % err
    check_ranges(ranges, "ApiVersions v0")

    # v3: header v2, compact strings, tagged fields; response header v0.
    body = compact_string("moldau-test") + compact_string("1.0") + uvarint(0)
    s.sendall(frame(header_v2(API_API_VERSIONS, 3, 8) + body))
    resp = recv_frame(s)
    assert resp is not None, "ApiVersions v3: connection closed"
    r = Reader(resp)
    assert r.unpack("i") == 8
    assert r.unpack("h") == ERR_NONE
    ranges3 = {}
    for _ in range(r.uvarint() - 1):
        k, lo, hi = r.unpack("hhh")
        r.tagged()
        ranges3[k] = (lo, hi)
    r.unpack("i")  # throttle_time_ms
    r.tagged()
    r.done()
    assert ranges3 == ranges, "v3 ranges differ from v0"
    s.close()
    harness.log("ApiVersions v0 and v3: %d APIs" % len(ranges))
    return ranges


# -- cases ----------------------------------------------------------------


def case_oversized(b):
    for n in (MAX_REQ + 1, 0x7FFFFFFF):
        s = connect(b)
        s.sendall(struct.pack(">i", n) + header_v1(API_METADATA, 1, 1) +
                  b"\0" * 64)
        expect_closed(s, "frame of %d bytes (max %d)" % (n, MAX_REQ))


def case_truncated(b):
    # Frame announces 100 bytes, 10 arrive, then the client half-closes.
    s = connect(b)
    s.sendall(struct.pack(">i", 100) + header_v1(API_API_VERSIONS, 0, 1))
    s.shutdown(socket.SHUT_WR)
    expect_closed(s, "truncated frame then EOF")
    # Same, but the client just goes away.
    s = connect(b)
    s.sendall(struct.pack(">i", 100) + b"\0\x12")
    s.close()
    # A large frame (read straight from the socket past the first bytes)
    # cut short: half-closed, then simply dropped.
    for half in (True, False):
        s = connect(b)
        s.sendall(struct.pack(">i", 1 << 20) +
                  header_v1(API_PRODUCE, 7, 2) + b"\x07" * (200 << 10))
        if half:
            s.shutdown(socket.SHUT_WR)
            expect_closed(s, "large frame cut short then EOF")
        else:
            s.close()
    # A whole frame whose request header is cut short.
    s = connect(b)
    s.sendall(frame(struct.pack(">hh", API_API_VERSIONS, 0) + b"\0\0"))
    expect_closed(s, "frame with a truncated request header")
    # A Produce v7 frame cut inside its topic array.
    s = connect(b)
    s.sendall(frame(header_v1(API_PRODUCE, 7, 3) + string(None) +
                    struct.pack(">hii", 1, 1000, 1) + b"\0\x05ab"))
    closed_or_response(s, 3, "Produce v7 with a truncated body")


def case_unknown_api(b):
    s = connect(b)
    s.sendall(frame(header_v1(9999, 0, 42)))
    closed_or_response(s, 42, "unknown API key 9999")
    s = connect(b)
    s.sendall(frame(header_v1(-1, 0, 43)))
    closed_or_response(s, 43, "API key -1")


def case_unsupported_version(b):
    # ApiVersions v99 (sent as librdkafka sends v3: header v2): the answer
    # is a v0 response with UNSUPPORTED_VERSION and the supported ranges.
    s = connect(b)
    body = compact_string("moldau-test") + compact_string("1.0") + uvarint(0)
    s.sendall(frame(header_v2(API_API_VERSIONS, 99, 77) + body))
    resp = recv_frame(s)
    assert resp is not None, "ApiVersions v99: connection closed, want " \
        "an UNSUPPORTED_VERSION response"
    r = Reader(resp)
    assert r.unpack("i") == 77
    err = r.unpack("h")
    assert err == ERR_UNSUPPORTED_VERSION, "ApiVersions v99: error %d" % err
    ranges = {}
    for _ in range(r.unpack("i")):
        k, lo, hi = r.unpack("hhh")
        ranges[k] = (lo, hi)
    r.done()
    assert API_API_VERSIONS in ranges and \
        ranges[API_API_VERSIONS][0] == 0 and \
        ranges[API_API_VERSIONS][1] >= 3, \
        "v99 answer lacks the ApiVersions range: %r" % ranges
    # The connection stays usable: the client retries with v0.
    err, ranges0 = api_versions_v0(s, 78)
    assert err == ERR_NONE
    s.close()
    harness.log("ApiVersions v99: UNSUPPORTED_VERSION with %d ranges" %
                len(ranges))
    # A Metadata request at a version above the advertised maximum.
    s = connect(b)
    s.sendall(frame(header_v1(API_METADATA, 999, 79) + struct.pack(">i", 0)))
    closed_or_response(s, 79, "Metadata v999")


def case_garbage(b):
    s = connect(b)
    s.sendall(b"\xff" * 64)
    expect_closed(s, "negative frame length")
    s = connect(b)
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    expect_closed(s, "an HTTP request")
    rnd = random.Random(20261124)
    for i in range(20):
        s = connect(b)
        n = rnd.randrange(8, 200)
        payload = bytes(rnd.randrange(256) for _ in range(n))
        if i % 2:
            # Well-framed garbage after a valid-looking header, for APIs
            # that must answer at once or close (not Produce, which may
            # decode as acks=0, nor those that wait for a timeout).
            key = rnd.choice([API_LIST_OFFSETS, API_METADATA,
                              API_API_VERSIONS])
            ver = rnd.randrange(0, 8)
            s.sendall(frame(header_v1(key, ver, 100 + i) + payload))
            closed_or_response(s, 100 + i, "API %d v%d with a garbage "
                               "body" % (key, ver))
        else:
            s.sendall(payload)      # raw garbage, then the client leaves
            s.close()
    # Huge array counts must not make the broker allocate or wait.
    s = connect(b)
    s.sendall(frame(header_v1(API_METADATA, 1, 5) +
                    struct.pack(">i", 0x7FFFFFFF)))
    closed_or_response(s, 5, "Metadata v1 with 2^31-1 topics")
    harness.log("garbage: 24 connections")


def case_corrupt_crc(b):
    topic = "bad-crc"
    ts = int(time.time() * 1000)
    good = record_batch([(b"k1", b"the good one", [(b"h", b"v")])], ts)
    s = connect(b)
    s.sendall(produce_v7(11, topic, 0, good))
    resp = recv_frame(s)
    assert resp is not None, "valid Produce v7: connection closed"
    part = parse_produce_v7(resp, 11, topic)
    assert part == (0, ERR_NONE, 0), \
        "valid Produce v7 answered (partition, error, offset) %r" % (part,)

    bad = bytearray(record_batch([(b"k2", b"bad crc", [])], ts))
    bad[17:21] = bytes(x ^ 0xFF for x in bad[17:21])   # the CRC field
    s.sendall(produce_v7(12, topic, 0, bytes(bad)))
    resp = recv_frame(s)
    assert resp is not None, "corrupt CRC: connection closed, want " \
        "CORRUPT_MESSAGE"
    part = parse_produce_v7(resp, 12, topic)
    assert part[:2] == (0, ERR_CORRUPT_MESSAGE), \
        "corrupt CRC answered %r, want error %d" % (part,
                                                    ERR_CORRUPT_MESSAGE)

    bad = bytearray(record_batch([(b"k3", b"flipped payload", [])], ts))
    bad[-3] ^= 0x20                                       # a value byte
    s.sendall(produce_v7(13, topic, 0, bytes(bad)))
    part = parse_produce_v7(recv_frame(s), 13, topic)
    assert part[:2] == (0, ERR_CORRUPT_MESSAGE), \
        "corrupt payload answered %r" % (part,)
    s.close()

    cp = harness.kcat(["-C", "-b", b.bootstrap, "-t", topic, "-o",
                       "beginning", "-e", "-q", "-f", "%o %k=%s\\n"])
    assert cp.stdout == b"0 k1=the good one\n", \
        "log after corrupt produces: %r" % cp.stdout
    harness.log("corrupt CRC: CORRUPT_MESSAGE, nothing appended")


def parse_produce_v7(resp, corr, topic):
    assert resp is not None, "Produce: connection closed"
    r = Reader(resp)
    assert r.unpack("i") == corr
    assert r.unpack("i") == 1
    assert r.string() == topic
    assert r.unpack("i") == 1
    idx, err, base, _lat, _lso = r.unpack("ihqqq")
    r.unpack("i")
    r.done()
    return idx, err, base


def test():
    with Broker(sets=["broker.socket.request.max.bytes=%d" % MAX_REQ,
                      "broker.auto.create.topics.enable=true",
                      "broker.num.partitions=1"]) as b:
        create_topics(b.bootstrap, [("bad-crc", 1)])
        check_api_versions(b)
        keeper = connect(b)      # a client that stays connected throughout
        corr = 1000
        cases = [case_oversized, case_truncated, case_unknown_api,
                 case_unsupported_version, case_garbage, case_corrupt_crc]
        for i, case in enumerate(cases):
            case(b)
            assert b.alive(), "broker died after %s:\n%s" % (
                case.__name__, b.stderr_tail())
            corr += 1
            err, ranges = api_versions_v0(keeper, corr)
            assert err == ERR_NONE, "open connection after %s: error %d" % (
                case.__name__, err)
            kcat_roundtrip_ok(b.bootstrap, "alive-%d" % i)
            harness.log("after %s: broker still serves" % case.__name__)
        keeper.close()


if __name__ == "__main__":
    harness.run(test)
