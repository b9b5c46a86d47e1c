import { createContext, useCallback, useContext, type ReactNode } from "react";
import { en, enOne, type MessageKey } from "./en";
import { zh } from "./zh";

export type Lang = "zh" | "en";
export type { MessageKey };
export const dictionaries: Record<Lang, Record<MessageKey, string>> = { zh, en };

export function normalizeLang(value: string | null | undefined): Lang {
  return value === "en" ? "en" : "zh";
}

/** Looks `key` up in `lang` and fills `{name}` placeholders. */
export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  const one = lang === "en" && vars?.count === 1 ? enOne[key] : undefined;
  const text = one ?? dictionaries[lang][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export type TFunction = (key: MessageKey, vars?: Record<string, string | number>) => string;

const LangContext = createContext<Lang>("zh");

export function I18nProvider({ lang, children }: { lang: Lang; children: ReactNode }) {
  return <LangContext.Provider value={lang}>{children}</LangContext.Provider>;
}

export function useLang(): Lang {
  return useContext(LangContext);
}

/** The `t()` hook: `const t = useT(); t("nav.library")`. */
export function useT(): TFunction {
  const lang = useContext(LangContext);
  return useCallback((key, vars) => translate(lang, key, vars), [lang]);
}

/** Translates a key that is only known at runtime (e.g. a note kind), falling back to the raw text. */
export function tryKey(t: TFunction, key: string, fallback: string): string {
  return key in en ? t(key as MessageKey) : fallback;
}
