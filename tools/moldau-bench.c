/*
 * moldau-bench: librdkafka producer/consumer benchmark.
 *
 *   moldau-bench [options] MODE...
 *
 * MODE is produce, consume, latency or serve, run in the order given
 * against one cluster: a broker at -b, or with -M librdkafka's in-process
 * mock cluster started in a child process of its own (the client's
 * ceiling on this machine).  Each mode prints one result line of
 * key=value fields, e.g.
 *
 *   produce target=moldau msgs=1000000 bytes=100000000 secs=1.23
 *       msgs_per_s=813008 mb_per_s=77.53 ...
 *
 * With -P PID (implied for the mock's child) the line also carries the
 * server's CPU seconds (utime+stime from /proc) spent during the mode; -P
 * may be given once per broker of a cluster (the sum, and each process's
 * figure in server_cpu_s_each).  Topics are created with -R replicas and
 * -C key=value topic configs (e.g. min.insync.replicas=2).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define BENCH_MAX_EXTRA	32
#define BENCH_MAX_PIDS	8
#define BENCH_HDR	16	/* payload prefix: u64 send time, u32 flags */
#define BENCH_WARM	1u	/* flag: warm-up message, not measured */
#define BENCH_IDLE_S	15.0	/* consume gives up after this long idle */
#define BENCH_CHUNK	1000	/* consecutive messages per partition */

struct bench_opts {
	const char	*bootstrap;
	const char	*topic;
	const char	*label;
	long		 msgs;
	size_t		 size;
	int		 partitions;
	int		 replicas;		/* -R: topic replication factor */
	const char	*acks;
	int		 linger_ms;
	int		 fetch_wait_ms;		/* -1: librdkafka's default */
	long		 rate;			/* latency: messages per second */
	int		 mock;
	pid_t		 server_pid[BENCH_MAX_PIDS];	/* none: no CPU */
	size_t		 npids;
	const char	*extra[BENCH_MAX_EXTRA];
	size_t		 nextra;
	const char	*topic_conf[BENCH_MAX_EXTRA];	/* -C key=value */
	size_t		 ntopic_conf;
};

struct bench_mock {
	pid_t	pid;
	int	ctl;		/* write end; the child exits on its EOF */
	char	bootstraps[256];
};

static volatile sig_atomic_t bench_stop;
static long bench_full_waits;	/* producev found the local queue full */

static void	bench_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "moldau-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Server CPU seconds (utime+stime), or -1 if unknown. */
static double
bench_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name in parentheses: state is field 3,
	 * utime 14 and stime 15. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Each server's CPU seconds into v; the total, or -1 if any is unknown. */
static double
bench_cpu_mark(const struct bench_opts *o, double *v)
{
	double sum = 0;
	size_t i;

	if (o->npids == 0)
		return -1;
	for (i = 0; i < o->npids; i++) {
		if ((v[i] = bench_cpu(o->server_pid[i])) < 0)
			return -1;
		sum += v[i];
	}
	return sum;
}

/* c[0]: the total (-1: no figures), c[1 + i]: server i. */
static void
bench_cpu_start(const struct bench_opts *o, double *c)
{
	c[0] = bench_cpu_mark(o, c + 1);
}

static void
bench_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
	char err[256];

	if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK)
		bench_die("%s=%s: %s", key, val, err);
}

static rd_kafka_conf_t *
bench_conf(const struct bench_opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char key[128];
	const char *eq;
	size_t i;

	bench_set(conf, "bootstrap.servers", o->bootstrap);
	bench_set(conf, "client.id", "moldau-bench");
	for (i = 0; i < o->nextra; i++) {
		if ((eq = strchr(o->extra[i], '=')) == NULL ||
		    (size_t)(eq - o->extra[i]) >= sizeof(key))
			bench_die("-X %s: want key=value", o->extra[i]);
		memcpy(key, o->extra[i], (size_t)(eq - o->extra[i]));
		key[eq - o->extra[i]] = '\0';
		bench_set(conf, key, eq + 1);
	}
	return conf;
}

