{
  "card": "computer.md",
  "card_sha256": "db1507b94e53c51b44fa186dabf1e2d17657abe702db651e7d545a95bced69a3",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "8957655446c892eb5763c552e6c085f2ce9ab23e8f87e0b3d31f361c4ea63438",
  "signature": "koQZRE7K6fQOmtEV5umXZ+HJOFeZdjX4SETlOVFoVk8JxGNwCnLc/cuHDZLZQthVLTwqYhVz4lWtd5wXxyzNDg=="
}
