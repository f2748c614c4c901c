/*
 * responder NAME [tcp:PORT|udp:PORT]...
 *
 * The lab's stand-in for a pod's containers: answers on every given port, TCP
 * and UDP, IPv4 and IPv6 (dual-stack sockets), with one line
 *   NAME client=<ip>:<port>
 * TCP: sent on connect, then every received line is echoed back with the same
 * prefix ("NAME client=<ip>:<port> <line>"), so a long-held connection can
 * exchange lines. UDP: one reply datagram per datagram received.
 *
 * Prints "ready" on stdout once every socket is bound, then never writes to
 * stdout again. One process per pod, poll-based, no threads.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/uio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 4096
#define LINE_MAX_LEN 4096

enum kind { LISTENER, UDP, CONN };

struct slot {
  enum kind kind;
  char peer[80];          /* "<ip>:<port>" of a TCP client */
  size_t len;             /* bytes buffered in line */
  char line[LINE_MAX_LEN];
};

static const char *name;
static struct pollfd pfds[MAX_FDS];
static struct slot *slots[MAX_FDS];
static int nfds;

static void die(const char *what, const char *arg) {
  fprintf(stderr, "responder %s: %s %s: %s\n", name ? name : "", what, arg, strerror(errno));
  exit(1);
}

/* Renders a socket address as ip:port, IPv4-mapped IPv6 as plain IPv4, IPv6 as [ip]:port. */
static void format_peer(const struct sockaddr_storage *ss, char *out, size_t outlen) {
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(out, outlen, "%s:%u", ip, port);
    return;
  }
  const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
  port = ntohs(a->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
    inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof ip);
    snprintf(out, outlen, "%s:%u", ip, port);
  } else {
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    snprintf(out, outlen, "[%s]:%u", ip, port);
  }
}

static int add_fd(int fd, enum kind kind) {
  if (nfds >= MAX_FDS) return -1;
  struct slot *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->kind = kind;
  pfds[nfds].fd = fd;
  pfds[nfds].events = POLLIN;
  pfds[nfds].revents = 0;
  slots[nfds] = s;
  return nfds++;
}

static void remove_fd(int i) {
  close(pfds[i].fd);
  free(slots[i]);
  nfds--;
  pfds[i] = pfds[nfds];
  slots[i] = slots[nfds];
}

/* A dual-stack socket bound to the wildcard address; plain IPv4 if IPv6 is unavailable. */
static int open_socket(int type, unsigned port, const char *spec) {
  int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1, zero = 0;
  if (fd >= 0) {
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_any;
    a6.sin6_port = htons(port);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (type == SOCK_DGRAM) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0) return fd;
    if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL) die("bind", spec);
    close(fd);
  }
  fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket", spec);
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof a4);
  a4.sin_family = AF_INET;
  a4.sin_addr.s_addr = htonl(INADDR_ANY);
  a4.sin_port = htons(port);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (type == SOCK_DGRAM) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0) die("bind", spec);
  return fd;
}

static void open_spec(const char *spec) {
  char proto[8];
  unsigned port;
  char extra;
  if (sscanf(spec, "%7[a-z]:%u%c", proto, &port, &extra) != 2 || port == 0 || port > 65535) {
    fprintf(stderr, "responder: bad port spec %s (want tcp:PORT or udp:PORT)\n", spec);
    exit(2);
  }
  if (strcmp(proto, "tcp") == 0) {
    int fd = open_socket(SOCK_STREAM, port, spec);
    if (listen(fd, 512) != 0) die("listen", spec);
    add_fd(fd, LISTENER);
  } else if (strcmp(proto, "udp") == 0) {
    add_fd(open_socket(SOCK_DGRAM, port, spec), UDP);
  } else {
    fprintf(stderr, "responder: bad protocol in %s\n", spec);
    exit(2);
  }
}

