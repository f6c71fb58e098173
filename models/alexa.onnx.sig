{
  "card": "alexa.md",
  "card_sha256": "ac8b47933397035541f5a6ea9efe03da331384b8ef11bde248453191638f03e5",
  "format": 1,
  "key_id": "d0199c1ca4b8933b",
  "model": "alexa.onnx",
  "model_sha256": "43bdda8cb451037d898ed6f6d7c60a118d08c6f43a6a50a1404c12f303630766",
  "signature": "GQvPrL69eaMVub0LWDCEPKGF71xrcGpYprsCjtYJEZjIT884uK+vufthet17gEJvhJOGxYWq1kCixYIyslTYBw=="
}
