import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles.css";

async function boot() {
  // The mock build (`vite build --mode mock`) installs Tauri's mockIPC with fixture data first.
  if (import.meta.env.MODE === "mock") {
    const { installMocks } = await import("./mock/install");
    installMocks();
  }
  const root = document.getElementById("root");
  if (root)
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
}

void boot();
