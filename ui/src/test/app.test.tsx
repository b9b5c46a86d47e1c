import { afterEach, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { App } from "../App";
import { toastStore } from "../lib/toast";

const settings = { ui_language: "en", theme: "dark", file_model: null, live_model: null, language: "auto", llm: { provider: "builtin", base_url: "", model: "", notes_language: "" }, onboarded: true };
const info = { version: "0.1.0", data_dir: "/d", library_dir: "/d/l", recordings_dir: "/d/r", first_run: false, whisper_models: [], llm_models: [], pending_recordings: [] };

afterEach(() => {
  clearMocks();
  toastStore.clear();
});

describe("App", () => {
  it("shows command errors to the user (code + message)", async () => {
    mockIPC((cmd) => {
      if (cmd === "app_info") return info;
      if (cmd === "get_settings") return settings;
      if (cmd === "list_meetings") throw { code: "db_locked", message: "the library is busy" };
      return null;
    });
    render(<App />);
    const toasts = await screen.findAllByTestId("toast-error");
    expect(toasts[0]?.textContent).toContain("db_locked");
    expect(toasts[0]?.textContent).toContain("the library is busy");
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(screen.getByTestId("nav-library").textContent).toBe("Library");
  });

  it("window.__tingji.importPaths queues files through importFiles", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "app_info") return info;
      if (cmd === "get_settings") return { ...settings, ui_language: "zh" };
      if (cmd === "list_meetings") return [];
      if (cmd === "list_voiceprints") return [];
      if (cmd === "import_files") {
        calls.push(args);
        return [{ job_id: 1, label: "a.m4a" }];
      }
      return null;
    });
    render(<App />);
    await screen.findByTestId("nav-library");
    expect(screen.getByTestId("nav-library").textContent).toBe("资料库");
    await act(async () => window.__tingji?.importPaths(["/x/a.m4a", "  "]));
    const items = await screen.findAllByTestId("queue-item");
    expect(items).toHaveLength(1);
    expect(calls).toHaveLength(1);
    expect((calls[0] as { paths: string[] }).paths).toEqual(["/x/a.m4a"]);
    fireEvent.click(screen.getByTestId("nav-settings"));
  });

  it("boot failure is shown", async () => {
    mockIPC((cmd) => {
      if (cmd === "app_info") throw { code: "io", message: "data dir not writable" };
      return settings;
    });
    render(<App />);
    expect((await screen.findByRole("alert")).textContent).toContain("data dir not writable");
  });
});
