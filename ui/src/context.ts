import { createContext, useContext } from "react";
import type { AppInfo, Settings } from "./bindings";

export type Route =
  | { screen: "library" }
  | { screen: "import" }
  | { screen: "record" }
  | { screen: "settings" }
  | { screen: "meeting"; id: number; seekMs: number | null; nonce: number };

export type AppCtx = {
  info: AppInfo;
  settings: Settings;
  /** Saves a change to the settings through the backend and applies it; changes apply in call order. */
  saveSettings: (patch: Partial<Settings>) => Promise<boolean>;
  refreshInfo: () => Promise<void>;
  navigate: (r: Route) => void;
  openMeeting: (id: number, seekMs?: number | null) => void;
  importPaths: (paths: string[]) => void;
  /** Goes up whenever a job adds or changes a meeting (the library list reloads on it). */
  libraryRev: number;
};

export const AppContext = createContext<AppCtx | null>(null);

export function useApp(): AppCtx {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error("AppContext missing");
  return ctx;
}
