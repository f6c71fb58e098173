{
  "card": "alexa.md",
  "card_sha256": "6f88a59f5393637ba9084c857998a154cad71f69dc8ade747e150cd04d2c7c2b",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "a2a13ddc2259409f7449cdfa4d70b2b36cf1b5d4793e69ea79c18c1a96e95e7f",
  "signature": "P+wYthie6No40K/EHrDoEmjjLADx+P1iiKfN2u99vYoMygh97qVg6nGdqsHULrhpXeLueuUfb3zd+QRQy0xQBg=="
}
