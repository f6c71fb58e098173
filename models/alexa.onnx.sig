{
  "card": "alexa.md",
  "card_sha256": "f0f6a219612240e9ef42c9a325661fd3862604eeb6397aee0a07e455d988fe15",
  "format": 1,
  "key_id": "29820658dbd93c2d",
  "model": "alexa.onnx",
  "model_sha256": "b296ae085d848213b67c1997e2d2c091b9d7040fc499af8e0df17fc16e0342c4",
  "signature": "TMClK/zmSI+XGcQV+VrLseCRWt6+H/jVs5kKNJvPzKeeupSF5nn7csNd025EKx3IZ3a3wNQmaiB1+dExs3U6BA=="
}
