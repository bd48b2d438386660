"""convert: merged HF model -> GGUF (llama family), llama.cpp quantization, verification."""
