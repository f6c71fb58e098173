{
  "card": "alexa.md",
  "card_sha256": "2ceb0b9620b7008f98b02fe09b2c26b9011ba4863b2781ff77e784c5366a5aa3",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "a2a13ddc2259409f7449cdfa4d70b2b36cf1b5d4793e69ea79c18c1a96e95e7f",
  "signature": "Bit3vtTiM7yGpba6T4AafusH2EaeDnAXVnmw825xmC0g74rwBE+PnLeUKck2FeAt0T+XUkDy3UV/WoQjF7hTAw=="
}
