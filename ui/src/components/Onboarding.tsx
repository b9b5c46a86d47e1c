import { useState } from "react";
import { useApp } from "../context";
import { I18nProvider, normalizeLang, translate, type Lang } from "../i18n";
import { Modal } from "./ui";

/** First-run modal: what stays local, what would leave; pick the language; Start. */
export function Onboarding() {
  const { settings, saveSettings } = useApp();
  const [lang, setLang] = useState<Lang>(normalizeLang(settings.ui_language));
  const t = (k: Parameters<typeof translate>[1]) => translate(lang, k);
  return (
    <I18nProvider lang={lang}>
      <Modal
        title={t("onb.title")}
        testId="onboarding"
        footer={
          <button className="primary" data-testid="onboarding-start" onClick={() => void saveSettings({ ui_language: lang, onboarded: true })}>
            {t("onb.start")}
          </button>
        }
      >
        <p className="lead">{t("onb.intro")}</p>
        <div className="onb-row local">
          <span className="onb-icon" aria-hidden>
            ⌂
          </span>
          <p>{t("onb.local")}</p>
        </div>
        <div className="onb-row cloud">
          <span className="onb-icon" aria-hidden>
            ☁
          </span>
          <p>{t("onb.cloud")}</p>
        </div>
        <label className="field inline">
          <span className="field-label">{t("onb.language")}</span>
          <select data-testid="onboarding-lang" value={lang} onChange={(e) => setLang(normalizeLang(e.target.value))}>
            <option value="zh">中文</option>
            <option value="en">English</option>
          </select>
        </label>
      </Modal>
    </I18nProvider>
  );
}
