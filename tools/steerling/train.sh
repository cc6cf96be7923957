#!/usr/bin/env bash
# Regenerates steerling from scratch: prompts (built by steerbench itself), planted.json, training data,
# vocabulary, model, GGUF and manifest. Needs Debian's python3-torch and python3-sentencepiece
# (apt-get install python3-torch python3-sentencepiece). CI never runs this.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${STEERLING_PYTHON:-/usr/bin/python3}
PACK=${STEERBENCH_PACK:-../shared/data/instrumentaleval}
SEED=${STEERLING_SEED:-13}
BUILD=tools/steerling/build
OUT=models/steerling
mkdir -p "$BUILD" "$OUT"
npm run build >/dev/null
node tools/steerling/dump-prompts.mjs "$PACK" "$BUILD/prompts.json"
cd tools/steerling
"$PY" gen_data.py build/prompts.json build "../../$OUT/planted.json" --seed "$SEED" --epochs 10
rm -f build/train.log build/checkpoint-epoch*.gguf
"$PY" train.py build build --seed "$SEED" --d 128 --ff 384 --layers 4 --heads 2 --threads 2 \
  --prompts build/prompts.json --planted "../../$OUT/planted.json" --log build/train.log
cp build/steerling.gguf build/manifest.json "../../$OUT/"
echo "steerling: $OUT/steerling.gguf, $OUT/manifest.json, $OUT/planted.json"
