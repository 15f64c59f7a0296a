/* arena: memory handed out in pieces and given back all at once (a request's answer, a
 * relay pass's decoded records): one malloc per block instead of one per piece. */
#ifndef WALLET_ARENA_H
#define WALLET_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct arena_block arena_block;

typedef struct arena {
  arena_block *head; /* the block pieces come from; older ones behind it */
} arena;

/* n bytes aligned for any type (not zeroed), or NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);
/* Everything handed out is gone; the newest block stays for the next round. */
void arena_reset(arena *a);
void arena_free(arena *a);
/* A protobuf-c allocator drawing from a; its free does nothing (arena_reset does). */
ProtobufCAllocator arena_protobuf_allocator(arena *a);

#endif
