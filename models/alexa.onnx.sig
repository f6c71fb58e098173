{
  "card": "alexa.md",
  "card_sha256": "93a610238da07fc01cf73dd9d1c4dc9cedddb39485a0c815d2cc58bc732764ca",
  "format": 1,
  "key_id": "d0199c1ca4b8933b",
  "model": "alexa.onnx",
  "model_sha256": "e2656b543c5b83d68fbe8fadb3ac256518d6482d20e8ba29e76e0ce32fd0686a",
  "signature": "dn6ln4vtnAX0GalHgAGHtb4nqeK9SjZ7Gh8Rgcvu8AfEZoHulhdbd2clo8YScbis09MkOlYvEed0KYlMqX1UDw=="
}
