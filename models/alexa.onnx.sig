{
  "card": "alexa.md",
  "card_sha256": "998a52012e7b1257f92c5eb3c7c92b37060ecb813e02d37d9f96a19b734ca892",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "a2a13ddc2259409f7449cdfa4d70b2b36cf1b5d4793e69ea79c18c1a96e95e7f",
  "signature": "yW3CD2PD3MwtcG81PIZMKSwSrP7hRF0lY2H/nhDa3e6wFPJUmGCKV11P+U+jJcvEBUY0irBIoC4awSuo2hcKCw=="
}
