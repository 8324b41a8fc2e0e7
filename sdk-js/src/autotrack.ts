/**
 * Automatic events, each switchable in the config: a page view on load and on every
 * SPA navigation (pushState, replaceState, popstate) that changes path or query, and
 * a track "Outbound Link Clicked" for clicks on links to another host.
 */
export const autotrack = (
  w: any,
  o: { pageviews: boolean; outbound: boolean },
  page: () => void,
  track: (event: string, properties: Record<string, any>) => void,
) => {
  const l = w.location;
  if (o.pageviews) {
    let last: string;
    const view = () => {
      if (last != (last = l.pathname + l.search)) page();
    };
    const h = w.history;
    for (const m of ["pushState", "replaceState"]) {
      const f = h[m];
      h[m] = function (this: any) {
        const r = f.apply(this, arguments);
        view();
        return r;
      };
    }
    w.addEventListener("popstate", view);
    view();
  }
  if (o.outbound)
    w.document.addEventListener(
      "click",
      (e: any) => {
        const a = e.target.closest?.("a[href]");
        if (a && a.host != l.host && /^http/.test(a.protocol)) track("Outbound Link Clicked", { url: a.href });
      },
      true,
    );
};
