# Thin entry points; the scripts do the work (and document their environment variables).
#   make run    build, start PostgreSQL (private, under .run/) and both services; Ctrl-C stops all
#   make test   unit + integration tests, normal and ASan/UBSan builds (TEST_FILTER=regex, TEST_ASAN=0)
#   make bench  wrk + pgbench benchmark (docs/performance.md)
#   make up / make down   local multi-replica cluster behind an nginx edge on 127.0.0.1:8080
#   make build  build everything into build/
#   make clean  remove build/ and build-asan/ (make distclean also removes .run/, the local database)
# Each target installs only its package set (scripts/bootstrap.sh run|cluster|bench|test).
SHELL := /bin/bash
BUILD_DIR ?= build

.PHONY: all run test bench up down build clean distclean

all: build

run:
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/bootstrap.sh bench
	scripts/bench.sh

up:
	scripts/bootstrap.sh cluster
	scripts/cluster.sh up

down:
	scripts/cluster.sh down

build:
	scripts/bootstrap.sh run
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD_DIR) -j$$(nproc)

clean:
	-for d in build build-asan; do [ -d $$d/test-pg ] && scripts/pg.sh stop $$d/test-pg; done; true
	rm -rf build build-asan

distclean: clean
	-[ -d .run/pg ] && scripts/pg.sh stop .run/pg; true
	rm -rf .run
