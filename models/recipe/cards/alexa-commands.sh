# The one command (real data, synthesis, training with hard-negative mining, calibration, evaluation, card), as of commit 95848c6.
# Run in a fresh clone of that commit with no caches, it rebuilt this file bit for bit (same sha256); its metrics JSON is the one below.
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "alexa" --version 0.2.0
# make's defaults have changed since (20 epochs, recorded music: models/recipe/README.md); the same call today (not rerun since):
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "alexa" --version 0.2.0 --epochs 15 --no-recorded-music
# The file was first made by that command's training stage alone, on a cached synthesis, and measured beside the peers there:
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.2.0 --out models/work/alexa-hnm2-1234/alexa.onnx --metrics models/work/alexa-hnm2-1234/alexa-metrics.json --epochs 15 --steps-per-epoch 160 --threads 1 --workers 1 --seed 1234
.venv/bin/python benchmarks/peers.py --model models/work/alexa-hnm2-1234/alexa.onnx --allow-unsigned --json models/work/bench/peers-alexa-020-full.json
# This card (models/work/bench/peers-alexa.md holds the peer command and the tables it printed) and the signature:
.venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx --limitations models/recipe/cards/alexa-limitations.md --commands models/recipe/cards/alexa-commands.sh --peers models/work/bench/peers-alexa.md
.venv/bin/wakegate models sign models/alexa.onnx --key models/work/release-signing-key-2.pem  # key 1 signed it first; its private half was lost
