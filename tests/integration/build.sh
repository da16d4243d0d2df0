# tests/integration/build.sh - hedge build: WebAssembly modules to images,
# bad modules refused with one line and the right status, nothing half
# written, --dir and --mem embedded, the image cache behind
# `hedge run app.wasm` hit without running wasm2c again, and the C split
# into parts compiled side by side (its fallback, its failures, its
# progress lines).

TB=$T_TMP/build-suite
mkdir -p "$TB"
export HEDGE_CACHE_DIR=$TB/cache

# tb_wat NAME TEXT: a hand-made module from the text format.
tb_wat() {
	printf '%s\n' "$2" >"$TB/$1.wat"
	wat2wasm "$TB/$1.wat" -o "$TB/$1.wasm"
}

# tb_leftovers DIR: hidden temporary outputs (".NAME.XXXXXX") left in DIR.
tb_leftovers() {
	find "$1" -maxdepth 1 -name '.*.hvt.*' | wc -l
}

# A WASI command that prints its arguments, a file and exits with 7.
cat >"$TB/hello.c" <<'CEOF'
#include <stdio.h>
int main(int argc, char **argv)
{
	printf("hello from wasm, argc=%d\n", argc);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");
		char line[128];
		if (f && fgets(line, sizeof(line), f))
			printf("%s: %s", argv[i], line);
		if (f)
			fclose(f);
	}
	return 7;
}
CEOF
clang --target=wasm32-wasi -O2 "$TB/hello.c" -o "$TB/hello.wasm" 2>"$TB/clang.log" ||
	echo "    cannot compile the test module: $(head -n 1 "$TB/clang.log")"

tb_wat missing '(module
  (import "env" "foo" (func))
  (import "wasi_snapshot_preview1" "bar" (func))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))'
tb_wat memimport '(module
  (import "env" "memory" (memory 1))
  (func (export "_start")))'
# A load whose value is unused must still trap when out of bounds.
tb_wat deadload '(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    i32.const 0x7ffffff0 i32.load drop
    i32.const 0 call $exit))'
# The same for loads whose values feed arithmetic that is dropped or a local
# that is overwritten, in a loop: the second pass is out of bounds.  hedge
# build drops wasm2c's asm barrier after loads when the C compiler flags keep
# such loads instead (-fnon-call-exceptions -fno-delete-dead-exceptions).
tb_wat deadloop '(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $a i32) (local $n i32) (local $x i64)
    (loop $next
      (local.set $x (i64.add (i64.load8_s offset=8 (local.get $a)) (i64.const 1)))
      (drop (f64.add (f64.load offset=16 (local.get $a)) (f64.const 1)))
      (drop (i32.load16_u offset=32 (local.get $a)))
      (local.set $a (i32.add (local.get $a) (i32.const 0x10000)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $n) (i32.const 4))))
    (call $exit (i32.const 0))))'
tb_wat nostart '(module (memory (export "memory") 1) (func (export "main")))'
# Valid structure, but i32.add on an empty stack: only wasm2c's validation sees it.
printf '\0asm\1\0\0\0\1\4\1\140\0\0\3\2\1\0\5\3\1\0\1\7\23\2\6_start\0\0\6memory\2\0\12\5\1\3\0\152\13' \
	>"$TB/badbody.wasm"
printf 'this is not wasm\n' >"$TB/text.wasm"
head -c 40 "$TB/hello.wasm" >"$TB/truncated.wasm"
mkdir -p "$TB/site/css"
echo "<h1>embedded</h1>" >"$TB/site/index.html"
echo "body {}" >"$TB/site/css/main.css"

