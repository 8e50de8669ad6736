#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), JOBS at a time (default 2), from the
# repository root or anywhere: ./tests/fuzz/run.sh [SECONDS] [JOBS]. Logs go to
# tests/fuzz/logs/<target>.log; a crash leaves its input in tests/fuzz/artifacts/<target>/.
# Stable rustc takes libFuzzer's -Z flags only with RUSTC_BOOTSTRAP=1 (see README.md).
set -euo pipefail
seconds=${1:-600}
jobs=${2:-2}
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz_dir/../.."
export RUSTC_BOOTSTRAP=1
mkdir -p "$fuzz_dir/logs"
cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer none
targets=$(cargo fuzz list --fuzz-dir "$fuzz_dir")
printf '%s\n' $targets | xargs -P "$jobs" -I{} sh -c \
  "timeout $((seconds + 120)) cargo fuzz run --fuzz-dir '$fuzz_dir' --sanitizer none {} -- \
     -max_total_time=$seconds -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
     > '$fuzz_dir/logs/{}.log' 2>&1; echo \"{} exit \$?\""
