/* service: process plumbing shared by the service mains (stop signals, startup migrations). */
#include "service.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "migrate.h"
#include "timeutil.h"

static volatile sig_atomic_t service_stop;

static void service_on_signal(int sig) {
  (void)sig;
  service_stop = 1;
}

void service_install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = service_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

bool service_should_stop(void) { return service_stop != 0; }

void service_request_stop(void) { service_stop = 1; }

int service_migrate_with_retry(const db_config *db, const char *migrations_dir) {
  char err[512];
  int64_t deadline = time_mono_ms() + 60000, backoff = 250;
  for (;;) {
    int applied = 0;
    if (migrate_run(db, migrations_dir, &applied, err, sizeof err) == 0) {
      log_info("migrations: %d applied from %s", applied, migrations_dir);
      return 0;
    }
    if (service_stop || time_mono_ms() + backoff > deadline) {
      log_error("migrations failed: %s", err);
      return -1;
    }
    log_warn("migrations: %s; retrying in %lld ms", err, (long long)backoff);
    time_sleep_ms(backoff);
    if (backoff < 4000) backoff *= 2;
  }
}

unsigned service_io_threads(int64_t configured) {
  if (configured > 0)
    return (unsigned)configured;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : n > SERVICE_IO_THREADS_MAX ? SERVICE_IO_THREADS_MAX : (unsigned)n;
}
