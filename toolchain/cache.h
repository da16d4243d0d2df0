/*
 * cache.h - the content-addressed image cache behind `hedge run app.wasm`.
 *
 * An image is found by the SHA-256 of the module's bytes together with a
 * fingerprint of the build configuration (build.conf, and the size and
 * modification time of the runtime libraries, headers and tools it names),
 * so a rebuilt runtime or a new compiler makes new images.
 */
#ifndef HEDGE_CACHE_H
#define HEDGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "build.h"

/*
 * The cache directory: $HEDGE_CACHE_DIR, else $XDG_CACHE_HOME/hedge, else
 * $HOME/.cache/hedge.  Returns 0, or -1 with err if none can be named.
 */
int cache_dir(char *out, size_t outlen, char *err, size_t errlen);

/*
 * The fingerprint of a build configuration, as 64 hex digits plus NUL.
 */
void cache_config_fingerprint(const struct build_conf *conf, char *hex);

/*
 * Returns in hvt_path the path of an image built from the module at
 * wasm_path, building it (progress on stderr unless quiet) and storing it
 * atomically if it is not cached yet.  Returns an enum build_status: 0,
 * BUILD_INVALID (2), BUILD_UNSUPPORTED (3) or BUILD_TOOLCHAIN (70; also a
 * cache directory that cannot be created), or 128 + signal if interrupted,
 * with a one-line reason (no prefix) in err.
 */
int cache_image_for_wasm(const char *wasm_path, char *hvt_path, size_t len, int quiet, char *err,
                         size_t errlen);

#endif
