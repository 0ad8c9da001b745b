# tally — the two commands a new machine needs are `make run` and `make test`.
# Plain `make` only builds build/tallyd.

BUILD      ?= build
TEST_BUILD ?= build/test
FUZZ_BUILD ?= build/fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DATA       ?= ./data
LISTEN     ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60

.PHONY: all build deps test-deps run test fuzz bench format clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target tallyd

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test

run: deps build
	./$(BUILD)/tallyd serve --data $(DATA) --listen $(LISTEN)

test: test-deps
	@cmake -S . -B $(TEST_BUILD) -DTALLY_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DTALLY_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps build
	./bench/ingest.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
