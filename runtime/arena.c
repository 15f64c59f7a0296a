/* arena: a list of blocks, each carved front to back; blocks double from 1 KiB to
 * 64 KiB as a round needs more, and a larger piece gets a block of its own size. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

#define BLOCK_MIN 1024
#define BLOCK_MAX (64 * 1024)

struct arena_block {
  arena_block *next;
  size_t used, cap;
  max_align_t data[]; /* keeps every piece suitably aligned for any type */
};

void *arena_alloc(arena *a, size_t n) {
  const size_t align = sizeof(max_align_t);
  if (n > SIZE_MAX / 2) return NULL;
  size_t need = (n + align - 1) / align * align;
  arena_block *b = a->head;
  if (b == NULL || b->cap - b->used < need) {
    size_t cap = b == NULL ? BLOCK_MIN : b->cap < BLOCK_MAX ? b->cap * 2 : BLOCK_MAX;
    if (cap < need) cap = need;
    arena_block *nb = malloc(sizeof *nb + cap);
    if (nb == NULL) return NULL;
    nb->used = 0;
    nb->cap = cap;
    nb->next = b;
    a->head = b = nb;
  }
  void *p = (char *)b->data + b->used;
  b->used += need;
  return p;
}

void arena_reset(arena *a) {
  arena_block *keep = a->head;
  if (keep == NULL) return;
  arena_block *b = keep->next;
  while (b != NULL) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
  keep->next = NULL;
  keep->used = 0;
}

void arena_free(arena *a) {
  arena_reset(a);
  free(a->head);
  a->head = NULL;
}

static void *pb_alloc(void *data, size_t n) { return arena_alloc(data, n); }

static void pb_free(void *data, void *p) {
  (void)data;
  (void)p;
}

ProtobufCAllocator arena_protobuf_allocator(arena *a) {
  return (ProtobufCAllocator){.alloc = pb_alloc, .free = pb_free, .allocator_data = a};
}
