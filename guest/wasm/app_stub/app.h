/*
 * app.h - a stand-in for the header wasm2c generates with `-n app`, so the
 * glue (wasm_main.c) can be compiled at make time.  hedge build compiles the
 * glue against the real one.
 */
#ifndef APP_STUB_H
#define APP_STUB_H

#include "wasm-rt.h"

struct Z_wasi_snapshot_preview1_instance_t;
typedef struct Z_app_instance_t {
	struct Z_wasi_snapshot_preview1_instance_t *Z_wasi_snapshot_preview1_instance;
	wasm_rt_memory_t w2c_memory;
} Z_app_instance_t;

void Z_app_init_module(void);
void Z_app_instantiate(Z_app_instance_t *, struct Z_wasi_snapshot_preview1_instance_t *);
void Z_app_free(Z_app_instance_t *);
wasm_rt_memory_t *Z_appZ_memory(Z_app_instance_t *instance);
void Z_appZ__start(Z_app_instance_t *);

#endif
