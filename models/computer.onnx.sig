{
  "card": "computer.md",
  "card_sha256": "26b27a58cea7d0725555ec46642f44f91959c4b1da233ac981f3c83c9baad17d",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "34r4zffXu2x/0fbEo20MynbfE48//AK68mBwyOR3KMolbX9S3qAEJ2p43Iwk5jJdgJbKfgAfdxrgFjC2ErEbDw=="
}
