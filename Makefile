# Two entry points (see README): `make demo` and `make test`. Each installs what it
# needs (Debian packages, npm packages, the native addon, the TypeScript build) and
# skips what is already there.
SHELL := /bin/bash
.PHONY: setup deps demo test bench soak clean

setup: deps
	@# npm ci when node_modules is missing or older than the lock file
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci; fi
	@# the native addon (npm ci builds it through the package's install script)
	@[ -f build/Release/netlet_native.node ] && [ build/Release/netlet_native.node -nt native/netlet.cc ] || npx node-gyp rebuild
	npm run build --silent

deps:
	@bash scripts/setup-debian.sh

demo: setup
	node dist/src/cli/main.js demo

test: setup
	npm test

bench: setup
	node --expose-gc dist/bench/run.js

soak: setup
	node --expose-gc dist/bench/soak.js

clean:
	rm -rf dist build
