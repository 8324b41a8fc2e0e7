// The script-tag build: window.clicktrail, replaying the calls the loader snippet queued.
import { createClient } from "./client";

const w = window as any;
const queued: [string, ArrayLike<any>][] = w.clicktrail?.q || [];
const c: any = (w.clicktrail = createClient());
for (const [m, a] of queued) c[m](...(a as any));
