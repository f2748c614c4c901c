/*
 * prober: runs a batch of connectivity probes concurrently.
 *
 * stdin, one probe a line (blank lines and '#' comments ignored):
 *   ID PROTO IP PORT TIMEOUT_MS        PROTO: tcp|udp, IP: IPv4 or IPv6 ([v6] ok)
 * stdout, one line per probe as it completes:
 *   ID STATUS BODY LATENCY_MS
 * STATUS: ok (TCP connected / UDP reply), refused (RST / ICMP port unreachable),
 * timeout, error (BODY is the error text). BODY is the first line the target
 * sent ("-" when none); it may contain spaces, so parse ID and STATUS from the
 * left and LATENCY_MS from the right. A TCP probe that connected waits for the
 * greeting line until its deadline; UDP datagrams are re-sent every 250 ms.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 512
#define RESEND_MS 250

enum state { WAITING, CONNECTING, READING, DONE };

struct probe {
  char id[128];
  int udp;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  long timeout_ms;
  enum state state;
  int fd;
  long start, deadline, next_send, latency;
  char body[512];
  size_t blen;
};

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void finish(struct probe *p, const char *status, const char *body, long latency) {
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
  p->state = DONE;
  char clean[512];
  size_t n = 0;
  for (const char *c = body; *c && *c != '\n' && *c != '\r' && n < sizeof clean - 1; c++)
    clean[n++] = isprint((unsigned char)*c) ? *c : '?';
  clean[n] = 0;
  printf("%s %s %s %ld\n", p->id, status, n ? clean : "-", latency);
  fflush(stdout);
}

static void finish_errno(struct probe *p, int err) {
  long t = now_ms() - p->start;
  if (err == ECONNREFUSED) finish(p, "refused", "", t);
  else if (err == ETIMEDOUT) finish(p, "timeout", "", t);
  else finish(p, "error", strerror(err), t);
}

static int parse_addr(struct probe *p, char *ip, long port) {
  size_t l = strlen(ip);
  if (ip[0] == '[' && l > 2 && ip[l - 1] == ']') { ip[l - 1] = 0; ip++; }
  memset(&p->addr, 0, sizeof p->addr);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&p->addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->addr;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((unsigned short)port);
    p->addrlen = sizeof *a4;
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((unsigned short)port);
    p->addrlen = sizeof *a6;
    return 0;
  }
  return -1;
}

static void send_udp(struct probe *p, long t) {
  char msg[160];
  int n = snprintf(msg, sizeof msg, "probe %s\n", p->id);
  if (send(p->fd, msg, (size_t)n, MSG_DONTWAIT) < 0 && errno != EAGAIN) finish_errno(p, errno);
  p->next_send = t + RESEND_MS;
}

static void start(struct probe *p) {
  p->start = now_ms();
  p->deadline = p->start + p->timeout_ms;
  int fd = socket(p->addr.ss_family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { p->fd = -1; finish_errno(p, errno); return; }
  p->fd = fd;
  int r = connect(fd, (struct sockaddr *)&p->addr, p->addrlen);
  if (p->udp) {
    if (r < 0) { finish_errno(p, errno); return; }
    p->state = READING;
    send_udp(p, p->start);
  } else if (r == 0) {
    p->latency = now_ms() - p->start;
    p->state = READING;
  } else if (errno == EINPROGRESS) {
    p->state = CONNECTING;
  } else {
    finish_errno(p, errno);
  }
}

static void on_event(struct probe *p, short ev) {
  long t = now_ms();
  if (p->state == CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) { finish_errno(p, err); return; }
    if (!(ev & POLLOUT)) return;
    p->latency = t - p->start;
    p->state = READING;
    return;
  }
  /* READING */
  char buf[512];
  ssize_t r = recv(p->fd, buf, sizeof buf, 0);
  if (r < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    if (p->udp || errno != ECONNRESET) { finish_errno(p, errno); return; }
    r = 0; /* TCP reset after connecting: still a connection */
  }
  if (p->udp) {
    buf[r < (ssize_t)sizeof buf ? r : (ssize_t)sizeof buf - 1] = 0;
    finish(p, "ok", buf, t - p->start);
    return;
  }
  size_t room = sizeof p->body - 1 - p->blen;
  size_t take = (size_t)r < room ? (size_t)r : room;
  memcpy(p->body + p->blen, buf, take);
  p->blen += take;
  p->body[p->blen] = 0;
  if (r == 0 || memchr(p->body, '\n', p->blen) || p->blen == sizeof p->body - 1)
    finish(p, "ok", p->body, p->latency);
}

static void on_deadline(struct probe *p, long t) {
  if (p->state == READING && !p->udp) finish(p, "ok", p->body, p->latency);
  else finish(p, "timeout", "", t - p->start);
}

int main(void) {
  size_t cap = 64, n = 0;
  struct probe *ps = calloc(cap, sizeof *ps);
  char line[1024];
  while (ps && fgets(line, sizeof line, stdin)) {
    char id[128], proto[8], ip[64];
    long port, timeout;
    char *s = line;
    while (isspace((unsigned char)*s)) s++;
    if (!*s || *s == '#') continue;
    if (n == cap) {
      struct probe *grown = realloc(ps, cap * 2 * sizeof *ps);
      if (!grown) break;
      ps = grown;
      cap *= 2;
    }
    struct probe *p = &ps[n++];
    memset(p, 0, sizeof *p);
    p->fd = -1;
    if (sscanf(s, "%127s %7s %63s %ld %ld", id, proto, ip, &port, &timeout) != 5 || port < 1 || port > 65535 ||
        timeout < 1 || (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp"))) {
      snprintf(p->id, sizeof p->id, "%s", sscanf(s, "%127s", id) == 1 ? id : "?");
      finish(p, "error", "bad probe line", 0);
      continue;
    }
    snprintf(p->id, sizeof p->id, "%s", id);
    p->udp = strcasecmp(proto, "udp") == 0;
    p->timeout_ms = timeout;
    if (parse_addr(p, ip, port) < 0) finish(p, "error", "bad address", 0);
  }
  if (!ps) return 1;

  struct pollfd pfds[MAX_INFLIGHT];
  size_t idx[MAX_INFLIGHT];
  size_t next = 0;
  for (;;) {
    int nf = 0, inflight = 0;
    long t = now_ms(), wait = -1;
    for (size_t k = 0; k < n; k++) {
      struct probe *p = &ps[k];
      if (p->state == DONE || p->state == WAITING) continue;
      if (t >= p->deadline) { on_deadline(p, t); continue; }
      if (p->udp && t >= p->next_send) send_udp(p, t);
      if (p->state == DONE) continue;
      inflight++;
      long until = p->deadline - t;
      if (p->udp && p->next_send - t < until) until = p->next_send - t;
      if (wait < 0 || until < wait) wait = until;
      pfds[nf].fd = p->fd;
      pfds[nf].events = p->state == CONNECTING ? POLLOUT : POLLIN;
      idx[nf++] = k;
    }
    /* Start waiting probes while there is room (new ones are picked up next round). */
    int started = 0;
    while (next < n && inflight < MAX_INFLIGHT) {
      if (ps[next].state == WAITING) { start(&ps[next]); inflight++; started = 1; }
      next++;
    }
    if (started) continue;
    if (nf == 0) break;
    if (poll(pfds, (nfds_t)nf, (int)(wait < 0 ? 0 : wait)) < 0 && errno != EINTR) return 1;
    for (int i = 0; i < nf; i++)
      if (pfds[i].revents) on_event(&ps[idx[i]], pfds[i].revents);
  }
  free(ps);
  return 0;
}
