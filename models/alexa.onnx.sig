{
  "card": "alexa.md",
  "card_sha256": "6bafc2e5c1af9a3fdbec668f53a7e7b214b440ebf348e4e97faec84e3a00d835",
  "format": 1,
  "key_id": "d0199c1ca4b8933b",
  "model": "alexa.onnx",
  "model_sha256": "e2656b543c5b83d68fbe8fadb3ac256518d6482d20e8ba29e76e0ce32fd0686a",
  "signature": "v0IyxdDjFdEt49gJqjVTzxA7HTQ8ssAVJujNjQRIfyaWFlHlNHqBNhOHW6QJKOSxO0kKKv/lSY04sg8A9+vdBw=="
}
