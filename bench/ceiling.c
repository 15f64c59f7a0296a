/* ceiling: see ceiling.h. */
#include "ceiling.h"

#include <pthread.h>
#include <stdlib.h>

db_config ceiling_db(char **argv) {
  return (db_config){.host = "127.0.0.1",
                     .port = (unsigned)atoi(argv[1]),
                     .database = argv[2],
                     .user = argv[3],
                     .password = argv[4],
                     .pool_size = 1};
}

int64_t ceiling_clock_us(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int ceiling_run(void *workers, size_t size, int n, void *(*fn)(void *)) {
  pthread_t *tid = calloc((size_t)n, sizeof *tid);
  if (tid == NULL) return -1;
  int started = 0;
  for (; started < n; started++) {
    if (pthread_create(&tid[started], NULL, fn, (char *)workers + (size_t)started * size) != 0) break;
  }
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
  free(tid);
  return started == n ? 0 : -1;
}
