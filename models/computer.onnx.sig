{
  "card": "computer.md",
  "card_sha256": "1dec825bd7ae09e99fb052ba9def10cab4c8daba0233bfd215db086944c1a036",
  "format": 1,
  "key_id": "29820658dbd93c2d",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "j+UpXuPJ7APdn04b2NZxqyF9CoRtw7TgaIp29z7gwqE/SExAmAJPvcCZ9JUs4Hh+EM5tSGF8/GrYgUOW9yCmBA=="
}
