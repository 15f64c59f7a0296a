/* consume: eventcat's consumer loop, assign mode (no group) or group mode (-G). */
#ifndef EVENTCAT_CONSUME_H
#define EVENTCAT_CONSUME_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "format.h"
#include "options.h"

/* Consumes o->topics and writes each record to out, as a JSON envelope (fmt NULL) or
 * through fmt, one flushed line per record. Returns when -e or -c is satisfied, when
 * *stop becomes non-zero (0: an interrupt is a clean end), or when out's reader went away
 * (0: "eventcat | head" is not an error). Returns -1 with err filled on a runtime error:
 * bad -X setting, broker unreachable or topic unknown with -e, fatal consumer error. */
int consume_run(const eventcat_opts *o, const format_spec *fmt, FILE *out,
                volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
