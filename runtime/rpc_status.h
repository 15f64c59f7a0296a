/* rpc_status: gRPC status codes, their HTTP statuses, and the error value handlers fill. */
#ifndef WALLET_RPC_STATUS_H
#define WALLET_RPC_STATUS_H

/* The canonical gRPC codes (google.rpc.Code). Handlers speak these; the HTTP layer maps
 * them to statuses the way grpc-gateway does, so clients of either style agree. */
typedef enum rpc_code {
  RPC_OK = 0,
  RPC_CANCELLED = 1,
  RPC_UNKNOWN = 2,
  RPC_INVALID_ARGUMENT = 3,
  RPC_DEADLINE_EXCEEDED = 4,
  RPC_NOT_FOUND = 5,
  RPC_ALREADY_EXISTS = 6,
  RPC_PERMISSION_DENIED = 7,
  RPC_RESOURCE_EXHAUSTED = 8,
  RPC_FAILED_PRECONDITION = 9,
  RPC_ABORTED = 10,
  RPC_OUT_OF_RANGE = 11,
  RPC_UNIMPLEMENTED = 12,
  RPC_INTERNAL = 13,
  RPC_UNAVAILABLE = 14,
  RPC_DATA_LOSS = 15,
  RPC_UNAUTHENTICATED = 16,
} rpc_code;

#define RPC_MESSAGE_MAX 256

/* An error to report: code plus a message a person can act on. Caller-owned. */
typedef struct rpc_status {
  rpc_code code;
  char message[RPC_MESSAGE_MAX];
} rpc_status;

/* Sets code and a printf-formatted message; returns code, so a handler can write
 * `return rpc_status_set(st, RPC_NOT_FOUND, "account %s not found", id);`. */
rpc_code rpc_status_set(rpc_status *st, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* grpc-gateway's mapping: INVALID_ARGUMENT 400, NOT_FOUND 404, ALREADY_EXISTS 409,
 * ABORTED 409, FAILED_PRECONDITION 400, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, ... */
unsigned rpc_code_to_http(rpc_code code);

/* "NOT_FOUND" etc.; "UNKNOWN" for a value outside the enum. Static storage. */
const char *rpc_code_name(rpc_code code);

#endif
