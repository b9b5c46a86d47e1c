import { describe, expect, it } from "vitest";
import { en } from "../i18n/en";
import { zh } from "../i18n/zh";
import { translate } from "../i18n";

describe("i18n", () => {
  it("zh and en have identical keys", () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });
  it("no empty strings and same placeholders in both languages", () => {
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(en[k].length, k).toBeGreaterThan(0);
      expect(zh[k].length, k).toBeGreaterThan(0);
      const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(ph(zh[k]), k).toEqual(ph(en[k]));
    }
  });
  it("fills placeholders", () => {
    expect(translate("en", "library.count", { count: 3 })).toBe("3 meetings");
    expect(translate("zh", "library.count", { count: 3 })).toBe("共 3 场会议");
    expect(translate("en", "library.count", { count: 1 })).toBe("1 meeting");
    expect(translate("en", "meeting.countN", { count: 1 })).toBe("1 speaker");
    expect(translate("zh", "library.count", { count: 1 })).toBe("共 1 场会议");
  });
});
