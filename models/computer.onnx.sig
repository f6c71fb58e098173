{
  "card": "computer.md",
  "card_sha256": "e1d69d5a39c82c94134f61a25f5d6f86907d3fa178ae6b752aeb52d20c8850dc",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "ZYFO7gGgU80TVIi5pRLWOhu8JrD9HUzD/M6roYXY76opBPO88ruY5q8s8dF5zmxRU88pbGKSzTZl4Db5WzyhDw=="
}
