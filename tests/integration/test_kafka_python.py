"""kafka-python (Debian's python3-kafka 2.0.2) against a real broker: the
seed's example verbatim, then keyed messages with headers under every
compression codec kafka-python supports."""

import harness
from harness import Broker

CODECS = ["gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 200


def seed_example(port):
    # The seed's example, verbatim but for the port.
    from kafka import KafkaProducer, KafkaConsumer

    producer = KafkaProducer(bootstrap_servers='localhost:%d' % port)
    producer.send('mytopic', b'Hello, Kafka!')
    producer.flush()

    consumer = KafkaConsumer('mytopic',
                             bootstrap_servers='localhost:%d' % port,
                             auto_offset_reset='earliest',
                             consumer_timeout_ms=10000)
    values = [message.value for message in consumer]
    consumer.close()
    producer.close()
    assert values == [b'Hello, Kafka!'], "seed example read %r" % values
    harness.log("seed example: read back %r" % values[0])


def codec_available(codec):
    from kafka import codec as kc
    return {"gzip": kc.has_gzip, "snappy": kc.has_snappy, "lz4": kc.has_lz4,
            "zstd": kc.has_zstd}[codec]()


def keyed_with_headers(bootstrap, codec):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = "kp-%s" % (codec or "none")
    producer = KafkaProducer(bootstrap_servers=bootstrap,
                             compression_type=codec, acks='all',
                             linger_ms=5)
    api = producer.config['api_version']
    harness.log("kafka-python guessed broker api_version %r" % (api,))
    # Headers need 0.11+, zstd 2.1+: a lower guess silently loses features.
    assert api >= (2, 1), "broker maxima make kafka-python guess %r" % (api,)
    sent = []
    futures = []
    for i in range(PER_CODEC):
        key = b"k%03d" % (i % 17)
        value = (b"%s message %d " % (topic.encode(), i)) * (1 + i % 5)
        headers = [("seq", b"%d" % i), ("codec", (codec or "none").encode())]
        if i % 10 == 0:
            headers.append(("empty", b""))
        sent.append((key, value, headers))
        futures.append(producer.send(topic, key=key, value=value,
                                     headers=headers, partition=0))
    producer.flush(timeout=30)
    offsets = [f.get(timeout=30).offset for f in futures]
    producer.close()
    assert offsets == list(range(offsets[0], offsets[0] + PER_CODEC)), \
        "%s: acknowledged offsets not consecutive: %r" % (codec, offsets[:20])

    consumer = KafkaConsumer(bootstrap_servers=bootstrap,
                             auto_offset_reset='earliest',
                             consumer_timeout_ms=10000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, offsets[0])
    got = []
    for m in consumer:
        got.append(m)
        if len(got) == PER_CODEC:
            break
    consumer.close()
    assert len(got) == PER_CODEC, "%s: read %d of %d" % (
        codec, len(got), PER_CODEC)
    for i, m in enumerate(got):
        key, value, headers = sent[i]
        assert m.offset == offsets[i], "%s: message %d at offset %d, " \
            "acknowledged at %d" % (codec, i, m.offset, offsets[i])
        assert m.key == key and m.value == value, \
            "%s: message %d is %r=%r, want %r=%r" % (
                codec, i, m.key, m.value[:40], key, value[:40])
        assert list(m.headers) == headers, "%s: message %d headers %r, " \
            "want %r" % (codec, i, m.headers, headers)
    harness.log("%s: %d keyed messages with headers OK" % (codec, PER_CODEC))


def test():
    with Broker(sets=["broker.auto.create.topics.enable=true"]) as b:
        seed_example(b.port)
        keyed_with_headers(b.bootstrap, None)
        for codec in CODECS:
            if not codec_available(codec):
                print("SKIP codec %s: its python module is not installed "
                      "(kafka-python cannot use it)" % codec, flush=True)
                continue
            keyed_with_headers(b.bootstrap, codec)


if __name__ == "__main__":
    harness.run(test)
