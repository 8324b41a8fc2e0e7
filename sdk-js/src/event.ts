/** One event of the Segment Tracking API spec, as the SDK builds it. */
export interface Event {
  type: "track" | "page" | "screen" | "identify" | "group" | "alias";
  messageId: string;
  anonymousId?: string;
  userId?: string;
  timestamp: string;
  context: Record<string, any>;
  event?: string;
  name?: string;
  groupId?: string;
  previousId?: string;
  properties?: Record<string, any>;
  traits?: Record<string, any>;
  [key: string]: any;
}

export const VERSION = "0.1.0";
