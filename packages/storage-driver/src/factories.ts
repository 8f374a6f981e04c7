import type { WrapOptions } from './base';
import type { Logger } from './logger';
import type { StorageDriver } from './driver';
import { UnknownDriverError } from './errors';

/** What a driver factory is given besides its parameters. */
export interface DriverContext {
  readonly logger?: Logger;
  /** Passed to `wrapDriver`: called after every operation of the driver (metrics). */
  readonly observe?: WrapOptions['observe'];
}

/**
 * Builds one driver from its `storage.<name>` parameters. Parameters come from YAML or from
 * `REGISTRY_STORAGE_<NAME>_<KEY>` variables, so a factory accepts strings for numbers and booleans
 * (`"true"`, `"10485760"`) and throws `DriverParameterError` naming the key for a bad one.
 */
export interface DriverFactory {
  readonly name: string;
  /** Checks the parameters without connecting anywhere; throws `DriverParameterError`. */
  validate(parameters: Record<string, unknown>): void;
  /** Parameter names whose values must never be logged (`secretkey`). */
  readonly secretParameters?: readonly string[];
  /**
   * Builds the driver, already wrapped with `wrapDriver` (validated paths, errors carrying the name),
   * passing it `context.observe`.
   */
  create(parameters: Record<string, unknown>, context: DriverContext): Promise<StorageDriver>;
}

/**
 * The storage driver factories by name (`storage.<name>`). Registering a name twice is a
 * programming error and throws. (Not a "registry": in Berth that word means the OCI registry.)
 */
export class DriverFactories {
  private readonly factories = new Map<string, DriverFactory>();

  constructor(factories: readonly DriverFactory[] = []) {
    for (const factory of factories) this.register(factory);
  }

  register(factory: DriverFactory): void {
    if (this.factories.has(factory.name)) throw new Error(`storage driver "${factory.name}" is already registered`);
    this.factories.set(factory.name, factory);
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  get(name: string): DriverFactory {
    const factory = this.factories.get(name);
    if (!factory) throw new UnknownDriverError(name, this.names());
    return factory;
  }

  /** Validates the parameters, then creates the named driver (wrapped by its factory). */
  async create(name: string, parameters: Record<string, unknown>, context: DriverContext = {}): Promise<StorageDriver> {
    const factory = this.get(name);
    factory.validate(parameters);
    return factory.create(parameters, context);
  }
}
