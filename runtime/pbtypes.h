/* pbtypes: every protobuf message type this project knows, by full name, so a record whose
 * header says "wallet.v1.BalanceUpdated" can be decoded with no schema registry. */
#ifndef WALLET_PBTYPES_H
#define WALLET_PBTYPES_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

/* The descriptor for a full name ("wallet.v1.BalanceUpdated"), or NULL. Static. */
const ProtobufCMessageDescriptor *pbtypes_find(const char *full_name);

/* All known types, sorted by name; *n receives the count. Static storage. */
const ProtobufCMessageDescriptor *const *pbtypes_all(size_t *n);

#endif
