/*
 * wasm_main.c - the glue between hedge's runtime and one wasm2c module.
 *
 * hedge build compiles this file next to the header wasm2c wrote for the
 * module (always named "app"), because only that header knows the size of
 * the module's instance.  It instantiates the module, hands WASI its linear
 * memory and runs the command's _start on a stack of its own.
 */
#include <stdlib.h>

#include "app.h"
#include "wasi.h"
#include "wasm-rt.h"
#include "wasm_hedge.h"

#define WASM_STACK_BYTES (8u << 20)

static Z_app_instance_t instance;
static struct Z_wasi_snapshot_preview1_instance_t wasi;

static void run_start(void *arg)
{
	(void)arg;
	Z_appZ__start(&instance);
}

int main(void)
{
	wasm_rt_init();
	Z_app_init_module();
	Z_app_instantiate(&instance, &wasi);
	wasi_init(&wasi, Z_appZ_memory(&instance));
	wasm_run_on_own_stack(run_start, NULL, WASM_STACK_BYTES);
	/* A command that returns from _start without proc_exit succeeded. */
	return 0;
}
