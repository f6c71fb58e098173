{
  "card": "computer.md",
  "card_sha256": "13873f17b7b5c45caff8dfac1d762ca79d0f11d40d8b0b4bc12aa5ff8f979e6e",
  "format": 1,
  "key_id": "d0199c1ca4b8933b",
  "model": "computer.onnx",
  "model_sha256": "8957655446c892eb5763c552e6c085f2ce9ab23e8f87e0b3d31f361c4ea63438",
  "signature": "N31iLWb3S4OyIpbkL82gqYbpEDVSGH7uhmfctwlYcy4/7oNhC6dQZu8SEI6Ue5PmTNN0cXZ6wR/+5nxtaSF7CQ=="
}
