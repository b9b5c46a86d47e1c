import { test } from "node:test";
import assert from "node:assert/strict";
import { perLang, shots, STR, waitText } from "./harness.mjs";

test("library: list, filters, search hit opens the meeting at the moment, delete", (t) =>
  perLang(t, "library", {}, async (page, lang) => {
    assert.equal(await page.getByTestId("nav-library").textContent(), STR[lang].library);
    const rows = page.getByTestId("meeting-row");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 3);
    assert.equal(await page.getByTestId("notes-badge").count(), 2);
    await shots(page, "library", lang);

    // folder filter
    await page.getByTestId("folder-filter").selectOption("Speeches");
    await waitText(page, '[data-testid="meeting-row"]', (s) => s.includes("JFK"));
    assert.equal(await rows.count(), 1);
    await page.getByTestId("folder-filter").selectOption("");
    await page.getByTestId("sort-select").selectOption("longest");
    await waitText(page, '[data-testid="meeting-row"]', (s) => s.includes("产品周会"));

    // search across meetings → hit with highlight → opens at start_ms
    await page.getByTestId("search-input").fill("country");
    const hit = page.getByTestId("search-hit");
    await hit.first().waitFor();
    assert.equal(await hit.count(), 2);
    assert.equal(await hit.first().locator("mark").first().textContent(), "country");
    await shots(page, "search", lang);
    await hit.nth(1).click();
    await page.getByTestId("transcript").waitFor();
    await waitText(page, '[data-testid="player-position"]', (s) => s === "00:07");
    const current = page.locator('[data-testid="segment"][data-current="true"]');
    assert.equal(await current.getAttribute("data-idx"), "2");

    await page.getByTestId("nav-library").click();
    await page.getByTestId("search-input").fill("zzzz-nothing");
    await waitText(page, '[data-testid="search-results"]', (s) => s.includes(STR[lang].noHits));
    await page.getByTestId("search-input").fill("");

    // delete with confirmation
    await rows.first().waitFor();
    const before = await rows.count();
    await page.getByTestId("meeting-delete").last().click();
    await page.getByTestId("confirm-dialog").waitFor();
    await shots(page, "delete-confirm", lang);
    await page.getByTestId("confirm-ok").click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="meeting-row"]').length === n - 1, before);
  }));
