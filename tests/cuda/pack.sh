#!/usr/bin/env bash
# Prepares .gpu/ for a GPU machine that has no network and none of our Debian
# libraries (docs/performance.md): the CUDA-flavour tools, the parity and bench
# programs, and the runtime .deb files tests/cuda/run.sh unpacks there.
#   tests/cuda/pack.sh            then, on the GPU machine:  tests/cuda/run.sh
# .gpu/ is git-ignored: with the device tool, run(command="bash tests/cuda/run.sh", carry=[".gpu"]).
set -euo pipefail
cd "$(dirname "$0")/../.."
make --no-print-directory -s CUDA=1 BUILD=build/cuda BINDIR=build/cuda/bin -j"$(nproc)" cuda-tests
G=.gpu
rm -rf "$G"; mkdir -p "$G/bin" "$G/debs"
cp build/cuda/bin/* build/cuda/cuda-tests/* build/cuda/bench/* "$G/bin/"
# Runtime libraries of the tools (ldd bin/*), by Debian package.
(cd "$G/debs" && apt-get download -qq libjansson4 libyaml-0-2 libpng16-16 libfreetype6 libbrotli1 \
    libopenblas0-openmp libgfortran5 libquadmath0 libgomp1 libssl3 zlib1g >/dev/null)
echo "pack: $(du -sh "$G" | cut -f1) in $G ($(ls "$G/bin" | wc -l) programs, $(ls "$G/debs" | wc -l) packages)"
