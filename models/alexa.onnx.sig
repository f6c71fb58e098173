{
  "card": "alexa.md",
  "card_sha256": "e29a0d523808d4bec73c5639c9099b23908551748de6c3fcd34514b1dd570299",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "26efd0b6c0823d6c309cd3892aa3c4348bdb2ff90e3a987da2d7458cd856d479",
  "signature": "ZQE7lBPHT5697I4oEurOvZe32jtUsj65+Y6HO/5GwIQxmKze6xF9hAPGvlxQ1ONq/lkyPqeioI+zcek5yMnfBw=="
}
