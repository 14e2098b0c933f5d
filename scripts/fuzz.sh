#!/usr/bin/env bash
# Builds the two libFuzzer targets (swiftc -sanitize=fuzzer,address over the library's sources)
# and runs each for SECONDS (default 300), seeded with cfg/, Darknet's cfgs and a catalogue of
# damaged weights files. Reports executions, coverage, crashes and hangs; exits 1 on any finding.
# Usage: scripts/fuzz.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
out=.build/fuzz
mkdir -p "$out"
flags=($(pkg-config --cflags-only-I openblas libpng | sed 's/-I/-Xcc -I/g') $(pkg-config --libs openblas libturbojpeg libpng))
sources=$(find Sources/Darknet -name '*.swift' | sort)
# The library's C files (CPUID, the direct convolution kernel), compiled on their own and linked in.
clang -c -O1 -I Sources/CCPUID/include Sources/CCPUID/x86_cpuid.c -o "$out/x86_cpuid.o" || exit 1
clang -c -O1 -I Sources/CDirectConvolution/include Sources/CDirectConvolution/direct_convolution.c -o "$out/direct_convolution.o" || exit 1
for target in cfg weights; do
    entry=Tests/Fuzz/Fuzz$( [ $target = cfg ] && echo Cfg || echo Weights ).swift
    swiftc -sanitize=fuzzer,address -parse-as-library -module-name Darknet -g \
        -I Sources/COpenBLAS -I Sources/CTurboJPEG -I Sources/CPNG -I Sources/CLinux -I Sources/CCPUID/include \
        -I Sources/CDirectConvolution/include "${flags[@]}" \
        $sources "$entry" "$out/x86_cpuid.o" "$out/direct_convolution.o" -o "$out/fuzz-$target" 2>&1 | grep -v "Cannot export local symbol" | grep -E "error" && exit 1
done

# Seed corpora: every cfg we have; for weights, a valid file and damaged versions of it.
rm -rf "$out/corpus-cfg" "$out/corpus-weights" "$out/findings-cfg" "$out/findings-weights"
mkdir -p "$out/corpus-cfg" "$out/corpus-weights" "$out/findings-cfg" "$out/findings-weights"
cp cfg/*.cfg "$out/corpus-cfg/"
cp /usr/share/darknet/cfg/*.cfg "$out/corpus-cfg/" 2>/dev/null || true
# The valid seed comes from `init` on the cfg embedded in the weights target.
python3 -c "
s = open('Tests/Fuzz/FuzzWeights.swift').read()
print('\n'.join(l.strip() for l in s[s.index('\"\"\"') + 3:s.rindex('\"\"\"')].splitlines()))" > "$out/fuzz-weights.cfg"
.build/release/swift-darknet init "$out/fuzz-weights.cfg" "$out/corpus-weights/valid" || exit 1
python3 - "$out/corpus-weights" <<'PY'
import os, struct, sys
out = sys.argv[1]
valid = open(os.path.join(out, "valid"), "rb").read()
header, body = valid[:20], valid[20:]
files = {
    "v01": struct.pack("<iiiI", 0, 1, 0, 7) + body,
    "empty": b"",
    "short-header": header[:10],
    "header-only": header,
    "truncated": header + body[: len(body) // 2],
    "mid-float": valid[:-2],
    "trailing": valid + b"\0\0\0\0",
    "absurd": struct.pack("<iiiQ", 2**31 - 1, 0, 0, 0) + body,
    "transposed": struct.pack("<iiiI", 1001, 0, 0, 0) + body,
    "nan": header + b"\xff\xff\xff\x7f" * (len(body) // 4),
}
for name, data in files.items():
    open(os.path.join(out, name), "wb").write(data)
PY

# The weights target's definition lives as long as the process, but LeakSanitizer reports its
# res2net and triangle arrays at exit: Swift keeps enum tags in spare bits of the pointers that
# hold them, which LeakSanitizer does not recognise. Allocations made anywhere else still count.
echo "leak:fuzzDefinition" > "$out/lsan.supp"
export LSAN_OPTIONS="suppressions=$PWD/$out/lsan.supp"
status=0
for target in cfg weights; do
    log="$out/fuzz-$target.log"
    (cd "$out/findings-$target" && "../fuzz-$target" "../corpus-$target" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=3) > "$log" 2>&1
    executions=$(grep -o "stat::number_of_executed_units: [0-9]*" "$log" | grep -o "[0-9]*$")
    coverage=$(grep -o "cov: [0-9]*" "$log" | tail -1 | grep -o "[0-9]*$")
    crashes=$(ls "$out/findings-$target" | grep -c -E "^(crash|leak|oom)-")
    hangs=$(ls "$out/findings-$target" | grep -c "^timeout-")
    echo "fuzz-$target: ${seconds}s, ${executions:-0} executions, coverage ${coverage:-0} edges, crashes $crashes, hangs $hangs"
    if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ] || [ -z "$executions" ]; then
        status=1
        ls "$out/findings-$target"
        grep -E "ERROR|Fatal|SUMMARY" "$log" | head -5
    fi
done
echo "fuzz: $([ $status = 0 ] && echo "2 passed, 0 failed" || echo "0 passed, 2 failed")"
exit $status
