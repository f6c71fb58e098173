# The one command (real data, synthesis, training with hard-negative mining, recorded music and tempo changes, calibration, evaluation, card), as of the commit that shipped this file:
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "computer" --version 0.2.0
# This file was made by that command's training stage alone (the very call make makes, default seed), on the cached synthesis:
nice -n 5 .venv/bin/python -m models.recipe.train --phrase computer --version 0.2.0 --out models/work/computer-tempo-1234/computer.onnx --metrics models/work/computer-tempo-1234/computer-metrics.json --epochs 20 --steps-per-epoch 160 --threads 1 --workers 1 --seed 1234 --recorded-music --tempo-changes
# It ran before the evaluation had its phone-line rows; this re-export of the saved weights wrote the same file (same sha256) and the
# same metrics plus those rows, which were copied into the metrics JSON (recall_phone_line, recall_real_phone_line, sweep):
nice -n 5 .venv/bin/python -m models.recipe.train --phrase computer --version 0.2.0 --out /tmp/remeasure/computer.onnx --metrics /tmp/remeasure/computer-metrics.json --threads 1 --workers 1 --seed 1234 --recorded-music --tempo-changes --from-checkpoint models/work/computer-tempo-1234/computer.pt
cp models/work/computer-tempo-1234/computer.onnx models/computer.onnx
# The peer streams for this word (no peer ships a "computer" model, so wakegate alone):
nice -n 5 .venv/bin/python benchmarks/peers.py --wake-word computer --model models/work/computer-tempo-1234/computer.onnx --allow-unsigned --engines wakegate --json models/work/bench/peers-computer-tempo-1234.json
# This card and the signature:
.venv/bin/python -m models.recipe.model_card --onnx models/computer.onnx --metrics models/work/computer-tempo-1234/computer-metrics.json --limitations models/recipe/cards/computer-limitations.md --commands models/recipe/cards/computer-commands.sh
.venv/bin/wakegate models sign models/computer.onnx --key models/work/release-signing-key-2.pem
# Re-signed with release key 3 at alexa 0.5.0 (key 2's private half was lost; the model is unchanged):
.venv/bin/wakegate models sign models/computer.onnx --key models/work/release-signing-key-3.pem
