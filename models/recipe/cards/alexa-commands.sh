# Synthesis was stopped for time after 16 of 22 pos_train and 6 of 8 neg_train shards; --max-shards reproduces that.
nice -n 5 .venv/bin/python -m models.recipe.synthesize --phrase alexa --max-shards pos_train=16 --max-shards neg_train=6
# Main run (21 min on 2 shared cores), then a fine-tune from its weights with a fresh augmentation seed (8 min).
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --out models/alexa.onnx --epochs 10 --steps-per-epoch 160 --batch-size 64 --lr 3e-3 --threads 1 --workers 1 --seed 1234
cp models/work/alexa.pt models/work/alexa-main.pt
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --out models/alexa.onnx --init-checkpoint models/work/alexa-main.pt --epochs 5 --steps-per-epoch 160 --batch-size 64 --lr 1e-3 --threads 1 --workers 1 --seed 4321
# Re-measure only (same file, same threshold); this run's metrics JSON is the one below.
cp models/work/alexa.pt models/work/alexa-ft.pt
nice -n 5 .venv/bin/python -m models.recipe.train --phrase alexa --out models/alexa.onnx --from-checkpoint models/work/alexa-ft.pt --threads 2 --workers 0
.venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx --limitations models/recipe/cards/alexa-limitations.md --commands models/recipe/cards/alexa-commands.sh
