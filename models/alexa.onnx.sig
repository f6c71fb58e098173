{
  "card": "alexa.md",
  "card_sha256": "df3c6a802e16da8aa85fc585a8c8a684f7ed100e6f95a54dd9b0425ff358e971",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "e2656b543c5b83d68fbe8fadb3ac256518d6482d20e8ba29e76e0ce32fd0686a",
  "signature": "m/REW3qCg5CTtaGvXMXnFgQOZbwcWuVMjHG4orDyoPS2l7Wni6BKps6mzUYMuZXZDn9dWaQw7TNXv1/O9sIyDQ=="
}
