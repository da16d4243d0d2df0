# mk/net.mk - guest networking: lwIP from Debian's source package, the ring driver, sockets.
#
# scripts/lwip.sh unpacks Debian's lwIP source (apt-get source lwip) into
# build/lwip once; nothing of lwIP is kept in the repository.  lwIP's core is
# compiled freestanding with the guest's flags and hedge's lwipopts.h into
# $(LIBDIR)/liblwip.a, together with its platform layer (guest/net/sys_arch.c,
# syn_guard.c);
# the ring driver, event loop and sockets make $(LIBDIR)/libhedgenet.a.

LWIP_DIR := $(BUILD)/lwip
LWIP_STAMP := $(BUILD)/lwip.stamp
LWIP_OBJDIR := $(BUILD)/lwip-obj

# lwIP 2.1's core, IPv4 and Ethernet: the file names are stable across 2.1.x,
# and listing them lets make plan the build before the source is unpacked.
LWIP_CORE := altcp altcp_alloc altcp_tcp def dns inet_chksum init ip mem memp netif pbuf raw \
	stats sys tcp tcp_in tcp_out timeouts udp
LWIP_CORE4 := autoip dhcp etharp icmp igmp ip4 ip4_addr ip4_frag
LWIP_SRCS := $(LWIP_CORE:%=core/%.c) $(LWIP_CORE4:%=core/ipv4/%.c) netif/ethernet.c
LWIP_OBJS := $(LWIP_SRCS:%.c=$(LWIP_OBJDIR)/%.o)

NET_INC := -Iguest/net -I$(LWIP_DIR)/src/include -Iguest
NET_HDRS := $(wildcard guest/net/*.h guest/net/arch/*.h guest/include/*.h abi/*.h) guest/runtime.h
# lwIP 2.1.3 compiles cleanly with the guest's -Wall -Wextra -Werror as configured.
NET_CFLAGS := $(GUEST_CFLAGS) $(NET_INC)
LWIP_CFLAGS := $(NET_CFLAGS)

HEDGENET_SRCS := netif loop socket sock_tcp sock_udp bytebuf
HEDGENET_OBJS := $(HEDGENET_SRCS:%=$(BUILD)/guest/net/%.o)
NET_LIBS := $(LIBDIR)/libhedgenet.a $(LIBDIR)/liblwip.a

all: $(NET_LIBS) $(BUILD)/tools/net_client

$(LWIP_STAMP): scripts/lwip.sh
	bash scripts/lwip.sh
	@touch $@

$(LWIP_OBJDIR)/%.o: $(NET_HDRS) | $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(LWIP_CFLAGS) -c $(LWIP_DIR)/src/$*.c -o $@

$(BUILD)/guest/net/%.o: guest/net/%.c $(NET_HDRS) | $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(NET_CFLAGS) -c $< -o $@

$(LIBDIR)/liblwip.a: $(LWIP_OBJS) $(BUILD)/guest/net/sys_arch.o $(BUILD)/guest/net/syn_guard.o
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBDIR)/libhedgenet.a: $(HEDGENET_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Network examples (examples/c/net_*.c) link the stack too; this pattern's
# shorter stem makes make prefer it to the Makefile's generic example rule.
# The libraries refer to each other (lwIP's platform layer to the runtime,
# the runtime's C library back), hence the group.
$(BUILD)/examples/net_%.hvt: $(BUILD)/examples/net_%.o $(GUEST_START) $(GUEST_LIBS) $(NET_LIBS) \
		guest/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_START) $< -Wl,--start-group $(NET_LIBS) \
		$(GUEST_LIBS) -Wl,--end-group $(GUEST_LIBGCC)

# The host-side client of the network tests (tests/integration/net_guest.sh).
$(BUILD)/tools/net_client: tests/tools/net_client.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $<
