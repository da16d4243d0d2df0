# hedge - top-level build.  `make` builds the hedge binary, the guest runtime
# and the examples; `make test` runs every test; `make bench` the benchmarks.

CC ?= gcc
BUILD := build
GUEST_CC := gcc

HOST_WARN := -Wall -Wextra -Werror
HOST_CFLAGS := -std=gnu11 -O2 -g $(HOST_WARN) -Iabi -Imonitor -D_GNU_SOURCE
HOST_LDLIBS := -lseccomp
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := -std=gnu11 -O1 -g $(HOST_WARN) -Iabi -Imonitor -D_GNU_SOURCE $(SAN_FLAGS)

GUEST_INC := -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) -Iguest/include -Iabi
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-stack-protector \
	-fno-pic -fno-pie -mno-red-zone -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	$(GUEST_INC)
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/guest.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack
GUEST_LIBGCC := $(shell $(GUEST_CC) -print-libgcc-file-name)

# Guest C library pieces, testable on the host (see tests/unit/test_guestlib.c).
GUESTLIB_SRCS := $(wildcard guest/lib/*.c)
GUESTLIB_OBJS := $(GUESTLIB_SRCS:%.c=$(BUILD)/%.o)

MONITOR_SRCS := $(wildcard monitor/*.c)
CLI_SRCS := $(wildcard cli/*.c)
TOOLCHAIN_SRCS := $(wildcard toolchain/*.c)
HOST_SRCS := $(MONITOR_SRCS) $(CLI_SRCS) $(TOOLCHAIN_SRCS)
HOST_HDRS := $(wildcard abi/*.h monitor/*.h cli/*.h toolchain/*.h)
HOST_INC := -Iabi -Imonitor -Icli -Itoolchain

.PHONY: all clean test bench fuzz format guestlib guest examples libdir wasm-examples unit-tests
all: $(BUILD)/hedge $(BUILD)/asan/hedge guest examples libdir wasm-examples

# The monitor and CLI, once optimised and once under ASan+UBSan for the tests.
# Linked statically: no dynamic loader at start-up saves a third of a boot.
$(BUILD)/hedge: $(HOST_SRCS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(HOST_INC) -static -o $@ $(HOST_SRCS) $(HOST_LDLIBS)

$(BUILD)/asan/hedge: $(HOST_SRCS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) $(HOST_INC) -o $@ $(HOST_SRCS) $(HOST_LDLIBS)

guestlib: $(BUILD)/guest/libc.a

# The guest runtime: boot, CPU tables, memory, clocks, console, exit paths.
RUNTIME_SRCS := $(wildcard guest/*.c)
RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/guest/arch/isr.o $(BUILD)/guest/arch/setjmp.o
GUEST_START := $(BUILD)/guest/arch/start.o
GUEST_LIBS := $(BUILD)/guest/libhedge.a $(BUILD)/guest/libc.a
guest: $(GUEST_START) $(GUEST_LIBS)

$(BUILD)/guest/arch/%.o: guest/arch/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_INC) -c $< -o $@

$(BUILD)/guest/libhedge.a: $(RUNTIME_OBJS)
	rm -f $@ && ar rcs $@ $^

# What `hedge build` links a wasm unikernel against, in $(LIBDIR) next to the
# hedge binary: the guest runtime, the wasm2c runtime (guest/wasm), WASI
# (guest/wasi), their headers with Debian's wasm-rt.h, and build.conf, which
# tells hedge build the compiler and flags so they are written down once, here.
LIBDIR := $(BUILD)/lib/hedge
WASI_SRCS := $(wildcard guest/wasi/*.c)
WASMRT_SRCS := $(filter-out guest/wasm/wasm_main.c,$(wildcard guest/wasm/*.c))
WASMRT_ASM := $(BUILD)/guest/wasm/stack_switch.o
WASM_GUEST_CFLAGS := $(GUEST_CFLAGS) -Iguest -Iguest/wasi -Iguest/wasm -I$(LIBDIR)/include
LIBDIR_FILES := $(LIBDIR)/guest.ld $(LIBDIR)/start.o $(LIBDIR)/libhedge.a $(LIBDIR)/libc.a \
	$(LIBDIR)/libwasi.a $(LIBDIR)/libwasmrt.a $(LIBDIR)/wasm_main.c $(LIBDIR)/build.conf \
	$(LIBDIR)/include/wasm-rt.h $(BUILD)/guest/wasm/wasm_main.o
libdir: $(LIBDIR_FILES)

$(LIBDIR)/include/wasm-rt.h: /usr/include/wasm-rt.h $(wildcard guest/include/*.h abi/*.h guest/wasi/*.h guest/wasm/*.h)
	@mkdir -p $(dir $@)
	cp guest/include/*.h abi/hedge_abi.h $(wildcard guest/wasi/*.h guest/wasm/*.h) $(dir $@)
	cp /usr/include/wasm-rt.h $@

$(BUILD)/guest/wasi/%.o: guest/wasi/%.c $(wildcard guest/wasi/*.h guest/include/*.h abi/*.h) $(LIBDIR)/include/wasm-rt.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(WASM_GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/wasm/%.o: guest/wasm/%.c $(wildcard guest/wasm/*.h guest/wasi/*.h guest/include/*.h abi/*.h) $(LIBDIR)/include/wasm-rt.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(WASM_GUEST_CFLAGS) -c $< -o $@

$(LIBDIR)/libwasi.a: $(WASI_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/guest/wasm/%.o: guest/wasm/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_INC) -c $< -o $@

$(LIBDIR)/libwasmrt.a: $(WASMRT_SRCS:%.c=$(BUILD)/%.o) $(WASMRT_ASM)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The glue is compiled by hedge build next to each module's generated header
# (it needs the size of the module's instance); it is built here too, against
# a stand-in header, so that errors in it show up at make time.
$(LIBDIR)/wasm_main.c: guest/wasm/wasm_main.c
	@mkdir -p $(dir $@)
	cp $< $@
$(BUILD)/guest/wasm/wasm_main.o: guest/wasm/wasm_main.c guest/wasm/app_stub/app.h $(LIBDIR)/include/wasm-rt.h $(wildcard guest/wasi/*.h)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(WASM_GUEST_CFLAGS) -Iguest/wasm/app_stub -c $< -o $@

$(LIBDIR)/%.a: $(BUILD)/guest/%.a
	@mkdir -p $(dir $@)
	cp $< $@

$(LIBDIR)/start.o: $(GUEST_START)
	@mkdir -p $(dir $@)
	cp $< $@

$(LIBDIR)/guest.ld: guest/guest.ld
	@mkdir -p $(dir $@)
	cp $< $@

# In build.conf, {libdir} stands for the directory holding it.
$(LIBDIR)/build.conf: Makefile
	@mkdir -p $(dir $@)
	{ echo "# written by the Makefile: how hedge build compiles and links a wasm unikernel"; \
	  echo "cc=$(GUEST_CC)"; \
	  echo "cflags=-std=gnu11 -O2 -ffreestanding -fno-stack-protector -fno-pic -fno-pie -mno-red-zone -fno-asynchronous-unwind-tables -fnon-call-exceptions -fno-delete-dead-exceptions -w -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) -I{libdir}/include"; \
	  echo "ldflags=-nostdlib -static -no-pie -Wl,-T,{libdir}/guest.ld -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack"; \
	  echo "start={libdir}/start.o"; \
	  echo "glue={libdir}/wasm_main.c"; \
	  echo "libs=-Wl,--start-group {libdir}/libwasi.a {libdir}/libhedgenet.a {libdir}/liblwip.a {libdir}/libwasmrt.a {libdir}/libhedge.a {libdir}/libc.a -Wl,--end-group $(GUEST_LIBGCC)"; } > $@

# WebAssembly programs (C compiled to wasm32-wasi): examples/wasm/NAME.c
# becomes build/wasm/NAME.wasm; the WASI conformance programs tests/wasi/NAME.c
# become build/wasi-tests/NAME.wasm.
WASM_CC := clang --target=wasm32-wasi
WASM_CFLAGS := -O2 -Wall -Wextra -Werror
WASM_EXAMPLES := $(patsubst examples/wasm/%.c,$(BUILD)/wasm/%.wasm,$(wildcard examples/wasm/*.c))
WASI_TESTS := $(patsubst tests/wasi/%.c,$(BUILD)/wasi-tests/%.wasm,$(wildcard tests/wasi/*.c))
wasm-examples: $(WASM_EXAMPLES) $(WASI_TESTS)

$(BUILD)/wasm/%.wasm: examples/wasm/%.c $(wildcard examples/wasm/*.h)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -o $@ $<

$(BUILD)/wasi-tests/%.wasm: tests/wasi/%.c $(wildcard tests/wasi/*.h)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -o $@ $<

# C unikernel examples: examples/c/NAME.c becomes build/examples/NAME.hvt.
EXAMPLES := $(patsubst examples/c/%.c,$(BUILD)/examples/%.hvt,$(wildcard examples/c/*.c))
examples: $(EXAMPLES)

$(BUILD)/examples/%.o: examples/c/%.c $(wildcard guest/include/*.h)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/examples/%.hvt: $(BUILD)/examples/%.o $(GUEST_START) $(GUEST_LIBS) guest/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_START) $< $(GUEST_LIBS) $(GUEST_LIBGCC)

$(BUILD)/guest/%.o: guest/%.c $(wildcard guest/*.h guest/include/*.h abi/*.h)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/libc.a: $(GUESTLIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Host copy of the guest library: every symbol gets the prefix hg_ so that the
# test program can call hg_malloc next to the host's own malloc.
$(BUILD)/hostcheck/guestlib.o: $(GUESTLIB_OBJS)
	@mkdir -p $(dir $@)
	ld -r -o $@.tmp $^ && objcopy --prefix-symbols=hg_ $@.tmp $@ && rm -f $@.tmp

$(BUILD)/test_guestlib: tests/unit/test_guestlib.c $(BUILD)/hostcheck/guestlib.o
	$(CC) $(ASAN_CFLAGS) -no-pie -o $@ $^

# Unit tests of the monitor's parsers and checks, under ASan+UBSan.
UNIT_MONITOR_SRCS := monitor/errmsg.c monitor/elf_load.c monitor/hypercall.c monitor/vm.c monitor/net_tap.c cli/args.c
$(BUILD)/test_monitor: tests/unit/test_monitor.c $(UNIT_MONITOR_SRCS) $(HOST_HDRS) tests/unit/check.h
	$(CC) $(ASAN_CFLAGS) $(HOST_INC) -o $@ tests/unit/test_monitor.c $(UNIT_MONITOR_SRCS)

# Unit tests of the host toolchain (wasm parsing, sha256, tar writing).
$(BUILD)/test_toolchain: tests/unit/test_toolchain.c $(TOOLCHAIN_SRCS) monitor/errmsg.c $(HOST_HDRS) tests/unit/check.h
	$(CC) $(ASAN_CFLAGS) $(HOST_INC) -o $@ tests/unit/test_toolchain.c $(TOOLCHAIN_SRCS) monitor/errmsg.c

# Host-side unit tests of the guest's tar reader and in-memory file system,
# compiled straight from guest/wasi/ for the host: those files use only the C
# library functions the guest library also has.
WASI_HOST_SRCS := $(wildcard guest/wasi/vfs*.c guest/wasi/tar*.c)
$(BUILD)/test_wasi_vfs: tests/unit/test_wasi_vfs.c $(WASI_HOST_SRCS) $(wildcard guest/wasi/*.h) tests/unit/check.h
	$(CC) $(ASAN_CFLAGS) -Iguest/wasi -Iabi -o $@ tests/unit/test_wasi_vfs.c $(WASI_HOST_SRCS)

# Unit tests of the snapshot file format and the control protocol's JSON.
SNAPSHOT_UNIT_SRCS := monitor/errmsg.c monitor/snapfile.c monitor/crc32c.c monitor/jsonl.c monitor/mig_frames.c monitor/mig_delta.c
$(BUILD)/test_snapshot: tests/unit/test_snapshot.c $(SNAPSHOT_UNIT_SRCS) $(HOST_HDRS) tests/unit/check.h
	$(CC) $(ASAN_CFLAGS) $(HOST_INC) -o $@ tests/unit/test_snapshot.c $(SNAPSHOT_UNIT_SRCS)

UNIT_TESTS := $(BUILD)/test_monitor $(BUILD)/test_guestlib $(BUILD)/test_snapshot \
	$(if $(wildcard tests/unit/test_toolchain.c),$(BUILD)/test_toolchain) \
	$(if $(wildcard tests/unit/test_wasi_vfs.c),$(BUILD)/test_wasi_vfs)
unit-tests: $(UNIT_TESTS)

# libFuzzer harnesses (clang).  `make fuzz` builds them; the tests run each for
# a bounded number of iterations over the seed corpus in fuzz/corpus/.
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Iabi -Imonitor -Itoolchain -D_GNU_SOURCE -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS := $(BUILD)/fuzz/fuzz_elf $(BUILD)/fuzz/fuzz_hypercall $(BUILD)/fuzz/fuzz_snapshot \
	$(if $(wildcard fuzz/fuzz_wasm.c),$(BUILD)/fuzz/fuzz_wasm)
fuzz: $(FUZZERS)

$(BUILD)/fuzz/fuzz_snapshot: fuzz/fuzz_snapshot.c $(SNAPSHOT_UNIT_SRCS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_snapshot.c $(SNAPSHOT_UNIT_SRCS)

$(BUILD)/fuzz/fuzz_wasm: fuzz/fuzz_wasm.c $(TOOLCHAIN_SRCS) monitor/errmsg.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itoolchain -o $@ fuzz/fuzz_wasm.c $(TOOLCHAIN_SRCS) monitor/errmsg.c

$(BUILD)/fuzz/fuzz_elf: fuzz/fuzz_elf.c monitor/elf_load.c monitor/errmsg.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_elf.c monitor/elf_load.c monitor/errmsg.c

# The target side of migration, with what it pulls in; clang needs telling
# that a variable-sized struct kvm_msrs inside another is meant.
FUZZ_MIGRATE_SRCS := $(addprefix monitor/,migrate.c mig_frames.c mig_delta.c snapshot.c snapfile.c crc32c.c \
	errmsg.c guest_mem.c net_tap.c vm.c cpuid_cache.c kvm.c hypercall.c control.c jsonl.c)
fuzz: $(BUILD)/fuzz/fuzz_migrate
$(BUILD)/fuzz/fuzz_migrate: fuzz/fuzz_migrate.c $(FUZZ_MIGRATE_SRCS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-gnu-variable-sized-type-not-at-end -o $@ fuzz/fuzz_migrate.c \
		$(FUZZ_MIGRATE_SRCS)

$(BUILD)/fuzz/fuzz_hypercall: fuzz/fuzz_hypercall.c monitor/hypercall.c monitor/vm.c monitor/net_tap.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_hypercall.c monitor/hypercall.c monitor/vm.c monitor/net_tap.c

# The guest's network stack (lwIP as mk/net.mk builds it, guest/net/*.c) on the
# host; fuzz/lwip_host/runtime.h replaces the hypercall header and the guest's
# other headers come after the host's.  Strict C11 keeps glibc's BYTE_ORDER
# out of the way of lwIP's; lwIP compares a u16 with 65536 under clang.
fuzz: $(BUILD)/fuzz/fuzz_lwip_rx
$(BUILD)/fuzz/fuzz_lwip_rx: fuzz/fuzz_lwip_rx.c fuzz/lwip_host/runtime.h \
		$(wildcard guest/net/*.[ch] guest/net/arch/*.h guest/include/*.h) | $(BUILD)/lwip.stamp
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -std=c11 -U_GNU_SOURCE -Wno-tautological-constant-out-of-range-compare \
		-Ifuzz/lwip_host -Iguest/net -I$(LWIP_DIR)/src/include -idirafter guest/include -o $@ \
		fuzz/fuzz_lwip_rx.c $(wildcard guest/net/*.c) $(LWIP_SRCS:%=$(LWIP_DIR)/src/%)

test: all unit-tests fuzz
	bash tests/run.sh

bench: all
	bash bench/boot.sh

format:
	clang-format -i $(wildcard abi/*.h monitor/*.[ch] cli/*.[ch] guest/*.[ch] guest/include/*.h \
		guest/lib/*.c guest/net/*.[ch] guest/wasi/*.[ch] guest/wasm/*.[ch] toolchain/*.[ch] agent/*.[ch] \
		examples/c/*.c tests/unit/*.[ch] fuzz/*.c bench/*.c)

# Guest networking (lwIP, the ring driver, sockets) lives in its own fragment,
# as does hedged, the node agent.
include mk/net.mk
-include mk/agent.mk

clean:
	rm -rf $(BUILD)
