import { VERSION } from "./event";

/** context for an event, from the page as it is now (url, title, screen, utm_* campaign). */
export const context = (w: any, campaign: boolean): Record<string, any> => {
  const l = w.location;
  const n = w.navigator;
  const c: Record<string, any> = {
    page: { url: l.href, path: l.pathname, title: w.document.title, referrer: w.document.referrer, search: l.search },
    userAgent: n.userAgent,
    locale: n.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screen: { width: w.screen.width, height: w.screen.height, density: w.devicePixelRatio },
    library: { name: "clicktrail-sdk", version: VERSION },
  };
  if (campaign) {
    const p = new URLSearchParams(l.search);
    const o: Record<string, string> = {};
    for (const k of ["name", "source", "medium", "term", "content"]) {
      const v = p.get("utm_" + (k == "name" ? "campaign" : k));
      if (v) o[k] = v;
    }
    for (const _ in o) {
      c.campaign = o;
      break;
    }
  }
  return c;
};
