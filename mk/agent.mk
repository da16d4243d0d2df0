# mk/agent.mk - hedged, the node agent (agent/), included by the Makefile.
# Needs libmicrohttpd-dev, libsqlite3-dev and libjansson-dev.

AGENT_SRCS := $(wildcard agent/*.c) toolchain/sha256.c monitor/control_client.c monitor/errmsg.c
AGENT_HDRS := $(wildcard agent/*.h) toolchain/sha256.h monitor/control_client.h monitor/errmsg.h
AGENT_LIBS := -lmicrohttpd -lsqlite3 -ljansson -lpthread
AGENT_INC := -Iagent -Itoolchain -Imonitor -I$(BUILD)/agent

.PHONY: agent
agent: $(BUILD)/hedged $(BUILD)/asan/hedged
all: agent

# The OpenAPI document is served as written in agent/openapi.json: one C string.
$(BUILD)/agent/openapi.inc: agent/openapi.json
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@

$(BUILD)/hedged: $(AGENT_SRCS) $(AGENT_HDRS) $(BUILD)/agent/openapi.inc
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(AGENT_INC) -o $@ $(AGENT_SRCS) $(AGENT_LIBS)

$(BUILD)/asan/hedged: $(AGENT_SRCS) $(AGENT_HDRS) $(BUILD)/agent/openapi.inc
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) $(AGENT_INC) -o $@ $(AGENT_SRCS) $(AGENT_LIBS)

# The request checks alone (agent/request.c): unit-tested and fuzzed.
$(BUILD)/test_agent_request: tests/unit/test_agent_request.c agent/request.c agent/request.h tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -Iagent -Itests/unit -o $@ tests/unit/test_agent_request.c agent/request.c -ljansson
unit-tests: $(BUILD)/test_agent_request

$(BUILD)/fuzz/fuzz_api: fuzz/fuzz_api.c agent/request.c agent/request.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iagent -o $@ fuzz/fuzz_api.c agent/request.c -ljansson
fuzz: $(BUILD)/fuzz/fuzz_api
