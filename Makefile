# oxredis build, run and test targets. See README.md.
CARGO ?= cargo
PREFIX ?= /usr/local
BIN := target/release/oxredis-server

.PHONY: all run test test-slow tcl-test bench bench-rewrite bench-rdb fuzz clean install

# Release build.
all:
	$(CARGO) build --release

# Build and run with the shipped redis.conf, data in ./data.
run: all
	mkdir -p data
	@if [ -f redis.conf ]; then $(BIN) ./redis.conf --dir ./data; else $(BIN) --dir ./data; fi

# Everything that fits CI: Rust unit and integration tests, then the Tcl suite.
test: all
	$(CARGO) test --release
	@command -v redis-server >/dev/null || echo "NOTE: redis-server not installed: differential tests were skipped"
	@if [ -f tcl-compat/test_helper.tcl ]; then $(MAKE) tcl-test; else echo "NOTE: tcl-compat suite not present: skipped"; fi

# Slow scenarios kept out of CI: the kill -9 crash tests with many rounds
# (OXREDIS_CRASH_ROUNDS, default 40) and a long seeded differential run.
CRASH_ROUNDS ?= 40
test-slow: all
	OXREDIS_CRASH_ROUNDS=$(CRASH_ROUNDS) $(CARGO) test --release --test aof kill9
	OXREDIS_DIFF_CMDS=20000 $(CARGO) test --release --test differential_random

tcl-test: all
	@command -v tclsh >/dev/null || { echo "NOTE: tclsh not installed: Tcl suite skipped"; exit 0; }; \
	cd tcl-compat && tclsh test_helper.tcl --clients 2 --server ../$(BIN)

# redis-benchmark against oxredis and redis-server, same run, with ratios.
# Knobs: BENCH_ROUNDS, BENCH_N, BENCH_NP, BENCH_TESTS, BENCH_PTESTS, BENCH_EXTRA.
bench: all
	bench/run.sh

# The background AOF rewrite of 1M keys under a write load, beside
# redis-server: wall time, fork time, p99 during it, peak RSS parent+child.
# Knobs: BENCH_RW_KEYS, BENCH_RW_ROUNDS, BENCH_RW_WINDOW, BENCH_RW_PREAMBLE.
bench-rewrite: all
	bench/rewrite.sh

# SAVE and load of 1M keys (strings, then a mix of collections) beside
# redis-server: SAVE wall/CPU time, file size, load time, DEBUG RELOAD.
# Knobs: BENCH_RDB_KEYS, BENCH_RDB_ROUNDS, BENCH_RDB_DATASETS, BENCH_RDB_RELOAD.
bench-rdb: all
	bench/rdb.sh

# Fuzz the RESP parser: cargo-fuzz on a nightly toolchain when present,
# otherwise the stable random-input driver (FUZZ_SECONDS, default 60).
FUZZ_SECONDS ?= 60
fuzz:
	@if cargo +nightly fuzz --version >/dev/null 2>&1; then \
		cd fuzz && cargo +nightly fuzz run proto -- -max_total_time=$(FUZZ_SECONDS); \
	else \
		echo "NOTE: cargo-fuzz/nightly not available: running the stable driver"; \
		$(CARGO) run --release --manifest-path fuzz/Cargo.toml --no-default-features --bin proto_stable -- $(FUZZ_SECONDS); \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/oxredis-server
	for n in oxredis-check-aof oxredis-check-rdb redis-server redis-check-aof redis-check-rdb; do \
		ln -sf oxredis-server $(DESTDIR)$(PREFIX)/bin/$$n; done

clean:
	$(CARGO) clean
	rm -rf tcl-compat/tmp
