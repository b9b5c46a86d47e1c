import { test } from "node:test";
import assert from "node:assert/strict";
import { perLang, shots, STR, waitText } from "./harness.mjs";

test("settings: language switch, theme, models, provider, test connection", (t) =>
  perLang(t, "settings", {}, async (page, lang) => {
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("lang-select").waitFor();
    assert.equal(await page.getByTestId("data-dir").textContent(), "/home/user/.local/share/tingji");
    await page.getByTestId("catalog-item").first().waitFor();
    await shots(page, "settings", lang);

    // switch the language → every nav string changes
    const other = lang === "zh" ? "en" : "zh";
    await page.getByTestId("lang-select").selectOption(other);
    for (const k of ["library", "import", "record", "settings"]) await waitText(page, `[data-testid="nav-${k}"]`, (s) => s === STR[other][k]);
    await page.getByTestId("lang-select").selectOption(lang);
    await waitText(page, '[data-testid="nav-library"]', (s) => s === STR[lang].library);

    // theme dark applies (root attribute + dark background), then light
    await page.getByTestId("theme-select").selectOption("dark");
    await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    await page.waitForTimeout(300);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, "rgb(20, 22, 29)");
    await page.getByTestId("theme-select").selectOption("light");
    await page.waitForFunction(() => document.documentElement.dataset.theme === "light");
    const saved = await page.evaluate(() => window.__tingjiMock.state.settings.theme);
    assert.equal(saved, "light");

    // two changes in one go (language, then theme, before the first save returns): both stick
    await page.evaluate((l) => {
      const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set;
      for (const [id, v] of [["lang-select", l], ["theme-select", "dark"]]) {
        const s = document.querySelector(`[data-testid="${id}"]`);
        set.call(s, v);
        s.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }, other);
    await waitText(page, '[data-testid="nav-library"]', (s) => s === STR[other].library);
    await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    const both = await page.evaluate(() => window.__tingjiMock.state.settings);
    assert.deepEqual([both.ui_language, both.theme], [other, "dark"]);
    await page.getByTestId("lang-select").selectOption(lang);
    await page.getByTestId("theme-select").selectOption("light");
    await waitText(page, '[data-testid="nav-library"]', (s) => s === STR[lang].library);

    // download a model: progress → installed
    const tiny = page.getByTestId("catalog-item").filter({ has: page.locator(".model-name", { hasText: /^tiny$/ }) });
    await tiny.getByTestId("catalog-download").click();
    await tiny.locator('[role="progressbar"]').waitFor();
    await tiny.locator(".chip.ok").waitFor({ timeout: 8000 });
    await page.getByTestId("installed-models").filter({ hasText: "tiny" }).waitFor();

    // the speaker models: not installed → download with progress → installed
    const sm = page.getByTestId("speaker-models").getByTestId("catalog-item");
    assert.equal(await sm.locator(".model-name").textContent(), "segmentation-3.0 + CAM++");
    await sm.getByTestId("catalog-download").click();
    await sm.locator('[role="progressbar"]').waitFor();
    await sm.scrollIntoViewIfNeeded();
    await shots(page, "settings-speaker-models", lang);
    await sm.locator(".chip.ok").waitFor({ timeout: 8000 });
    const dl = await page.evaluate(() => window.__tingjiMock.state.calls.filter((c) => c.cmd === "download_speaker_models").length);
    assert.equal(dl, 1);

    // builtin model test connection
    await page.getByTestId("builtin-model-select").selectOption("qwen2.5-7b-instruct-q4_k_m");
    await page.getByTestId("test-connection").click();
    await waitText(page, '[data-testid="test-result"]', (s) => s.includes("412"));

    // a cloud provider says data leaves the machine; test without key → error shown
    await page.getByTestId("provider-select").selectOption("openai");
    await waitText(page, '[data-testid="provider-privacy"]', (s) => /Cloud|云端/.test(s));
    await page.getByTestId("test-connection").click();
    await waitText(page, '[data-testid="test-result"]', (s) => s.includes("llm_unreachable"));
    await page.getByTestId("api-key").fill("sk-test-123");
    await page.getByRole("button", { name: lang === "zh" ? "保存密钥" : "Save key" }).click();
    await page.getByText(lang === "zh" ? "已保存密钥（不会显示）。" : "A key is stored (it is never shown).").waitFor();
    assert.equal(await page.getByTestId("api-key").inputValue(), "");
    await page.getByTestId("test-connection").click();
    await waitText(page, '[data-testid="test-result"]', (s) => s.includes("412"));
    await page.getByTestId("provider-select").selectOption("ollama");
    await waitText(page, '[data-testid="provider-privacy"]', (s) => /Local|本地/.test(s));
    await shots(page, "settings-provider", lang);
    // "Local" follows the server's address, not the preset: Ollama on another host is not.
    await page.getByTestId("base-url").fill("http://10.0.0.5:11434/v1");
    await waitText(page, '[data-testid="provider-privacy"]', (s) => /Cloud|云端/.test(s));
    await page.getByTestId("base-url").fill("http://localhost:11434/v1");
    await waitText(page, '[data-testid="provider-privacy"]', (s) => /Local|本地/.test(s));
  }));

test("settings: with no built-in model, the default one downloads with progress and becomes selectable", (t) =>
  perLang(t, "settings-llm-download", { builtin: false }, async (page, lang) => {
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("no-builtin").waitFor();
    const items = page.getByTestId("llm-catalog").getByTestId("catalog-item");
    await items.first().waitFor();
    assert.equal(await items.count(), 2);
    const best = items.first();
    assert.equal(await best.locator(".model-name").textContent(), "qwen2.5-coder-1.5b-instruct-q4_k_m");
    await best.getByTestId("catalog-download").click();
    await best.locator('[role="progressbar"]').waitFor();
    await shots(page, "settings-llm-download", lang);
    await best.locator(".chip.ok").waitFor({ timeout: 8000 });
    await page.getByTestId("builtin-model-select").waitFor();
    const options = await page.getByTestId("builtin-model-select").locator("option").allTextContents();
    assert.ok(options.some((o) => o.includes("qwen2.5-coder-1.5b-instruct-q4_k_m")), options.join(", "));
    assert.equal(await page.getByTestId("no-builtin").count(), 0);
    const calls = await page.evaluate(() => window.__tingjiMock.state.calls.filter((c) => c.cmd === "download_llm_model").map((c) => c.args.name));
    assert.deepEqual(calls, ["qwen2.5-coder-1.5b-instruct-q4_k_m"]);
  }));

test("onboarding: says what stays local, picks the language, Start saves", (t) =>
  perLang(t, "onboarding", { onboarded: false }, async (page, lang) => {
    const modal = page.getByTestId("onboarding");
    await modal.waitFor();
    await waitText(page, '[data-testid="onboarding"] h2', (s) => s.startsWith(STR[lang].onbTitle));
    await shots(page, "onboarding", lang);
    const other = lang === "zh" ? "en" : "zh";
    await page.getByTestId("onboarding-lang").selectOption(other);
    await waitText(page, '[data-testid="onboarding"] h2', (s) => s.startsWith(STR[other].onbTitle));
    await page.getByTestId("onboarding-lang").selectOption(lang);
    await page.getByTestId("onboarding-start").click();
    await modal.waitFor({ state: "detached" });
    const s = await page.evaluate(() => window.__tingjiMock.state.settings);
    assert.equal(s.onboarded, true);
    assert.equal(s.ui_language, lang);
    assert.equal(await page.getByTestId("nav-library").textContent(), STR[lang].library);
  }));