static rd_kafka_t *
bench_new(const struct bench_opts *o, rd_kafka_type_t type,
    rd_kafka_conf_t *conf)
{
	char err[256];
	rd_kafka_t *rk;

	(void)o;
	if ((rk = rd_kafka_new(type, conf, err, sizeof(err))) == NULL)
		bench_die("rd_kafka_new: %s", err);
	return rk;
}

/* cpu0: bench_cpu_start() at the start of the mode (NULL: no figures). */
static void
bench_result(const char *mode, const struct bench_opts *o, long msgs,
    double secs, const double *cpu0, const char *more)
{
	double bytes = (double)msgs * (double)o->size;
	double v[BENCH_MAX_PIDS], cpu = -1;
	size_t i;

	if (cpu0 != NULL && cpu0[0] >= 0 && bench_cpu_mark(o, v) >= 0)
		for (cpu = 0, i = 0; i < o->npids; i++)
			cpu += v[i] - cpu0[1 + i];

	if (secs <= 0)
		secs = 1e-9;
	printf("%s target=%s msgs=%ld bytes=%.0f secs=%.3f msgs_per_s=%.0f "
	    "mb_per_s=%.2f partitions=%d", mode, o->label, msgs, bytes, secs,
	    (double)msgs / secs, bytes / secs / 1e6, o->partitions);
	if (cpu >= 0) {
		printf(" server_cpu_s=%.2f server_cpu_s_per_gb=%.2f", cpu,
		    bytes > 0 ? cpu / (bytes / 1e9) : 0.0);
		if (o->npids > 1)
			for (i = 0; i < o->npids; i++)
				printf("%s%.2f", i == 0 ?
				    " server_cpu_s_each=" : ",",
				    v[i] - cpu0[1 + i]);
	}
	if (more != NULL && *more != '\0')
		printf(" %s", more);
	putchar('\n');
	fflush(stdout);
}

/* ---- topic creation (real brokers; the mock's child pre-creates) ---- */

static void
bench_create_topic(const struct bench_opts *o)
{
	rd_kafka_t *rk = bench_new(o, RD_KAFKA_PRODUCER, bench_conf(o));
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_NewTopic_t *nt;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	rd_kafka_event_t *ev;
	rd_kafka_resp_err_t err;
	char errstr[256], key[128];
	const char *eq;
	size_t n, i;

	nt = rd_kafka_NewTopic_new(o->topic, o->partitions, o->replicas, errstr,
	    sizeof(errstr));
	if (nt == NULL)
		bench_die("NewTopic: %s", errstr);
	for (i = 0; i < o->ntopic_conf; i++) {
		eq = strchr(o->topic_conf[i], '=');
		if (eq == NULL || (size_t)(eq - o->topic_conf[i]) >= sizeof(key))
			bench_die("-C %s: want key=value", o->topic_conf[i]);
		memcpy(key, o->topic_conf[i], (size_t)(eq - o->topic_conf[i]));
		key[eq - o->topic_conf[i]] = '\0';
		if (rd_kafka_NewTopic_set_config(nt, key, eq + 1) != 0)
			bench_die("-C %s: rejected", o->topic_conf[i]);
	}
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	if ((ev = rd_kafka_queue_poll(q, 30000)) == NULL)
		bench_die("CreateTopics %s: no answer in 30s", o->topic);
	if ((err = rd_kafka_event_error(ev)) != RD_KAFKA_RESP_ERR_NO_ERROR)
		bench_die("CreateTopics %s: %s", o->topic,
		    rd_kafka_event_error_string(ev));
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &n);
	if (n == 1 && (err = rd_kafka_topic_result_error(tr[0])) != 0 &&
	    err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
		bench_die("CreateTopics %s: %s", o->topic,
		    rd_kafka_topic_result_error_string(tr[0]));
	rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
}

/* ---- produce ---- */

