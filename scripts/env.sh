# Shared environment for the project's scripts (sourced, not run).
export TINGJI_CACHE="${TINGJI_CACHE:-$HOME/.cache/tingji}"
# Build output lives outside the clone so fresh clones (CI) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TINGJI_CACHE/target}"
# Models and partial jobs of the scripts' runs (a user's run uses the OS data dir).
export TINGJI_DATA_DIR="${TINGJI_DATA_DIR:-$TINGJI_CACHE/data}"
export TINGJI_TESTDATA="${TINGJI_TESTDATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/testdata}"
export PATH="$TINGJI_CACHE/tools/bin:$HOME/.cargo/bin:$PATH"
export TINGJI_FW_PYTHON="${TINGJI_FW_PYTHON:-$TINGJI_CACHE/fw-venv/bin/python}"
export TINGJI_CT2_TINY="${TINGJI_CT2_TINY:-$TINGJI_CACHE/ct2/tiny.en}" TINGJI_CT2_BASE="${TINGJI_CT2_BASE:-$TINGJI_CACHE/ct2/base}"
export TINGJI_MEL_NPZ="${TINGJI_MEL_NPZ:-$TINGJI_CACHE/mel_filters.npz}"
# Chat GGUFs (see setup.sh): Qwen2.5-Coder 0.5B / 1.5B Instruct Q4_K_M, SmolLM2-135M-Instruct.
export TINGJI_GGUF_SMALL="${TINGJI_GGUF_SMALL:-$TINGJI_CACHE/gguf/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}"
export TINGJI_GGUF_BEST="${TINGJI_GGUF_BEST:-$TINGJI_CACHE/gguf/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}"
export TINGJI_GGUF_TINY="${TINGJI_GGUF_TINY:-$TINGJI_CACHE/gguf/smollm2-135m-instruct-q4_1.gguf}"
# llama.cpp's server (built once by setup.sh), the peer for notes tests and `tingji llm bench`.
export TINGJI_LLAMA_SERVER="${TINGJI_LLAMA_SERVER:-$TINGJI_CACHE/llama-server/llama-server-11434}"
# ONNX Runtime's shared library (speaker diarization), from the PyPI onnxruntime wheel (setup.sh).
export TINGJI_ONNXRUNTIME="${TINGJI_ONNXRUNTIME:-$TINGJI_CACHE/onnxruntime/libonnxruntime.so}"
