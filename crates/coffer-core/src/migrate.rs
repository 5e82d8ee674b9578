//! Moving AWS profiles out of plaintext files (`coffer migrate aws`).
