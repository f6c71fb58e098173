{
  "card": "computer.md",
  "card_sha256": "dbc2cefc1a1e1cb67a986268f6f0b6834a2d7b97a665702dca10d3b2c5873db4",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "dTNDyZR3RrYnnFjmN6k2MHI+WGJzn1kpmExGBND7VT89AJB7IxX+qo7v5U2lSfF5Rf08kZF3ZlFD7vnv2oR8Bw=="
}
