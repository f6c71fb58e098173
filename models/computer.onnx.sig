{
  "card": "computer.md",
  "card_sha256": "79ca61669b90f5a329420640f25f144d47fc7551e117018b2664099a4ef3b29c",
  "format": 1,
  "key_id": "29820658dbd93c2d",
  "model": "computer.onnx",
  "model_sha256": "7fbe10e8201e873937d8db06bb1c46021096a25fb6cb77e4a8de18ef26065a0c",
  "signature": "VRxcb7Zq7wCKKp2tGxDFjpC7E3qoZVz/ASCc2+gIKKA452Na6bZa4VzyrpjFxZmDYmNPm6lHo9nitOenDBtUAA=="
}
