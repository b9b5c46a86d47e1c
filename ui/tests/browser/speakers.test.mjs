import { test } from "node:test";
import assert from "node:assert/strict";
import { perLang, shots, waitText } from "./harness.mjs";


test("speakers: colour-coded lines and player strip, a voiceprint's name confirmed, rename follows everywhere, re-detect with a count", (t) =>
  perLang(t, "speakers", {}, async (page, lang) => {
    await page.getByTestId("meeting-row").filter({ hasText: "产品周会" }).locator(".meeting-main").click();
    await page.getByTestId("transcript").waitFor();
    // Every speaker has its own colour, in the tag, the line and the strip under the player.
    const colours = await page.$$eval('[data-testid="segment-speaker"]', (els) => {
      const by = {};
      for (const e of els) by[e.textContent] = getComputedStyle(e).color;
      return by;
    });
    assert.equal(new Set(Object.values(colours)).size, 3, JSON.stringify(colours));
    const bands = await page.$$eval('[data-testid="speaker-strip"] span', (els) => els.map((e) => getComputedStyle(e).backgroundColor));
    assert.ok(bands.length >= 3 && new Set(bands).size === 3, JSON.stringify(bands));
    // The panel opens by itself when a voiceprint named someone, and shows how sure it is.
    await page.getByTestId("speaker-matched").waitFor();
    const chip = await page.getByTestId("speaker-matched").textContent();
    assert.equal(chip, lang === "zh" ? "声纹 87%" : "voiceprint 87%");
    await shots(page, "speakers", lang);
    await page.getByTestId("speaker-confirm").click();
    await page.getByTestId("speaker-matched").waitFor({ state: "detached" });
    // Renaming one speaker renames every line of theirs, colour unchanged.
    const c = page.locator('[data-testid="speaker-row"][data-label="C"] [data-testid="speaker-name"]');
    await c.fill("赵六");
    await c.press("Enter");
    await waitText(page, '[data-testid="transcript"]', (s) => s.includes("赵六"));
    const after = await page.$$eval('[data-testid="segment-speaker"]', (els) => els.filter((e) => e.textContent === "赵六").map((e) => getComputedStyle(e).color));
    assert.ok(after.length >= 1 && after.every((x) => x === after[0]));
    assert.equal(after[0], colours[Object.keys(colours).find((k) => !["王敏", "李雷"].includes(k))]);
    // Re-detect with a count: a background job with progress, then one speaker more, in a new colour.
    await page.getByTestId("rediarize-count").selectOption("4");
    await page.getByTestId("rediarize-run").click();
    await page.getByTestId("rediarize-progress").waitFor();
    await shots(page, "rediarize", lang);
    await page.getByTestId("rediarize-progress").waitFor({ state: "detached", timeout: 10000 });
    await waitText(page, '[data-testid="speakers-panel"] summary', (s) => s.includes("(4)"));
    const req = await page.evaluate(() => window.__tingjiMock.state.calls.filter((c) => c.cmd === "rediarize_meeting").pop().args);
    assert.equal(req.speakers, 4);
    const four = await page.$$eval('[data-testid="segment-speaker"]', (els) => new Set(els.map((e) => getComputedStyle(e).color)).size);
    assert.equal(four, 4);
  }));

test("settings: voiceprints are listed, renamed, merged and forgotten (after a confirm)", (t) =>
  perLang(t, "voiceprints", {}, async (page, lang) => {
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("voiceprint-row").first().waitFor();
    assert.equal(await page.getByTestId("voiceprint-row").count(), 3);
    await page.getByTestId("voiceprints").scrollIntoViewIfNeeded();
    await shots(page, "voiceprints", lang);
    // rename: the meetings it named follow
    const name = page.getByTestId("voiceprint-name").nth(2);
    await name.fill("Interviewer A");
    await name.press("Enter");
    await page.waitForFunction(() => window.__tingjiMock.state.voiceprints.some((v) => v.name === "Interviewer A"));
    // forget asks first
    await page.getByTestId("voiceprint-forget").first().click();
    await page.getByTestId("confirm-dialog").waitFor();
    await page.getByTestId("confirm-ok").click();
    await page.waitForFunction(() => window.__tingjiMock.state.voiceprints.length === 2);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="voiceprint-row"]').length === 2);
    assert.deepEqual(await page.getByTestId("voiceprint-name").evaluateAll((els) => els.map((e) => e.value)), ["李雷", "Interviewer A"]);
  }));
