#!/usr/bin/env bash
# Runs fuzz targets for SECONDS each (default 600), JOBS at a time (default 2), from the
# repository root or anywhere: ./tests/fuzz/run.sh [SECONDS] [JOBS] [TARGET...] (default:
# every target). The targets are built once, then run directly, so editing the sources
# meanwhile does not rebuild them mid-run. Logs go to
# tests/fuzz/logs/<target>.log; a crash leaves its input in tests/fuzz/artifacts/<target>/.
# Stable rustc takes libFuzzer's -Z flags only with RUSTC_BOOTSTRAP=1 (see README.md).
set -euo pipefail
seconds=${1:-600}
jobs=${2:-2}
shift $(($# < 2 ? $# : 2))
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz_dir/../.."
export RUSTC_BOOTSTRAP=1
mkdir -p "$fuzz_dir/logs"
cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer none
targets=${*:-$(cargo fuzz list --fuzz-dir "$fuzz_dir")}
bin="$fuzz_dir/target/$(rustc -vV | sed -n 's/^host: //p')/release"
for target in $targets; do
  mkdir -p "$fuzz_dir/corpus/$target" "$fuzz_dir/artifacts/$target"
done
printf '%s\n' $targets | xargs -P "$jobs" -I{} sh -c \
  "timeout $((seconds + 60)) '$bin/{}' -artifact_prefix='$fuzz_dir/artifacts/{}/' \
     -max_total_time=$seconds -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
     '$fuzz_dir/corpus/{}' > '$fuzz_dir/logs/{}.log' 2>&1; echo \"{} exit \$?\""
