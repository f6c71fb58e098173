{
  "card": "computer.md",
  "card_sha256": "76b5be11d762e969a0c3a9881b19e7a931f339a017768f266b24fe60c931b2cd",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "ubNMXC4EP5DyyLQUI6wFQBj30aHB0TD7gQrYQvHv6phF+gVdLi7k8kmvBeD8GLz/0acDGBMa2ktNR8j/DI0eBg=="
}
