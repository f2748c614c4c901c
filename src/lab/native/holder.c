/*
 * holder IP PORT [INTERVAL_MS]
 *
 * Holds one TCP connection open and exchanges a line every INTERVAL_MS
 * (default 100): sends "hold <seq>", reads whatever lines come back (the
 * responder echoes each one). Stdout:
 *   connected <local-ip:port>       once the connection is established
 *   error <text>                    when it breaks (connect failure, reset, EOF)
 *   {"sent":N,"lines":N,"maxGapMs":N,"error":null|"text"}
 * The JSON summary is printed on SIGTERM, SIGUSR1 or SIGINT, or when stdin
 * (if it is a pipe or socket) reaches EOF; then the program exits 0.
 * maxGapMs is the longest time without a received line, measured from the
 * connection being established through the summary.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 3000

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char error_text[256];
static long sent, lines, max_gap, last_recv;
static int sock = -1;

static void fail(const char *text) {
  if (error_text[0]) return;
  snprintf(error_text, sizeof error_text, "%s", text);
  printf("error %s\n", error_text);
  fflush(stdout);
  if (sock >= 0) close(sock);
  sock = -1;
}

static void note_gap(long t) {
  if (t - last_recv > max_gap) max_gap = t - last_recv;
}

static int parse_addr(char *ip, long port, struct sockaddr_storage *ss, socklen_t *len) {
  size_t l = strlen(ip);
  if (ip[0] == '[' && l > 2 && ip[l - 1] == ']') { ip[l - 1] = 0; ip++; }
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((unsigned short)port);
    *len = sizeof *a4;
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((unsigned short)port);
    *len = sizeof *a6;
    return 0;
  }
  return -1;
}

/* Non-blocking connect bounded by CONNECT_TIMEOUT_MS; returns 0 on success. */
static int connect_to(struct sockaddr_storage *ss, socklen_t len) {
  sock = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock < 0) { fail(strerror(errno)); return -1; }
  if (connect(sock, (struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS) { fail(strerror(errno)); return -1; }
  struct pollfd p = { .fd = sock, .events = POLLOUT };
  long deadline = now_ms() + CONNECT_TIMEOUT_MS;
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) { fail("connect timeout"); return -1; }
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) break;
  }
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &l);
  if (err) { fail(strerror(err)); return -1; }
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  getsockname(sock, (struct sockaddr *)&local, &ll);
  if (local.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in *)&local)->sin_port);
  } else {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
  }
  printf("connected %s:%u\n", ip, port);
  fflush(stdout);
  return 0;
}

static void on_readable(void) {
  char buf[4096];
  ssize_t r = recv(sock, buf, sizeof buf, 0);
  if (r == 0) { fail("EOF"); return; }
  if (r < 0) {
    if (errno != EAGAIN && errno != EINTR) fail(strerror(errno));
    return;
  }
  long t = now_ms();
  for (ssize_t k = 0; k < r; k++) {
    if (buf[k] != '\n') continue;
    lines++;
    note_gap(t);
    last_recv = t;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: holder IP PORT [INTERVAL_MS]\n");
    return 2;
  }
  long interval = argc > 3 ? atol(argv[3]) : 100;
  if (interval < 1) interval = 100;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct stat st;
  int watch_stdin = fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));

  struct sockaddr_storage ss;
  socklen_t len;
  if (parse_addr(argv[1], atol(argv[2]), &ss, &len) < 0) fail("bad address");
  else connect_to(&ss, len);
  last_recv = now_ms();
  long next_send = last_recv;

  while (!stop_requested) {
    struct pollfd p[2];
    int n = 0, sock_idx = -1, stdin_idx = -1;
    if (sock >= 0) { p[n].fd = sock; p[n].events = POLLIN; sock_idx = n++; }
    if (watch_stdin) { p[n].fd = 0; p[n].events = POLLIN; stdin_idx = n++; }
    long t = now_ms();
    if (sock >= 0 && t >= next_send) {
      char msg[64];
      int m = snprintf(msg, sizeof msg, "hold %ld\n", sent + 1);
      if (send(sock, msg, (size_t)m, MSG_NOSIGNAL | MSG_DONTWAIT) == m) sent++;
      else if (errno != EAGAIN) fail(strerror(errno));
      next_send = t + interval;
      continue;
    }
    int wait = sock >= 0 ? (int)(next_send - t) : 100;
    if (wait > 100) wait = 100; /* bounds the delay of a signal that races with poll */
    if (poll(p, (nfds_t)n, wait) < 0) continue;
    if (sock_idx >= 0 && p[sock_idx].revents) on_readable();
    if (stdin_idx >= 0 && p[stdin_idx].revents) {
      char b[256];
      if (read(0, b, sizeof b) <= 0) break;
    }
  }
  if (!error_text[0]) note_gap(now_ms());
  if (error_text[0])
    printf("{\"sent\":%ld,\"lines\":%ld,\"maxGapMs\":%ld,\"error\":\"%s\"}\n", sent, lines, max_gap, error_text);
  else
    printf("{\"sent\":%ld,\"lines\":%ld,\"maxGapMs\":%ld,\"error\":null}\n", sent, lines, max_gap);
  fflush(stdout);
  if (sock >= 0) close(sock);
  return 0;
}
