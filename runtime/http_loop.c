/* http_loop: the server's I/O threads. Each runs one epoll set holding the shared
 * listening socket (EPOLLEXCLUSIVE: one loop wakes per new connection), its own
 * connections (edge-triggered) and an eventfd that other threads write when they finish
 * a call parked on this loop or hand it a connection. A new connection goes to the loop
 * with the fewest (whichever loop accepted it), so a burst of connects taken by one
 * loop does not leave the other cores idle. A connection stays on its loop, so its state
 * is touched by that thread only; finishers hand it back through the ready list. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_server_internal.h"
#include "log.h"

/* epoll_data.ptr of the two descriptors that are not connections */
static char listen_tag, wake_tag;

#define ACCEPTS_PER_WAKE 8 /* then let another loop take the next ones */

/* Wakes loop's thread through its eventfd (a full counter still wakes it: EAGAIN is fine). */
static void wake(http_loop *loop) {
  uint64_t one = 1;
  if (write(loop->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
    log_warn("http: eventfd write: %s", strerror(errno));
}

static void accept_some(http_loop *loop) {
  http_server *srv = loop->srv;
  for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        /* Out of descriptors: the listening socket stays readable, so without a pause
         * this loop would spin; a line a second at most says why. */
        static __thread time_t logged_at;
        time_t now = time(NULL);
        if (now != logged_at) {
          logged_at = now;
          log_warn("http: accept: %s (new connections wait)", strerror(errno));
        }
        usleep(10 * 1000);
      }
      return; /* EAGAIN: another loop took it, or none is left */
    }
    int one = 1; /* answers go out in one write each: Nagle would only delay them */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    http_loop *to = loop;
    for (unsigned k = 0; k < srv->nloops; k++)
      if (__atomic_load_n(&srv->loops[k].nconns, __ATOMIC_RELAXED) <
          __atomic_load_n(&to->nconns, __ATOMIC_RELAXED))
        to = &srv->loops[k];
    if (to == loop) {
      hs_conn_open(loop, fd, &ss, sl);
      continue;
    }
    http_handoff *h = malloc(sizeof *h);
    if (h == NULL) {
      hs_conn_open(loop, fd, &ss, sl);
      continue;
    }
    h->fd = fd;
    h->addrlen = sl;
    memcpy(&h->addr, &ss, sl <= sizeof ss ? sl : sizeof ss);
    __atomic_add_fetch(&to->nconns, 1, __ATOMIC_RELAXED); /* counted now: the next pick sees it */
    pthread_mutex_lock(&to->mu);
    h->next = to->handoffs;
    to->handoffs = h;
    pthread_mutex_unlock(&to->mu);
    wake(to);
  }
}

static void open_handoffs(http_loop *loop) {
  pthread_mutex_lock(&loop->mu);
  http_handoff *h = loop->handoffs;
  loop->handoffs = NULL;
  pthread_mutex_unlock(&loop->mu);
  while (h != NULL) {
    http_handoff *next = h->next;
    __atomic_sub_fetch(&loop->nconns, 1, __ATOMIC_RELAXED); /* hs_conn_open counts it again */
    hs_conn_open(loop, h->fd, &h->addr, h->addrlen);
    free(h);
    h = next;
  }
}

static void run_ready(http_loop *loop) {
  uint64_t n;
  /* Read before the list is taken: a finisher that found ready_woken set pushed before
   * this take, and one that comes after it finds ready_woken clear and writes again. */
  if (read(loop->wakefd, &n, sizeof n) < 0 && errno != EAGAIN)
    log_warn("http: eventfd read: %s", strerror(errno));
  pthread_mutex_lock(&loop->mu);
  http_conn *c = loop->ready;
  loop->ready = NULL;
  loop->ready_woken = 0;
  pthread_mutex_unlock(&loop->mu);
  /* Reversed (pushed newest first): answer in the order they were finished. */
  http_conn *ordered = NULL;
  while (c != NULL) {
    http_conn *next = c->ready_next;
    c->ready_next = ordered;
    ordered = c;
    c = next;
  }
  while (ordered != NULL) {
    http_conn *next = ordered->ready_next;
    ordered->ready_next = NULL;
    hs_conn_resume(ordered);
    ordered = next;
  }
}

