# smimeproxy build and test targets. `make test` is what CI runs (.ci/run).

GO ?= go
export PATH := $(PATH):/usr/local/go/bin

# Debian packages the integration tests need (fetchmail and curl are the
# POP3 clients the POP3 tests drive).
DEB_PACKAGES := dovecot-imapd dovecot-pop3d openssl python3 fetchmail curl
# The browser the dashboard test drives headless (integration/dashboard_test.go).
BROWSER_PACKAGES := chromium

.PHONY: all deps build test bench demo fuzz

all: build

# deps: install what the tests need when it is missing (as root): Dovecot
# without starting its system service, openssl, python3, the POP3 clients,
# and the vmail user that owns the test Maildirs. Quick when all is there.
deps:
	@missing=""; \
	for tool in dovecot doveadm openssl python3 fetchmail curl chromium; do \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; \
	done; \
	for pkg in dovecot-imapd dovecot-pop3d; do \
		dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "missing:$$missing; as root run: apt-get install -y $(DEB_PACKAGES) $(BROWSER_PACKAGES)" >&2; \
			exit 1; \
		fi; \
		policy_created=""; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; \
			chmod 755 /usr/sbin/policy-rc.d; \
			policy_created=yes; \
		fi; \
		status=0; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $(DEB_PACKAGES) $(BROWSER_PACKAGES); } || status=$$?; \
		if [ -n "$$policy_created" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		[ $$status = 0 ] || exit $$status; \
	fi
	@if ! getent passwd vmail >/dev/null; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "missing: system user vmail; as root run: useradd --system vmail" >&2; \
			exit 1; \
		fi; \
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin vmail; \
	fi

# build: the smimeproxy binary in bin/.
build:
	$(GO) build -o bin/smimeproxy ./cmd/smimeproxy

# test: formatting, vet, staticcheck, then every test including the
# integration tests against a real Dovecot (they fail rather than skip
# when CI=true).
test: deps
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" >&2; echo "$$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test -count=1 -timeout 20m ./...

# bench: the benchmarks of issue 2 in one run: fetch 500 plain messages
# direct/relay/proxy, one 20 MB encrypted message with the proxy's peak RSS,
# and the decryption benchmarks. Run it on an otherwise idle machine.
bench: deps
	$(GO) test -run='^$$' -bench=. -benchmem -timeout 30m ./smime/... ./proxy/... ./integration/...

# demo: the proxy on an in-process IMAP server with sample messages.
demo:
	$(GO) run ./cmd/smimeproxy demo

# fuzz: each fuzz target for a few seconds (FUZZTIME=30s for longer).
FUZZTIME ?= 5s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done