build_cases() {
	local HEDGE=$1 tag=$2 out=$TB/$2
	mkdir -p "$out"

	t_begin "$tag: build --help"
	t_run "$HEDGE" build --help
	expect_status 0
	expect_stdout "Usage: hedge build"
	expect_stdout "--dir HOST[::GUEST]"
	expect_stdout "70  toolchain"
	t_end

	t_begin "$tag: build command-line errors"
	t_run "$HEDGE" build
	expect_status 64
	expect_one_line_error
	expect_stderr "missing MODULE.wasm"
	t_run "$HEDGE" build --frobnicate "$TB/hello.wasm"
	expect_status 64
	expect_one_line_error
	t_run "$HEDGE" build "$TB/hello.wasm" --mem 12Q
	expect_status 64
	expect_stderr "bad memory size"
	t_run "$HEDGE" build "$TB/hello.wasm" "$TB/missing.wasm"
	expect_status 64
	expect_stderr "more than one module"
	t_run "$HEDGE" build "$TB/hello.wasm" -o "$TB/no-such-dir/x.hvt"
	expect_status 64
	expect_stderr "output directory does not exist"
	t_run "$HEDGE" build "$TB/hello.wasm" -o "$TB/hello.wasm"
	expect_status 64
	expect_stderr "overwrite"
	t_run "$HEDGE" build "$TB/hello.wasm" -o /dev/null
	expect_status 64
	expect_stderr "not a regular file"
	t_end

	t_begin "$tag: a valid module becomes an ELF image, with progress"
	t_run "$HEDGE" build "$TB/hello.wasm" -o "$out/hello.hvt"
	expect_status 0
	expect_empty_stdout
	expect_stderr "[1/3] wasm2c"
	expect_stderr "[2/3] compiling"
	expect_stderr "[3/3] linking"
	[ "$(head -c 4 "$out/hello.hvt" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		t_fail "output is not an ELF file"
	[ -x "$out/hello.hvt" ] || t_fail "output is not executable"
	[ "$(tb_leftovers "$out")" = 0 ] || t_fail "temporary output left behind"
	t_end

	t_begin "$tag: options after the module, default output name, --quiet"
	cp "$TB/hello.wasm" "$out/app.wasm"
	t_run "$HEDGE" build "$out/app.wasm" --quiet
	expect_status 0
	[ ! -s "$T_ERR" ] || t_fail "--quiet printed on stderr"
	[ -f "$out/app.hvt" ] || t_fail "app.wasm did not become app.hvt"
	t_end

	t_begin "$tag: --json summary"
	t_run "$HEDGE" build -q --json "$TB/hello.wasm" -o "$out/json.hvt"
	expect_status 0
	expect_stdout "\"image\":\"$out/json.hvt\""
	expect_stdout "\"sha256\":\"$(sha256sum "$out/json.hvt" | cut -d' ' -f1)\""
	expect_stdout "\"image_bytes\":$(stat -c %s "$out/json.hvt"),"
	expect_stdout "\"wasm_bytes\":$(stat -c %s "$TB/hello.wasm"),"
	expect_stdout "\"seconds\":{"
	expect_stdout "\"wasm2c\":"
	[ "$(grep -c '' "$T_OUT")" = 1 ] || t_fail "JSON is not one line"
	if command -v python3 >/dev/null; then
		python3 -c 'import json,sys; json.load(sys.stdin)' <"$T_OUT" || t_fail "invalid JSON"
	fi
	t_end

	t_begin "$tag: invalid modules: exit 2, one line, no output"
	local bad
	for bad in badbody text truncated; do
		t_run "$HEDGE" build -q "$TB/$bad.wasm" -o "$out/$bad.hvt"
		expect_status 2
		expect_one_line_error
		[ ! -e "$out/$bad.hvt" ] || t_fail "$bad: output written"
	done
	# Without --quiet the one error line follows the progress lines.
	t_run "$HEDGE" build "$TB/badbody.wasm" -o "$out/bad.hvt"
	expect_stderr "invalid module: type mismatch"
	[ "$(grep -c '^hedge' "$T_ERR")" = 1 ] || t_fail "expected one error line"
	[ "$(grep -vc '^\[[0-9]/[0-9]\] \|^hedge build: ' "$T_ERR")" = 0 ] || t_fail "unexpected output"
	t_run "$HEDGE" build "$TB/text.wasm" -o "$out/bad.hvt"
	expect_stderr "not a WebAssembly module (bad magic)"
	t_run "$HEDGE" build "$TB/no-such.wasm" -o "$out/bad.hvt"
	expect_status 2
	expect_one_line_error
	t_run "$HEDGE" build "$TB/site" -o "$out/bad.hvt"
	expect_status 2
	expect_one_line_error
	expect_stderr "not a regular file"
	[ "$(tb_leftovers "$out")" = 0 ] || t_fail "temporary output left behind"
	t_end

	t_begin "$tag: unsupported imports are named in one line, exit 3"
	t_run "$HEDGE" build "$TB/missing.wasm" -o "$out/missing.hvt"
	expect_status 3
	expect_one_line_error
	expect_stderr "hedge build: $TB/missing.wasm imports 2 functions hedge does not provide: env.foo, wasi_snapshot_preview1.bar"
	[ ! -e "$out/missing.hvt" ] || t_fail "output written"
	t_run "$HEDGE" build "$TB/memimport.wasm" -o "$out/x.hvt"
	expect_status 3
	expect_one_line_error
	expect_stderr "env.memory (memory)"
	t_run "$HEDGE" build "$TB/nostart.wasm" -o "$out/x.hvt"
	expect_status 3
	expect_one_line_error
	expect_stderr "does not export a _start function"
	t_end

	t_begin "$tag: a failed build leaves the previous image as it was"
	cp "$out/hello.hvt" "$out/keep.hvt"
	cp "$out/hello.hvt" "$out/keep.orig"
	t_run "$HEDGE" build "$TB/badbody.wasm" -o "$out/keep.hvt"
	expect_status 2
	cmp -s "$out/keep.hvt" "$out/keep.orig" || t_fail "previous image changed"
	t_end

	t_begin "$tag: toolchain failures: exit 70, one line, nothing left behind"
	local lib=$TB/lib-$tag
	rm -rf "$lib"
	cp -r build/lib/hedge "$lib"
	echo "wasm2c=$TB/no-such-wasm2c" >>"$lib/build.conf"
	HEDGE_LIBDIR=$lib t_run "$HEDGE" build -q "$TB/hello.wasm" -o "$out/tc.hvt"
	expect_status 70
	expect_one_line_error
	expect_stderr "no-such-wasm2c not found"
	cp build/lib/hedge/build.conf "$lib/build.conf"
	sed -i 's#^libs=.*#libs={libdir}/libc.a#' "$lib/build.conf"
	HEDGE_LIBDIR=$lib t_run "$HEDGE" build -q "$TB/hello.wasm" -o "$out/tc.hvt"
	expect_status 70
	expect_one_line_error
	expect_stderr "link failed: "
	expect_stderr "undefined symbol"
	[ ! -e "$out/tc.hvt" ] || t_fail "output written"
	[ "$(tb_leftovers "$out")" = 0 ] || t_fail "temporary output left behind"
	HEDGE_LIBDIR=$TB/no-such-lib t_run "$HEDGE" build -q "$TB/hello.wasm" -o "$out/tc.hvt"
	expect_status 70
	expect_one_line_error
	t_end

	t_begin "$tag: --dir and --mem are embedded"
	t_run "$HEDGE" build -q "$TB/hello.wasm" --dir "$TB/site::/www" --mem 64M -o "$out/site.hvt"
	expect_status 0
	nm "$out/site.hvt" | grep -q ' __hedge_embedded_fs$' || t_fail "no __hedge_embedded_fs"
	# .hedge_config holds the default memory as a little-endian 64-bit number.
	objcopy --dump-section .hedge_config="$out/config.bin" "$out/site.hvt" "$out/scratch.hvt"
	[ "$(od -An -tu8 "$out/config.bin" | tr -d ' ')" = $((64 << 20)) ] ||
		t_fail ".hedge_config does not hold 64M"
	t_run "$HEDGE" build -q "$TB/hello.wasm" --dir "$TB/no-such-dir" -o "$out/x.hvt"
	expect_status 2
	expect_one_line_error
	expect_stderr "no-such-dir"
	t_run "$HEDGE" build -q "$TB/hello.wasm" --dir "$TB/site::" -o "$out/x.hvt"
	expect_status 64
	t_end

	t_begin "$tag: an interrupted build removes its temporary files"
	local wrap=$TB/slow-$tag
	mkdir -p "$wrap"
	printf '#!/bin/sh\ntouch %s/started\nsleep 30\nexec wasm2c "$@"\n' "$wrap" >"$wrap/wasm2c"
	chmod +x "$wrap/wasm2c"
	mkdir -p "$TB/tmp-$tag"
	TMPDIR=$TB/tmp-$tag PATH=$wrap:$PATH "$HEDGE" build -q "$TB/hello.wasm" -o "$out/int.hvt" \
		>"$T_OUT" 2>"$T_ERR" &
	local pid=$! waited=0
	while [ ! -e "$wrap/started" ] && [ $waited -lt 100 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	kill -TERM $pid
	wait $pid
	T_STATUS=$?
	expect_status 143
	expect_stderr "interrupted"
	[ -z "$(ls -A "$TB/tmp-$tag")" ] || t_fail "temporary directory left behind"
	[ ! -e "$out/int.hvt" ] && [ "$(tb_leftovers "$out")" = 0 ] || t_fail "output left behind"
	t_end
}

split_cases() {
	local HEDGE=$1 tag=$2 out=$TB/$2

	t_begin "$tag: split build: the C in parts compiled side by side"
	mkdir -p "$TB/tmp-split-$tag"
	HEDGE_BUILD_PARTS=2 HEDGE_BUILD_JOBS=2 TMPDIR=$TB/tmp-split-$tag t_run "$HEDGE" build \
		--keep-temps "$TB/hello.wasm" --dir "$TB/site::/www" -o "$out/split.hvt"
	expect_status 0
	expect_stderr "[3/4] compiling "
	expect_stderr " of C in 2 parts, 2 at a time"
	local kept
	kept=$(sed -n 's/^hedge build: temporary files kept in //p' "$T_ERR")
	for f in app_shared.h app_part0.c app_part1.c app_part0.o app_part1.o; do
		[ -f "$kept/$f" ] || t_fail "no $f in the temporary directory"
	done
	[ ! -e "$kept/app.o" ] || t_fail "the single file was compiled too"
	# Items used across the parts are global under their reserved names.
	nm "$out/split.hvt" | grep -q ' hedge_split\.func_types$' || t_fail "no hedge_split.func_types"
	rm -rf "$kept"
	HEDGE_BUILD_PARTS=1 t_run "$HEDGE" build "$TB/hello.wasm" -o "$out/one.hvt"
	expect_status 0
	if grep -q " parts" "$T_ERR"; then t_fail "HEDGE_BUILD_PARTS=1 split the C"; fi
	t_end

	t_begin "$tag: split build: wasm2c output it does not know is compiled whole"
	local wrap=$TB/odd-$tag
	mkdir -p "$wrap"
	# The real wasm2c, plus an item of a shape the splitter does not read.
	printf '#!/bin/sh\n%s "$@" || exit\nfor a; do last=$a; done\necho "typedef int odd_t;" >>"$last"\n' \
		"$(command -v wasm2c)" >"$wrap/wasm2c"
	chmod +x "$wrap/wasm2c"
	HEDGE_BUILD_PARTS=2 PATH=$wrap:$PATH t_run "$HEDGE" build "$TB/hello.wasm" \
		--dir "$TB/site::/www" -o "$out/fallback.hvt"
	expect_status 0
	expect_stderr "of C (not split: an item of unknown shape (app.c line "
	if nm "$out/fallback.hvt" | grep -q hedge_split; then t_fail "split symbols in the image"; fi
	t_end

	t_begin "$tag: split build: a part that fails, an interrupt, bad settings"
	local lib=$TB/splitlib-$tag
	rm -rf "$lib"
	cp -r build/lib/hedge "$lib"
	# A compiler that rejects part 1 and compiles everything else.
	printf '#!/bin/sh\ncase "$*" in *app_part1.c*) echo "app_part1.c:1:1: error: rejected" >&2; exit 1;; esac\nexec %s\n' \
		"$(sed -n 's/^cc=//p' build/lib/hedge/build.conf) \"\$@\"" >"$lib/cc-wrapper"
	chmod +x "$lib/cc-wrapper"
	sed -i "s#^cc=.*#cc=$lib/cc-wrapper#" "$lib/build.conf"
	mkdir -p "$TB/tmp-fail-$tag"
	HEDGE_LIBDIR=$lib HEDGE_BUILD_PARTS=3 TMPDIR=$TB/tmp-fail-$tag t_run "$HEDGE" build -q \
		"$TB/hello.wasm" -o "$out/failed.hvt"
	expect_status 70
	expect_one_line_error
	expect_stderr "hedge build: compile failed: app_part1.c:1:1: error: rejected"
	[ ! -e "$out/failed.hvt" ] && [ "$(tb_leftovers "$out")" = 0 ] || t_fail "output left behind"
	[ -z "$(ls -A "$TB/tmp-fail-$tag")" ] || t_fail "temporary directory left behind"
	# Interrupted while parts compile: every compiler stops, nothing is left.
	printf '#!/bin/sh\ncase "$*" in *app_part*) touch %s/started; exec sleep 30;; esac\nexec %s\n' \
		"$lib" "$(sed -n 's/^cc=//p' build/lib/hedge/build.conf) \"\$@\"" >"$lib/cc-wrapper"
	rm -f "$lib/started"
	HEDGE_LIBDIR=$lib HEDGE_BUILD_PARTS=2 HEDGE_BUILD_JOBS=2 TMPDIR=$TB/tmp-fail-$tag \
		"$HEDGE" build -q "$TB/hello.wasm" -o "$out/failed.hvt" >"$T_OUT" 2>"$T_ERR" &
	local pid=$! waited=0
	while [ ! -e "$lib/started" ] && [ $waited -lt 300 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	kill -TERM $pid
	wait $pid
	T_STATUS=$?
	expect_status 143
	expect_stderr "interrupted"
	[ ! -e "$out/failed.hvt" ] && [ "$(tb_leftovers "$out")" = 0 ] || t_fail "output left behind"
	[ -z "$(ls -A "$TB/tmp-fail-$tag")" ] || t_fail "temporary directory left behind"
	HEDGE_BUILD_PARTS=0 t_run "$HEDGE" build "$TB/hello.wasm" -o "$out/x.hvt"
	# Before any work is done: the only line is the error.
	expect_status 64
	expect_one_line_error
	expect_stderr "HEDGE_BUILD_PARTS must be a number from 1 to 64"
	HEDGE_BUILD_JOBS=two t_run "$HEDGE" build "$TB/hello.wasm" -o "$out/x.hvt"
	expect_status 64
	expect_one_line_error
	expect_stderr "HEDGE_BUILD_JOBS must be a number"
	t_end

	t_begin "$tag: split build: a progress line per part on a terminal only"
	# script(1) gives the build a terminal; its output is what the terminal showed.
	HEDGE_BUILD_PARTS=3 t_run script -qec "$HEDGE build $TB/hello.wasm -o $out/tty.hvt" /dev/null
	expect_status 0
	for i in 1 2 3; do
		grep -q "^\[2/3\] compiling part $i/3 (" "$T_OUT" || t_fail "no progress line for part $i"
	done
	HEDGE_BUILD_PARTS=3 t_run script -qec "$HEDGE build -q $TB/hello.wasm -o $out/tty.hvt" /dev/null
	expect_status 0
	[ ! -s "$T_OUT" ] || t_fail "--quiet printed on the terminal"
	HEDGE_BUILD_PARTS=3 t_run "$HEDGE" build "$TB/hello.wasm" -o "$out/tty.hvt"
	expect_status 0
	if grep -q "compiling part" "$T_ERR"; then t_fail "part lines without a terminal"; fi
	t_end
}

cache_cases() {
	local HEDGE=$1 tag=$2
	local wrap=$TB/counting-$tag log=$TB/wasm2c-runs-$tag
	export HEDGE_CACHE_DIR=$TB/cache-$tag
	# A wasm2c that counts its runs, first in PATH for every call alike.
	mkdir -p "$wrap"
	printf '#!/bin/sh\necho run >>%s\nexec %s "$@"\n' "$log" "$(command -v wasm2c)" >"$wrap/wasm2c"
	chmod +x "$wrap/wasm2c"
	: >"$log"

	t_begin "$tag: cache: a miss builds into the cache"
	PATH=$wrap:$PATH t_run "$HEDGE" build --cache "$TB/hello.wasm"
	expect_status 0
	expect_stderr "not in the cache"
	local image
	image=$(cat "$T_OUT")
	case $image in
	"$HEDGE_CACHE_DIR"/wasm/*.hvt) ;;
	*) t_fail "image path '$image' is not in the cache" ;;
	esac
	[ -f "$image" ] || t_fail "cached image missing"
	[ "$(grep -c run "$log")" = 1 ] || t_fail "wasm2c ran $(grep -c run "$log") times"
	t_end

	t_begin "$tag: cache: a hit does not run wasm2c or touch the image"
	local before after
	before=$(stat -c '%i %Y %s' "$image")
	PATH=$wrap:$PATH t_run "$HEDGE" build --cache "$TB/hello.wasm"
	expect_status 0
	expect_stdout "$image"
	[ ! -s "$T_ERR" ] || t_fail "a hit printed on stderr"
	after=$(stat -c '%i %Y %s' "$image")
	[ "$before" = "$after" ] || t_fail "cached image changed: $before -> $after"
	[ "$(grep -c run "$log")" = 1 ] || t_fail "wasm2c ran again"
	# The same bytes under another name are the same module.
	cp "$TB/hello.wasm" "$TB/copy-$tag.wasm"
	PATH=$wrap:$PATH t_run "$HEDGE" build --cache -q "$TB/copy-$tag.wasm"
	expect_stdout "$image"
	[ "$(grep -c run "$log")" = 1 ] || t_fail "wasm2c ran for a copy"
	t_end

	t_begin "$tag: cache: a rebuilt runtime library makes a new image"
	local lib=$TB/cachelib-$tag
	rm -rf "$lib"
	cp -r build/lib/hedge "$lib"
	HEDGE_LIBDIR=$lib PATH=$wrap:$PATH t_run "$HEDGE" build --cache -q "$TB/hello.wasm"
	expect_status 0
	local first
	first=$(cat "$T_OUT")
	touch -d '2001-01-01' "$lib/libc.a"
	HEDGE_LIBDIR=$lib PATH=$wrap:$PATH t_run "$HEDGE" build --cache -q "$TB/hello.wasm"
	expect_status 0
	[ "$(cat "$T_OUT")" != "$first" ] || t_fail "same cache entry after the library changed"
	[ "$(grep -c run "$log")" = 3 ] || t_fail "wasm2c ran $(grep -c run "$log") times, expected 3"
	t_end

	t_begin "$tag: cache: bad modules are refused and not cached"
	local cached
	cached=$(find "$HEDGE_CACHE_DIR" -type f | wc -l)
	t_run "$HEDGE" build --cache "$TB/missing.wasm"
	expect_status 3
	expect_one_line_error
	t_run "$HEDGE" build --cache -q "$TB/badbody.wasm"
	expect_status 2
	expect_one_line_error
	[ "$(find "$HEDGE_CACHE_DIR" -type f | wc -l)" = "$cached" ] || t_fail "new files in the cache"
	t_run "$HEDGE" build --cache -o x.hvt "$TB/hello.wasm"
	expect_status 64
	t_end
}

boot_cases() {
	local HEDGE=$1 tag=$2 out=$TB/$2

	t_begin "$tag: a built image boots and reads its embedded directory"
	t_run "$HEDGE" run "$out/site.hvt" /www/index.html /www/css/main.css
	expect_status 7
	expect_stdout "hello from wasm, argc=3"
	expect_stdout "/www/index.html: <h1>embedded</h1>"
	expect_stdout "/www/css/main.css: body {}"
	t_end

	local dead
	for dead in deadload deadloop; do
		t_begin "$tag: an unused out-of-bounds load traps ($dead)"
		t_run "$HEDGE" build -q "$TB/$dead.wasm" -o "$out/$dead.hvt"
		expect_status 0
		t_run "$HEDGE" run "$out/$dead.hvt"
		expect_status 120
		expect_stderr "wasm trap: out of bounds memory access"
		t_end
	done

	t_begin "$tag: split and fallback builds behave as the single-file build"
	t_run "$HEDGE" run "$out/site.hvt" /www/index.html /www/css/main.css
	cp "$T_OUT" "$TB/single-$tag.out"
	local image
	for image in split fallback; do
		t_run "$HEDGE" run "$out/$image.hvt" /www/index.html /www/css/main.css
		expect_status 7
		cmp -s "$T_OUT" "$TB/single-$tag.out" || t_fail "$image image printed other output"
	done
	t_end
}

build_cases build/hedge release
build_cases build/asan/hedge asan
split_cases build/hedge release
split_cases build/asan/hedge asan
cache_cases build/hedge release
cache_cases build/asan/hedge asan
if [ -e /dev/kvm ]; then
	boot_cases build/hedge release
else
	t_skip "booting built wasm images"
fi
unset HEDGE_CACHE_DIR
