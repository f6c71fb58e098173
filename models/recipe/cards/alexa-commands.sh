# The one command (real data, synthesis, three networks each trained with hard-negative mining, recorded music,
# tempo changes and the Debian speech, their export as one model, calibration, evaluation, card), as of the commit
# that shipped this file:
nice -n 5 .venv/bin/python -m models.recipe.make --phrase "alexa" --version 0.5.0
# This file was made from that command's training stage run on its own once per network (the very calls make
# makes: seeds 1234, 1235, 1236, each as a one-network run with its seed; the first and third side by side, 36.8
# and 36.5 min, the second alone, 20.0 min), on the cached synthesis, then exported together (make does the same
# in one process; the whole command was not timed end to end):
for S in 1234 1235 1236; do nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.4.0 --out models/work/alexa-040-$S/alexa.onnx --metrics models/work/alexa-040-$S/alexa-metrics.json --epochs 20 --steps-per-epoch 160 --threads 1 --workers 1 --seed $S --recorded-music --tempo-changes --debian-speech; done
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --version 0.5.0 --out models/work/alexa-050/alexa.onnx --metrics models/work/alexa-050/alexa-metrics.json --epochs 20 --steps-per-epoch 160 --threads 1 --workers 1 --seed 1234 --recorded-music --tempo-changes --debian-speech --from-checkpoint models/work/alexa-040-1234/alexa.pt models/work/alexa-040-1235/alexa.pt models/work/alexa-040-1236/alexa.pt
cp models/work/alexa-050/alexa.onnx models/alexa.onnx
# The peer benchmark, all three engines in one run on the cached peer streams (each engine in its own process,
# one thread, one after another; models/work/bench/peers-alexa.md holds the command and the tables it printed):
nice -n 5 .venv/bin/python benchmarks/peers.py --model models/work/alexa-050/alexa.onnx --allow-unsigned --json models/work/bench/peers-alexa-050-all.json
# This card and the signature (release key 3):
.venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx --metrics models/work/alexa-050/alexa-metrics.json --limitations models/recipe/cards/alexa-limitations.md --commands models/recipe/cards/alexa-commands.sh --peers models/work/bench/peers-alexa.md
.venv/bin/wakegate models sign models/alexa.onnx --key models/work/release-signing-key-3.pem --new-key
