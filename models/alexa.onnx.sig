{
  "card": "alexa.md",
  "card_sha256": "30161936b5396a8e11969b490163d089cdaffa5467c4b7996a9a5f6c0d12cac8",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "26efd0b6c0823d6c309cd3892aa3c4348bdb2ff90e3a987da2d7458cd856d479",
  "signature": "Hk1RcgAs3ArEHOWhchusRdCnsn0swt2J6WMSq0ckg0mFWUswNKzbUkjgVoFiMjP+o+VNN32mBmx4rcV+sCtLCA=="
}
