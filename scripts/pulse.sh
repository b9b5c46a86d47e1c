# A private PulseAudio server with virtual devices for the recording tests (sourced, not run).
#   sys_out  (null sink, 48 kHz stereo): "the speakers" — its monitor sys_out.monitor is system audio
#   mic_in   (null sink, 48 kHz mono):   play into it; virtual_mic (remap of its monitor) is "the mic"
#   soak_out (null sink, 48 kHz stereo): the 30-minute recording (scripts/soak-record) plays the
#            mic side's speech on the left, the system side's on the right; soak_left (remap
#            of its monitor's left channel) is the mic, soak_out.monitor the system side: two
#            sources on one clock
#   soak_mic (null sink, 44.1 kHz mono): soak_mic_src (remap of its monitor) is a mic on another
#            clock (in wall time it runs 200-300 ppm apart from the 48 kHz sinks)
#   burst_out (null sink, no keep-alive): renders in ~2 s bursts, for the sample-exact tests
# Works as root with no session bus. Idle null sinks deliver their first samples late, so each
# sink but burst_out is kept busy with silence, at a low latency (a null sink otherwise renders
# ~2 s bursts).
export XDG_RUNTIME_DIR="${TINGJI_PULSE_DIR:-${TINGJI_CACHE:-$HOME/.cache/tingji}/pulse}/run"
export XDG_CONFIG_HOME="${XDG_RUNTIME_DIR%/run}/config"
export PULSE_STATE_PATH="${XDG_RUNTIME_DIR%/run}/state"
export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse/native"
export PULSE_COOKIE="$XDG_CONFIG_HOME/pulse/cookie"
unset PULSE_RUNTIME_PATH
tingji_pulse_start() {
  mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/pulse" "$PULSE_STATE_PATH"
  chmod 700 "$XDG_RUNTIME_DIR"
  [ -f "$PULSE_COOKIE" ] || head -c 256 /dev/urandom >"$PULSE_COOKIE"
  if pactl info >/dev/null 2>&1; then
    return 0
  fi
  pulseaudio --daemonize=yes -n --exit-idle-time=-1 --disallow-exit=yes --log-target=file:"${XDG_RUNTIME_DIR%/run}/pulse.log" \
    -L "module-native-protocol-unix auth-anonymous=1" \
    -L "module-null-sink sink_name=sys_out rate=48000 channels=2" \
    -L "module-null-sink sink_name=mic_in rate=48000 channels=1" \
    -L "module-null-sink sink_name=soak_out rate=48000 channels=2" \
    -L "module-null-sink sink_name=soak_mic rate=44100 channels=1" \
    -L "module-null-sink sink_name=burst_out rate=48000 channels=2" \
    -L "module-remap-source master=mic_in.monitor source_name=virtual_mic channels=1" \
    -L "module-remap-source master=soak_mic.monitor source_name=soak_mic_src channels=1" \
    -L "module-remap-source master=soak_out.monitor source_name=soak_left channels=1 master_channel_map=front-left channel_map=mono" \
    -L module-always-sink
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  pactl info >/dev/null || { echo "PulseAudio did not start; see ${XDG_RUNTIME_DIR%/run}/pulse.log" >&2; return 1; }
  pactl set-default-sink sys_out
  pactl set-default-source virtual_mic
  for s in sys_out mic_in soak_out soak_mic; do
    (exec pacat --playback -d "$s" --latency-msec=20 --raw --format=s16le --rate=48000 --channels=1 </dev/zero >/dev/null 2>&1) &
  done
  sleep 2
}
