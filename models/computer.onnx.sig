{
  "card": "computer.md",
  "card_sha256": "bb1a067aefa1dbe4f18176e4aa4950d5de94c8e63df8e2cb648975d3ca380d92",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "8957655446c892eb5763c552e6c085f2ce9ab23e8f87e0b3d31f361c4ea63438",
  "signature": "BezBDBt2FVqlKwaG9KmumSR3xTmFjDWN2SEw8O+8hU6foaS8H+7UxonN1dWM+Z9Qv/otrOYmMZNy/XFjkK3UCA=="
}
