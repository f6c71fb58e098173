# The one command (real data, synthesis, training with hard-negative mining, calibration, evaluation, card):
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "alexa" --version 0.2.0
# This file came from the training stage of that command, run on its own on the cached synthesis (same
# arguments, seed 1234; 48 min beside a second training), then copied; its metrics JSON is the one below
# (plus the keys simulated_rooms: 300 and vocal_tract_shift: true, which that run had and did not yet record):
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.2.0 --out models/work/alexa-hnm2-1234/alexa.onnx --metrics models/work/alexa-hnm2-1234/alexa-metrics.json --epochs 15 --steps-per-epoch 160 --threads 1 --workers 1 --seed 1234
cp models/work/alexa-hnm2-1234/alexa.onnx models/alexa.onnx
# Peer comparison (models/work/bench/peers-alexa.md holds this command and the tables it printed):
.venv/bin/python benchmarks/peers.py --model models/work/alexa-hnm2-1234/alexa.onnx --allow-unsigned --json models/work/bench/peers-alexa-020-full.json
.venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx --limitations models/recipe/cards/alexa-limitations.md --commands models/recipe/cards/alexa-commands.sh --peers models/work/bench/peers-alexa.md
.venv/bin/wakegate models sign models/alexa.onnx --key models/work/release-signing-key-1.pem
