/** An endpoint's ignore rules, as configured. */
export interface IgnoreRules {
  /** distribution's older key: media types never sent. */
  readonly ignoredmediatypes?: readonly string[];
  readonly ignore?: { readonly mediatypes?: readonly string[]; readonly actions?: readonly string[] };
}

/**
 * The ignore rules of one endpoint (distribution's `ignoredSink`): an event is not sent when its
 * action is in `ignore.actions` OR its target media type is in `ignore.mediatypes` or
 * `ignoredmediatypes` (the two lists are merged). Media types compare exactly, as in distribution.
 */
export class EventFilter {
  private readonly mediaTypes: ReadonlySet<string>;
  private readonly actions: ReadonlySet<string>;

  constructor(rules: IgnoreRules) {
    this.mediaTypes = new Set([...(rules.ignoredmediatypes ?? []), ...(rules.ignore?.mediatypes ?? [])]);
    this.actions = new Set(rules.ignore?.actions ?? []);
  }

  /** True when an event with this action and target media type must not reach the endpoint. */
  ignores(action: string, mediaType: string | undefined): boolean {
    return this.actions.has(action) || (mediaType !== undefined && this.mediaTypes.has(mediaType));
  }
}
