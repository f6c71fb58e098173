# The one command (real data, synthesis, three networks each trained with hard-negative mining, recorded music,
# tempo changes and the Debian speech, their export as one model, calibration, evaluation, card), as of the commit
# that shipped this file. It made this file, on synthesis cached but for 8 shards (stage times below):
nice -n 5 .venv/bin/python -m models.recipe.make --phrase computer --version 0.3.0 --out models/work/computer-030/computer.onnx
cp models/work/computer-030/computer.onnx models/computer.onnx
# The peer streams for this word (no peer ships a "computer" model, so wakegate alone), for 0.2.0 then this file:
nice -n 10 .venv/bin/python benchmarks/peers.py --wake-word computer --engines wakegate --json models/work/bench/peers-computer-020.json
nice -n 5 .venv/bin/python benchmarks/peers.py --wake-word computer --model models/work/computer-030/computer.onnx --allow-unsigned --engines wakegate --json models/work/bench/peers-computer-030.json
# This card and the signature (release key 3):
.venv/bin/python -m models.recipe.model_card --onnx models/computer.onnx --metrics models/work/computer-metrics.json --limitations models/recipe/cards/computer-limitations.md --commands models/recipe/cards/computer-commands.sh --peers models/work/bench/peers-computer.md
.venv/bin/wakegate models sign models/computer.onnx --key models/work/release-signing-key-3.pem
