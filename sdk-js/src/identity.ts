import type { KV } from "./env";

const ANON = "ct_anon";
const USER = "ct_user";

/**
 * Who the visitor is: an anonymousId made on first use and kept across visits (and
 * across login, so one browser's events keep one user key), and the userId from
 * identify. reset forgets both, and the session with them.
 */
export const identity = (s: KV, id: () => string) => ({
  anonymousId: (): string => s.getItem(ANON) || (s.setItem(ANON, id()), s.getItem(ANON)!),
  userId: (): string | undefined => s.getItem(USER) || undefined,
  setUserId: (u: string) => s.setItem(USER, u),
  reset: () => [ANON, USER, "ct_session"].map((k) => s.removeItem(k)),
});
