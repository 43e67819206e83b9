// The peers' side of tools/bench/peers.sh: one producer and one consumer (threads, each with
// its own connection) moving M messages of 2 KB, durable and acknowledged, through
//   nats:  NATS JetStream (file storage), acknowledged publish (PubAck, at most WINDOW pending)
//          and a durable pull consumer that acks every message;
//   redis: Redis Streams, XADD (WINDOW pipelined) and XREADGROUP + XACK per message.
// Latency: the producer writes its send time (CLOCK_MONOTONIC; the scheduled time at a fixed
// rate) into the first 8 bytes; the consumer's application takes it from there.
// With TLSDIR, both connections use TLS 1.3 with client certificates (TLSDIR/ca.pem,
// client.pem, client.key; the server's certificate is checked against the CA and 127.0.0.1),
// as nrm's agents use CURVE with the broker's directory check. hiredis 0.14 (Debian 12) has no
// TLS, so the Redis client below formats commands and parses replies with hiredis and carries
// them itself, over a plain socket or OpenSSL.
// Prints one JSON object. Built and run by peers.sh, never by CI.
//
//   peers nats  PORT MESSAGES WINDOW RATE [TLSDIR]     (RATE 0: flat out)
//   peers redis PORT MESSAGES WINDOW RATE [TLSDIR]
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBytes = 2048 };

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t) {
  int64_t d = t - now_ns();
  if (d <= 0) return;
  if (d > 200000) d = 200000;
  struct timespec ts = {0, (long)d};
  nanosleep(&ts, NULL);
}

static int port, window;
static const char *tls_dir;  // NULL: plain TCP
static long messages;
static double rate;
static int64_t *latency;  // per message received, ns
static long received;
static int64_t first_send, last_receive;

static int64_t due(long i) { return rate > 0 ? first_send + (int64_t)((double)i * 1e9 / rate) : 0; }

static void stamp(char *buf, long i) {
  int64_t t = rate > 0 ? due(i) : now_ns();
  memcpy(buf, &t, sizeof t);
}

static void record(const void *data) {
  int64_t t;
  memcpy(&t, data, sizeof t);
  last_receive = now_ns();
  latency[received++] = last_receive - t;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void tls_file(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", tls_dir, name);
}

// ---- NATS JetStream ----
static natsStatus nats_connect(natsConnection **nc) {
  natsOptions *o = NULL;
  char url[64], ca[512], cert[512], key[512];
  snprintf(url, sizeof url, "%s://127.0.0.1:%d", tls_dir ? "tls" : "nats", port);
  natsStatus s = natsOptions_Create(&o);
  if (s == NATS_OK) s = natsOptions_SetURL(o, url);
  if (s == NATS_OK && tls_dir) {
    tls_file(ca, sizeof ca, "ca.pem");
    tls_file(cert, sizeof cert, "client.pem");
    tls_file(key, sizeof key, "client.key");
    s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(o, ca);
    if (s == NATS_OK) s = natsOptions_LoadCertificatesChain(o, cert, key);
  }
  if (s == NATS_OK) s = natsConnection_Connect(nc, o);
  natsOptions_Destroy(o);
  return s;
}

static void *nats_consumer(void *arg) {
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  natsSubscription *sub = NULL;
  jsErrCode jerr = 0;
  if (nats_connect(&nc) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) ||
      js_PullSubscribe(&sub, js, "bench", "C", NULL, NULL, &jerr) != NATS_OK) {
    fprintf(stderr, "nats consumer: cannot subscribe (%d)\n", (int)jerr);
    exit(1);
  }
  *(volatile int *)arg = 1;
  const int64_t deadline = now_ns() + 600LL * 1000000000LL;
  while (received < messages && now_ns() < deadline) {
    natsMsgList list = {0};
    if (natsSubscription_Fetch(&list, sub, 256, 1000, &jerr) != NATS_OK) continue;
    for (int i = 0; i < list.Count; ++i) {
      if (natsMsg_GetDataLength(list.Msgs[i]) >= 8) record(natsMsg_GetData(list.Msgs[i]));
      natsMsg_Ack(list.Msgs[i], NULL);
    }
    natsMsgList_Destroy(&list);
  }
  natsConnection_Flush(nc);
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return NULL;
}

