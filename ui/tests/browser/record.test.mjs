import { test } from "node:test";
import assert from "node:assert/strict";
import { perLang, shots, waitText } from "./harness.mjs";

test("record: devices, levels, live captions, marks, pause, stop → transcription → meeting; recovery offered", (t) =>
  perLang(t, "record", { pending: true }, async (page, lang) => {
    await page.getByTestId("nav-record").click();
    await page.getByTestId("recover-banner").waitFor();
    await page.getByTestId("mic-select").locator("option").nth(1).waitFor({ state: "attached" });
    assert.equal(await page.getByTestId("mic-select").inputValue(), "alsa:sysdefault:0");
    await page.getByTestId("system-select").selectOption("pulse:monitor:0");
    await page.getByTestId("record-title").fill(lang === "zh" ? "周一站会" : "Monday standup");
    await page.getByTestId("record-start").click();

    // levels move on both meters, elapsed time runs
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="level-mic"]')?.getAttribute("data-level")) > 0.1);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="level-system"]')?.getAttribute("data-level")) > 0.1);
    await waitText(page, '[data-testid="record-elapsed"]', (s) => s !== "00:00");

    // captions: partial then final for me and them
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="caption"][data-final="true"]').length >= 2, null, { timeout: 8000 });
    const finals = await page.locator('[data-testid="caption"][data-final="true"]').allTextContents();
    assert.ok(finals.some((s) => s.includes("weekly sync")));

    // marks by hotkey and by button
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("k");
    await page.keyboard.press("q");
    await page.getByTestId("mark-todo").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="record-marks"] .chip').length === 3);

    await shots(page, "record", lang);
    // pause / resume
    await page.getByTestId("record-pause").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="record-pause"]')?.textContent?.match(/Resume|继续/));
    await page.getByTestId("record-pause").click();

    // stop → full transcription progress → the new meeting opens
    await page.getByTestId("record-stop").click();
    await page.getByTestId("record-transcribing").waitFor();
    await waitText(page, '[data-testid="meeting-title"]', (s) => s.includes(lang === "zh" ? "周一站会" : "Monday standup"));
    await page.getByTestId("transcript").waitFor();

    // recovery of an interrupted recording goes through the queue
    await page.getByTestId("nav-record").click();
    await page.getByTestId("recover-run").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="queue-item"]')?.getAttribute("data-status") === "done", null, { timeout: 8000 });
  }));
