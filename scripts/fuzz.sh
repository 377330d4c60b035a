#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS (default 60) on the committed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# New inputs go to a scratch copy, so the committed corpus only grows on purpose (copy the
# interesting ones from the scratch folder the log names). A crash stops the run with a non-zero
# exit; libFuzzer leaves the input under fuzz/artifacts/<target>/ and prints how to replay it.
# cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them, as
# cargo-fuzz's documentation allows.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(yaml_loader reference_parser query_parser compile js_model)
if ! command -v cargo-fuzz >/dev/null; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CUBEC_FUZZ_TARGET_DIR:-$HOME/.cache/cubec/fuzz-target}"
SCRATCH="$(mktemp -d /tmp/cubec-fuzz.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT
echo "== fuzz: building the targets (release, with sanitizer coverage)"
cargo fuzz build -O >/dev/null 2>&1 || cargo fuzz build -O
for t in "${TARGETS[@]}"; do
  mkdir -p "$SCRATCH/$t"
  echo "== fuzz: $t for ${SECONDS_EACH}s ($(ls fuzz/corpus/$t | wc -l) corpus inputs)"
  cargo fuzz run -O "$t" "$SCRATCH/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1 \
    >"$SCRATCH/$t.log" 2>&1 || { tail -n 60 "$SCRATCH/$t.log"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$SCRATCH/$t.log" | tr '\n' ' '
  echo
done
