export { Notifier, createNotifier, type NotifierOptions, type NotifierStats } from './notifier';
export type { EndpointConfig, EndpointStats } from './endpoint';
export { EventFilter, type IgnoreRules } from './filter';
export { EVENTS_MEDIA_TYPE, toWireEvent, type WireEvent, type SourceRecord } from './wire';
