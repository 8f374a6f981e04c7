/** The logging surface drivers use: `@berth/logging`'s, re-exported so a driver needs one import. */
export type { Logger } from '@berth/logging';
