// What one connection costs a ZeroMQ ROUTER in resident memory, with nothing of nrm around it:
// a ROUTER with CURVE (and, with ZAP, a handler on inproc://zeromq.zap.01 that accepts every
// key, as nrm-broker's does after its directory lookup) takes N CURVE clients from a child
// process, each sending one message and getting one back (as an agency's HELLO and WELCOME);
// the server's VmRSS before and after, divided by N, is
// libzmq's state per connection (pipes, engine buffers, and with ZAP the ZAP pipe, which
// libzmq keeps for the connection's lifetime). Built and run by zmq-memory.sh, never by CI.
//
//   zmq_memory N zap|nozap      prints one JSON object
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
  }
  if (f) fclose(f);
  return kib;
}

static void zap_handler(void *sock) {
  for (;;) {
    zmq_msg_t part[8];
    int n = 0, more = 1;
    while (more && n < 8) {
      zmq_msg_init(&part[n]);
      if (zmq_msg_recv(&part[n], sock, 0) < 0) return;
      more = zmq_msg_more(&part[n++]);
    }
    if (n < 2) return;
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), ZMQ_SNDMORE);  // request id
    zmq_send(sock, "200", 3, ZMQ_SNDMORE);
    zmq_send(sock, "OK", 2, ZMQ_SNDMORE);
    zmq_send(sock, "agency", 6, ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
    for (int i = 0; i < n; ++i) zmq_msg_close(&part[i]);
  }
}

static void clients(int n, const char *endpoint, const char *server_public) {
  void *ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 16);
  for (int i = 0; i < n; ++i) {
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    char pub[41], sec[41];
    zmq_curve_keypair(pub, sec);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_public, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
    if (!s || zmq_connect(s, endpoint) != 0 || zmq_send(s, "hello", 5, 0) != 5) _exit(1);
  }
  pause();  // holds every connection open until the parent kills it
}

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) <= 0 || (strcmp(argv[2], "zap") && strcmp(argv[2], "nozap"))) {
    fprintf(stderr, "usage: zmq_memory N zap|nozap\n");
    return 2;
  }
  const int n = atoi(argv[1]);
  const int zap = strcmp(argv[2], "zap") == 0;
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  void *ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 16);
  if (zap) {
    void *handler = zmq_socket(ctx, ZMQ_REP);
    if (zmq_bind(handler, "inproc://zeromq.zap.01") != 0) return 1;
    zmq_threadstart(zap_handler, handler);
  }
  void *router = zmq_socket(ctx, ZMQ_ROUTER);
  int one = 1;
  zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
  zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, sec, 40);
  if (zmq_bind(router, "tcp://127.0.0.1:*") != 0) return fprintf(stderr, "cannot bind\n"), 1;
  char endpoint[256];
  size_t len = sizeof endpoint;
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len);
  const long before = rss_kib();
  const pid_t child = fork();
  if (child == 0) clients(n, endpoint, pub);
  char id[256], buf[64];
  for (int got = 0; got < n; ++got) {  // routing id, then the message; answered
    const int id_len = zmq_recv(router, id, sizeof id, 0);
    if (id_len < 0 || zmq_recv(router, buf, sizeof buf, 0) < 0 ||
        zmq_send(router, id, (size_t)id_len, ZMQ_SNDMORE) < 0 || zmq_send(router, "ok", 2, 0) < 0) {
      kill(child, SIGKILL);
      return fprintf(stderr, "receive failed\n"), 1;
    }
  }
  usleep(200 * 1000);
  const long after = rss_kib();
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  printf(
      "{\"connections\":%d,\"zap\":%s,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,"
      "\"kib_per_connection\":%.1f}\n",
      n, zap ? "true" : "false", before, after, (double)(after - before) / n);
  return 0;
}
