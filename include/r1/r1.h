/* r1.cpp C API: a thin layer over r1::Engine (r1.hpp) for bindings.
 *
 * Contracts:
 * - Functions that can fail return NULL or a negative number; r1_last_error()
 *   then gives a one-line message (per thread, valid until the next failing call
 *   on that thread). No function aborts or exits on bad input.
 * - One r1_model holds one conversation cache: r1_generate() calls on the same
 *   model must not overlap. r1_cancel() may be called from any thread; it ends
 *   the running r1_generate() soon (finish reason "cancelled").
 * - Strings are UTF-8; the ones passed to callbacks are valid only during the call.
 */
#ifndef R1_R1_H
#define R1_R1_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct r1_model r1_model;

typedef struct r1_model_params {
  int32_t n_threads; /* 0: physical cores */
  int64_t n_ctx;     /* 0: the model's context, at most 8192 */
  int32_t allow_paging; /* nonzero: compute from the memory map, pages read from disk as needed,
                           instead of refusing weights larger than the available memory */
} r1_model_params;

typedef struct r1_message {
  const char* role;    /* "system" | "user" | "assistant" */
  const char* content;
} r1_message;

typedef struct r1_gen_params {
  float temperature;    /* <= 0: greedy */
  float top_p;
  int32_t top_k;        /* 0: off */
  float min_p;          /* 0: off */
  float repeat_penalty;  /* 1: off */
  uint64_t seed;        /* 0xFFFFFFFF: random */
  int32_t max_tokens;   /* -1: until the context is full */
  int32_t no_think;     /* nonzero: skip the reasoning block */
  int32_t think_budget; /* -1: no limit */
  const char* const* stop; /* stop strings (answer text only), n_stop of them */
  size_t n_stop;
} r1_gen_params;

typedef struct r1_event {
  int32_t done;          /* nonzero for the last event of a generation */
  int32_t token;         /* the generated id, -1 on the done event */
  const char* reasoning; /* new reasoning text (NUL-terminated, may be "") */
  const char* content;   /* new answer text (NUL-terminated, may be "") */
} r1_event;

typedef struct r1_stats {
  int32_t prompt_tokens;
  int32_t reasoning_tokens;
  int32_t content_tokens;
  double prefill_tokens_per_second;
  double decode_tokens_per_second;
  char finish_reason[16]; /* "stop" | "length" | "cancelled" | "budget" */
} r1_stats;

/* Returns nonzero to stop the generation (finish reason "cancelled"). */
typedef int (*r1_event_fn)(const r1_event* event, void* user_data);

r1_model_params r1_model_default_params(void);
r1_gen_params r1_gen_default_params(void);

/* params may be NULL (defaults). NULL on failure. */
r1_model* r1_model_open(const char* path, const r1_model_params* params);
void r1_model_free(r1_model* model);

/* Tokenizes text (special tokens parsed when parse_special). Returns the number
 * of ids; writes them only if it is <= capacity (call with capacity 0 to size
 * the buffer). Negative on failure. */
int32_t r1_tokenize(r1_model* model, const char* text, int32_t add_bos, int32_t parse_special,
                    int32_t* ids, int32_t capacity);

/* Generates an answer to the chat messages. params may be NULL (defaults);
 * on_event and stats may be NULL. Returns 0 on success, negative on failure. */
int32_t r1_generate(r1_model* model, const r1_message* messages, size_t n_messages,
                    const r1_gen_params* params, r1_event_fn on_event, void* user_data, r1_stats* stats);

void r1_cancel(r1_model* model);

/* The last error on this thread ("" if none). */
const char* r1_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* R1_R1_H */
