{
  "card": "computer.md",
  "card_sha256": "68947e1dc693b6d7a929f077868646fdf3ca679fa5b5b7b5231eebe7063143a0",
  "format": 1,
  "key_id": "29820658dbd93c2d",
  "model": "computer.onnx",
  "model_sha256": "2eeddd6909c88321abfa152afb4bf0e46318c2ac78d2491d8c5a691d5947abba",
  "signature": "4eaARmTlxO0JtuWLD/EgYAUHkUWvLEHk8quRBkz5A+J+9LbvQ4+4t7TtR85k3dW6diTwjQhiut4A+v2hpZozCQ=="
}
