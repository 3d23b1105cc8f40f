# The README's commands. Every tool is pinned and fetched through Go, so a
# machine needs only Go (and redis-server for the Redis tests).
BUF := go run github.com/bufbuild/buf/cmd/buf@v1.75.0
GENERATED := proto/innovation gateway/openapi

# The OpenAPI 3.1 document the gateway serves, converted from what
# protoc-gen-openapiv2 writes (gateway/openapigen).
OPENAPI_VERSION := v1
OPENAPIGEN = go run ./gateway/openapigen -version $(OPENAPI_VERSION)
# The npm tools the document is linted with (tools/api/package-lock.json).
API_TOOLS := tools/api

.PHONY: run test vet fmt-check lint generate check-generate unit deploy-test bench dev-certs multiregion api-tools api-lint

run:
	go run ./cmd/motor

test: vet fmt-check lint check-generate api-lint unit deploy-test

vet:
	go vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

lint:
	$(BUF) lint

generate:
	find proto -name '*.pb.go' -o -name '*.pb.gw.go' | xargs rm -f
	rm -rf gateway/openapi
	$(BUF) generate
	$(OPENAPIGEN) -in gateway/openapi/motor.swagger.json -out gateway/openapi/motor.openapi.json
	rm gateway/openapi/motor.swagger.json

# Regenerates into a temporary folder and compares with the committed code,
# so a stale generated file fails the build without touching the tree.
check-generate:
	@set -e; tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate -o "$$tmp"; \
	$(OPENAPIGEN) -in "$$tmp/gateway/openapi/motor.swagger.json" -out "$$tmp/gateway/openapi/motor.openapi.json"; \
	rm "$$tmp/gateway/openapi/motor.swagger.json"; \
	for d in $(GENERATED); do \
		if ! diff -r -x '*.proto' "$$tmp/$$d" "$$d" >/dev/null 2>&1; then \
			echo "generated code in $$d is stale: run 'make generate'"; \
			diff -r -x '*.proto' "$$tmp/$$d" "$$d" | head -40; \
			exit 1; \
		fi; \
	done; \
	echo "generated code is current"

# The linters and the TypeScript generator, exactly as package-lock.json
# pins them.
api-tools:
	@command -v npm >/dev/null || { echo "api-tools: npm is missing: install Node.js 18.18 or later with npm (Debian: apt-get install nodejs npm)"; exit 1; }
	cd $(API_TOOLS) && npm ci

# npm ci again only when the lock file changed since the last install.
$(API_TOOLS)/node_modules/.package-lock.json: $(API_TOOLS)/package-lock.json
	@$(MAKE) --no-print-directory api-tools

# The committed OpenAPI document against Redocly's recommended rules and
# Spectral's oas ruleset; either's error fails. Installs the pinned tools
# first when they are missing.
api-lint: $(API_TOOLS)/node_modules/.package-lock.json
	cd $(API_TOOLS) && npm run --silent lint:redocly && npm run --silent lint:spectral

# The Kubernetes manifests: a module of their own (deploy/go.mod), so the
# services' dependencies stay lean. It imports the main module's config
# package through a replace directive, so the rules check a deployment
# config with motor's own loader.
deploy-test:
	cd deploy && go vet ./... && go test ./...

unit:
	go test -race -count=1 ./...

bench:
	go test -run '^$$' -bench . -benchtime 2000x ./internal/store/...
	go test -run '^$$' -bench . -benchtime 20x ./services/idea/ ./services/needs/ ./services/reports/
	go test -run '^$$' -bench . -benchtime 20x ./portal/
	go test -run '^$$' -bench DispatchLag -benchtime 1x ./services/notify/
	go test -run '^$$' -bench Overload -benchtime 1x ./cmd/motor/

# A dev CA and mTLS certificates for the README's three local deployments.
dev-certs:
	go run ./cmd/motor certs -out certs -regions vasterbotten,uppsala,national

# Västerbotten, Uppsala and the national deployment on loopback, each with its
# own redis-server, over mTLS with dev certificates.
multiregion:
	deploy/local/multiregion.sh
