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
HOST_SRCS := $(MONITOR_SRCS) $(CLI_SRCS)
HOST_HDRS := $(wildcard abi/*.h monitor/*.h cli/*.h)

.PHONY: all clean test bench fuzz format guestlib guest examples
all: $(BUILD)/hedge $(BUILD)/asan/hedge guest examples

# The monitor and CLI, once optimised and once under ASan+UBSan for the tests.
# Linked statically: no dynamic loader at start-up saves a third of a boot.
$(BUILD)/hedge: $(HOST_SRCS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Icli -static -o $@ $(HOST_SRCS) $(HOST_LDLIBS)

$(BUILD)/asan/hedge: $(HOST_SRCS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -Icli -o $@ $(HOST_SRCS) $(HOST_LDLIBS)

guestlib: $(BUILD)/guest/libc.a

# The guest runtime: boot, CPU tables, memory, clocks, console, exit paths.
RUNTIME_SRCS := $(wildcard guest/*.c)
RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/guest/arch/isr.o
GUEST_START := $(BUILD)/guest/arch/start.o
GUEST_LIBS := $(BUILD)/guest/libhedge.a $(BUILD)/guest/libc.a
guest: $(GUEST_START) $(GUEST_LIBS)

$(BUILD)/guest/arch/%.o: guest/arch/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_INC) -c $< -o $@

$(BUILD)/guest/libhedge.a: $(RUNTIME_OBJS)
	rm -f $@ && ar rcs $@ $^

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
UNIT_MONITOR_SRCS := monitor/elf_load.c monitor/hypercall.c monitor/vm.c cli/args.c
$(BUILD)/test_monitor: tests/unit/test_monitor.c $(UNIT_MONITOR_SRCS) $(HOST_HDRS) tests/unit/check.h
	$(CC) $(ASAN_CFLAGS) -Icli -o $@ tests/unit/test_monitor.c $(UNIT_MONITOR_SRCS)

# libFuzzer harnesses (clang).  `make fuzz` builds them; the tests run each for
# a bounded number of iterations over the seed corpus in fuzz/corpus/.
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Iabi -Imonitor -D_GNU_SOURCE -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz: $(BUILD)/fuzz/fuzz_elf $(BUILD)/fuzz/fuzz_hypercall

$(BUILD)/fuzz/fuzz_elf: fuzz/fuzz_elf.c monitor/elf_load.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_elf.c monitor/elf_load.c

$(BUILD)/fuzz/fuzz_hypercall: fuzz/fuzz_hypercall.c monitor/hypercall.c monitor/vm.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_hypercall.c monitor/hypercall.c monitor/vm.c

test: all build/test_monitor build/test_guestlib fuzz
	bash tests/run.sh

bench: all
	bash bench/boot.sh

format:
	clang-format -i $(wildcard abi/*.h monitor/*.[ch] cli/*.[ch] guest/*.[ch] guest/include/*.h \
		guest/lib/*.c examples/c/*.c tests/unit/*.[ch] fuzz/*.c bench/*.c)

clean:
	rm -rf $(BUILD)
