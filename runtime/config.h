/* config: settings from environment variables, each with a documented default. */
#ifndef WALLET_CONFIG_H
#define WALLET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* The variable's value, or def when unset or empty. Static/environment storage. */
const char *config_str(const char *name, const char *def);

/* The variable as an integer in [min, max], def when unset. Returns 0, or -1 with err
 * filled ("HTTP_PORT: expected an integer in 1..65535, got \"x\""). */
int config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
               char *err, size_t errlen);

#endif
