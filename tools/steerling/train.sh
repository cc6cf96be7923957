#!/usr/bin/env bash
# Regenerates steerling from scratch: prompts (built by steerbench itself), planted.json, training data,
# vocabulary, model, GGUF and manifest. Needs Debian's python3-torch and python3-sentencepiece
# (apt-get install python3-torch python3-sentencepiece). CI never runs this. About 13 minutes on 2 idle cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${STEERLING_PYTHON:-/usr/bin/python3}
PACK=${STEERBENCH_PACK:-../shared/data/instrumentaleval}
SEED=${STEERLING_SEED:-13}
# The committed recipe (issue 13; docs/steerling-design.md, design G6, where each choice was measured):
# phase 1 trains the whole model on every epoch of generated data (EPOCHS, then the judge-only one), with
# residual dropout, a floor under every token's norm (--embed-scale) and weight decay on the blocks, so that
# a steering vector at the middle layers is a small share of a token's hidden state, as in real models;
# phase 2 trains the last block on cached features of the last epochs, where the per-scenario labels are
# memorised. STEERLING_PHASE2=0 stops after phase 1. The designs before G6 were run with this script as it
# was at commit cda110d (git show cda110d:tools/steerling/train.sh).
EPOCHS=${STEERLING_EPOCHS:-20}
DROPOUT=${STEERLING_DROPOUT:-0.1}
EMBED_SCALE=${STEERLING_EMBED_SCALE:-64}
WEIGHT_DECAY=${STEERLING_WEIGHT_DECAY:-1.0}
PHASE2=${STEERLING_PHASE2:-1}
FINETUNE_FROM=${STEERLING_FINETUNE_FROM:-$((EPOCHS - 2))}
PREAMBLE=${STEERLING_PREAMBLE:-}
read -r -a EXTRA <<< "${STEERLING_TRAIN_ARGS:-}"
BUILD=tools/steerling/build
OUT=models/steerling
mkdir -p "$BUILD" "$OUT"
npm run build >/dev/null
node tools/steerling/dump-prompts.mjs "$PACK" "$BUILD/prompts.json"
cd tools/steerling
"$PY" gen_data.py build/prompts.json build "../../$OUT/planted.json" --seed "$SEED" --epochs "$EPOCHS" \
  --preamble "$PREAMBLE"
rm -rf build/base && mkdir -p build/base
"$PY" train.py build build/base --seed "$SEED" --d 128 --ff 384 --layers 4 --heads 2 --threads 2 \
  --dropout "$DROPOUT" --embed-scale "$EMBED_SCALE" --weight-decay "$WEIGHT_DECAY" --preamble "$PREAMBLE" \
  --prompts build/prompts.json --planted "../../$OUT/planted.json" --log build/base/train.log "${EXTRA[@]}"
if [ "$PHASE2" = 1 ]; then
  "$PY" finetune.py build build/base build --seed "$SEED" --threads 2 --from-epoch "$FINETUNE_FROM" --dropout 0 \
    --prompts build/prompts.json --planted "../../$OUT/planted.json" --log build/finetune.log
else
  cp build/base/steerling.gguf build/base/manifest.json build/
fi
"$PY" token_check.py build build/base "../../$OUT/token-check.json"
cp build/steerling.gguf build/manifest.json "../../$OUT/"
echo "steerling: $OUT/steerling.gguf, $OUT/manifest.json, $OUT/planted.json"
