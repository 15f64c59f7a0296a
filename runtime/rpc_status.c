/* rpc_status: gRPC status codes, their names, and grpc-gateway's HTTP status mapping. */
#include "rpc_status.h"

#include <stdarg.h>
#include <stdio.h>

#include "utf8.h"

rpc_code rpc_status_set(rpc_status *st, rpc_code code, const char *fmt, ...) {
  if (st == NULL)
    return code;
  st->code = code;
  va_list ap;
  va_start(ap, fmt);
  /* Truncation is fine: the message is for a person, and RPC_MESSAGE_MAX is generous. */
  vsnprintf(st->message, sizeof st->message, fmt, ap);
  va_end(ap);
  /* It goes out in a JSON body: "%.64s" of a client's input may have cut a character. */
  utf8_scrub(st->message);
  return code;
}

unsigned rpc_code_to_http(rpc_code code) {
  /* The table grpc-gateway's runtime.HTTPStatusFromCode uses, so clients written against
   * a grpc-gateway service see the same statuses from us. */
  switch (code) {
  case RPC_OK: return 200;
  case RPC_CANCELLED: return 499; /* nginx's "client closed request" */
  case RPC_UNKNOWN: return 500;
  case RPC_INVALID_ARGUMENT: return 400;
  case RPC_DEADLINE_EXCEEDED: return 504;
  case RPC_NOT_FOUND: return 404;
  case RPC_ALREADY_EXISTS: return 409;
  case RPC_PERMISSION_DENIED: return 403;
  case RPC_UNAUTHENTICATED: return 401;
  case RPC_RESOURCE_EXHAUSTED: return 429;
  case RPC_FAILED_PRECONDITION: return 400; /* grpc-gateway deliberately avoids 412 */
  case RPC_ABORTED: return 409;
  case RPC_OUT_OF_RANGE: return 400;
  case RPC_UNIMPLEMENTED: return 501;
  case RPC_INTERNAL: return 500;
  case RPC_UNAVAILABLE: return 503;
  case RPC_DATA_LOSS: return 500;
  }
  return 500;
}

const char *rpc_code_name(rpc_code code) {
  switch (code) {
  case RPC_OK: return "OK";
  case RPC_CANCELLED: return "CANCELLED";
  case RPC_UNKNOWN: return "UNKNOWN";
  case RPC_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
  case RPC_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
  case RPC_NOT_FOUND: return "NOT_FOUND";
  case RPC_ALREADY_EXISTS: return "ALREADY_EXISTS";
  case RPC_PERMISSION_DENIED: return "PERMISSION_DENIED";
  case RPC_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
  case RPC_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
  case RPC_ABORTED: return "ABORTED";
  case RPC_OUT_OF_RANGE: return "OUT_OF_RANGE";
  case RPC_UNIMPLEMENTED: return "UNIMPLEMENTED";
  case RPC_INTERNAL: return "INTERNAL";
  case RPC_UNAVAILABLE: return "UNAVAILABLE";
  case RPC_DATA_LOSS: return "DATA_LOSS";
  case RPC_UNAUTHENTICATED: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}