static int run_nats(void) {
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  jsOptions jo;
  jsErrCode jerr = 0;
  if (nats_connect(&nc) != NATS_OK) return fprintf(stderr, "nats: no server\n"), 1;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = window;
  if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK) return 1;
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char *subjects[] = {"bench"};
  cfg.Name = "BENCH";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  if (js_AddStream(NULL, js, &cfg, NULL, &jerr) != NATS_OK) {
    return fprintf(stderr, "nats: cannot add the stream (%d)\n", (int)jerr), 1;
  }
  pthread_t consumer;
  volatile int ready = 0;
  pthread_create(&consumer, NULL, nats_consumer, (void *)&ready);
  while (!ready) sleep_until(now_ns() + 1000000);
  char buf[kBytes];
  memset(buf, 'x', sizeof buf);
  first_send = now_ns();
  for (long i = 0; i < messages; ++i) {
    if (rate > 0) {
      while (now_ns() < due(i)) sleep_until(due(i));
    }
    stamp(buf, i);
    // Blocks while WINDOW publishes await their PubAck (the stream's acknowledgement).
    if (js_PublishAsync(js, "bench", buf, kBytes, NULL) != NATS_OK) {
      return fprintf(stderr, "nats: publish failed\n"), 1;
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60000;
  js_PublishAsyncComplete(js, &po);
  pthread_join(consumer, NULL);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

// ---- Redis Streams ----
// One connection: commands are buffered as hiredis's redisAppendCommand does and written when
// a reply is wanted; replies are parsed by hiredis's reader.
typedef struct {
  int fd;
  SSL *ssl;  // NULL: plain TCP
  redisReader *reader;
  char *out;
  size_t out_len, out_cap;
} rconn;

static SSL_CTX *tls_ctx;

static rconn *rconn_open(void) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  rconn *c = calloc(1, sizeof *c);
  c->fd = fd;
  c->reader = redisReaderCreate();
  if (tls_ctx) {
    c->ssl = SSL_new(tls_ctx);
    SSL_set_fd(c->ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
    if (SSL_connect(c->ssl) != 1) return fprintf(stderr, "redis: TLS handshake failed\n"), NULL;
  }
  return c;
}

static void rconn_append(rconn *c, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  char *cmd = NULL;
  const int len = redisvFormatCommand(&cmd, format, ap);
  va_end(ap);
  if (len < 0) exit(1);
  if (c->out_len + (size_t)len > c->out_cap) {
    c->out_cap = 2 * (c->out_len + (size_t)len);
    c->out = realloc(c->out, c->out_cap);
  }
  memcpy(c->out + c->out_len, cmd, (size_t)len);
  c->out_len += (size_t)len;
  redisFreeCommand(cmd);
}

// Returns a reply already received and parsed, or NULL (error replies are fatal).
static redisReply *rconn_parsed(rconn *c) {
  void *r = NULL;
  if (redisReaderGetReply(c->reader, &r) != REDIS_OK) exit(1);
  if (r != NULL && ((redisReply *)r)->type == REDIS_REPLY_ERROR) {
    fprintf(stderr, "redis: %s\n", ((redisReply *)r)->str);
    exit(1);
  }
  return r;
}

// Writes what is buffered, then returns the next reply (NULL on a broken connection).
static redisReply *rconn_reply(rconn *c) {
  for (size_t off = 0; off < c->out_len;) {
    const int want = (int)(c->out_len - off);
    const long n =
        c->ssl ? SSL_write(c->ssl, c->out + off, want) : write(c->fd, c->out + off, want);
    if (n <= 0) return NULL;
    off += (size_t)n;
  }
  c->out_len = 0;
  for (;;) {
    redisReply *r = rconn_parsed(c);
    if (r != NULL) return r;
    char buf[65536];
    const long n = c->ssl ? SSL_read(c->ssl, buf, sizeof buf) : read(c->fd, buf, sizeof buf);
    if (n <= 0) return NULL;
    redisReaderFeed(c->reader, buf, (size_t)n);
  }
}

static void *redis_consumer(void *arg) {
  rconn *c = rconn_open();
  if (c == NULL) exit(1);
  *(volatile int *)arg = 1;
  const int64_t deadline = now_ns() + 600LL * 1000000000LL;
  while (received < messages && now_ns() < deadline) {
    rconn_append(c, "XREADGROUP GROUP g c COUNT 256 BLOCK 1000 STREAMS bench >");
    redisReply *r = rconn_reply(c);
    if (r == NULL) exit(1);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
      redisReply *entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        redisReply *e = entries->element[i];
        redisReply *fields = e->element[1];
        if (fields->elements == 2 && fields->element[1]->len >= 8) record(fields->element[1]->str);
        rconn_append(c, "XACK bench g %s", e->element[0]->str);
      }
      for (size_t i = 0; i < entries->elements; ++i) {
        redisReply *ack = rconn_reply(c);
        if (ack == NULL) exit(1);
        freeReplyObject(ack);
      }
    }
    freeReplyObject(r);
  }
  return NULL;
}

