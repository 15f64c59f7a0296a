/* balance_view: sharded open-addressing hash tables keyed by the account's 16 UUID bytes. */
#include "balance_view.h"
#include "hex.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 64 /* readers of different accounts rarely meet on one lock */
#define MIN_SLOTS 64

typedef struct entry {
  uint8_t key[16];
  int64_t balance, version, updated_at_us; /* version 0: empty slot */
} entry;

typedef struct shard {
  pthread_rwlock_t lock;
  entry *slots;
  size_t cap, used; /* cap is a power of two */
} shard;

struct balance_view {
  shard shards[SHARDS];
  atomic_bool live;
  atomic_size_t size;
};

/* The 16 bytes of a UUID in the 8-4-4-4-12 form (either case); false otherwise. */
static bool key_of(const char *s, uint8_t key[16]) {
  size_t k = 0, i = 0;
  for (; s[i] != '\0' && i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      continue;
    }
    int h = hex_digit((unsigned char)s[i]);
    if (h < 0) return false;
    if (k % 2 == 0) key[k / 2] = (uint8_t)(h << 4);
    else key[k / 2] |= (uint8_t)h;
    k++;
  }
  return i == 36 && s[i] == '\0';
}

static void id_of(const uint8_t key[16], char out[UUID_STR_LEN]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[key[i] >> 4];
    out[o++] = hex[key[i] & 15];
  }
  out[o] = '\0';
}

/* UUIDv7 starts with a timestamp: mix all bytes so neighbours spread over shards. */
static uint64_t hash_of(const uint8_t key[16]) {
  uint64_t a, b;
  memcpy(&a, key, 8);
  memcpy(&b, key + 8, 8);
  uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 31);
}

balance_view *balance_view_new(void) {
  balance_view *v = calloc(1, sizeof *v);
  if (v == NULL) return NULL;
  for (size_t i = 0; i < SHARDS; i++) pthread_rwlock_init(&v->shards[i].lock, NULL);
  return v;
}

void balance_view_free(balance_view *v) {
  if (v == NULL) return;
  for (size_t i = 0; i < SHARDS; i++) {
    free(v->shards[i].slots);
    pthread_rwlock_destroy(&v->shards[i].lock);
  }
  free(v);
}

static entry *find(const shard *s, const uint8_t key[16], uint64_t h) {
  if (s->cap == 0) return NULL;
  for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    entry *e = &s->slots[i];
    if (e->version == 0) return NULL;
    if (memcmp(e->key, key, 16) == 0) return e;
  }
}

/* The slot for key (its own or an empty one); the table has room (grown first). */
static entry *slot_for(shard *s, const uint8_t key[16], uint64_t h) {
  for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    entry *e = &s->slots[i];
    if (e->version == 0 || memcmp(e->key, key, 16) == 0) return e;
  }
}

/* Keeps the load under 1/2 so probes stay short. false on OOM. */
static bool reserve(shard *s) {
  if ((s->used + 1) * 2 <= s->cap) return true;
  size_t cap = s->cap ? s->cap * 2 : MIN_SLOTS;
  entry *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return false;
  shard grown = {.slots = slots, .cap = cap};
  for (size_t i = 0; i < s->cap; i++) {
    const entry *e = &s->slots[i];
    if (e->version != 0) *slot_for(&grown, e->key, hash_of(e->key)) = *e;
  }
  free(s->slots);
  s->slots = slots;
  s->cap = cap;
  return true;
}

long balance_view_apply(balance_view *v, const rm_update *u, size_t n) {
  long changed = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t key[16];
    if (u[i].version <= 0 || !key_of(u[i].account_id, key)) continue;
    uint64_t h = hash_of(key);
    shard *s = &v->shards[h >> 58];
    pthread_rwlock_wrlock(&s->lock);
    if (!reserve(s)) {
      pthread_rwlock_unlock(&s->lock);
      return -1;
    }
    entry *e = slot_for(s, key, h);
    if (e->version == 0) {
      memcpy(e->key, key, 16);
      s->used++;
      atomic_fetch_add(&v->size, 1);
    }
    if (u[i].version > e->version) {
      e->balance = u[i].balance;
      e->version = u[i].version;
      e->updated_at_us = u[i].updated_at_us;
      changed++;
    }
    pthread_rwlock_unlock(&s->lock);
  }
  return changed;
}

bool balance_view_get(balance_view *v, const char *account_id, rm_update *out) {
  uint8_t key[16];
  if (!key_of(account_id, key)) return false;
  uint64_t h = hash_of(key);
  shard *s = &v->shards[h >> 58];
  pthread_rwlock_rdlock(&s->lock);
  const entry *e = find(s, key, h);
  bool found = e != NULL;
  if (found) {
    memset(out, 0, sizeof *out);
    out->balance = e->balance;
    out->version = e->version;
    out->updated_at_us = e->updated_at_us;
  }
  pthread_rwlock_unlock(&s->lock);
  if (found) id_of(key, out->account_id);
  return found;
}

size_t balance_view_size(balance_view *v) { return atomic_load(&v->size); }

bool balance_view_live(const balance_view *v) {
  return v != NULL && atomic_load(&((balance_view *)v)->live);
}

void balance_view_set_live(balance_view *v, bool live) { atomic_store(&v->live, live); }
