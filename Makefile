# krslab: the two commands are `make run` and `make test`.
# Without DATABASE_URL both start a throwaway PostgreSQL 15 (see .ci/with-postgres).

GO        ?= go
BIN       := bin/krslab
PKGS      := ./...
RACE_PKGS := ./experiment/... ./api/...

.PHONY: run test build vet unit benchmarks race fuzz notebooks schema bench clean

build:
	$(GO) build -o $(BIN) ./cmd/krslab

run: build
	@.ci/with-postgres .ci/run-demo

# The whole suite against a real PostgreSQL: vet, every package, one run of every Go
# benchmark, and the race detector on the domain and API packages. KRSLAB_REQUIRE_DB=1 (set
# by CI) fails any test that would otherwise skip for lack of a database.
test:
	@KRSLAB_PG_FAST=$${KRSLAB_PG_FAST:-1} .ci/with-postgres $(MAKE) --no-print-directory vet unit benchmarks race fuzz

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

# Each Go benchmark once, so that none stops working unnoticed (their figures come from
# `go test -bench` runs of their own; see README, Performance).
benchmarks:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x $(PKGS)

# The race detector on the domain and API packages. A test whose work is sequential (it
# draws a report's figures or compares reference numbers one request at a time) skips here
# (api/internal/race) and does its work in unit; the concurrent paths run under the detector.
race:
	$(GO) test -count=1 -race $(RACE_PKGS)

# A short run of every fuzz target (the decoders, the answer validator and the importer's
# reading of a responses line); the seed corpus and any past failures in testdata/fuzz run
# in `unit` too. The budget is a count of executions, not a duration: with a duration, Go
# before 1.27 can fail a target with a bare "context deadline exceeded" when a worker is
# mid-run as the time ends on a busy machine (golang/go#75804); a count has no deadline to
# race.
FUZZTIME ?= 20000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzResponsesCSV$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzPlainAssignRequestAsStrict$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzAssignmentJSONAsTagged$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckAnswer$$' -fuzztime $(FUZZTIME) ./experiment/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckResponse$$' -fuzztime $(FUZZTIME) ./experiment/
	$(GO) test -run '^$$' -fuzz '^FuzzResponseLine$$' -fuzztime $(FUZZTIME) ./experiment/

# Execute the analyst notebooks against a live demo server (needs Debian's
# jupyter-nbconvert, python3-ipykernel, python3-pandas, python3-matplotlib, python3-requests).
notebooks:
	@.ci/with-postgres .ci/run-notebooks

# Rewrite migrations/schema.sql, the schema as it stands after the newest migration, from a
# migrated throwaway database (a test compares the two).
schema:
	@KRSLAB_PG_FAST=1 KRSLAB_WRITE_SCHEMA=1 .ci/with-postgres $(GO) test -count=1 -run '^TestSchemaFileIsTheMigratedSchema$$' ./experiment/postgres/

# Every figure of the README's Performance section in one run on one throwaway PostgreSQL
# with fsync on (see .ci/bench; ASSIGN_RUNS=5 LARGE=1 make bench for the full table).
bench:
	@.ci/bench

clean:
	rm -rf bin
