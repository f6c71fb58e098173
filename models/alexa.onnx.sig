{
  "card": "alexa.md",
  "card_sha256": "be09033c1f01e39ebcbd5191e90866e20c16b6929c7ea3de53c42924cfbfa02f",
  "format": 1,
  "key_id": "29820658dbd93c2d",
  "model": "alexa.onnx",
  "model_sha256": "b296ae085d848213b67c1997e2d2c091b9d7040fc499af8e0df17fc16e0342c4",
  "signature": "YKaiOUBOfKV7rnIRuIBj+uaDLcMhyxzu44ptjpt6myV/mcRRV4emmL5QNjgljLLT5DMibalwk9SlsKttU1/ECQ=="
}
