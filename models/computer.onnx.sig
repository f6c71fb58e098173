{
  "card": "computer.md",
  "card_sha256": "2cf787f8381db9d5f713c28bc23448898cf0e1061b19a129a4cf35b9a86e26c5",
  "format": 1,
  "key_id": "d0199c1ca4b8933b",
  "model": "computer.onnx",
  "model_sha256": "8957655446c892eb5763c552e6c085f2ce9ab23e8f87e0b3d31f361c4ea63438",
  "signature": "rWThoDwoc9+73OqzGb7Eas6Alni4Rhv79YWvQKmDMZh7QMjNWZx6NSpquwOyu7s0PCRsWjkFjnGtJQAn61jlBA=="
}
