# The one command (real data, synthesis, training with hard-negative mining and tempo changes, calibration, evaluation, card), as of the commit that shipped this file:
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "alexa" --version 0.3.0
# This file was made by that command's training stage alone, on the cached synthesis, and measured beside the peers there.
# make's training stage is this very call (shown bit for bit for the 20-epoch run at commit 6e49981).
# The whole command, rerun later from scratch in a fresh clone of commit d2ebbf1 (no caches at all), wrote this very file
# (same sha256) in 69.2 min on this 2-core machine: real data 0.7, synthesis 30.1, training and evaluation 38.4 min, beside
# two other training runs at nice 15 (models/work/make-fresh-030 keeps its log and metrics).
# It ran before train had --tempo-changes (the same code, on by hand; the first training batches of seed 1234 are identical both ways),
# so its metrics JSON got `tempo_change` and `args.tempo_changes` added afterwards.
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.3.0 --out models/work/alexa-tempo-1234/alexa.onnx --metrics models/work/alexa-tempo-1234/alexa-metrics.json --epochs 20 --steps-per-epoch 160 --threads 1 --workers 1 --seed 1234 --recorded-music --tempo-changes
# The evaluation's phone-line row came later: this re-export of the saved weights wrote the same file (same sha256) and the same
# metrics plus recall_phone_line (and the sweep's column), which were copied into the metrics JSON:
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.3.0 --out /tmp/remeasure-alexa/alexa.onnx --metrics /tmp/remeasure-alexa/alexa-metrics.json --threads 1 --workers 1 --seed 1234 --recorded-music --tempo-changes --from-checkpoint models/work/alexa-tempo-1234/alexa.pt
.venv/bin/python benchmarks/peers.py --model models/work/alexa-tempo-1234/alexa.onnx --allow-unsigned --json models/work/bench/peers-alexa-030-full.json
# This card (models/work/bench/peers-alexa.md holds the peer command and the tables it printed) and the signature:
.venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx --limitations models/recipe/cards/alexa-limitations.md --commands models/recipe/cards/alexa-commands.sh --peers models/work/bench/peers-alexa.md
.venv/bin/wakegate models sign models/alexa.onnx --key models/work/release-signing-key-2.pem