static int
bench_partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;
	double t0 = bench_now();
	int n;

	for (;;) {
		err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			n = md->topic_cnt == 1 && md->topics[0].err == 0 ?
			    md->topics[0].partition_cnt : 0;
			rd_kafka_metadata_destroy(md);
			if (n > 0)
				return n;
		}
		if (bench_now() - t0 > 30)
			bench_die("metadata for %s: %s", rd_kafka_topic_name(rkt),
			    err ? rd_kafka_err2str(err) : "no partitions");
		usleep(100000);
	}
}

struct bench_dr {
	long	ok;
	long	failed;
	char	first_err[256];
};

static void
bench_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct bench_dr *dr = opaque;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		dr->ok++;
		return;
	}
	if (dr->failed++ == 0)
		snprintf(dr->first_err, sizeof(dr->first_err), "%s",
		    rd_kafka_err2str(m->err));
}

static rd_kafka_t *
bench_producer(const struct bench_opts *o, struct bench_dr *dr)
{
	rd_kafka_conf_t *conf = bench_conf(o);
	char buf[32];

	bench_set(conf, "acks", o->acks);
	snprintf(buf, sizeof(buf), "%d", o->linger_ms);
	bench_set(conf, "linger.ms", buf);
	bench_set(conf, "queue.buffering.max.messages", "1000000");
	rd_kafka_conf_set_dr_msg_cb(conf, bench_dr_cb);
	rd_kafka_conf_set_opaque(conf, dr);
	return bench_new(o, RD_KAFKA_PRODUCER, conf);
}

/*
 * Enqueue one message, waiting while the local queue is full.  Message i
 * goes to partition (i / BENCH_CHUNK) % partitions: like the sticky
 * partitioner, but spread evenly (the mock keeps only a few MiB per
 * partition, so an uneven spread loses messages there).
 */
