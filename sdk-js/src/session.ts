import type { KV } from "./env";

/**
 * The client session id for context.sessionId: kept with the time of the last event,
 * and replaced once the visitor has been idle longer than timeout. Shared by the tabs
 * when the store is.
 */
export const session = (s: KV, now: () => number, id: () => string, timeout: number) => (): string => {
  const t = now();
  let [sid, last] = (s.getItem("ct_session") || "").split(" ");
  if (!sid || t - +last > timeout) sid = id();
  s.setItem("ct_session", sid + " " + t);
  return sid;
};
