# The one command (real data, synthesis, training with hard-negative mining, recorded music, tempo changes and the Debian
# speech, calibration, evaluation, card), as of the commit that shipped this file:
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "alexa" --version 0.4.0
# This file was made by that command's training stage alone (the very call make makes, default seed), on the cached
# synthesis, with the peer benchmark's openWakeWord run beside it (45.7 min). The whole command, from scratch in a fresh
# clone of a8ebb52, took 73.3 min and wrote this file bit for bit (models/recipe/README.md says how it was timed).
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.4.0 --out models/work/alexa-debian-1234/alexa.onnx --metrics models/work/alexa-debian-1234/alexa-metrics.json --epochs 20 --steps-per-epoch 160 --threads 1 --workers 1 --seed 1234 --recorded-music --tempo-changes --debian-speech
cp models/work/alexa-debian-1234/alexa.onnx models/alexa.onnx
# The peer streams with the Debian dev speech (built once, cached), measured in two runs on the same cached streams:
# the peers (while the training above ran), then this file beside microWakeWord again for the CPU ratio (same run):
nice -n 5 .venv/bin/python benchmarks/peers.py --engines openwakeword,microwakeword --json models/work/bench/peers-alexa-debian-peers.json
nice -n 5 .venv/bin/python benchmarks/peers.py --engines wakegate,microwakeword --json models/work/bench/peers-alexa-040.json
# 0.3.0 on the same streams, for the comparison in the limitations (run while models/alexa.onnx was still 0.3.0,
# sha256 a2a13ddc2259…, so without --model; its saved copy is models/work/alexa-tempo-1234/alexa.onnx):
nice -n 5 .venv/bin/python benchmarks/peers.py --engines wakegate --json models/work/bench/peers-alexa-030-debian.json
# This card (models/work/bench/peers-alexa.md holds the peer commands and the tables they printed) and the signature:
.venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx --metrics models/work/alexa-debian-1234/alexa-metrics.json --limitations models/recipe/cards/alexa-limitations.md --commands models/recipe/cards/alexa-commands.sh --peers models/work/bench/peers-alexa.md
.venv/bin/wakegate models sign models/alexa.onnx --key models/work/release-signing-key-2.pem