static void
bench_send(rd_kafka_t *rk, const char *topic, int32_t partition,
    const void *buf, size_t len)
{
	rd_kafka_resp_err_t err;

	for (;;) {
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_PARTITION(partition),
		    RD_KAFKA_V_VALUE((void *)(uintptr_t)buf, len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			return;
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			bench_die("produce: %s", rd_kafka_err2str(err));
		bench_full_waits++;
		rd_kafka_poll(rk, 1);
	}
}

static int
bench_produce(const struct bench_opts *o)
{
	struct bench_dr dr = { 0 };
	rd_kafka_t *rk = bench_producer(o, &dr);
	rd_kafka_topic_t *rkt;
	unsigned char *buf;
	double t0, secs, cpu0[BENCH_MAX_PIDS + 1];
	char more[400];
	long i;

	if ((buf = calloc(1, o->size > BENCH_HDR ? o->size : BENCH_HDR)) ==
	    NULL)
		bench_die("out of memory");
	for (i = BENCH_HDR; i < (long)o->size; i++)
		buf[i] = (unsigned char)('a' + i % 26);
	/*
	 * The clock starts once the client knows the topic's partitions
	 * and leaders.  Otherwise librdkafka 2.0.2 now and then asks for
	 * them only at its 1 s topic scan (a new topic met while its first
	 * brokers-only metadata request is out): a second lost in a run of
	 * one or two, with the mock and with moldau alike.
	 */
	rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	if (rkt == NULL)
		bench_die("topic %s: %s", o->topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
	(void)bench_partition_count(rk, rkt);
	bench_cpu_start(o, cpu0);
	t0 = bench_now();
	for (i = 0; i < o->msgs && !bench_stop; i++) {
		memcpy(buf, &i, sizeof(i));
		bench_send(rk, o->topic,
		    (int32_t)((i / BENCH_CHUNK) % o->partitions), buf, o->size);
		if ((i & 1023) == 0)
			rd_kafka_poll(rk, 0);
	}
	while (rd_kafka_outq_len(rk) > 0 && !bench_stop &&
	    bench_now() - t0 < 600)
		rd_kafka_poll(rk, 50);
	secs = bench_now() - t0;
	snprintf(more, sizeof(more), "acks=%s linger_ms=%d size=%zu errors=%ld "
	    "queue_full_waits=%ld", o->acks, o->linger_ms, o->size, dr.failed,
	    bench_full_waits);
	if (dr.failed)
		fprintf(stderr, "moldau-bench: %ld delivery errors, first: %s\n",
		    dr.failed, dr.first_err);
	bench_result("produce", o, dr.ok, secs,
	    cpu0, more);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	free(buf);
	return dr.failed == 0 && dr.ok == o->msgs ? 0 : -1;
}

/* ---- consume (simple consumer API: no group, explicit offsets) ---- */

struct bench_consumer {
	rd_kafka_t		*rk;
	rd_kafka_topic_t	*rkt;
	rd_kafka_queue_t	*q;
	int			 nparts;
};


/* Start every partition from the beginning, or if latest at its end. */
static void
bench_consumer_open(const struct bench_opts *o, struct bench_consumer *c,
    int latest)
{
	rd_kafka_conf_t *conf = bench_conf(o);
	int64_t lo, hi, off;
	char buf[32];
	int p;

	if (o->fetch_wait_ms >= 0) {
		snprintf(buf, sizeof(buf), "%d", o->fetch_wait_ms);
		bench_set(conf, "fetch.wait.max.ms", buf);
	}
	c->rk = bench_new(o, RD_KAFKA_CONSUMER, conf);
	c->rkt = rd_kafka_topic_new(c->rk, o->topic, NULL);
	c->q = rd_kafka_queue_new(c->rk);
	c->nparts = bench_partition_count(c->rk, c->rkt);
	for (p = 0; p < c->nparts; p++) {
		off = RD_KAFKA_OFFSET_BEGINNING;
		if (latest) {
			if (rd_kafka_query_watermark_offsets(c->rk, o->topic, p,
			    &lo, &hi, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
				bench_die("watermarks of %s/%d", o->topic, p);
			off = hi;
		}
		if (rd_kafka_consume_start_queue(c->rkt, p, off, c->q) != 0)
			bench_die("consume_start %s/%d: %s", o->topic, p,
			    rd_kafka_err2str(rd_kafka_last_error()));
	}
}

static void
bench_consumer_close(struct bench_consumer *c)
{
	int p;

	for (p = 0; p < c->nparts; p++)
		rd_kafka_consume_stop(c->rkt, p);
	rd_kafka_queue_destroy(c->q);
	rd_kafka_topic_destroy(c->rkt);
	rd_kafka_destroy(c->rk);
}

static int
bench_consume(const struct bench_opts *o)
{
	struct bench_consumer c;
	rd_kafka_message_t *batch[10000];
	double t0, tlast, secs, cpu0[BENCH_MAX_PIDS + 1];
	long got = 0, errs = 0;
	ssize_t n, i;
	char more[128];

	bench_consumer_open(o, &c, 0);
	bench_cpu_start(o, cpu0);
	t0 = tlast = bench_now();
	while (got < o->msgs && !bench_stop) {
		n = rd_kafka_consume_batch_queue(c.q, 500, batch, 10000);
		for (i = 0; i < n; i++) {
			if (batch[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR)
				got++;
			else if (batch[i]->err !=
			    RD_KAFKA_RESP_ERR__PARTITION_EOF && errs++ == 0)
				fprintf(stderr, "moldau-bench: consume: %s\n",
				    rd_kafka_message_errstr(batch[i]));
			rd_kafka_message_destroy(batch[i]);
		}
		if (n > 0)
			tlast = bench_now();
		else if (bench_now() - tlast > BENCH_IDLE_S) {
			fprintf(stderr, "moldau-bench: consume: nothing for "
			    "%.0fs at %ld of %ld\n", BENCH_IDLE_S, got, o->msgs);
			break;
		}
	}
	secs = tlast - t0;
	snprintf(more, sizeof(more), "size=%zu errors=%ld fetch_wait_max_ms=%d",
	    o->size, errs, o->fetch_wait_ms);
	bench_result("consume", o, got, secs,
	    cpu0, more);
	bench_consumer_close(&c);
	return got >= o->msgs ? 0 : -1;
}

/* ---- latency: fixed-rate producer, consumer thread measures ---- */

struct bench_lat {
	struct bench_consumer	 c;
	long			 want;		/* measured messages */
	long			 total;		/* all messages, warm-up too */
	double			*ms;
	long			 n;
	long			 seen;
	int			 done;
};

/*
 * One message per call: rd_kafka_consume_batch_queue() waits for a full
 * batch or its timeout, which would add up to the timeout to each figure.
 */
static void *
bench_lat_consume(void *arg)
{
	struct bench_lat *l = arg;
	rd_kafka_message_t *m;
	uint64_t sent, now;
	uint32_t flags;
	double tlast = bench_now();

	while (l->seen < l->total && !bench_stop) {
		if ((m = rd_kafka_consume_queue(l->c.q, 100)) == NULL) {
			if (bench_now() - tlast > BENCH_IDLE_S)
				break;
			continue;
		}
		now = bench_now_ns();
		tlast = bench_now();
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    m->len >= BENCH_HDR) {
			memcpy(&sent, m->payload, sizeof(sent));
			memcpy(&flags, (char *)m->payload + 8, sizeof(flags));
			l->seen++;
			if (!(flags & BENCH_WARM) && l->n < l->want)
				l->ms[l->n++] = (double)(now - sent) / 1e6;
		}
		rd_kafka_message_destroy(m);
	}
	l->done = 1;
	return NULL;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
bench_pct(const double *v, long n, double pct)
{
	long i;

	if (n == 0)
		return -1;
	i = (long)(pct / 100.0 * (double)n);
	return v[i >= n ? n - 1 : i];
}

static int
bench_latency(const struct bench_opts *o)
{
	struct bench_lat l;
	struct bench_dr dr = { 0 };
	struct timespec next;
	unsigned char *buf;
	rd_kafka_t *rk;
	pthread_t th;
	long warm, i;
	uint64_t now, step;
	uint32_t flags;
	double cpu0[BENCH_MAX_PIDS + 1], t0, secs;
	char more[300];

	memset(&l, 0, sizeof(l));
	warm = o->rate;		/* one second of warm-up */
	l.want = o->msgs;
	l.total = o->msgs + warm;
	if ((l.ms = calloc((size_t)l.want, sizeof(double))) == NULL ||
	    (buf = calloc(1, o->size > BENCH_HDR ? o->size : BENCH_HDR)) ==
	    NULL)
		bench_die("out of memory");
	rk = bench_producer(o, &dr);
	bench_consumer_open(o, &l.c, 1);
	if (pthread_create(&th, NULL, bench_lat_consume, &l) != 0)
		bench_die("pthread_create failed");
	step = 1000000000u / (uint64_t)o->rate;
	bench_cpu_start(o, cpu0);
	t0 = bench_now();
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < l.total && !bench_stop; i++) {
		next.tv_nsec += (long)step;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
		    NULL) == EINTR && !bench_stop)
			;
		flags = i < warm ? BENCH_WARM : 0;
		now = bench_now_ns();
		memcpy(buf, &now, sizeof(now));
		memcpy(buf + 8, &flags, sizeof(flags));
		bench_send(rk, o->topic, RD_KAFKA_PARTITION_UA, buf, o->size);
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 30000);
	pthread_join(th, NULL);
	secs = bench_now() - t0;
	qsort(l.ms, (size_t)l.n, sizeof(double), bench_cmp_double);
	snprintf(more, sizeof(more), "rate=%ld measured=%ld p50_ms=%.3f "
	    "p99_ms=%.3f p99_9_ms=%.3f max_ms=%.3f acks=%s linger_ms=%d "
	    "fetch_wait_max_ms=%d errors=%ld", o->rate, l.n,
	    bench_pct(l.ms, l.n, 50), bench_pct(l.ms, l.n, 99),
	    bench_pct(l.ms, l.n, 99.9), l.n ? l.ms[l.n - 1] : -1.0, o->acks,
	    o->linger_ms, o->fetch_wait_ms, dr.failed);
	bench_result("latency", o, l.seen, secs,
	    cpu0, more);
	bench_consumer_close(&l.c);
	rd_kafka_destroy(rk);
	free(l.ms);
	free(buf);
	return l.n == l.want && dr.failed == 0 ? 0 : -1;
}

/* ---- mock cluster in a child process ---- */

static void
bench_mock_child(const struct bench_opts *o, int out, int ctl)
{
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	const char *bs;
	char err[256], c;
	size_t len;

	bench_set(conf, "log_level", "3");
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) ==
	    NULL)
		bench_die("mock: rd_kafka_new: %s", err);
	if ((mc = rd_kafka_mock_cluster_new(rk, 1)) == NULL)
		bench_die("mock: cannot create cluster");
	if (rd_kafka_mock_topic_create(mc, o->topic, o->partitions, 1) != 0)
		bench_die("mock: cannot create topic %s", o->topic);
	bs = rd_kafka_mock_cluster_bootstraps(mc);
	len = strlen(bs);
	if (write(out, bs, len) != (ssize_t)len || write(out, "\n", 1) != 1)
		bench_die("mock: cannot report bootstraps");
	close(out);
	/* Serve until the parent closes its end (or dies). */
	while (read(ctl, &c, 1) > 0 || errno == EINTR)
		;
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	_exit(0);
}