static int run_redis(void) {
  if (tls_dir) {
    char ca[512], cert[512], key[512];
    tls_file(ca, sizeof ca, "ca.pem");
    tls_file(cert, sizeof cert, "client.pem");
    tls_file(key, sizeof key, "client.key");
    tls_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(tls_ctx, ca, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(tls_ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_ctx, key, SSL_FILETYPE_PEM) != 1) {
      return fprintf(stderr, "redis: cannot load the TLS files in %s\n", tls_dir), 1;
    }
  }
  rconn *c = rconn_open();
  if (c == NULL) return fprintf(stderr, "redis: no server\n"), 1;
  rconn_append(c, "DEL bench");
  rconn_append(c, "XGROUP CREATE bench g $ MKSTREAM");
  redisReply *del = rconn_reply(c), *group = del ? rconn_reply(c) : NULL;
  if (group == NULL) return fprintf(stderr, "redis: cannot create the stream\n"), 1;
  freeReplyObject(del);
  freeReplyObject(group);
  pthread_t consumer;
  volatile int ready = 0;
  pthread_create(&consumer, NULL, redis_consumer, (void *)&ready);
  while (!ready) sleep_until(now_ns() + 1000000);
  char buf[kBytes];
  memset(buf, 'x', sizeof buf);
  long in_flight = 0;
  first_send = now_ns();
  for (long i = 0; i < messages || in_flight > 0;) {
    // Send what is due while the window has room, then take one reply (each XADD is answered
    // only after appendfsync always has written it to the AOF and fsynced).
    while (i < messages && in_flight < window && (rate == 0 || now_ns() >= due(i))) {
      stamp(buf, i);
      rconn_append(c, "XADD bench * d %b", buf, (size_t)kBytes);
      ++i;
      ++in_flight;
    }
    if (in_flight == 0) {
      sleep_until(due(i));
      continue;
    }
    // One reply, and every other one already read with it: the next XADDs then go out in one
    // write, as an asynchronous client would send them (over TLS, Redis 7.0 takes one TLS
    // record per event-loop turn, and fsyncs once per turn).
    redisReply *r = rconn_reply(c);
    if (r == NULL) return fprintf(stderr, "redis: XADD failed\n"), 1;
    do {
      freeReplyObject(r);
      --in_flight;
    } while ((r = rconn_parsed(c)) != NULL);
  }
  pthread_join(consumer, NULL);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: peers nats|redis PORT MESSAGES WINDOW RATE [TLSDIR]\n");
    return 2;
  }
  port = atoi(argv[2]);
  messages = atol(argv[3]);
  window = atoi(argv[4]);
  rate = atof(argv[5]);
  tls_dir = argc == 7 ? argv[6] : NULL;
  latency = calloc((size_t)messages, sizeof *latency);
  int rc = strcmp(argv[1], "nats") == 0 ? run_nats() : run_redis();
  if (rc != 0) return rc;
  qsort(latency, (size_t)received, sizeof *latency, cmp);
  const double secs = (double)(last_receive - first_send) * 1e-9;
  printf(
      "{\"system\":\"%s%s\",\"messages\":%ld,\"received\":%ld,\"window\":%d,\"offered_per_s\":%.0f,"
      "\"end_to_end_per_s\":%.0f,\"latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f}}\n",
      argv[1], tls_dir ? "-tls" : "", messages, received, window, rate, (double)received / secs,
      received ? latency[received / 2] / 1e3 : 0.0,
      received ? latency[(long)((double)(received - 1) * 0.99)] / 1e3 : 0.0,
      received ? latency[received - 1] / 1e3 : 0.0);
  return received == messages ? 0 : 1;
}
