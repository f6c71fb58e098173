{
  "card": "computer.md",
  "card_sha256": "79ca61669b90f5a329420640f25f144d47fc7551e117018b2664099a4ef3b29c",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "kq98CdQXSrbZ3qiemGVK744g9f0oYikml4MuRsbvh5i1sij6lNWJDpckHxs5p5/dFpJlN7mExsXLt7o7qTXECw=="
}