static void
bench_mock_start(const struct bench_opts *o, struct bench_mock *m)
{
	int outp[2], ctlp[2];
	size_t n = 0;
	ssize_t r;

	if (pipe(outp) == -1 || pipe(ctlp) == -1)
		bench_die("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((m->pid = fork()) == -1)
		bench_die("fork: %s", strerror(errno));
	if (m->pid == 0) {
		close(outp[0]);
		close(ctlp[1]);
		bench_mock_child(o, outp[1], ctlp[0]);
	}
	close(outp[1]);
	close(ctlp[0]);
	m->ctl = ctlp[1];
	while (n < sizeof(m->bootstraps) - 1) {
		r = read(outp[0], m->bootstraps + n, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r != 1)
			bench_die("mock cluster did not start");
		if (m->bootstraps[n] == '\n')
			break;
		n++;
	}
	m->bootstraps[n] = '\0';
	close(outp[0]);
}

static void
bench_mock_stop(struct bench_mock *m)
{
	int status;

	close(m->ctl);
	while (waitpid(m->pid, &status, 0) == -1 && errno == EINTR)
		;
}

/* ---- serve: keep the cluster up until SIGTERM/SIGINT ---- */

static void
bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

static int
bench_serve(const struct bench_opts *o)
{
	fprintf(stderr, "moldau-bench %s ready: PLAINTEXT://%s\n", o->label,
	    o->bootstrap);
	while (!bench_stop)
		pause();
	return 0;
}

/* ---- main ---- */

static void
bench_usage(void)
{
	fprintf(stderr,
	    "usage: moldau-bench [-M] [-b bootstrap] [-t topic] [-n msgs] "
	    "[-s size] [-p partitions]\n"
	    "           [-a acks] [-l linger.ms] [-w fetch.wait.max.ms] "
	    "[-r rate] [-P server-pid]...\n"
	    "           [-R replicas] [-C topic-key=value]... [-L label] "
	    "[-X key=value]...\n"
	    "           produce|consume|latency|serve...\n"
	    "  -M  run librdkafka's mock cluster in a child process instead "
	    "of using -b\n"
	    "  -P  a server process whose CPU time is counted (once per "
	    "process)\n"
	    "  -R, -C  replication factor and configs of the topic created "
	    "on a real broker\n"
	    "  latency: -n measured messages at -r per second (after 1 s of "
	    "warm-up)\n");
	exit(2);
}

static long
bench_num(const char *s, long min, long max, int opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		bench_die("-%c %s: want a number in %ld..%ld", opt, s, min, max);
	return v;
}

int
main(int argc, char *argv[])
{
	struct bench_opts o = {
		.bootstrap = "127.0.0.1:9092", .topic = "bench", .label = NULL,
		.msgs = 1000000, .size = 100, .partitions = 1, .replicas = 1,
		.acks = "1",
		.linger_ms = 5, .fetch_wait_ms = -1, .rate = 10000,
	};
	struct bench_mock mock = { 0 };
	struct sigaction sa;
	int ch, i, rc = 0;

	while ((ch = getopt(argc, argv, "a:b:C:l:L:Mn:p:P:r:R:s:t:w:X:")) != -1) {
		switch (ch) {
		case 'a':
			o.acks = optarg;
			break;
		case 'b':
			o.bootstrap = optarg;
			break;
		case 'C':
			if (o.ntopic_conf == BENCH_MAX_EXTRA)
				bench_die("too many -C");
			o.topic_conf[o.ntopic_conf++] = optarg;
			break;
		case 'l':
			o.linger_ms = (int)bench_num(optarg, 0, 900000, ch);
			break;
		case 'L':
			o.label = optarg;
			break;
		case 'M':
			o.mock = 1;
			break;
		case 'n':
			o.msgs = bench_num(optarg, 1, 1000000000L, ch);
			break;
		case 'p':
			o.partitions = (int)bench_num(optarg, 1, 100000, ch);
			break;
		case 'P':
			if (o.npids == BENCH_MAX_PIDS)
				bench_die("too many -P");
			o.server_pid[o.npids++] =
			    (pid_t)bench_num(optarg, 1, 1 << 30, ch);
			break;
		case 'r':
			o.rate = bench_num(optarg, 1, 10000000, ch);
			break;
		case 'R':
			o.replicas = (int)bench_num(optarg, 1, 32767, ch);
			break;
		case 's':
			o.size = (size_t)bench_num(optarg, BENCH_HDR, 1 << 24,
			    ch);
			break;
		case 't':
			o.topic = optarg;
			break;
		case 'w':
			o.fetch_wait_ms = (int)bench_num(optarg, 0, 300000, ch);
			break;
		case 'X':
			if (o.nextra == BENCH_MAX_EXTRA)
				bench_die("too many -X");
			o.extra[o.nextra++] = optarg;
			break;
		default:
			bench_usage();
		}
	}
	if (optind >= argc)
		bench_usage();
	for (i = optind; i < argc; i++)
		if (strcmp(argv[i], "produce") != 0 &&
		    strcmp(argv[i], "consume") != 0 &&
		    strcmp(argv[i], "latency") != 0 &&
		    strcmp(argv[i], "serve") != 0)
			bench_usage();
	if (o.label == NULL)
		o.label = o.mock ? "mock" : "moldau";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.mock) {
		bench_mock_start(&o, &mock);
		o.bootstrap = mock.bootstraps;
		o.server_pid[0] = mock.pid;
		o.npids = 1;
	} else if (strcmp(argv[optind], "serve") != 0)
		bench_create_topic(&o);

	for (i = optind; i < argc && !bench_stop; i++) {
		if (strcmp(argv[i], "produce") == 0)
			rc |= bench_produce(&o);
		else if (strcmp(argv[i], "consume") == 0)
			rc |= bench_consume(&o);
		else if (strcmp(argv[i], "latency") == 0)
			rc |= bench_latency(&o);
		else
			rc |= bench_serve(&o);
	}
	if (o.mock)
		bench_mock_stop(&mock);
	return rc == 0 ? 0 : 1;
}
