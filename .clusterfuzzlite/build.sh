#!/bin/bash -eu
# Builds the cargo-fuzz targets in fuzz/ and installs them, with their seed corpora and
# dictionary, where ClusterFuzzLite / OSS-Fuzz expect them ($OUT).
cd "$SRC/sysnoise"
scripts/setup.sh                       # ONNX Runtime library for the differential target
cargo fuzz build -O --fuzz-dir fuzz
for target in differential loaders; do
  cp "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  (cd "fuzz/seeds/$target" && zip -q "$OUT/${target}_seed_corpus.zip" ./*)
  cp fuzz/dict/onnx.dict "$OUT/$target.dict"
done
