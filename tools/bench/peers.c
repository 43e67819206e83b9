// The peers' side of tools/bench/peers.sh: one producer and one consumer (threads, each with
// its own connection) moving M messages of 2 KB, durable and acknowledged, through
//   nats:  NATS JetStream (file storage), acknowledged publish (PubAck, at most WINDOW pending)
//          and a durable pull consumer that acks every message;
//   redis: Redis Streams, XADD (WINDOW pipelined) and XREADGROUP + XACK per message.
// Latency: the producer writes its send time (CLOCK_MONOTONIC; the scheduled time at a fixed
// rate) into the first 8 bytes; the consumer's application takes it from there.
// Prints one JSON object. Built and run by peers.sh, never by CI.
//
//   peers nats  PORT MESSAGES WINDOW RATE     (RATE 0: flat out)
//   peers redis PORT MESSAGES WINDOW RATE
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
static long messages;
static double rate;
static int64_t *latency;  // per message received, ns
static long received;
static int64_t first_send, last_receive;

static int64_t due(long i) {
  return rate > 0 ? first_send + (int64_t)((double)i * 1e9 / rate) : 0;
}

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

// ---- NATS JetStream ----
static void *nats_consumer(void *arg) {
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  natsSubscription *sub = NULL;
  jsErrCode jerr = 0;
  char url[64];
  snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
  if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) ||
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
  char url[64];
  snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
  if (natsConnection_ConnectTo(&nc, url) != NATS_OK) return fprintf(stderr, "nats: no server\n"), 1;
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
static void *redis_consumer(void *arg) {
  redisContext *c = redisConnect("127.0.0.1", port);
  if (c == NULL || c->err) exit(1);
  *(volatile int *)arg = 1;
  const int64_t deadline = now_ns() + 600LL * 1000000000LL;
  while (received < messages && now_ns() < deadline) {
    redisReply *r = redisCommand(c, "XREADGROUP GROUP g c COUNT 256 BLOCK 1000 STREAMS bench >");
    if (r == NULL) exit(1);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
      redisReply *entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        redisReply *e = entries->element[i];
        redisReply *fields = e->element[1];
        if (fields->elements == 2 && fields->element[1]->len >= 8) record(fields->element[1]->str);
        redisAppendCommand(c, "XACK bench g %s", e->element[0]->str);
      }
      for (size_t i = 0; i < entries->elements; ++i) {
        redisReply *ack = NULL;
        if (redisGetReply(c, (void **)&ack) != REDIS_OK) exit(1);
        freeReplyObject(ack);
      }
    }
    freeReplyObject(r);
  }
  redisFree(c);
  return NULL;
}

static int run_redis(void) {
  redisContext *c = redisConnect("127.0.0.1", port);
  if (c == NULL || c->err) return fprintf(stderr, "redis: no server\n"), 1;
  freeReplyObject(redisCommand(c, "DEL bench"));
  freeReplyObject(redisCommand(c, "XGROUP CREATE bench g $ MKSTREAM"));
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
      redisAppendCommand(c, "XADD bench * d %b", buf, (size_t)kBytes);
      ++i;
      ++in_flight;
    }
    if (in_flight == 0) {
      sleep_until(due(i));
      continue;
    }
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK) return fprintf(stderr, "redis: XADD failed\n"), 1;
    freeReplyObject(r);
    --in_flight;
  }
  pthread_join(consumer, NULL);
  redisFree(c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: peers nats|redis PORT MESSAGES WINDOW RATE\n");
    return 2;
  }
  port = atoi(argv[2]);
  messages = atol(argv[3]);
  window = atoi(argv[4]);
  rate = atof(argv[5]);
  latency = calloc((size_t)messages, sizeof *latency);
  int rc = strcmp(argv[1], "nats") == 0 ? run_nats() : run_redis();
  if (rc != 0) return rc;
  qsort(latency, (size_t)received, sizeof *latency, cmp);
  const double secs = (double)(last_receive - first_send) * 1e-9;
  printf(
      "{\"system\":\"%s\",\"messages\":%ld,\"received\":%ld,\"window\":%d,\"offered_per_s\":%.0f,"
      "\"end_to_end_per_s\":%.0f,\"latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f}}\n",
      argv[1], messages, received, window, rate, (double)received / secs,
      received ? latency[received / 2] / 1e3 : 0.0,
      received ? latency[(long)((double)(received - 1) * 0.99)] / 1e3 : 0.0,
      received ? latency[received - 1] / 1e3 : 0.0);
  return received == messages ? 0 : 1;
}
