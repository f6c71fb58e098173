{
  "card": "alexa.md",
  "card_sha256": "6e0d85d044d82767914cf63fd2ac5575764d6f82ff4719e1208b5442d2a2ce15",
  "format": 1,
  "key_id": "373e3ee1c0f55bfd",
  "model": "alexa.onnx",
  "model_sha256": "26efd0b6c0823d6c309cd3892aa3c4348bdb2ff90e3a987da2d7458cd856d479",
  "signature": "frmmPxCbo7Dqd1z2wORLtSNsp5GQgo1VZaiqHLX/boKA017GSFD6GuN+nDFDTRKXDvnaw3x0ONmCOjLcf55wCA=="
}
