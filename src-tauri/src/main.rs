// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    // Packaging check: prints where the speaker-diarization runtime (ONNX Runtime) is found.
    if first.as_deref() == Some("--speakers-runtime") {
        match tingji_workflow::speakers::runtime() {
            Ok(p) => println!("{}", p.display()),
            Err(e) => {
                eprintln!("tingji-app: error[{}]: {e}", e.code());
                std::process::exit(1);
            }
        }
        return;
    }
    if first.as_deref() == Some("--write-bindings") {
        let out = args.next().unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts").into());
        if let Err(e) = tingji_app::write_bindings(std::path::Path::new(&out)) {
            eprintln!("tingji-app: error[io]: writing {out}: {e}");
            std::process::exit(1);
        }
        eprintln!("wrote {out}");
        return;
    }
    tingji_app::run();
}
