/**
 * What the routing middleware found for a request below `<prefix>/v2`, left in `res.locals` for
 * the authorization middleware and the dispatcher: the route table is consulted once per request.
 * A leaf module: the authorization middleware needs this without the route table's handlers.
 */
export interface RoutedRequest {
  /** The path below the prefix, as requested. */
  readonly path: string;
  /** `path` percent-decoded; undefined when it does not decode (404). */
  readonly decoded?: string;
  /** The route that matched `decoded` and its captures; undefined when none did (404). */
  readonly match?: {
    readonly route: { readonly name: string };
    readonly params: Readonly<Record<string, string>>;
  };
}

/** The `res.locals` of a request to the API. */
export interface RoutedLocals {
  /** Set by the routing middleware for every path below `<prefix>/v2`; undefined for other paths. */
  routed?: RoutedRequest;
}