static void *loop_main(void *arg) {
  http_loop *loop = arg;
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(loop->epfd, evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      log_error("http: epoll_wait: %s", strerror(errno));
      break;
    }
    int stop = 0;
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &wake_tag) {
        run_ready(loop);
        open_handoffs(loop);
        pthread_mutex_lock(&loop->mu);
        stop = loop->stop;
        pthread_mutex_unlock(&loop->mu);
      } else if (p == &listen_tag) {
        accept_some(loop);
      } else {
        http_conn *c = p;
        if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
          c->rx_hup = 1;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
          c->rx_empty = 0;
        hs_conn_drive(c);
      }
    }
    hs_conns_reap(loop);
    if (stop)
      break;
  }
  run_ready(loop); /* answers finished while stopping still go out, as far as they can */
  open_handoffs(loop); /* then closed with the rest */
  while (loop->conns != NULL)
    hs_conn_close(loop->conns);
  hs_conns_reap(loop);
  return NULL;
}

/* One eventfd write per batch of finishes: a group of transfers finishes many calls of
 * one loop at once, and each write was a system call and often another wake-up. */
void hs_loop_wake(http_conn *c) {
  http_loop *loop = c->loop;
  pthread_mutex_lock(&loop->mu);
  c->ready_next = loop->ready;
  loop->ready = c;
  int woken = loop->ready_woken;
  loop->ready_woken = 1;
  pthread_mutex_unlock(&loop->mu);
  if (!woken)
    wake(loop);
}

static void loop_free(http_loop *loop) {
  while (loop->handoffs != NULL) { /* handed over after this loop's last look */
    http_handoff *h = loop->handoffs;
    loop->handoffs = h->next;
    close(h->fd);
    free(h);
  }
  if (loop->epfd >= 0)
    close(loop->epfd);
  if (loop->wakefd >= 0)
    close(loop->wakefd);
  pthread_mutex_destroy(&loop->mu);
}

int hs_loops_start(http_server *srv, char *err, size_t errlen) {
  for (unsigned i = 0; i < srv->nloops; i++) {
    http_loop *loop = &srv->loops[i];
    loop->srv = srv;
    pthread_mutex_init(&loop->mu, NULL);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &wake_tag};
    struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_tag};
    if (loop->epfd < 0 || loop->wakefd < 0 ||
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &wev) != 0 ||
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, srv->listen_fd, &lev) != 0 ||
        pthread_create(&loop->thread, NULL, loop_main, loop) != 0) {
      snprintf(err, errlen, "cannot start HTTP I/O thread: %s", strerror(errno));
      srv->nloops = i + 1; /* this one is freed (not joined) by hs_loops_stop */
      hs_loops_stop(srv);
      return -1;
    }
    loop->started = 1;
  }
  return 0;
}

void hs_loops_quiesce(http_server *srv) {
  for (unsigned i = 0; i < srv->nloops; i++)
    epoll_ctl(srv->loops[i].epfd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
}

void hs_loops_stop(http_server *srv) {
  for (unsigned i = 0; i < srv->nloops; i++) {
    http_loop *loop = &srv->loops[i];
    if (!loop->started)
      continue;
    pthread_mutex_lock(&loop->mu);
    loop->stop = 1;
    pthread_mutex_unlock(&loop->mu);
    wake(loop);
  }
  for (unsigned i = 0; i < srv->nloops; i++) {
    http_loop *loop = &srv->loops[i];
    if (loop->started)
      pthread_join(loop->thread, NULL);
    loop_free(loop);
  }
  srv->nloops = 0;
}