static void on_accept(int lfd) {
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN or a transient error: poll again */
    int i = add_fd(fd, CONN);
    if (i < 0) { close(fd); continue; }
    format_peer(&ss, slots[i]->peer, sizeof slots[i]->peer);
    char msg[LINE_MAX_LEN + 256];
    int n = snprintf(msg, sizeof msg, "%s client=%s\n", name, slots[i]->peer);
    send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

/*
 * One reply per datagram, sent from the address the datagram was sent to
 * (IP_PKTINFO / IPV6_PKTINFO): a wildcard socket would otherwise answer from
 * whatever address the route picks, and the client's connected socket would
 * drop the reply (e.g. a hostNetwork pod reached on the node's IP).
 */
static void on_udp(int fd) {
  for (;;) {
    char buf[2048];
    struct sockaddr_storage ss;
    union { char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr mh = { .msg_name = &ss, .msg_namelen = sizeof ss, .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    if (recvmsg(fd, &mh, 0) < 0) return;
    char peer[80], msg[256];
    format_peer(&ss, peer, sizeof peer);
    int n = snprintf(msg, sizeof msg, "%s client=%s\n", name, peer);
    struct iovec out = { .iov_base = msg, .iov_len = (size_t)n };
    union { char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } octl;
    memset(&octl, 0, sizeof octl);
    struct msghdr reply = { .msg_name = &ss, .msg_namelen = mh.msg_namelen, .msg_iov = &out, .msg_iovlen = 1 };
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      struct cmsghdr *o = (struct cmsghdr *)octl.buf;
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        pi.ipi6_ifindex = 0;
        o->cmsg_level = IPPROTO_IPV6;
        o->cmsg_type = IPV6_PKTINFO;
        o->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(o), &pi, sizeof pi);
        reply.msg_control = octl.buf;
        reply.msg_controllen = CMSG_SPACE(sizeof pi);
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        pi.ipi_spec_dst = pi.ipi_addr;
        pi.ipi_ifindex = 0;
        o->cmsg_level = IPPROTO_IP;
        o->cmsg_type = IP_PKTINFO;
        o->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(o), &pi, sizeof pi);
        reply.msg_control = octl.buf;
        reply.msg_controllen = CMSG_SPACE(sizeof pi);
      }
    }
    if (sendmsg(fd, &reply, MSG_DONTWAIT) < 0 && reply.msg_control) {
      reply.msg_control = NULL; /* e.g. the address is gone: answer from the routed source */
      reply.msg_controllen = 0;
      sendmsg(fd, &reply, MSG_DONTWAIT);
    }
  }
}

/* Echoes one complete line back with the greeting's prefix. */
static void echo_line(int fd, struct slot *s) {
  char msg[LINE_MAX_LEN + 256];
  int n = snprintf(msg, sizeof msg, "%s client=%s %.*s\n", name, s->peer, (int)s->len, s->line);
  if (n > (int)sizeof msg) n = sizeof msg;
  send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  s->len = 0;
}

/* Returns 0 when the connection is finished. */
static int on_conn(int fd, struct slot *s) {
  char buf[4096];
  ssize_t r = recv(fd, buf, sizeof buf, 0);
  if (r == 0) return 0;
  if (r < 0) return errno == EAGAIN || errno == EINTR;
  for (ssize_t k = 0; k < r; k++) {
    char c = buf[k];
    if (c == '\n') {
      if (s->len > 0 && s->line[s->len - 1] == '\r') s->len--;
      echo_line(fd, s);
    } else {
      if (s->len == LINE_MAX_LEN) echo_line(fd, s);
      s->line[s->len++] = c;
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: responder NAME [tcp:PORT|udp:PORT]...\n");
    return 2;
  }
  name = argv[1];
  signal(SIGPIPE, SIG_IGN);
  for (int k = 2; k < argc; k++) open_spec(argv[k]);

  /* Tell the parent we are listening, then detach stdout so a gone parent cannot hurt us. */
  printf("ready\n");
  fflush(stdout);
  int devnull = open("/dev/null", O_WRONLY);
  if (devnull >= 0) { dup2(devnull, 1); close(devnull); }

  for (;;) {
    if (poll(pfds, (nfds_t)nfds, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll", "");
    }
    for (int i = nfds - 1; i >= 0; i--) {
      short ev = pfds[i].revents;
      if (!ev) continue;
      pfds[i].revents = 0;
      switch (slots[i]->kind) {
        case LISTENER: on_accept(pfds[i].fd); break;
        case UDP: on_udp(pfds[i].fd); break;
        case CONN:
          if (!on_conn(pfds[i].fd, slots[i]) || (ev & (POLLERR | POLLNVAL))) remove_fd(i);
          break;
      }
    }
  }
}
